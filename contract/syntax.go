package contract

import (
	"errors"

	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/yamldoc"
)

// loadOptions bound the nesting the YAML loader accepts (its own default is
// 10 000 levels).
var loadOptions = yamldoc.MaxNesting(MaxNesting)

// syntaxError reports (CONTRACT-001) a document the loader refused, at the
// line and column yamldoc places it: where an editor shows the mistake.
func (d *decoder) syntaxError(err error) {
	var se *yamldoc.SyntaxError
	if !errors.As(err, &se) {
		d.add(handler.Location{Line: 1, Column: 1}, ruleid.ContractSyntax, "", "YAML syntax error: %v", err)
		return
	}
	at := handler.Location{Line: se.Line, Column: se.Column}
	if se.TooDeep {
		d.add(at, ruleid.ContractSyntax, "", "%s", se.Message)
		return
	}
	d.add(at, ruleid.ContractSyntax, "", "YAML syntax error: %s", se.Message)
}
