#!/usr/bin/env bash
# The end-to-end tests drive Debian's Chromium. Install it when missing and we may (root with
# apt-get, as on CI); otherwise say what to run. Nothing is downloaded outside the package manager.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian chromium for the end-to-end tests..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "Chromium is missing: the Agents Playground end-to-end tests need it. Install it with: sudo apt-get install chromium" >&2
exit 0
