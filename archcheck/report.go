package archcheck

import (
	"fmt"
	"go/token"
	"regexp"

	"golang.org/x/tools/go/analysis"

	"github.com/onexhost/onex/diag/ruleid"
)

// report emits a diagnostic in the one format every analyzer uses,
// "[RULE] message. Remediation: hint", which reads well in `go vet` output and
// which Vet parses back into a diag.ValidationError. The rule id is also the
// diagnostic's Category.
func report(pass *analysis.Pass, pos token.Pos, rule ruleid.ID, hint, format string, args ...any) {
	pass.Report(analysis.Diagnostic{
		Pos:      pos,
		Category: string(rule),
		Message:  fmt.Sprintf("[%s] %s. Remediation: %s", rule, fmt.Sprintf(format, args...), hint),
	})
}

var messageRE = regexp.MustCompile(`(?s)^\[(ARCH-\d+)\] (.*)\. Remediation: (.*)$`)

// Finding is a diagnostic message of the analyzers split into its parts.
type Finding struct {
	Rule    ruleid.ID // e.g. ARCH-004
	Message string    // what is wrong, without the rule id
	Hint    string    // how to fix it
}

// ParseMessage splits a diagnostic message produced by the analyzers of this
// package; ok is false for any other message.
func ParseMessage(msg string) (f Finding, ok bool) {
	m := messageRE.FindStringSubmatch(msg)
	if m == nil {
		return Finding{}, false
	}
	return Finding{Rule: ruleid.ID(m[1]), Message: m[2], Hint: m[3]}, true
}
