package cli

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/policy"
)

// trackedSecrets counts the providers of the "closetrack" secret kind made
// and closed: a provider that holds resources is closed with the policy
// enforcer once onex run stopped its host.
var trackedSecrets struct{ made, closed atomic.Int64 }

type trackedProvider struct{}

func (trackedProvider) Lookup(context.Context, handler.SecretRef) (handler.Secret, error) {
	return handler.Secret{}, errors.New("closetrack holds no secret")
}

func (trackedProvider) Close() error {
	trackedSecrets.closed.Add(1)
	return nil
}

func init() {
	policy.RegisterProvider(policy.ProviderKind{Name: "closetrack", New: func(any) (policy.SecretProvider, error) {
		trackedSecrets.made.Add(1)
		return trackedProvider{}, nil
	}})
}

// TestRunClosesThePolicy: onex run closes the policy enforcer (and so its
// secret providers) once its host stopped, and also when the host did not
// start.
func TestRunClosesThePolicy(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "contracts", "ok", "handler_contract.yaml"), transformContract("ok", 1))
	writeFile(t, filepath.Join(dir, "empty", ".keep"), "")
	cfg := filepath.Join(dir, "onex.yaml")
	writeFile(t, cfg, "secrets: {providers: [closetrack]}\n")
	for _, tc := range []struct {
		name      string
		contracts string
		code      int
	}{
		{"host served and stopped", filepath.Join(dir, "contracts"), ExitOK},
		{"host refused to start", filepath.Join(dir, "empty"), ExitFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			made, closed := trackedSecrets.made.Load(), trackedSecrets.closed.Load()
			code, _, errs := runWith(t, strings.NewReader(`{"operation":"ok.transform","payload":{}}`+"\n"),
				"run", "--config", cfg, "--contracts", tc.contracts, "--stdin")
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, errs)
			}
			m, c := trackedSecrets.made.Load()-made, trackedSecrets.closed.Load()-closed
			if m != 1 || c != 1 {
				t.Errorf("secret providers made %d, closed %d; want the one made closed once", m, c)
			}
		})
	}
}
