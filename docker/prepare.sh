#!/usr/bin/env bash
# ---------------------------------------------------------------------------
# docker/prepare.sh — everything `docker-compose up --build` needs, once.
#
# On our machines no image can be pulled and containers cannot download
# crates, so before the first `docker-compose up --build` (and again after
# Cargo.lock changes) run:
#
#     docker/prepare.sh
#
# It is idempotent and quick when nothing changed (a few seconds):
#
#   1. docker/local-base.sh: builds the local base images imgpipe/debian and
#      imgpipe/rust (skipped when they exist; ~minutes the first time).
#   2. cargo vendor --locked into docker/vendor/ (gitignored), which the
#      Dockerfile's default `vendor` build compiles offline. Skipped while
#      docker/vendor/ matches Cargo.lock. Runs on the host, which reaches
#      crates.io (or has the crates in ~/.cargo already).
#   3. With --prebuilt: cargo build --release on the host and copy the binary
#      to docker/prebuilt/imgpipe (gitignored), for IMGPIPE_BUILD=prebuilt.
#   4. Creates the output folder ($OUT, default ./out) and makes sure the
#      containers' uid ($IMGPIPE_UID:$IMGPIPE_GID, default 1000:1000) can
#      write to it: when run as root (sudo, CI) it hands a root-owned folder
#      to that uid; otherwise it tells you what to set.
#
# OUT, IMGPIPE_UID and IMGPIPE_GID are read from the environment, else from
# ./.env, like docker-compose does.
#
# Usage: docker/prepare.sh [--prebuilt] [--no-base] [--no-out]
#                          [-- ARGS FOR local-base.sh, e.g. --host-ca]
# ---------------------------------------------------------------------------
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

prebuilt=0
base=1
out=1
base_args=()
while (($#)); do
    case "$1" in
        --prebuilt) prebuilt=1 ;;
        --no-base)  base=0 ;;
        --no-out)   out=0 ;;
        --) shift; base_args=("$@"); break ;;
        -h|--help)  sed -n '2,32p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

log()  { printf '\n==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die()  { printf 'error: %s\n' "$*" >&2; exit 1; }

# A setting from the environment, else from ./.env (last assignment wins),
# else the default. Only plain KEY=VALUE lines, as compose reads them.
setting() {
    local name=$1 default=$2 value
    if [[ -n "${!name+set}" ]]; then
        printf '%s' "${!name}"
        return
    fi
    if [[ -f .env ]]; then
        value=$(sed -n "s/^[[:space:]]*${name}=//p" .env | tail -n1)
        value=${value%\"}; value=${value#\"}; value=${value%\'}; value=${value#\'}
        if [[ -n "$value" ]]; then
            printf '%s' "$value"
            return
        fi
    fi
    printf '%s' "$default"
}

t0=$SECONDS

# ------------------------------------------------------------- 1. base images
if ((base)); then
    log "base images (docker/local-base.sh)"
    "$here/local-base.sh" "${base_args[@]}"
fi

# ------------------------------------------------------------- 2. cargo vendor
vendor="$here/vendor"
stamp="$vendor/.cargo-lock.sha256"   # hidden: cargo vendor keeps dotfiles
want=$(sha256sum Cargo.lock | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -f "$vendor/libc/Cargo.toml" ]]; then
    log "docker/vendor/ matches Cargo.lock - skipping cargo vendor"
else
    log "cargo vendor --locked -> docker/vendor/"
    command -v cargo >/dev/null || die "cargo not found on the host (needed to vendor crates)"
    # Offline first (crates already in ~/.cargo), online if some are missing.
    if ! cargo vendor --locked --offline --quiet "$vendor" >/dev/null 2>&1; then
        cargo vendor --locked --quiet "$vendor" >/dev/null
    fi
    printf '%s\n' "$want" > "$stamp"
    note "$(find "$vendor" -mindepth 1 -maxdepth 1 -type d | wc -l) crates, $(du -sh "$vendor" | cut -f1)"
fi

# --------------------------------------------------------- 3. prebuilt binary
if ((prebuilt)); then
    log "cargo build --release (host) -> docker/prebuilt/imgpipe"
    cargo build --release --locked -p imgpipe --bin imgpipe
    target_dir=$(cargo metadata --format-version 1 --no-deps --offline \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
    install -m 0755 "$target_dir/release/imgpipe" "$here/prebuilt/imgpipe"
    note "now: IMGPIPE_BUILD=prebuilt docker-compose up --build"
fi

# ------------------------------------------------------------ 4. output folder
if ((out)); then
    out_dir=$(setting OUT ./out)
    uid=$(setting IMGPIPE_UID 1000)
    gid=$(setting IMGPIPE_GID 1000)
    log "output folder $out_dir (containers write as $uid:$gid)"
    mkdir -p "$out_dir"
    owner=$(stat -c %u "$out_dir")
    if [[ "$owner" == "$uid" ]]; then
        note "owned by $uid: ok"
    elif [[ $EUID -eq 0 && "$owner" == 0 ]]; then
        # Typical under sudo or in CI: root made it, a non-root container
        # writes to it. Hand it over (the folder only, not its contents).
        chown "$uid:$gid" "$out_dir"
        note "was root's; now owned by $uid:$gid"
    elif [[ $EUID -ne 0 && "$(id -u)" != "$uid" ]]; then
        note "WARNING: containers run as uid $uid but you are uid $(id -u):"
        note "  put IMGPIPE_UID=$(id -u) and IMGPIPE_GID=$(id -g) in .env (see .env.example)"
    else
        note "WARNING: owned by uid $owner, containers write as $uid: make it writable for $uid"
    fi
fi

log "ready ($((SECONDS - t0))s): docker-compose up --build --scale worker=4 --exit-code-from sink"
