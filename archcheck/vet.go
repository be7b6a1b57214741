package archcheck

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"

	"github.com/onexhost/onex/diag"
)

// Analyzers returns the static rules, ARCH-001 to ARCH-004, in rule order.
func Analyzers() []*analysis.Analyzer {
	return []*analysis.Analyzer{DirectDispatch, HandlerPublish, OrchestratorFSM, CapabilityIO}
}

// VetConfig configures Vet.
type VetConfig struct {
	// Dir is the directory package patterns are resolved in (the go command
	// runs there); empty means the current directory.
	Dir string
	// Env is the go command's environment; nil means the process's.
	Env []string
}

// Vet loads the packages matching patterns (go list syntax, e.g. ./...) and
// runs the static rules on them, test files excluded. ARCH-004 runs on their
// dependencies too, for the facts it follows calls by, so the dependencies
// from modules are loaded from source as well. Every finding becomes a
// diag.ValidationError of error type architecture_violation with its rule id,
// message, remediation hint and position; file paths are relative to Dir when
// inside it. Packages that cannot be loaded or type-checked are an error: the
// rules cannot vouch for code they could not analyse.
func Vet(ctx context.Context, cfg VetConfig, patterns ...string) (*diag.Report, error) {
	if len(patterns) == 0 {
		patterns = []string{"."}
	}
	base, err := filepath.Abs(cmp.Or(cfg.Dir, "."))
	if err != nil {
		return nil, fmt.Errorf("vet: %w", err)
	}
	pkgs, err := load(ctx, base, cfg.Env, patterns)
	if err != nil {
		return nil, err
	}
	var loadErrs []error
	// Errors in a dependency count too: ARCH-004 reads its facts.
	packages.Visit(pkgs, nil, func(p *packages.Package) {
		errs := p.Errors
		// The go command repeats the compiler's errors in a list error; the
		// parser's and type checker's own are the located ones.
		if located := slices.DeleteFunc(slices.Clone(errs), func(e packages.Error) bool { return e.Kind == packages.ListError }); len(located) > 0 {
			errs = located
		}
		for _, e := range errs {
			loc := p.PkgPath
			if e.Pos != "" {
				loc = relTo(base, e.Pos)
			}
			loadErrs = append(loadErrs, fmt.Errorf("%s: %s", loc, e.Msg))
		}
	})
	if len(loadErrs) > 0 {
		return nil, fmt.Errorf("vet: cannot analyse packages with errors:\n%w", errors.Join(loadErrs...))
	}

	graph, err := checker.Analyze(Analyzers(), pkgs, nil)
	if err != nil {
		return nil, fmt.Errorf("vet: %w", err)
	}
	r := &diag.Report{}
	var runErrs []error
	for _, act := range graph.Roots {
		if act.Err != nil {
			runErrs = append(runErrs, fmt.Errorf("%s: %w", act, act.Err))
			continue
		}
		for _, d := range act.Diagnostics {
			r.Add(toValidationError(act, base, d))
		}
	}
	if len(runErrs) > 0 {
		return nil, fmt.Errorf("vet: %w", errors.Join(runErrs...))
	}
	r.Sort()
	return r, nil
}

// load returns the packages matching patterns, parsed and type-checked, with
// their dependencies. ARCH-004 follows calls into dependencies through facts,
// which the checker computes by running the analyzer on each of them, so every
// dependency from a module is loaded from source too. The standard library gets
// no facts (see computesReach): it comes from export data, without syntax,
// which halves the cost.
func load(ctx context.Context, dir string, env []string, patterns []string) ([]*packages.Package, error) {
	graph, err := packages.Load(&packages.Config{
		Context: ctx,
		Mode:    packages.NeedName | packages.NeedImports | packages.NeedDeps | packages.NeedModule,
		Dir:     dir,
		Env:     env,
	}, patterns...)
	if err != nil {
		return nil, fmt.Errorf("vet: load packages: %w", err)
	}
	if len(graph) == 0 {
		return nil, fmt.Errorf("vet: no packages match %s", strings.Join(patterns, " "))
	}
	roots := map[string]bool{}
	for _, p := range graph {
		roots[p.ID] = true
	}
	// The dependencies are named by import path after the patterns: the go
	// command loads every package named on its command line from source.
	sources := slices.Clone(patterns)
	packages.Visit(graph, nil, func(p *packages.Package) {
		if !roots[p.ID] && !standardPackage(p) {
			sources = append(sources, p.PkgPath)
		}
	})
	all, err := packages.Load(&packages.Config{
		Context: ctx,
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles | packages.NeedImports |
			packages.NeedTypes | packages.NeedTypesSizes | packages.NeedSyntax | packages.NeedTypesInfo |
			packages.NeedModule,
		Dir: dir,
		Env: env,
	}, sources...)
	if err != nil {
		return nil, fmt.Errorf("vet: load packages: %w", err)
	}
	return slices.DeleteFunc(all, func(p *packages.Package) bool { return !roots[p.ID] }), nil
}

// standardPackage reports whether p is in the standard library, by the rule
// isStandard applies to an analysis pass.
func standardPackage(p *packages.Package) bool {
	if p.Module != nil && p.Module.Path != "" {
		return false
	}
	first, _, _ := strings.Cut(p.PkgPath, "/")
	return !strings.Contains(first, ".")
}

// toValidationError maps one analyzer diagnostic onto the diag model.
func toValidationError(act *checker.Action, base string, d analysis.Diagnostic) *diag.ValidationError {
	f, ok := ParseMessage(d.Message)
	if !ok { // every analyzer reports through report; keep the raw text if not
		f = Finding{Rule: d.Category, Message: d.Message}
	}
	e := diag.New(diag.RuleID(f.Rule), "%s", f.Message)
	if f.Hint != "" {
		e.RemediationHint = f.Hint
	}
	pos := act.Package.Fset.Position(d.Pos)
	e.FilePath, e.Line, e.Column = relTo(base, pos.Filename), pos.Line, pos.Column
	e.Details = map[string]any{"package": act.Package.PkgPath, "analyzer": act.Analyzer.Name}
	return e
}

// relTo makes path relative to base when it lies inside base.
func relTo(base, path string) string {
	if !filepath.IsAbs(path) {
		return path
	}
	rel, err := filepath.Rel(base, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(os.PathSeparator)) {
		return path
	}
	return rel
}
