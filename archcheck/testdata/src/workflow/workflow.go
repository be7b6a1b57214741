// Package workflow exercises ARCH-003: FSMs belong in reducers, not in
// orchestrators.
package workflow

import (
	"looplab/fsm"

	"github.com/onexhost/onex/handler"
)

type OrderState int

type Event string

// OrderOrchestrator is an orchestrator by name.
type OrderOrchestrator struct {
	state       OrderState                      // want `\[ARCH-003\] orchestrator OrderOrchestrator holds workflow state in field state \(OrderState\)\. Remediation: move the state machine into a reducer`
	transitions map[OrderState][]OrderState     // want `\[ARCH-003\] orchestrator OrderOrchestrator holds a transition table in field transitions`
	next        map[string]map[Event]OrderState // want `\[ARCH-003\] orchestrator OrderOrchestrator holds a transition table in field next`
	machine     *fsm.FSM                        // want `\[ARCH-003\] orchestrator OrderOrchestrator holds workflow state in field machine \(\*fsm.FSM\)`
	Phase       string                          // want `\[ARCH-003\] orchestrator OrderOrchestrator holds workflow state in field Phase`
	pending     map[string]chan handler.Output  // correlation tracking: fine
	deadlines   map[string]int64                // fine
	reducer     *PaymentReducer                 // coordinating a reducer: fine
	steps       []string                        // a plan, not state: fine
}

func (o *OrderOrchestrator) Transition(to OrderState) error { // want `\[ARCH-003\] orchestrator OrderOrchestrator has the state transition method Transition`
	o.state = to
	return nil
}

func (o *OrderOrchestrator) CanTransition(to OrderState) bool { // want `\[ARCH-003\] orchestrator OrderOrchestrator has the state transition method CanTransition`
	return true
}

func (o *OrderOrchestrator) SetState(s OrderState) { o.state = s } // want `\[ARCH-003\] orchestrator OrderOrchestrator has the state transition method SetState`

func (o *OrderOrchestrator) CurrentState() OrderState { return o.state } // want `\[ARCH-003\] orchestrator OrderOrchestrator has the state transition method CurrentState`

// Track records a pending request by correlation id: fine.
func (o *OrderOrchestrator) Track(correlationID string) {
	o.pending[correlationID] = make(chan handler.Output, 1)
}

// Saga is an orchestrator by the SDK marker.
type Saga struct {
	table TransitionTable // want `\[ARCH-003\] orchestrator Saga holds a transition table in field table`
}

type TransitionTable []struct{ From, To OrderState }

func (Saga) OnexOrchestrator() {}

func (s *Saga) Advance() {}

// PaymentReducer owns an aggregate FSM: allowed.
type PaymentReducer struct {
	state       OrderState
	transitions map[OrderState][]OrderState
}

func (r *PaymentReducer) Transition(to OrderState) error {
	r.state = to
	return nil
}

// Ledger is a reducer by the SDK marker: allowed.
type Ledger struct {
	state   OrderState
	machine *fsm.FSM
}

func (Ledger) OnexReducer() {}

func (l *Ledger) SetState(s OrderState) { l.state = s }

// Cart is neither: not checked.
type Cart struct{ state OrderState }

func (c *Cart) SetState(s OrderState) { c.state = s }

// Orchestrator is the interface name of an SDK-like marker: interfaces are
// not checked.
type Orchestrator interface{ CurrentState() OrderState }
