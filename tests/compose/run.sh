#!/usr/bin/env bash
# ---------------------------------------------------------------------------
# tests/compose/run.sh — end-to-end test of the compose stack (Dockerfile +
# docker-compose.yml), as CI runs it.
#
# Without a Docker engine (or docker-compose) it prints a loud SKIPPED line
# and exits 0. Otherwise, for real:
#   1. docker/prepare.sh --no-out: local base images + vendored crates
#      (cached: seconds when nothing changed);
#   2. builds the image (docker build; its build stage is tagged
#      imgpipe/build:cache so that its cargo cache survives the pruning of
#      the stale images older runs left);
#   3. makes a temp folder of N photos (hard links to, or copies of, the
#      JPEGs in samples/, distinct names, in three subfolders);
#   4. runs `docker-compose up --scale worker=W --exit-code-from sink` under
#      a unique project name, with a time limit;
#   5. checks: exit code 0; the stack stopped by itself in time; no container
#      of the project left running; every output exists, is a JPEG (SOI/EOI
#      markers) and decodes (re-read by `imgpipe run` in the built image);
#      the JSON report has total == succeeded == N, no failure, W workers
#      that each did at least one task; the sink printed its progress lines
#      and summary.
#   `down -v --remove-orphans` and the temp folder's removal run on any exit.
#
# Usage: tests/compose/run.sh [--workers W] [--photos N] [--ops OPS]
#                             [--timeout SECONDS] [--keep]
#   defaults: 3 workers, 30 photos, ops resize:3200:up,blur:6,resize:800
#   (~0.2 s a photo on one thread, small outputs: heavy enough that every
#   worker is up before the batch ends; with resize:1600,blur:3 the batch
#   took ~1 s and a worker started 0.6 s after the others sometimes got
#   nothing), 300 s for the compose run.
#   --keep leaves the temp folder (inputs, outputs, report, compose log).
# The last line is "compose: N passed, M failed".
# ---------------------------------------------------------------------------
set -euo pipefail

workers=3
photos=30
ops="resize:3200:up,blur:6,resize:800"
limit=300
keep=0
while (($#)); do
    case "$1" in
        --workers) workers=$2; shift ;;
        --photos)  photos=$2; shift ;;
        --ops)     ops=$2; shift ;;
        --timeout) limit=$2; shift ;;
        --keep)    keep=1 ;;
        -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
[[ "$workers" =~ ^[1-9][0-9]*$ && "$photos" =~ ^[1-9][0-9]*$ && "$limit" =~ ^[1-9][0-9]*$ ]] \
    || { echo "--workers, --photos and --timeout take positive integers" >&2; exit 2; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

TEST_NAME=compose
. "$root/tests/docker-common.sh"
require_docker
command -v docker-compose >/dev/null 2>&1 || skip "no docker-compose"

export DOCKER_BUILDKIT=0   # the legacy builder is what works here (no buildx)

image="imgpipe:compose-test"
build_cache="imgpipe/build:cache"
project="imgpipe-test-$$-$RANDOM"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/imgpipe-compose.XXXXXX")
compose=(docker-compose --ansi never -p "$project" -f "$root/docker-compose.yml"
         --project-directory "$root" --env-file "$tmp/test.env")

cleanup() {
    local rc=$?
    "${compose[@]}" down -v --remove-orphans --timeout 5 >/dev/null 2>&1 || true
    if ((keep)); then
        echo "kept: $tmp"
    else
        rm -rf --one-file-system "$tmp" || true
    fi
    return "$rc"
}
trap cleanup EXIT

# ------------------------------------------------------------ 1. preparation
log "docker/prepare.sh --no-out (base images, vendored crates)"
timed "prepare (base images + vendor)" docker/prepare.sh --no-out

# ------------------------------------------------------------------ 2. image
build_image() {
    local rc stage
    set +e
    docker build --force-rm -t "$image" . 2>&1 | tee "$tmp/build.log" \
        | grep --line-buffered -E '^Step [0-9]+/|Finished|error' | cut -c1-110 | sed 's/^/    /'
    rc=${PIPESTATUS[0]}
    set -e
    if ((rc != 0)); then
        tail -n 40 "$tmp/build.log"
        echo "docker build failed (exit $rc)" >&2
        return "$rc"
    fi
    # Older builds leave their images untagged ("dangling"); prune ours so
    # repeated runs do not fill the disk. The build stage's image is tagged
    # first (its id is the last " ---> ID" before the runtime stage's FROM),
    # or pruning would take the cached dependency build with it.
    stage=$(awk '/^Step [0-9]+\/[0-9]+ : FROM imgpipe\/debian/ { print id; exit }
                 /^ ---> [0-9a-f]+$/ { id = $2 }' "$tmp/build.log")
    if [[ -n "$stage" ]] && docker tag "$stage" "$build_cache" 2>/dev/null; then
        docker image prune -f --filter label=imgpipe.stage=build >/dev/null
        docker image prune -f --filter label=imgpipe.stage=runtime >/dev/null
    else
        echo "    (build stage not found in the build log: nothing pruned)"
    fi
}
log "docker build -t $image ."
timed "image build" build_image
docker image inspect "$image" --format '    {{.Id}} {{.Size}} bytes' | cut -c1-90

# ------------------------------------------------------------------ 3. photos
mkdir -p "$tmp/in" "$tmp/out" "$tmp/check"
make_photos "$tmp/in" "$photos"
# Containers never run as root: as root here, they run as 1000:1000 and get
# the output folders; otherwise as the caller.
if [[ $EUID -eq 0 ]]; then
    uid=1000 gid=1000
    chown "$uid:$gid" "$tmp/out" "$tmp/check"
else
    uid=$(id -u) gid=$(id -g)
fi
# Everything the stack reads from its environment, explicitly (a developer's
# .env or exported OPS/FORMAT/... must not change the test).
unset IN OUT OPS QUALITY FORMAT MAX_PIXELS NO_AUTO_ORIENT SKIP_EXISTING LEASE THREADS PREFETCH LOG REPORT \
      IMGPIPE_IMAGE IMGPIPE_BUILD IMGPIPE_UID IMGPIPE_GID
cat > "$tmp/test.env" <<EOF
IMGPIPE_IMAGE=$image
IMGPIPE_UID=$uid
IMGPIPE_GID=$gid
IN=$tmp/in
OUT=$tmp/out
OPS=$ops
REPORT=/data/out/report.json
LOG=info
EOF
echo "    $photos photos in $tmp/in, ops '$ops', $workers workers, uid $uid:$gid, project $project"

# ------------------------------------------------------------------- 4. run
log "docker-compose up --scale worker=$workers --exit-code-from sink (limit ${limit}s)"
t_run=$SECONDS
set +e
timeout --kill-after=15 "$limit" "${compose[@]}" up --no-build --no-color \
    --scale worker="$workers" --exit-code-from sink 2>&1 | tee "$tmp/compose.log"
rc=${PIPESTATUS[0]}
set -e
run_s=$((SECONDS - t_run))
record_timing "compose run ($photos photos, $workers workers)" "$run_s"
left=$(docker ps -q --filter "label=com.docker.compose.project=$project" | wc -l)

log "decode check: imgpipe run over the outputs, inside the image"
set +e
docker run --rm --user "$uid:$gid" --network none \
    -v "$tmp/out:/in:ro" -v "$tmp/check:/out" "$image" \
    run /in /out --workers 1 --progress none > "$tmp/decode.log" 2>&1
decode_rc=$?
set -e
grep -E "images written" "$tmp/decode.log" | sed "s/^/    /" || tail -n 5 "$tmp/decode.log"

# ----------------------------------------------------------------- 5. checks
log "checks"
python3 - "$root/tests" "$tmp" "$rc" "$left" "$run_s" "$limit" "$photos" "$workers" "$decode_rc" <<'EOF'
import os, re, sys

sys.path.insert(0, sys.argv[1])
from batch_checks import Checks

tmp, rc, left, run_s, limit, photos, workers, decode_rc = sys.argv[2:]
rc, left, run_s, limit = int(rc), int(left), int(run_s), int(limit)
photos, workers, decode_rc = int(photos), int(workers), int(decode_rc)
c = Checks()
c.check(rc == 0, "docker-compose exited 0 (the sink's code)",
        "timed out" if rc in (124, 137) else f"exit code {rc}")
c.check(rc not in (124, 137) and run_s <= limit,
        f"the stack stopped by itself within {limit}s", f"took {run_s}s")
c.check(left == 0, "no container of the project left running", f"{left} running")
c.outputs(os.path.join(tmp, "in"), os.path.join(tmp, "out"), photos)
c.check(decode_rc == 0, "every output decodes (imgpipe run over them)", f"exit code {decode_rc}")
c.report(os.path.join(tmp, "out", "report.json"), photos, workers)
with open(os.path.join(tmp, "compose.log"), errors="replace") as fh:
    sink = [l.split("|", 1)[1].strip() for l in fh if re.match(r"^sink_\d+\s+\|", l)]
c.check(any(re.match(r"\[sink\] \d+/\d+ images", l) for l in sink), "sink printed progress lines")
c.sink_summary(sink, photos)
c.save(os.path.join(tmp, "checks"))
EOF
read -r passed failed < "$tmp/checks"

# --- inline transport: workers without the folders, with a shared secret ----
# Same batch again with TRANSPORT=inline; the workers see empty folders in
# place of IN and OUT (tests/compose/inline-workers.yml). Outputs must be
# byte-identical to the path run's above.
log "inline transport: workers without IN/OUT, IMGPIPE_SECRET set"
mkdir -p "$tmp/out-inline" "$tmp/empty-in" "$tmp/empty-out"
if [[ $EUID -eq 0 ]]; then chown "$uid:$gid" "$tmp/out-inline" "$tmp/empty-out"; fi
sed -e "s|^OUT=.*|OUT=$tmp/out-inline|" "$tmp/test.env" > "$tmp/inline.env"
{
    echo "TRANSPORT=inline"
    echo "IMGPIPE_SECRET=compose-test-secret-$RANDOM$RANDOM$RANDOM"
    echo "WORKER_EMPTY_IN=$tmp/empty-in"
    echo "WORKER_EMPTY_OUT=$tmp/empty-out"
} >> "$tmp/inline.env"
inline_compose=(docker-compose --ansi never -p "$project" -f "$root/docker-compose.yml"
                -f "$root/tests/compose/inline-workers.yml"
                --project-directory "$root" --env-file "$tmp/inline.env")
"${compose[@]}" down -v --remove-orphans --timeout 5 >/dev/null 2>&1 || true
t_run=$SECONDS
set +e
timeout --kill-after=15 "$limit" "${inline_compose[@]}" up --no-build --no-color \
    --scale worker="$workers" --exit-code-from sink > "$tmp/inline.log" 2>&1
inline_rc=$?
set -e
"${inline_compose[@]}" down -v --remove-orphans --timeout 5 >/dev/null 2>&1 || true
record_timing "compose run, inline transport" $((SECONDS - t_run))
grep -E "sink_[0-9]+ +\| +(imgpipe:|.* sink: inline)" "$tmp/inline.log" | sed 's/^/    /' || true
python3 - "$root/tests" "$tmp" "$inline_rc" "$photos" <<'EOF'
import filecmp, json, os, sys

sys.path.insert(0, sys.argv[1])
from batch_checks import Checks

tmp, rc, photos = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
c = Checks()
check = c.check
check(rc == 0, "inline: docker-compose exited 0", f"exit code {rc}")
ref, got = os.path.join(tmp, "out"), os.path.join(tmp, "out-inline")
rels = sorted(os.path.relpath(os.path.join(d, f), ref)
              for d, _, fs in os.walk(ref) for f in fs if f not in ("report.json", ".imgpipe-manifest"))
differ = [r for r in rels if not os.path.exists(os.path.join(got, r))
          or not filecmp.cmp(os.path.join(ref, r), os.path.join(got, r), shallow=False)]
check(len(rels) == photos and not differ,
      f"inline: {len(rels)} outputs byte-identical to the path run's", "; ".join(differ[:5]))
empty = [os.path.join(d, f) for base in ("empty-in", "empty-out")
         for d, _, fs in os.walk(os.path.join(tmp, base)) for f in fs]
check(not empty, "inline: workers wrote nothing into their (empty) folders", str(empty[:3]))
try:
    report = json.load(open(os.path.join(got, "report.json")))
    m = report["messages"]
    check(report["succeeded"] == photos and m["unauthenticated"] == 0 and m["replayed"] == 0,
          f"inline: report {photos} written, no message refused", str(m))
except (OSError, ValueError, KeyError) as e:
    check(False, "inline: JSON report", str(e))
c.save(os.path.join(tmp, "inline-checks"))
EOF
read -r p2 f2 < "$tmp/inline-checks"
passed=$((passed + p2)) failed=$((failed + f2))

print_timings
echo
echo "compose: $passed passed, $failed failed"
((failed == 0))
