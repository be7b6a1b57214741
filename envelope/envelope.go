// Package envelope holds the wire types of onex requests and responses (SPEC §5)
// and a codec built for the dispatch hot path.
//
// Decoding a request (Parse) is a single pass over the top-level object that
// takes every field as a slice of the input, without copying or allocating;
// nested values (payload, metadata) are delimited here and validated by
// rawjson.Valid, and the rare escaped top-level string is unescaped by
// encoding/json. Encoding a response (AppendResponse) appends to a
// caller-owned buffer without allocating; a result that is a json.RawMessage
// is checked by rawjson.Valid and copied, any other result goes through
// encoding/json. The generic encoding/json path costs several microseconds
// and allocations per envelope, which is most of the runtime's budget for a
// whole dispatch — hence this codec.
//
// Decode, Encode and DecodeResponse are the convenient, allocating forms for
// clients and tests.
package envelope

import (
	"encoding/json"
	"fmt"
)

// Field names of a request envelope.
const (
	FieldEnvelopeID         = "envelope_id"
	FieldCorrelationID      = "correlation_id"
	FieldOperation          = "operation"
	FieldHandler            = "handler"
	FieldPayload            = "payload"
	FieldDataClassification = "data_classification"
	FieldMetadata           = "metadata"
)

// RequestFields lists the fields of a request envelope in wire order.
var RequestFields = []string{
	FieldEnvelopeID, FieldCorrelationID, FieldOperation, FieldHandler,
	FieldPayload, FieldDataClassification, FieldMetadata,
}

// Request is a request envelope, as clients write it.
type Request struct {
	EnvelopeID         string          `json:"envelope_id,omitempty"`
	CorrelationID      string          `json:"correlation_id,omitempty"`
	Operation          string          `json:"operation"`
	Handler            string          `json:"handler,omitempty"`
	Payload            json.RawMessage `json:"payload,omitempty"`
	DataClassification string          `json:"data_classification,omitempty"`
	// Metadata carries transport context such as the W3C traceparent.
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Encode renders r as one line of JSON (no trailing newline).
func Encode(r *Request) ([]byte, error) { return json.Marshal(r) }

// Decode parses a request envelope with the same rules as Parse, into the
// convenient form.
func Decode(raw []byte) (*Request, error) {
	var v View
	if err := Parse(raw, &v); err != nil {
		return nil, err
	}
	r := &Request{
		EnvelopeID:         string(v.EnvelopeID),
		CorrelationID:      string(v.CorrelationID),
		Operation:          string(v.Operation),
		Handler:            string(v.Handler),
		DataClassification: string(v.DataClassification),
	}
	if v.Payload != nil {
		r.Payload = append(json.RawMessage(nil), v.Payload...)
	}
	if v.Metadata != nil {
		if err := json.Unmarshal(v.Metadata, &r.Metadata); err != nil {
			return nil, &SyntaxError{Field: FieldMetadata, Msg: "metadata must map names to strings"}
		}
	}
	return r, nil
}

// Status values of a response.
const (
	StatusSuccess = "success"
	StatusError   = "error"
)

// Response is a response envelope, as the runtime publishes it.
type Response struct {
	EnvelopeID    string `json:"envelope_id"`
	CorrelationID string `json:"correlation_id"`
	// InReplyTo is the envelope_id of the request; empty when the request was
	// not readable enough to have one.
	InReplyTo string `json:"in_reply_to,omitempty"`
	Operation string `json:"operation,omitempty"`
	Handler   string `json:"handler,omitempty"`
	Success   bool   `json:"success"`
	Status    string `json:"status"`
	// Result is the handler's result (success only).
	Result     json.RawMessage `json:"result,omitempty"`
	Error      *Error          `json:"error,omitempty"`
	DurationUS int64           `json:"duration_us"`
}

// Error is the error of a failed response.
type Error struct {
	RuleID          string         `json:"rule_id"`
	ErrorType       string         `json:"error_type"`
	Message         string         `json:"message"`
	RemediationHint string         `json:"remediation_hint"`
	Retryable       bool           `json:"retryable"`
	Details         map[string]any `json:"details,omitempty"`
}

// DecodeResponse parses a response envelope.
func DecodeResponse(raw []byte) (*Response, error) {
	var r Response
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("envelope: decode response: %w", err)
	}
	return &r, nil
}
