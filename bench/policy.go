package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/policy"
)

// opSide times n calls of op and counts its allocations (testing.AllocsPerRun
// over a smaller sample). op reports wrong results itself.
func opSide(n int, op func() error) Side {
	return func(ctx context.Context, _ int) (Sample, error) {
		var opErr error
		allocs := testing.AllocsPerRun(min(n, 200), func() {
			if err := op(); err != nil && opErr == nil {
				opErr = err
			}
		})
		if opErr != nil {
			return Sample{}, opErr
		}
		start := time.Now()
		for range n {
			if err := op(); err != nil {
				return Sample{}, err
			}
		}
		if ctx.Err() != nil {
			return Sample{}, ctx.Err()
		}
		return Sample{Value: float64(time.Since(start).Nanoseconds()) / float64(n), Allocs: allocs}, nil
	}
}

// policyWorkload measures workload 5, the invocation-time checks. Per
// envelope the runtime checks the classification (SECURITY-312); the egress
// guard (SECURITY-310) works per connection and per redirect, and the scoped
// secret reader (SECURITY-311) per read. Each is measured in ns and
// allocations, against the unguarded operation where there is one.
func policyWorkload(ctx context.Context, o Options) []Row {
	return []Row{
		classificationRow(ctx, o),
		allowsNameRow(ctx, o),
		dialRow(ctx, o),
		secretRow(ctx, o),
	}
}

// classificationRow measures an envelope refused by SECURITY-312 (classified
// above its handler) through the whole pipeline, against the same envelope
// admitted: the check itself and the cost of a refusal.
func classificationRow(ctx context.Context, o Options) Row {
	p := Pair{Name: "policy: SECURITY-312 refusal vs admitted envelope (Dispatch)", Format: latency}
	dir, err := os.MkdirTemp("", "onexbench-policy-")
	if err != nil {
		return ErrorRow(p.Name, p.Target, err)
	}
	defer os.RemoveAll(dir)
	if err := writeContracts(dir, map[string]string{"echo": echoContract}); err != nil {
		return ErrorRow(p.Name, p.Target, err)
	}
	h, enf, err := startHost(ctx, dir, nil, nil)
	if err != nil {
		return ErrorRow(p.Name, p.Target, err)
	}
	envelope := func(class string) []byte {
		return []byte(`{"envelope_id":"` + effectEnvelopeID + `","correlation_id":"` + effectCorrelationID +
			`","operation":"` + echoOperation + `","payload":{"n":0,"text":"` + textPad + `"},"data_classification":"` + class + `"}`)
	}
	refused, admitted := envelope("restricted"), envelope("internal")
	n := o.scaled(100_000)
	p.Onex = opSide(n, func() error {
		out := h.DispatchOutcome(ctx, refused, nil)
		if out.Success || out.RuleID != ruleid.SecurityClassification {
			return wrongf("envelope classified restricted answered success=%v rule %q, want SECURITY-312", out.Success, out.RuleID)
		}
		return nil
	})
	p.Peer = opSide(n, func() error {
		if out := h.DispatchOutcome(ctx, admitted, nil); !out.Success {
			return wrongf("envelope classified internal answered %s: %s", out.RuleID, out.Message)
		}
		return nil
	})
	res, err := Interleave(ctx, o.Rounds, p.Onex, p.Peer)
	err = errors.Join(err, stopHost(context.WithoutCancel(ctx), h, enf))
	if err != nil {
		return ErrorRow(p.Name, p.Target, err)
	}
	return PairRow(p, res)
}

// allowsNameRow measures the name decision of the egress guard, the check made
// for every connection and redirect (exact, wildcard and denied names).
func allowsNameRow(ctx context.Context, o Options) Row {
	name := "policy: SECURITY-310 allowlist name check"
	a, perrs := policy.CompileAllowlist([]string{"api.partner.example", "*.cdn.partner.example", "db.internal:5432", "10.0.0.0/8"})
	if len(perrs) > 0 {
		return ErrorRow(name, Target{}, perrs[0])
	}
	cases := []struct {
		host  string
		allow bool
	}{{"api.partner.example", true}, {"IMG.cdn.partner.example.", true}, {"evil.example.net", false}, {"a.b.cdn.partner.example", false}}
	i := 0
	s, err := Repeat(ctx, o.Rounds, opSide(o.scaled(1_000_000), func() error {
		c := cases[i%len(cases)]
		i++
		if a.AllowsName(c.host, 443) != c.allow {
			return wrongf("AllowsName(%q) = %v", c.host, !c.allow)
		}
		return nil
	}))
	if err != nil {
		return ErrorRow(name, Target{}, err)
	}
	return Row{Workload: name, Onex: withAllocs(latency(s.Value), s.Allocs), Peer: "—", Ratio: nan(), Status: StatusInfo}
}

// dialRow measures a connection through the egress guard of a granted
// capability (parse, allowlist, address policy, dial) against a plain
// net.Dialer, both to the same local listener.
func dialRow(ctx context.Context, o Options) Row {
	p := Pair{Name: "policy: SECURITY-310 guarded dial vs net.Dialer", Format: latency}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return ErrorRow(p.Name, p.Target, err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // accept and close until the listener closes
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	defer wg.Wait()
	defer l.Close()
	addr := l.Addr().String()
	enf := newEnforcer(nil)
	defer enf.Close()
	caps, err := enf.Grant(&handler.Descriptor{Name: "bench-dial", Version: "1.0.0", Type: handler.TypeInfra,
		Category: handler.CategoryEffect, Security: handler.Security{AllowedDomains: []string{addr}}})
	if err != nil || caps.Dialer == nil {
		return ErrorRow(p.Name, p.Target, fmt.Errorf("grant a dialer: %v", err))
	}
	if _, err := caps.Dialer.DialContext(ctx, "tcp", "127.0.0.2:"+strconv.Itoa(l.Addr().(*net.TCPAddr).Port)); err == nil {
		return ErrorRow(p.Name, p.Target, wrongf("the guard dialed an address outside its allowlist"))
	}
	var plain net.Dialer
	dial := func(d func(context.Context, string, string) (net.Conn, error)) func() error {
		return func() error {
			c, err := d(ctx, "tcp", addr)
			if err != nil {
				return err
			}
			// Reset instead of TIME_WAIT, so thousands of dials do not exhaust
			// the local ports.
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			return c.Close()
		}
	}
	n := o.scaled(2_000)
	p.Onex, p.Peer = opSide(n, dial(caps.Dialer.DialContext)), opSide(n, dial(plain.DialContext))
	res, err := Interleave(ctx, o.Rounds, p.Onex, p.Peer)
	if err != nil {
		return ErrorRow(p.Name, p.Target, err)
	}
	return PairRow(p, res)
}

// secretRow measures a read through the scoped secret reader a handler is
// granted against the same lookup in the provider directly.
func secretRow(ctx context.Context, o Options) Row {
	p := Pair{Name: "policy: SECURITY-311 scoped secret read vs provider", Format: latency}
	secrets := mapSecrets{"partner-api/bearer": "token-1", "other/bearer": "token-2"}
	enf := newEnforcer(secrets)
	defer enf.Close()
	caps, err := enf.Grant(&handler.Descriptor{Name: "bench-secrets", Version: "1.0.0", Type: handler.TypeInfra,
		Category: handler.CategoryEffect, Security: handler.Security{SecretScopes: []string{"partner-api"}}})
	if err != nil || caps.Secrets == nil {
		return ErrorRow(p.Name, p.Target, fmt.Errorf("grant a secret reader: %v", err))
	}
	ref := handler.SecretRef{Scope: "partner-api", Key: "bearer"}
	if _, err := caps.Secrets.ReadSecret(ctx, handler.SecretRef{Scope: "other", Key: "bearer"}); err == nil {
		return ErrorRow(p.Name, p.Target, wrongf("the scoped reader read an undeclared scope"))
	}
	check := func(s handler.Secret, err error) error {
		if err != nil {
			return err
		}
		if s.Reveal() != "token-1" {
			return wrongf("read the wrong secret value")
		}
		return nil
	}
	n := o.scaled(200_000)
	p.Onex = opSide(n, func() error { return check(caps.Secrets.ReadSecret(ctx, ref)) })
	p.Peer = opSide(n, func() error { return check(secrets.Lookup(ctx, ref)) })
	res, err := Interleave(ctx, o.Rounds, p.Onex, p.Peer)
	if err != nil {
		return ErrorRow(p.Name, p.Target, err)
	}
	return PairRow(p, res)
}
