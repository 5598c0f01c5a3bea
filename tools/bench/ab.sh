#!/usr/bin/env bash
# A/B: the throughput of two trackless binaries on the same file, runs
# interleaved so that the machine's noise hits both alike: parse (rec mode
# 1 and 2), report, send (to the local Matomo stand-in) and zcat.
# Usage: bash tools/bench/ab.sh OLD_BINARY NEW_BINARY [LINES]
#   e.g. git worktree add /tmp/old v1 && (cd /tmp/old && go build -o /tmp/old.bin ./cmd/trackless)
#        go build -o /tmp/new.bin ./cmd/trackless && bash tools/bench/ab.sh /tmp/old.bin /tmp/new.bin
# Needs GNU time (/usr/bin/time). RUNS=5 by default. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
OLD=$(realpath "$1"); NEW=$(realpath "$2"); LINES=${3:-1000000}
RUNS=${RUNS:-5}
OUT=${OUT:-/tmp/trackless-ab}
mkdir -p "$OUT"
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 1; }
go build -o "$OUT/genlogs" ./tools/genlogs
go build -o "$OUT/receiver" ./internal/matomo/matomotest/receiver
LOG="$OUT/E2BENCH.2026-11-01-00.$LINES.gz"
[ -f "$LOG" ] || "$OUT/genlogs" -lines "$LINES" -seed 1 -gzip -out "$LOG"
echo "input: $LOG ($(stat -c %s "$LOG") bytes, $LINES lines)"

TOKEN=benchtoken0123456789abcdef012345
rm -f "$OUT/addr"
"$OUT/receiver" -addr 127.0.0.1:0 -super-token $TOKEN -print-addr-file "$OUT/addr" >"$OUT/receiver.out" &
RPID=$!
trap 'kill $RPID 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$OUT/addr" ] && break; sleep 0.1; done
URL=$(cat "$OUT/addr")

measure() { # name, command...: appends "seconds maxrss_kb" to $OUT/name.txt
  /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "${@:2}" >/dev/null 2>"$OUT/$1.err" || { cat "$OUT/$1.err"; exit 1; }
  cat "$OUT/time.txt" >>"$OUT/$1.txt"
}
names=(zcat)
for v in old new; do names+=("parse1-$v" "parse2-$v" "report-$v" "send-$v"); done
for n in "${names[@]}"; do : >"$OUT/$n.txt"; done
for i in $(seq "$RUNS"); do
  measure zcat zcat "$LOG"
  for v in old new; do
    bin=$OLD; [ $v = new ] && bin=$NEW
    measure "parse1-$v" "$bin" parse --site-id 1 --log-level error "$LOG"
    measure "parse2-$v" "$bin" parse --site-id 1 --rec-mode 2 --log-level error "$LOG"
    measure "report-$v" "$bin" report --json "$OUT/report-$v.json" --log-level error "$LOG"
    rm -rf "$OUT/state-$v"
    measure "send-$v" "$bin" send --matomo-url "$URL" --site-id 1 --rec-mode 2 --token-auth $TOKEN \
      --state-dir "$OUT/state-$v" --log-level error "$LOG"
  done
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
z=$(cut -d' ' -f1 "$OUT/zcat.txt" | median)
printf "%-8s %10s %10s %8s %12s %12s\n" what old_s new_s new/old old_RSS_MiB new_RSS_MiB
echo "zcat median ${z}s"
for m in parse1 parse2 report send; do
  o=$(cut -d' ' -f1 "$OUT/$m-old.txt" | median); n=$(cut -d' ' -f1 "$OUT/$m-new.txt" | median)
  ro=$(cut -d' ' -f2 "$OUT/$m-old.txt" | sort -n | tail -1); rn=$(cut -d' ' -f2 "$OUT/$m-new.txt" | sort -n | tail -1)
  printf "%-8s %10s %10s %8s %12s %12s\n" "$m" "$o" "$n" "$(awk -v a="$n" -v b="$o" 'BEGIN{printf "%.2f", a/b}')" $((ro/1024)) $((rn/1024))
done
