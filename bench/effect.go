package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Environment of the PostgreSQL the harness uses (scripts/pg.sh exports both).
const (
	envPGDSN     = "ONEX_TEST_PG_DSN"
	envRequirePG = "ONEX_REQUIRE_PG"
)

// Fixed, canonical ids for the synchronous effect envelopes: the runtime keeps
// canonical ids without re-encoding them, and a fixed id keeps the envelope
// the same size every time.
const (
	effectEnvelopeID    = "5f0c6f64-1c1e-4c55-9d3c-6f8b0a6a1a01"
	effectCorrelationID = "5f0c6f64-1c1e-4c55-9d3c-6f8b0a6a1a02"
)

// latencySide runs op n times on the calling goroutine and returns the mean
// time per operation in nanoseconds. Only op is timed: check (the harness's
// verification of the answer) runs on every answer after the round.
func latencySide[T any](n int, op func() (T, error), check func(T) error) Side {
	return func(ctx context.Context, _ int) (Sample, error) {
		// Answers are checked after the round, not between operations: the
		// check's own garbage (decoding a response envelope) would otherwise be
		// collected during the next timed operation of one side only.
		vals := make([]T, 0, n)
		var total time.Duration
		for i := range n {
			if ctx.Err() != nil {
				return Sample{}, ctx.Err()
			}
			start := time.Now()
			v, err := op()
			total += time.Since(start)
			if err != nil {
				return Sample{}, fmt.Errorf("operation %d: %w", i, err)
			}
			vals = append(vals, v)
		}
		for i, v := range vals {
			if err := check(v); err != nil {
				return Sample{}, fmt.Errorf("operation %d: %w", i, err)
			}
		}
		return Sample{Value: float64(total.Nanoseconds()) / float64(n), Allocs: -1}, nil
	}
}

// envelopeFor builds a request envelope with the fixed effect ids.
func envelopeFor(operation, payload string) []byte {
	return []byte(`{"envelope_id":"` + effectEnvelopeID + `","correlation_id":"` + effectCorrelationID +
		`","operation":"` + operation + `","payload":` + payload + `,"data_classification":"internal"}`)
}

// successResult checks a response envelope of the fixed effect request and
// returns its result.
func successResult(raw []byte, operation string) (json.RawMessage, error) {
	var r responseView
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, wrongf("malformed response %.120q: %v", raw, err)
	}
	if !r.Success || r.Status != "success" || r.Error != nil {
		msg := ""
		if r.Error != nil {
			msg = r.Error.RuleID + ": " + r.Error.Message
		}
		return nil, wrongf("%s failed: %s", operation, msg)
	}
	if r.InReplyTo != effectEnvelopeID || r.CorrelationID != effectCorrelationID || r.Operation != operation {
		return nil, wrongf("response answers %s/%s (%s), want %s/%s (%s)", r.InReplyTo, r.CorrelationID, r.Operation,
			effectEnvelopeID, effectCorrelationID, operation)
	}
	return r.Result, nil
}

// dbRows is how many rows the db workload's query returns; the table holds
// dbTableRows.
const (
	dbRows      = 10
	dbTableRows = 100
)

// dbWorkload measures workload 3a: the db handler through the whole host
// (envelope in, JSON response out) against raw pgx running the same query on
// a pool of the same size and reading every value, on the same PostgreSQL.
func dbWorkload(ctx context.Context, o Options) Row {
	p := Pair{Name: "effect: db.query vs raw pgx (10 rows)", Format: latency, Target: Target{AtMost, 1.15}}
	dsn := os.Getenv(envPGDSN)
	if dsn == "" {
		if os.Getenv(envRequirePG) == "1" {
			return ErrorRow(p.Name, p.Target, fmt.Errorf("%s=1 but %s is not set", envRequirePG, envPGDSN))
		}
		return UnavailableRow(p.Name, "n/a", p.Target, "no PostgreSQL: set "+envPGDSN+" (scripts/bench.sh starts one)")
	}
	row, err := runDB(ctx, o, p, dsn)
	if err != nil {
		return ErrorRow(p.Name, p.Target, err)
	}
	return row
}

func runDB(ctx context.Context, o Options, p Pair, dsn string) (_ Row, err error) {
	const maxConns = 4
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return Row{}, errors.New("parse the PostgreSQL DSN: invalid") // never echo the DSN
	}
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return Row{}, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer pool.Close()
	schema := fmt.Sprintf("onexbench_%d_%d", os.Getpid(), time.Now().UnixNano())
	setup := []string{
		"CREATE SCHEMA " + schema,
		"CREATE TABLE " + schema + ".items (id int PRIMARY KEY, name text, price numeric, updated timestamptz)",
		"INSERT INTO " + schema + ".items SELECT g, 'item ' || g, g * 1.25, '2024-01-01'::timestamptz + g * interval '1 hour' FROM generate_series(1, " + strconv.Itoa(dbTableRows) + ") g",
	}
	for _, s := range setup {
		if _, err := pool.Exec(ctx, s); err != nil {
			return Row{}, fmt.Errorf("set up the table: %w", err)
		}
	}
	defer func() {
		if _, derr := pool.Exec(context.WithoutCancel(ctx), "DROP SCHEMA "+schema+" CASCADE"); derr != nil && err == nil {
			err = fmt.Errorf("drop the schema: %w", derr)
		}
	}()
	sql := "SELECT id, name, price, updated FROM " + schema + ".items WHERE id <= $1 ORDER BY id"

	host, port := cfg.ConnConfig.Host, cfg.ConnConfig.Port
	dir, err := os.MkdirTemp("", "onexbench-db-")
	if err != nil {
		return Row{}, err
	}
	defer os.RemoveAll(dir)
	contract := `contract_version: "1.0.0"
handler_identity: {name: bench-db, version: "1.0.0"}
description: PostgreSQL for the benchmark.
handler_type: infra_handler
handler_type_category: effect
capabilities: [idempotent]
commands_accepted: [db.query]
implementation: {import_path: github.com/onexhost/onex/handlers/db}
config: {dsn: {secret: "benchdb/dsn"}, max_conns: ` + strconv.Itoa(maxConns) + `}
security:
  allowed_domains: ["` + net.JoinHostPort(host, strconv.Itoa(int(port))) + `"]
  secret_scopes: [benchdb]
  data_classification: internal
`
	if err := writeContracts(dir, map[string]string{"db": contract}); err != nil {
		return Row{}, err
	}
	h, enf, err := startHost(ctx, dir, nil, mapSecrets{"benchdb/dsn": dsn})
	if err != nil {
		return Row{}, err
	}
	defer func() {
		if serr := stopHost(context.WithoutCancel(ctx), h, enf); serr != nil && err == nil {
			err = serr
		}
	}()

	n := o.scaled(4_000)
	req := envelopeFor("db.query", `{"sql":"`+sql+`","parameters":[`+strconv.Itoa(dbRows)+`]}`)
	p.Onex = latencySide(n, func() ([]byte, error) { return h.Dispatch(ctx, req), nil }, checkDBResponse)
	p.Peer = latencySide(n, func() ([][]any, error) { return rawQuery(ctx, pool, sql) }, checkRawRows)
	res, err := o.profiled("db", func() (PairResult, error) { return Interleave(ctx, o.Rounds, p.Onex, p.Peer) })
	if err != nil {
		return Row{}, err
	}
	return PairRow(p, res), nil
}

// rawQuery is what a program using pgx directly does: run the query, decode
// every value of every row.
func rawQuery(ctx context.Context, pool *pgxpool.Pool, sql string) ([][]any, error) {
	rows, err := pool.Query(ctx, sql, dbRows)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]any, error) { return r.Values() })
}

// checkRawRows checks raw pgx's rows: ids 1..10 and their names.
func checkRawRows(rows [][]any) error {
	if len(rows) != dbRows {
		return wrongf("raw pgx returned %d rows, want %d", len(rows), dbRows)
	}
	for i, r := range rows {
		id, ok := r[0].(int32)
		if !ok || int(id) != i+1 || r[1] != "item "+strconv.Itoa(i+1) {
			return wrongf("raw pgx row %d is %v", i, r)
		}
		if n, ok := r[2].(pgtype.Numeric); !ok || !n.Valid || n.Int.Cmp(big.NewInt(int64(125*(i+1)))) != 0 || n.Exp != -2 {
			return wrongf("raw pgx row %d price is %v", i, r[2])
		}
	}
	return nil
}

// checkDBResponse checks the db.query response: 10 rows, ids 1..10 with their
// names, not truncated.
func checkDBResponse(raw []byte) error {
	result, err := successResult(raw, "db.query")
	if err != nil {
		return err
	}
	var r struct {
		Rows []struct {
			ID    int    `json:"id"`
			Name  string `json:"name"`
			Price any    `json:"price"`
		} `json:"rows"`
		RowCount  int  `json:"row_count"`
		Truncated bool `json:"truncated"`
	}
	if err := json.Unmarshal(result, &r); err != nil {
		return wrongf("db.query result %.120s: %v", result, err)
	}
	if r.RowCount != dbRows || len(r.Rows) != dbRows || r.Truncated {
		return wrongf("db.query returned row_count %d, %d rows, truncated %v; want %d rows", r.RowCount, len(r.Rows), r.Truncated, dbRows)
	}
	for i, row := range r.Rows {
		if row.ID != i+1 || row.Name != "item "+strconv.Itoa(i+1) || row.Price == nil {
			return wrongf("db.query row %d is %+v", i, row)
		}
	}
	return nil
}

// httpBody is what the local server answers.
const httpBody = `{"id":1,"name":"apple","tags":["a","b"]}`

// httpWorkload measures workload 3b: the http handler through the whole host
// against a plain net/http client doing the same GET on the same local server.
func httpWorkload(ctx context.Context, o Options) Row {
	p := Pair{Name: "effect: http.get vs raw net/http", Format: latency, Target: Target{AtMost, 1.10}}
	row, err := runHTTP(ctx, o, p)
	if err != nil {
		return ErrorRow(p.Name, p.Target, err)
	}
	return row
}

func runHTTP(ctx context.Context, o Options, p Pair) (_ Row, err error) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/items/1" || r.URL.Query().Get("v") != "1" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, httpBody)
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	dir, err := os.MkdirTemp("", "onexbench-http-")
	if err != nil {
		return Row{}, err
	}
	defer os.RemoveAll(dir)
	contract := `contract_version: "1.0.0"
handler_identity: {name: bench-http, version: "1.0.0"}
description: Calls the local benchmark server.
handler_type: infra_handler
handler_type_category: effect
capabilities: [idempotent]
commands_accepted: [http.get]
implementation: {import_path: github.com/onexhost/onex/handlers/httpout}
config: {base_url: "` + srv.URL + `", timeout: 10s}
security:
  allowed_domains: ["` + addr + `"]
  data_classification: internal
`
	if err := writeContracts(dir, map[string]string{"http": contract}); err != nil {
		return Row{}, err
	}
	h, enf, err := startHost(ctx, dir, nil, nil)
	if err != nil {
		return Row{}, err
	}
	defer func() {
		if serr := stopHost(context.WithoutCancel(ctx), h, enf); serr != nil && err == nil {
			err = serr
		}
	}()
	client := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()

	n := o.scaled(10_000)
	req := envelopeFor("http.get", `{"path":"/items/1","query":{"v":"1"}}`)
	p.Onex = latencySide(n, func() ([]byte, error) { return h.Dispatch(ctx, req), nil }, checkHTTPResponse)
	p.Peer = latencySide(n, func() (rawHTTP, error) { return rawGet(ctx, client, srv.URL+"/items/1?v=1") }, checkRawHTTP)
	res, err := o.profiled("http", func() (PairResult, error) { return Interleave(ctx, o.Rounds, p.Onex, p.Peer) })
	if err != nil {
		return Row{}, err
	}
	return PairRow(p, res), nil
}

type rawHTTP struct {
	status int
	body   []byte
}

// rawGet is what a program using net/http directly does: GET, read the body.
func rawGet(ctx context.Context, c *http.Client, url string) (rawHTTP, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return rawHTTP{}, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return rawHTTP{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return rawHTTP{status: resp.StatusCode, body: body}, err
}

func checkRawHTTP(r rawHTTP) error {
	if r.status != http.StatusOK || string(r.body) != httpBody {
		return wrongf("raw GET answered %d %.80q", r.status, r.body)
	}
	return nil
}

// checkHTTPResponse checks the http.get response: status 200 and the server's
// JSON body.
func checkHTTPResponse(raw []byte) error {
	result, err := successResult(raw, "http.get")
	if err != nil {
		return err
	}
	var r struct {
		StatusCode int             `json:"status_code"`
		Body       json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(result, &r); err != nil {
		return wrongf("http.get result %.120s: %v", result, err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, r.Body); err != nil || r.StatusCode != http.StatusOK || compact.String() != httpBody {
		return wrongf("http.get answered %d %.80s", r.StatusCode, r.Body)
	}
	return nil
}
