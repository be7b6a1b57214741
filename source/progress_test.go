package source_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/onexhost/onex/source"
)

// TestDiscoveryReportsProgress: a Progress installed in the context hears the
// contract source count up to its total, ending at total of total, with the
// serial and the parallel loader alike.
func TestDiscoveryReportsProgress(t *testing.T) {
	const n = 40
	dir := t.TempDir()
	for i := range n {
		write(t, filepath.Join(dir, fmt.Sprintf("h%02d", i), "handler_contract.yaml"), contractYAML(fmt.Sprintf("h%02d", i)))
	}
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			var (
				mu    sync.Mutex
				calls [][2]int
			)
			ctx := source.WithProgress(context.Background(), func(done, total int) {
				mu.Lock()
				defer mu.Unlock()
				calls = append(calls, [2]int{done, total})
			})
			descs, errs, err := source.NewContract([]string{dir}, source.ContractOptions{Workers: workers, ProgressInterval: -1}).Discover(ctx)
			if err != nil || len(errs) > 0 || len(descs) != n {
				t.Fatalf("%d descriptors, %v, %v", len(descs), errs, err)
			}
			if len(calls) < 2 || calls[len(calls)-1] != [2]int{n, n} {
				t.Fatalf("calls %v: want several, ending at %d of %d", calls, n, n)
			}
			for i, c := range calls {
				if c[1] != n || c[0] < 0 || c[0] > n || (i > 0 && c[0] < calls[i-1][0]) {
					t.Fatalf("call %d of %v is not a count up to %d", i, calls, n)
				}
			}
		})
	}
	// Without a Progress, nothing is reported and nothing breaks.
	source.ReportProgress(context.Background(), 1, 2)
}
