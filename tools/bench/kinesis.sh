#!/usr/bin/env bash
# Measures trackless reading a Kinesis stream (issue 15), as in
# BENCHMARKS.md: records/s per shard from the emulator against Kinesis's
# 2 MiB/s-per-shard read limit, and send --follow's delay from PutRecords to
# Matomo; see the doc comment of tools/bench/kinesis. Not part of CI: it
# takes about 5 minutes and its numbers depend on the machine, so run it
# alone. Needs node >= 20 and the emulator (installed here if missing, as
# .ci/run does).
# Usage: bash tools/bench/kinesis.sh     (OUT=/tmp/trackless-bench by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/trackless-bench}
mkdir -p "$OUT"
if [ ! -e tools/kinesislocal/node_modules/kinesis-local/main.js ]; then
	(cd tools/kinesislocal && npm ci --no-audit --no-fund --loglevel=error)
fi
go build -o "$OUT/trackless" ./cmd/trackless
go build -o "$OUT/kinesisbench" ./tools/bench/kinesis

# The emulator slows down as a stream fills (each PutRecords costs more the
# more records the stream holds): 15,000-20,000 records put take 25-45 s.
K=("$OUT/kinesisbench" -bin "$OUT/trackless")
"${K[@]}" -shards 1 -records 15000
echo
"${K[@]}" -shards 4 -records 20000
echo
"${K[@]}" -latency -poll 1s -rate 20 -duration 30s
echo
"${K[@]}" -latency -poll 200ms -rate 20 -duration 30s
echo
"${K[@]}" -latency -poll 200ms -rate 200 -duration 30s
echo
# Several shards, their hits merged by time.
"${K[@]}" -latency -shards 4 -poll 1s -rate 200 -duration 30s
