package all

import (
	"testing"

	"github.com/onexhost/onex/handler"
)

func TestBuiltinsRegistered(t *testing.T) {
	for _, p := range []string{
		"github.com/onexhost/onex/handlers/hash",
		"github.com/onexhost/onex/handlers/jsonschema",
		"github.com/onexhost/onex/handlers/transform",
		"github.com/onexhost/onex/handlers/uuid",
		"github.com/onexhost/onex/handlers/consul",
		"github.com/onexhost/onex/handlers/db",
		"github.com/onexhost/onex/handlers/httpout",
	} {
		if _, ok := handler.Lookup(p); !ok {
			t.Errorf("%s is not registered", p)
		}
	}
}
