package all

import (
	"slices"
	"testing"

	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/policy"
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
		"github.com/onexhost/onex/handlers/vault",
	} {
		if _, ok := handler.Lookup(p); !ok {
			t.Errorf("%s is not registered", p)
		}
	}
}

func TestVaultSecretProviderLinked(t *testing.T) {
	if !slices.Contains(policy.ProviderKinds(), "vault") {
		t.Fatalf("secret provider kinds %v lack vault", policy.ProviderKinds())
	}
}
