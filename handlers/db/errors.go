package db

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/onexhost/onex/handler"
)

// retryableClasses are the SQLSTATE classes of failures that may pass when
// retried: connection exception (08), insufficient resources (53), operator
// intervention (57, statement timeout and admin shutdown included), system
// error (58), and transaction rollback (40: serialization failure, deadlock),
// which PostgreSQL documents as the ones to retry. Every other class —
// data exception (22), integrity violation (23), invalid authorization (28),
// syntax error or access rule violation (42), … — is permanent.
var retryableClasses = map[string]bool{"08": true, "53": true, "57": true, "58": true, "40": true}

// mapError turns a pgx error into the handler's structured error. prefix is the
// payload path of the statement ("" or "statements[2].").
func mapError(err error, prefix string) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err // the runtime answers a timeout or a cancellation itself
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pgError(pe, prefix)
	}
	var ve *handler.ValidationError
	if errors.As(err, &ve) {
		return denied(ve, err)
	}
	var he *handler.Error
	if errors.As(err, &he) {
		return he
	}
	if isConnectionError(err) {
		e := handler.Transient(err, "database connection failed: %s", sanitizeConnectError(err))
		e.Details = map[string]any{"retryable_reason": "connection"}
		return e
	}
	return handler.Failed(err, "database error: %v", err)
}

// sqlstateSyntaxError is SQLSTATE 42601, syntax_error.
const sqlstateSyntaxError = "42601"

// parseRoutine is the server routine that parses a statement of the
// extended protocol; the only syntax error it raises itself is for an sql
// holding more than one statement, which the protocol cannot prepare.
const parseRoutine = "exec_parse_message"

func pgError(pe *pgconn.PgError, prefix string) *handler.Error {
	if pe.Code == sqlstateSyntaxError && pe.Routine == parseRoutine {
		e := handler.InvalidPayload(prefix+"sql", "more than one statement: each sql holds one (the server: %s, SQLSTATE %s)", pe.Message, pe.Code)
		e.Err = pe
		e.Hint = "send the statements as the statements of a transaction, one sql each"
		e.Details = map[string]any{"sqlstate": pe.Code}
		return e
	}
	class := ""
	if len(pe.Code) >= 2 {
		class = pe.Code[:2]
	}
	e := &handler.Error{
		Kind:      handler.KindFailed,
		Message:   fmt.Sprintf("%s (SQLSTATE %s)", pe.Message, pe.Code),
		Retryable: retryableClasses[class],
		Hint:      pe.Hint,
		Err:       pe,
		// Detail is left out: it can quote row values (of any classification).
		Details: map[string]any{"sqlstate": pe.Code, "sqlstate_class": class, "severity": pe.Severity},
	}
	for k, v := range map[string]string{"schema": pe.SchemaName, "table": pe.TableName, "column": pe.ColumnName, "constraint": pe.ConstraintName} {
		if v != "" {
			e.Details[k] = v
		}
	}
	if pe.Position > 0 {
		e.Details["position"] = pe.Position
	}
	if class == "42" {
		e.Field = prefix + "sql"
	}
	if e.Hint == "" {
		switch {
		case e.Retryable:
			e.Hint = "a transient database condition: retry the envelope"
		case class == "42":
			e.Hint = "fix the sql: a syntax error, an unknown object or missing privileges"
		case class == "23":
			e.Hint = "the data violates a constraint of the table"
		case class == "22":
			e.Hint = "a parameter or value does not fit its column type"
		case class == "28":
			e.Hint = "check the credentials in the DSN secret"
		default:
			e.Hint = "look the SQLSTATE up in the PostgreSQL error codes appendix"
		}
	}
	return e
}

// denied reports an egress-policy refusal found in err's chain.
func denied(ve *handler.ValidationError, err error) *handler.Error {
	return &handler.Error{
		Kind:    handler.KindFailed,
		Message: ve.Message,
		Hint:    ve.RemediationHint,
		Err:     err,
		Details: map[string]any{"rule_id": string(ve.RuleID)},
	}
}

func isConnectionError(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

// cleanError shows a connection failure without the connection string: pgx's
// messages name the user, database and host the DSN holds.
type cleanError struct {
	msg string
	err error
}

func (e *cleanError) Error() string { return e.msg }
func (e *cleanError) Unwrap() error { return e.err }

// sanitizeConnectError keeps err's chain (for errors.Is/As) but replaces its
// text by the innermost cause: a server error, a policy refusal or a network
// error, never the DSN.
func sanitizeConnectError(err error) error {
	var pe *pgconn.PgError
	var ve *handler.ValidationError
	var op *net.OpError
	var dns *net.DNSError
	switch {
	case errors.As(err, &pe):
		return &cleanError{msg: fmt.Sprintf("server: %s (SQLSTATE %s)", pe.Message, pe.Code), err: err}
	case errors.As(err, &ve):
		return &cleanError{msg: ve.Error(), err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &cleanError{msg: "timed out", err: err}
	case errors.As(err, &dns):
		return &cleanError{msg: "lookup " + dns.Name + ": " + dns.Err, err: err}
	case errors.As(err, &op):
		return &cleanError{msg: op.Op + " " + op.Net + ": " + op.Err.Error(), err: err}
	}
	inner := err
	for {
		next := errors.Unwrap(inner)
		if next == nil {
			break
		}
		inner = next
	}
	var ce *pgconn.ConnectError
	if errors.As(inner, &ce) || inner == err {
		return &cleanError{msg: "connection failed", err: err}
	}
	return &cleanError{msg: inner.Error(), err: err}
}
