#!/usr/bin/env bash
# Rebuild core/web/dashboard/static/vendor/noble-bls12-381.js: the BLS12-381 part of
# @noble/curves (MIT, Paul Miller), bundled into one IIFE file that defines `nobleBls12381`
# ({ bls12_381 }), so the proof page can check drand signatures with the app serving every script
# itself (CSP script-src 'self'). The file is committed; run this only to change the version.
#
#   bash scripts/build-noble-bls.sh [version]      # default: the version below
#
# Needs node and npm (the npm registry); builds in a temporary directory with esbuild.
set -euo pipefail

VERSION="${1:-2.4.0}"
ESBUILD_VERSION="0.28.2"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT_DIR="$ROOT/core/web/dashboard/static/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cd "$WORK"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent "@noble/curves@$VERSION" "esbuild@$ESBUILD_VERSION"
INSTALLED="$(node -p 'require("./node_modules/@noble/curves/package.json").version')"
HASHES="$(node -p 'require("./node_modules/@noble/hashes/package.json").version')"
echo 'export { bls12_381 } from "@noble/curves/bls12-381.js";' > entry.js
./node_modules/.bin/esbuild entry.js --bundle --format=iife --global-name=nobleBls12381 \
  --minify --target=es2020 --legal-comments=none --outfile=bundle.js --log-level=warning

mkdir -p "$OUT_DIR"
{
  echo "/*! @noble/curves $INSTALLED (bls12-381 only) with @noble/hashes $HASHES, (c) Paul Miller,"
  echo "    MIT License (noble-curves.LICENSE beside this file). Built by scripts/build-noble-bls.sh"
  echo "    with esbuild $ESBUILD_VERSION; defines window.nobleBls12381 = { bls12_381 }. */"
  cat bundle.js
} > "$OUT_DIR/noble-bls12-381.js"
cp node_modules/@noble/curves/LICENSE "$OUT_DIR/noble-curves.LICENSE"
echo "$OUT_DIR/noble-bls12-381.js: @noble/curves $INSTALLED, $(wc -c < "$OUT_DIR/noble-bls12-381.js") bytes"
