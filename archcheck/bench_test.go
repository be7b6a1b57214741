package archcheck_test

import (
	"context"
	"testing"

	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"

	"github.com/onexhost/onex/archcheck"
)

// BenchmarkAnalyzers measures the four rules over the sample module's
// packages, loaded once: the cost the analyzers add to a go vet run. The
// dependencies are loaded from source, the standard library included, for
// ARCH-004 to run on them for its facts.
func BenchmarkAnalyzers(b *testing.B) {
	dir, env := sampleModule(b)
	pkgs, err := packages.Load(&packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles | packages.NeedImports |
			packages.NeedTypes | packages.NeedTypesSizes | packages.NeedSyntax | packages.NeedTypesInfo |
			packages.NeedDeps | packages.NeedModule,
		Dir: dir, Env: env,
	}, "./...")
	if err != nil || packages.PrintErrors(pkgs) > 0 {
		b.Fatalf("load: %v", err)
	}
	for b.Loop() {
		g, err := checker.Analyze(archcheck.Analyzers(), pkgs, nil)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, act := range g.Roots {
			n += len(act.Diagnostics)
		}
		if n != len(sampleFindings) {
			b.Fatalf("%d findings, want %d", n, len(sampleFindings))
		}
	}
}

// BenchmarkVet measures `onex vet ./...` on the sample module end to end,
// package loading (go list) included.
func BenchmarkVet(b *testing.B) {
	dir, env := sampleModule(b)
	for b.Loop() {
		r, err := archcheck.Vet(context.Background(), archcheck.VetConfig{Dir: dir, Env: env}, "./...")
		if err != nil {
			b.Fatal(err)
		}
		if r.Len() != len(sampleFindings) {
			b.Fatalf("%d findings, want %d", r.Len(), len(sampleFindings))
		}
	}
}
