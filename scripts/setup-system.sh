#!/usr/bin/env bash
# System packages the test suite needs beyond npm: the ONNX backend node tests (Debian's libonnx-testdata,
# onnx 1.12) that test/conformance.test.ts and scripts/conformance.ts run, and redis-server, which
# test/fleet.test.ts starts, and chromium for test/serve-web.test.ts. Idempotent: does nothing when all are already there. Quiet unless something goes wrong; exits non-zero with a message if it cannot install.
set -euo pipefail

DATA=/usr/share/libonnx-testdata/data/node
PACKAGE=libonnx-testdata

# Packages still missing; redis-server counts as present when any redis-server is on PATH.
MISSING=()
[ -d "$DATA" ] || MISSING+=("$PACKAGE")
command -v redis-server >/dev/null 2>&1 || MISSING+=(redis-server)
# Headless Chromium for test/serve-web.test.ts (driven by playwright-core, which downloads no browser).
[ -x /usr/bin/chromium ] || MISSING+=(chromium)
if [ ${#MISSING[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  echo "setup-system: ${MISSING[*]} missing and this user cannot install packages (not root, no passwordless sudo)." >&2
  echo "setup-system: install by hand: sudo apt-get install ${MISSING[*]}" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-system: ${MISSING[*]} missing and there is no apt-get here; install the Debian packages ${MISSING[*]} ($PACKAGE: onnx 1.12 node tests)." >&2
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
# The package lists may be absent or stale on a fresh machine: update first, then install.
if ! { "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${MISSING[@]}"; } >"$log" 2>&1; then
  echo "setup-system: installing ${MISSING[*]} with apt-get failed:" >&2
  tail -n 20 "$log" >&2
  exit 1
fi

if [ ! -d "$DATA" ]; then
  echo "setup-system: $PACKAGE installed but $DATA is still missing." >&2
  exit 1
fi

if ! command -v redis-server >/dev/null 2>&1; then
  echo "setup-system: redis-server installed but not on PATH." >&2
  exit 1
fi

if [ ! -x /usr/bin/chromium ]; then
  echo "setup-system: chromium installed but /usr/bin/chromium is missing." >&2
  exit 1
fi
