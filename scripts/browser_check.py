#!/usr/bin/env python3
"""The report as a reader sees it, checked in headless Chromium (issue 33): every section reachable
from the contents bar, chart text legible (5th percentile of rendered SVG text at least 11 px), no
horizontal overflow of the page, and hover text (an SVG <title>) on every chart — at 1,400 and
1,920 px wide, for the sample-data report with every input and for a report of the CDNOW sample
alone (whose missing sections must be named, not broken).

    python3 scripts/browser_check.py BINARY      # scripts/browser-check.sh installs chromium first

Standard library only: Chromium runs the page with a measuring script added to a copy of it
(the report itself has no script) and prints the DOM (--dump-dom), from which the measures are
read back. Exits 1 naming every failed check.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PROBE = """
(function () {
  const out = {};
  const links = [...document.querySelectorAll('nav.contents a[href^="#"]')];
  out.links = links.map(a => a.getAttribute('href').slice(1));
  out.unreachable = out.links.filter(id => !document.getElementById(id));
  out.sections = [...document.querySelectorAll('section[id]')].map(s => s.id);
  const sizes = [];
  for (const svg of document.querySelectorAll('svg')) {
    const vb = svg.viewBox && svg.viewBox.baseVal;
    const width = svg.getBoundingClientRect().width;
    const scale = vb && vb.width ? width / vb.width : 1;
    for (const t of svg.querySelectorAll('text')) {
      sizes.push(parseFloat(getComputedStyle(t).fontSize) * scale);
    }
  }
  sizes.sort((a, b) => a - b);
  out.texts = sizes.length;
  out.p5 = sizes.length ? sizes[Math.floor(sizes.length * 0.05)] : null;
  out.overflow = document.documentElement.scrollWidth - document.documentElement.clientWidth;
  const svgs = [...document.querySelectorAll('svg')];
  out.charts = svgs.length;
  out.untitled = svgs.filter(s => !s.querySelector('title'))
                     .map(s => (s.closest('figure') || s).textContent.slice(0, 60));
  out.titles = document.querySelectorAll('svg title').length;
  out.missing_named = !!document.getElementById('not-in-this-report');
  const pre = document.createElement('pre');
  pre.id = 'browser-check';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
"""


def chromium():
    for name in ["chromium", "chromium-browser", "google-chrome"]:
        path = shutil.which(name)
        if path:
            return path
    sys.exit("no Chromium found: install Debian's chromium (apt-get install chromium) or run "
             "scripts/browser-check.sh, which installs it")


def measure(browser, html_path, width, work):
    with open(html_path, encoding="utf-8") as f:
        html = f.read()
    probe_path = os.path.join(work, f"probe-{width}.html")
    with open(probe_path, "w", encoding="utf-8") as f:
        f.write(html.replace("</body>", f"<script>{PROBE}</script></body>"))
    dom = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--window-size={width},1000", "--dump-dom", f"file://{probe_path}"],
        capture_output=True, text=True, timeout=120).stdout
    found = re.search(r'<pre id="browser-check">(.*?)</pre>', dom, re.S)
    if not found:
        sys.exit(f"{html_path}: Chromium printed no measures (is the page loading?)")
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    binary = sys.argv[1]
    browser = chromium()
    work = tempfile.mkdtemp(prefix="crm-eval-browser-")
    sample = lambda name: os.path.join(ROOT, "sample-data", name)
    reports = {
        "every input": [
            "--orders", sample("orders.csv"), "--customers", sample("customers.csv"),
            "--events", sample("events.csv"), "--followups", sample("followups.csv"),
            "--surveys", sample("surveys.csv"), "--opportunities", sample("opportunities.csv"),
            "--stage-history", sample("stage_history.csv"), "--teams", sample("teams.csv"),
            "--subscriptions", sample("subscriptions.csv"),
        ],
        "CDNOW alone": ["--orders", os.path.join(ROOT, "tests", "data", "cdnow_sample.csv")],
    }
    failures = []
    for label, args in reports.items():
        html = os.path.join(work, re.sub(r"\W+", "-", label) + ".html")
        subprocess.run([binary, "report", *args, "-q", "-o", html], check=True)
        for width in [1400, 1920]:
            m = measure(browser, html, width, work)
            where = f"{label} at {width} px"
            print(f"{where}: {len(m['links'])} contents links, {m['charts']} charts, "
                  f"{m['titles']} hover titles, chart text 5th percentile {m['p5']:.1f} px, "
                  f"overflow {m['overflow']} px")
            if m["unreachable"] or not m["links"]:
                failures.append(f"{where}: contents links without a section: {m['unreachable']}")
            if set(m["sections"]) - set(m["links"]):
                failures.append(f"{where}: sections not in the contents: "
                                f"{sorted(set(m['sections']) - set(m['links']))}")
            if m["p5"] is None or m["p5"] < 11:
                failures.append(f"{where}: chart text too small (5th percentile {m['p5']} px)")
            if m["overflow"] > 0:
                failures.append(f"{where}: the page overflows sideways by {m['overflow']} px")
            if m["untitled"] or m["charts"] == 0:
                failures.append(f"{where}: charts without hover text: {m['untitled']}")
            if label == "CDNOW alone" and not m["missing_named"]:
                failures.append(f"{where}: the sections left out are not named")
    shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("\n".join(["FAILED:"] + failures), file=sys.stderr)
        sys.exit(1)
    print("the report reads in a browser: every check passed")


if __name__ == "__main__":
    main()
