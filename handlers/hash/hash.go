// Package hash is the hashing handler: a compute handler that digests bytes or a
// JSON value.
//
// Verbs: sha256, sha384, sha512 (crypto/sha256, crypto/sha512). Payload:
//
//	{"data": "text to hash"}                  # UTF-8 text
//	{"data": "aGVsbG8=", "encoding": "base64"} # bytes
//	{"value": {"b": 1, "a": [true]}}           # any JSON value, hashed in canonical
//	                                           # form (compact, object keys sorted)
//
// Result: {"algorithm": "sha256", "hex": "…", "base64": "…", "size": N} where
// size is the number of bytes hashed. No config.
package hash

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	stdhash "hash"

	"github.com/onexhost/onex/handler"
)

// ImportPath is the factory's registry key.
const ImportPath = "github.com/onexhost/onex/handlers/hash"

var algorithms = map[string]func() stdhash.Hash{
	"sha256": sha256.New,
	"sha384": sha512.New384,
	"sha512": sha512.New,
}

func init() {
	handler.Register(handler.Factory{
		ImportPath: ImportPath,
		Verbs:      []string{"sha256", "sha384", "sha512"},
		New:        New,
		Summary:    "SHA-2 digests of text, bytes or canonical JSON",
	})
}

// Hasher digests payloads.
type Hasher struct{}

var _ handler.Handler = Hasher{}

// New accepts an empty config only.
func New(config json.RawMessage) (handler.Handler, error) {
	var none struct{}
	if err := handler.DecodeStrict(config, &none); err != nil {
		return nil, fmt.Errorf("config: the hash handler takes no config: %w", err)
	}
	return Hasher{}, nil
}

// Payload is what the handler reads.
type Payload struct {
	Data     *string         `json:"data"`
	Encoding string          `json:"encoding"`
	Value    json.RawMessage `json:"value"`
}

// Result is the handler's result.
type Result struct {
	Algorithm string `json:"algorithm"`
	Hex       string `json:"hex"`
	Base64    string `json:"base64"`
	Size      int    `json:"size"`
}

// Handle digests the payload with the verb's algorithm.
func (Hasher) Handle(_ context.Context, inv *handler.Invocation) (handler.Output, error) {
	newHash, ok := algorithms[inv.Verb()]
	if !ok {
		return handler.Output{}, handler.Failed(nil, "unknown algorithm %q", inv.Verb())
	}
	var p Payload
	if err := inv.Decode(&p); err != nil {
		return handler.Output{}, err
	}
	input, err := p.bytes()
	if err != nil {
		return handler.Output{}, err
	}
	h := newHash()
	h.Write(input)
	sum := h.Sum(nil)
	return handler.Output{Result: Result{
		Algorithm: inv.Verb(), Hex: hex.EncodeToString(sum), Base64: base64.StdEncoding.EncodeToString(sum), Size: len(input),
	}}, nil
}

func (p *Payload) bytes() ([]byte, error) {
	hasValue := len(bytes.TrimSpace(p.Value)) > 0
	switch {
	case p.Data != nil && hasValue:
		return nil, handler.InvalidPayload("value", "set either data or value, not both")
	case p.Data != nil:
		switch p.Encoding {
		case "", "utf8":
			return []byte(*p.Data), nil
		case "base64":
			b, err := base64.StdEncoding.DecodeString(*p.Data)
			if err != nil {
				return nil, handler.InvalidPayload("data", "not base64: %v", err)
			}
			return b, nil
		}
		return nil, handler.InvalidPayload("encoding", "unknown encoding %q (valid: utf8, base64)", p.Encoding)
	case hasValue:
		if p.Encoding != "" {
			return nil, handler.InvalidPayload("encoding", "encoding applies to data only")
		}
		return canonical(p.Value)
	}
	return nil, handler.InvalidPayload("data", "set data (text or base64 bytes) or value (any JSON)")
}

// canonical renders a JSON value compactly with object keys sorted, numbers as
// written.
func canonical(raw json.RawMessage) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, handler.InvalidPayload("value", "not JSON: %v", err)
	}
	b, err := json.Marshal(v) // maps marshal with sorted keys
	if err != nil {
		return nil, errors.Join(handler.InvalidPayload("value", "cannot be encoded"), err)
	}
	return b, nil
}
