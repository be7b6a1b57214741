package archcheck

import (
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
	"golang.org/x/tools/go/types/typeutil"
)

// CapabilityIO reports ARCH-004: a handler package doing I/O on its own.
var CapabilityIO = &analysis.Analyzer{
	Name: "capabilityio",
	Doc: `ARCH-004: handlers do I/O only through the capabilities they are granted

Go has no sandbox inside one process, so this rule keeps handler packages from
opening their own doors. Reported in a handler package (outside _test.go
files): dialing or listening with net, crypto/tls, net/smtp or net/rpc;
http.Get/Head/Post/PostForm, http.DefaultClient/DefaultTransport, constructing
an http.Client or http.Transport, and serving HTTP; os/exec, os.StartProcess
and syscall exec; sql.Open/OpenDB; and writing files (os.Create, os.WriteFile,
os.OpenFile with a write flag, os.Mkdir…, os.Remove…, os.Rename, the same on
os.Root, ioutil writes). The capability-based equivalents are fine:
inv.HTTPClient().Do, inv.Dialer().DialContext, env.Secrets() and the same on
InitEnv.`,
	Requires: []*analysis.Analyzer{inspect.Analyzer, sdkAnalyzer},
	Run:      runCapabilityIO,
}

const (
	dialHint   = "dial through the egress-guarded dialer of the invocation: inv.Dialer().DialContext (env.Dialer() in Init, e.g. as a connection pool's dial function)"
	listenHint = "handlers do not accept connections: ingress belongs to the runtime (the bus, --stdin, the HTTP gateway)"
	httpHint   = "use the egress-guarded HTTP client of the invocation: inv.HTTPClient() (env.HTTPClient() in Init)"
	execHint   = "handlers do not run programs: do the work in Go, or call a service through inv.HTTPClient()"
	sqlHint    = "build the database pool in Init on the guarded dialer (e.g. pgxpool with ConnConfig.DialFunc = env.Dialer().DialContext) instead of letting a driver dial on its own"
	fileHint   = "handlers do not write files: return the data in handler.Output and let the runtime or a dedicated effect handler persist it"
)

// ioUse is a forbidden function, method or variable: what it does and the hint.
type ioUse struct{ what, hint string }

// forbidden is keyed by types.Func.FullName (methods as "(*net.Dialer).Dial")
// and by "path.Name" for variables.
var forbidden = func() map[string]ioUse {
	m := map[string]ioUse{}
	add := func(what, hint string, names ...string) {
		for _, n := range names {
			m[n] = ioUse{what, hint}
		}
	}
	add("dials", dialHint,
		"net.Dial", "net.DialTimeout", "net.DialTCP", "net.DialUDP", "net.DialIP", "net.DialUnix",
		"(*net.Dialer).Dial", "(*net.Dialer).DialContext", "(*net.Dialer).DialTCP", "(*net.Dialer).DialUDP",
		"(*net.Dialer).DialIP", "(*net.Dialer).DialUnix",
		"crypto/tls.Dial", "crypto/tls.DialWithDialer", "(*crypto/tls.Dialer).Dial", "(*crypto/tls.Dialer).DialContext",
		"net/smtp.Dial", "net/smtp.SendMail", "net/rpc.Dial", "net/rpc.DialHTTP", "net/rpc.DialHTTPPath", "net/rpc/jsonrpc.Dial")
	add("listens", listenHint,
		"net.Listen", "net.ListenPacket", "net.ListenTCP", "net.ListenUDP", "net.ListenIP", "net.ListenUnix",
		"net.ListenUnixgram", "net.ListenMulticastUDP", "(*net.ListenConfig).Listen", "(*net.ListenConfig).ListenPacket",
		"crypto/tls.Listen", "net/http.ListenAndServe", "net/http.ListenAndServeTLS", "net/http.Serve", "net/http.ServeTLS")
	add("makes an unguarded HTTP request", httpHint,
		"net/http.Get", "net/http.Head", "net/http.Post", "net/http.PostForm")
	add("uses the unguarded default HTTP client", httpHint, "net/http.DefaultClient", "net/http.DefaultTransport")
	add("executes a program", execHint,
		"os/exec.Command", "os/exec.CommandContext", "os.StartProcess",
		"syscall.Exec", "syscall.ForkExec", "syscall.StartProcess")
	add("opens a database connection", sqlHint, "database/sql.Open", "database/sql.OpenDB")
	add("writes files", fileHint,
		"os.Create", "os.CreateTemp", "os.WriteFile", "os.Mkdir", "os.MkdirAll", "os.MkdirTemp", "os.Remove",
		"os.RemoveAll", "os.Rename", "os.Symlink", "os.Link", "os.Chmod", "os.Chown", "os.Lchown", "os.Chtimes",
		"os.Truncate", "os.CopyFS",
		"(*os.Root).Create", "(*os.Root).WriteFile", "(*os.Root).Mkdir", "(*os.Root).MkdirAll", "(*os.Root).Remove",
		"(*os.Root).RemoveAll", "(*os.Root).Rename", "(*os.Root).Symlink", "(*os.Root).Link", "(*os.Root).Chmod",
		"(*os.Root).Chown", "(*os.Root).Lchown", "(*os.Root).Chtimes",
		"io/ioutil.WriteFile", "io/ioutil.TempFile", "io/ioutil.TempDir")
	return m
}()

// openFileFuncs take a flag argument: they write only with a write flag.
var openFileFuncs = map[string]int{"os.OpenFile": 1, "(*os.Root).OpenFile": 1} // index of the flag argument

// forbiddenTypes may not be constructed: their zero value or literal makes its
// own connections or runs a program.
var forbiddenTypes = map[string]ioUse{
	"net/http.Client":    {"constructs its own HTTP client", httpHint},
	"net/http.Transport": {"constructs its own HTTP transport", httpHint},
	"os/exec.Cmd":        {"constructs a command to execute", execHint},
}

func runCapabilityIO(pass *analysis.Pass) (any, error) {
	info := pass.ResultOf[sdkAnalyzer].(*pkgInfo)
	if !info.handlerPackage {
		return nil, nil
	}
	q := qualifier(pass)
	ins := pass.ResultOf[inspect.Analyzer].(*inspector.Inspector)

	// os.OpenFile is fine read-only: the calls whose flag is a constant without
	// a write bit are left alone.
	readOnly := map[*ast.Ident]bool{}
	for cur := range ins.Root().Preorder((*ast.CallExpr)(nil)) {
		call := cur.Node().(*ast.CallExpr)
		fn, ok := typeutil.Callee(pass.TypesInfo, call).(*types.Func)
		if !ok {
			continue
		}
		idx, ok := openFileFuncs[fn.Origin().FullName()]
		if !ok || idx >= len(call.Args) {
			continue
		}
		if tv, ok := pass.TypesInfo.Types[call.Args[idx]]; ok && tv.Value != nil && !writesFlag(fn.Pkg(), tv.Value) {
			readOnly[calleeIdent(call.Fun)] = true
		}
	}

	for cur := range ins.Root().Preorder((*ast.Ident)(nil), (*ast.CompositeLit)(nil), (*ast.CallExpr)(nil), (*ast.ValueSpec)(nil)) {
		n := cur.Node()
		if isTestPos(pass, n.Pos()) {
			continue
		}
		switch n := n.(type) {
		case *ast.Ident:
			key, ok := useKey(pass.TypesInfo.Uses[n])
			if !ok {
				continue
			}
			if _, isOpen := openFileFuncs[key]; isOpen && !readOnly[n] {
				report(pass, n.Pos(), RuleCapabilityIO, fileHint,
					"handler package opens a file for writing with %s (%s)", key, info.why)
				continue
			}
			if use, ok := forbidden[key]; ok {
				report(pass, n.Pos(), RuleCapabilityIO, use.hint,
					"handler package %s with %s (%s)", use.what, key, info.why)
			}
		case *ast.CompositeLit:
			checkConstructed(pass, n.Pos(), pass.TypesInfo.TypeOf(n), info, q)
		case *ast.CallExpr:
			if b, ok := typeutil.Callee(pass.TypesInfo, n).(*types.Builtin); ok && b.Name() == "new" && len(n.Args) == 1 {
				checkConstructed(pass, n.Pos(), pass.TypesInfo.TypeOf(n.Args[0]), info, q)
			}
		case *ast.ValueSpec:
			if n.Type != nil && len(n.Values) == 0 {
				checkConstructed(pass, n.Type.Pos(), pass.TypesInfo.TypeOf(n.Type), info, q)
			}
		}
	}
	return nil, nil
}

// useKey is the key of obj in the forbidden tables.
func useKey(obj types.Object) (string, bool) {
	switch obj := obj.(type) {
	case *types.Func:
		return obj.Origin().FullName(), true
	case *types.Var:
		if obj.Pkg() != nil && obj.Parent() == obj.Pkg().Scope() {
			return obj.Pkg().Path() + "." + obj.Name(), true
		}
	}
	return "", false
}

// checkConstructed reports a value of a forbidden type made by a literal,
// new(T) or a var declaration without a value.
func checkConstructed(pass *analysis.Pass, pos token.Pos, t types.Type, info *pkgInfo, q types.Qualifier) {
	n, ok := types.Unalias(t).(*types.Named)
	if !ok || n.Obj().Pkg() == nil {
		return
	}
	if use, ok := forbiddenTypes[n.Obj().Pkg().Path()+"."+n.Obj().Name()]; ok {
		report(pass, pos, RuleCapabilityIO, use.hint,
			"handler package %s (%s) (%s)", use.what, types.TypeString(n, q), info.why)
	}
}

// writesFlag reports whether an os.OpenFile flag value has a write bit, using
// the constants of the os package the call resolves to.
func writesFlag(osPkg *types.Package, flag constant.Value) bool {
	if osPkg == nil {
		return true
	}
	for _, name := range []string{"O_WRONLY", "O_RDWR", "O_CREATE", "O_APPEND", "O_TRUNC"} {
		c, ok := osPkg.Scope().Lookup(name).(*types.Const)
		if !ok {
			return true // cannot tell: assume it writes
		}
		bit := constant.BinaryOp(flag, token.AND, c.Val())
		if constant.Sign(bit) != 0 {
			return true
		}
	}
	return false
}

// calleeIdent is the identifier naming the function of a call: f, pkg.f or x.m.
func calleeIdent(fun ast.Expr) *ast.Ident {
	switch f := ast.Unparen(fun).(type) {
	case *ast.Ident:
		return f
	case *ast.SelectorExpr:
		return f.Sel
	case *ast.IndexExpr:
		return calleeIdent(f.X)
	case *ast.IndexListExpr:
		return calleeIdent(f.X)
	}
	return nil
}
