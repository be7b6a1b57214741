package handler

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// A result is any Go value encoding/json can encode, and the response carries
// what json.Marshal writes for it (but for a json.RawMessage as the whole
// result, which is carried as written once checked). The runtime writes the common shapes itself,
// without reflection and byte for byte as json.Marshal would: nil, strings,
// booleans, numbers, json.Number, json.RawMessage, []byte, map[string]any,
// map[string]string, map[string][]string, []any, []string, []map[string]any,
// json.Marshaler and encoding.TextMarshaler values, and the two types below;
// anything else (a struct, say) goes through encoding/json. A handler on a hot
// path builds its result from these.

// Object is a JSON object whose members are written in the order given, which
// a map (written with its keys sorted) cannot keep and a struct (written by
// reflection) keeps at a cost. Names are written as given: give each member a
// distinct name. A nil Object is {}.
//
//	handler.Object{{Name: "id", Value: 7}, {Name: "name", Value: "apple"}}  // {"id":7,"name":"apple"}
type Object []Member

// Member is one member of an Object.
type Member struct {
	Name  string
	Value any
}

// MarshalJSON writes the object as the runtime does.
func (o Object) MarshalJSON() ([]byte, error) {
	w := newValueWriter()
	w.buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			w.buf.WriteByte(',')
		}
		if err := w.member(m.Name, m.Value); err != nil {
			return nil, err
		}
	}
	w.buf.WriteByte('}')
	return w.buf.Bytes(), nil
}

// Rows is a JSON array of objects that share their names, in the order of
// Columns: the rows of a table. Row i is the object whose member Columns[j] is
// Values[i][j]; each row has one value per column. The names are escaped once
// for all the rows. A Rows without values is [].
//
//	handler.Rows{Columns: []string{"id", "name"}, Values: [][]any{{1, "a"}, {2, "b"}}}
//	// [{"id":1,"name":"a"},{"id":2,"name":"b"}]
type Rows struct {
	Columns []string
	Values  [][]any
}

// Check reports a row whose number of values is not the number of columns.
func (r Rows) Check() error {
	for i, row := range r.Values {
		if len(row) != len(r.Columns) {
			return fmt.Errorf("row %d has %d values for %d columns", i, len(row), len(r.Columns))
		}
	}
	return nil
}

// MarshalJSON writes the rows as the runtime does.
func (r Rows) MarshalJSON() ([]byte, error) {
	if err := r.Check(); err != nil {
		return nil, err
	}
	w := newValueWriter()
	w.buf.WriteByte('[')
	for i, row := range r.Values {
		if i > 0 {
			w.buf.WriteByte(',')
		}
		w.buf.WriteByte('{')
		for j, v := range row {
			if j > 0 {
				w.buf.WriteByte(',')
			}
			if err := w.member(r.Columns[j], v); err != nil {
				return nil, err
			}
		}
		w.buf.WriteByte('}')
	}
	w.buf.WriteByte(']')
	return w.buf.Bytes(), nil
}

// valueWriter writes names and values with encoding/json, so that they are
// escaped (<, > and & included) and formatted exactly as json.Marshal writes
// them; only the punctuation between them is written here.
type valueWriter struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func newValueWriter() *valueWriter {
	w := &valueWriter{}
	w.enc = json.NewEncoder(&w.buf)
	return w
}

// member writes "name":value.
func (w *valueWriter) member(name string, v any) error {
	if err := w.value(name); err != nil {
		return err
	}
	w.buf.WriteByte(':')
	if err := w.value(v); err != nil {
		return fmt.Errorf("%q: %w", name, err)
	}
	return nil
}

func (w *valueWriter) value(v any) error {
	if err := w.enc.Encode(v); err != nil {
		return err
	}
	w.buf.Truncate(w.buf.Len() - 1) // Encode ends the value with a newline
	return nil
}
