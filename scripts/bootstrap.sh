#!/usr/bin/env bash
# Everything a fresh clone needs before it runs tests or the demo:
# npm dependencies, a build, redis-server and redis-cli (from apt when missing), kubectl and helm.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# redis-server also runs the tests' sentinels (redis-server --sentinel); redis-cli (redis-tools)
# creates their Redis Cluster.
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server redis-tools >/dev/null
fi

node scripts/fetch-tools.mjs
npm run --silent build
