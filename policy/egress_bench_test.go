package policy

import (
	"net"
	"sync"
	"testing"

	"github.com/onexhost/onex/handler"
)

// BenchmarkGuardedDial compares a connection through the egress guard (parse,
// allowlist, address policy, dial) with a plain net.Dialer, both to one local
// listener.
func BenchmarkGuardedDial(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	})
	b.Cleanup(func() {
		_ = l.Close()
		wg.Wait()
	})
	addr := l.Addr().String()
	e := New(Options{})
	b.Cleanup(func() { _ = e.Close() })
	caps, err := e.Grant(effectDescriptor("bench-dial", addr))
	if err != nil {
		b.Fatal(err)
	}
	var plain net.Dialer
	for _, bc := range []struct {
		name string
		dial func() (net.Conn, error)
	}{
		{"guard", func() (net.Conn, error) { return caps.Dialer.DialContext(b.Context(), "tcp", addr) }},
		{"net.Dialer", func() (net.Conn, error) { return plain.DialContext(b.Context(), "tcp", addr) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c, err := bc.dial()
				if err != nil {
					b.Fatal(err)
				}
				// Reset instead of TIME_WAIT, so many dials do not exhaust the
				// local ports.
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.SetLinger(0)
				}
				_ = c.Close()
			}
		})
	}
}

// BenchmarkGuardDecision measures the guard's decision for a listed name whose
// answer is checked address by address, without a network: the cost the
// address policy adds to every connection.
func BenchmarkGuardDecision(b *testing.B) {
	r := newResolver(map[string]string{
		"v4.partner.test":    "203.0.113.10",
		"nat64.partner.test": "64:ff9b::cb00:710a",
		"dual.partner.test":  "203.0.113.10,2606:4700::1111",
	})
	e := New(Options{Environment: DefaultEnvironment(handler.EnvProduction), Resolver: r})
	b.Cleanup(func() { _ = e.Close() })
	a, _ := CompileAllowlist([]string{"*.partner.test", "10.0.0.0/8"})
	g := &guard{g: &grant{e: e, d: effectDescriptor("bench")}, allow: a, private: PrivateNetworksDeny}
	for _, host := range []string{"v4.partner.test", "nat64.partner.test", "dual.partner.test"} {
		b.Run(host, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := g.resolve(b.Context(), "ip", host, 443); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
