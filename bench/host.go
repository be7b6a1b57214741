package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/onexhost/onex/archcheck"
	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/contract"
	"github.com/onexhost/onex/handler"
	_ "github.com/onexhost/onex/handlers/all" // the built-in handlers, as cmd/onex links them
	"github.com/onexhost/onex/policy"
	"github.com/onexhost/onex/runtime"
	"github.com/onexhost/onex/source"
	"github.com/onexhost/onex/validate"
)

// echoImportPath is the factory of the echo handler: the same work Watermill's
// handler does on the peer side (decode the request, answer its payload).
const echoImportPath = "github.com/onexhost/onex/bench/echo"

func init() {
	handler.Register(handler.Factory{ImportPath: echoImportPath, Verbs: []string{"echo"},
		Summary: "answers the request's payload (benchmark handler)",
		New:     func(json.RawMessage) (handler.Handler, error) { return echo{}, nil }})
}

type echo struct{}

func (echo) Handle(_ context.Context, inv *handler.Invocation) (handler.Output, error) {
	return handler.Output{Result: inv.Payload()}, nil
}

// echoContract is the contract of the echo handler.
const echoContract = `contract_version: "1.0.0"
handler_identity: {name: bench-echo, version: "1.0.0"}
description: Answers the request's payload.
handler_type: compute_handler
handler_type_category: compute
capabilities: [transform]
commands_accepted: [` + echoOperation + `]
implementation: {import_path: ` + echoImportPath + `}
`

// writeContracts writes each contract to dir/<name>/handler_contract.yaml.
func writeContracts(dir string, contracts map[string]string) error {
	for name, text := range contracts {
		p := filepath.Join(dir, name, contract.FileName)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// mapSecrets is a secret provider over a map keyed "scope/key".
type mapSecrets map[string]string

// Lookup implements policy.SecretProvider.
func (m mapSecrets) Lookup(_ context.Context, ref handler.SecretRef) (handler.Secret, error) {
	v, ok := m[ref.String()]
	if !ok {
		return handler.Secret{}, fmt.Errorf("secret %s: %w", ref, policy.ErrSecretNotFound)
	}
	return handler.NewSecret(v), nil
}

// newEnforcer is the policy of the development environment (local servers are
// reachable) with secrets from m.
func newEnforcer(m mapSecrets) *policy.Enforcer {
	return policy.New(policy.Options{Environment: policy.DefaultEnvironment(handler.EnvDevelopment),
		Secrets: []policy.Provider{{Kind: "bench", SecretProvider: m}}})
}

// startHost starts a host the way `onex run` does: contracts discovered from
// dir, the security and architecture registration rules, the real policy
// enforcer, and b as its bus (nil for in-process calls only). Stop it with
// stopHost.
func startHost(ctx context.Context, dir string, b bus.Bus, secrets mapSecrets) (*runtime.Host, *policy.Enforcer, error) {
	enf := newEnforcer(secrets)
	src := source.NewContract([]string{dir}, source.ContractOptions{})
	validators := []validate.Validator{enf.Registration(), archcheck.Startup()}
	h := runtime.New(src, validators, enf, b, nil, runtime.Options{Config: runtime.DefaultConfig()})
	if err := h.Start(ctx); err != nil {
		return nil, nil, errors.Join(fmt.Errorf("start host: %w", err), enf.Close())
	}
	return h, enf, nil
}

// stopHost stops h (and its bus) and closes its enforcer.
func stopHost(ctx context.Context, h *runtime.Host, enf *policy.Enforcer) error {
	return errors.Join(h.Stop(ctx), enf.Close())
}
