#!/usr/bin/env bash
# The project's test command (README "Testing"): unit and integration tests
# on loopback, then the Docker Compose end-to-end test where an engine answers.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo test --workspace
if [ -x tests/compose/run.sh ] || [ -f tests/compose/run.sh ]; then
  bash tests/compose/run.sh
fi
