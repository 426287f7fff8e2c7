# syntax=docker/dockerfile:1
# Builds aiq-server and aiq-admin in a full Rust image, then ships only the binaries in a slim Debian image
# that runs as an unprivileged user. Railway builds this file (railway.json) and sets $PORT.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p aiq-server --bin aiq-server -p aiq-admin --bin aiq-admin \
    && cp target/release/aiq-server target/release/aiq-admin /usr/local/bin/

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin aiq
COPY --from=build /usr/local/bin/aiq-server /usr/local/bin/aiq-admin /usr/local/bin/
USER aiq
ENV PORT=8000 HOST=0.0.0.0
EXPOSE 8000
CMD ["aiq-server", "serve"]
