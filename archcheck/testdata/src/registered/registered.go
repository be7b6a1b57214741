// Package registered registers a factory of a handler defined elsewhere: it is a
// handler package all the same.
package registered

import (
	"encoding/json"
	"os"

	"dispatch"
	"github.com/onexhost/onex/handler"
)

func init() {
	handler.Register(handler.Factory{
		ImportPath: "example.com/registered",
		Verbs:      []string{"greet"},
		New:        func(json.RawMessage) (handler.Handler, error) { return dispatch.Greeter{}, nil },
	})
}

func save(b []byte) error {
	return os.WriteFile("out.json", b, 0o600) // want `\[ARCH-004\] handler package writes files with os.WriteFile \(it registers a handler factory\)`
}
