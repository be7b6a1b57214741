// Package all links every built-in handler into a binary: a host's main
// blank-imports it (as cmd/onex does) so their factories register. A custom
// host may import only the handler packages it needs instead.
package all

import (
	// The standard compute handlers.
	_ "github.com/onexhost/onex/handlers/hash"
	_ "github.com/onexhost/onex/handlers/jsonschema"
	_ "github.com/onexhost/onex/handlers/transform"
	_ "github.com/onexhost/onex/handlers/uuid"

	// The bootstrap effect handlers.
	_ "github.com/onexhost/onex/handlers/consul"
	_ "github.com/onexhost/onex/handlers/db"
	_ "github.com/onexhost/onex/handlers/httpout"
	_ "github.com/onexhost/onex/handlers/vault" // also the vault secret provider
)
