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
	"github.com/onexhost/onex/diag/ruleid"
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
// runs the static rules on them, test files excluded. Every finding becomes a
// diag.ValidationError of error type architecture_violation with its rule id,
// message, remediation hint and position; file paths are relative to Dir when
// inside it. Packages that cannot be loaded or type-checked are an error: the
// rules cannot vouch for code they could not analyse.
//
// ARCH-004 follows calls into dependencies through facts, which the checker
// computes by running it on each dependency, from source. As it reports in
// handler packages only, it runs apart, on the handler packages found by the
// first pass and their dependencies: the other rules need only the packages
// themselves.
func Vet(ctx context.Context, cfg VetConfig, patterns ...string) (*diag.Report, error) {
	if len(patterns) == 0 {
		patterns = []string{"."}
	}
	base, err := filepath.Abs(cmp.Or(cfg.Dir, "."))
	if err != nil {
		return nil, fmt.Errorf("vet: %w", err)
	}
	l := loader{ctx: ctx, dir: base, env: cfg.Env}
	pkgs, err := l.load(patterns, false)
	if err != nil {
		return nil, err
	}
	r := &diag.Report{}
	rules := slices.DeleteFunc(Analyzers(), func(a *analysis.Analyzer) bool { return a == CapabilityIO })
	roots, err := l.analyze(r, append(rules, sdkAnalyzer), pkgs)
	if err != nil {
		return nil, err
	}
	var handlerPkgs []string
	for _, act := range roots {
		if info, ok := act.Result.(*pkgInfo); ok && info.handlerPackage {
			handlerPkgs = append(handlerPkgs, act.Package.PkgPath)
		}
	}
	if len(handlerPkgs) > 0 {
		if slices.Contains(handlerPkgs, "command-line-arguments") {
			handlerPkgs = patterns // named by files: only the patterns name them
		}
		if pkgs, err = l.load(handlerPkgs, true); err != nil {
			return nil, err
		}
		if _, err := l.analyze(r, []*analysis.Analyzer{CapabilityIO}, pkgs); err != nil {
			return nil, err
		}
	}
	r.Sort()
	return r, nil
}

// loader loads packages for Vet.
type loader struct {
	ctx context.Context
	dir string
	env []string
}

// load returns the packages matching patterns, parsed and type-checked. With
// deps, their dependencies from modules are parsed and type-checked from
// source too, for ARCH-004 to compute their facts; the standard library gets
// no facts (see computesReach), so it comes from export data, without syntax,
// at a fraction of the cost. A package with errors, a dependency loaded from
// source included, is an error.
func (l loader) load(patterns []string, deps bool) ([]*packages.Package, error) {
	mode := packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles | packages.NeedImports |
		packages.NeedTypes | packages.NeedTypesSizes | packages.NeedSyntax | packages.NeedTypesInfo |
		packages.NeedModule
	if deps && slices.ContainsFunc(patterns, func(p string) bool { return strings.HasSuffix(p, ".go") }) {
		// The go command takes files or packages, not both: the dependencies
		// of a package named by its files all come from source.
		mode |= packages.NeedDeps
		deps = false
	}
	sources := patterns
	var roots map[string]bool
	if deps {
		graph, err := packages.Load(&packages.Config{
			Context: l.ctx,
			Mode:    packages.NeedName | packages.NeedImports | packages.NeedDeps | packages.NeedModule,
			Dir:     l.dir,
			Env:     l.env,
		}, patterns...)
		if err != nil {
			return nil, fmt.Errorf("vet: load packages: %w", err)
		}
		roots = map[string]bool{}
		for _, p := range graph {
			roots[p.ID] = true
		}
		// The go command loads every package named on its command line from
		// source: the dependencies are named after the patterns.
		sources = slices.Clone(patterns)
		packages.Visit(graph, nil, func(p *packages.Package) {
			if !roots[p.ID] && !standardPackage(p) {
				sources = append(sources, p.PkgPath)
			}
		})
	}
	pkgs, err := packages.Load(&packages.Config{Context: l.ctx, Mode: mode, Dir: l.dir, Env: l.env}, sources...)
	if err != nil {
		return nil, fmt.Errorf("vet: load packages: %w", err)
	}
	if deps {
		pkgs = slices.DeleteFunc(pkgs, func(p *packages.Package) bool { return !roots[p.ID] })
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("vet: no packages match %s", strings.Join(patterns, " "))
	}

	var loadErrs []error
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
				loc = relTo(l.dir, e.Pos)
			}
			loadErrs = append(loadErrs, fmt.Errorf("%s: %s", loc, e.Msg))
		}
	})
	if len(loadErrs) > 0 {
		return nil, fmt.Errorf("vet: cannot analyse packages with errors:\n%w", errors.Join(loadErrs...))
	}
	return pkgs, nil
}

// analyze runs analyzers on pkgs, adds their findings to r and returns the
// root actions.
func (l loader) analyze(r *diag.Report, analyzers []*analysis.Analyzer, pkgs []*packages.Package) ([]*checker.Action, error) {
	graph, err := checker.Analyze(analyzers, pkgs, nil)
	if err != nil {
		return nil, fmt.Errorf("vet: %w", err)
	}
	var runErrs []error
	for _, act := range graph.Roots {
		if act.Err != nil {
			runErrs = append(runErrs, fmt.Errorf("%s: %w", act, act.Err))
			continue
		}
		for _, d := range act.Diagnostics {
			r.Add(toValidationError(act, l.dir, d))
		}
	}
	if len(runErrs) > 0 {
		return nil, fmt.Errorf("vet: %w", errors.Join(runErrs...))
	}
	return graph.Roots, nil
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
		f = Finding{Rule: ruleid.ID(d.Category), Message: d.Message}
	}
	e := diag.New(f.Rule, "%s", f.Message)
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
