package cli

import (
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/onexhost/onex/archcheck"
	"github.com/onexhost/onex/diag"
)

func init() { addCommand(newVetCmd) }

func newVetCmd(env *Env) *cobra.Command {
	var format, dir string
	cmd := &cobra.Command{
		Use:   "vet [packages]",
		Short: "Check Go code against the architecture rules ARCH-001..004",
		Long: `Vet runs the architecture analyzers over Go packages that use the onex SDK:

  ARCH-001  a handler's Handle called outside the runtime
  ARCH-002  a handler holding, receiving or calling a bus publisher
  ARCH-003  workflow FSM state in an orchestrator (reducers may own FSMs)
  ARCH-004  handler I/O outside its capabilities (net, http clients, os/exec,
            database/sql, file writes)

Packages are go list patterns and default to ./... ; test files are exempt.
The same analyzers run under go vet as: go vet -vettool=$(command -v onex-vet).
Exit status: 0 when clean, 1 on findings or when a package cannot be analysed,
2 on usage errors.`,
		Example: "  onex vet ./...\n  onex vet --format sarif ./handlers/... > arch.sarif",
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := diag.ParseFormat(format)
			if err != nil {
				return UsageErrorf("--format: %v", err)
			}
			if dir != "" {
				if st, err := os.Stat(dir); err != nil || !st.IsDir() {
					return UsageErrorf("-C %s: not a directory", dir)
				}
			}
			if len(args) == 0 {
				args = []string{"./..."}
			}
			start := time.Now()
			report, err := archcheck.Vet(cmd.Context(), archcheck.VetConfig{Dir: dir}, args...)
			if err != nil {
				return err
			}
			env.Logger.Info("architecture rules checked",
				"packages", strings.Join(args, " "),
				"finding_count", report.Len(),
				"duration_ms", time.Since(start).Milliseconds())
			if err := diag.Render(env.Stdout, report, f, diag.DefaultTool); err != nil {
				return err
			}
			if report.Len() > 0 {
				return Exit(ExitFailure)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json, sarif or github")
	cmd.Flags().StringVarP(&dir, "dir", "C", "", "run in `dir`, as go -C does: package patterns are resolved there")
	return cmd
}
