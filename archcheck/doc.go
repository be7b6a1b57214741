// Package archcheck enforces the architecture rules of onex: statically, as
// golang.org/x/tools/go/analysis analyzers over Go code that uses the SDK (run by
// `onex vet ./...` and by `go vet -vettool=$(command -v onex-vet)`), and at
// startup, as a validate.Validator over the resolved descriptors.
//
// # Static rules
//
// One analyzer per rule; each diagnostic names the rule, carries a remediation
// hint and points at the exact position:
//
//   - ARCH-001 (DirectDispatch): a call of Handle on a handler, outside the
//     runtime. Only the runtime invokes handlers.
//   - ARCH-002 (HandlerPublish): a handler type holding, receiving or calling a
//     bus publisher, and a handler package importing the bus packages. Handlers
//     return results; the runtime publishes them.
//   - ARCH-003 (OrchestratorFSM): an orchestrator holding workflow FSM state,
//     a transition table or transition methods. Reducers may own FSMs.
//   - ARCH-004 (CapabilityIO): a handler package dialing, listening, executing,
//     opening a database or writing files on its own instead of through the
//     capabilities of its Invocation / InitEnv, directly or through any
//     function it calls, in any package.
//
// # How far ARCH-004 reaches
//
// ARCH-004 follows static calls with analysis facts. Each function or method of
// a package outside the standard library and the runtime, in the module and in
// its dependencies, that uses a forbidden function or variable, or calls a
// function that does (a fixed point over the calls within its package, facts
// from the packages it imports), carries a fact naming the chain of calls down
// to the forbidden use. A handler package is reported where it uses such a
// function of another package, with the chain in the message:
//
//	handler package makes an unguarded HTTP request through remote.Fetch:
//	(Mirror).Handle → remote.Fetch → net/http.Get
//
// A function of the handler package itself is reported at its forbidden use.
// A helper using a capability passed to it, such as calling the methods of the
// *http.Client of inv.HTTPClient(), is fine: methods of a client value are not
// forbidden, only http.Get and the like, http.DefaultClient and
// http.DefaultTransport. The standard library counts by the rule's table alone;
// its bodies are not followed, since nearly every client method there can end
// in a dial (http.Client.Do falls back to DefaultTransport). The runtime hosts
// handlers and does the host's own I/O: it carries no facts. Nor do functions
// declared in _test.go files.
//
// Not followed, because static analysis cannot tell what runs:
//
//   - calls of interface methods (an io.Writer, an http.RoundTripper);
//   - calls of function values: a function or literal stored in a variable, a
//     field or a result is not taken to be called, so a library that defaults
//     a dial function to net.Dialer's, for the caller to replace, is not taken
//     to dial; a function or literal called, passed to a call (sync.Once.Do,
//     errgroup.Group.Go) or started with go or defer counts;
//   - reflection, cgo and assembly;
//   - the initialisation of an imported package (its init functions and
//     package-level variables), which runs at start-up, not in a call;
//   - constructing an http.Client, http.Transport or exec.Cmd in a called
//     function (reported in a handler package only; libraries build a default
//     client they use only when the caller passes none).
//
// Both drivers compute the same facts: go vet -vettool runs the analyzer on
// every dependency, and Vet loads the dependencies from modules from source
// (the standard library from export data) for the checker to do the same.
//
// # What the analyzers recognise
//
// The SDK is recognised by import path, so the analyzers need no copy of it:
//
//   - A handler type is a named, non-interface type whose value or pointer has
//     the method Handle(context.Context, *handler.Invocation) (handler.Output,
//     error) — that is, it implements github.com/onexhost/onex/handler.Handler.
//   - A handler package is a package whose non-test files define a handler type
//     or call handler.Register. The SDK package itself and the runtime
//     (github.com/onexhost/onex/runtime and the packages below it), which hosts
//     handlers, are never handler packages.
//   - A bus publisher is a type whose method set (of the value or its pointer)
//     has a Publish method: bus.Publisher, bus.Bus, every bus implementation,
//     and any look-alike. Pointers, slices, arrays, maps, channels, function
//     results and the fields of structs declared in the same package are looked
//     through. The bus packages are github.com/onexhost/onex/bus and the packages
//     below it.
//   - An orchestrator is a type named …Orchestrator (or orchestrator) or
//     implementing the SDK marker handler.Orchestrator; a reducer is a type named
//     …Reducer or implementing handler.Reducer. A type that is a reducer is never
//     treated as an orchestrator.
//
// The runtime is exempt from ARCH-001, ARCH-002 and ARCH-004: it is the one
// place that invokes handlers, publishes and does the host's own I/O. Test files
// (_test.go) are exempt from every rule: tests call handlers directly and set up
// servers and files. Test kits (packages named …test that import testing) are
// exempt from ARCH-001 for the same reason: their helpers run Handle for unit
// tests.
//
// # Startup rules
//
// Startup returns a validate.Validator for the registration pipeline. It checks
// each descriptor against the factory its import_path names:
//
//   - ARCH-005: a pure handler (compute or nondeterministic_compute) whose
//     factory declares Uses.Egress or Uses.Secrets.
//   - ARCH-006 (warning): an effect handler whose factory needs egress or
//     secrets while the descriptor grants no allowed_domains / secret_scopes, so
//     every connection or secret read would be refused at run time.
package archcheck
