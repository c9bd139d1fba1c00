#!/usr/bin/env bash
# Make sure a headless Chromium is available for the browser tests (tests/test_docs.py, tests/test_widgets_voila.py).
# Prints the browser's path. When none is found it installs Debian's `chromium` package (apt-get, with sudo when not
# root and sudo is available). Exits non-zero when no browser can be found or installed.
#   scripts/ensure_browser.sh          find, else install, then print the path (.ci/run calls it when CI=true)
#   scripts/ensure_browser.sh --find   only find: print the path or exit 1 (the tests' one way to find the browser)
# Search order: $CHROMIUM (an executable path), then chromium, chromium-browser, google-chrome(-stable) on PATH.
set -euo pipefail

find_browser() {
  if [[ -n "${CHROMIUM:-}" && -x "${CHROMIUM}" ]]; then echo "${CHROMIUM}"; return 0; fi
  local b
  for b in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$b" >/dev/null 2>&1; then command -v "$b"; return 0; fi
  done
  return 1
}

if find_browser; then exit 0; fi
if [[ "${1:-}" == "--find" ]]; then exit 1; fi

if [[ "$(id -u)" -eq 0 ]]; then SUDO=()
elif command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n)
else echo "ensure_browser: no chromium found and not root (no sudo): cannot install it" >&2; exit 1; fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_browser: no chromium found and no apt-get to install it with" >&2; exit 1
fi
echo "ensure_browser: installing Debian chromium (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q >&2
"${SUDO[@]}" apt-get install -y -q --no-install-recommends chromium >&2 \
  || "${SUDO[@]}" apt-get install -y -q --no-install-recommends chromium-browser >&2
find_browser || { echo "ensure_browser: chromium was installed but is not on PATH" >&2; exit 1; }
