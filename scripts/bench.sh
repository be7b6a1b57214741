#!/usr/bin/env bash
# The side-by-side benchmarks: starts a throwaway PostgreSQL on 127.0.0.1 the
# way scripts/test.sh does, builds the onex binary and the harness (bench/, its
# own Go module, so peer libraries never enter onex's go.mod), and prints one
# table: workload, onex figure, peer figure, ratio, target, met/missed, then the
# machine line and the date. Exits non-zero when a workload produced wrong
# results (lost, duplicated or malformed responses, wrong row counts).
#
#   scripts/bench.sh                          # everything, 7 rounds per pair
#   scripts/bench.sh -rounds 5 -scale 0.2     # a quick check
#   scripts/bench.sh -only inproc,db -cpuprofile /tmp/prof
#
# Arguments are passed to the harness ((cd bench && go run . -h) lists them).
set -euo pipefail
cd "$(dirname "$0")/.."

export GOFLAGS=${GOFLAGS:--buildvcs=false}

# shellcheck source=scripts/pg.sh
. scripts/pg.sh
work=$(mktemp -d /tmp/onex-bench.XXXXXX)
cleanup() { pg_stop; rm -rf "$work"; }
trap cleanup EXIT
pg_start

echo "scripts/bench.sh: building onex and the harness" >&2
go build -o "$work/onex" ./cmd/onex
(cd bench && go build -o "$work/onexbench" .)

"$work/onexbench" -onex "$work/onex" "$@"
