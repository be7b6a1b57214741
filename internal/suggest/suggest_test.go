package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "abc", 0}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"comands_accepted", "commands_accepted", 1}, {"teh", "the", 1}, {"abc", "", 3},
	} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestClosest(t *testing.T) {
	cands := []string{"handler_identity", "commands_accepted", "capabilities", "security"}
	for _, tc := range []struct {
		word, want string
		ok         bool
	}{
		{"comands_accepted", "commands_accepted", true},
		{"Security", "security", true},
		{"capabilites", "capabilities", true},
		{"zzz", "", false},
		{"execution_graph", "", false},
	} {
		got, ok := Closest(tc.word, cands)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Closest(%q) = %q, %v; want %q, %v", tc.word, got, ok, tc.want, tc.ok)
		}
	}
	if h := Hint("securty", cands); h != ` (did you mean "security"?)` {
		t.Errorf("Hint = %q", h)
	}
	if h := Hint("zzz", cands); h != "" {
		t.Errorf("Hint = %q, want empty", h)
	}
}
