// Package secretprovider is the vault secret provider of onex: secret scopes
// read from a Vault KV version 2 engine. Importing it (handlers/vault does)
// registers the provider kind "vault" with the policy package:
//
//	secrets:
//	  providers: [vault, env]          # lookup order
//	  vault:
//	    address: https://vault.example:8200   # default: VAULT_ADDR
//	    mount: secret                  # KV v2 mount, default secret
//	    path_prefix: onex              # default onex
//	    token_env: VAULT_TOKEN         # environment variable holding the token (default)
//	    token_file: /run/vault/token   # or a file, e.g. a Vault Agent sink
//	    namespace: ""                  # Vault Enterprise namespace
//	    timeout: 10s
//
// The secret scope/key is the field key of the KV v2 secret
// <mount>/<path_prefix>/<scope>: one Vault secret per scope, one field per
// key. A missing secret or field is policy.ErrSecretNotFound, so the next
// provider is asked.
//
// The provider belongs to the host, not to a handler: it reaches the address
// the operator configured, with the TLS settings of the official client
// (VAULT_CACERT and friends), and it is not subject to a handler's allowlist.
package secretprovider

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/policy"
)

// Kind is the provider kind name in onex.yaml.
const Kind = "vault"

func init() {
	policy.RegisterProvider(policy.ProviderKind{
		Name: Kind,
		Options: func() any {
			return &Options{Mount: "secret", PathPrefix: "onex", TokenEnv: "VAULT_TOKEN", Timeout: "10s"}
		},
		New: func(o any) (policy.SecretProvider, error) { return New(*o.(*Options)) },
	})
}

// Options are the provider's options (secrets.vault in onex.yaml).
type Options struct {
	Address    string `yaml:"address"`
	Mount      string `yaml:"mount"`
	PathPrefix string `yaml:"path_prefix"`
	Namespace  string `yaml:"namespace"`
	TokenEnv   string `yaml:"token_env"`
	TokenFile  string `yaml:"token_file"`
	Timeout    string `yaml:"timeout"`
}

// Provider reads secrets from Vault KV v2.
type Provider struct {
	opts    Options
	timeout time.Duration

	once    sync.Once
	client  *api.Client
	config  *api.Config
	initErr error
}

var _ policy.SecretProvider = (*Provider)(nil)

// New validates the options; it does no I/O (the client is built on the first
// lookup).
func New(o Options) (*Provider, error) {
	var errs []error
	if o.Address != "" {
		u, err := url.Parse(o.Address)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("address: must be an http or https URL such as https://vault.example:8200"))
		}
	}
	if strings.Trim(o.Mount, "/") == "" {
		errs = append(errs, errors.New("mount: must not be empty"))
	}
	if o.TokenEnv != "" && o.TokenFile != "" && o.TokenEnv != "VAULT_TOKEN" {
		errs = append(errs, errors.New("token_env, token_file: set one of them, not both"))
	}
	if o.TokenEnv == "" && o.TokenFile == "" {
		errs = append(errs, errors.New("token_env: name the environment variable holding the token, or set token_file"))
	}
	timeout := 10 * time.Second
	if o.Timeout != "" {
		d, err := time.ParseDuration(o.Timeout)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("timeout: %q is not a positive duration such as 10s", o.Timeout))
		}
		timeout = d
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	o.Mount = strings.Trim(o.Mount, "/")
	o.PathPrefix = strings.Trim(o.PathPrefix, "/")
	return &Provider{opts: o, timeout: timeout}, nil
}

func (p *Provider) init() error {
	p.once.Do(func() {
		cfg := api.DefaultConfig() // reads VAULT_ADDR, VAULT_CACERT, … like the vault CLI
		if cfg.Error != nil {
			p.initErr = fmt.Errorf("vault provider configuration: %w", cfg.Error)
			return
		}
		if p.opts.Address != "" {
			cfg.Address = p.opts.Address
		}
		cfg.Timeout = p.timeout
		cfg.MaxRetries = 0
		c, err := api.NewClient(cfg)
		if err != nil {
			p.initErr = fmt.Errorf("vault provider client: %w", err)
			return
		}
		c.ClearToken()
		if p.opts.Namespace != "" {
			c.SetNamespace(p.opts.Namespace)
		}
		p.client, p.config = c, cfg
	})
	return p.initErr
}

// token reads the token at each lookup, so a rotated file or variable is used.
func (p *Provider) token() (string, error) {
	if p.opts.TokenFile != "" {
		b, err := os.ReadFile(p.opts.TokenFile)
		if err != nil {
			return "", fmt.Errorf("vault provider token_file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	t := os.Getenv(p.opts.TokenEnv)
	if t == "" {
		return "", fmt.Errorf("vault provider: environment variable %s is empty", p.opts.TokenEnv)
	}
	return t, nil
}

// Lookup reads field ref.Key of the secret <mount>/<path_prefix>/<ref.Scope>.
func (p *Provider) Lookup(ctx context.Context, ref handler.SecretRef) (handler.Secret, error) {
	if err := p.init(); err != nil {
		return handler.Secret{}, err
	}
	tok, err := p.token()
	if err != nil {
		return handler.Secret{}, err
	}
	path := ref.Scope
	if p.opts.PathPrefix != "" {
		path = p.opts.PathPrefix + "/" + ref.Scope
	}
	c, err := p.client.Clone()
	if err != nil {
		return handler.Secret{}, fmt.Errorf("vault provider: %w", err)
	}
	c.SetToken(tok)
	if p.opts.Namespace != "" {
		c.SetNamespace(p.opts.Namespace)
	}
	s, err := c.KVv2(p.opts.Mount).Get(ctx, path)
	if errors.Is(err, api.ErrSecretNotFound) || (err == nil && s.Data == nil) {
		return handler.Secret{}, fmt.Errorf("secret %s: no vault secret %s/%s: %w", ref, p.opts.Mount, path, policy.ErrSecretNotFound)
	}
	if err != nil {
		var re *api.ResponseError
		if errors.As(err, &re) {
			return handler.Secret{}, fmt.Errorf("secret %s: vault answered HTTP %d: %s", ref, re.StatusCode, strings.Join(re.Errors, "; "))
		}
		return handler.Secret{}, fmt.Errorf("secret %s: vault: %w", ref, err)
	}
	v, ok := s.Data[ref.Key]
	if !ok {
		return handler.Secret{}, fmt.Errorf("secret %s: vault secret %s/%s has no field %q: %w", ref, p.opts.Mount, path, ref.Key, policy.ErrSecretNotFound)
	}
	str, ok := v.(string)
	if !ok {
		return handler.Secret{}, fmt.Errorf("secret %s: field %q of vault secret %s/%s is not a string", ref, ref.Key, p.opts.Mount, path)
	}
	return handler.NewSecret(str), nil
}

// Close drops the client's idle connections.
func (p *Provider) Close() error {
	if p.config != nil && p.config.HttpClient != nil {
		p.config.HttpClient.CloseIdleConnections()
	}
	return nil
}
