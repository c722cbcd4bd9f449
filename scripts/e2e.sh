#!/usr/bin/env bash
# The end-to-end browser tests (e2e/run.mjs): the acceptance scenario 政策计算器 → 申报 → 审核 →
# 公示 → 拨付 driven in Debian's chromium through playwright-core, plus the screenshots of
# docs/screenshots/.
#
# Installs what the browser tests need where it is missing: Debian's chromium, a CJK font (so
# the Chinese pages and screenshots render), and the npm packages of e2e/ (npm ci). Never
# downloads a Playwright browser. Assumes the kechuang debug binary is built (scripts/test.sh
# builds it before calling this); set KECHUANG_BIN to test another binary (relative to e2e/),
# CHROMIUM another browser.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

if [ -z "${CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium (Debian package)" >&2
  apt_install chromium
fi

has_cjk_font() {
  if command -v fc-list >/dev/null 2>&1; then
    [ -n "$(fc-list :lang=zh family 2>/dev/null)" ]
  else
    ls /usr/share/fonts/opentype/noto/NotoSansCJK-* >/dev/null 2>&1
  fi
}
if ! has_cjk_font; then
  echo "== installing a CJK font (Debian package fonts-noto-cjk)" >&2
  apt_install fonts-noto-cjk
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "error: node and npm are needed for the browser tests (Node.js 20 or later)" >&2
  exit 1
fi

if [ -z "${KECHUANG_BIN:-}" ] && [ ! -x target/debug/kechuang ]; then
  echo "error: target/debug/kechuang is not built: run cargo build --bin kechuang (scripts/test.sh does) or set KECHUANG_BIN" >&2
  exit 1
fi

echo "== npm packages of e2e/" >&2
(
  cd e2e
  export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  else
    npm install --no-audit --no-fund --loglevel=error
  fi
)

echo "== browser tests (node e2e/run.mjs)"
node e2e/run.mjs
