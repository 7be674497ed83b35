#!/usr/bin/env bash
# Renders the HTML report of sample-data/ in headless Chromium and saves the top of the page as
# docs/report.png (the screenshot in docs/cmd/report.md). Also writes the full page to
# target/report-screenshot/ for checking by eye.
#   scripts/report-screenshot.sh            # needs Debian's chromium; installs it when missing
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/crm-eval-target}"
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk
fi
cargo build --quiet
out=target/report-screenshot
mkdir -p "$out" docs
"$CARGO_TARGET_DIR/debug/crm-eval" report \
  --orders sample-data/orders.csv --customers sample-data/customers.csv \
  --events sample-data/events.csv --followups sample-data/followups.csv \
  --surveys sample-data/surveys.csv -o "$out/report.html" --charts "$out/charts"
shot() { # shot WIDTH HEIGHT FILE
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size="$1,$2" --screenshot="$3" "file://$PWD/$out/report.html" 2>/dev/null
}
shot 1280 1900 docs/report.png
shot 1280 9600 "$out/full-page.png"
echo "docs/report.png and $out/full-page.png written"
