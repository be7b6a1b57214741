package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/onexhost/onex/contract"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/validate"
)

// ContractOptions tune the contract source.
type ContractOptions struct {
	// Logger receives the discovery record; nil discards it.
	Logger *slog.Logger
	// Workers decode and validate contracts in parallel; 0 means GOMAXPROCS.
	Workers int
	// ProgressInterval is how often a long discovery logs its progress
	// ("contract discovery progress", with done and total); 0 means every 2
	// seconds, a negative value never.
	ProgressInterval time.Duration
}

// defaultProgressInterval spaces the progress records of a long discovery.
const defaultProgressInterval = 2 * time.Second

// Contract is the filesystem source: every configured path is a contract file,
// taken as is, or a directory walked recursively for files named exactly
// handler_contract.yaml. Symbolic links are followed only when their target
// stays inside a configured root (CONTRACT-010 otherwise). Discovery is
// deterministic (sorted by path) and a malformed contract never stops the
// others.
//
// A handler_name declared by more than one contract is reported at every one of
// them (CONTRACT-008) and none of them is kept: the source cannot know which
// one was meant, and keeping the first would make the result depend on file
// names.
type Contract struct {
	paths []string
	opts  ContractOptions

	mu    sync.Mutex
	stats Stats
}

var (
	_ HandlerSource = (*Contract)(nil)
	_ StatsReporter = (*Contract)(nil)
)

// NewContract returns the contract source for paths (files or directories).
func NewContract(paths []string, opts ContractOptions) *Contract {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.ProgressInterval == 0 {
		opts.ProgressInterval = defaultProgressInterval
	}
	return &Contract{paths: slices.Clone(paths), opts: opts}
}

// SourceType is contract.
func (s *Contract) SourceType() handler.SourceType { return handler.SourceContract }

// Paths returns the configured contract paths.
func (s *Contract) Paths() []string { return slices.Clone(s.paths) }

// Discover finds, decodes and validates every contract, and returns the clean
// descriptors (sorted by path) and every error. err is non-nil only when ctx
// ends.
func (s *Contract) Discover(ctx context.Context) ([]*handler.Descriptor, []*diag.ValidationError, error) {
	start := time.Now()
	files, errs := s.find(ctx)
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	results, err := s.load(ctx, files)
	if err != nil {
		return nil, nil, err
	}
	dupErrs := duplicates(results)
	failed := len(errs)
	var descs []*handler.Descriptor
	for _, r := range results {
		errs = append(errs, r.errs...)
		if len(r.errs) > 0 || r.duplicate {
			failed++
			continue
		}
		descs = append(descs, r.desc)
	}
	errs = append(errs, dupErrs...)

	elapsed := time.Since(start)
	s.mu.Lock()
	s.stats = Stats{
		"discovered_contract_count": len(files),
		"validation_failure_count":  failed,
		"duration_ms":               elapsed.Milliseconds(),
	}
	s.mu.Unlock()
	s.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "contracts discovered",
		slog.Int("discovered_contract_count", len(files)),
		slog.Int("validation_failure_count", failed),
		slog.Int64("duration_ms", elapsed.Milliseconds()))
	return descs, errs, nil
}

// Stats reports discovered_contract_count (contract files found),
// validation_failure_count (contract files and paths that failed) and
// duration_ms of the last Discover.
func (s *Contract) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneStats(s.stats)
}

// root is a configured path with its symlink-free absolute form.
type root struct {
	shown string // as configured
	real  string // absolute, symlinks resolved
}

// find walks the configured paths and returns the contract files, sorted by the
// path shown to users and without duplicates (the same file reached twice),
// and the discovery errors.
func (s *Contract) find(ctx context.Context) ([]string, []*diag.ValidationError) {
	var (
		roots []root
		errs  []*diag.ValidationError
	)
	for _, p := range s.paths {
		real, err := realPath(p)
		if err != nil {
			errs = append(errs, discoveryError("CONTRACT-007", p, "contract path %s cannot be read: %v", p, trimPathErr(err)))
			continue
		}
		roots = append(roots, root{shown: p, real: real})
	}
	w := &walker{ctx: ctx, roots: roots, seen: map[string]bool{}, visitedDirs: map[string]bool{}}
	for _, r := range roots {
		fi, err := os.Stat(r.real)
		if err != nil {
			errs = append(errs, discoveryError("CONTRACT-007", r.shown, "contract path %s cannot be read: %v", r.shown, trimPathErr(err)))
			continue
		}
		if !fi.IsDir() {
			// A configured file is taken as is, whatever its name; ReadFile
			// refuses what is not a regular file.
			w.addFile(r.shown, r.real)
			continue
		}
		w.walkDir(r.shown, r.real)
	}
	errs = append(errs, w.errs...)
	sort.Slice(w.files, func(i, j int) bool { return w.files[i] < w.files[j] })
	return w.files, errs
}

type walker struct {
	ctx         context.Context
	roots       []root
	files       []string
	errs        []*diag.ValidationError
	seen        map[string]bool // real paths of files already taken
	visitedDirs map[string]bool // real paths of directories walked (symlink loops)
}

func (w *walker) addFile(shown, real string) {
	if w.seen[real] {
		return
	}
	w.seen[real] = true
	w.files = append(w.files, shown)
}

// walkDir walks the directory real, showing paths under shown.
func (w *walker) walkDir(shown, real string) {
	if w.visitedDirs[real] {
		return
	}
	w.visitedDirs[real] = true
	w.walk(filepath.Clean(shown), real)
}

// walk reads the directory real (shown as display) and everything under it.
// The entry types come from the directory itself: only symbolic links cost a
// stat. Paths are joined by hand: both sides are clean already.
func (w *walker) walk(display, real string) {
	if w.ctx.Err() != nil {
		return
	}
	entries, err := os.ReadDir(real)
	if err != nil {
		w.errs = append(w.errs, discoveryError("CONTRACT-007", display, "cannot read %s: %v", display, trimPathErr(err)))
		return
	}
	for _, de := range entries {
		name := de.Name()
		switch t := de.Type(); {
		case t.IsDir():
			sub := joinClean(real, name)
			w.visitedDirs[sub] = true
			w.walk(joinClean(display, name), sub)
		case t&fs.ModeSymlink != 0:
			w.symlink(joinClean(display, name), joinClean(real, name), name)
		case name == contract.FileName:
			w.addFile(joinClean(display, name), joinClean(real, name))
		}
	}
}

// joinClean is filepath.Join for a clean dir and a name read from it.
func joinClean(dir, name string) string {
	switch {
	case dir == ".":
		return name
	case strings.HasSuffix(dir, string(filepath.Separator)):
		return dir + name
	}
	return dir + string(filepath.Separator) + name
}

// symlink follows a link found while walking, when its target stays inside a
// configured root.
func (w *walker) symlink(display, p, name string) {
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		if name == contract.FileName {
			w.errs = append(w.errs, discoveryError("CONTRACT-007", display, "cannot read %s: the link's target is missing or unreadable (%v)", display, trimPathErr(err)))
		}
		return // a dangling link that is not a contract is not our business
	}
	fi, err := os.Stat(target)
	if err != nil {
		if name == contract.FileName {
			w.errs = append(w.errs, discoveryError("CONTRACT-007", display, "cannot read %s: %v", display, trimPathErr(err)))
		}
		return
	}
	if !fi.IsDir() && name != contract.FileName {
		return // links to other files are never read
	}
	if !w.inside(target) {
		e := discoveryError("CONTRACT-010", display, "symlink %s points to %s, outside the contract roots", display, target)
		e.Details = map[string]any{"link": display, "target": target, "roots": w.rootNames()}
		w.errs = append(w.errs, e)
		return
	}
	if fi.IsDir() {
		w.walkDir(display, target)
		return
	}
	w.addFile(display, target)
}

func (w *walker) inside(target string) bool {
	for _, r := range w.roots {
		if target == r.real || strings.HasPrefix(target, r.real+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

func (w *walker) rootNames() []string {
	out := make([]string, len(w.roots))
	for i, r := range w.roots {
		out[i] = r.shown
	}
	return out
}

func realPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

func trimPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func discoveryError(rule diag.RuleID, path, format string, args ...any) *diag.ValidationError {
	e := diag.New(rule, format, args...)
	e.HandlerIdentity = "unknown@" + path
	e.SourceType = handler.SourceContract
	e.FilePath = path
	return e
}

type loaded struct {
	path      string
	desc      *handler.Descriptor // when the contract decoded, valid or not
	errs      []*diag.ValidationError
	duplicate bool // another contract declares the same handler_name
}

// load decodes and validates files on the worker pool, keeping the input order.
func (s *Contract) load(ctx context.Context, files []string) ([]loaded, error) {
	results := make([]loaded, len(files))
	workers := min(s.opts.Workers, len(files))
	last := time.Now()
	report, _ := ctx.Value(progressKey{}).(Progress)
	progress := func(done int) {
		if report != nil {
			report(max(done, 0), len(files))
		}
		if s.opts.ProgressInterval > 0 && time.Since(last) >= s.opts.ProgressInterval {
			last = time.Now()
			s.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "contract discovery progress",
				slog.Int("done", max(done, 0)), slog.Int("total", len(files)))
		}
	}
	if workers <= 1 {
		for i, f := range files {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			results[i] = loadOne(f)
			progress(i + 1)
		}
		return results, nil
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				results[i] = loadOne(files[i])
			}
		})
	}
	var err error
feed:
	for i := range files {
		select {
		case next <- i:
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
		progress(i + 1 - workers) // dispatched, less those still in flight
	}
	close(next)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if report != nil {
		report(len(files), len(files))
	}
	return results, nil
}

// loadOne reads, decodes, transforms and validates one contract file.
func loadOne(path string) loaded {
	d, errs := contract.LoadDescriptor(path)
	if len(errs) > 0 {
		return loaded{path: path, errs: errs}
	}
	return loaded{path: path, desc: d, errs: validate.Descriptor(d)}
}

// duplicates reports a CONTRACT-008 at every contract whose handler_name another
// contract of the source declares too (whether or not either is otherwise
// valid), and marks each of them failed so none is kept.
func duplicates(results []loaded) []*diag.ValidationError {
	byName := map[string][]int{}
	for i, r := range results {
		if r.desc != nil {
			byName[r.desc.Name] = append(byName[r.desc.Name], i)
		}
	}
	var errs []*diag.ValidationError
	for i := range results {
		r := &results[i]
		if r.desc == nil || len(byName[r.desc.Name]) < 2 {
			continue
		}
		name, same := r.desc.Name, byName[r.desc.Name]
		var all, others []string
		for _, j := range same {
			all = append(all, results[j].path)
			if j != i {
				others = append(others, results[j].path)
			}
		}
		e := diag.New("CONTRACT-008", "handler_name %q is also declared by %s", name, strings.Join(others, ", "))
		e.Details = map[string]any{"handler_name": name, "declared_by": all}
		e.RemediationHint = fmt.Sprintf("give every handler a unique handler_identity.name: %d contracts declare %q, and none of them is registered until only one does", len(same), name)
		errs = append(errs, validate.At(r.desc, "handler_name", e))
		r.duplicate = true
	}
	return errs
}
