package db

import (
	"bytes"
	"context"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// A result column of a type the connection has not loaded (an enum, a domain,
// a composite, an array of them) reads as PostgreSQL's text of the whole
// value. Such a result is therefore read first, as sent; once the connection
// is free again the types are loaded from the catalog (pgx's LoadTypes, which
// follows arrays to their elements), and then the rows are rendered: an enum
// array comes back as a JSON array of strings. A type loads once per
// connection; one that cannot be loaded (a base type pgx has no codec for,
// such as money) is remembered and keeps its text.

// rowSource is what a result is rendered from: the live rows, or the rows
// read ahead while types were loaded.
type rowSource interface {
	next() bool
	values() ([]any, error)
	raw() [][]byte
}

type liveRows struct{ pgx.Rows }

func (r liveRows) next() bool             { return r.Next() }
func (r liveRows) values() ([]any, error) { return r.Values() }
func (r liveRows) raw() [][]byte          { return r.RawValues() }

// bufferedRows are rows read ahead: at most max of them, and whether more
// followed (next then reports one row more, which the caller counts as
// truncation without reading it).
type bufferedRows struct {
	m    *pgtype.Map
	fds  []pgconn.FieldDescription
	rows [][][]byte
	more bool
	i    int
}

func (b *bufferedRows) next() bool {
	if b.i < len(b.rows) {
		b.i++
		return true
	}
	if b.more {
		b.more = false
		return true
	}
	return false
}

func (b *bufferedRows) raw() [][]byte { return b.rows[b.i-1] }

// values decodes a row as pgx's Rows.Values does: by the column's type when
// the connection knows it, else as the text (or bytes) sent.
func (b *bufferedRows) values() ([]any, error) {
	raws := b.raw()
	vals := make([]any, len(b.fds))
	for i, fd := range b.fds {
		if raws[i] == nil {
			continue
		}
		t, ok := b.m.TypeForOID(fd.DataTypeOID)
		switch {
		case ok:
			v, err := t.Codec.DecodeValue(b.m, fd.DataTypeOID, fd.Format, raws[i])
			if err != nil {
				return nil, err
			}
			vals[i] = v
		case fd.Format == pgtype.TextFormatCode:
			vals[i] = string(raws[i])
		default:
			vals[i] = raws[i]
		}
	}
	return vals, nil
}

// readAhead reads up to max rows of rows, copied, and closes it.
func readAhead(rows pgx.Rows, max int) (*bufferedRows, error) {
	b := &bufferedRows{fds: slices.Clone(rows.FieldDescriptions())}
	for rows.Next() {
		if len(b.rows) == max {
			b.more = true
			break
		}
		raws := rows.RawValues()
		row := make([][]byte, len(raws))
		for i, r := range raws {
			if r != nil {
				row[i] = bytes.Clone(r)
			}
		}
		b.rows = append(b.rows, row)
	}
	rows.Close()
	return b, rows.Err()
}

// typeLoader remembers the types that could not be loaded, so that a result
// holding one does not read ahead and query the catalog every time.
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
