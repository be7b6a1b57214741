package archcheck

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"reflect"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
	"golang.org/x/tools/go/types/typeutil"
)

// Import paths the analyzers recognise the SDK, the bus and the runtime by.
const (
	sdkPath     = "github.com/onexhost/onex/handler"
	busPath     = "github.com/onexhost/onex/bus"
	runtimePath = "github.com/onexhost/onex/runtime"
)

// under reports whether path is root or a package below it.
func under(path, root string) bool {
	return path == root || strings.HasPrefix(path, root+"/")
}

// isRuntime reports whether pkg is the runtime, which hosts handlers.
func isRuntime(pkg *types.Package) bool { return under(pkg.Path(), runtimePath) }

// pkgInfo is what the shared analyzer learns about one package.
type pkgInfo struct {
	// handlerTypes are the handler types declared in non-test files, in source
	// order.
	handlerTypes []*types.TypeName
	// handlerPackage is true when the package is a handler package (see the
	// package documentation); why says what made it one.
	handlerPackage bool
	why            string
}

func (p *pkgInfo) isHandlerType(tn *types.TypeName) bool {
	return slices.Contains(p.handlerTypes, tn)
}

// sdkAnalyzer finds the handler types and decides whether the package is a
// handler package; the rule analyzers require it.
var sdkAnalyzer = &analysis.Analyzer{
	Name:       "onexsdk",
	Doc:        "find onex handler types and handler packages (shared by the ARCH analyzers)",
	Requires:   []*analysis.Analyzer{inspect.Analyzer},
	ResultType: reflect.TypeFor[*pkgInfo](),
	Run:        runSDK,
}

func runSDK(pass *analysis.Pass) (any, error) {
	info := &pkgInfo{}
	if pass.TypesInfo == nil {
		// Vet loads the standard library from export data, without syntax:
		// there is nothing to look at.
		return info, nil
	}
	for id, obj := range pass.TypesInfo.Defs {
		tn, ok := obj.(*types.TypeName)
		if !ok || tn.IsAlias() || isTestPos(pass, id.Pos()) {
			continue
		}
		if _, isParam := tn.Type().(*types.TypeParam); isParam || types.IsInterface(tn.Type()) {
			continue
		}
		if implementsHandler(tn.Type()) {
			info.handlerTypes = append(info.handlerTypes, tn)
		}
	}
	slices.SortFunc(info.handlerTypes, func(a, b *types.TypeName) int { return int(a.Pos() - b.Pos()) })

	var register token.Pos
	ins := pass.ResultOf[inspect.Analyzer].(*inspector.Inspector)
	for n := range ins.Root().Preorder((*ast.CallExpr)(nil)) {
		call := n.Node().(*ast.CallExpr)
		if isTestPos(pass, call.Pos()) {
			continue
		}
		if fn, ok := typeutil.Callee(pass.TypesInfo, call).(*types.Func); ok &&
			fn.Pkg() != nil && fn.Pkg().Path() == sdkPath && fn.Name() == "Register" && fn.Signature().Recv() == nil {
			register = call.Pos()
			break
		}
	}

	if pass.Pkg.Path() == sdkPath || isRuntime(pass.Pkg) {
		return info, nil
	}
	switch {
	case len(info.handlerTypes) > 0:
		info.handlerPackage = true
		info.why = fmt.Sprintf("it defines handler type %s", info.handlerTypes[0].Name())
	case register.IsValid():
		info.handlerPackage = true
		info.why = "it registers a handler factory"
	}
	return info, nil
}

// isTestPos reports whether pos is in a _test.go file.
func isTestPos(pass *analysis.Pass, pos token.Pos) bool {
	f := pass.Fset.File(pos)
	return f != nil && strings.HasSuffix(f.Name(), "_test.go")
}

// isTestFile reports whether file is a _test.go file.
func isTestFile(pass *analysis.Pass, file *ast.File) bool { return isTestPos(pass, file.Package) }

// implementsHandler reports whether t (or, for a non-pointer, its pointer) has
// the method of handler.Handler.
func implementsHandler(t types.Type) bool {
	obj, _, _ := types.LookupFieldOrMethod(t, true, nil, "Handle")
	fn, ok := obj.(*types.Func)
	return ok && isHandleMethod(fn)
}

// isHandleMethod reports whether fn is Handle(context.Context,
// *handler.Invocation) (handler.Output, error), the one method of
// handler.Handler.
func isHandleMethod(fn *types.Func) bool {
	if fn.Name() != "Handle" {
		return false
	}
	sig := fn.Signature()
	if sig.Recv() == nil || sig.Variadic() || sig.Params().Len() != 2 || sig.Results().Len() != 2 {
		return false
	}
	p, r := sig.Params(), sig.Results()
	inv, ok := types.Unalias(p.At(1).Type()).(*types.Pointer)
	return ok &&
		isNamed(p.At(0).Type(), "context", "Context") &&
		isNamed(inv.Elem(), sdkPath, "Invocation") &&
		isNamed(r.At(0).Type(), sdkPath, "Output") &&
		types.Identical(r.At(1).Type(), types.Universe.Lookup("error").Type())
}

// hasMarker reports whether t (or its pointer) has the marker method name(),
// e.g. OnexReducer of handler.Reducer.
func hasMarker(t types.Type, name string) bool {
	obj, _, _ := types.LookupFieldOrMethod(t, true, nil, name)
	fn, ok := obj.(*types.Func)
	if !ok {
		return false
	}
	sig := fn.Signature()
	return sig.Params().Len() == 0 && sig.Results().Len() == 0
}

// isNamed reports whether t is the named type pkg.name.
func isNamed(t types.Type, pkg, name string) bool {
	n, ok := types.Unalias(t).(*types.Named)
	if !ok {
		return false
	}
	obj := n.Obj()
	return obj.Name() == name && obj.Pkg() != nil && obj.Pkg().Path() == pkg
}

// namedOf returns the named type of t or *t, if any.
func namedOf(t types.Type) *types.Named {
	t = types.Unalias(t)
	if p, ok := t.(*types.Pointer); ok {
		t = types.Unalias(p.Elem())
	}
	n, _ := t.(*types.Named)
	return n
}

// hasPublish reports whether t's method set (or its pointer's) has a Publish
// method.
func hasPublish(t types.Type) bool {
	obj, _, _ := types.LookupFieldOrMethod(t, true, nil, "Publish")
	_, ok := obj.(*types.Func)
	return ok
}

// publisherIn returns the bus publisher type that a value of type t holds or
// can hand out, looking through pointers, containers, function results and the
// fields of structs declared in local (see the package documentation).
func publisherIn(t types.Type, local *types.Package) (types.Type, bool) {
	return publisherWalk(t, local, map[types.Type]bool{})
}

func publisherWalk(t types.Type, local *types.Package, seen map[types.Type]bool) (types.Type, bool) {
	t = types.Unalias(t)
	if seen[t] {
		return nil, false
	}
	seen[t] = true
	if hasPublish(t) {
		return t, true
	}
	switch u := t.(type) {
	case *types.Pointer:
		return publisherWalk(u.Elem(), local, seen)
	case *types.Slice:
		return publisherWalk(u.Elem(), local, seen)
	case *types.Array:
		return publisherWalk(u.Elem(), local, seen)
	case *types.Chan:
		return publisherWalk(u.Elem(), local, seen)
	case *types.Map:
		if p, ok := publisherWalk(u.Key(), local, seen); ok {
			return p, true
		}
		return publisherWalk(u.Elem(), local, seen)
	case *types.Signature:
		for v := range u.Results().Variables() {
			if p, ok := publisherWalk(v.Type(), local, seen); ok {
				return p, true
			}
		}
	case *types.Struct:
		for f := range u.Fields() {
			if p, ok := publisherWalk(f.Type(), local, seen); ok {
				return p, true
			}
		}
	case *types.Named:
		// Look into the structs of this package only: third-party internals
		// are out of the handler's reach and would make the rule noisy.
		if u.Obj().Pkg() == local {
			if s, ok := u.Underlying().(*types.Struct); ok {
				return publisherWalk(s, local, seen)
			}
		}
	}
	return nil, false
}

// words splits an identifier into lower-case words: currentState → current,
// state; workflowFSM → workflow, fsm; transition_table → transition, table.
func words(name string) []string {
	var out []string
	rs := []rune(name)
	start := 0
	flush := func(end int) {
		if end > start {
			out = append(out, strings.ToLower(string(rs[start:end])))
		}
		start = end
	}
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '_' || unicode.IsDigit(r):
			flush(i)
			start = i + 1
		case i > start && unicode.IsUpper(r):
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || (unicode.IsUpper(prev) && nextLower) {
				flush(i)
			}
		}
	}
	flush(len(rs))
	return out
}

// qualifier renders types relative to the analysed package.
func qualifier(pass *analysis.Pass) types.Qualifier {
	return func(p *types.Package) string {
		if p == pass.Pkg {
			return ""
		}
		return p.Name()
	}
}
