#!/usr/bin/env bash
# Reproduces the numbers of BENCHMARKS.md for the Apache/nginx formats (issue 4):
#  1. `trackless parse --mode visits` against `zcat` on 1M-line gzip files in the combined and nginx JSON
#     formats (interleaved runs, medians);
#  2. with MLA=/path/to/matomo-log-analytics (a checkout of Matomo's importer, not part of this
#     repository), Matomo's `import_logs.py --dry-run` against `trackless parse --mode visits` on the same
#     200k-line combined log, both run one after the other, RUNS times (the importer answers
#     its one API call from the local Matomo stand-in).
# Not part of CI. Usage: [MLA=DIR] [RUNS=5] bash tools/bench/formats.sh
# Needs GNU time (/usr/bin/time, Debian package "time"); the importer needs Python 3.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
OUT=${OUT:-/tmp/trackless-bench}
mkdir -p "$OUT"
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 1; }
go build -o "$OUT/trackless" ./cmd/trackless
go build -o "$OUT/genlogs" ./tools/genlogs
go build -o "$OUT/receiver" ./internal/matomo/matomotest/receiver
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
measure() { # file, command...: appends "seconds maxrss_kb" to file
  /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "${@:2}" >/dev/null 2>"$OUT/last.err" || { cat "$OUT/last.err"; exit 1; }
  cat "$OUT/time.txt" >>"$1"
}
visits=(parse --mode visits --site-id 1 --default-protocol https --default-host www.example.com --log-level error)

for fmt in combined nginx_json; do
  log="$OUT/$fmt.1000000.gz"
  [ -f "$log" ] || "$OUT/genlogs" -lines 1000000 -seed 1 -gzip -format "$fmt" -out "$log"
  : >"$OUT/z.txt"; : >"$OUT/p.txt"
  for _ in $(seq "$RUNS"); do
    measure "$OUT/z.txt" zcat "$log"
    measure "$OUT/p.txt" "$OUT/trackless" "${visits[@]}" "$log"
  done
  z=$(cut -d' ' -f1 "$OUT/z.txt" | median); p=$(cut -d' ' -f1 "$OUT/p.txt" | median)
  rss=$(cut -d' ' -f2 "$OUT/p.txt" | sort -n | tail -1)
  echo "$fmt: $(stat -c %s "$log") bytes gzip; zcat median ${z}s [$(cut -d' ' -f1 "$OUT/z.txt" | tr '\n' ' ')]; parse median ${p}s [$(cut -d' ' -f1 "$OUT/p.txt" | tr '\n' ' ')]; ratio $(ratio "$p" "$z"); peak RSS $((rss / 1024)) MiB"
done

if [ -n "${MLA:-}" ]; then
  log="$OUT/combined.200000.log"
  [ -f "$log" ] || "$OUT/genlogs" -lines 200000 -seed 1 -format combined -out "$log"
  rm -f "$OUT/addr"
  "$OUT/receiver" -addr 127.0.0.1:0 -super-token benchtoken0123456789abcdef012345 -print-addr-file "$OUT/addr" >"$OUT/receiver.out" &
  rpid=$!
  trap 'kill $rpid 2>/dev/null || true' EXIT
  for _ in $(seq 50); do [ -s "$OUT/addr" ] && break; sleep 0.1; done
  url=$(cat "$OUT/addr")
  : >"$OUT/i.txt"; : >"$OUT/t.txt"
  for _ in $(seq "$RUNS"); do
    measure "$OUT/i.txt" python3 "$MLA/import_logs.py" --dry-run --idsite=1 --token-auth=benchtoken0123456789abcdef012345 --url="$url" "$log"
    measure "$OUT/t.txt" "$OUT/trackless" "${visits[@]}" "$log"
  done
  i=$(cut -d' ' -f1 "$OUT/i.txt" | median); t=$(cut -d' ' -f1 "$OUT/t.txt" | median)
  echo "200k combined lines: import_logs.py --dry-run median ${i}s [$(cut -d' ' -f1 "$OUT/i.txt" | tr '\n' ' ')] = $(awk -v s="$i" 'BEGIN{printf "%.0f", 200000/s}') lines/s; trackless parse median ${t}s [$(cut -d' ' -f1 "$OUT/t.txt" | tr '\n' ' ')] = $(awk -v s="$t" 'BEGIN{printf "%.0f", 200000/s}') lines/s; trackless is $(ratio "$i" "$t")x faster"
fi
