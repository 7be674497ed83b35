#!/usr/bin/env bash
# The report checked in headless Chromium (scripts/browser_check.py): run by .ci/run after the
# tests. Installs Debian's chromium when it is missing and this is a root shell with apt-get;
# otherwise says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/crm-eval-target}"
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing Debian's chromium for the browser check"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "the browser check needs Chromium: sudo apt-get install chromium (Debian/Ubuntu)" >&2
    exit 1
  fi
fi
cargo build --quiet --locked
python3 scripts/browser_check.py "$CARGO_TARGET_DIR/debug/crm-eval"
