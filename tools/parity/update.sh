#!/usr/bin/env bash
# Writes the expectations of internal/e2e's parity test (TestImportLogsParity): what Matomo's
# import_logs.py sends for each of its own fixtures, in two configurations:
#   defaults/  the importer's default filters;
#   all/       --enable-static --enable-bots --enable-http-errors --enable-http-redirects.
# Only the parameters the test compares are kept.
#
# Usage: bash tools/parity/update.sh /path/to/matomo-log-analytics
# (a checkout of github.com/matomo-org/matomo-log-analytics; it is not part of this repository).
# The fixtures are read from ../shared/fixtures/import_logs/ beside the repository.
set -euo pipefail
cd "$(dirname "$0")/../.."
mla=${1:?usage: update.sh MATOMO_LOG_ANALYTICS_DIR}
fixtures=../shared/fixtures/import_logs
out=internal/e2e/testdata/import_logs
commit=$(git -C "$mla" rev-parse HEAD 2>/dev/null || echo unknown)
keep='{line: (.line + 1), args: (.args | with_entries(select(.key | IN("url","urlref","cip","cdt","ua","idsite","download","bw_bytes","pf_srv","uid","action_name","bots"))))}'
# fixture [extra importer options...]
cases=(
  "alb" "amazon_cloudfront_web" "caddy_json" "common" "common_complete" "common_vhost" "elb"
  "iis" "icecast2" "ncsa_extended" "netscaler" "nginx_json" "ovh" "s3" "static_ignores"
  "traefik_json" "logs_to_tests" "gandi"
  "iis_custom --w3c-map-field cs(Host)=cs-host --w3c-map-field date-local=date --w3c-map-field time-local=time --w3c-map-field TimeTakenMS=time-taken"
)
rm -rf "$out" && mkdir -p "$out/defaults" "$out/all"
for c in "${cases[@]}"; do
  read -r name opts <<<"$c"
  for conf in defaults all; do
    extra=()
    [ "$conf" = all ] && extra=(--enable-static --enable-bots --enable-http-errors --enable-http-redirects)
    # shellcheck disable=SC2086
    timeout 60 python3 tools/parity/import_logs_requests.py "$mla" --idsite=1 "${extra[@]}" $opts "$fixtures/$name.log" 2>/dev/null |
      jq -c "$keep" >"$out/$conf/$name.jsonl"
  done
  printf '%s\t%s\n' "$name" "$opts" >>"$out/cases.tsv"
done
echo "import_logs.py $commit" >"$out/SOURCE"
echo "wrote $out ($(cat "$out"/*/*.jsonl | wc -l) requests)"
