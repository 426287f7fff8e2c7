# syntax=docker/dockerfile:1
# Builds aiq-server and aiq-admin in a full Rust image, then ships only the binaries in a slim Debian image
# that runs as an unprivileged user. Railway builds this file (railway.json) and sets $PORT.
#
# The dependencies are compiled in a layer of their own (cargo-chef): its input is the recipe, a
# digest of the manifests and Cargo.lock, so a change to aiq's own code reuses that layer and only
# recompiles the workspace crates. Layer times: README, "Deploying to Railway".

FROM rust:1.95-slim-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

# The recipe: what the dependency layer depends on, and nothing else.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
# Every dependency, cached until a manifest or Cargo.lock changes.
RUN cargo chef cook --release --locked --recipe-path recipe.json -p aiq-server
COPY . .
RUN cargo build --release --locked -p aiq-server --bin aiq-server --bin aiq-admin \
    && cp target/release/aiq-server target/release/aiq-admin /usr/local/bin/

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin aiq
COPY --from=build /usr/local/bin/aiq-server /usr/local/bin/aiq-admin /usr/local/bin/
USER aiq
ENV PORT=8000 HOST=0.0.0.0
# mimalloc returns freed memory to the system at once instead of keeping it for later: the
# 19 MiB of each argon2 hash otherwise stay resident (RSS after start-up 70 MB -> 26 MB, at
# the end of the load harness 72 MB -> 28 MB; docs/performance.md). A login flood serves
# about a quarter fewer logins. benches/load sets the same.
ENV MIMALLOC_PURGE_DELAY=0 MIMALLOC_ARENA_EAGER_COMMIT=0
EXPOSE 8000
CMD ["aiq-server", "serve"]
