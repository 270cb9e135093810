#!/bin/sh
# Install a headless browser for checking generated HTML reports (scripts/check_report_html.py,
# tests/test_report.py). Idempotent: skips what is already there. Needs root (or sudo) for apt-get.
#   Chromium -> /usr/bin/chromium (Debian package chromium), plus a basic font set.
set -e
if command -v chromium >/dev/null 2>&1 && dpkg -s chromium >/dev/null 2>&1; then
    echo "chromium already installed: $(chromium --version 2>/dev/null)"
else
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-dejavu-core
fi
