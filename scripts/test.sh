#!/usr/bin/env bash
# The whole test suite, as the README's test command and `.ci/run` call it.
# Installs what the tests need where it is missing, then runs: format check, clippy with
# warnings as errors, and every test of every crate (unit, property, scenario, diagnostics
# snapshot and CLI tests).
#
# Today the suite needs only the Rust toolchain. The ledger (PostgreSQL) and web platform
# (headless Chromium) issues will add their installers here; nothing is skipped silently.
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

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
