package vault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/handlers/internal/remote"
	"github.com/onexhost/onex/handlers/internal/verbs"
)

// ReadPayload is the payload of read_secret.
type ReadPayload struct {
	Path  string `json:"path"`
	Mount string `json:"mount,omitempty"`
	// Version reads an older version; 0 or absent is the current one.
	Version int `json:"version,omitempty"`
}

// WritePayload is the payload of write_secret.
type WritePayload struct {
	Path  string         `json:"path"`
	Mount string         `json:"mount,omitempty"`
	Data  map[string]any `json:"data"`
	// CAS, when set, writes only if the current version equals it (0: only if
	// the secret does not exist).
	CAS *int `json:"cas,omitempty"`
}

// DeletePayload is the payload of delete_secret. Without versions the latest
// version is soft-deleted (recoverable); all_versions deletes the secret with
// its metadata and every version, permanently.
type DeletePayload struct {
	Path        string `json:"path"`
	Mount       string `json:"mount,omitempty"`
	Versions    []int  `json:"versions,omitempty"`
	AllVersions bool   `json:"all_versions,omitempty"`
}

// ListPayload is the payload of list_secrets.
type ListPayload struct {
	Path  string `json:"path,omitempty"`
	Mount string `json:"mount,omitempty"`
}

// ReadResult is the result of read_secret.
type ReadResult struct {
	Found       bool           `json:"found"`
	Path        string         `json:"path"`
	Mount       string         `json:"mount"`
	Data        map[string]any `json:"data,omitempty"`
	Version     int            `json:"version,omitempty"`
	CreatedTime string         `json:"created_time,omitempty"`
	// Deleted is true when the version exists but was deleted or destroyed.
	Deleted bool `json:"deleted,omitempty"`
}

// WriteResult is the result of write_secret.
type WriteResult struct {
	Path        string `json:"path"`
	Mount       string `json:"mount"`
	Version     int    `json:"version"`
	CreatedTime string `json:"created_time"`
}

// DeleteResult is the result of delete_secret.
type DeleteResult struct {
	Path    string `json:"path"`
	Mount   string `json:"mount"`
	Deleted string `json:"deleted"` // latest, versions or all
}

// ListResult is the result of list_secrets: the keys one level below path,
// folders ending in "/".
type ListResult struct {
	Path  string   `json:"path"`
	Mount string   `json:"mount"`
	Keys  []string `json:"keys"`
}

// verbTable routes each verb to its method.
var verbTable = verbs.Table[*Vault]{
	"read_secret":   verbs.Of((*Vault).read),
	"write_secret":  verbs.Of((*Vault).write),
	"delete_secret": verbs.Of((*Vault).delete),
	"list_secrets":  verbs.Of((*Vault).list),
}

// Handle runs one verb.
func (h *Vault) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	if h.client == nil {
		return handler.Output{}, handler.Failed(nil, "the vault handler is not initialised")
	}
	return verbTable.Handle(ctx, h, "vault", inv)
}

// target checks and normalises the payload's path and mount.
func (h *Vault) target(path, mount string, pathRequired bool) (string, string, error) {
	if mount == "" {
		mount = h.cfg.mount
	} else if err := checkPath(mount); err != nil {
		return "", "", handler.InvalidPayload("mount", "%v", err)
	}
	if path == "" && !pathRequired {
		return "", strings.Trim(mount, "/"), nil
	}
	if err := checkPath(path); err != nil {
		return "", "", handler.InvalidPayload("path", "%v", err)
	}
	return strings.Trim(path, "/"), strings.Trim(mount, "/"), nil
}

// vaultAPI is how a Vault call fails: the invocation's own deadline or
// cancellation goes back as is; the handler's timeout, network failures, 412,
// 429 and 5xx (a sealed Vault is 503) are transient; a policy refusal and
// other 4xx (403: the token's policies) are permanent. The client's
// *api.ResponseError carries the status and Vault's error list.
var vaultAPI = &remote.API{
	Name: "vault",
	Status: func(err error) (remote.Status, bool) {
		var re *api.ResponseError
		if errors.As(err, &re) {
			return remote.Status{Code: re.StatusCode, Reason: strings.Join(re.Errors, "; ")}, true
		}
		return remote.Status{}, false
	},
	// 412: a performance standby has not yet caught up with the state the
	// request needs; Vault asks for a retry.
	Transient: []int{http.StatusPreconditionFailed},
	Hints: map[int]string{
		http.StatusForbidden: "the token (token_secret) is invalid or its policies do not allow this path",
		http.StatusNotFound:  "check the mount (a KV version 2 engine) and the path",
	},
}

// call bounds one API call by the handler's timeout and maps its error.
func (h *Vault) call(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	return vaultAPI.Call(ctx, h.cfg.timeout, what, fn)
}

func (h *Vault) read(ctx context.Context, p ReadPayload) (*ReadResult, error) {
	path, mount, err := h.target(p.Path, p.Mount, true)
	if err != nil {
		return nil, err
	}
	if p.Version < 0 {
		return nil, handler.InvalidPayload("version", "must be positive")
	}
	res := &ReadResult{Path: path, Mount: mount}
	err = h.call(ctx, "read_secret "+mount+"/"+path, func(ctx context.Context) error {
		kv := h.client.KVv2(mount)
		var s *api.KVSecret
		var err error
		if p.Version > 0 {
			s, err = kv.GetVersion(ctx, path, p.Version)
		} else {
			s, err = kv.Get(ctx, path)
		}
		if errors.Is(err, api.ErrSecretNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if s.VersionMetadata != nil {
			res.Version = s.VersionMetadata.Version
			res.CreatedTime = s.VersionMetadata.CreatedTime.UTC().Format("2006-01-02T15:04:05.999999999Z07:00")
			res.Deleted = !s.VersionMetadata.DeletionTime.IsZero() || s.VersionMetadata.Destroyed
		}
		res.Data = s.Data
		res.Found = s.Data != nil && !res.Deleted
		return nil
	})
	return res, err
}

func (h *Vault) write(ctx context.Context, p WritePayload) (*WriteResult, error) {
	path, mount, err := h.target(p.Path, p.Mount, true)
	if err != nil {
		return nil, err
	}
	if p.Data == nil {
		return nil, handler.InvalidPayload("data", "required: an object of the secret's fields")
	}
	var opts []api.KVOption
	if p.CAS != nil {
		if *p.CAS < 0 {
			return nil, handler.InvalidPayload("cas", "must be 0 (create only) or a version")
		}
		opts = append(opts, api.WithCheckAndSet(*p.CAS))
	}
	res := &WriteResult{Path: path, Mount: mount}
	err = h.call(ctx, "write_secret "+mount+"/"+path, func(ctx context.Context) error {
		s, err := h.client.KVv2(mount).Put(ctx, path, p.Data, opts...)
		if err != nil {
			return err
		}
		if s.VersionMetadata != nil {
			res.Version = s.VersionMetadata.Version
			res.CreatedTime = s.VersionMetadata.CreatedTime.UTC().Format("2006-01-02T15:04:05.999999999Z07:00")
		}
		return nil
	})
	if err != nil {
		var he *handler.Error
		if p.CAS != nil && errors.As(err, &he) && strings.Contains(he.Message, "check-and-set") {
			he.Details["cas"] = *p.CAS
			he.Hint = "the secret changed since that version: read it again and write with its current version as cas"
		}
		return nil, err
	}
	return res, nil
}

func (h *Vault) delete(ctx context.Context, p DeletePayload) (*DeleteResult, error) {
	path, mount, err := h.target(p.Path, p.Mount, true)
	if err != nil {
		return nil, err
	}
	if p.AllVersions && len(p.Versions) > 0 {
		return nil, handler.InvalidPayload("versions", "cannot be combined with all_versions")
	}
	for i, v := range p.Versions {
		if v < 1 {
			return nil, handler.InvalidPayload(fmt.Sprintf("versions[%d]", i), "must be a version number (1 or more)")
		}
	}
	res := &DeleteResult{Path: path, Mount: mount, Deleted: "latest"}
	err = h.call(ctx, "delete_secret "+mount+"/"+path, func(ctx context.Context) error {
		kv := h.client.KVv2(mount)
		switch {
		case p.AllVersions:
			res.Deleted = "all"
			return kv.DeleteMetadata(ctx, path)
		case len(p.Versions) > 0:
			res.Deleted = "versions"
			return kv.DeleteVersions(ctx, path, p.Versions)
		}
		return kv.Delete(ctx, path)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (h *Vault) list(ctx context.Context, p ListPayload) (*ListResult, error) {
	path, mount, err := h.target(p.Path, p.Mount, false)
	if err != nil {
		return nil, err
	}
	res := &ListResult{Path: path, Mount: mount, Keys: []string{}}
	err = h.call(ctx, "list_secrets "+mount+"/"+path, func(ctx context.Context) error {
		s, err := h.client.Logical().ListWithContext(ctx, mount+"/metadata/"+path)
		if err != nil || s == nil || s.Data == nil {
			return err // nil secret: nothing under path
		}
		keys, _ := s.Data["keys"].([]any)
		for _, k := range keys {
			if ks, ok := k.(string); ok {
				res.Keys = append(res.Keys, ks)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
