package policy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/suggest"
)

// ErrSecretNotFound is returned (wrapped) by a provider that does not hold a
// secret, so the next provider is asked.
var ErrSecretNotFound = errors.New("secret not found")

// SecretProvider looks secrets up in one backend (environment, files, Vault). It
// knows nothing of scopes being declared or permitted: the scoped reader checks
// that before asking. Errors must never contain the secret value. A provider that
// holds resources may implement io.Closer.
type SecretProvider interface {
	Lookup(ctx context.Context, ref handler.SecretRef) (handler.Secret, error)
}

// Provider is a configured secret provider and its kind.
type Provider struct {
	Kind string
	SecretProvider
}

// ProviderKind is a kind of secret provider that can be configured in onex.yaml
// (secrets.providers lists kinds in lookup order; secrets.<kind> holds the kind's
// options). Packages register kinds at init, like handler factories.
type ProviderKind struct {
	// Name is the kind's key: lower case, e.g. vault.
	Name string
	// Options returns a pointer to the kind's options struct (yaml tags), filled
	// with defaults; nil when the kind takes no options.
	Options func() any
	// New validates the decoded options (the pointer Options returned) and builds
	// the provider. It must not do I/O: it also runs for `onex validate`.
	New func(options any) (SecretProvider, error)
}

var providerKinds = struct {
	sync.RWMutex
	m map[string]ProviderKind
}{m: map[string]ProviderKind{}}

// RegisterProvider adds a provider kind. It is meant for init functions and
// panics on a programmer error: an empty, reserved or duplicate name, or a nil New.
func RegisterProvider(k ProviderKind) {
	if k.Name == "" || k.Name == "providers" || strings.ToLower(k.Name) != k.Name || strings.ContainsAny(k.Name, " .:") {
		panic(fmt.Sprintf("policy.RegisterProvider: invalid kind name %q", k.Name))
	}
	if k.New == nil {
		panic(fmt.Sprintf("policy.RegisterProvider(%s): New is nil", k.Name))
	}
	providerKinds.Lock()
	defer providerKinds.Unlock()
	if _, dup := providerKinds.m[k.Name]; dup {
		panic(fmt.Sprintf("policy.RegisterProvider: duplicate kind %q", k.Name))
	}
	providerKinds.m[k.Name] = k
}

// ProviderKinds lists the registered provider kinds, sorted.
func ProviderKinds() []string {
	providerKinds.RLock()
	defer providerKinds.RUnlock()
	out := make([]string, 0, len(providerKinds.m))
	for k := range providerKinds.m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func lookupProviderKind(name string) (ProviderKind, bool) {
	providerKinds.RLock()
	defer providerKinds.RUnlock()
	k, ok := providerKinds.m[name]
	return k, ok
}

// DefaultProviders is the lookup order when secrets.providers is absent.
var DefaultProviders = []string{"env"}

func init() {
	RegisterProvider(ProviderKind{
		Name: "env",
		New:  func(any) (SecretProvider, error) { return EnvProvider{}, nil },
	})
	RegisterProvider(ProviderKind{
		Name:    "file",
		Options: func() any { return &FileOptions{} },
		New: func(o any) (SecretProvider, error) {
			opts := o.(*FileOptions)
			if strings.TrimSpace(opts.Dir) == "" {
				return nil, errors.New("dir is required: the directory holding <scope>/<key> files")
			}
			return FileProvider{Dir: opts.Dir}, nil
		},
	})
}

// EnvPrefix starts the name of every environment variable the env provider reads.
const EnvPrefix = "ONEX_SECRET_"

// EnvVarName is the environment variable holding ref:
// ONEX_SECRET_<SCOPE>_<KEY>, upper-cased, with every character other than a
// letter or digit (e.g. - or /) written as _.
func EnvVarName(ref handler.SecretRef) string {
	var b strings.Builder
	b.Grow(len(EnvPrefix) + len(ref.Scope) + 1 + len(ref.Key))
	b.WriteString(EnvPrefix)
	writeEnvPart(&b, ref.Scope)
	b.WriteByte('_')
	writeEnvPart(&b, ref.Key)
	return b.String()
}

func writeEnvPart(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b.WriteByte(c)
		default:
			b.WriteByte('_')
		}
	}
}

// EnvProvider reads secrets from environment variables named by EnvVarName.
type EnvProvider struct {
	// LookupEnv defaults to os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// Lookup returns the variable's value, or ErrSecretNotFound when it is unset.
func (p EnvProvider) Lookup(_ context.Context, ref handler.SecretRef) (handler.Secret, error) {
	lookup := p.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	name := EnvVarName(ref)
	v, ok := lookup(name)
	if !ok {
		return handler.Secret{}, fmt.Errorf("environment variable %s is not set: %w", name, ErrSecretNotFound)
	}
	return handler.NewSecret(v), nil
}

// FileOptions are the options of the file provider (secrets.file).
type FileOptions struct {
	// Dir holds one file per secret: <dir>/<scope>/<key>.
	Dir string `yaml:"dir"`
}

// MaxSecretFileBytes bounds a secret file.
const MaxSecretFileBytes = 1 << 20

// FileProvider reads secrets from <Dir>/<scope>/<key>, as mounted by Docker and
// Kubernetes secrets. One trailing newline is dropped (files written by echo).
// Reads are confined to Dir (os.Root): neither symlinks nor .. leave it.
type FileProvider struct {
	Dir string
}

// Lookup reads the file of ref, or returns ErrSecretNotFound when it is absent.
func (p FileProvider) Lookup(_ context.Context, ref handler.SecretRef) (handler.Secret, error) {
	if err := checkFileKey(ref); err != nil {
		return handler.Secret{}, err
	}
	root, err := os.OpenRoot(p.Dir)
	if err != nil {
		return handler.Secret{}, fmt.Errorf("secret directory: %w", err)
	}
	defer root.Close()
	name := ref.Scope + "/" + ref.Key
	f, err := root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return handler.Secret{}, fmt.Errorf("secret file %s: %w", name, ErrSecretNotFound)
	}
	if err != nil {
		return handler.Secret{}, fmt.Errorf("secret file %s: %w", name, unwrapPath(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return handler.Secret{}, fmt.Errorf("secret file %s: %w", name, unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		return handler.Secret{}, fmt.Errorf("secret file %s is not a regular file", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxSecretFileBytes+1))
	if err != nil {
		return handler.Secret{}, fmt.Errorf("secret file %s: %w", name, unwrapPath(err))
	}
	if len(data) > MaxSecretFileBytes {
		return handler.Secret{}, fmt.Errorf("secret file %s is larger than %d bytes", name, MaxSecretFileBytes)
	}
	s := string(data)
	if strings.HasSuffix(s, "\r\n") {
		s = s[:len(s)-2]
	} else {
		s = strings.TrimSuffix(s, "\n")
	}
	return handler.NewSecret(s), nil
}

// checkFileKey refuses keys that would name another scope's file through . or ..
// segments (os.Root only stops escapes from Dir itself).
func checkFileKey(ref handler.SecretRef) error {
	for _, seg := range strings.Split(ref.Scope+"/"+ref.Key, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "\\\x00") {
			return fmt.Errorf("secret %s: the file provider needs scope and key made of non-empty path segments other than . and ..", ref)
		}
	}
	return nil
}

// unwrapPath drops the *fs.PathError wrapper, whose path is already in the
// message.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// LoadSecretProviders decodes the secrets section of f and builds its providers
// in lookup order:
//
//	secrets:
//	  providers: [file, env]   # lookup order; default [env]
//	  file: {dir: /run/onex/secrets}
//
// Every registered kind's options block is strictly decoded (unknown keys and
// wrong types are located RUNTIME-002 errors).
func LoadSecretProviders(f *config.File) ([]Provider, []*diag.ValidationError) {
	kinds := ProviderKinds()
	fields := []reflect.StructField{{Name: "Providers", Type: reflect.TypeFor[*[]string](), Tag: `yaml:"providers"`}}
	var optionKinds []ProviderKind
	for _, name := range kinds {
		k, _ := lookupProviderKind(name)
		if k.Options == nil {
			continue
		}
		fields = append(fields, reflect.StructField{
			Name: fmt.Sprintf("Kind%d", len(optionKinds)),
			Type: reflect.TypeOf(k.Options()),
			Tag:  reflect.StructTag(fmt.Sprintf("yaml:%q", name)),
		})
		optionKinds = append(optionKinds, k)
	}
	section := reflect.New(reflect.StructOf(fields))
	for i, k := range optionKinds {
		section.Elem().Field(i + 1).Set(reflect.ValueOf(k.Options()))
	}
	if errs := f.Decode("secrets", section.Interface()); len(errs) > 0 {
		return nil, errs
	}
	var present map[string]any
	if errs := f.Decode("secrets", &present); len(errs) > 0 {
		return nil, errs
	}

	order := DefaultProviders
	if p := section.Elem().Field(0).Interface().(*[]string); p != nil {
		order = *p
	}
	var errs []*diag.ValidationError
	if len(order) == 0 {
		e := f.Errorf("secrets.providers", "no secret provider is listed")
		e.RemediationHint = "list at least one provider kind in secrets.providers: " + strings.Join(kinds, ", ")
		errs = append(errs, e)
	}
	var out []Provider
	for i, name := range order {
		path := fmt.Sprintf("secrets.providers[%d]", i)
		k, ok := lookupProviderKind(name)
		if !ok {
			e := f.Errorf(path, "unknown secret provider %q%s", name, suggest.Hint(name, kinds))
			e.RemediationHint = "use one of the provider kinds of this binary: " + strings.Join(kinds, ", ")
			errs = append(errs, e)
			continue
		}
		if slices.Contains(order[:i], name) {
			e := f.Errorf(path, "secret provider %q is listed twice", name)
			e.RemediationHint = "list each provider kind once, in lookup order"
			errs = append(errs, e)
			continue
		}
		var opts any
		if idx := slices.IndexFunc(optionKinds, func(o ProviderKind) bool { return o.Name == name }); idx >= 0 {
			opts = section.Elem().Field(idx + 1).Interface()
		}
		p, err := newProvider(k, opts)
		if err != nil {
			e := f.Errorf("secrets."+name, "%v", err)
			e.RemediationHint = "fix the options of the " + name + " provider under secrets." + name
			errs = append(errs, e)
			continue
		}
		out = append(out, Provider{Kind: name, SecretProvider: p})
	}
	for key := range present {
		if key != "providers" && !slices.Contains(order, key) {
			e := f.Errorf("secrets."+key, "options for the %s provider, which secrets.providers does not list", key)
			e.RemediationHint = "add " + key + " to secrets.providers, or remove secrets." + key
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return nil, errs
	}
	return out, nil
}

// newProvider runs a kind's New; a panic in another package's code is an error,
// not a crash of configuration loading.
func newProvider(k ProviderKind, opts any) (p SecretProvider, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("provider %s panicked: %v", k.Name, r)
		}
	}()
	p, err = k.New(opts)
	if err == nil && p == nil {
		err = fmt.Errorf("provider %s returned no provider", k.Name)
	}
	return p, err
}
