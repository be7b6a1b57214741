// Package fsm stands in for a third-party FSM library.
package fsm

type FSM struct{ current string }

func (f *FSM) Current() string { return f.current }
