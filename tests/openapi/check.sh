#!/bin/sh
# Usage: check.sh <openapi.json> <work dir>
# Installs the pinned checker (package-lock.json) into <work dir> with `npm ci`, unless
# that lock is what is installed there already, then checks the document (check.mjs).
# Needs node and npm (Debian: nodejs, npm) and the npm registry for the first install.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
doc=$1
work=$2
if ! command -v npm >/dev/null 2>&1; then
  echo "openapi check: npm not found; install Debian's nodejs and npm packages" >&2
  exit 1
fi
mkdir -p "$work"
stamp="$work/node_modules/.culex-package-lock.json"
if ! cmp -s "$here/package-lock.json" "$stamp"; then
  cp "$here/package.json" "$here/package-lock.json" "$work/"
  if ! (cd "$work" && npm ci --no-audit --no-fund --loglevel=error); then
    echo "openapi check: npm ci failed in $work (is the npm registry reachable?)" >&2
    exit 1
  fi
  cp "$here/package-lock.json" "$stamp"
fi
# Node resolves the packages from where the script is, so it runs from the work dir.
cp "$here/check.mjs" "$work/check.mjs"
exec node "$work/check.mjs" "$doc"
