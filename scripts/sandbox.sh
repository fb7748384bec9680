#!/usr/bin/env bash
# Sets up a fresh clone and starts the sandbox (ARM and Kubernetes emulators) for local play.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec node bin/azid.js sandbox "$@"
