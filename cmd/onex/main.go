// Command onex is the onex runtime host and toolchain. See `onex --help`.
package main

import (
	"os"

	"github.com/onexhost/onex/cli"
)

func main() { os.Exit(cli.Main()) }
