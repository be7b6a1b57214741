// Package contract is the handler_contract.yaml format: its model, a decoder that
// keeps the line and column of every node and reports every problem as a located
// *diag.ValidationError, the one-way transform to a handler.Descriptor, the
// embedded JSON Schema, and the templates of `onex contract init`.
//
// A contract declares what a handler is (identity, role, commands, implementation,
// config, security policy), never how work flows: execution graphs, dispatch
// rules and publish declarations are rejected (CONTRACT-005).
package contract

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"syscall"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/handler"
)

// FileName is the exact name discovery looks for.
const FileName = "handler_contract.yaml"

// MaxFileBytes bounds the size of a contract file (CONTRACT-007 beyond it).
const MaxFileBytes = 10 << 20

// MaxAliasExpansion bounds the nodes YAML aliases may add to a document when
// expanded (CONTRACT-014 beyond it): enough for any real reuse of an anchor,
// far too little for a billion-laughs document.
const MaxAliasExpansion = 10_000

// MaxNesting bounds the nesting of YAML collections, flow or block (reported
// as CONTRACT-001), and of config values reached through aliases
// (CONTRACT-003): no contract needs more, and the bound keeps a small hostile
// file from costing seconds or the stack of a recursive walk.
const MaxNesting = 100

// SupportedMajor is the major version of contract_version this build reads.
const SupportedMajor = 1

// Contract is a decoded handler_contract.yaml. It is produced only from a
// document without errors.
type Contract struct {
	ContractVersion string
	Name            string // handler_identity.name
	Version         string // handler_identity.version
	Description     string
	Type            handler.HandlerType
	Category        handler.Category
	IsAdapter       bool
	Capabilities    []handler.Capability
	Commands        []handler.Command
	ImportPath      string               // implementation.import_path
	Artifact        *handler.ArtifactRef // implementation.artifact_ref
	// Config is the config mapping as a JSON object (keys in document order,
	// secret references {"secret": "scope/key"} kept as-is); nil when absent.
	Config    json.RawMessage
	Security  handler.Security
	Packaging *handler.Packaging

	// Path is the file the contract was decoded from.
	Path string
	// Locations maps descriptor field paths ("handler_name",
	// "security.allowed_domains[1]", "config.headers.Authorization", "" for the
	// document) to the position of the contract key or list item in Path.
	Locations map[string]handler.Location
}

// Descriptor transforms the contract into the canonical runtime object: one way,
// nothing is lost that the runtime needs. SourceType is contract and Origin the
// file path; a source of another kind (registry) overwrites both. The
// descriptor shares no memory with the contract.
func (c *Contract) Descriptor() *handler.Descriptor {
	d := c.descriptor()
	d.Capabilities = slices.Clone(d.Capabilities)
	d.Commands = slices.Clone(d.Commands)
	d.Security.SecretScopes = slices.Clone(d.Security.SecretScopes)
	d.Security.AllowedDomains = slices.Clone(d.Security.AllowedDomains)
	if d.Artifact != nil {
		a := *d.Artifact
		d.Artifact = &a
	}
	if d.Packaging != nil {
		p := *d.Packaging
		d.Packaging = &p
	}
	if d.Config != nil {
		d.Config = slices.Clone(d.Config)
	}
	if d.Locations != nil {
		d.Locations = maps.Clone(d.Locations)
	}
	return d
}

// descriptor is the transform without copies: the descriptor takes over the
// contract's slices, maps and pointers.
func (c *Contract) descriptor() *handler.Descriptor {
	return &handler.Descriptor{
		Name:         c.Name,
		Version:      c.Version,
		Description:  c.Description,
		Type:         c.Type,
		Category:     c.Category,
		IsAdapter:    c.IsAdapter,
		Capabilities: c.Capabilities,
		Commands:     c.Commands,
		ImportPath:   c.ImportPath,
		Artifact:     c.Artifact,
		Security:     c.Security,
		Packaging:    c.Packaging,
		Config:       c.Config,
		SourceType:   handler.SourceContract,
		Origin:       c.Path,
		Locations:    c.Locations,
	}
}

// DecodeDescriptor is Decode then Descriptor, for sources that keep only the
// descriptor: the contract is never seen, so nothing is copied.
func DecodeDescriptor(path string, data []byte) (*handler.Descriptor, []*diag.ValidationError) {
	c, errs := Decode(path, data)
	if len(errs) > 0 {
		return nil, errs
	}
	return c.descriptor(), nil
}

// LoadDescriptor is Load then Descriptor, for sources that keep only the
// descriptor: the contract is never seen, so nothing is copied.
func LoadDescriptor(path string) (*handler.Descriptor, []*diag.ValidationError) {
	buf := readBuffers.Get().(*[]byte)
	defer putReadBuffer(buf)
	data, verr := readPooled(path, buf)
	if verr != nil {
		return nil, []*diag.ValidationError{verr}
	}
	return DecodeDescriptor(path, data)
}

// readPooled reads path into the pooled buffer buf.
func readPooled(path string, buf *[]byte) ([]byte, *diag.ValidationError) {
	data, verr := readFile(path, *buf)
	if data != nil {
		*buf = data
	}
	return data, verr
}

// readBuffers hold the bytes of a contract while it is decoded: nothing of a
// decoded contract refers to them (the YAML loader copies every value), so a
// discovery reads all its files into a few buffers.
var readBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledRead bounds the buffers kept for the next file: a rare large
// contract is read into a buffer of its own.
const maxPooledRead = 64 << 10

func putReadBuffer(buf *[]byte) {
	if cap(*buf) > maxPooledRead {
		*buf = nil
	}
	readBuffers.Put(buf)
}

// ReadFile reads a contract file, refusing (CONTRACT-007) anything that is not a
// readable regular file of at most MaxFileBytes. Symbolic links are followed:
// whether a link may be followed is discovery's decision.
//
// It costs four system calls for a contract (open, fstat, read, close): it
// runs once per file of a discovery, where os.Open and os.File.Stat would
// add a second fstat and the read to end of file a second read.
func ReadFile(path string) ([]byte, *diag.ValidationError) {
	return readFile(path, nil)
}

// readFile is ReadFile into buf (from its start), which it grows when the
// file needs more than its capacity; it returns the file's bytes, in buf's
// array when they fit.
func readFile(path string, buf []byte) ([]byte, *diag.ValidationError) {
	// O_NONBLOCK: opening a named pipe must not wait for a writer; the file
	// is checked with fstat before anything is read.
	var fd int
	err := retryEINTR(func() (err error) {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return nil, fileError(path, "cannot read contract: %v", err)
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := retryEINTR(func() error { return syscall.Fstat(fd, &st) }); err != nil {
		return nil, fileError(path, "cannot read contract: %v", err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, fileError(path, "not a regular file (%s)", fileKind(uint32(st.Mode)))
	}
	if st.Size > MaxFileBytes {
		return nil, fileError(path, "contract is %d bytes, over the %d byte limit", st.Size, MaxFileBytes)
	}
	// Ask for one byte past the size: a file that grew since fstat is caught.
	// Reading exactly the size fstat gave is the whole file.
	if int64(cap(buf)) < st.Size+1 {
		buf = make([]byte, 0, st.Size+1)
	}
	buf = buf[:0]
	for {
		var n int
		err := retryEINTR(func() (err error) {
			n, err = syscall.Read(fd, buf[len(buf):cap(buf)])
			return err
		})
		if err != nil {
			return nil, fileError(path, "cannot read contract: %v", err)
		}
		buf = buf[:len(buf)+n]
		if n == 0 || (len(buf) == int(st.Size) && len(buf) < cap(buf)) {
			break
		}
		if len(buf) > MaxFileBytes {
			return nil, fileError(path, "contract is over the %d byte limit", MaxFileBytes)
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
	return buf, nil
}

func retryEINTR(call func() error) error {
	for {
		if err := call(); err != syscall.EINTR {
			return err
		}
	}
}

// Load reads and decodes a contract file.
func Load(path string) (*Contract, []*diag.ValidationError) {
	buf := readBuffers.Get().(*[]byte)
	defer putReadBuffer(buf)
	data, verr := readPooled(path, buf)
	if verr != nil {
		return nil, []*diag.ValidationError{verr}
	}
	return Decode(path, data)
}

func fileError(path, format string, args ...any) *diag.ValidationError {
	e := diag.New(ruleid.ContractUnreadable, format, args...)
	e.HandlerIdentity = "unknown@" + path
	e.SourceType = handler.SourceContract
	e.FilePath = path
	return e
}

// fileKind names the file type of an fstat mode.
func fileKind(mode uint32) string {
	switch mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		return "a directory"
	case syscall.S_IFIFO:
		return "a named pipe"
	case syscall.S_IFSOCK:
		return "a socket"
	case syscall.S_IFBLK, syscall.S_IFCHR:
		return "a device"
	case syscall.S_IFLNK:
		return "a symbolic link"
	}
	return fmt.Sprintf("mode %#o", mode&syscall.S_IFMT)
}
