#!/usr/bin/env bash
# Installs what the browser tests drive: Debian's `chromium` at /usr/bin/chromium
# (Playwright drives it through executable_path; `playwright install` would need the
# network). Idempotent and quiet: nothing happens when it is already there. Without
# root (or passwordless sudo) or apt-get it says so and the browser tests skip, or fail
# under ADKSTREAM_REQUIRE_SERVICES=1.
set -u

CHROMIUM=/usr/bin/chromium
[ -x "$CHROMIUM" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "browser: no apt-get; install Chromium at $CHROMIUM to run the browser tests"
  exit 0
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "browser: not root; run 'apt-get install chromium' as root for the browser tests"
    exit 0
  fi
fi

echo "browser: installing Debian's chromium"
log=$(mktemp)
if "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 &&
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >>"$log" 2>&1; then
  rm -f "$log"
else
  echo "browser: installing chromium failed:"
  tail -n 20 "$log"
  rm -f "$log"
fi
exit 0
