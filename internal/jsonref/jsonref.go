// Package jsonref is the reference the SDK's strict payload decoding is held
// to in differential tests: encoding/json's own Decoder, set to the same
// strictness (numbers kept as json.Number, unknown fields refused, nothing
// after the value), so a test compares a decoder with the standard library
// instead of with a second copy of its own rules.
package jsonref

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// ErrTrailingData is returned when something follows the JSON value.
var ErrTrailingData = errors.New("jsonref: data after the JSON value")

// DecodeStrict reads in into v as encoding/json's strict Decoder does; an
// input of only white space reads as {}, as a payload that was left out.
func DecodeStrict(in []byte, v any) error {
	doc := bytes.Trim(in, " \t\r\n")
	if len(doc) == 0 {
		doc = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ErrTrailingData
	}
	return nil
}
