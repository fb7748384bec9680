#!/usr/bin/env bash
# Sets up a fresh clone and runs `azid demo`: the tenant move end to end on the built-in sandbox
# (ARM and Kubernetes emulators, a redis-server, the controller), with a before/after report.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec node bin/azid.js demo "$@"
