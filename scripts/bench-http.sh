#!/usr/bin/env bash
# Load benchmark of the eligibility endpoint (POST /api/eligibility) on loopback: starts a
# release `kechuang serve` on a scratch database (anonymous rate limits lifted: this measures
# evaluation, not the limiter), drives it with wrk (Debian package, installed
# if missing) posting examples/hunnan-enterprise.json, and prints throughput and latency.
# Bounded: 2 threads, CONNECTIONS (default 16) connections, 20 seconds, 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq wrk >/dev/null; else sudo apt-get install -y -qq wrk >/dev/null; fi
fi
cargo build --release -p kc-cli >/dev/null
dir=$(mktemp -d)
port=$((20000 + RANDOM % 10000))
RUST_LOG="${RUST_LOG:-warn}" ./target/release/kechuang serve --database "$dir/bench.db" --addr "127.0.0.1:$port" --no-demo --anon-calc-per-minute 1000000000 --anon-read-per-minute 1000000000 >"$dir/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.5; done
cat >"$dir/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("examples/hunnan-enterprise.json", "r")
wrk.body = f:read("*a")
f:close()
LUA
# The response must be a real evaluation, not an error page.
curl -sf -X POST -H 'Content-Type: application/json' --data @examples/hunnan-enterprise.json \
  "http://127.0.0.1:$port/api/eligibility" | grep -q '"status":"awarded"'
RUST_LOG=warn wrk -t2 -c"${CONNECTIONS:-16}" -d20s --latency -s "$dir/post.lua" "http://127.0.0.1:$port/api/eligibility"
