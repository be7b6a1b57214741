package contract

import (
	"errors"
	"strings"

	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
	"go.yaml.in/yaml/v4"

	"github.com/onexhost/onex/handler"
)

// syntaxError reports (CONTRACT-001) a document that go.yaml.in/yaml refused.
// Such files are rare and already failing, so they are parsed a second time
// with goccy/go-yaml, whose errors point at the offending token more often
// (an unterminated quote at its opening quote, a tab at its column), at the
// positions onex has always reported. When goccy accepts the file, the
// loader's own error and mark are reported.
func (d *decoder) syntaxError(data []byte, loadErr error) {
	if d.goccyError(data) {
		return
	}
	at := handler.Location{Line: 1, Column: 1}
	msg := loadErr.Error()
	var le *yaml.LoadError
	if errors.As(loadErr, &le) {
		msg = le.Message
		if le.ContextMsg != "" {
			msg = le.ContextMsg + ": " + msg
		}
		if le.Mark.Line > 0 {
			at = handler.Location{Line: le.Mark.Line, Column: max(le.Mark.Column, 1)}
		}
		if le.Message == errTooDeep.Error() {
			d.add(at, "CONTRACT-001", "", "%s", le.Message)
			return
		}
	}
	d.add(at, "CONTRACT-001", "", "YAML syntax error: %s", strings.TrimPrefix(msg, "yaml: "))
}

// goccyError parses data with goccy/go-yaml and reports what it finds wrong:
// nesting over MaxNesting, a syntax error, or an alias to no anchor defined
// before it. It reports whether it found anything.
func (d *decoder) goccyError(data []byte) (found bool) {
	defer func() {
		if r := recover(); r != nil {
			d.add(handler.Location{Line: 1, Column: 1}, "CONTRACT-001", "", "the YAML parser failed on this file: %v", r)
			found = true
		}
	}()
	tokens := lexer.Tokenize(string(data))
	if tok := tooDeep(tokens); tok != nil {
		d.add(tokenLocation(tok), "CONTRACT-001", "", "YAML nesting deeper than %d levels", MaxNesting)
		return true
	}
	if _, err := parser.Parse(tokens, 0); err != nil {
		d.add(tokenLocation(errToken(err)), "CONTRACT-001", "", "YAML syntax error: %s", errMessage(err))
		return true
	}
	anchors := map[string]bool{}
	for i, tk := range tokens {
		if tk.Type != token.AnchorType && tk.Type != token.AliasType {
			continue
		}
		name := ""
		if i+1 < len(tokens) {
			name = tokens[i+1].Value
		}
		if tk.Type == token.AnchorType {
			anchors[name] = true
			continue
		}
		if !anchors[name] {
			d.add(tokenLocation(tk), "CONTRACT-001", "define the anchor (&"+name+") before the alias that refers to it",
				"alias *%s refers to no anchor defined before it", name)
			return true
		}
	}
	return false
}

// tooDeep reports the token at which flow collections nest, or block collections
// open on one line, beyond MaxNesting.
func tooDeep(tokens token.Tokens) *token.Token {
	flow, line, onLine := 0, 0, 0
	for _, tk := range tokens {
		switch tk.Type {
		case token.SequenceStartType, token.MappingStartType:
			flow++
			if flow > MaxNesting {
				return tk
			}
		case token.SequenceEndType, token.MappingEndType:
			flow--
		case token.SequenceEntryType, token.MappingKeyType, token.MappingValueType:
			if tk.Position == nil {
				continue
			}
			if tk.Position.Line != line {
				line, onLine = tk.Position.Line, 0
			}
			onLine++
			if onLine > MaxNesting {
				return tk
			}
		}
	}
	return nil
}

func tokenLocation(tok *token.Token) handler.Location {
	if tok == nil || tok.Position == nil {
		return handler.Location{Line: 1, Column: 1}
	}
	return handler.Location{Line: tok.Position.Line, Column: tok.Position.Column}
}

func errToken(err error) *token.Token {
	var te interface{ GetToken() *token.Token }
	if errors.As(err, &te) {
		return te.GetToken()
	}
	return nil
}

func errMessage(err error) string {
	var me interface{ GetMessage() string }
	if errors.As(err, &me) {
		return me.GetMessage()
	}
	return err.Error()
}
