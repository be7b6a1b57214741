package runtime

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/onexhost/onex/contract"
	"github.com/onexhost/onex/source"
)

// DefaultReloadDebounce is the quiet period after a contract change before the
// host reloads: an editor's save or a `git checkout` is many events, one
// reload.
const DefaultReloadDebounce = 250 * time.Millisecond

// Reload triggers, as logged.
const (
	TriggerSignal         = "signal"
	TriggerContractChange = "contract_change"
	TriggerSourceChange   = "source_change"
)

// ReloadTriggers say when WatchReloads reloads the host. Every trigger is
// optional.
type ReloadTriggers struct {
	// Signals: every value received reloads (SIGHUP, through signal.Notify).
	Signals <-chan os.Signal
	// Paths are watched for contract changes: a file as itself, a directory
	// recursively (directories created later included). Only contract files
	// (handler_contract.yaml, or a configured file) and directories count.
	Paths []string
	// Debounce is the quiet period after the last change before reloading;
	// 0 means DefaultReloadDebounce.
	Debounce time.Duration
	// PollInterval, when positive and the host's source is a source.Poller
	// (the registry), is how often the source is asked whether it changed; a
	// change reloads.
	PollInterval time.Duration
}

// WatchReloads is NewReloadWatch followed by Run: it reloads the host
// whenever a trigger fires until ctx ends, and fails at once only when the
// paths cannot be watched.
func (h *Host) WatchReloads(ctx context.Context, t ReloadTriggers) error {
	w, err := h.NewReloadWatch(t)
	if err != nil {
		return err
	}
	w.Run(ctx)
	return nil
}

// ReloadWatch holds the reload triggers of a host, in place from
// NewReloadWatch on: a change made after it returned is seen.
type ReloadWatch struct {
	h  *Host
	t  ReloadTriggers
	cw *contractWatch
}

// NewReloadWatch puts the triggers in place (the watches on the contract
// paths); Run then acts on them. It fails when the paths cannot be watched.
func (h *Host) NewReloadWatch(t ReloadTriggers) (*ReloadWatch, error) {
	if t.Debounce <= 0 {
		t.Debounce = DefaultReloadDebounce
	}
	w := &ReloadWatch{h: h, t: t}
	if len(t.Paths) > 0 {
		cw, err := newContractWatch(t.Paths)
		if err != nil {
			return nil, err
		}
		w.cw = cw
	}
	return w, nil
}

// Run reloads the host whenever a trigger fires, one reload at a time, until
// ctx ends, then releases the watches. Reload outcomes are logged by Reload; a
// refused or failed reload leaves the serving set in place and the watch goes
// on.
func (w *ReloadWatch) Run(ctx context.Context) {
	h, t, cw := w.h, w.t, w.cw
	var (
		events <-chan fsnotify.Event
		werrs  <-chan error
	)
	if cw != nil {
		defer cw.close()
		events, werrs = cw.w.Events, cw.w.Errors
	}
	var poll <-chan time.Time
	poller, canPoll := h.src.(source.Poller)
	if canPoll && t.PollInterval > 0 {
		tick := time.NewTicker(t.PollInterval)
		defer tick.Stop()
		poll = tick.C
	}
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	var pending <-chan time.Time // debounce.C while a change waits

	// Options.OnReload sees every result, and Reload logs it.
	reload := func(trigger string) { _, _ = h.Reload(ctx, trigger) }
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-t.Signals:
			if !ok {
				t.Signals = nil
				continue
			}
			reload(TriggerSignal)
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if cw.relevant(ev) {
				debounce.Reset(t.Debounce)
				pending = debounce.C
			}
		case err, ok := <-werrs:
			if !ok {
				werrs = nil
				continue
			}
			h.log.Warn("contract watch error", "error", err.Error())
		case <-pending:
			pending = nil
			reload(TriggerContractChange)
		case <-poll:
			changed, err := poller.Poll(ctx)
			if err != nil {
				if ctx.Err() == nil {
					h.log.Warn("handler source poll failed; serving the current set", "error", err.Error())
				}
				continue
			}
			if changed {
				reload(TriggerSourceChange)
			}
		}
	}
}

// contractWatch watches contract paths with fsnotify, which watches single
// directories: every directory under a configured one is added, and new ones
// as they appear; a configured file is watched through its directory (editors
// replace files by renaming, which a watch on the file itself would lose).
type contractWatch struct {
	w     *fsnotify.Watcher
	files map[string]bool // configured contract files
	dirs  map[string]bool // watched directories
}

func newContractWatch(paths []string) (*contractWatch, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	cw := &contractWatch{w: w, files: map[string]bool{}, dirs: map[string]bool{}}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			cw.close()
			return nil, err
		}
		fi, err := os.Stat(abs)
		switch {
		case err == nil && fi.IsDir():
			err = cw.addTree(abs)
		case err == nil || errors.Is(err, fs.ErrNotExist):
			// A file, or a path that may appear later: watch its directory.
			cw.files[abs] = true
			err = cw.add(filepath.Dir(abs))
		}
		if err != nil {
			cw.close()
			return nil, err
		}
	}
	return cw, nil
}

func (cw *contractWatch) add(dir string) error {
	if cw.dirs[dir] {
		return nil
	}
	if err := cw.w.Add(dir); err != nil {
		return err
	}
	cw.dirs[dir] = true
	return nil
}

// addTree watches dir and every directory below it. Unreadable parts are
// skipped: discovery reports them.
func (cw *contractWatch) addTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil
		}
		if de.IsDir() {
			if err := cw.add(p); err != nil && p == dir {
				return err
			}
		}
		return nil
	})
}

// relevant reports whether ev may change the resolved contracts, watching a
// directory that appeared.
func (cw *contractWatch) relevant(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	if filepath.Base(ev.Name) == contract.FileName || cw.files[ev.Name] {
		return true
	}
	if ev.Has(fsnotify.Create) {
		if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
			_ = cw.addTree(ev.Name)
			return true
		}
	}
	if (ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)) && cw.dirs[ev.Name] {
		delete(cw.dirs, ev.Name)
		return true
	}
	return false
}

func (cw *contractWatch) close() { _ = cw.w.Close() }
