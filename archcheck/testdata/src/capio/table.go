package capio

import (
	"crypto/tls"
	"database/sql"
	"io/ioutil"
	"net"
	"net/http"
	"net/rpc"
	"net/rpc/jsonrpc"
	"net/smtp"
	"os"
	"os/exec"
	"syscall"
)

// everyForbidden refers to every function, method and variable of the ARCH-004
// table, as values: a reference is reported like a call.
func everyForbidden() {
	_ = net.Dial                         // want `\[ARCH-004\] handler package dials with net\.Dial \(`
	_ = net.DialTimeout                  // want `\[ARCH-004\] handler package dials with net\.DialTimeout \(`
	_ = net.DialTCP                      // want `\[ARCH-004\] handler package dials with net\.DialTCP \(`
	_ = net.DialUDP                      // want `\[ARCH-004\] handler package dials with net\.DialUDP \(`
	_ = net.DialIP                       // want `\[ARCH-004\] handler package dials with net\.DialIP \(`
	_ = net.DialUnix                     // want `\[ARCH-004\] handler package dials with net\.DialUnix \(`
	_ = (*net.Dialer).Dial               // want `\[ARCH-004\] handler package dials with \(\*net\.Dialer\)\.Dial \(`
	_ = (*net.Dialer).DialContext        // want `\[ARCH-004\] handler package dials with \(\*net\.Dialer\)\.DialContext \(`
	_ = (*net.Dialer).DialTCP            // want `\[ARCH-004\] handler package dials with \(\*net\.Dialer\)\.DialTCP \(`
	_ = (*net.Dialer).DialUDP            // want `\[ARCH-004\] handler package dials with \(\*net\.Dialer\)\.DialUDP \(`
	_ = (*net.Dialer).DialIP             // want `\[ARCH-004\] handler package dials with \(\*net\.Dialer\)\.DialIP \(`
	_ = (*net.Dialer).DialUnix           // want `\[ARCH-004\] handler package dials with \(\*net\.Dialer\)\.DialUnix \(`
	_ = tls.Dial                         // want `\[ARCH-004\] handler package dials with crypto/tls\.Dial \(`
	_ = tls.DialWithDialer               // want `\[ARCH-004\] handler package dials with crypto/tls\.DialWithDialer \(`
	_ = (*tls.Dialer).Dial               // want `\[ARCH-004\] handler package dials with \(\*crypto/tls\.Dialer\)\.Dial \(`
	_ = (*tls.Dialer).DialContext        // want `\[ARCH-004\] handler package dials with \(\*crypto/tls\.Dialer\)\.DialContext \(`
	_ = smtp.Dial                        // want `\[ARCH-004\] handler package dials with net/smtp\.Dial \(`
	_ = smtp.SendMail                    // want `\[ARCH-004\] handler package dials with net/smtp\.SendMail \(`
	_ = rpc.Dial                         // want `\[ARCH-004\] handler package dials with net/rpc\.Dial \(`
	_ = rpc.DialHTTP                     // want `\[ARCH-004\] handler package dials with net/rpc\.DialHTTP \(`
	_ = rpc.DialHTTPPath                 // want `\[ARCH-004\] handler package dials with net/rpc\.DialHTTPPath \(`
	_ = jsonrpc.Dial                     // want `\[ARCH-004\] handler package dials with net/rpc/jsonrpc\.Dial \(`
	_ = net.Listen                       // want `\[ARCH-004\] handler package listens with net\.Listen \(`
	_ = net.ListenPacket                 // want `\[ARCH-004\] handler package listens with net\.ListenPacket \(`
	_ = net.ListenTCP                    // want `\[ARCH-004\] handler package listens with net\.ListenTCP \(`
	_ = net.ListenUDP                    // want `\[ARCH-004\] handler package listens with net\.ListenUDP \(`
	_ = net.ListenIP                     // want `\[ARCH-004\] handler package listens with net\.ListenIP \(`
	_ = net.ListenUnix                   // want `\[ARCH-004\] handler package listens with net\.ListenUnix \(`
	_ = net.ListenUnixgram               // want `\[ARCH-004\] handler package listens with net\.ListenUnixgram \(`
	_ = net.ListenMulticastUDP           // want `\[ARCH-004\] handler package listens with net\.ListenMulticastUDP \(`
	_ = (*net.ListenConfig).Listen       // want `\[ARCH-004\] handler package listens with \(\*net\.ListenConfig\)\.Listen \(`
	_ = (*net.ListenConfig).ListenPacket // want `\[ARCH-004\] handler package listens with \(\*net\.ListenConfig\)\.ListenPacket \(`
	_ = tls.Listen                       // want `\[ARCH-004\] handler package listens with crypto/tls\.Listen \(`
	_ = http.ListenAndServe              // want `\[ARCH-004\] handler package listens with net/http\.ListenAndServe \(`
	_ = http.ListenAndServeTLS           // want `\[ARCH-004\] handler package listens with net/http\.ListenAndServeTLS \(`
	_ = http.Serve                       // want `\[ARCH-004\] handler package listens with net/http\.Serve \(`
	_ = http.ServeTLS                    // want `\[ARCH-004\] handler package listens with net/http\.ServeTLS \(`
	_ = http.Get                         // want `\[ARCH-004\] handler package makes an unguarded HTTP request with net/http\.Get \(`
	_ = http.Head                        // want `\[ARCH-004\] handler package makes an unguarded HTTP request with net/http\.Head \(`
	_ = http.Post                        // want `\[ARCH-004\] handler package makes an unguarded HTTP request with net/http\.Post \(`
	_ = http.PostForm                    // want `\[ARCH-004\] handler package makes an unguarded HTTP request with net/http\.PostForm \(`
	_ = http.DefaultClient               // want `\[ARCH-004\] handler package uses the unguarded default HTTP client with net/http\.DefaultClient \(`
	_ = http.DefaultTransport            // want `\[ARCH-004\] handler package uses the unguarded default HTTP client with net/http\.DefaultTransport \(`
	_ = exec.Command                     // want `\[ARCH-004\] handler package executes a program with os/exec\.Command \(`
	_ = exec.CommandContext              // want `\[ARCH-004\] handler package executes a program with os/exec\.CommandContext \(`
	_ = os.StartProcess                  // want `\[ARCH-004\] handler package executes a program with os\.StartProcess \(`
	_ = syscall.Exec                     // want `\[ARCH-004\] handler package executes a program with syscall\.Exec \(`
	_ = syscall.ForkExec                 // want `\[ARCH-004\] handler package executes a program with syscall\.ForkExec \(`
	_ = syscall.StartProcess             // want `\[ARCH-004\] handler package executes a program with syscall\.StartProcess \(`
	_ = sql.Open                         // want `\[ARCH-004\] handler package opens a database connection with database/sql\.Open \(`
	_ = sql.OpenDB                       // want `\[ARCH-004\] handler package opens a database connection with database/sql\.OpenDB \(`
	_ = os.Create                        // want `\[ARCH-004\] handler package writes files with os\.Create \(`
	_ = os.CreateTemp                    // want `\[ARCH-004\] handler package writes files with os\.CreateTemp \(`
	_ = os.WriteFile                     // want `\[ARCH-004\] handler package writes files with os\.WriteFile \(`
	_ = os.Mkdir                         // want `\[ARCH-004\] handler package writes files with os\.Mkdir \(`
	_ = os.MkdirAll                      // want `\[ARCH-004\] handler package writes files with os\.MkdirAll \(`
	_ = os.MkdirTemp                     // want `\[ARCH-004\] handler package writes files with os\.MkdirTemp \(`
	_ = os.Remove                        // want `\[ARCH-004\] handler package writes files with os\.Remove \(`
	_ = os.RemoveAll                     // want `\[ARCH-004\] handler package writes files with os\.RemoveAll \(`
	_ = os.Rename                        // want `\[ARCH-004\] handler package writes files with os\.Rename \(`
	_ = os.Symlink                       // want `\[ARCH-004\] handler package writes files with os\.Symlink \(`
	_ = os.Link                          // want `\[ARCH-004\] handler package writes files with os\.Link \(`
	_ = os.Chmod                         // want `\[ARCH-004\] handler package writes files with os\.Chmod \(`
	_ = os.Chown                         // want `\[ARCH-004\] handler package writes files with os\.Chown \(`
	_ = os.Lchown                        // want `\[ARCH-004\] handler package writes files with os\.Lchown \(`
	_ = os.Chtimes                       // want `\[ARCH-004\] handler package writes files with os\.Chtimes \(`
	_ = os.Truncate                      // want `\[ARCH-004\] handler package writes files with os\.Truncate \(`
	_ = os.CopyFS                        // want `\[ARCH-004\] handler package writes files with os\.CopyFS \(`
	_ = (*os.Root).Create                // want `\[ARCH-004\] handler package writes files with \(\*os\.Root\)\.Create \(`
	_ = (*os.Root).WriteFile             // want `\[ARCH-004\] handler package writes files with \(\*os\.Root\)\.WriteFile \(`
	_ = (*os.Root).Mkdir                 // want `\[ARCH-004\] handler package writes files with \(\*os\.Root\)\.Mkdir \(`
	_ = (*os.Root).MkdirAll              // want `\[ARCH-004\] handler package writes files with \(\*os\.Root\)\.MkdirAll \(`
	_ = (*os.Root).Remove                // want `\[ARCH-004\] handler package writes files with \(\*os\.Root\)\.Remove \(`
	_ = (*os.Root).RemoveAll             // want `\[ARCH-004\] handler package writes files with \(\*os\.Root\)\.RemoveAll \(`
	_ = (*os.Root).Rename                // want `\[ARCH-004\] handler package writes files with \(\*os\.Root\)\.Rename \(`
	_ = (*os.Root).Symlink               // want `\[ARCH-004\] handler package writes files with \(\*os\.Root\)\.Symlink \(`
	_ = (*os.Root).Link                  // want `\[ARCH-004\] handler package writes files with \(\*os\.Root\)\.Link \(`
	_ = (*os.Root).Chmod                 // want `\[ARCH-004\] handler package writes files with \(\*os\.Root\)\.Chmod \(`
	_ = (*os.Root).Chown                 // want `\[ARCH-004\] handler package writes files with \(\*os\.Root\)\.Chown \(`
	_ = (*os.Root).Lchown                // want `\[ARCH-004\] handler package writes files with \(\*os\.Root\)\.Lchown \(`
	_ = (*os.Root).Chtimes               // want `\[ARCH-004\] handler package writes files with \(\*os\.Root\)\.Chtimes \(`
	_ = ioutil.WriteFile                 // want `\[ARCH-004\] handler package writes files with io/ioutil\.WriteFile \(`
	_ = ioutil.TempFile                  // want `\[ARCH-004\] handler package writes files with io/ioutil\.TempFile \(`
	_ = ioutil.TempDir                   // want `\[ARCH-004\] handler package writes files with io/ioutil\.TempDir \(`
	_ = os.OpenFile                      // want `\[ARCH-004\] handler package opens a file for writing with os\.OpenFile \(`
	_ = (*os.Root).OpenFile              // want `\[ARCH-004\] handler package opens a file for writing with \(\*os\.Root\)\.OpenFile \(`
}
