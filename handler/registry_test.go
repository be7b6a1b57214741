package handler

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
)

type nopHandler struct{}

func (nopHandler) Handle(context.Context, *Invocation) (Output, error) { return Output{}, nil }

func newNop(json.RawMessage) (Handler, error) { return nopHandler{}, nil }

func unregister(path string) {
	registry.Lock()
	defer registry.Unlock()
	delete(registry.m, path)
}

func TestRegistry(t *testing.T) {
	paths := []string{"example.com/test/zeta", "example.com/test/alpha", "example.com/test/mid"}
	for _, p := range paths {
		Register(Factory{ImportPath: p, Verbs: []string{"run", "check_all"}, New: newNop})
		t.Cleanup(func() { unregister(p) })
	}
	f, ok := Lookup("example.com/test/alpha")
	if !ok || !f.Implements("run") || f.Implements("walk") {
		t.Fatalf("Lookup = %+v, %v", f, ok)
	}
	if _, ok := Lookup("example.com/test/none"); ok {
		t.Error("Lookup found an unregistered path")
	}
	var got []string
	for _, f := range List() {
		if slices.Contains(paths, f.ImportPath) {
			got = append(got, f.ImportPath)
		}
	}
	if !slices.IsSorted(got) || len(got) != 3 {
		t.Errorf("List not sorted or incomplete: %v", got)
	}
	all := List()
	if !slices.IsSortedFunc(all, func(a, b Factory) int {
		if a.ImportPath < b.ImportPath {
			return -1
		}
		return 1
	}) {
		t.Error("List not sorted")
	}
}

func TestRegisterPanics(t *testing.T) {
	Register(Factory{ImportPath: "example.com/test/dup", Verbs: []string{"run"}, New: newNop})
	t.Cleanup(func() { unregister("example.com/test/dup") })
	for name, f := range map[string]Factory{
		"duplicate":   {ImportPath: "example.com/test/dup", Verbs: []string{"run"}, New: newNop},
		"empty path":  {Verbs: []string{"run"}, New: newNop},
		"bad path":    {ImportPath: "has space/x", Verbs: []string{"run"}, New: newNop},
		"nil New":     {ImportPath: "example.com/test/nonew", Verbs: []string{"run"}},
		"no verbs":    {ImportPath: "example.com/test/noverbs", New: newNop},
		"bad verb":    {ImportPath: "example.com/test/badverb", Verbs: []string{"Run"}, New: newNop},
		"dotted verb": {ImportPath: "example.com/test/dotverb", Verbs: []string{"db.query"}, New: newNop},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%s) did not panic", name)
				}
			}()
			Register(f)
		})
	}
}

func TestRegisterCopiesVerbs(t *testing.T) {
	verbs := []string{"run"}
	Register(Factory{ImportPath: "example.com/test/copy", Verbs: verbs, New: newNop})
	t.Cleanup(func() { unregister("example.com/test/copy") })
	verbs[0] = "changed"
	if f, _ := Lookup("example.com/test/copy"); f.Verbs[0] != "run" {
		t.Error("registry shares the caller's verbs slice")
	}
}
