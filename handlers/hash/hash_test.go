package hash

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/onexhost/onex/handler"
)

func TestHash(t *testing.T) {
	h, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, op, payload, hex, field string
	}{
		{"text", "h.sha256", `{"data":"hello"}`, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", ""},
		{"base64", "h.sha256", `{"data":"aGVsbG8=","encoding":"base64"}`, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", ""},
		{"empty text", "h.sha512", `{"data":""}`, "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e", ""},
		{"sha384", "h.sha384", `{"data":"abc"}`, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7", ""},
		{"canonical value", "h.sha256", `{"value":{"b":1, "a":[true,1.50]}}`, sum(`{"a":[true,1.50],"b":1}`), ""},
		{"both", "h.sha256", `{"data":"x","value":1}`, "", "value"},
		{"neither", "h.sha256", `{}`, "", "data"},
		{"bad base64", "h.sha256", `{"data":"%%%","encoding":"base64"}`, "", "data"},
		{"bad encoding", "h.sha256", `{"data":"x","encoding":"hex"}`, "", "encoding"},
		{"unknown field", "h.sha256", `{"dat":"x"}`, "", "dat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := h.Handle(context.Background(), handler.NewInvocation(handler.InvocationParams{Operation: handler.Command(tc.op), Payload: json.RawMessage(tc.payload)}))
			if tc.field != "" {
				var he *handler.Error
				if !errors.As(err, &he) || he.Kind != handler.KindInvalidPayload || he.Field != tc.field {
					t.Fatalf("err = %#v, want an invalid payload naming %s", err, tc.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r := out.Result.(Result); r.Hex != tc.hex || r.Base64 == "" {
				t.Errorf("%+v, want %s", r, tc.hex)
			}
		})
	}
}

func sum(s string) string {
	out, _ := Hasher{}.Handle(context.Background(), handler.NewInvocation(handler.InvocationParams{Operation: "h.sha256",
		Payload: json.RawMessage(`{"data":` + string(mustJSON(s)) + `}`)}))
	return out.Result.(Result).Hex
}

func mustJSON(s string) []byte { b, _ := json.Marshal(s); return b }

func TestConfigRejected(t *testing.T) {
	if _, err := New(json.RawMessage(`{"algorithm":"md5"}`)); err == nil {
		t.Error("New accepted a config")
	}
}
