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
//     capabilities of its Invocation / InitEnv.
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
// servers and files.
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
