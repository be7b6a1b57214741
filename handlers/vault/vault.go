// Package vault is the built-in Vault handler (import path
// github.com/onexhost/onex/handlers/vault), on the official
// github.com/hashicorp/vault/api client, for the KV version 2 secrets engine.
//
// Verbs:
//
//	read_secret   {path, mount, version}            → {found, path, mount, data, version, created_time, deleted}
//	write_secret  {path, mount, data, cas}          → {path, mount, version, created_time}
//	delete_secret {path, mount, versions, all_versions} → {path, mount, deleted}
//	list_secrets  {path, mount}                     → {path, mount, keys}
//
// The Vault token comes from a secret scope, never from the payload:
// `token: {secret: "vault/token"}` or `token_secret: vault/token` (the default:
// the bootstrap table declares the scope vault). The client talks through the
// runtime's egress-guarded HTTP client only.
//
// Config:
//
//	address: https://vault.example:8200   # default https://127.0.0.1:8200
//	mount: secret                          # default KV v2 mount; a payload may name another
//	namespace: team-a                      # optional (Vault Enterprise)
//	token_secret: vault/token              # or token: {secret: "vault/token"}
//	timeout: 10s                           # one call
//
// The package also links the vault secret provider (package secretprovider),
// so secret scopes can be read from Vault.
package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/handlers/internal/grant"
	_ "github.com/onexhost/onex/handlers/vault/secretprovider" // the vault secret provider kind
)

// ImportPath is the registry key of this handler's factory.
const ImportPath = "github.com/onexhost/onex/handlers/vault"

// Verbs are the verbs the handler implements.
var Verbs = []string{"read_secret", "write_secret", "delete_secret", "list_secrets"}

func init() {
	handler.Register(handler.Factory{
		ImportPath: ImportPath,
		Verbs:      Verbs,
		New:        New,
		Uses:       handler.Uses{Egress: true, Secrets: true},
		Summary:    "Vault KV v2 secrets (official API client)",
	})
}

// Defaults of the config.
const (
	DefaultAddress = "https://127.0.0.1:8200"
	DefaultMount   = "secret"
	DefaultTimeout = 10 * time.Second
)

// DefaultTokenSecret is read when the config names no token.
var DefaultTokenSecret = handler.SecretRef{Scope: "vault", Key: "token"}

// Config is the handler's config.
type Config struct {
	Address   string `json:"address,omitempty"`
	Mount     string `json:"mount,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	// Token is the Vault token; write it as a secret reference.
	Token string `json:"token,omitempty"`
	// TokenSecret names the secret (scope/key) holding the token; vault/token
	// when neither Token nor TokenSecret is set.
	TokenSecret string `json:"token_secret,omitempty"`
	Timeout     string `json:"timeout,omitempty"`
}

type settings struct {
	address, mount, namespace, token string
	tokenSecret                      handler.SecretRef
	timeout                          time.Duration
}

func parseConfig(raw json.RawMessage) (settings, error) {
	var c Config
	if err := handler.DecodeStrict(raw, &c); err != nil {
		var he *handler.Error
		if errors.As(err, &he) && he.Field != "" {
			return settings{}, fmt.Errorf("%s: %s", he.Field, he.Message)
		}
		return settings{}, err
	}
	s := settings{address: DefaultAddress, mount: DefaultMount, namespace: c.Namespace, token: c.Token, timeout: DefaultTimeout}
	var errs []error
	if c.Address != "" {
		u, err := url.Parse(c.Address)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
			errs = append(errs, errors.New("address: must be an http or https URL such as https://vault.example:8200 (unix sockets bypass the egress guard)"))
		}
		s.address = c.Address
	}
	if c.Mount != "" {
		if err := checkPath(c.Mount); err != nil {
			errs = append(errs, fmt.Errorf("mount: %w", err))
		}
		s.mount = strings.Trim(c.Mount, "/")
	}
	switch {
	case c.Token != "" && c.TokenSecret != "":
		errs = append(errs, errors.New("token, token_secret: set one of them, not both"))
	case c.TokenSecret != "":
		ref, err := handler.ParseSecretRef(c.TokenSecret)
		if err != nil {
			errs = append(errs, fmt.Errorf("token_secret: %w", err))
		}
		s.tokenSecret = ref
	case c.Token == "":
		s.tokenSecret = DefaultTokenSecret
	}
	if c.Timeout != "" {
		d, err := time.ParseDuration(c.Timeout)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("timeout: %q is not a positive duration such as 10s", c.Timeout))
		}
		s.timeout = d
	}
	return s, errors.Join(errs...)
}

// checkPath refuses empty paths and . or .. segments.
func checkPath(p string) error {
	t := strings.Trim(p, "/")
	if t == "" {
		return errors.New("must not be empty")
	}
	for _, seg := range strings.Split(t, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%q has an empty, . or .. segment", p)
		}
	}
	return nil
}

// Vault is the Vault handler.
type Vault struct {
	cfg    settings
	client *api.Client
	hc     *http.Client
}

var (
	_ handler.Handler       = (*Vault)(nil)
	_ handler.Initializer   = (*Vault)(nil)
	_ handler.Closer        = (*Vault)(nil)
	_ handler.HealthChecker = (*Vault)(nil)
)

// New validates config and returns a handler; it does no I/O.
func New(config json.RawMessage) (handler.Handler, error) {
	cfg, err := parseConfig(config)
	if err != nil {
		return nil, err
	}
	return &Vault{cfg: cfg}, nil
}

// Init reads the token and builds the API client on the granted HTTP client.
func (h *Vault) Init(ctx context.Context, env *handler.InitEnv) error {
	cfg, err := grant.Config(env, h.cfg, parseConfig)
	if err != nil {
		return err
	}
	// A copy of the granted client (same guarded transport): the API client
	// may adjust its client, which must not change the runtime's.
	hc, err := grant.HTTPClient(env, "Vault")
	if err != nil {
		return err
	}
	token, err := grant.Secret(ctx, env, "token", cfg.token, cfg.tokenSecret)
	if err != nil {
		return err
	}
	client, err := api.NewClient(&api.Config{Address: cfg.address, HttpClient: hc, Timeout: cfg.timeout, MaxRetries: 0})
	if err != nil {
		return fmt.Errorf("vault client: %w", err)
	}
	client.SetToken(token) // overrides VAULT_TOKEN from the environment
	if cfg.namespace != "" {
		client.SetNamespace(cfg.namespace)
	} else {
		client.ClearNamespace()
	}
	h.cfg, h.client, h.hc = cfg, client, hc
	return nil
}

// Health asks sys/health: healthy when Vault is initialised and unsealed.
func (h *Vault) Health(ctx context.Context) error {
	if h.client == nil {
		return errors.New("not initialised")
	}
	var hr *api.HealthResponse
	err := h.call(ctx, "health", func(ctx context.Context) error {
		var err error
		hr, err = h.client.Sys().HealthWithContext(ctx)
		return err
	})
	switch {
	case err != nil:
		return err
	case !hr.Initialized:
		return errors.New("vault is not initialised")
	case hr.Sealed:
		return errors.New("vault is sealed")
	}
	return nil
}

// Close drops idle connections.
func (h *Vault) Close(context.Context) error {
	if h.hc != nil {
		h.hc.CloseIdleConnections()
	}
	return nil
}
