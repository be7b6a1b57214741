package archcheck

import (
	"go/ast"
	"go/types"
	"strconv"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"

	"github.com/onexhost/onex/diag/ruleid"
)

// HandlerPublish reports ARCH-002: a handler that can publish.
var HandlerPublish = &analysis.Analyzer{
	Name: "handlerpublish",
	Doc: `ARCH-002: handlers never publish

A handler returns its result in handler.Output and the runtime publishes it.
Reported: a handler type with a field that holds a bus publisher (anything with
a Publish method, bus.Publisher and bus.Bus included); a constructor (a function
returning a handler) or a handler method with a publisher parameter; a handler
method calling a method of a publisher, including through an ad-hoc interface;
and a handler package importing github.com/onexhost/onex/bus or a package below
it. Returning results or events is fine, and so are non-handler types. The
runtime is exempt, and so are _test.go files.`,
	Requires: []*analysis.Analyzer{inspect.Analyzer, sdkAnalyzer},
	Run:      runHandlerPublish,
}

const (
	publishHint = "return the result (or the event) in handler.Output and let the runtime publish it; remove the publisher from the handler"
	busHint     = "a handler package does not use the bus: return results in handler.Output; the runtime owns the bus"
)

func runHandlerPublish(pass *analysis.Pass) (any, error) {
	if isRuntime(pass.Pkg) {
		return nil, nil
	}
	info := pass.ResultOf[sdkAnalyzer].(*pkgInfo)
	q := qualifier(pass)

	if info.handlerPackage {
		for _, f := range pass.Files {
			if isTestFile(pass, f) {
				continue
			}
			for _, imp := range f.Imports {
				path, err := strconv.Unquote(imp.Path.Value)
				if err == nil && under(path, busPath) {
					report(pass, imp.Path.Pos(), ruleid.ArchHandlerPublish, busHint,
						"handler package imports %s (%s)", path, info.why)
				}
			}
		}
	}

	// Fields of handler types.
	for _, tn := range info.handlerTypes {
		st, ok := tn.Type().Underlying().(*types.Struct)
		if !ok {
			continue
		}
		for fld := range st.Fields() {
			if pub, ok := publisherIn(fld.Type(), pass.Pkg); ok {
				report(pass, fld.Pos(), ruleid.ArchHandlerPublish, publishHint,
					"handler type %s holds a bus publisher in field %s (%s)",
					tn.Name(), fld.Name(), types.TypeString(pub, q))
			}
		}
	}
	ins := pass.ResultOf[inspect.Analyzer].(*inspector.Inspector)
	for cur := range ins.Root().Preorder((*ast.FuncDecl)(nil), (*ast.FuncLit)(nil)) {
		if isTestPos(pass, cur.Node().Pos()) {
			continue
		}
		var (
			ftype *ast.FuncType
			body  *ast.BlockStmt
			owner *types.TypeName // handler type whose method this is
			name  string
		)
		switch fn := cur.Node().(type) {
		case *ast.FuncDecl:
			ftype, body, name = fn.Type, fn.Body, fn.Name.Name
			if fn.Recv != nil && len(fn.Recv.List) > 0 {
				if n := namedOf(pass.TypesInfo.TypeOf(fn.Recv.List[0].Type)); n != nil && info.isHandlerType(n.Origin().Obj()) {
					owner = n.Origin().Obj()
				}
			}
		case *ast.FuncLit:
			ftype, body, name = fn.Type, fn.Body, "function literal"
		}

		// Receiving a publisher: a parameter of a handler method or of a
		// constructor.
		switch {
		case owner != nil:
			checkPublisherParams(pass, ftype, "handler method "+owner.Name()+"."+name)
		case returnsHandler(pass, ftype):
			checkPublisherParams(pass, ftype, "constructor "+name)
		}

		// Calling a publisher, anywhere in a handler method (closures
		// included).
		if owner == nil || body == nil {
			continue
		}
		for sc := range cur.Preorder((*ast.SelectorExpr)(nil)) {
			sel := sc.Node().(*ast.SelectorExpr)
			s, ok := pass.TypesInfo.Selections[sel]
			if !ok || s.Kind() != types.MethodVal {
				continue
			}
			// Methods of the handler itself are not a publisher's, even when an
			// embedded publisher (reported as a field) promotes Publish.
			if n := namedOf(s.Obj().(*types.Func).Signature().Recv().Type()); n != nil && n.Origin().Obj() == owner {
				continue
			}
			if hasPublish(s.Recv()) {
				report(pass, sel.Sel.Pos(), ruleid.ArchHandlerPublish, publishHint,
					"handler method %s.%s calls %s on a bus publisher (%s)",
					owner.Name(), name, sel.Sel.Name, types.TypeString(s.Recv(), q))
			}
		}
	}
	return nil, nil
}

// checkPublisherParams reports every parameter of ft that holds a publisher.
func checkPublisherParams(pass *analysis.Pass, ft *ast.FuncType, what string) {
	if ft == nil || ft.Params == nil {
		return
	}
	for _, field := range ft.Params.List {
		pub, ok := publisherIn(pass.TypesInfo.TypeOf(field.Type), pass.Pkg)
		if !ok {
			continue
		}
		pos, name := field.Type.Pos(), "_"
		if len(field.Names) > 0 {
			pos, name = field.Names[0].Pos(), field.Names[0].Name
		}
		report(pass, pos, ruleid.ArchHandlerPublish, publishHint,
			"%s receives a bus publisher in parameter %s (%s)", what, name, types.TypeString(pub, qualifier(pass)))
	}
}

// returnsHandler reports whether a function of type ft returns a handler: a
// type that implements handler.Handler, the interface itself included.
func returnsHandler(pass *analysis.Pass, ft *ast.FuncType) bool {
	if ft == nil || ft.Results == nil {
		return false
	}
	for _, field := range ft.Results.List {
		if t := pass.TypesInfo.TypeOf(field.Type); t != nil && implementsHandler(t) {
			return true
		}
	}
	return false
}
