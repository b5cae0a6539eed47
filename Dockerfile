# imgpipe: one image, one binary (`imgpipe ventilator|worker|sink|run|ops|status`).
#
# PREPARE FIRST. No image can be pulled on our machines and containers cannot
# download crates, so run once (it is cached and idempotent):
#
#     docker/prepare.sh            # base images + `cargo vendor` + ./out
#     docker-compose up --build    # or: DOCKER_BUILDKIT=0 docker build -t imgpipe:local .
#
# (No buildx here: leave DOCKER_BUILDKIT unset or 0. The docker CLI then falls
# back to the legacy builder, with a deprecation notice; =1 fails.)
#
# Base images (built locally by docker/local-base.sh, called by prepare.sh):
#   imgpipe/rust:bookworm    build stage: Debian 12 + the host's Rust toolchain
#                            and gcc/g++, nothing else (no cmake, nasm or make:
#                            JPEG is the pure-Rust libjpeg-turbo-rs, libzmq is
#                            compiled by the cc crate)
#   imgpipe/debian:bookworm  runtime stage: debootstrap minbase Debian 12
#
# Two ways to get the binary, chosen with the build argument IMGPIPE_BUILD
# (compose passes the variable of the same name, default `vendor`):
#
#   vendor    (default) `cargo build --release --offline` inside the build
#             stage, from crates that docker/prepare.sh vendored on the host
#             into docker/vendor/ (gitignored). The cargo config pointing at
#             them is written only inside the build stage; the project has no
#             .cargo/ of its own. Self-contained and reproducible: the binary
#             is built against the image's own Debian, whatever the host is.
#             Layer order keeps the dependency build cached: manifests +
#             vendored crates, then a dependency-only build against stub
#             sources, then the real sources. A source change rebuilds only
#             our five crates (and the LTO link).
#   prebuilt  copy docker/prebuilt/imgpipe, which `docker/prepare.sh
#             --prebuilt` builds on the host (`cargo build --release`) and
#             puts there. Fastest when the host's target/ is warm; the host
#             must be glibc-compatible with Debian 12 (it is, on our machines).
#
# Measured on our 2-core machine (another build running beside it at times):
#   vendor    cold ~8 min (2026-12-01, a test build running beside it:
#             dependencies 4 min 50 s, then our crates + thin-LTO link 3 min
#             20 s); after a source change ~3-3.5 min; unchanged ~12 s
#             (mostly hashing the context). The dependency layer is
#             reused across fresh clones (COPY caches by content, not mtime).
#   prebuilt  host `cargo build --release` cold 9.5 min, after a source
#             change 2.9 min, then this build ~30 s.
# So `vendor` is the default: from scratch both cost the same, it needs
# nothing from the host's target/, and CI, which starts from a fresh clone
# (empty target/) on a machine that keeps its Docker cache, gets the cached
# dependency layer instead of a cold host build. `prebuilt` pays off only
# right after a host release build.
#
# The legacy builder is what works here (DOCKER_BUILDKIT=0; no buildx), so
# this file uses no BuildKit-only syntax (no RUN --mount, no heredocs). The
# legacy builder runs every stage, so the modes are branches inside one build
# stage rather than separate stages.

# ---------------------------------------------------------------- build stage
FROM imgpipe/rust:bookworm AS build
# Lets tests/compose/run.sh tag this stage (to keep its cache) and prune the
# stale build-stage images older builds leave behind.
LABEL imgpipe.stage=build
ARG IMGPIPE_BUILD=vendor
WORKDIR /build

# 1. Vendored crates and the workspace manifests: they change rarely.
COPY docker/vendor/ /vendor/
COPY Cargo.toml Cargo.lock ./
# Patched copies of crates.io crates, which [patch.crates-io] points at.
COPY vendor/ vendor/
COPY shared/Cargo.toml shared/
COPY ventilator/Cargo.toml ventilator/
COPY worker/Cargo.toml worker/
COPY sink/Cargo.toml sink/

# 2. Build only the dependencies, against stub sources (one lib.rs and one
#    main.rs per member, and a stub of each example a manifest declares by
#    name, which cargo needs to read it), so that this slow layer is reused
#    until Cargo.lock, a manifest or the vendored crates change.
RUN set -eu; \
    if [ "$IMGPIPE_BUILD" != vendor ]; then echo "IMGPIPE_BUILD=$IMGPIPE_BUILD: no dependency build"; exit 0; fi; \
    if [ ! -f /vendor/libc/Cargo.toml ]; then \
        echo "error: docker/vendor/ is empty: run docker/prepare.sh first (it runs cargo vendor)" >&2; exit 1; \
    fi; \
    printf '%s\n' \
        '[source.crates-io]' 'replace-with = "vendored-sources"' \
        '[source.vendored-sources]' 'directory = "/vendor"' \
        '[net]' 'offline = true' > "$CARGO_HOME/config.toml"; \
    for member in . shared ventilator worker sink; do \
        mkdir -p "$member/src"; \
        echo '' > "$member/src/lib.rs"; \
        echo 'fn main() {}' > "$member/src/main.rs"; \
    done; \
    mkdir -p shared/examples; \
    echo 'fn main() {}' > shared/examples/colour_cms.rs; \
    cargo build --release --locked -p imgpipe --bin imgpipe; \
    rm -rf src shared/src shared/examples ventilator/src worker/src sink/src

# 3. Our sources, then the real build. The sources are touched so cargo never
#    mistakes them for the stubs it has just built (COPY keeps host mtimes).
COPY src/ src/
COPY shared/ shared/
COPY ventilator/ ventilator/
COPY worker/ worker/
COPY sink/ sink/
RUN set -eu; \
    mkdir -p /out; \
    if [ "$IMGPIPE_BUILD" != vendor ]; then exit 0; fi; \
    find src shared ventilator worker sink -name '*.rs' -exec touch {} +; \
    cargo build --release --locked -p imgpipe --bin imgpipe; \
    cp target/release/imgpipe /out/imgpipe

# 4. prebuilt mode: the host's binary instead.
COPY docker/prebuilt/ /prebuilt/
RUN set -eu; \
    case "$IMGPIPE_BUILD" in \
        vendor) ;; \
        prebuilt) \
            if [ ! -x /prebuilt/imgpipe ]; then \
                echo "error: docker/prebuilt/imgpipe missing: run docker/prepare.sh --prebuilt" >&2; exit 1; \
            fi; \
            cp /prebuilt/imgpipe /out/imgpipe ;; \
        *) echo "error: IMGPIPE_BUILD must be vendor or prebuilt, not '$IMGPIPE_BUILD'" >&2; exit 1 ;; \
    esac; \
    strip /out/imgpipe; \
    /out/imgpipe --version

# -------------------------------------------------------------- runtime stage
FROM imgpipe/debian:bookworm
# A fixed, unprivileged uid/gid (1000, the usual first desktop user). Compose
# runs the containers as ${IMGPIPE_UID:-1000}:${IMGPIPE_GID:-1000} so that the
# files written to the output volume belong to the host user; see
# docker-compose.yml.
RUN set -eu; \
    groupadd --gid 1000 imgpipe; \
    useradd --uid 1000 --gid 1000 --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin imgpipe; \
    mkdir -p /data/in /data/out; \
    chown imgpipe:imgpipe /data/out
COPY --from=build /out/imgpipe /usr/local/bin/imgpipe
COPY docker/entrypoint.sh /usr/local/bin/imgpipe-entrypoint
# Fails the build if a shared library is missing from the runtime image.
RUN imgpipe --version
USER 1000:1000
WORKDIR /data
# The entry point drops empty IMGPIPE_* variables, then execs imgpipe, which
# stays PID 1 and handles SIGTERM itself (it finishes running images, then
# exits), so no init is needed: `docker stop` is a clean shutdown.
ENTRYPOINT ["imgpipe-entrypoint"]
CMD ["--help"]
LABEL imgpipe.stage=runtime \
      org.opencontainers.image.title="imgpipe" \
      org.opencontainers.image.description="Distributed image-processing pipeline on ZeroMQ (ventilator, worker, sink roles)"
