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

	lru "github.com/hashicorp/golang-lru/v2"
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
	descs *lru.Cache[string, *pgconn.StatementDescription] // by sql (params.go)
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
	descs, err := lru.New[string, *pgconn.StatementDescription](describeCacheSize)
	if err != nil {
		return nil, err
	}
	return &DB{cfg: cfg, descs: descs}, nil
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
	// one sql, and values never travel inside the text. With the statement
	// cache off (PgBouncer in transaction mode), pgx describes every
	// statement again and prepares none by name.
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

// The results are Go values the runtime encodes, in these shapes:
//
//	query        {"columns":[…],"rows":[{col:val,…},…],"row_count":N,"truncated":true}
//	execute      {"row_count":N}
//	transaction  {"results":[…],"row_count":N}
//
// truncated appears only when the row cap was hit. Each result of a
// transaction is the query shape for a statement that returns rows (INSERT …
// RETURNING included; rows omitted when there are none), else {"row_count":N}
// with the affected count; the transaction's row_count is their sum. The
// members keep this order and the rows their columns' order: they are
// handler.Object and handler.Rows values.

// result is the result of query and execute, and of one statement of a
// transaction.
type result struct {
	Columns   []string      // nil: not in the result
	Rows      *handler.Rows // nil: not in the result
	RowCount  int64
	Truncated bool
}

// value is the result as the runtime encodes it.
func (r result) value() handler.Object {
	o := make(handler.Object, 0, 4)
	if r.Columns != nil {
		o = append(o, handler.Member{Name: "columns", Value: r.Columns})
	}
	if r.Rows != nil {
		o = append(o, handler.Member{Name: "rows", Value: *r.Rows})
	}
	o = append(o, handler.Member{Name: "row_count", Value: r.RowCount})
	if r.Truncated {
		o = append(o, handler.Member{Name: "truncated", Value: true})
	}
	return o
}

// transactionResult is the result of transaction.
type transactionResult struct {
	Results  []result
	RowCount int64
}

// value is the result as the runtime encodes it.
func (t transactionResult) value() handler.Object {
	results := make([]any, len(t.Results))
	for i, r := range t.Results {
		results[i] = r.value()
	}
	return handler.Object{{Name: "results", Value: results}, {Name: "row_count", Value: t.RowCount}}
}

// Handle runs one verb.
func (h *DB) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	if h.pool == nil {
		return handler.Output{}, handler.Failed(nil, "the database handler is not initialised")
	}
	var res handler.Object
	switch inv.Verb() {
	case "query", "execute":
		var p Statement
		if err := inv.Decode(&p); err != nil {
			return handler.Output{}, err
		}
		r, err := h.statement(ctx, p, inv.Verb() == "query")
		if err != nil {
			return handler.Output{}, err
		}
		res = r.value()
	case "transaction":
		var p TransactionPayload
		if err := inv.Decode(&p); err != nil {
			return handler.Output{}, err
		}
		r, err := h.transaction(ctx, p)
		if err != nil {
			return handler.Output{}, err
		}
		res = r.value()
	default:
		return handler.Output{}, handler.Failed(nil, "verb %q is not implemented by the database handler", inv.Verb())
	}
	return handler.Output{Result: res}, nil
}

// statement runs the statement of query (rows true) or execute.
func (h *DB) statement(ctx context.Context, p Statement, rows bool) (result, error) {
	if strings.TrimSpace(p.SQL) == "" {
		return result{}, handler.InvalidPayload("sql", "%v", errEmptySQL)
	}
	// One connection for the whole statement: describing it, loading the
	// types of its columns and running it.
	conn, err := h.pool.Acquire(ctx)
	if err != nil {
		return result{}, mapError(err, "")
	}
	defer conn.Release()
	mode := modeQuery
	if !rows {
		mode = modeExecute
	}
	return h.run(ctx, conn.Conn(), p, "", mode)
}

// runMode says what a statement's result is made of.
type runMode uint8

const (
	modeQuery       runMode = iota // columns and rows, always
	modeExecute                    // the affected row count alone
	modeTransaction                // columns and rows when it has columns, else the affected count
)

// run describes p on conn, runs it and returns its result; prefix is the
// payload path of the statement ("" or "statements[2].").
func (h *DB) run(ctx context.Context, conn *pgx.Conn, p Statement, prefix string, mode runMode) (result, error) {
	sd, err := h.describe(ctx, conn, p.SQL)
	if err != nil {
		return result{}, mapError(err, prefix)
	}
	m := conn.TypeMap()
	args, err := parameters(m, sd.ParamOIDs, p.Parameters, prefix)
	if err != nil {
		return result{}, err
	}
	withRows := mode == modeQuery || (mode == modeTransaction && len(sd.Fields) > 0)
	if withRows {
		if err := distinctNames(sd.Fields); err != nil {
			return result{}, handler.InvalidPayload(prefix+"sql", "%v", err)
		}
		if unknown := h.types.unknown(m, sd.Fields); len(unknown) > 0 {
			h.types.load(ctx, conn, unknown)
		}
	}
	res, err := h.read(ctx, conn, p.SQL, args, withRows)
	if err != nil || (withRows && !sameColumns(sd.Fields, res.cols)) {
		// As pgx drops a statement that failed from its cache: the schema
		// may have changed under the description, which is asked again
		// next time.
		h.descs.Remove(p.SQL)
	}
	if err != nil {
		return result{}, mapError(err, prefix)
	}
	if res.tag.String() == "" {
		// The protocol's empty query response: only comments or semicolons.
		return result{}, handler.InvalidPayload(prefix+"sql", "%v", errEmptySQL)
	}
	if !withRows {
		return result{RowCount: res.tag.RowsAffected()}, nil
	}
	out := result{Columns: res.rows.Columns, Rows: &res.rows, RowCount: int64(len(res.rows.Values)), Truncated: res.truncated}
	if mode == modeTransaction && len(res.rows.Values) == 0 {
		out.Rows = nil // a transaction's result omits empty rows
	}
	return out, nil
}

// sameColumns reports whether the columns read are the ones described.
func sameColumns(fds []pgconn.FieldDescription, cols columns) bool {
	if len(fds) != len(cols) {
		return false
	}
	for i, fd := range fds {
		if fd.Name != cols[i].name || fd.DataTypeOID != cols[i].oid {
			return false
		}
	}
	return true
}

// readResult is what running a statement gave.
type readResult struct {
	cols      columns
	rows      handler.Rows
	truncated bool
	tag       pgconn.CommandTag
}

// read runs sql with args on conn and, with withRows, reads at most max_rows
// of its rows as JSON-ready values.
func (h *DB) read(ctx context.Context, conn *pgx.Conn, sql string, args []any, withRows bool) (readResult, error) {
	// Query, not Exec, for every statement: pgx runs a statement without
	// arguments through the simple protocol in Exec, which would take
	// several statements in one sql.
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		return readResult{}, err
	}
	defer rows.Close()
	var res readResult
	if withRows {
		m := conn.TypeMap()
		res.cols = newColumns(m, rows.FieldDescriptions())
		// The values of every row in one slice, cut into rows at the end;
		// room for a few rows from the start.
		cells := make([]any, 0, len(res.cols)*min(h.cfg.maxRows, 16))
		n := 0
		for rows.Next() {
			if n == h.cfg.maxRows {
				res.truncated = true
				break
			}
			vals, err := rows.Values()
			if err != nil {
				return readResult{}, err
			}
			if cells, err = res.cols.appendRow(cells, m, vals, rows.RawValues()); err != nil {
				return readResult{}, handler.Failed(err, "cannot render the result: %v", err)
			}
			n++
		}
		res.rows = res.cols.rows(cells, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return readResult{}, err
	}
	res.tag = rows.CommandTag()
	return res, nil
}

var isolationLevels = map[string]pgx.TxIsoLevel{
	"":                "",
	"read_committed":  pgx.ReadCommitted,
	"repeatable_read": pgx.RepeatableRead,
	"serializable":    pgx.Serializable,
}

func (h *DB) transaction(ctx context.Context, p TransactionPayload) (transactionResult, error) {
	if len(p.Statements) == 0 {
		return transactionResult{}, handler.InvalidPayload("statements", "at least one statement is required")
	}
	if len(p.Statements) > h.cfg.maxStatements {
		return transactionResult{}, handler.InvalidPayload("statements", "%d statements, more than max_statements (%d)", len(p.Statements), h.cfg.maxStatements)
	}
	iso, ok := isolationLevels[p.Isolation]
	if !ok {
		return transactionResult{}, handler.InvalidPayload("isolation", "unknown isolation %q (read_committed, repeatable_read, serializable)", p.Isolation)
	}
	for i, s := range p.Statements {
		if strings.TrimSpace(s.SQL) == "" {
			return transactionResult{}, handler.InvalidPayload(fmt.Sprintf("statements[%d].sql", i), "%v", errEmptySQL)
		}
	}
	opts := pgx.TxOptions{IsoLevel: iso}
	if p.ReadOnly {
		opts.AccessMode = pgx.ReadOnly
	}
	conn, err := h.pool.Acquire(ctx)
	if err != nil {
		return transactionResult{}, mapError(err, "")
	}
	defer conn.Release()
	tx, err := conn.BeginTx(ctx, opts)
	if err != nil {
		return transactionResult{}, mapError(err, "")
	}
	// Rolled back on every early return; a no-op after Commit.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	// Each statement is described when its turn comes, inside the
	// transaction: it may use what an earlier one created.
	out := transactionResult{Results: make([]result, len(p.Statements))}
	for i, s := range p.Statements {
		r, err := h.run(ctx, tx.Conn(), s, fmt.Sprintf("statements[%d].", i), modeTransaction)
		if err != nil {
			return transactionResult{}, rolledBack(err, i)
		}
		out.Results[i] = r
		out.RowCount += r.RowCount
	}
	if err := tx.Commit(ctx); err != nil {
		return transactionResult{}, rolledBack(mapError(err, ""), len(p.Statements))
	}
	return out, nil
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
