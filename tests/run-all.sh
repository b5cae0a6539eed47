#!/usr/bin/env bash
# The project's test command (README "Testing"): unit and integration tests
# on loopback, then the Docker Compose and Docker Swarm end-to-end tests
# where an engine answers (each prints a loud SKIPPED otherwise), with the
# check that the README's first command builds and runs in a bare Debian
# image (Rust toolchain and gcc/g++ only).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo test --workspace
# Tests that need root (a tmpfs mount, network namespaces) are #[ignore]d so
# that a plain `cargo test` does not count them as passed; run them here.
if [ "$(id -u)" -eq 0 ]; then
  cargo test --workspace -- --ignored
else
  echo "SKIPPED: root-only tests (cargo test -- --ignored) need root" >&2
fi
if [ -x tests/compose/run.sh ] || [ -f tests/compose/run.sh ]; then
  bash tests/compose/run.sh
fi
# After the compose test: its image build leaves every layer cached, so the
# fresh-machine and swarm tests' own builds of the same sources only hash the
# context.
bash tests/fresh-machine/run.sh
if [ -f tests/swarm/run.sh ]; then
  bash tests/swarm/run.sh
fi
