#!/usr/bin/env bash
# The report's numbers in BENCHMARKS.md: trackless report against GoAccess
# (Debian's goaccess, --log-format=CLOUDFRONT, JSON output) and zcat on the
# same 1M-line CloudFront gzip file, interleaved; then peak memory for 10M
# lines with 1M distinct URLs. Not part of CI. Needs goaccess and GNU time
# (apt-get install goaccess time).
# Usage: bash tools/bench/report.sh [LINES]   (RUNS=3, BIG=10000000, URLS=1000000; RUNS=0 or BIG=0 skips a part)
set -euo pipefail
cd "$(dirname "$0")/../.."
LINES=${1:-1000000}
RUNS=${RUNS:-3}
BIG=${BIG:-10000000}
URLS=${URLS:-1000000}
OUT=${OUT:-/tmp/trackless-bench}
mkdir -p "$OUT"
command -v goaccess >/dev/null || { echo "needs goaccess (apt-get install goaccess)"; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 1; }

go build -o "$OUT/trackless" ./cmd/trackless
go build -o "$OUT/genlogs" ./tools/genlogs
LOG="$OUT/E2BENCH.2026-11-01-00.$LINES.gz"
[ -f "$LOG" ] || "$OUT/genlogs" -lines "$LINES" -seed 1 -gzip -out "$LOG"
echo "input: $LOG ($(stat -c %s "$LOG") bytes, $LINES lines); $(goaccess --version | head -1)"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() { # name, command (a shell string): appends "seconds maxrss_kb" to OUT/name.txt
  /usr/bin/time -f "%e %M" -o "$OUT/time.txt" bash -c "$2" >/dev/null 2>"$OUT/$1.err"
  cat "$OUT/time.txt" >>"$OUT/$1.txt"
}
if [ "$RUNS" -gt 0 ]; then
: >"$OUT/zcat.txt"; : >"$OUT/goaccess.txt"; : >"$OUT/report.txt"
for i in $(seq "$RUNS"); do   # interleaved, so that noise hits all alike
  measure zcat "zcat '$LOG'"
  # GoAccess 1.7 (Debian) does not read gzip itself: it reads zcat's output.
  measure goaccess "zcat '$LOG' | goaccess - --log-format=CLOUDFRONT --no-progress --no-global-config -o '$OUT/goaccess.json'"
  measure report "'$OUT/trackless' report '$LOG' --json '$OUT/report.json' --log-level error"
done
z=$(cut -d' ' -f1 "$OUT/zcat.txt" | median)
g=$(cut -d' ' -f1 "$OUT/goaccess.txt" | median)
r=$(cut -d' ' -f1 "$OUT/report.txt" | median)
echo "zcat:     median ${z}s"
echo "goaccess: median ${g}s = $(awk -v n="$LINES" -v s="$g" 'BEGIN{printf "%.0f", n/s}') lines/s (peak RSS of bash+zcat+goaccess: $(( $(cut -d' ' -f2 "$OUT/goaccess.txt" | sort -n | tail -1) / 1024 )) MiB)"
echo "report:   median ${r}s = $(awk -v n="$LINES" -v s="$r" 'BEGIN{printf "%.0f", n/s}') lines/s, peak RSS $(( $(cut -d' ' -f2 "$OUT/report.txt" | sort -n | tail -1) / 1024 )) MiB"
echo "report is $(awk -v a="$g" -v b="$r" 'BEGIN{printf "%.1f", a/b}')x GoAccess's lines/s; report/zcat $(awk -v a="$r" -v b="$z" 'BEGIN{printf "%.2f", a/b}')"

fi

[ "$BIG" -gt 0 ] || exit 0
BIGLOG="$OUT/E2BENCH.big.$BIG.gz"
[ -f "$BIGLOG" ] || "$OUT/genlogs" -lines "$BIG" -seed 2 -gzip -out "$BIGLOG"
# Every line's path gets a suffix out of URLS, so that the log has about
# URLS distinct URLs; trackless reads it on stdin (GNU time measures it alone).
zcat "$BIGLOG" | awk -F'\t' -v n="$URLS" 'BEGIN{OFS="\t"} /^#/ {print; next} {$8 = $8 "u" (NR*7919 % n); print}' |
  /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$OUT/trackless" report - --json "$OUT/big.json" --log-level error 2>"$OUT/big.err"
read -r secs rss <"$OUT/time.txt"
echo "report of $BIG lines with $URLS distinct URLs (on stdin): ${secs}s, peak RSS $((rss/1024)) MiB"
python3 -c "import json;d=json.load(open('$OUT/big.json'));o=d['overview'];print('  requests',o['requests'],'visitors',o['visitors'],'visits',o['visits'],'pages exact:',d['pages']['exact'],'distinct kept',d['pages']['distinct'])" 2>/dev/null || true
