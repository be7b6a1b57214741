package cli

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/runtime"
)

func init() { addCommand(newRunCmd) }

func newRunCmd(env *Env) *cobra.Command {
	var flags hostFlags
	var stdin bool
	cmd := &cobra.Command{
		Use:   "run [--config onex.yaml] [--mode M] [--contracts DIR]... [--stdin]",
		Short: "Start the runtime host",
		Long: `Run resolves the handlers (contracts, bootstrap table or both), validates
everything, initialises the handlers and serves request envelopes from the
configured bus until SIGINT or SIGTERM; then it stops intake, drains the
requests in progress (runtime.drain_timeout) and closes the handlers.

With --stdin it reads NDJSON request envelopes from standard input instead and
writes one NDJSON response per envelope to standard output, in input order,
then exits 0 after the last response.

On any blocking problem at startup it prints the aggregated report on standard
error and exits 1; nothing is started.

While it runs, SIGHUP, a change under the contract paths, or a changed registry
index (handler_source.registry.poll_interval) reloads the handlers: the new set
is resolved, validated and initialised aside and replaces the serving one only
when clean; requests in progress finish on the handlers they started with.

With admin.listen set, an admin listener serves /healthz, /readyz, /metrics
(Prometheus) and /v1/handlers; with ingress.http.listen set, an HTTP gateway
answers POST /v1/envelopes synchronously; with tracing.enabled, every envelope
gets an OpenTelemetry span, exported as the OTEL_* environment variables say.
On an interactive terminal a long discovery shows its progress.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			// SIGHUP is caught from the start: one that arrives while the
			// handlers are being resolved would otherwise end the process
			// (its default action). It waits in hup and reloads once the
			// host is ready, so a change it announces is not missed.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			setup, report, err := loadSetup(&flags)
			if err != nil {
				return err
			}
			if report.Blocking() {
				printReport(env.Stderr, report)
				return Exit(ExitFailure)
			}
			tel, verr := setup.startTelemetry(ctx, env)
			if verr != nil {
				report.Add(verr)
				printReport(env.Stderr, report)
				return Exit(ExitFailure)
			}
			host, verr := setup.newHost(env)
			if verr != nil {
				tel.stop()
				report.Add(verr)
				printReport(env.Stderr, report)
				return Exit(ExitFailure)
			}
			// Every path out from here has stopped the host (or never
			// started it) before this runs.
			defer setup.closePolicy(env)
			if verr := tel.serveAdmin(host); verr != nil {
				if err := tel.bus.Close(); err != nil { // the host never started: its bus is ours to close
					env.Logger.Warn("closing the bus", "error", err.Error())
				}
				tel.stop()
				report.Add(verr)
				printReport(env.Stderr, report)
				return Exit(ExitFailure)
			}
			// Start is not bound to the signal context: a handler's Init gets
			// its own timeout (runtime.init_timeout).
			if err := startWithProgress(context.WithoutCancel(ctx), env, host); err != nil {
				tel.stop()
				var re *diag.ReportError
				if errors.As(err, &re) {
					report.Merge(re.Report)
					printReport(env.Stderr, report)
				} else {
					env.Logger.Error("host did not start", "error", err.Error())
				}
				return Exit(ExitFailure)
			}
			if verr := tel.serveGateway(host); verr != nil {
				if err := host.Stop(context.Background()); err != nil {
					env.Logger.Error("host stopped with errors", "error", err.Error())
				}
				tel.stop()
				report.Add(verr)
				printReport(env.Stderr, report)
				return Exit(ExitFailure)
			}
			stopReloads := startReloads(ctx, env, host, setup, hup)
			var serveErr error
			if stdin {
				serveErr = runtime.ServeNDJSON(ctx, host, env.Stdin, env.Stdout)
				if errors.Is(serveErr, context.Canceled) {
					serveErr = nil // a signal: drained, every request read was answered
				}
			} else {
				<-ctx.Done()
			}
			stopReloads()
			tel.stopIntake(setup.runtime.DrainTimeout)
			if err := host.Stop(context.Background()); err != nil {
				env.Logger.Error("host stopped with errors", "error", err.Error())
			}
			tel.stop()
			if serveErr != nil {
				env.Logger.Error("stdin bridge failed", "error", serveErr.Error())
				return Exit(ExitFailure)
			}
			return nil
		},
	}
	flags.register(cmd)
	cmd.Flags().BoolVar(&stdin, "stdin", false, "read NDJSON envelopes from standard input, write NDJSON responses to standard output")
	return cmd
}
