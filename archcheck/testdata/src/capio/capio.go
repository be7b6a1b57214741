// Package capio exercises ARCH-004: a handler package doing I/O on its own.
package capio

import (
	"context"
	"crypto/tls"
	"database/sql"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"

	"github.com/onexhost/onex/handler"
)

// Fetcher uses only its capabilities: nothing here is reported.
type Fetcher struct {
	client *http.Client
	dialer handler.Dialer
}

func (f *Fetcher) Init(ctx context.Context, env *handler.InitEnv) error {
	f.client = env.HTTPClient()
	f.dialer = env.Dialer()
	_, err := env.Secrets().Read(ctx, "partner-api", "token")
	return err
}

func (f *Fetcher) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.partner.example/v1", nil)
	if err != nil {
		return handler.Output{}, err
	}
	resp, err := inv.HTTPClient().Do(req)
	if err != nil {
		return handler.Output{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return handler.Output{}, err
	}
	conn, err := inv.Dialer().DialContext(ctx, "tcp", "db.partner.example:5432")
	if err != nil {
		return handler.Output{}, err
	}
	defer conn.Close()
	token, err := inv.Secrets().Read(ctx, "partner-api", "token")
	if err != nil {
		return handler.Output{}, err
	}
	// Reading files is not writing them.
	cfg, err := os.ReadFile("/etc/partner.json")
	if err != nil {
		return handler.Output{}, err
	}
	ro, err := os.OpenFile("/etc/partner.json", os.O_RDONLY, 0)
	if err == nil {
		ro.Close()
	}
	resp2, err := f.client.Get("https://api.partner.example/v2")
	if err == nil {
		resp2.Body.Close()
	}
	return handler.Output{Result: map[string]any{"body": string(body), "token": token != "", "cfg": len(cfg)}}, nil
}

func dialing(ctx context.Context) {
	net.Dial("tcp", "example.com:80")           // want `\[ARCH-004\] handler package dials with net.Dial \(it defines handler type Fetcher\)\. Remediation: dial through the egress-guarded dialer`
	net.DialTimeout("tcp", "example.com:80", 0) // want `\[ARCH-004\] handler package dials with net.DialTimeout`
	var d net.Dialer
	d.DialContext(ctx, "tcp", "example.com:80") // want `\[ARCH-004\] handler package dials with \(\*net.Dialer\).DialContext`
	tls.Dial("tcp", "example.com:443", nil)     // want `\[ARCH-004\] handler package dials with crypto/tls.Dial`
	dial := net.Dial                            // want `\[ARCH-004\] handler package dials with net.Dial`
	_ = dial
	net.Listen("tcp", "127.0.0.1:0") // want `\[ARCH-004\] handler package listens with net.Listen\b.*Remediation: handlers do not accept connections`
}

func httpClients() {
	http.Get("https://example.com")                     // want `\[ARCH-004\] handler package makes an unguarded HTTP request with net/http.Get\b.*Remediation: use the egress-guarded HTTP client`
	http.Post("https://example.com", "text/plain", nil) // want `\[ARCH-004\] handler package makes an unguarded HTTP request with net/http.Post\b`
	_ = http.DefaultClient                              // want `\[ARCH-004\] handler package uses the unguarded default HTTP client with net/http.DefaultClient`
	_ = &http.Client{}                                  // want `\[ARCH-004\] handler package constructs its own HTTP client \(http.Client\)`
	_ = new(http.Transport)                             // want `\[ARCH-004\] handler package constructs its own HTTP transport \(http.Transport\)`
	var c http.Client                                   // want `\[ARCH-004\] handler package constructs its own HTTP client \(http.Client\)`
	_ = c
}

func executing(ctx context.Context) {
	exec.Command("ls")                   // want `\[ARCH-004\] handler package executes a program with os/exec.Command\b.*Remediation: handlers do not run programs`
	exec.CommandContext(ctx, "ls")       // want `\[ARCH-004\] handler package executes a program with os/exec.CommandContext`
	_ = &exec.Cmd{Path: "/bin/ls"}       // want `\[ARCH-004\] handler package constructs a command to execute \(exec.Cmd\)`
	os.StartProcess("/bin/ls", nil, nil) // want `\[ARCH-004\] handler package executes a program with os.StartProcess`
}

func querying() {
	sql.Open("pgx", "postgres://db.example/app") // want `\[ARCH-004\] handler package opens a database connection with database/sql.Open\b.*Remediation: build the database pool in Init`
}

func writing(flag int) {
	os.Create("/tmp/out")                                   // want `\[ARCH-004\] handler package writes files with os.Create\b.*Remediation: handlers do not write files`
	os.WriteFile("/tmp/out", nil, 0o600)                    // want `\[ARCH-004\] handler package writes files with os.WriteFile`
	os.OpenFile("/tmp/out", os.O_WRONLY|os.O_CREATE, 0o600) // want `\[ARCH-004\] handler package opens a file for writing with os.OpenFile`
	os.OpenFile("/tmp/out", flag, 0o600)                    // want `\[ARCH-004\] handler package opens a file for writing with os.OpenFile`
	os.MkdirAll("/tmp/dir", 0o755)                          // want `\[ARCH-004\] handler package writes files with os.MkdirAll`
	os.Remove("/tmp/out")                                   // want `\[ARCH-004\] handler package writes files with os.Remove\b`
	if root, err := os.OpenRoot("/tmp"); err == nil {
		root.WriteFile("out", nil, 0o600)        // want `\[ARCH-004\] handler package writes files with \(\*os.Root\).WriteFile`
		root.OpenFile("out", os.O_APPEND, 0o600) // want `\[ARCH-004\] handler package opens a file for writing with \(\*os.Root\).OpenFile`
		root.OpenFile("in", os.O_RDONLY, 0)
	}
}
