package db

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onexhost/onex/envelope"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/testkit"
)

// BenchmarkHandlerVsPgx measures db.query, its result encoded as the runtime
// encodes it, against raw pgx running the same query on a pool of the same
// size, each reading every value of every row.
// The two alternate inside each iteration (testkit.Compare); the ratio target
// is ≤ 1.15.
func BenchmarkHandlerVsPgx(b *testing.B) {
	dsn, _ := testkit.PostgresSchema(b)
	raw, _ := json.Marshal(map[string]any{"dsn": dsn, "max_conns": 2})
	hh, err := New(raw)
	if err != nil {
		b.Fatal(err)
	}
	h := hh.(*DB)
	if err := h.Init(context.Background(), handler.NewInitEnv(handler.InitParams{Config: raw, Capabilities: handler.Capabilities{Dialer: plainDialer}})); err != nil {
		b.Fatal(err)
	}
	defer h.Close(context.Background())
	ctx := context.Background()
	setup := []string{
		"CREATE TABLE items (id int PRIMARY KEY, name text, price numeric, updated timestamptz)",
		"INSERT INTO items SELECT g, 'item ' || g, g * 1.25, '2024-01-01'::timestamptz + g * interval '1 hour' FROM generate_series(1, 100) g",
	}
	for _, s := range setup {
		if _, err := h.pool.Exec(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
	const sql = "SELECT id, name, price, updated FROM items WHERE id <= $1 ORDER BY id"
	pool, err := pgxpool.New(ctx, dsn+"&pool_max_conns=2")
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	inv := handler.NewInvocation(handler.InvocationParams{Operation: "db.query", Payload: json.RawMessage(`{"sql":"` + sql + `","parameters":[10]}`)})
	var res []byte
	viaHandler := func() {
		out, err := h.Handle(ctx, inv)
		if err != nil {
			b.Fatal(err)
		}
		// The runtime encodes the result.
		if res, err = envelope.AppendResult(res[:0], out.Result); err != nil || !bytes.HasSuffix(res, []byte(`,"row_count":10}`)) {
			b.Fatalf("result %s, %v", res, err)
		}
	}
	direct := func() {
		rows, err := pool.Query(ctx, sql, 10)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for rows.Next() {
			if _, err := rows.Values(); err != nil {
				b.Fatal(err)
			}
			n++
		}
		if rows.Err() != nil || n != 10 {
			b.Fatal(rows.Err())
		}
	}
	testkit.Compare(b, viaHandler, direct)
}
