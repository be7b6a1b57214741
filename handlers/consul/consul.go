// Package consul is the built-in Consul handler (import path
// github.com/onexhost/onex/handlers/consul), on the official
// github.com/hashicorp/consul/api client.
//
// Verbs:
//
//	kv_get     {key, recurse}                     → {found, key, value | value_base64, flags, modify_index, index} or {found, pairs, index}
//	kv_put     {key, value | value_base64, flags, cas} → {success}; with cas, false when the index moved (cas 0 = create only)
//	kv_delete  {key, recurse, cas}                → {success}
//	register   {name, service_id, address, port, tags, meta, check} → {service_id}
//	deregister {service_id}                       → {service_id}
//	services   {name, tag, passing_only}          → {services: [...], index}
//
// The client talks through the runtime's egress-guarded HTTP client only, and
// the ACL token comes from a secret: `token: {secret: "consul/token"}` or
// `token_secret: consul/token`. Only that token is ever sent: a token from the
// process environment (CONSUL_HTTP_TOKEN) is never used.
//
// Config:
//
//	address: 127.0.0.1:8500     # host:port, or http(s)://host:port; default 127.0.0.1:8500
//	datacenter: dc1             # optional
//	namespace: team-a           # optional (Consul Enterprise)
//	partition: default          # optional (Consul Enterprise)
//	token_secret: consul/token  # or token: {secret: "consul/token"}; optional
//	timeout: 10s                # one call
package consul

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/handlers/internal/grant"
)

// ImportPath is the registry key of this handler's factory.
const ImportPath = "github.com/onexhost/onex/handlers/consul"

// Verbs are the verbs the handler implements.
var Verbs = []string{"kv_get", "kv_put", "kv_delete", "register", "deregister", "services"}

func init() {
	handler.Register(handler.Factory{
		ImportPath: ImportPath,
		Verbs:      Verbs,
		New:        New,
		Uses:       handler.Uses{Egress: true, Secrets: true},
		Summary:    "Consul KV store and service catalog (official API client)",
	})
}

// Defaults of the config.
const (
	DefaultAddress = "127.0.0.1:8500"
	DefaultTimeout = 10 * time.Second
	// MaxValueBytes is Consul's limit on one KV value.
	MaxValueBytes = 512 * 1024
)

// Config is the handler's config.
type Config struct {
	Address    string `json:"address,omitempty"`
	Datacenter string `json:"datacenter,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	Partition  string `json:"partition,omitempty"`
	// Token is the ACL token; write it as a secret reference.
	Token string `json:"token,omitempty"`
	// TokenSecret names the secret (scope/key) holding the ACL token.
	TokenSecret string `json:"token_secret,omitempty"`
	Timeout     string `json:"timeout,omitempty"`
}

type settings struct {
	scheme, address                  string
	datacenter, namespace, partition string
	token                            string
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
	s := settings{scheme: "http", address: DefaultAddress, timeout: DefaultTimeout,
		datacenter: c.Datacenter, namespace: c.Namespace, partition: c.Partition, token: c.Token}
	var errs []error
	if c.Address != "" {
		scheme, addr, err := parseAddress(c.Address)
		if err != nil {
			errs = append(errs, fmt.Errorf("address: %w", err))
		}
		s.scheme, s.address = scheme, addr
	}
	if c.Token != "" && c.TokenSecret != "" {
		errs = append(errs, errors.New("token, token_secret: set one of them, not both"))
	}
	if c.TokenSecret != "" {
		ref, err := handler.ParseSecretRef(c.TokenSecret)
		if err != nil {
			errs = append(errs, fmt.Errorf("token_secret: %w", err))
		}
		s.tokenSecret = ref
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

// parseAddress accepts host:port or an http(s) URL without a path. unix://
// sockets are refused: they would bypass the egress guard.
func parseAddress(a string) (scheme, addr string, err error) {
	if !strings.Contains(a, "://") {
		if _, _, err := splitHostPort(a); err != nil {
			return "", "", err
		}
		return "http", a, nil
	}
	u, err := url.Parse(a)
	if err != nil {
		return "", "", fmt.Errorf("%q is not a URL", a)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", "", fmt.Errorf("scheme %q is not supported (http or https; unix sockets bypass the egress guard)", u.Scheme)
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", "", fmt.Errorf("%q must be scheme://host:port only", a)
	}
	return u.Scheme, u.Host, nil
}

func splitHostPort(a string) (string, string, error) {
	i := strings.LastIndexByte(a, ':')
	if i <= 0 || i == len(a)-1 || strings.ContainsAny(a, "/ ") {
		return "", "", fmt.Errorf("%q is not host:port", a)
	}
	return a[:i], a[i+1:], nil
}

// Consul is the Consul handler.
type Consul struct {
	cfg    settings
	client *api.Client
	hc     *http.Client
}

var (
	_ handler.Handler       = (*Consul)(nil)
	_ handler.Initializer   = (*Consul)(nil)
	_ handler.Closer        = (*Consul)(nil)
	_ handler.HealthChecker = (*Consul)(nil)
)

// New validates config and returns a handler; it does no I/O.
func New(config json.RawMessage) (handler.Handler, error) {
	cfg, err := parseConfig(config)
	if err != nil {
		return nil, err
	}
	return &Consul{cfg: cfg}, nil
}

// Init reads the ACL token and builds the API client on the granted HTTP client.
func (h *Consul) Init(ctx context.Context, env *handler.InitEnv) error {
	cfg, err := grant.Config(env, h.cfg, parseConfig)
	if err != nil {
		return err
	}
	// A copy of the granted client: same guarded transport, wrapped so the one
	// token sent is ours.
	hc, err := grant.HTTPClient(env, "Consul")
	if err != nil {
		return err
	}
	token, err := grant.OptionalSecret(ctx, env, "token", cfg.token, cfg.tokenSecret)
	if err != nil {
		return err
	}
	hc.Transport = &tokenTransport{next: hc.Transport, token: token}
	client, err := api.NewClient(&api.Config{
		Address:    cfg.address,
		Scheme:     cfg.scheme,
		Datacenter: cfg.datacenter,
		Namespace:  cfg.namespace,
		Partition:  cfg.partition,
		HttpClient: hc,
	})
	if err != nil {
		return fmt.Errorf("consul client: %w", err)
	}
	h.cfg, h.client, h.hc = cfg, client, hc
	return nil
}

// Close drops idle connections.
func (h *Consul) Close(context.Context) error {
	if h.hc != nil {
		h.hc.CloseIdleConnections()
	}
	return nil
}

// Health asks the agent for the cluster leader: healthy when there is one.
func (h *Consul) Health(ctx context.Context) error {
	if h.client == nil {
		return errors.New("not initialised")
	}
	var leader string
	err := h.call(ctx, "status", func(ctx context.Context) error {
		var err error
		leader, err = h.client.Status().LeaderWithQueryOptions(h.query(ctx))
		return err
	})
	if err != nil {
		return err
	}
	if leader == "" {
		return errors.New("consul reports no cluster leader")
	}
	return nil
}

// tokenTransport sends exactly the configured ACL token (or none), whatever
// the API client picked up from the environment.
type tokenTransport struct {
	next  http.RoundTripper
	token string
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Del("Authorization")
	if t.token != "" {
		r.Header.Set("X-Consul-Token", t.token)
	} else {
		r.Header.Del("X-Consul-Token")
	}
	if q := r.URL.Query(); q.Has("token") {
		q.Del("token")
		r.URL.RawQuery = q.Encode()
	}
	return t.next.RoundTrip(r)
}
