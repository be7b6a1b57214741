package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is the onex version, set at build time with
// -ldflags "-X github.com/onexhost/onex/cli.Version=v1.2.3".
var Version = ""

// VersionString returns the version: the build-time value, else the module version
// from the build information, else "dev".
func VersionString() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func init() { addCommand(newVersionCmd) }

func newVersionCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the onex version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(env.Stdout, "onex %s (%s %s/%s)\n", VersionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
