#!/usr/bin/env bash
# The Debian packages the test suite needs, installed when missing: one list for `make test` and `.ci/run`.
# As root it installs them with apt-get; otherwise it stops at once, naming the packages and the command.
set -euo pipefail

missing_packages() {
  need_packages=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_packages+=(postgresql)  # server binaries: the suite starts its own
  command -v chromium >/dev/null 2>&1 || need_packages+=(chromium)                   # headless page tests
  command -v pdftotext >/dev/null 2>&1 || need_packages+=(poppler-utils)             # reading PDFs back
  command -v zbarimg >/dev/null 2>&1 || need_packages+=(zbar-tools)                  # reading their QR codes back
  test -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc || need_packages+=(fonts-wqy-zenhei)  # CJK font in PDFs and pages
}

missing_packages
[ "${#need_packages[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "The test suite needs these Debian packages: ${need_packages[*]}" >&2
  echo "Install them, then run make test again:  sudo apt-get update && sudo apt-get install --no-install-recommends ${need_packages[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${need_packages[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need_packages[@]}"
# The Debian package starts a cluster of its own; the suite starts its own server, so stop any it started.
if command -v pg_lsclusters >/dev/null 2>&1; then
  pg_lsclusters -h 2>/dev/null | while read -r version name _; do
    pg_ctlcluster "$version" "$name" stop 2>/dev/null || true
  done
fi
# What the packages were installed for must now be there (a package renamed in a later Debian release would not be).
missing_packages
if [ "${#need_packages[@]}" -ne 0 ]; then
  echo "still missing after apt-get install: ${need_packages[*]}" >&2
  exit 1
fi
