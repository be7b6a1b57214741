package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/internal/suggest"
)

// Config is the kafka section of the bus configuration (bus.kafka in
// onex.yaml). Every key is optional except brokers.
type Config struct {
	// Brokers are the seed brokers, host:port.
	Brokers []string `yaml:"brokers"`
	// ClientID names the client in broker logs and quotas.
	ClientID string `yaml:"client_id"`
	// Group is the consumer group of the hosts that share the requests; empty
	// means runtime.consumer_group.
	Group string `yaml:"group"`
	// Topics name the request, response and dead-letter topics; an empty
	// name means the runtime's (the onex command settles them).
	Topics Topics `yaml:"topics"`
	// CreateTopics creates the three topics at start when they are missing
	// (for development and tests; production topics are usually provisioned).
	CreateTopics CreateTopics `yaml:"create_topics"`
	// MaxInFlight bounds the records of one member delivered to the host and
	// not yet acknowledged (responded to or dead-lettered).
	MaxInFlight int `yaml:"max_in_flight"`
	// MaxPollRecords bounds the records taken from the client per poll.
	MaxPollRecords int `yaml:"max_poll_records"`
	// CommitInterval is how often acknowledged offsets are committed; a crash
	// answers again at most what was acknowledged in the last interval.
	CommitInterval time.Duration `yaml:"commit_interval"`
	// RevokeTimeout bounds how long a member waits, when partitions are taken
	// from it in a rebalance or at shutdown, for the records it already
	// delivered from them; records still running then are left uncommitted
	// for the next owner (answered again, never lost).
	RevokeTimeout time.Duration `yaml:"revoke_timeout"`
	// SessionTimeout is how long the group waits for a silent member (a
	// crashed host) before giving its partitions to the others.
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// RebalanceTimeout bounds a rebalance, including the drain of revoked
	// partitions; it must exceed RevokeTimeout.
	RebalanceTimeout time.Duration `yaml:"rebalance_timeout"`
	// HeartbeatInterval is how often a member tells the group it is alive.
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	// TLS configures encryption and client certificates.
	TLS TLS `yaml:"tls"`
	// SASL configures authentication.
	SASL SASL `yaml:"sasl"`
}

// Topics names the topics of the Kafka bus. The bus creates them when
// CreateTopics asks, and writes the records of DeadLetters on a producer of
// their own (a dead-letter topic that refuses writes is retried apart from
// the responses); what goes where is the runtime's business.
type Topics struct {
	Requests    string `yaml:"requests"`
	Responses   string `yaml:"responses"`
	DeadLetters string `yaml:"dead_letters"`
}

// CreateTopics sets how missing topics are created; Partitions 0 creates none.
type CreateTopics struct {
	Partitions int `yaml:"partitions"`
	// ReplicationFactor -1 means the broker's default.
	ReplicationFactor int `yaml:"replication_factor"`
}

// TLS configures TLS to the brokers.
type TLS struct {
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM bundle of the authorities to trust; empty means the
	// system pool.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the client certificate (mutual TLS).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the brokers' certificates.
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// SASL configures SASL authentication. The password comes from exactly one of
// Password, PasswordEnv (an environment variable) or PasswordFile; prefer the
// latter two, which keep it out of onex.yaml. It never appears in logs or
// errors.
type SASL struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty disables SASL.
	Mechanism    string `yaml:"mechanism"`
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
}

// SASL mechanisms.
const (
	MechanismPlain       = "PLAIN"
	MechanismSCRAMSHA256 = "SCRAM-SHA-256"
	MechanismSCRAMSHA512 = "SCRAM-SHA-512"
)

var mechanisms = []string{MechanismPlain, MechanismSCRAMSHA256, MechanismSCRAMSHA512}

// Defaults.
const (
	DefaultClientID          = "onex"
	DefaultMaxInFlight       = 1024
	DefaultMaxPollRecords    = 256
	DefaultCommitInterval    = time.Second
	DefaultRevokeTimeout     = 20 * time.Second
	DefaultSessionTimeout    = 45 * time.Second
	DefaultRebalanceTimeout  = 60 * time.Second
	DefaultHeartbeatInterval = 3 * time.Second

	maxInFlightLimit = 1 << 20
)

// DefaultConfig returns the defaults (no brokers).
func DefaultConfig() Config {
	return Config{
		ClientID:          DefaultClientID,
		CreateTopics:      CreateTopics{ReplicationFactor: -1},
		MaxInFlight:       DefaultMaxInFlight,
		MaxPollRecords:    DefaultMaxPollRecords,
		CommitInterval:    DefaultCommitInterval,
		RevokeTimeout:     DefaultRevokeTimeout,
		SessionTimeout:    DefaultSessionTimeout,
		RebalanceTimeout:  DefaultRebalanceTimeout,
		HeartbeatInterval: DefaultHeartbeatInterval,
	}
}

// Validate checks the values; path is the key path of the section in
// onex.yaml (bus.kafka), f locates the errors (nil is allowed). Every error is
// a RUNTIME-002 naming its key.
func (c Config) Validate(f *config.File, path string) []*diag.ValidationError {
	var errs []*diag.ValidationError
	bad := func(key, format string, args ...any) {
		errs = append(errs, f.Errorf(path+"."+key, format, args...))
	}
	if len(c.Brokers) == 0 {
		bad("brokers", "at least one broker is required (host:port)")
	}
	for i, b := range c.Brokers {
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			bad(fmt.Sprintf("brokers[%d]", i), "broker %q is not host:port", b)
		} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			bad(fmt.Sprintf("brokers[%d]", i), "broker %q has an invalid port", b)
		}
	}
	for _, n := range []struct{ key, name string }{{"group", c.Group}, {"topics.requests", c.Topics.Requests}, {"topics.responses", c.Topics.Responses}, {"topics.dead_letters", c.Topics.DeadLetters}} {
		if n.name != "" && !validName(n.name) {
			bad(n.key, "%q is not a valid Kafka name (letters, digits, '.', '_', '-'; at most 249)", n.name)
		}
	}
	if c.CreateTopics.Partitions < 0 || c.CreateTopics.Partitions > 100000 {
		bad("create_topics.partitions", "must be between 0 (create nothing) and 100000, got %d", c.CreateTopics.Partitions)
	}
	if c.CreateTopics.ReplicationFactor == 0 || c.CreateTopics.ReplicationFactor < -1 || c.CreateTopics.ReplicationFactor > 32767 {
		bad("create_topics.replication_factor", "must be -1 (the broker's default) or between 1 and 32767, got %d", c.CreateTopics.ReplicationFactor)
	}
	if c.MaxInFlight < 1 || c.MaxInFlight > maxInFlightLimit {
		bad("max_in_flight", "must be between 1 and %d, got %d", maxInFlightLimit, c.MaxInFlight)
	}
	if c.MaxPollRecords < 1 || c.MaxPollRecords > c.MaxInFlight {
		bad("max_poll_records", "must be between 1 and max_in_flight (%d), got %d", c.MaxInFlight, c.MaxPollRecords)
	}
	for _, d := range []struct {
		key string
		d   time.Duration
	}{{"commit_interval", c.CommitInterval}, {"revoke_timeout", c.RevokeTimeout}, {"session_timeout", c.SessionTimeout}, {"heartbeat_interval", c.HeartbeatInterval}} {
		if d.d <= 0 {
			bad(d.key, "must be positive, got %s", d.d)
		}
	}
	if c.RebalanceTimeout <= c.RevokeTimeout {
		bad("rebalance_timeout", "must exceed revoke_timeout (%s), got %s", c.RevokeTimeout, c.RebalanceTimeout)
	}
	if c.HeartbeatInterval >= c.SessionTimeout && c.SessionTimeout > 0 {
		bad("heartbeat_interval", "must be shorter than session_timeout (%s), got %s", c.SessionTimeout, c.HeartbeatInterval)
	}
	errs = append(errs, c.TLS.validate(f, path+".tls")...)
	errs = append(errs, c.SASL.validate(f, path+".sasl")...)
	return errs
}

// validName reports whether s is a legal Kafka topic or group name.
func validName(s string) bool {
	if s == "" || len(s) > 249 || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func (t TLS) validate(f *config.File, path string) []*diag.ValidationError {
	var errs []*diag.ValidationError
	if !t.Enabled {
		if t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != "" || t.InsecureSkipVerify {
			errs = append(errs, f.Errorf(path+".enabled", "TLS options are set but tls.enabled is false"))
		}
		return errs
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		errs = append(errs, f.Errorf(path+".cert_file", "cert_file and key_file go together (mutual TLS)"))
	}
	if _, err := t.config(); err != nil {
		errs = append(errs, f.Errorf(path, "%v", err))
	}
	return errs
}

// config builds the TLS configuration, reading the files.
func (t TLS) config() (*tls.Config, error) {
	if !t.Enabled {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // an explicit, documented opt-in
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s holds no PEM certificate", t.CAFile)
		}
		c.RootCAs = pool
	}
	if t.CertFile != "" && t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

func (s SASL) validate(f *config.File, path string) []*diag.ValidationError {
	var errs []*diag.ValidationError
	if s.Mechanism == "" {
		if s.Username != "" || s.Password != "" || s.PasswordEnv != "" || s.PasswordFile != "" {
			errs = append(errs, f.Errorf(path+".mechanism", "SASL credentials are set without a mechanism (valid: %s)", strings.Join(mechanisms, ", ")))
		}
		return errs
	}
	if !validMechanism(s.Mechanism) {
		errs = append(errs, f.Errorf(path+".mechanism", "unknown SASL mechanism %q%s (valid: %s)", s.Mechanism,
			suggest.Hint(strings.ToUpper(s.Mechanism), mechanisms), strings.Join(mechanisms, ", ")))
	}
	if s.Username == "" {
		errs = append(errs, f.Errorf(path+".username", "a username is required with SASL"))
	}
	n := 0
	for _, v := range []string{s.Password, s.PasswordEnv, s.PasswordFile} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		errs = append(errs, f.Errorf(path+".password", "set exactly one of password, password_env or password_file (%d set)", n))
	} else if _, err := s.password(); err != nil {
		errs = append(errs, f.Errorf(path+".password", "%v", err))
	}
	return errs
}

func validMechanism(m string) bool {
	for _, v := range mechanisms {
		if strings.EqualFold(m, v) {
			return true
		}
	}
	return false
}

// password reads the password from where the configuration says. Errors name
// the source, never the value.
func (s SASL) password() (string, error) {
	switch {
	case s.PasswordEnv != "":
		v, ok := os.LookupEnv(s.PasswordEnv)
		if !ok || v == "" {
			return "", fmt.Errorf("environment variable %s (password_env) is not set", s.PasswordEnv)
		}
		return v, nil
	case s.PasswordFile != "":
		b, err := os.ReadFile(s.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("password_file: %w", err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("password_file %s is empty", s.PasswordFile)
		}
		return v, nil
	}
	return s.Password, nil
}

func (s SASL) mechanism() (sasl.Mechanism, error) {
	if s.Mechanism == "" {
		return nil, nil
	}
	pass, err := s.password()
	if err != nil {
		return nil, err
	}
	switch strings.ToUpper(s.Mechanism) {
	case MechanismPlain:
		return plain.Auth{User: s.Username, Pass: pass}.AsMechanism(), nil
	case MechanismSCRAMSHA256:
		return scram.Auth{User: s.Username, Pass: pass}.AsSha256Mechanism(), nil
	case MechanismSCRAMSHA512:
		return scram.Auth{User: s.Username, Pass: pass}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("unknown SASL mechanism %q", s.Mechanism)
}

// clientOpts are the options every client of the bus shares: brokers, client
// id, TLS, SASL and the logger.
func (c Config) clientOpts(logger kgo.Logger) ([]kgo.Opt, error) {
	if len(c.Brokers) == 0 {
		return nil, errors.New("kafka: no brokers configured (bus.kafka.brokers)")
	}
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...), kgo.ClientID(c.ClientID), kgo.WithLogger(logger)}
	tc, err := c.TLS.config()
	if err != nil {
		return nil, fmt.Errorf("kafka: tls: %w", err)
	}
	if tc != nil {
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	m, err := c.SASL.mechanism()
	if err != nil {
		return nil, fmt.Errorf("kafka: sasl: %w", err)
	}
	if m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}
