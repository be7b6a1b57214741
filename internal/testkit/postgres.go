// Package testkit holds test infrastructure shared by the packages of onex: a
// PostgreSQL helper for the real server CI starts (scripts/pg.sh), and protocol
// doubles of the Consul and Vault HTTP APIs, written from their public API
// documentation, for the official clients to talk to when no server can run.
package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables of the PostgreSQL helper.
const (
	// EnvPostgresDSN names a PostgreSQL server the tests may create schemas in;
	// scripts/test.sh starts a throwaway cluster and exports it.
	EnvPostgresDSN = "ONEX_TEST_PG_DSN"
	// EnvRequirePostgres, when "1", turns a missing EnvPostgresDSN into a test
	// failure instead of a skip, so CI cannot pass without the database tests.
	EnvRequirePostgres = "ONEX_REQUIRE_PG"
)

// PostgresDSN returns the DSN of the test server. Without one the test is
// skipped with the reason, or fails when ONEX_REQUIRE_PG=1.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(EnvPostgresDSN)
	if dsn == "" {
		if os.Getenv(EnvRequirePostgres) == "1" {
			tb.Fatalf("%s is not set but %s=1: start PostgreSQL with `. scripts/pg.sh; pg_start` or run scripts/test.sh", EnvPostgresDSN, EnvRequirePostgres)
		}
		tb.Skipf("PostgreSQL tests skipped: %s is not set (scripts/test.sh starts a throwaway server and sets it)", EnvPostgresDSN)
	}
	return dsn
}

// PostgresSchema creates a fresh schema for the test, drops it (with
// everything in it) when the test ends, and returns a DSN whose search_path is
// that schema, so unqualified tables land there. It also returns the schema name.
func PostgresSchema(tb testing.TB) (dsn, schema string) {
	tb.Helper()
	base := PostgresDSN(tb)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema = "onex_test_" + hex.EncodeToString(b[:])

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect to the test PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		tb.Fatalf("create schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("connect to drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return WithSearchPath(tb, base, schema), schema
}

// WithSearchPath returns dsn (URL form) with search_path set to schema.
func WithSearchPath(tb testing.TB, dsn, schema string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		tb.Fatalf("%s must be a postgres:// URL", EnvPostgresDSN)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
