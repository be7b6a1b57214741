package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onexhost/onex/contract"
)

func TestContractInit(t *testing.T) {
	for _, tmpl := range contract.Templates {
		t.Run(tmpl, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "new", "dir")
			code, out, stderr := run(t, "contract", "init", "--template", tmpl, "--name", "partner-api", dir)
			path := filepath.Join(dir, contract.FileName)
			if code != ExitOK || strings.TrimSpace(out) != "wrote "+path || stderr != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, stderr)
			}
			// The generated contract validates clean in this binary, with every
			// registration rule of the host.
			code, out, _ = run(t, "validate", dir)
			if code != ExitOK {
				t.Fatalf("validate: exit %d\n%s", code, out)
			}
			first, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// Never overwrites.
			code, _, stderr = run(t, "contract", "init", "--template", tmpl, "--name", "other", dir)
			if code != ExitFailure || !strings.Contains(stderr, "already exists") {
				t.Fatalf("second init: exit %d, %s", code, stderr)
			}
			if again, _ := os.ReadFile(path); !bytes.Equal(again, first) {
				t.Fatal("the existing contract was changed")
			}
		})
	}
}

func TestContractInitWarnsWhenNotRunnable(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := run(t, "contract", "init", "--template", "effect", "--name", "mine", "--import-path", "example.com/acme/handlers/mine", dir)
	if code != ExitOK || !strings.HasPrefix(out, "wrote ") {
		t.Fatalf("exit %d %q", code, out)
	}
	if !strings.Contains(stderr, "does not validate in this binary yet") || !strings.Contains(stderr, "[CONTRACT-009]") {
		t.Fatalf("stderr %q", stderr)
	}
}

func TestContractInitUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"contract", "init", "--name", "x", dir},
		{"contract", "init", "--template", "compute", dir},
		{"contract", "init", "--template", "workflow", "--name", "x", dir},
		{"contract", "init", "--template", "compute", "--name", "Not Valid", dir},
		{"contract", "init", "--template", "compute", "--name", "x", dir, "extra"},
	} {
		if code, _, stderr := run(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("usage errors wrote %d files", len(entries))
	}
}

func TestSchemaCommand(t *testing.T) {
	code, out, _ := run(t, "schema")
	if code != ExitOK || out != string(contract.Schema()) {
		t.Fatalf("exit %d", code)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Fatalf("not the JSON Schema: %v", err)
	}
}
