// Package db is the built-in PostgreSQL handler (import path
// github.com/onexhost/onex/handlers/db), built on pgx.
//
// Verbs: query {sql, parameters} → {columns, rows, row_count, truncated};
// execute {sql, parameters} → {row_count}; transaction {statements:[{sql,
// parameters}], isolation, read_only} → {results, row_count}, all or nothing.
// Every sql is one statement and takes its values only as $n parameters, sent
// separately from the text (never interpolated).
//
// The pool is built in Init on the runtime's egress-guarded dialer (host names
// are resolved by that dialer, so the allowlist sees both the name and the
// address), and the DSN comes from a secret: `dsn: {secret: "db/dsn"}` (resolved
// by the runtime) or `dsn_secret: db/dsn` (read through the scoped reader).
// DSNs never appear in errors or logs.
//
// Config:
//
//	dsn_secret: db/dsn          # or dsn: {secret: "db/dsn"}; at most one; default dsn_secret: db/dsn
//	max_rows: 10000             # rows returned by one query; more → truncated: true
//	statement_timeout: 30s      # enforced by the server (SQLSTATE 57014); 0 = none
//	connect_timeout: 10s
//	max_conns: 4
//	max_statements: 100         # statements in one transaction
//	statement_cache: true       # false for PgBouncer in transaction mode
package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/handlers/internal/grant"
)

// ImportPath is the registry key of this handler's factory.
const ImportPath = "github.com/onexhost/onex/handlers/db"

// Verbs are the verbs the handler implements.
var Verbs = []string{"query", "execute", "transaction"}

func init() {
	handler.Register(handler.Factory{
		ImportPath: ImportPath,
		Verbs:      Verbs,
		New:        New,
		Uses:       handler.Uses{Egress: true, Secrets: true},
		Summary:    "PostgreSQL queries, statements and transactions (pgx)",
	})
}

// Defaults of the config.
const (
	DefaultMaxRows          = 10000
	DefaultStatementTimeout = 30 * time.Second
	DefaultConnectTimeout   = 10 * time.Second
	DefaultMaxConns         = 4
	DefaultMaxStatements    = 100
)

// Config is the handler's config. Durations are Go duration strings ("30s").
type Config struct {
	// DSN is the connection string; write it as a secret reference
	// {secret: "scope/key"} so it never sits in a file.
	DSN string `json:"dsn,omitempty"`
	// DSNSecret names the secret (scope/key) holding the DSN, read at Init
	// through the scoped secret reader. Without DSN and DSNSecret it is db/dsn.
	DSNSecret        string `json:"dsn_secret,omitempty"`
	MaxRows          int    `json:"max_rows,omitempty"`
	StatementTimeout string `json:"statement_timeout,omitempty"`
	ConnectTimeout   string `json:"connect_timeout,omitempty"`
	MaxConns         int    `json:"max_conns,omitempty"`
	MaxStatements    int    `json:"max_statements,omitempty"`
	StatementCache   *bool  `json:"statement_cache,omitempty"`
}

// settings is a validated Config.
type settings struct {
	dsn              string
	dsnSecret        handler.SecretRef
	maxRows          int
	statementTimeout time.Duration
	connectTimeout   time.Duration
	maxConns         int32
	maxStatements    int
	statementCache   bool
}

// parseConfig strictly decodes and validates raw; errors name the key.
func parseConfig(raw json.RawMessage) (settings, error) {
	var c Config
	if err := handler.DecodeStrict(raw, &c); err != nil {
		return settings{}, configError(err)
	}
	s := settings{
		maxRows:          DefaultMaxRows,
		statementTimeout: DefaultStatementTimeout,
		connectTimeout:   DefaultConnectTimeout,
		maxConns:         DefaultMaxConns,
		maxStatements:    DefaultMaxStatements,
		statementCache:   true,
	}
	var errs []error
	switch {
	case c.DSN != "" && c.DSNSecret != "":
		errs = append(errs, errors.New("dsn, dsn_secret: set one of them, not both"))
	case c.DSN == "" && c.DSNSecret == "":
		// The bootstrap table declares the scope "db": with no config the
		// handler reads db/dsn (ONEX_SECRET_DB_DSN with the env provider).
		s.dsnSecret = handler.SecretRef{Scope: "db", Key: "dsn"}
	case c.DSNSecret != "":
		ref, err := handler.ParseSecretRef(c.DSNSecret)
		if err != nil {
			errs = append(errs, fmt.Errorf("dsn_secret: %w", err))
		}
		s.dsnSecret = ref
	default:
		if c.DSN != handler.Redacted && !strings.HasPrefix(c.DSN, "postgres://") &&
			!strings.HasPrefix(c.DSN, "postgresql://") && !strings.Contains(c.DSN, "=") {
			errs = append(errs, errors.New("dsn: not a connection string (postgres://… URL or key=value pairs)"))
		}
		s.dsn = c.DSN
	}
	if c.MaxRows < 0 {
		errs = append(errs, fmt.Errorf("max_rows: must be positive, got %d", c.MaxRows))
	} else if c.MaxRows > 0 {
		s.maxRows = c.MaxRows
	}
	if c.MaxConns < 0 || c.MaxConns > 1000 {
		errs = append(errs, fmt.Errorf("max_conns: must be between 1 and 1000, got %d", c.MaxConns))
	} else if c.MaxConns > 0 {
		s.maxConns = int32(c.MaxConns)
	}
	if c.MaxStatements < 0 {
		errs = append(errs, fmt.Errorf("max_statements: must be positive, got %d", c.MaxStatements))
	} else if c.MaxStatements > 0 {
		s.maxStatements = c.MaxStatements
	}
	if d, err := parseDuration("statement_timeout", c.StatementTimeout, s.statementTimeout); err != nil {
		errs = append(errs, err)
	} else {
		s.statementTimeout = d
	}
	if d, err := parseDuration("connect_timeout", c.ConnectTimeout, s.connectTimeout); err != nil {
		errs = append(errs, err)
	} else if d == 0 {
		errs = append(errs, errors.New("connect_timeout: must be positive"))
	} else {
		s.connectTimeout = d
	}
	if c.StatementCache != nil {
		s.statementCache = *c.StatementCache
	}
	return s, errors.Join(errs...)
}

func parseDuration(key, v string, def time.Duration) (time.Duration, error) {
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s: %q is not a non-negative duration such as 30s", key, v)
	}
	return d, nil
}

func configError(err error) error {
	var he *handler.Error
	if errors.As(err, &he) && he.Field != "" {
		return fmt.Errorf("%s: %s", he.Field, he.Message)
	}
	if errors.As(err, &he) {
		return errors.New(he.Message)
	}
	return err
}

// DB is the PostgreSQL handler.
type DB struct {
	cfg   settings
	pool  *pgxpool.Pool
	types typeLoader
}

var (
	_ handler.Handler       = (*DB)(nil)
	_ handler.Initializer   = (*DB)(nil)
	_ handler.Closer        = (*DB)(nil)
	_ handler.HealthChecker = (*DB)(nil)
)

// New validates config and returns a handler; it does no I/O.
func New(config json.RawMessage) (handler.Handler, error) {
	cfg, err := parseConfig(config)
	if err != nil {
		return nil, err
	}
	return &DB{cfg: cfg}, nil
}

// Init builds the connection pool on the granted dialer and checks that the
// database answers.
func (h *DB) Init(ctx context.Context, env *handler.InitEnv) error {
	// The runtime hands the config with secret references resolved.
	cfg, err := grant.Config(env, h.cfg, parseConfig)
	if err != nil {
		return err
	}
	dialer, err := grant.Dialer(env, "database")
	if err != nil {
		return err
	}
	dsn, err := grant.Secret(ctx, env, "dsn", cfg.dsn, cfg.dsnSecret)
	if err != nil {
		return err
	}
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message quotes the connection string: keep it out.
		return errors.New("dsn: cannot be parsed as a PostgreSQL connection string")
	}
	cc := pc.ConnConfig
	cc.DialFunc = dialer.DialContext
	// Hand the host name to the guarded dialer unresolved: it resolves it
	// itself and checks the name and every address against the allowlist.
	cc.LookupFunc = func(_ context.Context, host string) ([]string, error) { return []string{host}, nil }
	cc.ConnectTimeout = cfg.connectTimeout
	if cfg.statementTimeout > 0 {
		cc.RuntimeParams["statement_timeout"] = strconv.FormatInt(cfg.statementTimeout.Milliseconds(), 10)
	}
	// Extended protocol only: the server then refuses several statements in
	// one sql, and values never travel inside the text.
	cc.DefaultQueryExecMode = pgx.QueryExecModeCacheStatement
	if !cfg.statementCache {
		cc.DefaultQueryExecMode = pgx.QueryExecModeDescribeExec
	}
	pc.MaxConns = cfg.maxConns
	pc.AfterConnect = registerJSONCodecs
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return errors.New("cannot create the connection pool")
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return fmt.Errorf("connect to the database: %w", sanitizeConnectError(err))
	}
	h.cfg, h.pool = cfg, pool
	return nil
}

// Close closes the pool.
func (h *DB) Close(context.Context) error {
	if h.pool != nil {
		h.pool.Close()
	}
	return nil
}

// Health pings the database.
func (h *DB) Health(ctx context.Context) error {
	if h.pool == nil {
		return errors.New("not initialised")
	}
	if err := h.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping: %w", sanitizeConnectError(err))
	}
	return nil
}

// Statement is one sql with its $n parameters.
type Statement struct {
	SQL        string            `json:"sql"`
	Parameters []json.RawMessage `json:"parameters,omitempty"`
}

// TransactionPayload is the payload of transaction.
type TransactionPayload struct {
	Statements []Statement `json:"statements"`
	// Isolation is read_committed (the default), repeatable_read or serializable.
	Isolation string `json:"isolation,omitempty"`
	ReadOnly  bool   `json:"read_only,omitempty"`
}

// The results are rendered straight into JSON bytes (a json.RawMessage the
// runtime copies into the response after checking it), row by row while pgx
// reads them, in these shapes:
//
//	query        {"columns":[…],"rows":[{col:val,…},…],"row_count":N,"truncated":true}
//	execute      {"row_count":N}
//	transaction  {"results":[…],"row_count":N}
//
// truncated appears only when the row cap was hit. Each result of a
// transaction is the query shape for a statement that returns rows (INSERT …
// RETURNING included; rows omitted when there are none), else {"row_count":N}
// with the affected count; the transaction's row_count is their sum.

// Handle runs one verb.
func (h *DB) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	if h.pool == nil {
		return handler.Output{}, handler.Failed(nil, "the database handler is not initialised")
	}
	switch inv.Verb() {
	case "query":
		p, err := decodeStatement(inv.Payload())
		if err != nil {
			return handler.Output{}, err
		}
		st, err := prepare(p, "")
		if err != nil {
			return handler.Output{}, err
		}
		// One connection for the whole query: loading types for its result
		// (types.go) happens on it after the rows are read, which with the
		// pool's own Query would already have gone back to the pool.
		conn, err := h.pool.Acquire(ctx)
		if err != nil {
			return handler.Output{}, mapError(err, "")
		}
		defer conn.Release()
		res, _, err := h.appendQuery(ctx, conn.Conn(), st, "", false, make([]byte, 0, resultBufferSize))
		if err != nil {
			return handler.Output{}, err
		}
		return handler.Output{Result: json.RawMessage(res)}, nil
	case "execute":
		p, err := decodeStatement(inv.Payload())
		if err != nil {
			return handler.Output{}, err
		}
		st, err := prepare(p, "")
		if err != nil {
			return handler.Output{}, err
		}
		tag, err := retryArrays(&st, func() (pgconn.CommandTag, error) { return h.pool.Exec(ctx, st.sql, st.params()...) })
		if err != nil {
			return handler.Output{}, mapError(err, "")
		}
		return handler.Output{Result: json.RawMessage(appendRowCount(nil, tag.RowsAffected()))}, nil
	case "transaction":
		p, err := decodeTransaction(inv.Payload())
		if err != nil {
			return handler.Output{}, err
		}
		res, err := h.transaction(ctx, p)
		if err != nil {
			return handler.Output{}, err
		}
		return handler.Output{Result: json.RawMessage(res)}, nil
	}
	return handler.Output{}, handler.Failed(nil, "verb %q is not implemented by the database handler", inv.Verb())
}

// resultBufferSize is the first size of a result buffer: a few rows fit
// without growing it.
const resultBufferSize = 1024

// appendRowCount appends {"row_count":n}.
func appendRowCount(dst []byte, n int64) []byte {
	dst = append(dst, `{"row_count":`...)
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, '}')
}

// querier is what a connection and a transaction share.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// statement is a checked Statement, ready to send.
type statement struct {
	sql  string
	args []any // resultFormats, then the parameters
}

// params are the parameters alone, for Exec (which takes no result formats).
func (s statement) params() []any { return s.args[1:] }

// prepare checks one statement's shape and converts its parameters; prefix is
// the payload path of the statement ("" or "statements[2].").
func prepare(p Statement, prefix string) (statement, error) {
	shape, err := scanSQL(p.SQL)
	if err != nil {
		return statement{}, handler.InvalidPayload(prefix+"sql", "%v", err)
	}
	if shape.maxParam != len(p.Parameters) {
		return statement{}, handler.InvalidPayload(prefix+"parameters",
			"sql uses %d placeholder(s) ($1..$%d), %d parameter(s) given", shape.maxParam, shape.maxParam, len(p.Parameters))
	}
	args, err := convertParameters(p.Parameters, prefix)
	if err != nil {
		return statement{}, err
	}
	return statement{sql: p.SQL, args: args}, nil
}

// appendQuery runs st and appends its result to dst (the shapes above; inTx
// selects a transaction's statement shape). It returns the statement's
// row_count. On error dst comes back as it was.
func (h *DB) appendQuery(ctx context.Context, q querier, st statement, prefix string, inTx bool, dst []byte) ([]byte, int64, error) {
	rows, err := retryArrays(&st, func() (pgx.Rows, error) { return q.Query(ctx, st.sql, st.args...) })
	if err != nil {
		return dst, 0, mapError(err, prefix)
	}
	defer rows.Close()
	m := rows.Conn().TypeMap()
	fds := rows.FieldDescriptions()
	var src rowSource = liveRows{rows}
	if unknown := h.types.unknown(m, fds); len(unknown) > 0 {
		// Types this connection has not loaded (types.go): read the rows as
		// sent, load the types once the connection is free, then render.
		b, err := readAhead(rows, h.cfg.maxRows)
		if err != nil {
			return dst, 0, mapError(err, prefix)
		}
		h.types.load(ctx, rows.Conn(), unknown)
		b.m, fds, src = m, b.fds, b
	}
	cols, err := newColumns(m, fds)
	if err != nil {
		return dst, 0, handler.InvalidPayload(prefix+"sql", "%v", err)
	}
	start := len(dst)
	withColumns := !inTx || len(cols) > 0
	if withColumns {
		dst = cols.appendNames(append(dst, `{"columns":`...))
		dst = append(dst, `,"rows":[`...)
	}
	n, truncated := 0, false
	for src.next() {
		if n == h.cfg.maxRows {
			truncated = true
			break
		}
		vals, err := src.values()
		if err != nil {
			return dst[:start], 0, mapError(err, prefix)
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		if dst, err = cols.appendRow(dst, m, vals, src.raw()); err != nil {
			return dst[:start], 0, handler.Failed(err, "cannot render the result: %v", err)
		}
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return dst[:start], 0, mapError(err, prefix)
	}
	if !withColumns {
		affected := rows.CommandTag().RowsAffected()
		return appendRowCount(dst, affected), affected, nil
	}
	if inTx && n == 0 {
		dst = dst[:len(dst)-len(`,"rows":[`)] // a transaction's result omits empty rows
	} else {
		dst = append(dst, ']')
	}
	dst = append(dst, `,"row_count":`...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	if truncated {
		dst = append(dst, `,"truncated":true`...)
	}
	return append(dst, '}'), int64(n), nil
}

var isolationLevels = map[string]pgx.TxIsoLevel{
	"":                "",
	"read_committed":  pgx.ReadCommitted,
	"repeatable_read": pgx.RepeatableRead,
	"serializable":    pgx.Serializable,
}

func (h *DB) transaction(ctx context.Context, p TransactionPayload) ([]byte, error) {
	if len(p.Statements) == 0 {
		return nil, handler.InvalidPayload("statements", "at least one statement is required")
	}
	if len(p.Statements) > h.cfg.maxStatements {
		return nil, handler.InvalidPayload("statements", "%d statements, more than max_statements (%d)", len(p.Statements), h.cfg.maxStatements)
	}
	iso, ok := isolationLevels[p.Isolation]
	if !ok {
		return nil, handler.InvalidPayload("isolation", "unknown isolation %q (read_committed, repeatable_read, serializable)", p.Isolation)
	}
	// Check every statement before opening the transaction.
	sts := make([]statement, len(p.Statements))
	for i, s := range p.Statements {
		st, err := prepare(s, fmt.Sprintf("statements[%d].", i))
		if err != nil {
			return nil, err
		}
		sts[i] = st
	}
	opts := pgx.TxOptions{IsoLevel: iso}
	if p.ReadOnly {
		opts.AccessMode = pgx.ReadOnly
	}
	tx, err := h.pool.BeginTx(ctx, opts)
	if err != nil {
		return nil, mapError(err, "")
	}
	// Rolled back on every early return; a no-op after Commit.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	out := append(make([]byte, 0, resultBufferSize), `{"results":[`...)
	var total int64
	for i, st := range sts {
		if i > 0 {
			out = append(out, ',')
		}
		var n int64
		if out, n, err = h.appendQuery(ctx, tx, st, fmt.Sprintf("statements[%d].", i), true, out); err != nil {
			return nil, rolledBack(err, i)
		}
		total += n
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, rolledBack(mapError(err, ""), len(sts))
	}
	out = append(out, `],"row_count":`...)
	out = strconv.AppendInt(out, total, 10)
	return append(out, '}'), nil
}

// rolledBack marks a handler error as having rolled the transaction back.
func rolledBack(err error, statement int) error {
	var he *handler.Error
	if !errors.As(err, &he) {
		return err
	}
	if he.Details == nil {
		he.Details = map[string]any{}
	}
	he.Details["rolled_back"] = true
	he.Details["statement"] = statement
	return he
}
