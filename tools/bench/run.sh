#!/usr/bin/env bash
# Reproduces the numbers of BENCHMARKS.md. Not part of CI (it takes minutes
# and its numbers depend on the machine). Usage: bash tools/bench/run.sh [LINES]
# Needs GNU time (/usr/bin/time, Debian package "time").
set -euo pipefail
cd "$(dirname "$0")/../.."
LINES=${1:-1000000}
RUNS=${RUNS:-5}
OUT=${OUT:-/tmp/trackless-bench}
mkdir -p "$OUT"
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 1; }

go build -o "$OUT/trackless" ./cmd/trackless
go build -o "$OUT/genlogs" ./tools/genlogs
go build -o "$OUT/receiver" ./internal/matomo/matomotest/receiver

LOG="$OUT/E2BENCH.2026-11-01-00.$LINES.gz"
[ -f "$LOG" ] || "$OUT/genlogs" -lines "$LINES" -seed 1 -gzip -out "$LOG"
echo "input: $LOG ($(stat -c %s "$LOG") bytes, $LINES lines)"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() { # name, command...: prints "seconds maxrss_kb"
  /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "${@:2}" >/dev/null 2>"$OUT/$1.err"
  cat "$OUT/time.txt"
}
: >"$OUT/zcat.txt"; : >"$OUT/parse1.txt"; : >"$OUT/parse2.txt"
for i in $(seq "$RUNS"); do   # interleaved, so that noise hits all alike
  measure zcat zcat "$LOG" >>"$OUT/zcat.txt"
  measure parse1 "$OUT/trackless" parse --site-id 1 --log-level error "$LOG" >>"$OUT/parse1.txt"
  measure parse2 "$OUT/trackless" parse --site-id 1 --rec-mode 2 --log-level error "$LOG" >>"$OUT/parse2.txt"
done
z=$(cut -d' ' -f1 "$OUT/zcat.txt" | median)
for m in parse1 parse2; do
  t=$(cut -d' ' -f1 "$OUT/$m.txt" | median)
  rss=$(cut -d' ' -f2 "$OUT/$m.txt" | sort -n | tail -1)
  echo "$m: median ${t}s, zcat median ${z}s, ratio $(awk -v a="$t" -v b="$z" 'BEGIN{printf "%.2f", a/b}'), peak RSS $((rss/1024)) MiB"
done

# send to the local receiver, default settings (batch 200, concurrency 4), rec mode 2
rm -f "$OUT/addr"
"$OUT/receiver" -addr 127.0.0.1:0 -super-token benchtoken0123456789abcdef012345 -print-addr-file "$OUT/addr" >"$OUT/receiver.out" &
RPID=$!
trap 'kill $RPID 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$OUT/addr" ] && break; sleep 0.1; done
URL=$(cat "$OUT/addr")
rm -rf "$OUT/state"
start=$(date +%s.%N)
/usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$OUT/trackless" send --matomo-url "$URL" --site-id 1 --rec-mode 2 \
  --token-auth benchtoken0123456789abcdef012345 --state-dir "$OUT/state" --log-level error \
  --summary-json "$OUT/send.json" "$LOG" 2>"$OUT/send.err" || { cat "$OUT/send.err"; exit 1; }
read -r secs rss <"$OUT/time.txt"
sent=$(grep -m1 '"sent"' "$OUT/send.json" | tr -dc 0-9)
echo "send: $sent hits in ${secs}s = $(awk -v n="$sent" -v s="$secs" 'BEGIN{printf "%.0f", n/s}') hits/s, peak RSS $((rss/1024)) MiB"
