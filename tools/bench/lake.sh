#!/usr/bin/env bash
# The lake's numbers in BENCHMARKS.md: trackless lake against DuckDB's own
# COPY of the same 1M-line CloudFront gzip file to zstd Parquet (every
# field as text, DuckDB's CSV reader and Parquet writer) and zcat,
# interleaved; sizes on disk; peak memory; and what DuckDB reads to answer
# "page views per day" from each, against the gzip's size (what Athena
# bills). Not part of CI. Needs GNU time and tools/duckdb (npm ci there).
# Usage: bash tools/bench/lake.sh [LINES]   (RUNS=3)
set -euo pipefail
cd "$(dirname "$0")/../.."
LINES=${1:-1000000}
RUNS=${RUNS:-3}
OUT=${OUT:-/tmp/trackless-bench}
mkdir -p "$OUT"
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 1; }
[ -d tools/duckdb/node_modules/@duckdb ] || (cd tools/duckdb && npm ci --no-audit --no-fund --loglevel=error)
DUCK="node $PWD/tools/duckdb/query.mjs"

go build -o "$OUT/trackless" ./cmd/trackless
go build -o "$OUT/genlogs" ./tools/genlogs
LOG="$OUT/E2BENCH.2026-11-01-00.$LINES.gz"
[ -f "$LOG" ] || "$OUT/genlogs" -lines "$LINES" -seed 1 -gzip -out "$LOG"
GZ=$(stat -c %s "$LOG")
echo "input: $LOG ($GZ bytes, $LINES lines); DuckDB $($DUCK "SELECT version() AS v" | sed 's/.*"v":"\([^"]*\)".*/\1/'), $(nproc) cores"

NAMES="'date','time','x_edge_location','sc_bytes','c_ip','cs_method','cs_host','cs_uri_stem','sc_status','cs_referer','cs_user_agent','cs_uri_query','cs_cookie','x_edge_result_type','x_edge_request_id','x_host_header','cs_protocol','cs_bytes','time_taken','x_forwarded_for','ssl_protocol','ssl_cipher','x_edge_response_result_type','cs_protocol_version','fle_status','fle_encrypted_fields','c_port','time_to_first_byte','x_edge_detailed_result_type','sc_content_type','sc_content_len','sc_range_start','sc_range_end'"
COPY="COPY (SELECT * FROM read_csv('$LOG', delim='\t', skip=2, header=false, all_varchar=true, quote='', escape='', names=[$NAMES])) TO '$OUT/duckdb.parquet' (FORMAT parquet, COMPRESSION zstd)"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() { # name, command (a shell string): appends "seconds maxrss_kb" to OUT/name.txt
  /usr/bin/time -f "%e %M" -o "$OUT/time.txt" bash -c "$2" >/dev/null 2>"$OUT/$1.err" || { cat "$OUT/$1.err"; exit 1; }
  cat "$OUT/time.txt" >>"$OUT/$1.txt"
}
: >"$OUT/zcat.txt"; : >"$OUT/duckdb.txt"; : >"$OUT/lake.txt"
for i in $(seq "$RUNS"); do   # interleaved, so that noise hits all alike
  measure zcat "zcat '$LOG'"
  rm -f "$OUT/duckdb.parquet"
  measure duckdb "$DUCK \"$COPY\""
  rm -rf "$OUT/lake"
  measure lake "'$OUT/trackless' lake --out '$OUT/lake' '$LOG' --log-level error"
done
z=$(cut -d' ' -f1 "$OUT/zcat.txt" | median)
d=$(cut -d' ' -f1 "$OUT/duckdb.txt" | median)
l=$(cut -d' ' -f1 "$OUT/lake.txt" | median)
echo "zcat:        median ${z}s"
echo "duckdb COPY: median ${d}s, peak RSS $(( $(cut -d' ' -f2 "$OUT/duckdb.txt" | sort -n | tail -1) / 1024 )) MiB (node included)"
echo "lake:        median ${l}s, peak RSS $(( $(cut -d' ' -f2 "$OUT/lake.txt" | sort -n | tail -1) / 1024 )) MiB"
echo "lake/duckdb $(awk -v a="$l" -v b="$d" 'BEGIN{printf "%.2f", a/b}'), lake/zcat $(awk -v a="$l" -v b="$z" 'BEGIN{printf "%.2f", a/b}')"

LAKEB=$(find "$OUT/lake" -name '*.parquet' -printf '%s\n' | awk '{s+=$1} END {print s}')
NF=$(find "$OUT/lake" -name '*.parquet' | wc -l)
DB=$(stat -c %s "$OUT/duckdb.parquet")
echo "sizes: gzip $GZ; lake $LAKEB in $NF files ($(awk -v a="$LAKEB" -v b="$GZ" 'BEGIN{printf "%.2f", a/b}') of the gzip); duckdb.parquet $DB ($(awk -v a="$DB" -v b="$GZ" 'BEGIN{printf "%.2f", a/b}'))"

# What "page views per day" reads, as Athena bills it: the column chunks of
# the columns the query names (whole, compressed), in every file.
chunks() { # name, files, columns (SQL list)
  b=$($DUCK "SELECT sum(total_compressed_size) AS b FROM parquet_metadata('$2') WHERE path_in_schema IN ($3)" | sed 's/.*"b":"\{0,1\}\([0-9]*\).*/\1/')
  echo "page views per day, $1: $b bytes of column chunks ($(awk -v a="$b" -v g="$GZ" 'BEGIN{printf "%.4f", a/g}') of the gzip, which Athena reads whole from raw logs)"
}
# The lake: dt is in the path; kind, agent (persons, not bots) and status are columns.
chunks lake "$OUT/lake/**/*.parquet" "'kind','agent','status'"
# Untyped text: the date, the path (pages, not assets), the status and the
# user agent (to leave bots out) must be read.
chunks duckdb "$OUT/duckdb.parquet" "'date','cs_uri_stem','sc_status','cs_user_agent'"
$DUCK "SELECT count(*) AS days FROM (SELECT dt FROM read_parquet('$OUT/lake/**/*.parquet', hive_partitioning=true) WHERE kind = 'page' AND agent = 'person' AND status < 400 GROUP BY dt)"
