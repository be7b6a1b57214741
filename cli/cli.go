// Package cli is the onex command line. cmd/onex is a thin main around it; a
// custom host binary blank-imports its own handler packages and calls Main, like a
// custom Caddy build:
//
//	import (
//		"os"
//
//		"github.com/onexhost/onex/cli"
//		_ "github.com/acme/handlers/greet"
//	)
//
//	func main() { os.Exit(cli.Main()) }
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/onexhost/onex/internal/progress"
)

// Exit codes.
const (
	ExitOK      = 0 // success
	ExitFailure = 1 // validation or runtime failure
	ExitUsage   = 2 // usage error
)

// Env is what a command may touch: its streams and logger. Logs are JSON on
// stderr; data goes to stdout.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Logger *slog.Logger
	// LogLevel is the level of Logger, settable with --log-level.
	LogLevel *slog.LevelVar
	// status is Stderr with a status line for progress on an interactive
	// terminal; Logger writes through it.
	status *progress.Terminal
}

// commandFactories builds the subcommands; each command file adds its own at init.
var commandFactories []func(*Env) *cobra.Command

func addCommand(f func(*Env) *cobra.Command) { commandFactories = append(commandFactories, f) }

// usageError marks an error as a usage error (exit 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// UsageErrorf returns a usage error (exit 2).
func UsageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// exitError carries an exit code without further message (the command already
// printed what it had to say).
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Exit makes a command end with code, having printed its own output.
func Exit(code int) error { return &exitError{code: code} }

// Main runs the command line with the process's arguments and streams, stopping on
// SIGINT/SIGTERM, and returns the exit code.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

// Run runs the command line with args and the given streams and returns the exit
// code. It is what tests call.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	level := new(slog.LevelVar)
	status := progress.NewTerminal(stderr)
	env := &Env{
		Stdin: stdin, Stdout: stdout, Stderr: stderr, LogLevel: level, status: status,
		Logger: slog.New(slog.NewJSONHandler(status, &slog.HandlerOptions{Level: level})),
	}
	root := NewRoot(env)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return exitCode(env, err)
}

func exitCode(env *Env, err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ue *usageError
	if errors.As(err, &ue) || isCobraUsageError(err) {
		fmt.Fprintf(env.Stderr, "onex: %v\n", err)
		fmt.Fprintln(env.Stderr, "run 'onex --help' for usage")
		return ExitUsage
	}
	fmt.Fprintf(env.Stderr, "onex: %v\n", err)
	return ExitFailure
}

// isCobraUsageError recognises cobra's own argument errors, which it does not type.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "requires at most", "invalid argument", "flag needs an argument", "required flag"} {
		if strings.HasPrefix(msg, p) || strings.Contains(msg, " "+p) {
			return true
		}
	}
	return false
}

// NewRoot builds the root command with every subcommand.
func NewRoot(env *Env) *cobra.Command {
	var logLevel string
	root := &cobra.Command{
		Use:           "onex",
		Short:         "onex runs contract-driven handlers",
		Long:          "onex is a runtime host for contract-driven handlers: declared, discovered, validated, registered, and invoked only by the runtime.",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			var l slog.Level
			if err := l.UnmarshalText([]byte(logLevel)); err != nil {
				return UsageErrorf("--log-level: %v", err)
			}
			env.LogLevel.Set(l)
			return nil
		},
	}
	root.PersistentFlags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	for _, f := range commandFactories {
		root.AddCommand(f(env))
	}
	return root
}
