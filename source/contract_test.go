package source_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onexhost/onex/contract"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/testkit"
	"github.com/onexhost/onex/source"
)

func TestContractDiscovery(t *testing.T) {
	root := t.TempDir()
	extra := t.TempDir()
	write(t, filepath.Join(root, "a", contract.FileName), contractYAML("alpha"))
	write(t, filepath.Join(root, "b", "c", contract.FileName), contractYAML("beta"))
	write(t, filepath.Join(root, "b", "other.yaml"), "not: a contract\n")
	write(t, filepath.Join(root, "Handler_Contract.yaml"), "not: taken, the name differs\n")
	write(t, filepath.Join(root, "broken", contract.FileName), "contract_version: [\n")
	write(t, filepath.Join(root, "z", contract.FileName), contractYAML("gamma"))
	custom := filepath.Join(extra, "custom-name.yaml")
	write(t, custom, contractYAML("delta"))

	var logs testkit.Logs
	src := source.NewContract([]string{root, custom}, source.ContractOptions{Logger: logs.Logger()})
	descs, errs, err := src.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(descs), []string{"alpha", "beta", "gamma", "delta"}; !slices.Equal(got, want) {
		t.Errorf("descriptors %v, want %v (sorted by path)", got, want)
	}
	broken := filepath.Join(root, "broken", contract.FileName)
	want := sortedDiags(diagAt{"CONTRACT-001", broken, 1, "unknown@" + broken})
	if got := summarize(t, errs); !slices.Equal(got, want) {
		t.Errorf("errors %v, want %v", got, want)
	}
	for _, d := range descs {
		if d.SourceType != handler.SourceContract || !strings.HasSuffix(d.Origin, ".yaml") || d.Locations["handler_name"].Line != 3 {
			t.Errorf("%s: provenance %s %s %v", d.Name, d.SourceType, d.Origin, d.Locations["handler_name"])
		}
	}
	stats := src.Stats()
	if stats["discovered_contract_count"] != 5 || stats["validation_failure_count"] != 1 {
		t.Errorf("stats %v", stats)
	}
	if _, ok := stats["duration_ms"].(int64); !ok {
		t.Errorf("duration_ms %T", stats["duration_ms"])
	}
	r := logs.First(t, "contracts discovered")
	if r["discovered_contract_count"] != 5.0 || r["validation_failure_count"] != 1.0 || r["duration_ms"] == nil {
		t.Errorf("log record %v", r)
	}
}

func TestContractDiscoveryDeterministic(t *testing.T) {
	root := t.TempDir()
	for i, name := range []string{"k", "c", "x", "a", "q", "m", "e", "t"} {
		write(t, filepath.Join(root, name, contract.FileName), contractYAML("h-"+name))
		if i%3 == 0 {
			write(t, filepath.Join(root, name, "bad", contract.FileName), "handler_identity: {name: bad-"+name+"}\n")
		}
	}
	var first string
	for _, workers := range []int{1, 2, 8} {
		descs, errs, err := source.NewContract([]string{root}, source.ContractOptions{Workers: workers}).Discover(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, d := range descs {
			b.WriteString(d.Origin + "\n")
		}
		for _, e := range errs {
			b.WriteString(e.Error() + "\n")
		}
		if first == "" {
			first = b.String()
		} else if b.String() != first {
			t.Fatalf("workers=%d gave\n%s\nwant\n%s", workers, b.String(), first)
		}
	}
	if strings.Count(first, "\n") < 8 {
		t.Fatalf("too little output:\n%s", first)
	}
}

func TestContractSymlinks(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	outside := filepath.Join(base, "outside")
	write(t, filepath.Join(root, "real", contract.FileName), contractYAML("real"))
	write(t, filepath.Join(root, "shared", "x", contract.FileName), contractYAML("shared"))
	write(t, filepath.Join(outside, contract.FileName), contractYAML("outsider"))
	write(t, filepath.Join(outside, "notes.txt"), "outside\n")
	write(t, filepath.Join(root, "single", "target.yaml"), contractYAML("via-file-link"))

	symlink(t, filepath.Join(root, "shared"), filepath.Join(root, "alias-dir"))                                // inside: followed, no duplicate
	symlink(t, filepath.Join(root, "single", "target.yaml"), filepath.Join(root, "linked", contract.FileName)) // inside: followed
	symlink(t, outside, filepath.Join(root, "escape-dir"))                                                     // outside: CONTRACT-010
	symlink(t, filepath.Join(outside, contract.FileName), filepath.Join(root, "escape-file", contract.FileName))
	symlink(t, filepath.Join(outside, "notes.txt"), filepath.Join(root, "notes.txt"))              // not a contract: ignored
	symlink(t, root, filepath.Join(root, "loop"))                                                  // loop: walked once
	symlink(t, filepath.Join(root, "missing"), filepath.Join(root, "dangling", contract.FileName)) // CONTRACT-007
	symlink(t, filepath.Join(root, "missing"), filepath.Join(root, "dangling-other"))              // ignored

	rootLink := filepath.Join(base, "root-link") // a configured root that is itself a link
	symlink(t, root, rootLink)

	descs, errs, err := source.NewContract([]string{rootLink}, source.ContractOptions{}).Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(descs), []string{"shared", "via-file-link", "real"}; !slices.Equal(got, want) {
		t.Errorf("descriptors %v, want %v", got, want)
	}
	if descs[0].Origin != filepath.Join(rootLink, "alias-dir", "x", contract.FileName) {
		t.Errorf("origin %s: paths are shown under the configured root", descs[0].Origin)
	}
	dangling := filepath.Join(rootLink, "dangling", contract.FileName)
	escapeDir := filepath.Join(rootLink, "escape-dir")
	escapeFile := filepath.Join(rootLink, "escape-file", contract.FileName)
	want := sortedDiags(
		diagAt{"CONTRACT-007", dangling, 0, "unknown@" + dangling},
		diagAt{"CONTRACT-010", escapeDir, 0, "unknown@" + escapeDir},
		diagAt{"CONTRACT-010", escapeFile, 0, "unknown@" + escapeFile},
	)
	if got := summarize(t, errs); !slices.Equal(got, want) {
		t.Errorf("errors\n got %v\nwant %v", got, want)
	}
	for _, e := range errs {
		if e.RuleID == "CONTRACT-010" && !strings.Contains(e.Message, "outside the contract roots") {
			t.Errorf("message %q", e.Message)
		}
	}
	// The outside directory named as a root of its own is fine.
	descs, errs, _ = source.NewContract([]string{rootLink, outside}, source.ContractOptions{}).Discover(context.Background())
	if !slices.Contains(names(descs), "outsider") {
		t.Errorf("with outside as a root: %v %v", names(descs), errs)
	}
}

func TestContractBadFiles(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "good", contract.FileName), contractYAML("good"))
	fifo := filepath.Join(root, "fifo", contract.FileName)
	if err := os.MkdirAll(filepath.Dir(fifo), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(root, "big", contract.FileName)
	write(t, big, contractYAML("big")+"description: "+strings.Repeat("x", contract.MaxFileBytes)+"\n")
	missing := filepath.Join(root, "does-not-exist")

	descs, errs, err := source.NewContract([]string{root, missing, fifo}, source.ContractOptions{}).Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := names(descs); !slices.Equal(got, []string{"good"}) {
		t.Errorf("descriptors %v", got)
	}
	want := sortedDiags(
		diagAt{"CONTRACT-007", big, 0, "unknown@" + big},
		diagAt{"CONTRACT-007", fifo, 0, "unknown@" + fifo},
		diagAt{"CONTRACT-007", missing, 0, "unknown@" + missing},
	)
	if got := summarize(t, errs); !slices.Equal(got, want) {
		t.Errorf("errors\n got %v\nwant %v", got, want)
	}
}

func TestContractDuplicateNames(t *testing.T) {
	root := t.TempDir()
	a := filepath.Join(root, "a", contract.FileName)
	b := filepath.Join(root, "b", contract.FileName)
	c := filepath.Join(root, "c", contract.FileName)
	write(t, a, contractYAML("orders", "orders.query"))
	write(t, b, contractYAML("orders", "orders2.query"))
	write(t, c, strings.Replace(contractYAML("orders", "orders3.query"), echoImportPath, "example.com/test/missing", 1))
	write(t, filepath.Join(root, "d", contract.FileName), contractYAML("billing"))

	src := source.NewContract([]string{root}, source.ContractOptions{})
	descs, errs, err := src.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := names(descs); !slices.Equal(got, []string{"billing"}) {
		t.Errorf("descriptors %v: no contract of a duplicated name is kept", got)
	}
	want := sortedDiags(
		diagAt{"CONTRACT-008", a, 3, "orders"},
		diagAt{"CONTRACT-008", b, 3, "orders"},
		diagAt{"CONTRACT-008", c, 3, "orders"},
		diagAt{"CONTRACT-009", c, 9, "orders"},
	)
	if got := summarize(t, errs); !slices.Equal(got, want) {
		t.Errorf("errors\n got %v\nwant %v", got, want)
	}
	for _, e := range errs {
		if e.RuleID == "CONTRACT-008" && e.FilePath == a && (!strings.Contains(e.Message, b) || !strings.Contains(e.Message, c)) {
			t.Errorf("CONTRACT-008 does not name the other contracts: %s", e.Message)
		}
	}
	if s := src.Stats(); s["validation_failure_count"] != 3 {
		t.Errorf("stats %v", s)
	}
}

func TestContractFactoryChecks(t *testing.T) {
	root := t.TempDir()
	unregistered := filepath.Join(root, "unregistered", contract.FileName)
	write(t, unregistered, strings.Replace(contractYAML("one"), echoImportPath, "example.com/test/ecko", 1))
	badVerb := filepath.Join(root, "verb", contract.FileName)
	write(t, badVerb, contractYAML("two", "two.query", "two.delete"))
	badConfig := filepath.Join(root, "config", contract.FileName)
	write(t, badConfig, contractYAML("three")+"config:\n  reject: true\n")
	artifact := filepath.Join(root, "artifact", contract.FileName)
	write(t, artifact, strings.Replace(contractYAML("four"), "import_path: "+echoImportPath, `artifact_ref: {uri: "oci://registry.example/four", digest: "sha256:`+strings.Repeat("0", 64)+`"}`, 1))

	_, errs, err := source.NewContract([]string{root}, source.ContractOptions{}).Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := sortedDiags(
		diagAt{"CONTRACT-009", unregistered, 9, "one"},
		diagAt{"CONTRACT-015", badVerb, 7, "two"},
		diagAt{"CONTRACT-011", badConfig, 11, "three"},
		diagAt{"CONTRACT-016", artifact, 9, "four"},
	)
	if got := summarize(t, errs); !slices.Equal(got, want) {
		t.Errorf("errors\n got %v\nwant %v", got, want)
	}
	for _, e := range errs {
		switch e.RuleID {
		case "CONTRACT-009":
			if !strings.Contains(e.Message, `did you mean "example.com/test/echo"?`) || !strings.Contains(e.Message, "registered: ") {
				t.Errorf("CONTRACT-009 lacks the closest match or the registered list: %s", e.Message)
			}
		case "CONTRACT-015":
			if e.Column != 32 || !strings.Contains(e.Message, "query, get, post, echo") {
				t.Errorf("CONTRACT-015 at column %d: %s", e.Column, e.Message)
			}
		case "CONTRACT-011":
			if !strings.Contains(e.Message, "asked to refuse") {
				t.Errorf("CONTRACT-011 lacks the factory's message: %s", e.Message)
			}
		}
	}
}

func TestContractDiscoverCanceled(t *testing.T) {
	root := t.TempDir()
	for _, n := range []string{"a", "b", "c"} {
		write(t, filepath.Join(root, n, contract.FileName), contractYAML(n))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, workers := range []int{1, 4} {
		if _, _, err := source.NewContract([]string{root}, source.ContractOptions{Workers: workers}).Discover(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("workers=%d: err %v, want context.Canceled", workers, err)
		}
	}
}

// TestContractDiscoverCanceledMidway cancels a discovery from its progress
// report, while contracts may still be in flight: Discover returns the
// context's error once they are done, and leaves no worker behind (goleak in
// TestMain).
func TestContractDiscoverCanceledMidway(t *testing.T) {
	root := t.TempDir()
	const n = 60
	for i := range n {
		name := fmt.Sprintf("h%02d", i)
		write(t, filepath.Join(root, name, contract.FileName), contractYAML(name))
	}
	for _, workers := range []int{1, 2, 8} {
		ctx, cancel := context.WithCancel(context.Background())
		ctx = source.WithProgress(ctx, func(done, total int) {
			if done >= 3 {
				cancel()
			}
		})
		_, _, err := source.NewContract([]string{root}, source.ContractOptions{Workers: workers}).Discover(ctx)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("workers=%d: err %v, want context.Canceled", workers, err)
		}
	}
}

func TestContractDiscoveryProgress(t *testing.T) {
	root := t.TempDir()
	for _, n := range []string{"a", "b", "c", "d"} {
		write(t, filepath.Join(root, n, contract.FileName), contractYAML(n))
	}
	for _, tc := range []struct {
		interval time.Duration
		workers  int
		want     bool
	}{{time.Nanosecond, 1, true}, {time.Nanosecond, 2, true}, {-1, 2, false}, {time.Hour, 1, false}} {
		var logs testkit.Logs
		_, _, err := source.NewContract([]string{root}, source.ContractOptions{Logger: logs.Logger(), Workers: tc.workers, ProgressInterval: tc.interval}).Discover(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		logged := strings.Contains(logs.String(), `"msg":"contract discovery progress"`)
		if logged != tc.want {
			t.Errorf("interval %v workers %d: progress logged %v, want %v", tc.interval, tc.workers, logged, tc.want)
		}
		if tc.want {
			if r := logs.First(t, "contract discovery progress"); r["total"] != 4.0 {
				t.Errorf("progress record %v", r)
			}
		}
	}
}

// TestContractNoneFound: a configured directory under which no contract file
// lies is CONTRACT-020 at that directory, once, and a path that does not exist
// is CONTRACT-007 alone, with a hint about the path rather than the file.
func TestContractNoneFound(t *testing.T) {
	base := t.TempDir()
	empty := filepath.Join(base, "empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	noContracts := filepath.Join(base, "no-contracts")
	write(t, filepath.Join(noContracts, "a", "contract.yaml"), contractYAML("misnamed"))
	write(t, filepath.Join(noContracts, "README.md"), "nothing here\n")
	full := filepath.Join(base, "full")
	write(t, filepath.Join(full, "x", contract.FileName), contractYAML("x"))
	if err := os.MkdirAll(filepath.Join(full, "hollow"), 0o755); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(base, "does-not-exist")
	none := func(p string) diagAt { return diagAt{"CONTRACT-020", p, 0, "unknown@" + p} }

	for _, tc := range []struct {
		name  string
		paths []string
		want  []diagAt
	}{
		{"empty directory", []string{empty}, []diagAt{none(empty)}},
		{"tree without contracts", []string{noContracts}, []diagAt{none(noContracts)}},
		{"wrong path", []string{missing}, []diagAt{{"CONTRACT-007", missing, 0, "unknown@" + missing}}},
		{"one of two roots empty", []string{full, empty}, []diagAt{none(empty)}},
		{"the same empty root twice", []string{empty, empty}, []diagAt{none(empty), none(empty)}},
		{"nested root with a contract", []string{full, filepath.Join(full, "x")}, nil},
		{"nested root without one", []string{full, filepath.Join(full, "hollow")}, []diagAt{none(filepath.Join(full, "hollow"))}},
		{"nested root first", []string{filepath.Join(full, "hollow"), full}, []diagAt{none(filepath.Join(full, "hollow"))}},
		{"a contract file", []string{filepath.Join(full, "x", contract.FileName)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs, err := source.NewContract(tc.paths, source.ContractOptions{}).Discover(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got, want := summarize(t, errs), sortedDiags(tc.want...); !slices.Equal(got, want) {
				t.Errorf("errors\n got %v\nwant %v", got, want)
			}
			for _, e := range errs {
				switch e.RuleID {
				case "CONTRACT-020":
					if !strings.Contains(e.Message, e.FilePath) || !strings.Contains(e.Message, contract.FileName) || e.Details["path"] != e.FilePath {
						t.Errorf("CONTRACT-020 does not name the path searched: %q %v", e.Message, e.Details)
					}
				case "CONTRACT-007":
					if !strings.Contains(e.RemediationHint, "existing contract file or a directory") {
						t.Errorf("missing path hint %q", e.RemediationHint)
					}
				}
			}
		})
	}
}

// TestHybridEmptyContractDir: a hybrid host whose contract directory holds
// nothing yet serves its bootstrap table without CONTRACT-020.
func TestHybridEmptyContractDir(t *testing.T) {
	empty := t.TempDir()
	h := source.NewHybrid(source.NewContract([]string{empty}, source.ContractOptions{}), staticSource{descs: []*handler.Descriptor{builtin("db")}}, nil)
	descs, errs, err := h.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 0 || !slices.Equal(names(descs), []string{"db"}) {
		t.Errorf("descriptors %v, errors %v", names(descs), summarize(t, errs))
	}
}
