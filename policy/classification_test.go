package policy

import (
	"errors"
	"testing"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/handler"
)

func TestCheckClassification(t *testing.T) {
	e := New(Options{})
	d := base() // confidential
	cases := []struct {
		envelope handler.Classification
		refused  bool
	}{
		{handler.ClassificationPublic, false},
		{handler.ClassificationUnset, false}, // the default, internal
		{handler.ClassificationInternal, false},
		{handler.ClassificationConfidential, false}, // equal passes
		{handler.ClassificationRestricted, true},
		{handler.ClassificationSecret, true},
	}
	refused := 0
	for _, tc := range cases {
		err := e.CheckClassification(d, tc.envelope)
		if !tc.refused {
			if err != nil {
				t.Errorf("%s: %v", tc.envelope, err)
			}
			continue
		}
		refused++
		var ve *diag.ValidationError
		if !errors.As(err, &ve) || ve.RuleID != RuleClassification || ve.HandlerIdentity != "partner-api" || ve.RemediationHint == "" ||
			ve.Details["data_classification"] != tc.envelope.String() || ve.Details["handler_classification"] != "confidential" {
			t.Errorf("%s: %+v", tc.envelope, err)
		}
	}
	if n := e.Denials()[RuleClassification]; n != uint64(refused) {
		t.Errorf("SECURITY-312 counter = %d, want %d", n, refused)
	}
	// A handler without a declared classification is internal.
	d.Security.DataClassification = handler.ClassificationUnset
	if e.CheckClassification(d, handler.ClassificationInternal) != nil || e.CheckClassification(d, handler.ClassificationConfidential) == nil {
		t.Error("an undeclared handler classification is not internal")
	}
}
