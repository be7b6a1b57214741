package handler

import (
	"fmt"
	"strings"

	"github.com/onexhost/onex/diag/ruleid"
)

// RuleID identifies a rule of the catalog, e.g. CONTRACT-004. The package
// diag/ruleid spells every id, so a handler can compare an error's rule with a
// constant such as ruleid.DescriptorVersion.
type RuleID = ruleid.ID

// ValidationError is the one structured error of every validation path: contract
// parsing, descriptor validation, security, architecture and configuration. The
// package diag holds the rule catalog, the report and the renderers.
type ValidationError struct {
	ErrorType       ErrorType
	RuleID          RuleID
	HandlerIdentity string // handler_name, or "unknown@<file>"
	SourceType      SourceType
	Message         string
	RemediationHint string // never empty
	FilePath        string // when a file is involved
	Line, Column    int    // when known (1-based)
	Details         map[string]any
	CausedBy        *ValidationError
	Severity        Severity
}

// Error renders "file:line:col: [RULE] handler: message".
func (e *ValidationError) Error() string {
	var b strings.Builder
	if loc := e.Location(); loc != "" {
		b.WriteString(loc)
		b.WriteString(": ")
	}
	b.WriteString("[")
	b.WriteString(string(e.RuleID))
	b.WriteString("] ")
	if e.HandlerIdentity != "" {
		b.WriteString(e.HandlerIdentity)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Location renders file:line:col with the parts that are known, or "".
func (e *ValidationError) Location() string {
	if e.FilePath == "" {
		return ""
	}
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d", e.FilePath, e.Line, e.Column)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d", e.FilePath, e.Line)
	}
	return e.FilePath
}

// Unwrap exposes the cause to errors.Is/As.
func (e *ValidationError) Unwrap() error {
	if e.CausedBy == nil {
		return nil
	}
	return e.CausedBy
}

// Is matches another *ValidationError by rule id, so errors.Is(err,
// &ValidationError{RuleID: ruleid.ContractUnknownField}) finds a rule anywhere in a chain.
func (e *ValidationError) Is(target error) bool {
	t, ok := target.(*ValidationError)
	return ok && t.RuleID != "" && t.RuleID == e.RuleID
}

// Blocking reports whether the error refuses start.
func (e *ValidationError) Blocking() bool { return e.Severity.Blocking() }

// Location is a 1-based position of a key in a source file.
type Location struct {
	Line, Column int
}
