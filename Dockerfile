# kechuang platform image: `docker build -t kechuang .`
#
# The policy library, the plan library and the demo data are built into the binary, so the
# runtime image holds nothing of the source tree. Run alone it serves a trial instance on
# SQLite with the demo data (`docker run -p 8080:8080 -v kechuang-data:/data kechuang`);
# docker-compose.yml is the production deployment (PostgreSQL, two replicas, a TLS proxy).

# ---- build ----
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p kc-cli \
 && strip --strip-debug target/release/kechuang

# ---- runtime ----
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --create-home --shell /usr/sbin/nologin kechuang
COPY --from=build /src/target/release/kechuang /usr/local/bin/kechuang
USER kechuang
# The working directory holds the default SQLite file (kechuang.db) when no --database is given.
WORKDIR /data
VOLUME /data
EXPOSE 8080
# GET /login touches neither the database nor a session: a cheap liveness probe. bash's
# /dev/tcp saves installing curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /login HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["kechuang"]
CMD ["serve", "--addr", "0.0.0.0:8080"]
