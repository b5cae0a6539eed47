#!/usr/bin/env bash
# ---------------------------------------------------------------------------
# docker/local-base.sh — build imgpipe's Docker base images locally.
#
# Why: this machine's Docker engine cannot pull from any container registry
# (no Docker Hub, no ghcr.io). Only Debian's apt mirror, crates.io and PyPI
# are reachable. So every image named in a `FROM` line of our Dockerfile must
# be built here, from scratch. This script makes two of them:
#
#   imgpipe/debian:bookworm  minimal Debian 12 root filesystem (debootstrap
#                            --variant=minbase), `docker import`ed. Used as
#                            the runtime stage base. Our own tag, so nobody
#                            mistakes it for the official `debian` image.
#   imgpipe/rust:bookworm    FROM imgpipe/debian:bookworm + gcc, g++, libc6-dev,
#                            ca-certificates, curl and the HOST's active Rust
#                            toolchain (rustup's servers are unreachable, so
#                            we copy ~/.rustup's toolchain directory in). Used
#                            as the build stage, and by tests/fresh-machine/
#                            as the fresh machine the README promises: no
#                            cmake, no nasm, no make, no vips.
#
# Idempotent: an image whose tag already exists is left alone (seconds on a
# warm run), unless its packages differ from RUST_PACKAGES below. `--force`
# rebuilds both; `--force-rust` rebuilds only the Rust one
# (e.g. after the host's toolchain was updated).
#
# Usage: sudo docker/local-base.sh [--force] [--force-rust] [--no-verify]
#                                  [--host-ca]
#
#   --host-ca  also trust, in imgpipe/rust only, the extra CA certificates the
#              host trusts (/usr/local/share/ca-certificates/*.crt). Needed
#              where outgoing HTTPS goes through a TLS-intercepting proxy
#              (as on this machine): without it, `cargo` inside a container
#              fails on crates.io with "self-signed certificate in chain".
#              Off by default; changing it needs --force-rust.
#
# Environment overrides (all optional):
#   DEBIAN_MIRROR    apt mirror for debootstrap/the image (default: the one
#                    this host's apt sources use, else deb.debian.org)
#   SECURITY_MIRROR  security mirror (default: from host sources, likewise)
#   RUST_TOOLCHAIN   toolchain directory to copy (default: `rustc --print
#                    sysroot` of the host's active toolchain)
#   WORKDIR          scratch space (default: /var/tmp); needs ~2 GB free
#   BUILD_NETWORK    passed as `docker build --network` (default: engine's
#                    default, i.e. the bridge; set `host` if the bridge has no
#                    route to the apt mirror)
# ---------------------------------------------------------------------------
set -euo pipefail

BASE_TAG="imgpipe/debian:bookworm"
RUST_TAG="imgpipe/rust:bookworm"
SUITE="bookworm"
WORKDIR="${WORKDIR:-/var/tmp}"

# The host's docker client may lack buildx; the legacy builder is what works
# against this engine (20.10). Setting DOCKER_BUILDKIT=1 would make it fail.
export DOCKER_BUILDKIT=0

force_base=0
force_rust=0
verify=1
host_ca=0
for arg in "$@"; do
    case "$arg" in
        --force)      force_base=1; force_rust=1 ;;
        --force-rust) force_rust=1 ;;
        --no-verify)  verify=0 ;;
        --host-ca)    host_ca=1 ;;
        -h|--help)    sed -n '2,40p' "$0"; exit 0 ;;
        *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done

# ------------------------------------------------------------------ helpers
log()  { printf '\n==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die()  { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run as root if we are not (debootstrap, apt-get and chroot need it).
if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null || die "run as root (or install sudo)"
    SUDO=(sudo)
else
    SUDO=()
fi

# Timing: `timed NAME cmd...` runs cmd and records how long it took.
declare -a TIMINGS=()
timed() {
    local name=$1; shift
    local t0=$SECONDS
    "$@"
    TIMINGS+=("$(printf '%-28s %5ds' "$name" $((SECONDS - t0)))")
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# What the build image installs: a C/C++ compiler and nothing else that a
# build could lean on (libzmq and mimalloc are compiled by the cc crate).
RUST_PACKAGES="gcc g++ libc6-dev ca-certificates curl"

# Scratch directories are removed on exit, whatever happens.
declare -a CLEANUP=()
cleanup() {
    local d
    # (set -e is active in traps too: no bare `[[ ]] && cmd` here.)
    for d in "${CLEANUP[@]:-}"; do
        if [[ -n "$d" && -d "$d" ]]; then
            "${SUDO[@]}" rm -rf --one-file-system "$d" || true
        fi
    done
    return 0
}
trap cleanup EXIT

# Find the first URI in the host's apt sources (one-line sources.list and
# deb822 *.sources files) whose path ends in $1 ("debian" or
# "debian-security"). Disabled files (other suffixes) are ignored.
host_mirror() {
    local want=$1 files=() f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
             /etc/apt/sources.list.d/*.sources; do
        [[ -f "$f" ]] && files+=("$f")
    done
    ((${#files[@]})) || return 0
    # deb822 "URIs: a b" and one-line "deb [opts] URI suite comp" forms.
    awk '
        /^[[:space:]]*#/ { next }
        /^URIs:/        { for (i = 2; i <= NF; i++) print $i; next }
        $1 == "deb"     { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }
    ' "${files[@]}" | sed 's#/*$##' | grep -E "/${want}\$" | head -n1 || true
}

# ------------------------------------------------------------------ preflight
preflight() {
    command -v docker >/dev/null || die "docker CLI not found"
    docker info >/dev/null 2>&1 || die "docker engine not reachable (is dockerd running?)"

    # Tools the script itself needs. debootstrap pulls in its own deps;
    # debian-archive-keyring lets it verify the Release file signatures.
    local need=() p
    command -v debootstrap >/dev/null || need+=(debootstrap)
    [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] || need+=(debian-archive-keyring)
    command -v tar >/dev/null || need+=(tar)
    if ((${#need[@]})); then
        log "apt-get install ${need[*]}"
        "${SUDO[@]}" apt-get update -qq
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends "${need[@]}"
    fi
    for p in debootstrap tar; do command -v "$p" >/dev/null || die "$p missing"; done

    DEBIAN_MIRROR="${DEBIAN_MIRROR:-$(host_mirror debian)}"
    DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
    SECURITY_MIRROR="${SECURITY_MIRROR:-$(host_mirror debian-security)}"
    SECURITY_MIRROR="${SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
    note "debian mirror:   $DEBIAN_MIRROR"
    note "security mirror: $SECURITY_MIRROR"
}

# ------------------------------------------------------- 1. imgpipe/debian
build_base() {
    local rootfs
    rootfs=$(mktemp -d "$WORKDIR/imgpipe-rootfs.XXXXXX")
    CLEANUP+=("$rootfs")
    # mktemp makes it 0700, and tar would carry that over to the image's "/".
    chmod 0755 "$rootfs"

    log "debootstrap --variant=minbase $SUITE -> $rootfs"
    # debootstrap wants an empty target directory; mktemp gives us one.
    timed "debootstrap" "${SUDO[@]}" debootstrap --variant=minbase \
        --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
        "$SUITE" "$rootfs" "$DEBIAN_MIRROR"

    log "configure and slim the root filesystem"
    timed "rootfs tweaks" configure_rootfs "$rootfs"

    log "docker import -> $BASE_TAG"
    timed "docker import" import_rootfs "$rootfs"
    "${SUDO[@]}" rm -rf --one-file-system "$rootfs"
}

# tar the rootfs to stdout and import it. --numeric-owner keeps uid/gid
# numbers as they are. The --change lines give the image the defaults the
# official image has (PATH, LANG, CMD).
import_rootfs() {
    local r=$1
    "${SUDO[@]}" tar --numeric-owner --xattrs -C "$r" -c . \
        | docker import \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'ENV LANG=C.UTF-8' \
            --change 'CMD ["bash"]' \
            --change "LABEL org.opencontainers.image.title=imgpipe-debian" \
            --change "LABEL org.opencontainers.image.description=\"local debootstrap minbase $SUITE, not the official image\"" \
            --change "LABEL imgpipe.debian.mirror=$DEBIAN_MIRROR" \
            --message "debootstrap --variant=minbase $SUITE $DEBIAN_MIRROR" \
            - "$BASE_TAG" >/dev/null
}

# Make the rootfs container-friendly and small, much like the official
# debian:bookworm-slim image: apt sources incl. updates/security, no
# recommends, no docs/man/locales, no apt caches, no service start-up.
configure_rootfs() {
    local r=$1
    local run=("${SUDO[@]}")
    write() { "${run[@]}" tee "$r/$1" >/dev/null; }   # write FILE < stdin

    # deb822 apt sources pointing at the reachable mirror.
    "${run[@]}" rm -f "$r/etc/apt/sources.list"
    write etc/apt/sources.list.d/debian.sources <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

    # apt: no recommends/suggests, drop downloaded .debs after install, no
    # translations. (Same idea as the docker-* snippets in official images.)
    write etc/apt/apt.conf.d/90imgpipe-docker <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
Acquire::GzipIndexes "true";
Acquire::CompressionTypes::Order:: "gz";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF

    # dpkg: never unpack docs/man pages/locales (copyright files are kept).
    write etc/dpkg/dpkg.cfg.d/90imgpipe-slim <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
    # dpkg speed-up: no fsync in a throw-away build container.
    write etc/dpkg/dpkg.cfg.d/90imgpipe-unsafe-io <<<'force-unsafe-io'

    # Maintainer scripts must not try to start services in containers.
    write usr/sbin/policy-rc.d <<'EOF'
#!/bin/sh
exit 101
EOF
    "${run[@]}" chmod 0755 "$r/usr/sbin/policy-rc.d"

    # Remove what debootstrap already unpacked that the excludes above
    # would have kept out, plus caches, logs and host-specific files.
    # shellcheck disable=SC2016  # $r etc. expand in the inner shell
    "${run[@]}" bash -euc '
        r=$1
        find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
        find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete
        rm -rf "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/groff/* \
               "$r"/usr/share/lintian/* "$r"/usr/share/linda/*
        find "$r/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias \
             -exec rm -rf {} +
        rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/* \
               "$r"/var/cache/debconf/*-old "$r"/var/lib/dpkg/*-old \
               "$r"/var/log/* "$r"/tmp/* "$r"/var/tmp/* "$r"/root/.bash_history
        mkdir -p "$r/var/lib/apt/lists/partial" "$r/var/cache/apt/archives/partial"
        # Docker bind-mounts these at run time; keep neutral placeholders.
        : > "$r/etc/hostname"
        : > "$r/etc/resolv.conf"
        : > "$r/etc/machine-id"
    ' _ "$r"
}

# --------------------------------------------------------- 2. imgpipe/rust
build_rust() {
    # The toolchain rustc would use right now (rustup-proxy aware); its
    # directory is self-contained and relocatable: rustc finds its sysroot
    # from its own path, cargo finds rustc on PATH.
    local sysroot="${RUST_TOOLCHAIN:-}"
    if [[ -z "$sysroot" ]]; then
        command -v rustc >/dev/null || die "no rustc on PATH (set RUST_TOOLCHAIN=/path/to/toolchain)"
        sysroot=$(rustc --print sysroot)
    fi
    sysroot=$(readlink -f "$sysroot")
    [[ -x "$sysroot/bin/rustc" && -x "$sysroot/bin/cargo" ]] \
        || die "$sysroot has no bin/rustc and bin/cargo"
    local rustc_ver
    rustc_ver=$("$sysroot/bin/rustc" --version)
    note "toolchain: $sysroot ($rustc_ver)"

    local ctx
    ctx=$(mktemp -d "$WORKDIR/imgpipe-rustctx.XXXXXX")
    CLEANUP+=("$ctx")

    # Build context = Dockerfile + toolchain/. Hard links make this instant
    # when $WORKDIR is on the same filesystem as ~/.rustup; otherwise copy.
    # share/doc (rust-docs, ~800 MB of HTML) is left out.
    log "stage toolchain into build context $ctx"
    stage_toolchain() {
        mkdir -p "$ctx/toolchain"
        local item
        for item in "$sysroot"/*; do
            [[ "$(basename "$item")" == share ]] && continue
            cp -al "$item" "$ctx/toolchain/" 2>/dev/null || cp -a "$item" "$ctx/toolchain/"
        done
        mkdir -p "$ctx/toolchain/share"
        for item in "$sysroot"/share/*; do
            [[ "$(basename "$item")" == doc ]] && continue
            cp -a "$item" "$ctx/toolchain/share/"
        done
    }
    timed "stage toolchain" stage_toolchain
    note "context size: $(du -sh "$ctx" | cut -f1)"

    # Optional extra CAs (see --host-ca). Always create the directory so the
    # Dockerfile's COPY works either way; with no .crt files it is a no-op.
    mkdir -p "$ctx/extra-ca"
    if ((host_ca)); then
        local crt
        for crt in /usr/local/share/ca-certificates/*.crt; do
            if [[ -f "$crt" ]]; then
                cp "$crt" "$ctx/extra-ca/"
                note "extra CA certificate: $(basename "$crt")"
            fi
        done
    fi

    # The apt layer comes first so a toolchain change does not re-run apt.
    # RUSTUP_TOOLCHAIN etc. are deliberately not set: there is no rustup in
    # the image, so a rust-toolchain.toml in a project is ignored.
    cat > "$ctx/Dockerfile" <<EOF
FROM $BASE_TAG
RUN set -eux; \\
    apt-get update; \\
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
        $RUST_PACKAGES; \\
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*
COPY extra-ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates
COPY toolchain /usr/local/rust
ENV CARGO_HOME=/usr/local/cargo \\
    PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN set -eux; mkdir -p "\$CARGO_HOME/bin"; rustc --version; cargo --version
LABEL org.opencontainers.image.title=imgpipe-rust \\
      org.opencontainers.image.description="local build image: $BASE_TAG + host toolchain" \\
      imgpipe.rust.version="$rustc_ver" \\
      imgpipe.rust.host-ca="$host_ca" \\
      imgpipe.rust.packages="$RUST_PACKAGES"
CMD ["bash"]
EOF
    local net=()
    [[ -n "${BUILD_NETWORK:-}" ]] && net=(--network "$BUILD_NETWORK")

    log "docker build -> $RUST_TAG"
    # The legacy builder prints a deprecation notice; that is expected.
    timed "docker build rust" docker build "${net[@]}" --pull=false \
        -t "$RUST_TAG" "$ctx"
    rm -rf --one-file-system "$ctx"
}

# ------------------------------------------------------------ 3. verify
verify_rust() {
    log "verify $RUST_TAG: versions + offline hello-world build (--network none)"
    docker run --rm --network none "$RUST_TAG" bash -euc '
        cargo --version
        rustc --version
        cd /tmp
        cargo new --quiet --offline hello
        cd hello
        cargo build --quiet --offline --release
        ./target/release/hello
    '
}

# Informational only: can a container on the default bridge reach crates.io?
probe_crates_io() {
    log "probe: crates.io from a container on the default bridge network"
    local out
    if out=$(docker run --rm "$RUST_TAG" \
            curl -sSI --max-time 20 https://index.crates.io/config.json 2>&1); then
        note "REACHABLE: $(head -n1 <<<"$out" | tr -d '\r')"
        CRATES_IO="reachable"
    else
        note "NOT reachable: $(grep -m1 '^curl:' <<<"$out" || tail -n1 <<<"$out")"
        CRATES_IO="not reachable"
        # Diagnose: is it only TLS interception? Retry trusting the host's
        # CA bundle (bind-mounted read-only, nothing is baked in).
        if [[ -f /etc/ssl/certs/ca-certificates.crt ]] && docker run --rm \
                -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
                "$RUST_TAG" curl -fsSI --max-time 20 \
                https://index.crates.io/config.json >/dev/null 2>&1; then
            note "...but reachable when the host's CA bundle is trusted, i.e. a"
            note "   TLS-intercepting proxy: rebuild with --force-rust --host-ca, or"
            CRATES_IO="only with the host's CA (TLS interception)"
        fi
        note "=> the Dockerfile must use vendored crates (cargo vendor) or host-built binaries"
    fi
}

# ------------------------------------------------------------------ main
main() {
    local t0=$SECONDS
    CRATES_IO="not probed"
    timed "preflight" preflight

    if image_exists "$BASE_TAG" && ((force_base == 0)); then
        log "$BASE_TAG exists - skipping (use --force to rebuild)"
    else
        build_base
        force_rust=1   # a new base invalidates the build image
    fi

    if image_exists "$RUST_TAG" && ((force_rust == 0)) \
        && [[ "$(docker image inspect -f '{{ index .Config.Labels "imgpipe.rust.packages" }}' "$RUST_TAG")" == "$RUST_PACKAGES" ]]; then
        log "$RUST_TAG exists - skipping (use --force or --force-rust to rebuild)"
    else
        build_rust
    fi

    if ((verify)); then
        timed "verify hello-world" verify_rust
        timed "probe crates.io" probe_crates_io
    fi

    log "timings"
    printf '    %s\n' "${TIMINGS[@]}"
    printf '    %-28s %5ds\n' "total" $((SECONDS - t0))
    log "images"
    docker images --filter 'reference=imgpipe/*' \
        --format '{{.Repository}}:{{.Tag}}\t{{.Size}}\t{{.CreatedSince}}' | sed 's/^/    /' 
    note "crates.io from containers: $CRATES_IO"
}

main
