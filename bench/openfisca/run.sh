#!/usr/bin/env bash
# kechuang against OpenFisca on the same six formulas and the same population (issue 13).
#
#   bench/openfisca/run.sh [SIZE] [SEED]        (default: 1000000 applicants, seed 7)
#
# Builds kechuang's side (crates/simulate/examples/openfisca_side.rs) in release mode, makes a
# virtualenv with openfisca-core from PyPI (bench/openfisca/.venv), generates one population
# (CSV), runs both on it and prints the table: throughput of the calculation alone (one
# thread) and end to end from the file, peak memory, each side's grand total and how many
# per-applicant amounts differ at the fen (OpenFisca computes money in float32).
# KC_BENCH_DIR keeps the files (default: a fresh temporary directory).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
size="${1:-1000000}"
seed="${2:-7}"
work="${KC_BENCH_DIR:-$(mktemp -d)}"
mkdir -p "$work"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  if ! python3 -m venv "$venv" 2>/dev/null; then
    echo "== installing python3-venv (Debian)" >&2
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq python3-venv >/dev/null
    rm -rf "$venv"
    python3 -m venv "$venv"
  fi
fi
echo "== OpenFisca (PyPI) into $venv" >&2
"$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"

echo "== kechuang's side (release build)" >&2
(cd "$root" && cargo build -q --release --locked -p kc-simulate --example openfisca_side)
bin="${CARGO_TARGET_DIR:-$root/target}/release/examples/openfisca_side"

echo "== population: $size applicants, seed $seed, in $work" >&2
"$bin" generate "$size" "$seed" "$work/pop.csv" "$work/regions.json"
echo "== kechuang" >&2
"$bin" run "$work/pop.csv" "$work/kc.csv" > "$work/kc.json"
echo "== OpenFisca" >&2
"$venv/bin/python" "$here/six.py" "$work/pop.csv" "$work/regions.json" "$work/of.csv" > "$work/of.json"
echo
"$venv/bin/python" "$here/compare.py" "$work"
