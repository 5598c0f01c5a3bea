#!/usr/bin/env bash
# Measures send --follow's latency (a line written -> stored in Matomo) and
# its CPU use while idle, as in BENCHMARKS.md (issue 14); see the doc comment
# of tools/bench/latency. Not part of CI: it takes about 6 minutes and its
# numbers depend on the machine, so run it alone.
# Usage: bash tools/bench/latency.sh     (OUT=/tmp/trackless-bench, POLL=1s by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/trackless-bench}
mkdir -p "$OUT"
go build -o "$OUT/trackless" ./cmd/trackless
go build -o "$OUT/latency" ./tools/bench/latency

L=("$OUT/latency" -bin "$OUT/trackless" -poll "${POLL:-1s}")
"${L[@]}" -rate 20 -duration 30s
echo
"${L[@]}" -rate 2000 -duration 30s -slice 10s
echo
"${L[@]}" -rate 2000 -duration 120s          # does latency grow with the file?
echo
"${L[@]}" -idle 60s
echo
# A receiver as slow as a real Matomo on 2 cores (2 ms of PHP per hit, 4
# PHP workers: at most 2,000 hits/s).
"${L[@]}" -rate 20 -duration 30s -per-item-delay 2ms -workers 4
echo
"${L[@]}" -rate 1000 -duration 30s -slice 10s -per-item-delay 2ms -workers 4
