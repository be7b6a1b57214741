package verbs

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/onexhost/onex/handler"
)

type echo struct{ calls int }

type echoPayload struct {
	Text string `json:"text"`
}

func (e *echo) say(_ context.Context, p echoPayload) (string, error) {
	e.calls++
	if p.Text == "fail" {
		return "", errors.New("failed")
	}
	return p.Text, nil
}

var table = Table[*echo]{"say": Of((*echo).say), "shout": Of((*echo).say)}

func invocation(op, payload string) *handler.Invocation {
	return handler.NewInvocation(handler.InvocationParams{HandlerName: "echo", Operation: handler.Command(op), Payload: []byte(payload)})
}

func TestHandle(t *testing.T) {
	e := &echo{}
	out, err := table.Handle(context.Background(), e, "echo", invocation("echo.say", `{"text":"hi"}`))
	if err != nil || out.Result != "hi" || e.calls != 1 {
		t.Fatalf("say: %v %v, %d calls", out.Result, err, e.calls)
	}

	// A payload that does not decode strictly never reaches the method.
	_, err = table.Handle(context.Background(), e, "echo", invocation("echo.say", `{"txt":"hi"}`))
	var he *handler.Error
	if !errors.As(err, &he) || e.calls != 1 {
		t.Fatalf("unknown field: %v (%T), %d calls", err, err, e.calls)
	}

	// The method's error is returned as it is, with no result.
	out, err = table.Handle(context.Background(), e, "echo", invocation("echo.say", `{"text":"fail"}`))
	if err == nil || err.Error() != "failed" || out.Result != nil {
		t.Fatalf("failing verb: %v %v", out.Result, err)
	}

	// A verb the table does not hold is an error naming the verb and the handler.
	_, err = table.Handle(context.Background(), e, "echo", invocation("echo.whisper", `{}`))
	if !errors.As(err, &he) || he.Message != `verb "whisper" is not implemented by the echo handler` {
		t.Fatalf("unknown verb: %v", err)
	}
}

func TestVerbs(t *testing.T) {
	if got := table.Verbs(); !slices.Equal(got, []string{"say", "shout"}) {
		t.Fatalf("Verbs = %v", got)
	}
}
