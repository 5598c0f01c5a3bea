#!/usr/bin/env bash
# Regenerates internal/classify/crawlers_gen.go from the npm package
# crawler-user-agents at the pinned version, and keeps its licence.
# Needs npm and Go. Change VERSION to update, then run the tests.
set -euo pipefail
VERSION=${VERSION:-1.60.0}
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "crawler-user-agents@$VERSION" >/dev/null && tar xzf "crawler-user-agents-$VERSION.tgz")
mkdir -p internal/classify/testdata
cp "$tmp/package/LICENSE" internal/classify/crawler-user-agents.LICENSE
go run ./tools/gencrawlers -in "$tmp/package/crawler-user-agents.json" -version "$VERSION"
