package ruleid

import "testing"

func TestValid(t *testing.T) {
	for id, want := range map[ID]bool{
		ContractUnknownField: true, SecurityMetadataInRange: true, "X-1": true,
		"": false, "CONTRACT-": false, "contract-004": false, "CONTRACT-004 ": false, "CONTRACT_004": false, "-004": false,
	} {
		if got := id.Valid(); got != want {
			t.Errorf("%q.Valid() = %v, want %v", id, got, want)
		}
	}
	if HandlerTimeout.String() != "HANDLER-002" {
		t.Errorf("String() = %q", HandlerTimeout.String())
	}
}
