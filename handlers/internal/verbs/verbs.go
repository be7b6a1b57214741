// Package verbs routes an invocation to the method that implements its verb,
// decoding the payload strictly into that method's payload type first: the
// Handle of a handler whose verbs each take one typed payload and return one
// result is a table.
package verbs

import (
	"context"
	"maps"
	"slices"

	"github.com/onexhost/onex/handler"
)

// Func runs one verb of a handler of type H.
type Func[H any] func(h H, ctx context.Context, inv *handler.Invocation) (any, error)

// Of adapts a method expression such as (*Vault).read, which takes the verb's
// decoded payload, to a Func. A payload that does not decode strictly into P is
// the *handler.Error of Invocation.Decode, and fn is not called.
func Of[H, P, R any](fn func(H, context.Context, P) (R, error)) Func[H] {
	return func(h H, ctx context.Context, inv *handler.Invocation) (any, error) {
		var p P
		if err := inv.Decode(&p); err != nil {
			return nil, err
		}
		r, err := fn(h, ctx, p)
		if err != nil {
			return nil, err
		}
		return r, nil
	}
}

// Table maps each verb a handler implements to its Func.
type Table[H any] map[string]Func[H]

// Handle runs inv's verb on h; name is the handler's, for the error of a verb
// the table does not hold.
func (t Table[H]) Handle(ctx context.Context, h H, name string, inv *handler.Invocation) (handler.Output, error) {
	fn, ok := t[inv.Verb()]
	if !ok {
		return handler.Output{}, handler.Failed(nil, "verb %q is not implemented by the %s handler", inv.Verb(), name)
	}
	res, err := fn(h, ctx, inv)
	if err != nil {
		return handler.Output{}, err
	}
	return handler.Output{Result: res}, nil
}

// Verbs lists the table's verbs, sorted.
func (t Table[H]) Verbs() []string { return slices.Sorted(maps.Keys(t)) }
