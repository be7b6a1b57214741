package handler

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"sync"
)

// Factory makes handlers for one import path.
type Factory struct {
	// ImportPath is the registry key a contract's implementation.import_path names,
	// Go-import-path style: github.com/onexhost/onex/handlers/db.
	ImportPath string
	// Verbs are the verbs the handlers implement: a descriptor's commands must end
	// in one of them (CONTRACT-015 otherwise).
	Verbs []string
	// New validates config and returns a handler. It runs at registration
	// (including by onex validate, with secret references replaced by a
	// placeholder) and must not do I/O: long-lived resources belong in Init.
	New func(config json.RawMessage) (Handler, error)
	// Uses declares the capabilities the handlers need, so startup can check them
	// against the descriptor's category and security policy.
	Uses Uses
	// Summary is a one-line description for listings.
	Summary string
}

// Uses declares what a factory's handlers need from the runtime.
type Uses struct {
	Egress  bool // an egress-guarded dialer / HTTP client
	Secrets bool // a scoped secret reader
}

// Implements reports whether verb is one of the factory's verbs.
func (f Factory) Implements(verb string) bool { return slices.Contains(f.Verbs, verb) }

var verbRE = regexp.MustCompile(VerbPattern)

var registry = struct {
	sync.RWMutex
	m map[string]Factory
}{m: map[string]Factory{}}

// Register adds a factory. It is meant for init functions and panics on a
// programmer error: an empty or duplicate import path, a nil New, no verbs, or a
// malformed verb.
func Register(f Factory) {
	if f.ImportPath == "" || !ValidImportPath(f.ImportPath) {
		panic(fmt.Sprintf("handler.Register: invalid import path %q", f.ImportPath))
	}
	if f.New == nil {
		panic(fmt.Sprintf("handler.Register(%s): New is nil", f.ImportPath))
	}
	if len(f.Verbs) == 0 {
		panic(fmt.Sprintf("handler.Register(%s): no verbs", f.ImportPath))
	}
	for _, v := range f.Verbs {
		if !verbRE.MatchString(v) {
			panic(fmt.Sprintf("handler.Register(%s): invalid verb %q", f.ImportPath, v))
		}
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[f.ImportPath]; dup {
		panic(fmt.Sprintf("handler.Register: duplicate import path %q", f.ImportPath))
	}
	f.Verbs = slices.Clone(f.Verbs)
	registry.m[f.ImportPath] = f
}

// Lookup returns the factory registered under importPath.
func Lookup(importPath string) (Factory, bool) {
	registry.RLock()
	defer registry.RUnlock()
	f, ok := registry.m[importPath]
	return f, ok
}

// List returns every registered factory, sorted by import path.
func List() []Factory {
	registry.RLock()
	out := make([]Factory, 0, len(registry.m))
	for _, f := range registry.m {
		out = append(out, f)
	}
	registry.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ImportPath < out[j].ImportPath })
	return out
}
