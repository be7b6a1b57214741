package archcheck

import (
	"go/ast"
	"go/types"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"

	"github.com/onexhost/onex/diag/ruleid"
)

// DirectDispatch reports ARCH-001: Handle of a handler called (or taken as a
// method value) outside the runtime.
var DirectDispatch = &analysis.Analyzer{
	Name: "directdispatch",
	Doc: `ARCH-001: handlers are invoked only by the runtime

A call of Handle on a value whose type implements handler.Handler — a handler
held in a variable or a struct field, constructed inline, or behind the
handler.Handler interface — bypasses the runtime's routing, policy checks,
timeouts, panic recovery and response publishing. The runtime
(github.com/onexhost/onex/runtime) is the one place allowed to call Handle;
_test.go files are exempt, and so are test kits — packages named …test that
import testing, such as a handler test kit whose helpers run Handle for unit
tests, the way net/http/httptest serves for them — and a handler may call
Handle on its own receiver.`,
	Requires: []*analysis.Analyzer{inspect.Analyzer},
	Run:      runDirectDispatch,
}

const dispatchHint = "send an envelope through the runtime (the bus, `onex run --stdin` or the HTTP gateway) instead of calling Handle; only the runtime invokes handlers"

func runDirectDispatch(pass *analysis.Pass) (any, error) {
	if isRuntime(pass.Pkg) || isTestKit(pass.Pkg) {
		return nil, nil
	}
	ins := pass.ResultOf[inspect.Analyzer].(*inspector.Inspector)
	for cur := range ins.Root().Preorder((*ast.SelectorExpr)(nil)) {
		sel := cur.Node().(*ast.SelectorExpr)
		if isTestPos(pass, sel.Pos()) {
			continue
		}
		s, ok := pass.TypesInfo.Selections[sel]
		if !ok || (s.Kind() != types.MethodVal && s.Kind() != types.MethodExpr) {
			continue
		}
		fn, ok := s.Obj().(*types.Func)
		if !ok || !isHandleMethod(fn) {
			continue
		}
		if s.Kind() == types.MethodVal && isOwnReceiver(pass, cur, sel.X) {
			continue
		}
		recv := types.TypeString(s.Recv(), qualifier(pass))
		if _, isCall := cur.Parent().Node().(*ast.CallExpr); isCall && s.Kind() == types.MethodVal {
			report(pass, sel.Sel.Pos(), ruleid.ArchDirectDispatch, dispatchHint,
				"direct call of Handle on handler %s bypasses the runtime", recv)
		} else {
			report(pass, sel.Sel.Pos(), ruleid.ArchDirectDispatch, dispatchHint,
				"Handle of handler %s taken as a function value bypasses the runtime", recv)
		}
	}
	return nil, nil
}

// isTestKit reports whether pkg is a test kit: its name ends in "test" and it
// imports testing, so only tests can use it (a non-test binary that linked it
// would carry the testing package's flags). Test kits run Handle for unit
// tests, as _test.go files do.
func isTestKit(pkg *types.Package) bool {
	if !strings.HasSuffix(pkg.Name(), "test") {
		return false
	}
	for _, imp := range pkg.Imports() {
		if imp.Path() == "testing" {
			return true
		}
	}
	return false
}

// isOwnReceiver reports whether x is the receiver variable of the method
// declaration that encloses cur: a handler calling its own methods.
func isOwnReceiver(pass *analysis.Pass, cur inspector.Cursor, x ast.Expr) bool {
	id, ok := ast.Unparen(x).(*ast.Ident)
	if !ok {
		return false
	}
	for enc := range cur.Enclosing((*ast.FuncDecl)(nil)) {
		fd := enc.Node().(*ast.FuncDecl)
		if fd.Recv == nil || len(fd.Recv.List) == 0 || len(fd.Recv.List[0].Names) == 0 {
			return false
		}
		recv := pass.TypesInfo.Defs[fd.Recv.List[0].Names[0]]
		return recv != nil && pass.TypesInfo.Uses[id] == recv
	}
	return false
}
