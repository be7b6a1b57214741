package source_test

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/onexhost/onex/contract"
	"github.com/onexhost/onex/internal/testkit"
	"github.com/onexhost/onex/source"
	"github.com/onexhost/onex/validate"
)

// benchContract is a realistic contract, the size of the SPEC §3 example.
func benchContract(i int) string {
	return fmt.Sprintf(`contract_version: "1.0.0"
handler_identity:
  name: partner-%05d
  version: "1.4.0"
description: Calls the partner REST API.
handler_type: infra_handler
handler_type_category: effect
is_adapter: false
capabilities: [retry, idempotent]
commands_accepted: [partner%05d.get, partner%05d.post]
implementation:
  import_path: %s
config:
  base_url: https://api.partner.example
  timeout: 10s
  headers: {Authorization: {secret: "partner-%05d/bearer"}}
security:
  allowed_domains: [api.partner.example, "*.cdn.partner.example"]
  secret_scopes: [partner-%05d]
  data_classification: confidential
  observability_level: standard
packaging: {module: github.com/acme/handlers, module_version: v1.4.0}
`, i, i, i, echoImportPath, i, i)
}

// BenchmarkDiscover10k discovers and validates 10 000 contracts (100
// directories of 100): walk, read, decode, transform, descriptor and factory
// checks, duplicate names, then the set checks of validate.Set.
func BenchmarkDiscover10k(b *testing.B) {
	const n = 10_000
	root := b.TempDir()
	for i := range n {
		write(b, filepath.Join(root, fmt.Sprintf("d%02d", i%100), fmt.Sprintf("h%05d", i), contract.FileName), benchContract(i))
	}
	src := source.NewContract([]string{root}, source.ContractOptions{})
	b.ReportAllocs()
	cpu0 := testkit.ProcessCPU()
	for b.Loop() {
		descs, errs, err := src.Discover(context.Background())
		if err != nil || len(errs) > 0 || len(descs) != n {
			b.Fatalf("%d descriptors, %d errors (%v), %v", len(descs), len(errs), errs, err)
		}
		if r := validate.Set(descs); r.Len() > 0 {
			b.Fatal(r.Diagnostics[0])
		}
	}
	// Wall-clock throughput depends on what else the machine runs; the CPU
	// time per contract (user+system, all threads) does much less.
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "contracts/s")
	b.ReportMetric(float64((testkit.ProcessCPU()-cpu0).Microseconds())/float64(n*b.N), "cpu-µs/contract")
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
	}
}
