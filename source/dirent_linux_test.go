package source

import (
	"encoding/binary"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// TestDirReaderList: entries sorted by name with their types, . and .. left
// out, the same as os.ReadDir gives; listing again at the same level reuses
// the buffers.
func TestDirReaderList(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"b", "a/x", "z"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"handler_contract.yaml", "m.txt", "a/x/handler_contract.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("b", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	var r dirReader
	for range 2 {
		entries, names, err := r.list(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		got := listing(entries, names)
		des, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, de := range des {
			want = append(want, de.Name()+":"+de.Type().String())
		}
		if !slices.Equal(got, want) {
			t.Fatalf("list = %v, os.ReadDir gives %v", got, want)
		}
	}
	if _, _, err := r.list(filepath.Join(dir, "missing"), 1); err != syscall.ENOENT {
		t.Fatalf("list of a missing directory: %v, want ENOENT", err)
	}
}

// TestDirentUnknownType: a file system that does not give entry types (DT_UNKNOWN)
// costs an lstat per entry; an entry gone meanwhile is left out.
func TestDirentUnknownType(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("f", filepath.Join(dir, "l")); err != nil {
		t.Fatal(err)
	}
	var buf []byte
	for _, name := range []string{".", "..", "sub", "f", "l", "gone"} {
		buf = appendDirent(buf, name, syscall.DT_UNKNOWN)
	}
	var lv dirLevel
	if err := lv.parse(dir, buf); err != nil {
		t.Fatal(err)
	}
	got := listing(lv.entries, lv.names)
	want := []string{"sub:" + fs.ModeDir.String(), "f:" + fs.FileMode(0).String(), "l:" + fs.ModeSymlink.String()}
	if !slices.Equal(got, want) {
		t.Fatalf("parse = %v, want %v", got, want)
	}
	if err := lv.parse(dir, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 3, 0, 0, 0}); err != syscall.EIO {
		t.Fatalf("a record shorter than its header: %v, want EIO", err)
	}
}

// appendDirent appends a linux_dirent64 record, padded to 8 bytes.
func appendDirent(buf []byte, name string, typ byte) []byte {
	reclen := (direntName + len(name) + 1 + 7) &^ 7
	rec := make([]byte, reclen)
	binary.NativeEndian.PutUint64(rec, 1)
	binary.NativeEndian.PutUint16(rec[direntReclen:], uint16(reclen))
	rec[direntType] = typ
	copy(rec[direntName:], name)
	return append(buf, rec...)
}

func listing(entries []dirEntry, names []byte) []string {
	var out []string
	for _, e := range entries {
		out = append(out, string(names[e.off:e.end])+":"+e.typ.String())
	}
	return out
}
