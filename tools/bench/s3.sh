#!/usr/bin/env bash
# S3 numbers of BENCHMARKS.md: objects/s and lines/s read from a local S3
# server (versitygw, as .ci/run builds it) against the same files read from
# disk, and peak memory while streaming about 1 GB of logs from S3.
# Not part of CI. Usage: bash tools/bench/s3.sh   (RUNS=3 by default)
# Needs GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-3}
OBJECTS=${OBJECTS:-200}          # small objects, as CloudFront writes them
LINES_PER=${LINES_PER:-5000}
BIG_OBJECTS=${BIG_OBJECTS:-16}   # the 1 GB set: BIG_OBJECTS x BIG_LINES lines of ~500 bytes
BIG_LINES=${BIG_LINES:-125000}
OUT=${OUT:-/tmp/trackless-bench-s3}
VGW=${VGW:-${XDG_CACHE_HOME:-$HOME/.cache}/trackless-ci/versitygw-v1.8.0/versitygw}
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 1; }
[ -x "$VGW" ] || { echo "no versitygw at $VGW: run bash .ci/run once, or set VGW"; exit 1; }
mkdir -p "$OUT/small" "$OUT/big"
go build -o "$OUT/trackless" ./cmd/trackless
go build -o "$OUT/genlogs" ./tools/genlogs
go build -o "$OUT/s3upload" ./tools/bench/s3upload

gen() { # dir count lines
  local start=$(date -u -d '2026-11-01 00:00' +%s)
  for i in $(seq "$2"); do
    local h=$(date -u -d "@$((start + i * 3600))" +%Y-%m-%d-%H)
    local f="$1/E2BENCH.$h.$i.gz"
    [ -f "$f" ] || "$OUT/genlogs" -lines "$3" -seed "$i" -span 1h -start "$(date -u -d "@$((start + i * 3600))" +%Y-%m-%dT%H:%M:%SZ)" -gzip -out "$f"
  done
}
gen "$OUT/small" "$OBJECTS" "$LINES_PER"
gen "$OUT/big" "$BIG_OBJECTS" "$BIG_LINES"
echo "small set: $OBJECTS objects, $((OBJECTS * LINES_PER)) lines, $(du -sb "$OUT/small" | cut -f1) bytes gzip"
big_raw=0; for f in "$OUT"/big/*.gz; do big_raw=$((big_raw + $(zcat "$f" | wc -c))); done
echo "big set: $BIG_OBJECTS objects, $((BIG_OBJECTS * BIG_LINES)) lines, $(du -sb "$OUT/big" | cut -f1) bytes gzip, $big_raw bytes of log text"

export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=benchsecret AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
rm -rf "$OUT/s3root"; mkdir -p "$OUT/s3root"
port=$((20000 + RANDOM % 20000))
ROOT_ACCESS_KEY=bench ROOT_SECRET_KEY=benchsecret "$VGW" --port "127.0.0.1:$port" --quiet posix "$OUT/s3root" >"$OUT/vgw.log" 2>&1 &
vgw=$!
trap 'kill $vgw 2>/dev/null || true' EXIT
sleep 1
EP="http://127.0.0.1:$port"
"$OUT/s3upload" -endpoint "$EP" -bucket bench -prefix small/ "$OUT"/small/*.gz
"$OUT/s3upload" -endpoint "$EP" -bucket bench -prefix big/ "$OUT"/big/*.gz

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() { # name, command...: appends "seconds maxrss_kb" to OUT/name.txt
  /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "${@:2}" >/dev/null 2>"$OUT/$1.err" || { cat "$OUT/$1.err"; exit 1; }
  cat "$OUT/time.txt" >>"$OUT/$1.txt"
}
P=(parse --site-id 1 --rec-mode 2 --log-level error)
rm -f "$OUT"/*.txt
for i in $(seq "$RUNS"); do   # interleaved, so that noise hits all alike
  measure disk "$OUT/trackless" "${P[@]}" "$OUT/small"
  measure s3 "$OUT/trackless" "${P[@]}" --s3-endpoint "$EP" s3://bench/small/
  rm -rf "$OUT/state"
  measure s3send_ledger "$OUT/trackless" send --site-id 1 --rec-mode 2 --log-level error --matomo-url http://127.0.0.1:9/ \
    --no-version-check --s3-endpoint "$EP" --ledger "s3://bench/ledger-$i/" --user-agent-allowlist-regex '^$' --state-dir "$OUT/state" s3://bench/small/
  measure bigdisk "$OUT/trackless" "${P[@]}" "$OUT/big"
  measure bigs3 "$OUT/trackless" "${P[@]}" --s3-endpoint "$EP" s3://bench/big/
done
for m in disk s3 s3send_ledger bigdisk bigs3; do
  t=$(cut -d' ' -f1 "$OUT/$m.txt" | median)
  rss=$(cut -d' ' -f2 "$OUT/$m.txt" | sort -n | tail -1)
  n=$OBJECTS; l=$((OBJECTS * LINES_PER))
  case $m in big*) n=$BIG_OBJECTS; l=$((BIG_OBJECTS * BIG_LINES));; esac
  echo "$m: median ${t}s ($(cut -d' ' -f1 "$OUT/$m.txt" | tr '\n' ' ')), $(awk -v n="$n" -v t="$t" 'BEGIN{printf "%.0f", n/t}') objects/s, $(awk -v n="$l" -v t="$t" 'BEGIN{printf "%.0f", n/t}') lines/s, peak RSS $((rss/1024)) MiB"
done
d=$(cut -d' ' -f1 "$OUT/disk.txt" | median); s=$(cut -d' ' -f1 "$OUT/s3.txt" | median)
bd=$(cut -d' ' -f1 "$OUT/bigdisk.txt" | median); bs=$(cut -d' ' -f1 "$OUT/bigs3.txt" | median)
echo "ratio S3/disk: small objects $(awk -v a="$s" -v b="$d" 'BEGIN{printf "%.2f", a/b}'), 1 GB set $(awk -v a="$bs" -v b="$bd" 'BEGIN{printf "%.2f", a/b}')"
