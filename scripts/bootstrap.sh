#!/usr/bin/env bash
# Everything a fresh clone needs before it runs the demo (or, with --tests, the tests):
# npm dependencies, a build, Debian packages (redis-server, chromium: from apt when missing),
# kubectl and helm.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# Debian packages: each installed only when missing, all in one apt run. The demo and the sandbox
# need redis-server only; `--tests` adds what the test suite runs besides.
tests=false
[ "${1:-}" = "--tests" ] && tests=true
packages=()
command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
if $tests; then
  [ -x /usr/bin/chromium ] || packages+=(chromium) # renders the HTML report in its test
fi
if [ ${#packages[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
fi

node scripts/fetch-tools.mjs
npm run --silent build
