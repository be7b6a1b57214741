package diag

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/onexhost/onex/diag/ruleid"
)

const ruleidImport = "github.com/onexhost/onex/diag/ruleid"

// ruleIDLiteral matches a string that spells an id of one of the catalog's
// families; built from familyOrder so a new family is covered without edits.
var ruleIDLiteral = regexp.MustCompile(`^(` + strings.Join(familyOrder, "|") + `)-\d+$`)

// moduleRoot is the directory of this module's go.mod, one level above diag.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() || !strings.HasPrefix(ruleidImport, strings.TrimPrefix(sc.Text(), "module ")+"/") {
		t.Fatalf("%s/go.mod is not the module of %s", root, ruleidImport)
	}
	return root
}

// goFiles returns the .go files of the module the go tool builds or tests: no
// testdata, no hidden or underscore directories, no nested module.
func goFiles(t *testing.T, root string, tests bool) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path == root {
				return nil
			}
			if name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") && strings.HasSuffix(path, "_test.go") == tests {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no .go files under %s", root)
	}
	return files
}

func parseFile(t *testing.T, fset *token.FileSet, path string) *ast.File {
	t.Helper()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// stringLit returns the value of a string literal.
func stringLit(n ast.Node) (string, bool) {
	lit, ok := n.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// ruleConstants reads package ruleid's source: constant name → id. Every
// constant there must be a typed ID with a literal value, so nothing is missed.
func ruleConstants(t *testing.T) map[string]RuleID {
	t.Helper()
	fset := token.NewFileSet()
	consts := map[string]RuleID{}
	for _, path := range goFiles(t, filepath.Join(moduleRoot(t), "diag", "ruleid"), false) {
		for _, decl := range parseFile(t, fset, path).Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				typ, _ := vs.Type.(*ast.Ident)
				if typ == nil || typ.Name != "ID" || len(vs.Names) != len(vs.Values) {
					t.Errorf("%s: constants of package ruleid are written `Name ID = \"FAMILY-NNN\"`", fset.Position(vs.Pos()))
					continue
				}
				for i, name := range vs.Names {
					s, ok := stringLit(vs.Values[i])
					if !ok {
						t.Errorf("%s: %s is not a string literal", fset.Position(name.Pos()), name.Name)
						continue
					}
					consts[name.Name] = RuleID(s)
				}
			}
		}
	}
	return consts
}

func TestEveryConstantIsInTheCatalog(t *testing.T) {
	consts := ruleConstants(t)
	byValue := map[RuleID]string{}
	for name, id := range consts {
		if other, dup := byValue[id]; dup {
			t.Errorf("%s and %s both spell %s", name, other, id)
		}
		byValue[id] = name
		if _, ok := Lookup(id); !ok {
			t.Errorf("ruleid.%s = %s is not in the catalog", name, id)
		}
	}
	for _, r := range catalog {
		if _, ok := byValue[r.ID]; !ok {
			t.Errorf("catalog entry %s has no constant in package ruleid", r.ID)
		}
	}
	// The parse must see what the compiler sees: spot-check one constant.
	if consts["ContractUnknownField"] != ruleid.ContractUnknownField {
		t.Fatalf("parsed ContractUnknownField = %q, compiled %q", consts["ContractUnknownField"], ruleid.ContractUnknownField)
	}
}

// mentions returns the rule ids a file names: as a string literal, or as a
// constant of package ruleid under whatever name the file imports it.
func mentions(f *ast.File, consts map[string]RuleID) []RuleID {
	local := ""
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == ruleidImport {
			local = "ruleid"
			if imp.Name != nil {
				local = imp.Name.Name
			}
		}
	}
	var ids []RuleID
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BasicLit:
			if s, ok := stringLit(n); ok && ruleIDLiteral.MatchString(s) {
				ids = append(ids, RuleID(s))
			}
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok && local != "" && x.Name == local {
				if id, ok := consts[n.Sel.Name]; ok {
					ids = append(ids, id)
				}
			}
		}
		return true
	})
	return ids
}

// TestEveryRuleHasATest fails for a catalog entry that no test outside this
// package names, by constant or by id: each rule's trigger lives beside the code
// that emits it, and this package's own tests only use rules as fixtures.
func TestEveryRuleHasATest(t *testing.T) {
	root := moduleRoot(t)
	consts := ruleConstants(t)
	diagDir := filepath.Join(root, "diag") + string(filepath.Separator)
	fset := token.NewFileSet()
	tested := map[RuleID][]string{}
	for _, path := range goFiles(t, root, true) {
		if strings.HasPrefix(path, diagDir) {
			continue
		}
		rel, _ := filepath.Rel(root, path)
		for _, id := range mentions(parseFile(t, fset, path), consts) {
			if !slices.Contains(tested[id], rel) {
				tested[id] = append(tested[id], rel)
			}
		}
	}
	for _, r := range Rules() {
		if len(tested[r.ID]) == 0 {
			t.Errorf("no test outside diag names %s (%s): add one that triggers it and checks the rule id", r.ID, r.Title)
		}
	}
	for id, files := range tested {
		if _, ok := Lookup(id); !ok {
			t.Errorf("%s name %s, which is not in the catalog", strings.Join(files, ", "), id)
		}
	}
}

// TestRuleIDsSpelledOnce fails on a string literal spelling a rule id in the
// module's non-test code anywhere but package ruleid: everything else uses the
// constants, so an id cannot drift or be mistyped.
func TestRuleIDsSpelledOnce(t *testing.T) {
	root := moduleRoot(t)
	home := filepath.Join(root, "diag", "ruleid") + string(filepath.Separator)
	fset := token.NewFileSet()
	var checked int
	for _, path := range goFiles(t, root, false) {
		if strings.HasPrefix(path, home) {
			continue
		}
		checked++
		for _, lit := range ruleLiterals(parseFile(t, fset, path)) {
			p := fset.Position(lit.Pos())
			rel, _ := filepath.Rel(root, p.Filename)
			t.Errorf("%s:%d:%d: rule id %s spelled as a literal; use its constant in package ruleid", rel, p.Line, p.Column, lit.Value)
		}
	}
	if checked < 10 {
		t.Fatalf("only %d files checked: the walk missed the module", checked)
	}
}

// ruleLiterals returns the string literals of f that spell a rule id.
func ruleLiterals(f *ast.File) []*ast.BasicLit {
	var lits []*ast.BasicLit
	ast.Inspect(f, func(n ast.Node) bool {
		if s, ok := stringLit(n); ok && ruleIDLiteral.MatchString(s) {
			lits = append(lits, n.(*ast.BasicLit))
		}
		return true
	})
	return lits
}

// TestScannersFind proves the two scans above can fail: on a sample file they
// find a literal id (quoted or raw) and a constant under a renamed import.
func TestScannersFind(t *testing.T) {
	const src = `package p

import r "github.com/onexhost/onex/diag/ruleid"

var (
	a = "ARCH-002"
	b = ` + "`HANDLER-003`" + `
	c = r.ContractUnknownField
	d = "UTF-8"
	e = ruleid.HandlerTimeout // not the imported name: not a mention
)
`
	f, err := parser.ParseFile(token.NewFileSet(), "sample.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := mentions(f, map[string]RuleID{"ContractUnknownField": ruleid.ContractUnknownField, "HandlerTimeout": ruleid.HandlerTimeout})
	want := []RuleID{"ARCH-002", "HANDLER-003", "CONTRACT-004"}
	if !slices.Equal(got, want) {
		t.Errorf("mentions = %v, want %v", got, want)
	}
	if lits := ruleLiterals(f); len(lits) != 2 || lits[0].Value != `"ARCH-002"` {
		t.Errorf("ruleLiterals found %d literals", len(lits))
	}
}

func TestRuleIDLiteralPattern(t *testing.T) {
	for s, want := range map[string]bool{
		"CONTRACT-004": true, "SECURITY-314": true, "HANDLER-6": true,
		"UTF-8": false, "CONTRACT-": false, "contract-004": false, "[CONTRACT-004]": false, "NOPE-1": false,
	} {
		if got := ruleIDLiteral.MatchString(s); got != want {
			t.Errorf("%q matched = %v, want %v", s, got, want)
		}
	}
}
