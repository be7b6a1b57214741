// Command customhost is an example custom onex host: the onex command line with
// the built-in handlers and one more handler package linked in, like a custom
// Caddy build.
//
//	go run ./examples/customhost run --contracts examples/customhost/contracts --stdin < examples/customhost/envelopes.ndjson
package main

import (
	"os"

	"github.com/onexhost/onex/cli"
	_ "github.com/onexhost/onex/examples/customhost/greet"
	_ "github.com/onexhost/onex/handlers/all"
)

func main() { os.Exit(cli.Main()) }
