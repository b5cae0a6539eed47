#!/usr/bin/env bash
# ---------------------------------------------------------------------------
# tests/fresh-machine/run.sh — the README's first command on a fresh machine.
#
# The machine is the project's own build image, imgpipe/rust:bookworm
# (docker/local-base.sh): a debootstrap Debian 12 with the host's Rust
# toolchain and gcc/g++ only — no cmake, no nasm, no make, no vips. In it, as
# the Dockerfile's build stage does, the workspace is built offline from the
# crates docker/prepare.sh vendored; then, with no network at all:
#   1. cmake, nasm, make and vips must be absent;
#   2. `cargo run --release -- run samples out --workers 2 --ops
#      resize:800,grayscale` (the README's quick start) must exit 0, print
#      the summary "7 of 7 images written" and write 7 outputs that decode.
# Without a Docker engine it prints a loud SKIPPED line and exits 0.
#
# Usage: tests/fresh-machine/run.sh
# The last line is "fresh-machine: N passed, M failed".
# ---------------------------------------------------------------------------
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

TEST_NAME=fresh-machine
. "$root/tests/docker-common.sh"
require_docker

export DOCKER_BUILDKIT=0   # the legacy builder is what works here (no buildx)

image="imgpipe/fresh-machine:test"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/imgpipe-fresh.XXXXXX")
trap 'rm -rf --one-file-system "$tmp"' EXIT
passed=0 failed=0
check() { # check NAME COMMAND...: one counted check
    local name=$1; shift
    if "$@"; then
        echo "    ok: $name"; passed=$((passed + 1))
    else
        echo "    FAILED: $name"; failed=$((failed + 1))
    fi
}

log "docker/prepare.sh --no-out (base images, vendored crates)"
timed "prepare (base images + vendor)" docker/prepare.sh --no-out

# The Dockerfile's build stage is exactly the fresh machine plus the
# workspace built offline: `cargo build --release` there is the README's
# build. Its layers are shared with tests/compose/run.sh's image build.
log "docker build --target build (the workspace, built in the bare image)"
build() {
    set +e
    docker build --force-rm --target build -t "$image" . >"$tmp/build.log" 2>&1
    local rc=$?
    set -e
    grep -E '^Step [0-9]+/|Finished' "$tmp/build.log" | cut -c1-110 | sed 's/^/    /'
    if ((rc != 0)); then
        tail -n 40 "$tmp/build.log"
    fi
    return "$rc"
}
check "the workspace builds with only the Rust toolchain and gcc/g++" timed "build in the bare image" build

log "the README's quick start, offline, in the bare image"
# The samples are copied in, not mounted, so the run writes nothing here.
script='
set -u
missing=1
for tool in cmake nasm make vips; do
    if command -v "$tool" >/dev/null 2>&1; then echo "present: $tool"; missing=0; fi
done
echo "absent-check: $missing"
cp -r /samples /build/samples
cd /build
cargo run --release --offline -- run samples out --workers 2 --ops resize:800,grayscale
echo "exit: $?"
echo "outputs: $(find out -type f ! -name .imgpipe-manifest | wc -l)"
target/release/imgpipe run out /tmp/reread --progress none >/dev/null 2>&1
echo "reread-exit: $?"
'
if docker run --rm --network none -v "$root/samples:/samples:ro" "$image" \
    bash -c "$script" >"$tmp/run.log" 2>&1; then :; fi
sed 's/^/    | /' "$tmp/run.log"
check "no cmake, nasm, make or vips in the image" grep -qx 'absent-check: 1' "$tmp/run.log"
check "cargo run ... exits 0" grep -qx 'exit: 0' "$tmp/run.log"
check "the summary says 7 of 7 images written" grep -q '7 of 7 images written' "$tmp/run.log"
check "7 outputs written" grep -qx 'outputs: 7' "$tmp/run.log"
check "every output decodes (imgpipe reads them back)" grep -qx 'reread-exit: 0' "$tmp/run.log"

docker image rm "$image" >/dev/null 2>&1 || true
print_timings
echo "fresh-machine: $passed passed, $failed failed"
((failed == 0))
