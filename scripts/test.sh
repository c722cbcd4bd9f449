#!/usr/bin/env bash
# The whole test suite, as the README's test command and `.ci/run` call it.
# Installs what the tests need where it is missing, then runs: format check, clippy with
# warnings as errors, and every test of every crate (unit, property, scenario, diagnostics
# snapshot, CLI, the ledger tests on SQLite *and* PostgreSQL, the platform's HTTP tests), then
# the end-to-end browser tests in headless Chromium (scripts/e2e.sh installs Chromium, a CJK
# font and the npm packages of e2e/ where missing).
#
# PostgreSQL: uses the server at 127.0.0.1:5432 when one answers; otherwise starts the local
# cluster, or installs Debian's postgresql package and starts it. The ledger tests then run
# against it with KECHUANG_REQUIRE_PG=1, so a missing server fails the run instead of being
# skipped. (Plain `cargo test` without KECHUANG_TEST_PG_URL skips the PostgreSQL half and
# prints a loud SKIPPED banner.)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo is not installed; install Rust with rustup (https://rustup.rs) first" >&2
  exit 1
fi
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    echo "installing the $component component" >&2
    rustup component add "$component"
  fi
done

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

pg_up() { pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; }

ensure_postgres() {
  if ! command -v pg_isready >/dev/null 2>&1 || ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "== installing PostgreSQL (Debian package postgresql)" >&2
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql postgresql-client >/dev/null
  fi
  if ! pg_up; then
    echo "== starting PostgreSQL" >&2
    for v in $(ls /etc/postgresql 2>/dev/null); do
      as_root pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
    done
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  fi
  if ! pg_up; then
    echo "error: PostgreSQL is not answering on 127.0.0.1:5432" >&2
    exit 1
  fi
  # Trust authentication (this machine kind) or a password we set on a fresh install.
  if psql -h 127.0.0.1 -U postgres -d postgres -c 'select 1' >/dev/null 2>&1; then
    export KECHUANG_TEST_PG_URL="postgres://postgres@127.0.0.1:5432/postgres"
  else
    as_root su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'kechuang-test'\"" >/dev/null
    export KECHUANG_TEST_PG_URL="postgres://postgres:kechuang-test@127.0.0.1:5432/postgres"
  fi
  export KECHUANG_REQUIRE_PG=1
  echo "== PostgreSQL ready: ${KECHUANG_TEST_PG_URL}" >&2
}

ensure_postgres

# Incremental compilation state is for edit-compile loops; a whole-suite run does not reuse it
# and it doubles the target directory.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
echo "== disk free before the build: $(df -h . | awk 'NR==2 {print $4}')"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
# The unified-login test (crates/server/tests/oidc.rs) starts a real OpenID Connect provider
# from e2e/node_modules (oidc-provider): install the npm packages before cargo test; with
# KECHUANG_REQUIRE_OIDC=1 a missing node or package fails the test instead of skipping it.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "error: node and npm are needed for the unified-login and browser tests (Node.js 20 or later)" >&2
  exit 1
fi
echo "== npm packages of e2e/ (the OpenID Connect provider, the browser tests)"
(cd e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
export KECHUANG_REQUIRE_OIDC=1
echo "== cargo test (SQLite and PostgreSQL)"
cargo test --workspace --locked
echo "== browser tests (headless Chromium)"
# --all-targets resolves features as `cargo test` did, so the binary it already built is reused
# instead of compiling the dependency tree a second time with other features.
cargo build --locked --workspace --all-targets
echo "== disk free after the build: $(df -h . | awk 'NR==2 {print $4}')"
# Screenshots go to a scratch directory here; `E2E_SCREENSHOTS=docs/screenshots` refreshes the
# committed ones.
E2E_SCREENSHOTS="${E2E_SCREENSHOTS:-$(mktemp -d)}" bash scripts/e2e.sh
