package cli

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// run runs the command line in-process with empty standard input.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runWith(t, strings.NewReader(""), args...)
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, "version")
	if code != ExitOK || !strings.HasPrefix(out, "onex ") || !strings.Contains(out, "go1.") {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestRulesJSON(t *testing.T) {
	code, out, _ := run(t, "rules", "--format", "json")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	var got struct {
		Rules []struct {
			ID, Title, Remediation, ErrorType, Severity string
		} `json:"rules"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	// Every rule id SPEC §7 names (ranges expanded).
	var want []string
	for i := 1; i <= 15; i++ {
		want = append(want, fmt.Sprintf("CONTRACT-%03d", i))
	}
	for i := 300; i <= 312; i++ {
		want = append(want, "SECURITY-"+strconv.Itoa(i))
	}
	for _, f := range []struct {
		name string
		n    int
	}{{"DESCRIPTOR", 2}, {"ARCH", 4}, {"RUNTIME", 4}, {"ENVELOPE", 5}, {"HANDLER", 5}} {
		for i := 1; i <= f.n; i++ {
			want = append(want, fmt.Sprintf("%s-%03d", f.name, i))
		}
	}
	have := map[string]bool{}
	for _, r := range got.Rules {
		if r.Title == "" || r.Remediation == "" {
			t.Errorf("%s lacks a title or remediation", r.ID)
		}
		have[r.ID] = true
	}
	for _, id := range want {
		if !have[id] {
			t.Errorf("onex rules does not list %s", id)
		}
	}
}

func TestRulesTable(t *testing.T) {
	code, out, _ := run(t, "rules")
	if code != ExitOK || !strings.HasPrefix(out, "ID") || !strings.Contains(out, "SECURITY-310") {
		t.Errorf("rules table: %d\n%s", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"rules", "--format", "xml"},
		{"no-such-command"},
		{"rules", "--no-such-flag"},
		{"version", "extra"},
		{"--log-level", "loud", "version"},
	} {
		code, _, stderr := run(t, args...)
		if code != ExitUsage || !strings.Contains(stderr, "onex:") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 with a message", args, code, stderr)
		}
	}
}
