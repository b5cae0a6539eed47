# Shell helpers shared by the container tests (tests/compose/run.sh,
# tests/swarm/run.sh). Sourced, with $root (the repository) set and the
# current folder at $root; TEST_NAME names the test in a SKIPPED line.

# skip REASON: a loud SKIPPED line, and the test passes (exit 0).
skip() {
    echo
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    echo "!!! SKIPPED: $TEST_NAME end-to-end test NOT RUN: $*"
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    exit 0
}

# require_docker: skips unless a docker CLI and an engine that answers exist.
require_docker() {
    command -v docker >/dev/null 2>&1 || skip "no docker CLI"
    timeout 30 docker info >/dev/null 2>&1 || skip "no Docker engine answers (docker info failed)"
}

log() { printf '\n==> %s\n' "$*"; }

# Phase durations, printed at the end with print_timings.
declare -a TIMINGS=()
record_timing() { TIMINGS+=("$(printf '%-40s %5ds' "$1" "$2")"); }
# timed NAME COMMAND...: runs it and records how long it took.
timed() {
    local name=$1 t0=$SECONDS; shift
    "$@"
    record_timing "$name" $((SECONDS - t0))
}
print_timings() {
    log "timings"
    printf '    %s\n' "${TIMINGS[@]}"
}

# make_photos DIR N: N photos from samples/ in three subfolders, hard links
# where the file system allows (200 photos cost no space), copies otherwise.
make_photos() {
    local dir=$1 n=$2 i src sub name
    local -a jpegs
    mapfile -t jpegs < <(find "$root/samples" -type f -iname '*.jpg' | sort)
    ((${#jpegs[@]})) || { echo "no JPEG in samples/" >&2; exit 1; }
    for ((i = 0; i < n; i++)); do
        src=${jpegs[i % ${#jpegs[@]}]}
        sub="$dir/set-$((i % 3))"
        name="$sub/$(printf 'photo-%03d' "$i")-$(basename "$src")"
        mkdir -p "$sub"
        ln "$src" "$name" 2>/dev/null || cp "$src" "$name"
    done
}
