package source

import (
	"bytes"
	"encoding/binary"
	"io/fs"
	"slices"
	"syscall"
)

// dirReader lists directories with getdents64 into buffers it keeps from one
// directory to the next: a discovery reads one directory per contract, and
// os.ReadDir would allocate a file, a DirEntry and a name for every entry.
// Each level of the walk has its own buffers (a directory is listed whole
// before its subdirectories are).
type dirReader struct {
	levels []*dirLevel
}

type dirLevel struct {
	raw     []byte     // getdents64 records
	names   []byte     // the names of entries, one after the other
	entries []dirEntry // sorted by name
}

// dirEntry is an entry of a listed directory: its name is names[off:end] of
// its level.
type dirEntry struct {
	off, end int
	typ      fs.FileMode // fs.ModeDir, fs.ModeSymlink, 0 (regular) or fs.ModeIrregular
}

// list reads the directory dir into the buffers of level depth and returns its
// entries sorted by name, and the names they index. The slices are valid until
// the next list at the same depth.
func (r *dirReader) list(dir string, depth int) ([]dirEntry, []byte, error) {
	for len(r.levels) <= depth {
		r.levels = append(r.levels, &dirLevel{raw: make([]byte, 8<<10)})
	}
	lv := r.levels[depth]
	lv.names, lv.entries = lv.names[:0], lv.entries[:0]
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	defer syscall.Close(fd)
	for {
		var n int
		err := ignoringEINTR(func() (err error) {
			n, err = syscall.ReadDirent(fd, lv.raw)
			return err
		})
		if err != nil {
			return nil, nil, err
		}
		if n <= 0 {
			break
		}
		if err := lv.parse(dir, lv.raw[:n]); err != nil {
			return nil, nil, err
		}
	}
	names := lv.names
	slices.SortFunc(lv.entries, func(a, b dirEntry) int {
		return bytes.Compare(names[a.off:a.end], names[b.off:b.end])
	})
	return lv.entries, names, nil
}

// The layout of a linux_dirent64 record: d_ino, d_off, d_reclen, d_type, then
// the name, ended by a NUL.
const (
	direntReclen = 16
	direntType   = 18
	direntName   = 19
)

// parse appends the entries of getdents64 records, . and .. left out.
func (lv *dirLevel) parse(dir string, buf []byte) error {
	for len(buf) >= direntName {
		reclen := int(binary.NativeEndian.Uint16(buf[direntReclen:]))
		if reclen < direntName || reclen > len(buf) {
			return syscall.EIO // a record the kernel never writes
		}
		rec := buf[:reclen]
		buf = buf[reclen:]
		name := rec[direntName:]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		if len(name) == 0 || string(name) == "." || string(name) == ".." {
			continue
		}
		var typ fs.FileMode
		switch rec[direntType] {
		case syscall.DT_DIR:
			typ = fs.ModeDir
		case syscall.DT_LNK:
			typ = fs.ModeSymlink
		case syscall.DT_REG:
		case syscall.DT_UNKNOWN:
			// The file system does not say: ask, as os.ReadDir does; an
			// entry gone meanwhile is left out.
			var st syscall.Stat_t
			err := ignoringEINTR(func() error { return syscall.Lstat(joinClean(dir, string(name)), &st) })
			if err == syscall.ENOENT {
				continue
			}
			if err != nil {
				return err
			}
			switch st.Mode & syscall.S_IFMT {
			case syscall.S_IFDIR:
				typ = fs.ModeDir
			case syscall.S_IFLNK:
				typ = fs.ModeSymlink
			case syscall.S_IFREG:
			default:
				typ = fs.ModeIrregular
			}
		default:
			typ = fs.ModeIrregular
		}
		off := len(lv.names)
		lv.names = append(lv.names, name...)
		lv.entries = append(lv.entries, dirEntry{off: off, end: len(lv.names), typ: typ})
	}
	return nil
}

func ignoringEINTR(call func() error) error {
	for {
		if err := call(); err != syscall.EINTR {
			return err
		}
	}
}
