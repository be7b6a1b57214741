// Package admin is the host's admin listener (SPEC §12): /healthz (the
// process is alive), /readyz (every required handler registered and healthy,
// and the bus connected; 503 with the reasons otherwise), /metrics
// (Prometheus) and /v1/handlers (the serving handlers: descriptor, source,
// origin, status, last error; never a secret). Every endpoint reads the host
// at request time, so the answers follow a reload that swaps the handler set.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"time"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/redact"
	"github.com/onexhost/onex/runtime"
	"github.com/onexhost/onex/runtime/gateway"
	"github.com/onexhost/onex/runtime/telemetry"
)

// Endpoints of the admin listener.
const (
	PathHealth   = "/healthz"
	PathReady    = "/readyz"
	PathMetrics  = "/metrics"
	PathHandlers = "/v1/handlers"
)

// Config is the admin section of onex.yaml.
type Config struct {
	// Listen is the admin listener's address (host:port); empty (the
	// default) turns it off.
	Listen string `yaml:"listen"`
	// ReadinessTimeout bounds the health checks of one /readyz.
	ReadinessTimeout time.Duration `yaml:"readiness_timeout"`
}

// DefaultReadinessTimeout is the default admin.readiness_timeout.
const DefaultReadinessTimeout = 5 * time.Second

// DefaultConfig returns the defaults: the admin listener off.
func DefaultConfig() Config { return Config{ReadinessTimeout: DefaultReadinessTimeout} }

// LoadConfig decodes the admin section of f over the defaults and checks it.
func LoadConfig(f *config.File) (Config, []*diag.ValidationError) {
	c := DefaultConfig()
	if errs := f.Decode("admin", &c); len(errs) > 0 {
		return c, errs
	}
	return c, c.Validate(f)
}

// Validate checks the values (RUNTIME-002 with the key); f may be nil.
func (c Config) Validate(f *config.File) []*diag.ValidationError {
	var errs []*diag.ValidationError
	if c.Listen != "" {
		if err := gateway.CheckListen(c.Listen); err != nil {
			errs = append(errs, f.Errorf("admin.listen", "%v", err))
		}
	}
	if c.ReadinessTimeout <= 0 {
		errs = append(errs, f.Errorf("admin.readiness_timeout", "must be a positive duration such as 5s, got %s", c.ReadinessTimeout))
	}
	return errs
}

// Host is what the admin listener reads: *runtime.Host.
type Host interface {
	Ready(ctx context.Context) error
	Handlers() []runtime.HandlerInfo
}

// Options configure the admin handler.
type Options struct {
	// Host is the host reported on; required.
	Host Host
	// Bus is the host's bus; when it implements bus.HealthChecker, /readyz
	// requires it connected. Nil for a host without a bus.
	Bus any
	// Metrics are served at /metrics, and give /v1/handlers each handler's
	// last failure; nil serves no metrics.
	Metrics *telemetry.Metrics
	// ReadinessTimeout bounds one /readyz; default DefaultReadinessTimeout.
	ReadinessTimeout time.Duration
}

type admin struct{ o Options }

// New returns the admin listener's handler.
func New(o Options) http.Handler {
	if o.ReadinessTimeout <= 0 {
		o.ReadinessTimeout = DefaultReadinessTimeout
	}
	a := &admin{o: o}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathHealth, a.health)
	mux.HandleFunc("GET "+PathReady, a.ready)
	mux.HandleFunc("GET "+PathHandlers, a.handlers)
	if o.Metrics != nil {
		mux.Handle("GET "+PathMetrics, o.Metrics.Handler())
	}
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// health answers while the process serves HTTP at all.
func (a *admin) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// Readiness is the body of /readyz.
type Readiness struct {
	// Status is "ready" or "not_ready".
	Status string `json:"status"`
	// Reasons say why not (credentials redacted).
	Reasons []string `json:"reasons,omitempty"`
}

func (a *admin) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), a.o.ReadinessTimeout)
	defer cancel()
	var reasons []string
	if err := a.o.Host.Ready(ctx); err != nil {
		reasons = append(reasons, flatten(err)...)
	}
	if hc, ok := a.o.Bus.(bus.HealthChecker); ok {
		if err := hc.Health(ctx); err != nil {
			reasons = append(reasons, "bus: "+err.Error())
		}
	}
	if len(reasons) == 0 {
		writeJSON(w, http.StatusOK, Readiness{Status: "ready"})
		return
	}
	for i, s := range reasons {
		reasons[i] = redact.Text(s)
	}
	writeJSON(w, http.StatusServiceUnavailable, Readiness{Status: "not_ready", Reasons: reasons})
}

// flatten lists the errors joined in err, one reason each.
func flatten(err error) []string {
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []string{err.Error()}
}

// HandlerView is one handler in /v1/handlers: its descriptor as the host
// serves it (config with credentials and secret references redacted), its
// status, and why it failed to initialise or last failed a request.
type HandlerView struct {
	Name         string               `json:"handler_name"`
	Version      string               `json:"handler_version"`
	Description  string               `json:"description,omitempty"`
	Type         handler.HandlerType  `json:"handler_type"`
	Category     handler.Category     `json:"handler_type_category"`
	IsAdapter    bool                 `json:"is_adapter"`
	Capabilities []handler.Capability `json:"capabilities"`
	Commands     []handler.Command    `json:"commands_accepted"`
	ImportPath   string               `json:"import_path,omitempty"`
	Artifact     *handler.ArtifactRef `json:"artifact_ref,omitempty"`
	Security     handler.Security     `json:"security"`
	Packaging    *handler.Packaging   `json:"packaging,omitempty"`
	Config       json.RawMessage      `json:"config,omitempty"`
	SourceType   handler.SourceType   `json:"source_type"`
	Origin       string               `json:"origin"`
	Status       runtime.Status       `json:"status"`
	Required     bool                 `json:"required"`
	InitError    *diag.JSONDiagnostic `json:"init_error,omitempty"`
	LastFailure  *telemetry.Failure   `json:"last_failure,omitempty"`
}

// HandlersView is the body of /v1/handlers.
type HandlersView struct {
	Handlers []HandlerView `json:"handlers"`
}

func (a *admin) handlers(w http.ResponseWriter, _ *http.Request) {
	infos := a.o.Host.Handlers()
	out := HandlersView{Handlers: make([]HandlerView, 0, len(infos))}
	for _, hi := range infos {
		out.Handlers = append(out.Handlers, a.view(hi))
	}
	sort.Slice(out.Handlers, func(i, j int) bool { return out.Handlers[i].Name < out.Handlers[j].Name })
	writeJSON(w, http.StatusOK, out)
}

func (a *admin) view(hi runtime.HandlerInfo) HandlerView {
	d := hi.Descriptor
	v := HandlerView{
		Name: d.Name, Version: d.Version, Description: d.Description, Type: d.Type, Category: d.Category,
		IsAdapter: d.IsAdapter, Capabilities: d.Capabilities, Commands: d.Commands, ImportPath: d.ImportPath,
		Security: d.Security, Packaging: d.Packaging, Config: redact.ConfigAndRefs(d.Config),
		SourceType: d.SourceType, Origin: redact.URL(d.Origin), Status: hi.Status, Required: hi.Required,
	}
	if v.Capabilities == nil {
		v.Capabilities = []handler.Capability{}
	}
	if d.Artifact != nil {
		art := *d.Artifact
		art.URI = redact.URL(art.URI)
		v.Artifact = &art
	}
	if hi.Error != nil {
		j := redactDiagnostic(diag.ToJSON(hi.Error))
		v.InitError = &j
	}
	if a.o.Metrics != nil {
		if f, ok := a.o.Metrics.LastFailure(d.Name); ok {
			v.LastFailure = &f
		}
	}
	return v
}

// redactDiagnostic removes credentials from a diagnostic's free text.
func redactDiagnostic(j diag.JSONDiagnostic) diag.JSONDiagnostic {
	j.Message = redact.Text(j.Message)
	if len(j.Details) > 0 {
		j.Details = redact.Value(j.Details).(map[string]any)
	}
	if j.CausedBy != nil {
		c := redactDiagnostic(*j.CausedBy)
		j.CausedBy = &c
	}
	return j
}
