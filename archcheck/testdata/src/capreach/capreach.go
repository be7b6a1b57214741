// Package capreach is a handler package calling helpers of other packages:
// ARCH-004 follows the calls through their facts.
package capreach

import (
	"context"
	"net/http"

	"example.com/archive"
	"example.com/remote"
	"example.com/spool"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/runtime"
)

type Mirror struct{ client *remote.Client }

func (m *Mirror) Init(ctx context.Context, env *handler.InitEnv) error {
	m.client = &remote.Client{HTTP: env.HTTPClient()}
	return nil
}

func (m *Mirror) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	// The granted client passed to a helper: nothing is reported.
	code, err := remote.FetchWith(inv.HTTPClient(), "https://api.partner.example/v1")
	if err != nil {
		return handler.Output{}, err
	}
	if _, err := m.client.Get("https://api.partner.example/v2"); err != nil {
		return handler.Output{}, err
	}
	remote.Fetch("https://example.com/")          // want `\[ARCH-004\] handler package makes an unguarded HTTP request through remote\.Fetch: \(\*Mirror\)\.Handle → remote\.Fetch → net/http\.Get \(it defines handler type Mirror\)\. Remediation: use the egress-guarded HTTP client of the invocation: inv\.HTTPClient\(\) \(env\.HTTPClient\(\) in Init\); a helper gets the capability from the handler as an argument`
	archive.Keep("out.json", nil)                 // want `\[ARCH-004\] handler package writes files through archive\.Keep: \(\*Mirror\)\.Handle → archive\.Keep → spool\.Write → os\.WriteFile \(it defines handler type Mirror\)\. Remediation: handlers do not write files`
	archive.Store{}.Put("out.json", nil)          // want `handler package writes files through \(archive\.Store\)\.Put: \(\*Mirror\)\.Handle → \(archive\.Store\)\.Put → archive\.Keep → spool\.Write → os\.WriteFile`
	spool.Append("log", nil)                      // want `handler package opens a file for writing through spool\.Append: \(\*Mirror\)\.Handle → spool\.Append → os\.OpenFile`
	m.client.Post("https://example.com/", nil)    // want `handler package uses the unguarded default HTTP client through \(\*remote\.Client\)\.Post: \(\*Mirror\)\.Handle → \(\*remote\.Client\)\.Post → net/http\.DefaultClient`
	remote.Each([]string{"https://example.com/"}) // want `through remote\.Each: \(\*Mirror\)\.Handle → remote\.Each → remote\.Fetch → net/http\.Get`
	remote.Warm("https://example.com/")           // want `handler package makes an unguarded HTTP request through remote\.Warm: \(\*Mirror\)\.Handle → remote\.Warm → net/http\.Head`
	remote.Ping(ctx, "example.com:80")            // want `handler package dials through remote\.Ping: \(\*Mirror\)\.Handle → remote\.Ping → \(\*net\.Dialer\)\.DialContext`
	mirrorAll()
	// What is not followed: an interface, a function value, a stored literal.
	remote.Through(http.DefaultTransport, nil) // want `handler package uses the unguarded default HTTP client with net/http\.DefaultTransport`
	remote.Call(m.client.Get, "https://example.com/")
	remote.Default()
	remote.Later("example.com:80")
	remote.Transport()
	// A read-only open, and the runtime, which does the host's own I/O.
	spool.Read("in.json")
	runtime.Admin()
	return handler.Output{Result: code}, nil
}

// mirrorAll reaches a helper from a function of the handler package: the call
// of the helper is reported, in the function it is in.
func mirrorAll() {
	remote.Mirror([]string{"https://example.com/"}) // want `through remote\.Mirror: mirrorAll → remote\.Mirror → remote\.fetchAll → remote\.Fetch → net/http\.Get`
}

// A helper taken as a value is reported too, where it is taken; at package
// level, the chain starts at the package's initialisation.
var fetch = remote.Fetch // want `through remote\.Fetch: init → remote\.Fetch → net/http\.Get`
