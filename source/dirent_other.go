//go:build !linux

package source

import (
	"io/fs"
	"os"
)

// dirReader lists directories with os.ReadDir (the getdents64 reader is for
// Linux).
type dirReader struct{}

type dirEntry struct {
	off, end int
	typ      fs.FileMode // fs.ModeDir, fs.ModeSymlink, 0 (regular) or another type bit
}

// list returns the entries of dir sorted by name, and the names they index.
func (r *dirReader) list(dir string, _ int) ([]dirEntry, []byte, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	var names []byte
	entries := make([]dirEntry, 0, len(des))
	for _, de := range des {
		off := len(names)
		names = append(names, de.Name()...)
		typ := de.Type() & (fs.ModeDir | fs.ModeSymlink)
		if typ == 0 && !de.Type().IsRegular() {
			typ = fs.ModeIrregular
		}
		entries = append(entries, dirEntry{off: off, end: len(names), typ: typ})
	}
	return entries, names, nil
}
