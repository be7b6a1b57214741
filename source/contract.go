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
	"strings"
	"sync"
	"time"

	"github.com/onexhost/onex/contract"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/diag/ruleid"
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
	l := s.newLoader(ctx)
	errs := s.find(ctx, l.add, l.poll)
	results, err := l.finish()
	if err != nil {
		return nil, nil, err
	}
	descs, errs, failed := collect(results, errs)

	elapsed := time.Since(start)
	s.mu.Lock()
	s.stats = Stats{
		"discovered_contract_count": len(results),
		"validation_failure_count":  failed,
		"duration_ms":               elapsed.Milliseconds(),
	}
	s.mu.Unlock()
	s.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "contracts discovered",
		slog.Int("discovered_contract_count", len(results)),
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

// find walks the configured paths, hands every contract file to found (once,
// by the path shown to users, even when reached twice) and calls tick at every
// directory; it returns the discovery errors.
func (s *Contract) find(ctx context.Context, found func(path string), tick func()) []*diag.ValidationError {
	var (
		roots []root
		errs  []*diag.ValidationError
	)
	for _, p := range s.paths {
		real, err := realPath(p)
		if err != nil {
			errs = append(errs, unreadableRoot(p, err))
			continue
		}
		roots = append(roots, root{shown: p, real: real})
	}
	w := &walker{ctx: ctx, roots: roots, found: found, tick: tick, seen: map[string]bool{}, visitedDirs: map[string]bool{}}
	for _, r := range roots {
		fi, err := os.Stat(r.real)
		if err != nil {
			errs = append(errs, unreadableRoot(r.shown, err))
			continue
		}
		if !fi.IsDir() {
			// A configured file is taken as is, whatever its name; ReadFile
			// refuses what is not a regular file.
			w.addFile(r.shown, r.real)
			continue
		}
		w.reached = 0
		errsBefore := len(w.errs)
		walked := w.walkDir(r.shown, r.real)
		// A directory asked for that holds no contract is a mistake (a wrong
		// or empty path), never a host with nothing to do; one that failed
		// to read is already reported, once.
		if w.ctx.Err() == nil && len(w.errs) == errsBefore && w.reached == 0 && (walked || !w.seenUnder(r.real)) {
			errs = append(errs, noContractError(r.shown))
		}
	}
	return append(errs, w.errs...)
}

// noContractError is CONTRACT-020 for a configured directory under which no
// contract file was found.
func noContractError(path string) *diag.ValidationError {
	e := discoveryError(ruleid.ContractNoneFound, path, "no %s found under %s (searched recursively)", contract.FileName, path)
	e.Details = map[string]any{"path": path, "file_name": contract.FileName}
	return e
}

// unreadableRoot is CONTRACT-007 for a configured path that cannot be read.
func unreadableRoot(path string, err error) *diag.ValidationError {
	e := discoveryError(ruleid.ContractUnreadable, path, "contract path %s cannot be read: %v", path, trimPathErr(err))
	if errors.Is(err, fs.ErrNotExist) {
		e.RemediationHint = missingPathHint
	}
	return e
}

// missingPathHint replaces CONTRACT-007's hint for a configured path that does
// not exist, where the file-size advice would mislead.
const missingPathHint = "check the path: give an existing contract file or a directory holding " + contract.FileName +
	" files (contract_paths in onex.yaml are relative to that file; --contracts and arguments to the working directory)"

type walker struct {
	ctx         context.Context
	roots       []root
	found       func(path string)
	tick        func()
	errs        []*diag.ValidationError
	seen        map[string]bool // real paths of files already taken
	visitedDirs map[string]bool // real paths of directories walked (symlink loops)
	reached     int             // contract files reached from the root being walked, taken before or not
}

func (w *walker) addFile(shown, real string) {
	w.reached++
	if w.seen[real] {
		return
	}
	w.seen[real] = true
	w.found(shown)
}

// walkDir walks the directory real, showing paths under shown; it reports
// false when the directory was walked already.
func (w *walker) walkDir(shown, real string) bool {
	if w.visitedDirs[real] {
		return false
	}
	w.visitedDirs[real] = true
	w.walk(filepath.Clean(shown), real)
	return true
}

// seenUnder reports whether a contract file already taken lies under the
// directory dir: a root nested in another root was walked as part of it.
func (w *walker) seenUnder(dir string) bool {
	prefix := dir + string(filepath.Separator)
	for p := range w.seen {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// walk reads the directory real (shown as display) and everything under it.
// The entry types come from the directory itself: only symbolic links cost a
// stat. Paths are joined by hand: both sides are clean already, and when
// they are the same (a root configured absolute, without links) one string
// serves as both.
func (w *walker) walk(display, real string) {
	if w.ctx.Err() != nil {
		return
	}
	w.tick()
	entries, err := os.ReadDir(real) // sorted by name
	if err != nil {
		w.errs = append(w.errs, discoveryError(ruleid.ContractUnreadable, display, "cannot read %s: %v", display, trimPathErr(err)))
		return
	}
	same := display == real
	join := func(name string) (shown, sub string) {
		sub = joinClean(real, name)
		if same {
			return sub, sub
		}
		return joinClean(display, name), sub
	}
	for _, de := range entries {
		name := de.Name()
		switch {
		case de.IsDir():
			shown, sub := join(name)
			w.visitedDirs[sub] = true
			w.walk(shown, sub)
		case de.Type()&fs.ModeSymlink != 0:
			shown, sub := join(name)
			w.symlink(shown, sub, name)
		case name == contract.FileName:
			w.addFile(join(name))
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
			w.errs = append(w.errs, discoveryError(ruleid.ContractUnreadable, display, "cannot read %s: the link's target is missing or unreadable (%v)", display, trimPathErr(err)))
		}
		return // a dangling link that is not a contract is not our business
	}
	fi, err := os.Stat(target)
	if err != nil {
		if name == contract.FileName {
			w.errs = append(w.errs, discoveryError(ruleid.ContractUnreadable, display, "cannot read %s: %v", display, trimPathErr(err)))
		}
		return
	}
	if !fi.IsDir() && name != contract.FileName {
		return // links to other files are never read
	}
	if !w.inside(target) {
		e := discoveryError(ruleid.ContractSymlinkEscape, display, "symlink %s points to %s, outside the contract roots", display, target)
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

// collect splits loaded contracts into the descriptors of the valid ones and
// the errors of all (after errs, which the search found, and before the
// duplicate names), and counts the contracts that failed: the errs found and
// the loaded contracts with an error or a duplicate name.
func collect(results []loaded, errs []*diag.ValidationError) ([]*handler.Descriptor, []*diag.ValidationError, int) {
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
	return descs, append(errs, dupErrs...), failed
}

type loaded struct {
	path      string
	desc      *handler.Descriptor // when the contract decoded, valid or not
	errs      []*diag.ValidationError
	duplicate bool // another contract declares the same handler_name
}

// loader decodes and validates the contract files on the worker pool while
// the walk that finds them goes on in the goroutine of Discover: the walk is
// sequential, and with the workers beside it every core has work from the
// first file found.
type loader struct {
	ctx      context.Context
	workers  int
	jobs     chan string
	out      chan loaded
	wg       sync.WaitGroup
	pending  []string // the files found, in the order found
	next     int      // pending[:next] are handed to the workers
	results  []loaded
	progress func(done, total int)
}

func (s *Contract) newLoader(ctx context.Context) *loader {
	l := &loader{ctx: ctx, workers: s.opts.Workers}
	last := time.Now()
	report, _ := ctx.Value(progressKey{}).(Progress)
	l.progress = func(done, total int) {
		if report != nil {
			report(done, total)
		}
		if s.opts.ProgressInterval > 0 && time.Since(last) >= s.opts.ProgressInterval {
			last = time.Now()
			s.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "contract discovery progress",
				slog.Int("done", done), slog.Int("total", total))
		}
	}
	if l.workers > 1 {
		// Buffers of one item per worker: a worker rarely waits for the
		// walk to take its result or to hand it the next file.
		l.jobs = make(chan string, l.workers)
		l.out = make(chan loaded, l.workers)
		for range l.workers {
			l.wg.Go(func() {
				for path := range l.jobs {
					l.out <- loadOne(path)
				}
			})
		}
	}
	return l
}

// add takes a file found by the walk.
func (l *loader) add(path string) {
	l.pending = append(l.pending, path)
	l.poll()
}

// poll hands files to the workers that can take one and collects the results
// ready, without waiting: the walk calls it between directories.
func (l *loader) poll() {
	if l.jobs == nil {
		return
	}
	for {
		var jobs chan<- string
		var path string
		if l.next < len(l.pending) {
			jobs, path = l.jobs, l.pending[l.next]
		}
		select {
		case jobs <- path:
			l.next++
		case r := <-l.out:
			l.results = append(l.results, r)
		default:
			return
		}
	}
}

// finish loads the files not loaded yet, reporting the progress now that the
// total is known, and returns every result sorted by path. It stops handing
// out files when ctx ends, and returns once the workers are done.
func (l *loader) finish() ([]loaded, error) {
	total := len(l.pending)
	if l.jobs == nil {
		slices.Sort(l.pending)
		l.results = slices.Grow(l.results, total)
		for i, path := range l.pending {
			if err := l.ctx.Err(); err != nil {
				return nil, err
			}
			l.results = append(l.results, loadOne(path))
			l.progress(i+1, total)
		}
		if err := l.ctx.Err(); err != nil {
			return nil, err
		}
		return l.results, nil
	}
	if total > 0 {
		l.progress(len(l.results), total)
	}
	l.results = slices.Grow(l.results, total-len(l.results))
	done, stopped := l.ctx.Done(), false
	for {
		var jobs chan<- string
		var path string
		if l.next < total && !stopped {
			jobs, path = l.jobs, l.pending[l.next]
		} else if len(l.results) == l.next {
			break
		}
		select {
		case jobs <- path:
			l.next++
		case r := <-l.out:
			l.results = append(l.results, r)
			l.progress(len(l.results), total)
		case <-done:
			// Hand out nothing more; take the results in flight.
			done, stopped = nil, true
		}
	}
	close(l.jobs)
	l.wg.Wait()
	if err := l.ctx.Err(); err != nil {
		return nil, err
	}
	if total > 0 {
		l.progress(total, total) // the last word, whether or not results came after the walk
	}
	slices.SortStableFunc(l.results, func(a, b loaded) int { return strings.Compare(a.path, b.path) })
	return l.results, nil
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
	// Names are nearly always unique: count them, and list the contracts of
	// a name only for the names declared twice.
	count := make(map[string]int, len(results))
	dup := false
	for _, r := range results {
		if r.desc != nil {
			n := count[r.desc.Name] + 1
			count[r.desc.Name] = n
			dup = dup || n > 1
		}
	}
	if !dup {
		return nil
	}
	byName := map[string][]int{}
	for i, r := range results {
		if r.desc != nil && count[r.desc.Name] > 1 {
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
		e := diag.New(ruleid.ContractDuplicateName, "handler_name %q is also declared by %s", name, strings.Join(others, ", "))
		e.Details = map[string]any{"handler_name": name, "declared_by": all}
		e.RemediationHint = fmt.Sprintf("give every handler a unique handler_identity.name: %d contracts declare %q, and none of them is registered until only one does", len(same), name)
		errs = append(errs, validate.At(r.desc, "handler_name", e))
		r.duplicate = true
	}
	return errs
}
