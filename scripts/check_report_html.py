#!/usr/bin/env python3
"""Open generated HTML reports in headless Chromium and check that every <img> loads.

    python scripts/check_report_html.py reports/edge_design_space/index.html [more.html ...]

For each page: (1) every <img src> and every local <a href> must name an existing file (static
check); (2) the page is loaded in a real headless Chromium (Debian package ``chromium``; install it
with scripts/setup_browser.sh) from a copy with a small script that, on ``load``, records for each
image ``complete && naturalWidth > 0`` into the DOM, which ``--dump-dom`` prints. Exit status: 0 all
images load, 1 some image is missing or broken (listed), 3 no browser found.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--run-all-compositor-stages-before-draw", "--virtual-time-budget=20000"]
MARK = "__asicsim_imgcheck__"
PROBE = f"""<script>
window.addEventListener('load', function () {{
  var out = [];
  for (var i = 0; i < document.images.length; i++) {{
    var im = document.images[i];
    out.push({{src: im.getAttribute('src'), ok: im.complete && im.naturalWidth > 0,
              w: im.naturalWidth, h: im.naturalHeight}});
  }}
  var pre = document.createElement('pre');
  pre.id = '{MARK}';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}});
</script>"""


def find_browser() -> str | None:
    env = os.environ.get("CHROMIUM")
    if env and shutil.which(env):
        return shutil.which(env)
    for b in BROWSERS:
        p = shutil.which(b)
        if p:
            return p
    return None


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a.get("src") or "")
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])


def _local(ref: str) -> bool:
    u = urlparse(ref)
    return not u.scheme and not u.netloc and not ref.startswith("#")


def static_check(page: Path) -> tuple[list[str], list[str]]:
    """(problems, image srcs): every <img> and local link must point at an existing file."""
    parser = _Refs()
    parser.feed(page.read_text(encoding="utf-8"))
    problems = []
    for src in parser.imgs:
        if not src:
            problems.append("<img> without src")
        elif _local(src) and not (page.parent / unquote(urlparse(src).path)).is_file():
            problems.append(f"<img src={src!r}>: file not found")
    for href in parser.links:
        if _local(href) and not (page.parent / unquote(urlparse(href).path)).exists():
            problems.append(f"<a href={href!r}>: file not found")
    return problems, parser.imgs


def browser_check(page: Path, browser: str, timeout: float = 120.0) -> list[dict]:
    """Load the page in headless Chromium; return [{src, ok, w, h}] for every image."""
    text = page.read_text(encoding="utf-8")
    probe_page = page.parent / f".{page.stem}.imgcheck.html"
    probed = re.sub(r"</body>", PROBE + "\n</body>", text, count=1, flags=re.I)
    if probed == text:
        probed = text + PROBE
    probe_page.write_text(probed, encoding="utf-8")
    profile = tempfile.mkdtemp(prefix="asicsim-chromium-")
    try:
        cmd = [browser, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", probe_page.resolve().as_uri()]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        m = re.search(rf'<pre id="{MARK}">(.*?)</pre>', res.stdout, flags=re.S)
        if not m:
            tail = (res.stderr or "").strip().splitlines()[-5:]
            raise RuntimeError(f"{page}: the browser did not report (exit {res.returncode}): " + " | ".join(tail))
        return json.loads(html.unescape(m.group(1)))
    finally:
        probe_page.unlink(missing_ok=True)
        shutil.rmtree(profile, ignore_errors=True)


def check(page: Path, browser: str | None) -> list[str]:
    problems, srcs = static_check(page)
    if not srcs:
        problems.append("the page has no images")
    if browser:
        for r in browser_check(page, browser):
            if not r.get("ok"):
                problems.append(f"<img src={r.get('src')!r}> did not load in the browser")
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pages", nargs="+", type=Path, help="HTML files (or report folders holding index.html)")
    ap.add_argument("--static-only", action="store_true", help="only check that referenced files exist")
    args = ap.parse_args(argv)
    browser = None
    if not args.static_only:
        browser = find_browser()
        if not browser:
            print("no Chromium found (tried $CHROMIUM, " + ", ".join(BROWSERS) + "); run scripts/setup_browser.sh",
                  file=sys.stderr)
            return 3
    bad = 0
    for page in args.pages:
        if page.is_dir():
            page = page / "index.html"
        if not page.is_file():
            print(f"{page}: not found", file=sys.stderr)
            bad += 1
            continue
        problems = check(page, browser)
        n = len(static_check(page)[1])
        if problems:
            bad += 1
            print(f"FAIL {page}: " + "; ".join(problems))
        else:
            print(f"ok   {page}: {n} images load" + ("" if browser else " (static check only)"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
