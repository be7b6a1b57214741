package rawjson

import "testing"

func TestBlank(t *testing.T) {
	for in, want := range map[string]bool{"": true, " \t\r\n": true, "\v": false, "\f": false, "\u00a0": false, " 0 ": false, "null": false} {
		if got := Blank([]byte(in)); got != want {
			t.Errorf("Blank(%q) = %v, want %v", in, got, want)
		}
	}
}
