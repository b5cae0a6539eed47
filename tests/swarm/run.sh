#!/usr/bin/env bash
# ---------------------------------------------------------------------------
# tests/swarm/run.sh — end-to-end test of docker-compose.yml deployed as a
# Docker Swarm stack (`docker stack deploy`) on a single-node swarm.
#
# Without a Docker engine, or where this node cannot become (or is not) a
# swarm manager, it prints a loud SKIPPED line with the reason and exits 0.
# Otherwise, for real:
#   1. swarm: uses the node's swarm if it is already a manager, else runs
#      `docker swarm init` on loopback (127.0.0.1, nothing listens outside)
#      and leaves that swarm at the end; a swarm it did not create is left
#      as it was;
#   2. image: `docker build` (stack deploy never builds; the image must exist
#      on the node): after tests/compose/run.sh every layer is cached, so
#      this only hashes the context; --image TAG uses an existing image;
#   3. run 1: N photos (hard links to the JPEGs in samples/, distinct names,
#      in three subfolders), `docker stack deploy` with WORKERS=W replicas,
#      waits for the sink's task to finish, then checks: the sink exited 0;
#      every task of the stack ended Complete and none was restarted (a
#      finished batch stays finished: watched for a few seconds more); every
#      output exists, is a JPEG (SOI/EOI markers) and decodes (`imgpipe
#      run` in the image reads every output back); the JSON
#      report has total == succeeded == N, no failure, and W workers that
#      each did at least one task; the sink printed its summary. Then
#      `docker stack rm` and a check that no service, network or container
#      of the stack is left;
#   4. run 2 (scaling a running stack; --no-scale skips it): S photos,
#      deployed with 1 worker; once the sink reports progress,
#      `docker service scale <stack>_worker=W`; same checks, and W workers
#      in the report each with tasks > 0, i.e. the added workers joined the
#      running batch and got work.
#   The stacks, the temp folder and (if this script created it) the swarm
#   are removed on any exit.
#
# Usage: tests/swarm/run.sh [--workers W] [--photos N] [--scale-photos S]
#                           [--no-scale] [--ops OPS] [--timeout SECONDS]
#                           [--image TAG] [--keep]
#   defaults: 3 workers, 30 photos, 200 for the scaling run, ops
#   resize:3200:up,blur:6,resize:800 (~0.2 s a photo on one thread, so that
#   every worker is up before a batch ends), 300 s per run.
#   --keep leaves the temp folder (inputs, outputs, reports, logs).
# The last line is "swarm: N passed, M failed".
# ---------------------------------------------------------------------------
set -euo pipefail

workers=3
photos=30
scale_photos=200
scale_run=1
# Heavy on purpose (about 0.2 s per sample photo on one thread, small
# outputs): a batch must outlast the spread of the workers' start times
# (Swarm starts tasks in no order, a second or more apart on a busy
# machine) and, in the scaling run, the start of the added workers; with
# the compose test's resize:1600,blur:3 the 30 photos take about 1 s.
ops="resize:3200:up,blur:6,resize:800"
limit=300
image_opt=""
keep=0
while (($#)); do
    case "$1" in
        --workers)      workers=$2; shift ;;
        --photos)       photos=$2; shift ;;
        --scale-photos) scale_photos=$2; shift ;;
        --no-scale)     scale_run=0 ;;
        --ops)          ops=$2; shift ;;
        --timeout)      limit=$2; shift ;;
        --image)        image_opt=$2; shift ;;
        --keep)         keep=1 ;;
        -h|--help)      sed -n '2,42p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
for n in "$workers" "$photos" "$scale_photos" "$limit"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] \
        || { echo "--workers, --photos, --scale-photos and --timeout take positive integers" >&2; exit 2; }
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

TEST_NAME=swarm
. "$root/tests/docker-common.sh"
require_docker
docker stack --help >/dev/null 2>&1 || skip "this docker CLI has no 'docker stack' command"

note() { printf '    %s\n' "$*"; }
export DOCKER_BUILDKIT=0   # the legacy builder is what works here (no buildx)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/imgpipe-swarm.XXXXXX")
stack=""            # the stack currently deployed, for cleanup
created_swarm=0
had_gwbridge=0
docker network inspect docker_gwbridge >/dev/null 2>&1 && had_gwbridge=1

# Everything of one stack: services, networks, containers (by the label
# `docker stack deploy` puts on all of them).
leftovers() {
    local s=$1
    {
        docker service ls -q --filter "label=com.docker.stack.namespace=$s"
        docker network ls -q --filter "label=com.docker.stack.namespace=$s"
        docker ps -aq --filter "label=com.docker.stack.namespace=$s"
    } 2>/dev/null | wc -l
}
# `docker stack rm` returns before the containers and the network are gone.
remove_stack() {
    local s=$1 i
    docker stack rm "$s" >/dev/null 2>&1 || true
    for ((i = 0; i < 60; i++)); do
        (($(leftovers "$s") == 0)) && return 0
        sleep 1
    done
    return 1
}
cleanup() {
    local rc=$?
    set +e
    if [[ -n "$stack" ]]; then
        remove_stack "$stack" || echo "warning: stack $stack not fully removed" >&2
    fi
    if ((created_swarm)); then
        docker swarm leave --force >/dev/null 2>&1 \
            || echo "warning: docker swarm leave --force failed" >&2
        # The swarm's local bridge; remove it only if it came with our swarm.
        if ((!had_gwbridge)); then
            docker network rm docker_gwbridge >/dev/null 2>&1
        fi
    fi
    if ((keep)); then
        echo "kept: $tmp"
    else
        rm -rf --one-file-system "$tmp"
    fi
    return "$rc"
}
trap cleanup EXIT

# ------------------------------------------------------------------ 1. swarm
log "swarm"
state=$(docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown)
case "$state" in
    inactive)
        # Loopback only: a single-node swarm needs no other address, and
        # nothing gets exposed on the machine's network.
        if ! err=$(timeout 60 docker swarm init --advertise-addr 127.0.0.1 \
                --listen-addr 127.0.0.1:2377 2>&1); then
            skip "docker swarm init failed: $(tr '\n' ' ' <<<"$err")"
        fi
        created_swarm=1
        note "docker swarm init --advertise-addr 127.0.0.1: $(head -n1 <<<"$err")"
        ;;
    active)
        [[ "$(docker info --format '{{.Swarm.ControlAvailable}}')" == true ]] \
            || skip "this node is in a swarm but not a manager: it cannot deploy a stack"
        note "this node is already a swarm manager: using its swarm (it is left as it is)"
        ;;
    *)
        skip "swarm state of this node is '$state' (pending, locked or error)"
        ;;
esac
note "nodes: $(docker node ls --format '{{.Hostname}} {{.Status}} {{.Availability}} {{.ManagerStatus}}' | tr '\n' ';')"

# ------------------------------------------------------------------ 2. image
if [[ -n "$image_opt" ]]; then
    image=$image_opt
    log "image $image (given, not built)"
    docker image inspect "$image" >/dev/null 2>&1 \
        || { echo "FAIL: image $image does not exist" >&2; exit 1; }
else
    image="imgpipe:swarm-test"
    log "docker/prepare.sh --no-out (base images, vendored crates)"
    timed "prepare (base images + vendor)" docker/prepare.sh --no-out >"$tmp/prepare.log" 2>&1 \
        || { tail -n 30 "$tmp/prepare.log"; echo "FAIL: docker/prepare.sh" >&2; exit 1; }
    log "docker build -t $image . (cached after tests/compose/run.sh)"
    build() {
        if ! docker build --force-rm -t "$image" . >"$tmp/build.log" 2>&1; then
            tail -n 40 "$tmp/build.log"
            echo "FAIL: docker build" >&2
            return 1
        fi
        note "steps from cache: $(grep -cE '^ ---> Using cache' "$tmp/build.log" || true)"
        # A rebuild after a source change leaves the previous runtime image
        # untagged; prune those (only runtime ones: the build stage's are the
        # cargo cache, which tests/compose/run.sh keeps tagged).
        docker image prune -f --filter label=imgpipe.stage=runtime >/dev/null
    }
    timed "image build" build
fi
docker image inspect "$image" --format '    {{.Id}} {{.Size}} bytes' | cut -c1-90

# ----------------------------------------------------------------- helpers
# Containers never run as root: as root here, they run as 1000:1000 and get
# the output folders; otherwise as the caller.
if [[ $EUID -eq 0 ]]; then uid=1000 gid=1000; else uid=$(id -u) gid=$(id -g); fi
# Everything the stack reads from its environment is set explicitly below; a
# developer's exported OPS/FORMAT/WORKERS/... must not change the test.
unset IN OUT OPS QUALITY FORMAT MAX_PIXELS NO_AUTO_ORIENT SKIP_EXISTING LEASE THREADS PREFETCH LOG \
      REPORT WORKERS TRANSPORT IMGPIPE_SECRET IMGPIPE_IMAGE IMGPIPE_BUILD IMGPIPE_UID IMGPIPE_GID


detach=()
docker stack deploy --help 2>/dev/null | grep -q -- '--detach' && detach=(--detach=true)
scale_detach=()
docker service scale --help 2>/dev/null | grep -q -- '--detach' && scale_detach=(--detach)

# deploy NAME RUNDIR WORKERS OPS: the stack, as a user would deploy it, with the
# settings exported (stack deploy reads no .env file). --resolve-image never:
# the image is local, there is no registry to ask for its digest.
deploy() {
    local name=$1 dir=$2 n=$3 chain=$4
    env IMGPIPE_IMAGE="$image" IMGPIPE_UID="$uid" IMGPIPE_GID="$gid" \
        IN="$dir/in" OUT="$dir/out" OPS="$chain" REPORT=/data/out/report.json LOG=info WORKERS="$n" \
        docker stack deploy "${detach[@]}" --resolve-image never \
            -c "$root/docker-compose.yml" "$name" 2>&1 | sed 's/^/    /'
    return "${PIPESTATUS[0]}"
}

# The sink's container on this node (single-node swarm: all are local).
sink_container() {
    docker ps -aq --filter "label=com.docker.swarm.service.name=$1_sink" | head -n1
}

# wait_sink NAME LIMIT: until the sink's container has exited; 1 on time-out
# or when the sink's task was rejected/failed before it ran.
wait_sink() {
    local name=$1 deadline=$((SECONDS + $2)) cid state
    while ((SECONDS < deadline)); do
        cid=$(sink_container "$name")
        if [[ -n "$cid" ]]; then
            state=$(docker inspect -f '{{.State.Status}}' "$cid" 2>/dev/null || true)
            [[ "$state" == exited ]] && return 0
        fi
        if docker service ps "${name}_sink" --format '{{.CurrentState}}' 2>/dev/null \
                | grep -qE '^(Rejected|Failed)'; then
            docker service ps --no-trunc "${name}_sink" \
                --format '    sink task: {{.CurrentState}} {{.Error}}' | head -n3
            return 1
        fi
        sleep 1
    done
    echo "    time-out: the sink did not finish within $2 s"
    return 1
}

# Tasks of the stack: "service|desired|current state", one per task.
tasks() {
    docker stack ps "$1" --format '{{.Name}}|{{.DesiredState}}|{{.CurrentState}}|{{.Error}}' 2>/dev/null \
        | sed -E "s/^$1_([a-z]+)\.[0-9]+\|/\1|/"
}
# Until no task of the stack is running any more (ventilator and workers exit
# shortly after the sink), at most $2 s.
wait_all_done() {
    local deadline=$((SECONDS + $2))
    while ((SECONDS < deadline)); do
        tasks "$1" | grep -qE '\|(Running|Starting|Preparing|Assigned|Pending|New|Ready|Accepted)' \
            || return 0
        sleep 1
    done
    return 1
}

# Logs of every service of the stack, for the checks and for --keep.
save_logs() {
    local name=$1 dir=$2 svc cid
    for svc in ventilator sink worker; do
        docker service logs --no-task-ids --timestamps "${name}_$svc" >"$dir/$svc.log" 2>&1 || true
    done
    cid=$(sink_container "$name")
    # The sink's own output, untagged, in order.
    [[ -n "$cid" ]] && docker logs "$cid" >"$dir/sink-raw.log" 2>&1
    return 0
}

decode_check() {
    local dir=$1
    mkdir -p "$dir/check"
    [[ $EUID -eq 0 ]] && chown "$uid:$gid" "$dir/check"
    docker run --rm --user "$uid:$gid" --network none \
        -v "$dir/out:/in:ro" -v "$dir/check:/out" "$image" \
        run /in /out --workers 1 --progress none >"$dir/decode.log" 2>&1
}

passed=0
failed=0
# checks RUNDIR PHOTOS WORKERS SINK_RC DECODE_RC LEFT WHAT: the python part
# appends "passed failed" to RUNDIR/checks.
checks() {
    python3 - "$root/tests" "$@" <<'EOF'
import os, sys

sys.path.insert(0, sys.argv[1])
from batch_checks import Checks

run, photos, workers, sink_rc, decode_rc, left, what = sys.argv[2:]
photos, workers, sink_rc, decode_rc, left = map(int, (photos, workers, sink_rc, decode_rc, left))
c = Checks()
c.check(sink_rc == 0, "the sink's task exited 0", f"exit code {sink_rc}")

# "service|desired|current|error" per task, twice: at the end and a few
# seconds later (a restart would show up as one more task).
def tasks(name):
    with open(os.path.join(run, name)) as fh:
        return [l.rstrip("\n").split("|", 3) for l in fh if l.strip()]
end, later = tasks("tasks-end"), tasks("tasks-later")
expect = {"ventilator": 1, "sink": 1, "worker": workers}
count = {s: sum(1 for t in later if t[0] == s) for s in expect}
c.check(count == expect, f"one task per replica, none restarted: {count}", f"expected {expect}")
not_done = [t for t in later if not t[2].startswith("Complete")]
c.check(not not_done, "every task ended Complete (exit 0)",
        "; ".join(" ".join(t) for t in not_done[:5]))
c.check(len(end) == len(later), "nothing restarted after the batch ended",
        f"{len(end)} tasks at the end, {len(later)} later")

c.outputs(os.path.join(run, "in"), os.path.join(run, "out"), photos)
c.check(decode_rc == 0, "every output decodes", f"see {what} decode log")
report = c.report(os.path.join(run, "out", "report.json"), photos, workers)
if report is not None:
    loads = sorted((w["tasks"] for w in report["workers"]), reverse=True)
    print(f"    worker task counts: {loads} "
          f"(wall {report['wall_s']:.1f} s, {report['images_per_s']:.1f} images/s)")
with open(os.path.join(run, "sink-raw.log"), errors="replace") as fh:
    sink = [l.strip() for l in fh]
c.check(left == 0, "docker stack rm left no service, network or container", f"{left} left")
c.sink_summary(sink, photos)
c.save(os.path.join(run, "checks"))
EOF
}

# run_batch LABEL PHOTOS OPS START_WORKERS FINAL_WORKERS: one stack from
# deploy to removal; scales the workers mid-batch when START != FINAL.
run_batch() {
    local label=$1 n=$2 chain=$3 start=$4 final=$5
    local dir="$tmp/$label" t0=$SECONDS sink_rc=255 decode_rc=1 left cid line
    mkdir -p "$dir/in" "$dir/out"
    make_photos "$dir/in" "$n"
    [[ $EUID -eq 0 ]] && chown "$uid:$gid" "$dir/out"
    stack="imgpipe-t$$-$label"
    log "$label: docker stack deploy $stack ($n photos, ops '$chain', WORKERS=$start)"
    deploy "$stack" "$dir" "$start" "$chain" || { echo "FAIL: docker stack deploy" >&2; failed=$((failed + 1)); return; }

    if ((start != final)); then
        # Wait for the batch to be under way, then scale the running stack.
        local deadline=$((SECONDS + limit))
        line=""
        while ((SECONDS < deadline)); do
            cid=$(sink_container "$stack")
            if [[ -n "$cid" ]]; then
                line=$(docker logs "$cid" 2>&1 | grep -E '^\[sink\] [0-9]+/' | tail -n1 || true)
                [[ -n "$line" ]] && break
            fi
            sleep 0.5
        done
        note "sink: $line"
        log "$label: docker service scale ${stack}_worker=$final"
        docker service scale "${scale_detach[@]}" "${stack}_worker=$final" 2>&1 | sed 's/^/    /'
    fi

    log "$label: waiting for the sink (limit ${limit}s)"
    if wait_sink "$stack" "$limit"; then
        sink_rc=$(docker inspect -f '{{.State.ExitCode}}' "$(sink_container "$stack")")
    fi
    record_timing "$label: deploy to sink exit ($n photos)" $((SECONDS - t0))
    wait_all_done "$stack" 60 || note "some tasks were still running 60 s after the sink"
    tasks "$stack" >"$dir/tasks-end"
    # A restart policy that restarted finished tasks would show within its
    # delay (5 s): watch a little longer.
    sleep 8
    tasks "$stack" >"$dir/tasks-later"
    sed 's/^/    task: /' "$dir/tasks-later"
    save_logs "$stack" "$dir"

    log "$label: decode check"
    decode_check "$dir" && decode_rc=0
    tail -n 1 "$dir/decode.log" | sed 's/^/    /'

    log "$label: docker stack rm $stack"
    local t_rm=$SECONDS
    remove_stack "$stack" || true
    left=$(leftovers "$stack")
    record_timing "$label: stack rm until nothing left" $((SECONDS - t_rm))
    stack=""

    log "$label: checks"
    checks "$dir" "$n" "$final" "$sink_rc" "$decode_rc" "$left" "$label"
    local p f
    read -r p f <"$dir/checks"
    passed=$((passed + p))
    failed=$((failed + f))
    if ((f > 0)); then
        for s in ventilator sink worker; do
            echo "    --- last lines of $s's log"
            tail -n 15 "$dir/$s.log" | cut -c1-200 | sed 's/^/      /'
        done
    fi
}

# ------------------------------------------------------------------- 3. runs
run_batch deploy "$photos" "$ops" "$workers" "$workers"
if ((scale_run)); then
    run_batch scale "$scale_photos" "$ops" 1 "$workers"
fi

print_timings
echo
if ((failed > 0)); then
    echo "!!! FAIL: swarm end-to-end test: $failed checks failed"
fi
echo "swarm: $passed passed, $failed failed"
((failed == 0))
