package archcheck

import (
	"go/types"
	"slices"
	"strings"

	"golang.org/x/tools/go/analysis"

	"github.com/onexhost/onex/diag/ruleid"
)

// OrchestratorFSM reports ARCH-003: workflow FSM state in an orchestrator.
var OrchestratorFSM = &analysis.Analyzer{
	Name: "orchestratorfsm",
	Doc: `ARCH-003: orchestrators coordinate, reducers own state machines

An orchestrator is a type named …Orchestrator or implementing the SDK marker
handler.Orchestrator. Reported in an orchestrator: a workflow state field (a
field whose name has the word state, fsm, statemachine, phase or stage, or whose
type is a state type: a named type with one of those words, or a type of a
package named fsm, statemachine or stateless), a transition table (a field
named …transition…, of a type named …Transition…, or a map keyed or valued by
a state type), and a transition
method (a method whose name has the word transition, state or fsm: Transition,
CanTransition, SetState, CurrentState…). The same in a reducer (…Reducer or
handler.Reducer) is allowed: reducers own aggregate FSMs. Correlation tracking
(pending requests by correlation id) is fine. _test.go files are exempt.`,
	Run: runOrchestratorFSM,
}

const fsmHint = "move the state machine into a reducer (a type named …Reducer or implementing handler.Reducer) and keep the orchestrator to coordinating handlers by correlation id"

// stateWords name workflow state; "status" and "step" are left out on purpose:
// they name correlation bookkeeping and plan steps as often as FSM state.
var stateWords = []string{"state", "states", "fsm", "statemachine", "phase", "phases", "stage", "stages"}

// fsmPackages are the package names of common FSM libraries.
var fsmPackages = []string{"fsm", "statemachine", "stateless"}

func runOrchestratorFSM(pass *analysis.Pass) (any, error) {
	q := qualifier(pass)
	for id, obj := range pass.TypesInfo.Defs {
		tn, ok := obj.(*types.TypeName)
		if !ok || tn.IsAlias() || isTestPos(pass, id.Pos()) || types.IsInterface(tn.Type()) {
			continue
		}
		named, ok := tn.Type().(*types.Named)
		if !ok || !isOrchestrator(named) {
			continue
		}
		if st, ok := named.Underlying().(*types.Struct); ok {
			for fld := range st.Fields() {
				switch kind := stateField(fld); kind {
				case "":
				case "transition table":
					report(pass, fld.Pos(), ruleid.ArchOrchestratorFSM, fsmHint,
						"orchestrator %s holds a transition table in field %s (%s)", tn.Name(), fld.Name(), types.TypeString(fld.Type(), q))
				default:
					report(pass, fld.Pos(), ruleid.ArchOrchestratorFSM, fsmHint,
						"orchestrator %s holds workflow state in field %s (%s)", tn.Name(), fld.Name(), types.TypeString(fld.Type(), q))
				}
			}
		}
		for m := range named.Methods() {
			if isTestPos(pass, m.Pos()) {
				continue
			}
			if ws := words(m.Name()); hasTransitionWord(ws) || hasStateWord(ws) {
				report(pass, m.Pos(), ruleid.ArchOrchestratorFSM, fsmHint,
					"orchestrator %s has the state transition method %s", tn.Name(), m.Name())
			}
		}
	}
	return nil, nil
}

// isOrchestrator reports whether t is an orchestrator and not a reducer.
func isOrchestrator(t *types.Named) bool {
	name := t.Obj().Name()
	if strings.HasSuffix(name, "Reducer") || strings.EqualFold(name, "reducer") || hasMarker(t, "OnexReducer") {
		return false
	}
	return strings.HasSuffix(name, "Orchestrator") || strings.EqualFold(name, "orchestrator") || hasMarker(t, "OnexOrchestrator")
}

// stateField classifies a field of an orchestrator: "transition table",
// "state", or "" when it is neither.
func stateField(f *types.Var) string {
	ws := words(f.Name())
	t := types.Unalias(f.Type())
	if p, ok := t.(*types.Pointer); ok {
		t = types.Unalias(p.Elem())
	}
	if hasTransitionWord(ws) {
		return "transition table"
	}
	if n, ok := t.(*types.Named); ok && hasTransitionWord(words(n.Obj().Name())) {
		return "transition table"
	}
	if m, ok := t.Underlying().(*types.Map); ok && (isStateType(m.Key()) || isStateType(m.Elem())) {
		return "transition table"
	}
	if hasStateWord(ws) || isStateType(f.Type()) {
		return "state"
	}
	return ""
}

// isStateType reports whether t is (a container of) a state type: a named type
// whose name has a state word, or a type of an FSM library.
func isStateType(t types.Type) bool {
	switch u := types.Unalias(t).(type) {
	case *types.Pointer:
		return isStateType(u.Elem())
	case *types.Slice:
		return isStateType(u.Elem())
	case *types.Array:
		return isStateType(u.Elem())
	case *types.Map:
		return isStateType(u.Key()) || isStateType(u.Elem())
	case *types.Named:
		obj := u.Obj()
		if obj.Pkg() != nil && slices.Contains(fsmPackages, obj.Pkg().Name()) {
			return true
		}
		return hasStateWord(words(obj.Name()))
	}
	return false
}

func hasStateWord(ws []string) bool {
	return slices.ContainsFunc(ws, func(w string) bool { return slices.Contains(stateWords, w) })
}

func hasTransitionWord(ws []string) bool {
	return slices.ContainsFunc(ws, func(w string) bool { return strings.HasPrefix(w, "transition") })
}
