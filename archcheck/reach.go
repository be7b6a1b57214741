package archcheck

import (
	"go/ast"
	"go/types"
	"maps"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/ast/edge"
	"golang.org/x/tools/go/ast/inspector"
)

// reachFact is the ARCH-004 fact of a function or method: it does, or reaches
// through static calls, an I/O of the forbidden table. Facts cross package
// boundaries, so a handler package calling a helper of another package (of its
// module or of a dependency) is reported where it calls the helper.
type reachFact struct {
	// Chain names the calls from the function down to the forbidden use: the
	// functions called, qualified by package name (remote.Fetch,
	// (*remote.Client).Post), then the forbidden function or variable as
	// keyed in the tables (net/http.Get, (*net.Dialer).DialContext).
	Chain []string
}

// AFact marks reachFact as an analysis fact.
func (*reachFact) AFact() {}

func (f *reachFact) String() string { return "reaches " + strings.Join(f.Chain, " → ") }

// forbiddenKey is the table key that ends a chain.
func (f *reachFact) forbiddenKey() string { return f.Chain[len(f.Chain)-1] }

// ioUseOf is the entry of the tables for key, the last element of a chain.
func ioUseOf(key string) ioUse {
	if use, ok := forbidden[key]; ok {
		return use
	}
	return ioUse{"opens a file for writing", fileHint}
}

// computesReach reports whether the functions of the analysed package get
// reach facts. The standard library's do not: its entries in the tables are
// its facts, and walking its bodies would find that nearly everything may end
// in a dial or a write (http.Client.Do reaches DefaultTransport). The runtime's
// do not: it hosts handlers and its I/O is the host's own.
func computesReach(pass *analysis.Pass) bool {
	return !isStandard(pass) && !isRuntime(pass.Pkg)
}

// isStandard reports whether the analysed package belongs to the standard
// library: it is outside any module and, as the go command requires of
// standard packages, the first element of its path has no dot. (Packages
// outside a module with a dotless path, in GOPATH mode, are taken for standard
// ones.)
func isStandard(pass *analysis.Pass) bool {
	if pass.Module != nil && pass.Module.Path != "" {
		return false
	}
	first, _, _ := strings.Cut(pass.Pkg.Path(), "/")
	return !strings.Contains(first, ".")
}

// reachUse is something a function body refers to that may reach forbidden
// I/O: a function or method of the same package, still to be resolved, or a
// resolved chain (a table entry used directly, or a function of another
// package with a fact).
type reachUse struct {
	local *types.Func
	chain []string
}

// exportReach computes, by a fixed point over the static references among the
// package's own functions, which of them reach forbidden I/O, and exports a
// reachFact for each exported one (only those can be called from another
// package). readOnly holds the os.OpenFile calls known not to write.
func exportReach(pass *analysis.Pass, ins *inspector.Inspector, readOnly map[*ast.Ident]bool) {
	var funcs []*types.Func
	uses := map[*types.Func][]reachUse{}
	for cur := range ins.Root().Preorder((*ast.FuncDecl)(nil)) {
		decl := cur.Node().(*ast.FuncDecl)
		fn, ok := pass.TypesInfo.Defs[decl.Name].(*types.Func)
		if !ok || decl.Body == nil || isTestPos(pass, decl.Pos()) {
			continue
		}
		funcs = append(funcs, fn)
		cur.Inspect([]ast.Node{(*ast.FuncLit)(nil), (*ast.Ident)(nil)}, func(c inspector.Cursor) bool {
			id, ok := c.Node().(*ast.Ident)
			if !ok {
				return invoked(c) // a function literal: see followed
			}
			if u, ok := followed(pass, fn, c, id, readOnly); ok {
				uses[fn] = append(uses[fn], u)
			}
			return true
		})
	}

	// Each round resolves the functions one call further from the forbidden
	// uses, from the previous round's results only, so the chain each function
	// gets (the shortest at hand, the first in source order on a tie) does not
	// depend on the order the functions are visited in.
	reach := map[*types.Func][]string{}
	for {
		next := map[*types.Func][]string{}
		for _, fn := range funcs {
			if reach[fn] != nil {
				continue
			}
			var best []string
			for _, u := range uses[fn] {
				chain := u.chain
				if u.local != nil && reach[u.local] != nil {
					chain = append([]string{funcName(u.local, pkgName)}, reach[u.local]...)
				}
				if chain != nil && (best == nil || len(chain) < len(best)) {
					best = chain
				}
			}
			if best != nil {
				next[fn] = best
			}
		}
		if len(next) == 0 {
			break
		}
		maps.Copy(reach, next)
	}

	for _, fn := range funcs {
		if chain := reach[fn]; chain != nil && fn.Exported() {
			pass.ExportObjectFact(fn, &reachFact{Chain: chain})
		}
	}
}

// followed returns what a reference in the body of fn contributes to its reach.
// A forbidden variable counts wherever it is used. A function counts where it
// is called, or passed to a call (which is taken to call it, as sync.Once.Do
// or errgroup.Group.Go do), and so does a function literal, whose body then
// counts as part of fn. A function or literal stored (in a variable, a field,
// a result) is a function value: whether and where it is called is not
// followed. So a library that defaults a dial function to net.Dialer's
// DialContext, for the caller to replace, is not taken to dial.
func followed(pass *analysis.Pass, fn *types.Func, c inspector.Cursor, id *ast.Ident, readOnly map[*ast.Ident]bool) (reachUse, bool) {
	if key, ok := forbiddenUse(pass, id, readOnly); ok {
		if _, isVar := pass.TypesInfo.Uses[id].(*types.Var); isVar || invoked(c) {
			return reachUse{chain: []string{key}}, true
		}
		return reachUse{}, false
	}
	callee := staticCallee(pass, id)
	if callee == nil || callee == fn || !invoked(c) {
		return reachUse{}, false
	}
	if callee.Pkg() == pass.Pkg {
		return reachUse{local: callee}, true
	}
	if f, ok := importedReach(pass, callee); ok {
		return reachUse{chain: append([]string{funcName(callee, pkgName)}, f.Chain...)}, true
	}
	return reachUse{}, false
}

// invoked reports whether the expression at c (an identifier naming a
// function, possibly selected, instantiated or parenthesised, or a function
// literal) is called or passed as an argument to a call.
func invoked(c inspector.Cursor) bool {
	for {
		switch c.ParentEdgeKind() {
		case edge.SelectorExpr_Sel, edge.ParenExpr_X, edge.IndexExpr_X, edge.IndexListExpr_X:
			c = c.Parent()
		case edge.CallExpr_Fun, edge.CallExpr_Args:
			return true
		default:
			return false
		}
	}
}

// forbiddenUse reports the table key id refers to when it is a forbidden
// function or variable, or os.OpenFile not known to be read-only.
func forbiddenUse(pass *analysis.Pass, id *ast.Ident, readOnly map[*ast.Ident]bool) (string, bool) {
	obj := pass.TypesInfo.Uses[id]
	// Most identifiers name nothing of the tables' packages: skip building
	// their keys, as this runs on every function of every dependency.
	if obj == nil || obj.Pkg() == nil || !forbiddenPkgs[obj.Pkg().Path()] {
		return "", false
	}
	key, ok := useKey(obj)
	if !ok {
		return "", false
	}
	if _, isOpen := openFileFuncs[key]; isOpen {
		return key, !readOnly[id]
	}
	_, ok = forbidden[key]
	return key, ok
}

// staticCallee is the function or concrete method id refers to (called or
// taken as a value), in its generic form; nil for anything else, interface
// methods included: what an interface value holds is not known statically.
func staticCallee(pass *analysis.Pass, id *ast.Ident) *types.Func {
	fn, ok := pass.TypesInfo.Uses[id].(*types.Func)
	if !ok || fn.Pkg() == nil {
		return nil
	}
	if recv := fn.Signature().Recv(); recv != nil && types.IsInterface(recv.Type()) {
		return nil
	}
	return fn.Origin()
}

// importedReach returns the fact of a function of another package.
func importedReach(pass *analysis.Pass, fn *types.Func) (*reachFact, bool) {
	f := new(reachFact)
	if !pass.ImportObjectFact(fn, f) || len(f.Chain) == 0 {
		return nil, false
	}
	return f, true
}

// pkgName qualifies by package name, as chains read: remote.Fetch.
func pkgName(p *types.Package) string { return p.Name() }

// funcName names fn in a chain: pkg.F, or (*pkg.T).M for a method.
func funcName(fn *types.Func, q types.Qualifier) string {
	if recv := fn.Signature().Recv(); recv != nil {
		return "(" + types.TypeString(recv.Type(), q) + ")." + fn.Name()
	}
	if p := q(fn.Pkg()); p != "" {
		return p + "." + fn.Name()
	}
	return fn.Name()
}

// enclosingName names the function a use in a handler package sits in, as the
// first element of a chain; code outside any function runs at package
// initialisation.
func enclosingName(pass *analysis.Pass, cur inspector.Cursor) string {
	for c := range cur.Enclosing((*ast.FuncDecl)(nil)) {
		if fn, ok := pass.TypesInfo.Defs[c.Node().(*ast.FuncDecl).Name].(*types.Func); ok {
			return funcName(fn, qualifier(pass))
		}
	}
	return "init"
}
