// Command onex is the onex runtime host and toolchain. See `onex --help`.
package main

import (
	"os"

	"github.com/onexhost/onex/cli"
	_ "github.com/onexhost/onex/handlers/all" // every built-in handler
)

func main() { os.Exit(cli.Main()) }
