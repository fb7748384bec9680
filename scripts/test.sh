#!/usr/bin/env bash
# The one command that sets up a fresh clone and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --tests
npm run --silent lint
npm test -- "$@"
# The image built and run for real; not when the run is narrowed to some tests.
if [ $# -eq 0 ]; then scripts/image-test.sh; fi
