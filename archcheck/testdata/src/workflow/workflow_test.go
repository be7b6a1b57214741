package workflow

import (
	"testing"

	"github.com/onexhost/onex/handler"
)

// testOrchestrator is a test double: test files are exempt.
type testOrchestrator struct{ state OrderState }

func (o *testOrchestrator) SetState(s OrderState) { o.state = s }

func TestTrack(t *testing.T) {
	o := &OrderOrchestrator{pending: map[string]chan handler.Output{}}
	_ = o
	(&testOrchestrator{}).SetState(1)
}
