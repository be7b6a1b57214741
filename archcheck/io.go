package archcheck

import (
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
	"golang.org/x/tools/go/types/typeutil"

	"github.com/onexhost/onex/diag/ruleid"
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
InitEnv.

The rule follows calls across packages. A function of any package outside the
standard library and the runtime (the module's own and its dependencies') that
does one of these, or calls a function that does, carries a fact; a handler
package using it is reported there, with the chain of calls:
(Mirror).Handle → remote.Fetch → net/http.Get. A helper that uses a capability
it is given (methods of the *http.Client of inv.HTTPClient()) is fine. The
standard library counts by its entries above only: its own bodies are not
followed, or every client method would count as reaching a dial.

What runs is not always known statically, and then it is not followed: calls
of interface methods and of function values (a function stored in a variable,
a field or a result, such as a library's default dial function that the caller
may replace; a function called, or passed to a call, counts), reflection,
cgo and assembly, and the initialisation of imported packages. Constructing an http.Client, http.Transport or exec.Cmd is
reported in a handler package, not followed in the functions it calls.`,
	Requires:  []*analysis.Analyzer{inspect.Analyzer, sdkAnalyzer},
	Run:       runCapabilityIO,
	FactTypes: []analysis.Fact{new(reachFact)},
}

const (
	dialHint   = "dial through the egress-guarded dialer of the invocation: inv.Dialer().DialContext (env.Dialer() in Init, e.g. as a connection pool's dial function)"
	listenHint = "handlers do not accept connections: ingress belongs to the runtime (the bus, --stdin, the HTTP gateway)"
	httpHint   = "use the egress-guarded HTTP client of the invocation: inv.HTTPClient() (env.HTTPClient() in Init)"
	execHint   = "handlers do not run programs: do the work in Go, or call a service through inv.HTTPClient()"
	sqlHint    = "build the database pool in Init on the guarded dialer (e.g. pgxpool with ConnConfig.DialFunc = env.Dialer().DialContext) instead of letting a driver dial on its own"
	fileHint   = "handlers do not write files: return the data in handler.Output and let the runtime or a dedicated effect handler persist it"
	// reachHint follows the hint of the I/O a called function reaches.
	reachHint = "; a helper gets the capability from the handler as an argument (the *http.Client of inv.HTTPClient(), the dial function of inv.Dialer()) instead of opening its own"
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

// forbiddenPkgs are the packages of the entries of forbidden and
// openFileFuncs.
var forbiddenPkgs = func() map[string]bool {
	m := map[string]bool{}
	for key := range forbidden {
		m[keyPkg(key)] = true
	}
	for key := range openFileFuncs {
		m[keyPkg(key)] = true
	}
	return m
}()

// keyPkg is the package path of a table key: net of net.Dial, net/http of
// (*net/http.Client).Do.
func keyPkg(key string) string {
	key = strings.TrimPrefix(key, "(*")
	key = strings.TrimPrefix(key, "(")
	key, _, _ = strings.Cut(key, ")")
	return key[:strings.LastIndex(key, ".")]
}

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
	reach := computesReach(pass)
	if !info.handlerPackage && !reach {
		return nil, nil
	}
	ins := pass.ResultOf[inspect.Analyzer].(*inspector.Inspector)
	readOnly := readOnlyOpens(pass, ins)
	if reach {
		exportReach(pass, ins, readOnly)
	}
	if !info.handlerPackage {
		return nil, nil
	}
	q := qualifier(pass)

	for cur := range ins.Root().Preorder((*ast.Ident)(nil), (*ast.CompositeLit)(nil), (*ast.CallExpr)(nil), (*ast.ValueSpec)(nil)) {
		n := cur.Node()
		if isTestPos(pass, n.Pos()) {
			continue
		}
		switch n := n.(type) {
		case *ast.Ident:
			if key, ok := forbiddenUse(pass, n, readOnly); ok {
				use := ioUseOf(key)
				report(pass, n.Pos(), ruleid.ArchCapabilityIO, use.hint,
					"handler package %s with %s (%s)", use.what, key, info.why)
				continue
			}
			// A function of this package reaching I/O is reported at the
			// forbidden use itself; one of another package where it is used.
			callee := staticCallee(pass, n)
			if callee == nil || callee.Pkg() == pass.Pkg {
				continue
			}
			if f, ok := importedReach(pass, callee); ok {
				use := ioUseOf(f.forbiddenKey())
				name := funcName(callee, q)
				chain := append([]string{enclosingName(pass, cur), name}, f.Chain...)
				report(pass, n.Pos(), ruleid.ArchCapabilityIO, use.hint+reachHint,
					"handler package %s through %s: %s (%s)", use.what, name, strings.Join(chain, " → "), info.why)
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

// readOnlyOpens finds the os.OpenFile calls that are fine: those whose flag is
// a constant without a write bit. It returns the identifiers naming the
// function in them.
func readOnlyOpens(pass *analysis.Pass, ins *inspector.Inspector) map[*ast.Ident]bool {
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
	return readOnly
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
		report(pass, pos, ruleid.ArchCapabilityIO, use.hint,
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
