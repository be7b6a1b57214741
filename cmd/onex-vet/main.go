// Command onex-vet runs the onex architecture rules (ARCH-001..004) under
// `go vet`:
//
//	go install github.com/onexhost/onex/cmd/onex-vet
//	go vet -vettool=$(command -v onex-vet) ./...
//
// It reports each finding as file:line:col: [ARCH-00n] message. Remediation: hint,
// and exits non-zero when there are findings. `onex vet ./...` runs the same
// analyzers without go vet and prints text, JSON, SARIF or GitHub annotations.
package main

import (
	"golang.org/x/tools/go/analysis/unitchecker"

	"github.com/onexhost/onex/archcheck"
)

func main() { unitchecker.Main(archcheck.Analyzers()...) }
