package db

import (
	"context"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// A result column of a type the connection has not loaded (an enum, a domain,
// a composite, an array of them) would read as PostgreSQL's text of the whole
// value. The server's description of a statement names its columns' types
// before it runs, so the types a connection lacks are loaded from the catalog
// first (pgx's LoadTypes, which follows arrays to their elements), and the rows
// then decode as for any known type: an enum array comes back as a JSON array
// of strings. A type loads once per connection; one that cannot be loaded (a
// base type pgx has no codec for, such as money) is remembered and keeps its
// text.

// typeLoader remembers the types that could not be loaded, so that a result
// holding one does not query the catalog every time.
type typeLoader struct {
	unloadable sync.Map // uint32 → struct{}
}

// unknown returns the types of fds that m does not know and that have not
// failed to load before.
func (l *typeLoader) unknown(m *pgtype.Map, fds []pgconn.FieldDescription) []uint32 {
	var oids []uint32
	for _, fd := range fds {
		if _, ok := m.TypeForOID(fd.DataTypeOID); ok || slices.Contains(oids, fd.DataTypeOID) {
			continue
		}
		if _, bad := l.unloadable.Load(fd.DataTypeOID); !bad {
			oids = append(oids, fd.DataTypeOID)
		}
	}
	return oids
}

// load registers the types oids on conn, as far as pgx can build them; those
// it cannot are remembered as unloadable.
func (l *typeLoader) load(ctx context.Context, conn *pgx.Conn, oids []uint32) {
	// LoadTypes takes names as pg_type has them (an array is _name),
	// qualified by their schema.
	rows, err := conn.Query(ctx, `SELECT t.oid, n.nspname || '.' || t.typname FROM pg_catalog.pg_type t
		JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE t.oid = ANY($1::oid[])`, oids)
	if err != nil {
		return // the catalog did not answer: try again next time
	}
	type named struct {
		oid  uint32
		name string
	}
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (named, error) {
		var n named
		err := r.Scan(&n.oid, &n.name)
		return n, err
	})
	if err != nil {
		return
	}
	for _, t := range found {
		// One at a time: a type pgx cannot build must not keep the others
		// from loading.
		types, err := conn.LoadTypes(ctx, []string{t.name})
		if err != nil || !slices.ContainsFunc(types, func(x *pgtype.Type) bool { return x.OID == t.oid }) {
			l.unloadable.Store(t.oid, struct{}{})
			continue
		}
		conn.TypeMap().RegisterTypes(types)
	}
}
