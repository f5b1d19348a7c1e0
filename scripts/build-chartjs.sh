#!/usr/bin/env bash
# Fetch core/web/dashboard/static/vendor/chart.umd.min.js: Chart.js (MIT, Chart.js
# contributors), its own UMD build that defines window.Chart, for the dashboard's charts (the
# app serves every script itself: CSP script-src 'self'). The file is committed; run this only
# to change the version.
#
#   bash scripts/build-chartjs.sh [version]      # default: the version below
#
# Needs npm (the npm registry); unpacks the package in a temporary directory.
set -euo pipefail

VERSION="${1:-4.5.1}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT_DIR="$ROOT/core/web/dashboard/static/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cd "$WORK"
npm pack --silent "chart.js@$VERSION" >/dev/null
tar xzf chart.js-*.tgz
INSTALLED="$(node -p 'require("./package/package.json").version')"
mkdir -p "$OUT_DIR"
cp package/dist/chart.umd.min.js "$OUT_DIR/chart.umd.min.js"
cp package/LICENSE.md "$OUT_DIR/chart.js.LICENSE.md"
echo "$OUT_DIR/chart.umd.min.js: Chart.js $INSTALLED, $(wc -c < "$OUT_DIR/chart.umd.min.js") bytes"
