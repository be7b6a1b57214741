package jsonref

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestDecodeStrict(t *testing.T) {
	type target struct {
		N json.Number `json:"n"`
		A any         `json:"a"`
	}
	tests := []struct {
		in      string
		wantErr bool
		want    target
	}{
		{in: `{"n":1.50,"a":2}`, want: target{N: "1.50", A: json.Number("2")}},
		{in: "  \n", want: target{}},
		{in: `{"x":1}`, wantErr: true},
		{in: `{"n":1} {}`, wantErr: true},
		{in: `{"n":1}x`, wantErr: true},
		{in: `[]`, wantErr: true},
	}
	for _, tt := range tests {
		var got target
		err := DecodeStrict([]byte(tt.in), &got)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && got != tt.want {
			t.Errorf("%q: got %+v, want %+v", tt.in, got, tt.want)
		}
	}
	var v target
	if err := DecodeStrict([]byte(`{"n":1}{}`), &v); !errors.Is(err, ErrTrailingData) {
		t.Errorf("trailing value: %v, want ErrTrailingData", err)
	}
}
