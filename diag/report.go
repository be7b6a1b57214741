package diag

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/onexhost/onex/handler"
)

// Report aggregates diagnostics: validation collects everything, never stopping at
// the first error, and the caller decides what blocks.
type Report struct {
	Diagnostics []*ValidationError
}

// Add appends diagnostics, skipping nils.
func (r *Report) Add(errs ...*ValidationError) {
	for _, e := range errs {
		if e != nil {
			r.Diagnostics = append(r.Diagnostics, e)
		}
	}
}

// Merge appends every diagnostic of other.
func (r *Report) Merge(other *Report) {
	if other != nil {
		r.Add(other.Diagnostics...)
	}
}

// Len is the number of diagnostics.
func (r *Report) Len() int { return len(r.Diagnostics) }

// Blocking reports whether any diagnostic refuses start.
func (r *Report) Blocking() bool {
	for _, e := range r.Diagnostics {
		if e.Blocking() {
			return true
		}
	}
	return false
}

// Summary counts of a report.
type Summary struct {
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
	Infos    int `json:"infos,omitempty"`
	Files    int `json:"files"`
}

// Summary counts diagnostics by severity and the distinct files involved.
func (r *Report) Summary() Summary {
	var s Summary
	files := map[string]bool{}
	for _, e := range r.Diagnostics {
		switch e.Severity {
		case handler.SeverityWarning:
			s.Warnings++
		case handler.SeverityInfo:
			s.Infos++
		default:
			s.Errors++
		}
		if e.FilePath != "" {
			files[e.FilePath] = true
		}
	}
	s.Files = len(files)
	return s
}

// String renders the one-line summary, e.g. "3 errors, 1 warning in 2 files".
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %s", plural(s.Errors, "error"), plural(s.Warnings, "warning"))
	if s.Infos > 0 {
		fmt.Fprintf(&b, ", %s", plural(s.Infos, "info"))
	}
	if s.Files > 0 {
		fmt.Fprintf(&b, " in %s", plural(s.Files, "file"))
	}
	return b.String()
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// Sort orders diagnostics by file, line, column, rule id, handler and message,
// so output is deterministic.
func (r *Report) Sort() {
	slices.SortStableFunc(r.Diagnostics, compareDiagnostics)
}

func compareDiagnostics(a, b *ValidationError) int {
	return cmp.Or(
		strings.Compare(a.FilePath, b.FilePath),
		cmp.Compare(a.Line, b.Line),
		cmp.Compare(a.Column, b.Column),
		CompareRuleIDs(a.RuleID, b.RuleID),
		strings.Compare(a.HandlerIdentity, b.HandlerIdentity),
		strings.Compare(a.Message, b.Message),
	)
}

// Err returns a *ReportError when the report blocks, else nil.
func (r *Report) Err() error {
	if !r.Blocking() {
		return nil
	}
	return &ReportError{Report: r}
}

// ReportError is a blocking report used as an error value.
type ReportError struct {
	Report *Report
}

func (e *ReportError) Error() string {
	var first string
	for _, d := range e.Report.Diagnostics {
		if d.Blocking() {
			first = d.Error()
			break
		}
	}
	return fmt.Sprintf("validation failed: %s (first: %s)", e.Report.Summary(), first)
}
