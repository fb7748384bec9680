#!/usr/bin/env bash
# Everything a fresh clone needs before it runs the demo (or, with --tests, the tests):
# npm dependencies, a build, Debian packages from apt when missing (redis-server; with --tests
# also redis-cli, chromium and the real clients the sandbox is tested with: python3-kubernetes,
# python3-azure and azure-cli, for /usr/bin/python3 and /usr/bin/az), kubectl and helm.
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
  # redis-server also runs the tests' sentinels (redis-server --sentinel); redis-cli (redis-tools)
  # creates their Redis Cluster.
  command -v redis-cli >/dev/null 2>&1 || packages+=(redis-tools)
  [ -x /usr/bin/chromium ] || packages+=(chromium) # renders the HTML report in its test
  # The clients live in Debian's dist-packages: probe /usr/bin/python3, not a python first on PATH.
  /usr/bin/python3 -c "import kubernetes" >/dev/null 2>&1 || packages+=(python3-kubernetes)
  /usr/bin/python3 -c "import azure.identity, azure.mgmt.msi, azure.mgmt.compute" >/dev/null 2>&1 ||
    packages+=(python3-azure)
  [ -x /usr/bin/az ] || packages+=(azure-cli)
fi
if [ ${#packages[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
fi

node scripts/fetch-tools.mjs
npm run --silent build
