// Command kfake runs an in-memory Kafka cluster (franz-go's kfake) as its own
// process, for tests that run several onex hosts against one broker and kill
// some of them. It prints the broker address on the first line of standard
// output and runs until SIGINT or SIGTERM — or, with -stdin-eof, until its
// standard input ends, so that it never outlives the test that started it.
//
//	kfake [-port 0] [-brokers 1] [-min-session-timeout 100ms] [-topic name:partitions]...
//
// It also lets a user try several hosts without installing Kafka:
//
//	go run ./internal/cmd/kfake -port 9092 -topic onex.cmd.requests.v1:6
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

type topics map[string]int32

func (t topics) String() string { return fmt.Sprint(map[string]int32(t)) }

func (t topics) Set(s string) error {
	name, parts, ok := strings.Cut(s, ":")
	n, err := strconv.ParseInt(parts, 10, 32)
	if !ok || name == "" || err != nil || n < 1 {
		return fmt.Errorf("want name:partitions, got %q", s)
	}
	t[name] = int32(n)
	return nil
}

func main() {
	port := flag.Int("port", 0, "port of the first broker (0: any free port); further brokers take the next ports")
	brokers := flag.Int("brokers", 1, "number of brokers")
	minSession := flag.Duration("min-session-timeout", 100*time.Millisecond, "shortest group session timeout accepted")
	stdinEOF := flag.Bool("stdin-eof", false, "exit when standard input ends")
	seed := topics{}
	flag.Var(seed, "topic", "topic to create, name:partitions (repeatable)")
	flag.Parse()

	opts := []kfake.Opt{kfake.NumBrokers(*brokers), kfake.GroupMinSessionTimeout(*minSession)}
	if *port > 0 {
		ports := make([]int, *brokers)
		for i := range ports {
			ports[i] = *port + i
		}
		opts = append(opts, kfake.Ports(ports...))
	}
	for name, n := range seed {
		opts = append(opts, kfake.SeedTopics(n, name))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kfake:", err)
		os.Exit(1)
	}
	defer c.Close()
	fmt.Println(strings.Join(c.ListenAddrs(), ","))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	eof := make(chan struct{})
	if *stdinEOF {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			close(eof)
		}()
	}
	select {
	case <-ctx.Done():
	case <-eof:
	}
}
