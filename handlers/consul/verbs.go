package consul

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/consul/api"

	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/handlers/internal/remote"
	"github.com/onexhost/onex/handlers/internal/verbs"
)

// KVGetPayload is the payload of kv_get.
type KVGetPayload struct {
	Key     string `json:"key"`
	Recurse bool   `json:"recurse,omitempty"`
}

// KVPutPayload is the payload of kv_put.
type KVPutPayload struct {
	Key         string  `json:"key"`
	Value       *string `json:"value,omitempty"`
	ValueBase64 string  `json:"value_base64,omitempty"`
	Flags       uint64  `json:"flags,omitempty"`
	// CAS, when set, writes only if the key's modify index still equals it
	// (0: only if the key does not exist).
	CAS *uint64 `json:"cas,omitempty"`
}

// KVDeletePayload is the payload of kv_delete.
type KVDeletePayload struct {
	Key     string  `json:"key"`
	Recurse bool    `json:"recurse,omitempty"`
	CAS     *uint64 `json:"cas,omitempty"`
}

// Check is a health check of a registered service: exactly one of HTTP, TCP
// and TTL.
type Check struct {
	HTTP     string `json:"http,omitempty"`
	TCP      string `json:"tcp,omitempty"`
	TTL      string `json:"ttl,omitempty"`
	Interval string `json:"interval,omitempty"`
	Timeout  string `json:"timeout,omitempty"`
	// Status is the initial status: passing, warning or critical (Consul's
	// default is critical until the check first runs).
	Status                         string `json:"status,omitempty"`
	DeregisterCriticalServiceAfter string `json:"deregister_critical_service_after,omitempty"`
}

// RegisterPayload is the payload of register.
type RegisterPayload struct {
	Name      string            `json:"name"`
	ServiceID string            `json:"service_id,omitempty"`
	Address   string            `json:"address,omitempty"`
	Port      int               `json:"port,omitempty"`
	Tags      []string          `json:"tags,omitempty"`
	Meta      map[string]string `json:"meta,omitempty"`
	Check     *Check            `json:"check,omitempty"`
}

// DeregisterPayload is the payload of deregister.
type DeregisterPayload struct {
	ServiceID string `json:"service_id"`
}

// ServicesPayload is the payload of services.
type ServicesPayload struct {
	Name        string `json:"name"`
	Tag         string `json:"tag,omitempty"`
	PassingOnly bool   `json:"passing_only,omitempty"`
}

// KVPair is one key of a kv_get result. Value holds valid UTF-8; anything else
// comes as ValueBase64.
type KVPair struct {
	Key         string  `json:"key"`
	Value       *string `json:"value,omitempty"`
	ValueBase64 string  `json:"value_base64,omitempty"`
	Flags       uint64  `json:"flags"`
	CreateIndex uint64  `json:"create_index"`
	ModifyIndex uint64  `json:"modify_index"`
}

// KVGetResult is the result of kv_get: Pair for one key, Pairs with recurse.
type KVGetResult struct {
	Found bool     `json:"found"`
	Key   string   `json:"key"`
	Pair  *KVPair  `json:"pair,omitempty"`
	Pairs []KVPair `json:"pairs,omitempty"`
	// Index is X-Consul-Index, for blocking queries and CAS.
	Index uint64 `json:"index"`
}

// SuccessResult is the result of kv_put and kv_delete.
type SuccessResult struct {
	Success bool   `json:"success"`
	Key     string `json:"key"`
}

// ServiceResult is the result of register and deregister.
type ServiceResult struct {
	ServiceID string `json:"service_id"`
}

// ServiceInstance is one healthy (or any) instance of a service.
type ServiceInstance struct {
	ID          string            `json:"id"`
	Service     string            `json:"service"`
	Address     string            `json:"address"`
	Port        int               `json:"port"`
	Tags        []string          `json:"tags"`
	Meta        map[string]string `json:"meta,omitempty"`
	Node        string            `json:"node"`
	NodeAddress string            `json:"node_address"`
	// Status is the aggregate of the instance's checks: passing, warning,
	// critical or maintenance.
	Status string `json:"status"`
}

// ServicesResult is the result of services.
type ServicesResult struct {
	Services []ServiceInstance `json:"services"`
	Index    uint64            `json:"index"`
}

var checkStatuses = map[string]bool{"passing": true, "warning": true, "critical": true}

// verbTable routes each verb to its method.
var verbTable = verbs.Table[*Consul]{
	"kv_get":     verbs.Of((*Consul).kvGet),
	"kv_put":     verbs.Of((*Consul).kvPut),
	"kv_delete":  verbs.Of((*Consul).kvDelete),
	"register":   verbs.Of((*Consul).register),
	"deregister": verbs.Of((*Consul).deregister),
	"services":   verbs.Of((*Consul).services),
}

// Handle runs one verb.
func (h *Consul) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	if h.client == nil {
		return handler.Output{}, handler.Failed(nil, "the consul handler is not initialised")
	}
	return verbTable.Handle(ctx, h, "consul", inv)
}

// consulAPI is how a Consul call fails: the invocation's own deadline or
// cancellation goes back as is; the handler's timeout, network failures, 429
// and 5xx are transient; a policy refusal and other 4xx (403: the ACL token)
// are permanent. The client's api.StatusError carries the status and body.
var consulAPI = &remote.API{
	Name: "consul",
	Status: func(err error) (remote.Status, bool) {
		var se api.StatusError
		if errors.As(err, &se) {
			return remote.Status{Code: se.Code, Reason: se.Body}, true
		}
		return remote.Status{}, false
	},
	Hints: map[int]string{
		http.StatusForbidden: "the ACL token (token_secret) lacks a policy allowing this, or is unknown to Consul",
		http.StatusNotFound:  "the target does not exist on this agent (for deregister, pass the service ID, not the name)",
	},
}

// call bounds one API call by the handler's timeout and maps its error.
func (h *Consul) call(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	return consulAPI.Call(ctx, h.cfg.timeout, what, fn)
}

func (h *Consul) query(ctx context.Context) *api.QueryOptions {
	return (&api.QueryOptions{}).WithContext(ctx)
}

func (h *Consul) write(ctx context.Context) *api.WriteOptions {
	return (&api.WriteOptions{}).WithContext(ctx)
}

func renderPair(p *api.KVPair) KVPair {
	out := KVPair{Key: p.Key, Flags: p.Flags, CreateIndex: p.CreateIndex, ModifyIndex: p.ModifyIndex}
	if utf8.Valid(p.Value) {
		s := string(p.Value)
		out.Value = &s
	} else {
		out.ValueBase64 = base64.StdEncoding.EncodeToString(p.Value)
	}
	return out
}

func (h *Consul) kvGet(ctx context.Context, p KVGetPayload) (*KVGetResult, error) {
	if p.Key == "" && !p.Recurse {
		return nil, handler.InvalidPayload("key", "required (an empty key is allowed only with recurse)")
	}
	res := &KVGetResult{Key: p.Key}
	if p.Recurse {
		err := h.call(ctx, "kv_get "+p.Key, func(ctx context.Context) error {
			pairs, meta, err := h.client.KV().List(p.Key, h.query(ctx))
			if err != nil {
				return err
			}
			res.Index = meta.LastIndex
			res.Pairs = make([]KVPair, len(pairs))
			for i, kv := range pairs {
				res.Pairs[i] = renderPair(kv)
			}
			return nil
		})
		res.Found = len(res.Pairs) > 0
		return res, err
	}
	err := h.call(ctx, "kv_get "+p.Key, func(ctx context.Context) error {
		pair, meta, err := h.client.KV().Get(p.Key, h.query(ctx))
		if err != nil {
			return err
		}
		res.Index = meta.LastIndex
		if pair != nil {
			rp := renderPair(pair)
			res.Pair, res.Found = &rp, true
		}
		return nil
	})
	return res, err
}

func (h *Consul) kvPut(ctx context.Context, p KVPutPayload) (*SuccessResult, error) {
	if p.Key == "" {
		return nil, handler.InvalidPayload("key", "required")
	}
	var value []byte
	switch {
	case p.Value != nil && p.ValueBase64 != "":
		return nil, handler.InvalidPayload("value_base64", "set value or value_base64, not both")
	case p.Value != nil:
		value = []byte(*p.Value)
	case p.ValueBase64 != "":
		v, err := base64.StdEncoding.DecodeString(p.ValueBase64)
		if err != nil {
			return nil, handler.InvalidPayload("value_base64", "not standard base64: %v", err)
		}
		value = v
	}
	if len(value) > MaxValueBytes {
		return nil, handler.InvalidPayload("value", "%d bytes, over Consul's limit of %d", len(value), MaxValueBytes)
	}
	pair := &api.KVPair{Key: p.Key, Value: value, Flags: p.Flags}
	res := &SuccessResult{Key: p.Key}
	err := h.call(ctx, "kv_put "+p.Key, func(ctx context.Context) error {
		if p.CAS != nil {
			pair.ModifyIndex = *p.CAS
			ok, _, err := h.client.KV().CAS(pair, h.write(ctx))
			res.Success = ok
			return err
		}
		_, err := h.client.KV().Put(pair, h.write(ctx))
		res.Success = err == nil
		return err
	})
	return res, err
}

func (h *Consul) kvDelete(ctx context.Context, p KVDeletePayload) (*SuccessResult, error) {
	switch {
	case p.Key == "" && !p.Recurse:
		return nil, handler.InvalidPayload("key", "required")
	case p.Key == "" && p.Recurse:
		return nil, handler.InvalidPayload("key", "required: deleting the whole KV store is not offered")
	case p.Recurse && p.CAS != nil:
		return nil, handler.InvalidPayload("cas", "cannot be combined with recurse")
	}
	res := &SuccessResult{Key: p.Key}
	err := h.call(ctx, "kv_delete "+p.Key, func(ctx context.Context) error {
		switch {
		case p.Recurse:
			_, err := h.client.KV().DeleteTree(p.Key, h.write(ctx))
			res.Success = err == nil
			return err
		case p.CAS != nil:
			ok, _, err := h.client.KV().DeleteCAS(&api.KVPair{Key: p.Key, ModifyIndex: *p.CAS}, h.write(ctx))
			res.Success = ok
			return err
		}
		_, err := h.client.KV().Delete(p.Key, h.write(ctx))
		res.Success = err == nil
		return err
	})
	return res, err
}

func durationField(field, v string) error {
	if v == "" {
		return nil
	}
	if d, err := time.ParseDuration(v); err != nil || d <= 0 {
		return handler.InvalidPayload(field, "%q is not a positive duration such as 10s", v)
	}
	return nil
}

func (h *Consul) register(ctx context.Context, p RegisterPayload) (*ServiceResult, error) {
	if p.Name == "" {
		return nil, handler.InvalidPayload("name", "required")
	}
	if p.Port < 0 || p.Port > 65535 {
		return nil, handler.InvalidPayload("port", "must be between 0 and 65535")
	}
	reg := &api.AgentServiceRegistration{ID: p.ServiceID, Name: p.Name, Address: p.Address, Port: p.Port, Tags: p.Tags, Meta: p.Meta}
	if c := p.Check; c != nil {
		kinds := 0
		for _, v := range []string{c.HTTP, c.TCP, c.TTL} {
			if v != "" {
				kinds++
			}
		}
		if kinds != 1 {
			return nil, handler.InvalidPayload("check", "set exactly one of http, tcp or ttl")
		}
		if c.TTL == "" && c.Interval == "" {
			return nil, handler.InvalidPayload("check.interval", "required for http and tcp checks")
		}
		for field, v := range map[string]string{"check.interval": c.Interval, "check.timeout": c.Timeout, "check.ttl": c.TTL,
			"check.deregister_critical_service_after": c.DeregisterCriticalServiceAfter} {
			if err := durationField(field, v); err != nil {
				return nil, err
			}
		}
		if c.Status != "" && !checkStatuses[c.Status] {
			return nil, handler.InvalidPayload("check.status", "must be passing, warning or critical")
		}
		if c.TCP != "" {
			if _, _, err := net.SplitHostPort(c.TCP); err != nil {
				return nil, handler.InvalidPayload("check.tcp", "must be host:port")
			}
		}
		reg.Check = &api.AgentServiceCheck{HTTP: c.HTTP, TCP: c.TCP, TTL: c.TTL, Interval: c.Interval, Timeout: c.Timeout,
			Status: c.Status, DeregisterCriticalServiceAfter: c.DeregisterCriticalServiceAfter}
	}
	id := p.ServiceID
	if id == "" {
		id = p.Name
	}
	err := h.call(ctx, "register "+id, func(ctx context.Context) error {
		return h.client.Agent().ServiceRegisterOpts(reg, api.ServiceRegisterOpts{}.WithContext(ctx))
	})
	if err != nil {
		return nil, err
	}
	return &ServiceResult{ServiceID: id}, nil
}

func (h *Consul) deregister(ctx context.Context, p DeregisterPayload) (*ServiceResult, error) {
	if p.ServiceID == "" {
		return nil, handler.InvalidPayload("service_id", "required")
	}
	err := h.call(ctx, "deregister "+p.ServiceID, func(ctx context.Context) error {
		return h.client.Agent().ServiceDeregisterOpts(p.ServiceID, h.query(ctx))
	})
	if err != nil {
		return nil, err
	}
	return &ServiceResult{ServiceID: p.ServiceID}, nil
}

func (h *Consul) services(ctx context.Context, p ServicesPayload) (*ServicesResult, error) {
	if p.Name == "" {
		return nil, handler.InvalidPayload("name", "required")
	}
	res := &ServicesResult{Services: []ServiceInstance{}}
	err := h.call(ctx, "services "+p.Name, func(ctx context.Context) error {
		entries, meta, err := h.client.Health().Service(p.Name, p.Tag, p.PassingOnly, h.query(ctx))
		if err != nil {
			return err
		}
		res.Index = meta.LastIndex
		for _, e := range entries {
			if e.Service == nil || e.Node == nil {
				continue
			}
			inst := ServiceInstance{
				ID: e.Service.ID, Service: e.Service.Service, Address: e.Service.Address, Port: e.Service.Port,
				Tags: e.Service.Tags, Meta: e.Service.Meta, Node: e.Node.Node, NodeAddress: e.Node.Address,
				Status: e.Checks.AggregatedStatus(),
			}
			if inst.Address == "" {
				inst.Address = e.Node.Address // Consul's rule: no service address means the node's
			}
			if inst.Tags == nil {
				inst.Tags = []string{}
			}
			res.Services = append(res.Services, inst)
		}
		return nil
	})
	return res, err
}
