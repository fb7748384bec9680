#!/usr/bin/env bash
# Everything a fresh clone needs before it runs tests or the demo:
# npm dependencies, a build, redis-server (from apt when missing), kubectl and helm, and the
# real clients the sandbox is tested with (Debian's python3-kubernetes, python3-azure and
# azure-cli, for /usr/bin/python3 and /usr/bin/az; from apt when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# The clients live in Debian's dist-packages: probe /usr/bin/python3, not a python first on PATH.
/usr/bin/python3 -c "import kubernetes" >/dev/null 2>&1 || missing+=(python3-kubernetes)
/usr/bin/python3 -c "import azure.identity, azure.mgmt.msi, azure.mgmt.compute" >/dev/null 2>&1 ||
  missing+=(python3-azure)
[ -x /usr/bin/az ] || missing+=(azure-cli)
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

node scripts/fetch-tools.mjs
npm run --silent build
