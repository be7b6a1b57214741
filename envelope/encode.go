package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/google/uuid"

	"github.com/onexhost/onex/internal/rawjson"
	"github.com/onexhost/onex/internal/resultjson"
)

// AppendResponse appends r as one line of JSON (without newline) to dst. The
// field order is fixed: envelope_id, correlation_id, in_reply_to, operation,
// handler, success, status, result (success only; null when empty), error
// (failure only), duration_us. Result must be valid JSON (see AppendResult).
func AppendResponse(dst []byte, r *Response) []byte {
	dst = append(dst, `{"envelope_id":`...)
	dst = AppendString(dst, r.EnvelopeID)
	return appendResponseRest(dst, r)
}

// AppendResponseID is AppendResponse with envelope_id id (r.EnvelopeID is not
// used), so a fresh id costs no string.
func AppendResponseID(dst []byte, id uuid.UUID, r *Response) []byte {
	dst = append(dst, `{"envelope_id":"`...)
	dst = AppendUUID(dst, id)
	dst = append(dst, '"')
	return appendResponseRest(dst, r)
}

// RouteFields encodes the route of a response once, for AppendSuccess: the
// operation and handler fields as AppendResponse writes them, with their
// leading comma.
func RouteFields(operation, handler string) []byte {
	var dst []byte
	if operation != "" {
		dst = append(dst, `,"operation":`...)
		dst = AppendString(dst, operation)
	}
	if handler != "" {
		dst = append(dst, `,"handler":`...)
		dst = AppendString(dst, handler)
	}
	return dst
}

// AppendSuccess appends the success response that AppendResponseID writes for
// id and Response{CorrelationID: correlationID, InReplyTo: inReplyTo, the
// route of route (from RouteFields), Success: true, Result: result,
// DurationUS: durationUS}, without escaping: correlationID and inReplyTo must
// be UUIDs in canonical form (as AppendUUID writes them, so JSON-safe) and
// result valid JSON (see AppendResult).
func AppendSuccess(dst []byte, id uuid.UUID, correlationID, inReplyTo string, route, result []byte, durationUS int64) []byte {
	dst = append(dst, `{"envelope_id":"`...)
	dst = AppendUUID(dst, id)
	dst = append(dst, `","correlation_id":"`...)
	dst = append(dst, correlationID...)
	dst = append(dst, `","in_reply_to":"`...)
	dst = append(dst, inReplyTo...)
	dst = append(dst, '"')
	dst = append(dst, route...)
	dst = append(dst, `,"success":true,"status":"success","result":`...)
	if len(result) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, result...)
	}
	dst = append(dst, `,"duration_us":`...)
	dst = strconv.AppendInt(dst, durationUS, 10)
	return append(dst, '}')
}

func appendResponseRest(dst []byte, r *Response) []byte {
	dst = append(dst, `,"correlation_id":`...)
	dst = AppendString(dst, r.CorrelationID)
	if r.InReplyTo != "" {
		dst = append(dst, `,"in_reply_to":`...)
		dst = AppendString(dst, r.InReplyTo)
	}
	if r.Operation != "" {
		dst = append(dst, `,"operation":`...)
		dst = AppendString(dst, r.Operation)
	}
	if r.Handler != "" {
		dst = append(dst, `,"handler":`...)
		dst = AppendString(dst, r.Handler)
	}
	if r.Success {
		dst = append(dst, `,"success":true,"status":"success","result":`...)
		if len(r.Result) == 0 {
			dst = append(dst, "null"...)
		} else {
			dst = append(dst, r.Result...)
		}
	} else {
		dst = append(dst, `,"success":false,"status":"error"`...)
		if r.Error != nil {
			dst = append(dst, `,"error":`...)
			dst = appendError(dst, r.Error)
		}
	}
	dst = append(dst, `,"duration_us":`...)
	dst = strconv.AppendInt(dst, r.DurationUS, 10)
	return append(dst, '}')
}

func appendError(dst []byte, e *Error) []byte {
	dst = append(dst, `{"rule_id":`...)
	dst = AppendString(dst, e.RuleID)
	dst = append(dst, `,"error_type":`...)
	dst = AppendString(dst, e.ErrorType)
	dst = append(dst, `,"message":`...)
	dst = AppendString(dst, e.Message)
	dst = append(dst, `,"remediation_hint":`...)
	dst = AppendString(dst, e.RemediationHint)
	dst = append(dst, `,"retryable":`...)
	dst = strconv.AppendBool(dst, e.Retryable)
	if len(e.Details) > 0 {
		b, err := json.Marshal(e.Details)
		if err != nil {
			b, _ = json.Marshal(map[string]string{"unencodable": err.Error()})
		}
		dst = append(dst, `,"details":`...)
		dst = append(dst, b...)
	}
	return append(dst, '}')
}

// AppendString appends s as a JSON string, escaped as encoding/json escapes
// it, without allocating.
func AppendString(dst []byte, s string) []byte { return rawjson.AppendString(dst, s) }

// AppendUUID appends u in its canonical form (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)
// without allocating.
func AppendUUID(dst []byte, u uuid.UUID) []byte {
	var b [36]byte
	put := func(at int, x byte) { b[at], b[at+1] = hexPairs[x][0], hexPairs[x][1] }
	put(0, u[0])
	put(2, u[1])
	put(4, u[2])
	put(6, u[3])
	b[8] = '-'
	put(9, u[4])
	put(11, u[5])
	b[13] = '-'
	put(14, u[6])
	put(16, u[7])
	b[18] = '-'
	put(19, u[8])
	put(21, u[9])
	b[23] = '-'
	put(24, u[10])
	put(26, u[11])
	put(28, u[12])
	put(30, u[13])
	put(32, u[14])
	put(34, u[15])
	return append(dst, b[:]...)
}

// hexPairs holds the two lowercase hex digits of every byte value.
var hexPairs = func() (t [256][2]byte) {
	const digits = "0123456789abcdef"
	for i := range t {
		t[i] = [2]byte{digits[i>>4], digits[i&0x0f]}
	}
	return t
}()

// AppendResult appends the JSON encoding of a handler result: nil as null, a
// json.RawMessage as it is once it is known to be valid JSON (compacted when
// it spans lines, since responses are single lines; blank as null), anything
// else as json.Marshal writes it, the common shapes of a result written
// without reflection (internal/resultjson; see handler.Object). It returns an
// error for raw bytes that are not JSON and for values encoding/json cannot
// encode; dst is then returned unchanged.
func AppendResult(dst []byte, result any) ([]byte, error) {
	raw, ok := result.(json.RawMessage)
	if !ok {
		return resultjson.Append(dst, result)
	}
	v, ok := rawjson.Parse(raw)
	switch {
	case ok && bytes.IndexByte(v, '\n') < 0 && bytes.IndexByte(v, '\r') < 0:
		return append(dst, v...), nil
	case ok:
		var b bytes.Buffer
		_ = json.Compact(&b, v) // v is valid
		return append(dst, b.Bytes()...), nil
	case rawjson.Blank(raw):
		return append(dst, "null"...), nil
	}
	return dst, ErrInvalidResult
}

// ErrInvalidResult is returned by AppendResult for a json.RawMessage that is not
// valid JSON.
var ErrInvalidResult = errors.New("envelope: result is not valid JSON")
