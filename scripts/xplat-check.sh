#!/usr/bin/env bash
# Cross-platform check on a Linux machine: clippy for Windows (gnu, msvc) and macOS (x86_64,
# aarch64), then the Windows trust-store backend run for real against wine's crypt32.
# Needs ../shared/xplat beside the clone (see its README). Any failure fails the script.
#
# Usage: scripts/xplat-check.sh [extra cargo args for clippy, e.g. --exclude trust-proxy]
#   check-targets.sh always passes --workspace (which overrides -p), so narrow with --exclude.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
xplat=${XPLAT_SHARED:-$repo/../shared/xplat}
[[ -x $xplat/setup.sh ]] || { echo "xplat-check: $xplat/setup.sh not found" >&2; exit 1; }

echo "== setup"
"$xplat/setup.sh"

# setup.sh installs Debian's wine64, which has no `wine` on PATH (that comes with the `wine`
# package): give wine-run.sh one.
if ! command -v wine >/dev/null 2>&1 && [[ -x /usr/lib/wine/wine64 ]]; then
  shim=${XPLAT_DIR:-/tmp/xplat}/winebin
  mkdir -p "$shim"
  printf '#!/bin/sh\nexec /usr/lib/wine/wine64 "$@"\n' >"$shim/wine"
  printf '#!/bin/sh\nexec wine wineboot "$@"\n' >"$shim/wineboot"
  chmod +x "$shim/wine" "$shim/wineboot"
  export PATH=$shim:$PATH
fi

echo "== clippy, four targets"
"$xplat/check-targets.sh" "$@" --all-targets -- -D warnings

echo "== wine: Windows store backend"
target=x86_64-pc-windows-gnu
cargo build -p trust-proxy-platform --example winstore --target "$target"
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
exe=$target_dir/$target/debug/examples/winstore.exe
[[ -f $exe ]] || { echo "xplat-check: $exe was not built" >&2; exit 1; }

echo "== wine: platform unit tests (the non-Unix fs_safe and shared code)"
tests_exe=$(cargo test -p trust-proxy-platform --lib --target "$target" --no-run 2>&1 |
  sed -n 's/.*Executable .*(\(.*\.exe\)).*/\1/p' | tail -n 1)
[[ -n $tests_exe && -f $tests_exe ]] || { echo "xplat-check: unit test exe not built" >&2; exit 1; }
"$xplat/wine-run.sh" "$tests_exe"

echo "== wine: winstore cycle (CurrentUser\\Root)"
"$xplat/wine-run.sh" "$exe" cycle
# A fresh process: did the removal persist in wine's registry-backed store?
state=$("$xplat/wine-run.sh" "$exe" status | tail -n 1 | tr -d '\r')
echo "after cycle, a new process sees the test CA as: $state"
[[ $state == absent ]] || { echo "xplat-check: removal did not persist" >&2; exit 1; }
# And the reverse: an add must persist across processes too; then clean up.
"$xplat/wine-run.sh" "$exe" add
state=$("$xplat/wine-run.sh" "$exe" status | tail -n 1 | tr -d '\r')
echo "after add, a new process sees the test CA as: $state"
"$xplat/wine-run.sh" "$exe" remove
[[ $state == present ]] || { echo "xplat-check: add did not persist" >&2; exit 1; }
echo "xplat-check: ok"
