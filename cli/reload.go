package cli

import (
	"context"
	"os"

	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/runtime"
)

// startReloads wires the hot-reload triggers of a running host: hup (SIGHUP,
// caught by the caller since before the host started), a change under the
// contract paths (contract and hybrid modes) and, for the registry, a changed
// index (handler_source.registry.poll_interval). The host counts every reload
// in the metrics itself (runtime.Options.OnReload). The returned function
// stops watching and waits for a reload in progress; call it before stopping
// the host.
func startReloads(ctx context.Context, env *Env, host *runtime.Host, setup *hostSetup, hup <-chan os.Signal) (stop func()) {
	t := runtime.ReloadTriggers{Signals: hup}
	switch setup.source.Mode {
	case handler.SourceContract, handler.SourceHybrid:
		t.Paths = setup.source.ContractPaths
	case handler.SourceRegistry:
		t.PollInterval = setup.source.Registry.PollInterval
	}
	w, err := host.NewReloadWatch(t)
	if err != nil {
		// Contract paths cannot be watched (e.g. the inotify limit): keep the
		// other triggers.
		env.Logger.Warn("contract paths are not watched for reload; SIGHUP still reloads", "error", err.Error())
		t.Paths = nil
		w, _ = host.NewReloadWatch(t) // without paths there is nothing to fail
	}
	env.Logger.Info("hot reload enabled", "signal", "SIGHUP", "watched_path_count", len(t.Paths),
		"poll_interval", t.PollInterval.String())
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}
