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
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"syscall"

	"github.com/onexhost/onex/diag"
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

// MaxNesting bounds flow-collection nesting and the block collections opened on
// one line. The YAML parser is recursive; the bound keeps a small hostile file
// from costing seconds or the stack (reported as CONTRACT-001).
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
// file path; a source of another kind (registry) overwrites both.
func (c *Contract) Descriptor() *handler.Descriptor {
	d := &handler.Descriptor{
		Name:         c.Name,
		Version:      c.Version,
		Description:  c.Description,
		Type:         c.Type,
		Category:     c.Category,
		IsAdapter:    c.IsAdapter,
		Capabilities: slices.Clone(c.Capabilities),
		Commands:     slices.Clone(c.Commands),
		ImportPath:   c.ImportPath,
		Security: handler.Security{
			SecretScopes:       slices.Clone(c.Security.SecretScopes),
			AllowedDomains:     slices.Clone(c.Security.AllowedDomains),
			DataClassification: c.Security.DataClassification,
			ObservabilityLevel: c.Security.ObservabilityLevel,
		},
		SourceType: handler.SourceContract,
		Origin:     c.Path,
	}
	if c.Artifact != nil {
		a := *c.Artifact
		d.Artifact = &a
	}
	if c.Packaging != nil {
		p := *c.Packaging
		d.Packaging = &p
	}
	if c.Config != nil {
		d.Config = slices.Clone(c.Config)
	}
	if c.Locations != nil {
		d.Locations = make(map[string]handler.Location, len(c.Locations))
		for k, v := range c.Locations {
			d.Locations[k] = v
		}
	}
	return d
}

// ReadFile reads a contract file, refusing (CONTRACT-007) anything that is not a
// readable regular file of at most MaxFileBytes. Symbolic links are followed:
// whether a link may be followed is discovery's decision.
func ReadFile(path string) ([]byte, *diag.ValidationError) {
	// O_NONBLOCK: opening a named pipe must not wait for a writer; the file
	// is checked with fstat before anything is read.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fileError(path, "cannot read contract: %v", trimPathErr(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fileError(path, "cannot read contract: %v", trimPathErr(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, fileError(path, "not a regular file (%s)", fileKind(fi.Mode()))
	}
	if fi.Size() > MaxFileBytes {
		return nil, fileError(path, "contract is %d bytes, over the %d byte limit", fi.Size(), MaxFileBytes)
	}
	// Read one byte past the size: a file that grew since fstat is caught.
	buf := make([]byte, 0, fi.Size()+1)
	for {
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fileError(path, "cannot read contract: %v", trimPathErr(err))
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

// Load reads and decodes a contract file.
func Load(path string) (*Contract, []*diag.ValidationError) {
	data, verr := ReadFile(path)
	if verr != nil {
		return nil, []*diag.ValidationError{verr}
	}
	return Decode(path, data)
}

func fileError(path, format string, args ...any) *diag.ValidationError {
	e := diag.New("CONTRACT-007", format, args...)
	e.HandlerIdentity = "unknown@" + path
	e.SourceType = handler.SourceContract
	e.FilePath = path
	return e
}

func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSymlink != 0:
		return "a symbolic link"
	}
	return fmt.Sprintf("mode %s", m.Type())
}

func trimPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
