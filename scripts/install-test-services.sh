#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis server programs exist; the tests start throwaway copies.
# Also Debian's chromium, which the dashboard's browser tests drive with Playwright
# (tests/web/browser/; Playwright's own browser download is not used).
# Installs them with apt-get when they are missing and we are root; otherwise says what to do.
set -euo pipefail

have_postgres() {
  command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}
have_redis() { command -v redis-server >/dev/null 2>&1; }
have_chromium() { [ -x /usr/bin/chromium ]; }

missing=()
have_postgres || missing+=(postgresql)
have_redis || missing+=(redis-server)
have_chromium || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing ${missing[*]} for the tests (apt-get)..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The tests start their own servers; the packaged services are not needed.
  exit 0
fi

echo "The tests need ${missing[*]}. Install them (e.g. 'sudo apt-get install ${missing[*]}'),"
echo "or point TEST_DATABASE_URL / TEST_REDIS_URL at servers of your own."
if [ "${CI:-}" = "true" ]; then exit 1; fi
echo "Continuing: the tests that need PostgreSQL or Redis will be skipped; without chromium the"
echo "browser tests fail and say so."
