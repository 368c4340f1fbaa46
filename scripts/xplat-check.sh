#!/usr/bin/env bash
# Cross-platform check on a Linux machine: clippy for Windows (gnu, msvc) and macOS (x86_64,
# aarch64), then the Windows trust-store backend run for real against wine's crypt32.
# Needs ../shared/xplat beside the clone (see its README). Any failure fails the script.
#
# Usage: scripts/xplat-check.sh [extra cargo args for clippy, e.g. --exclude trust-proxy]
#   clippy always gets --workspace (which overrides -p), so narrow with --exclude.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
xplat=${XPLAT_SHARED:-$repo/../shared/xplat}
[[ -x $xplat/setup.sh ]] || { echo "xplat-check: $xplat/setup.sh not found" >&2; exit 1; }

# One prefix for wine-run.sh and the direct `wine reg` calls below.
export WINEPREFIX=${WINEPREFIX:-${XPLAT_DIR:-/tmp/xplat}/wineprefix}

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
# ../shared/xplat/check-targets.sh's recipe (its header shims, flags and tools), with one change:
# the C compiler of the macOS and msvc *check* builds is scripts/xplat-cc/*, which compiles
# QuickJS (rquickjs-sys, the PAC engine) from an empty file for the target. QuickJS needs a C
# library the check shims do not have, and a check build links nothing; ring and everything else
# go to clang unchanged.
out=${XPLAT_DIR:-/tmp/xplat}
clippy_args=("$@" --all-targets -- -D warnings)
echo "== x86_64-pc-windows-gnu"
cargo clippy --workspace --target x86_64-pc-windows-gnu "${clippy_args[@]}"
for t in x86_64-apple-darwin aarch64-apple-darwin; do
  tt=${t//-/_}
  echo "== $t"
  env "CC_$tt=$repo/scripts/xplat-cc/cc-check-darwin" "AR_$tt=llvm-ar" \
    "CFLAGS_$tt=-ffreestanding -nostdlibinc -DNDEBUG -DRING_CORE_NOSTDLIBINC=1 -isystem $xplat/shims/darwin" \
    cargo clippy --workspace --target "$t" "${clippy_args[@]}"
done
t=x86_64-pc-windows-msvc; tt=${t//-/_}
echo "== $t"
[[ -x $out/bin/clang-cl ]] || { echo "xplat-check: $out/bin/clang-cl missing (setup.sh)" >&2; exit 1; }
env "CC_$tt=$repo/scripts/xplat-cc/msvc/clang-cl" "AR_$tt=llvm-lib" \
  "CFLAGS_$tt=/clang:-ffreestanding /X /imsvc$xplat/shims/msvc -DRING_CORE_NOSTDLIBINC=1 -DNDEBUG -Wno-declaration-after-statement" \
  cargo clippy --workspace --target "$t" "${clippy_args[@]}"

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
# Wine runs as an administrator without enforcing ACLs, so LocalMachine can be written here.
echo "== wine: scopes (physical stores per scope, system roots without CurrentUser's, Disallowed, EKU property)"
"$xplat/wine-run.sh" "$exe" scopes
echo "== wine: persistent environment (HKCU\\Environment) and secure_system_dir"
cargo build -p trust-proxy-platform --example winenv --target "$target"
envexe=$target_dir/$target/debug/examples/winenv.exe
[[ -f $envexe ]] || { echo "xplat-check: $envexe was not built" >&2; exit 1; }
"$xplat/wine-run.sh" "$envexe" set
# Fresh processes: the values must persist in the registry, then be gone after unset.
state=$("$xplat/wine-run.sh" "$envexe" status | tail -n 1 | tr -d '\r')
echo "after set, a new process sees the test variables as: $state"
[[ $state == present ]] || { echo "xplat-check: persistent env set did not persist" >&2; exit 1; }
"$xplat/wine-run.sh" "$envexe" unset
state=$("$xplat/wine-run.sh" "$envexe" status | tail -n 1 | tr -d '\r')
echo "after unset, a new process sees the test variables as: $state"
[[ $state == absent ]] || { echo "xplat-check: persistent env unset did not persist" >&2; exit 1; }
# A REG_EXPAND_SZ value replaced and then restored keeps its type, in both hives.
"$xplat/wine-run.sh" "$envexe" types
"$xplat/wine-run.sh" "$envexe" types --system
# Wine 8 keeps no ACLs (it derives them from Unix modes, owner = the Wine user), so
# secure_system_dir must refuse there (exit 1, reason printed); exit 2 would be a failure.
rc=0; "$xplat/wine-run.sh" "$envexe" dir || rc=$?
[[ $rc -le 1 ]] || { echo "xplat-check: winenv dir failed (exit $rc)" >&2; exit 1; }
echo "== wine: the cmd env snippet, called by wine's cmd.exe (tests/env_shells.rs)"
TRUST_PROXY_REQUIRE_TOOLS=1 cargo test -p trust-proxy --test env_shells cmd_sets_snippet_exactly_under_wine -- --nocapture
echo "== wine: trust-proxy.exe install / status / env / uninstall, user scope (CurrentUser\\Root, HKCU\\Environment)"
cargo build --bin trust-proxy --target "$target"
tpexe=$target_dir/$target/debug/trust-proxy.exe
echo "== wine: OS proxy settings (WinINet, WinHTTP) from the registry, through trust-proxy.exe proxy --json"
XPLAT_SHARED=$xplat "$repo/scripts/wine-proxy-settings.sh" "$tpexe"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/k.pem" \
  -out "$work/root.pem" -subj "/CN=trust-proxy wine e2e root" -days 30 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fp=$(openssl x509 -in "$work/root.pem" -noout -fingerprint -sha256 | cut -d= -f2)
winpath="Z:${work//\//\\}\\root.pem"
# The probe goes to a refused loopback port only: verification is then "not applicable".
tp() { "$xplat/wine-run.sh" "$tpexe" "$@" 2>&1 | tr -d '\r'; }
# A user's own expandable REQUESTS_CA_BUNDLE must come back as REG_EXPAND_SZ after uninstall.
# Their SSL_CERT_FILE is never touched: with the CA in CurrentUser\Root, Windows tools verify
# with the OS store and trust-proxy sets no SSL_CERT_FILE there (README, "Which variables").
wine reg add 'HKCU\Environment' /v REQUESTS_CA_BUNDLE /t REG_EXPAND_SZ /d '%USERPROFILE%\corp.pem' /f >/dev/null 2>&1
wine reg add 'HKCU\Environment' /v SSL_CERT_FILE /t REG_SZ /d 'C:\mine.pem' /f >/dev/null 2>&1
out=$(tp install --scope user --ca-file "$winpath" --fingerprint "$fp" --target 127.0.0.1:9 --timeout 2)
echo "$out" | sed 's/^/  /'
grep -q "trust-proxy install: done" <<<"$out" || { echo "xplat-check: install under wine failed" >&2; exit 1; }
grep -q "set session environment" <<<"$out" || { echo "xplat-check: no session env step" >&2; exit 1; }
out=$(tp install --scope user --ca-file "$winpath" --fingerprint "$fp" --target 127.0.0.1:9 --timeout 2)
grep -q "nothing changed" <<<"$out" || { echo "xplat-check: second install changed something: $out" >&2; exit 1; }
out=$(tp status --scope user)
grep -q "everything as written" <<<"$out" || { echo "xplat-check: status after install: $out" >&2; exit 1; }
grep -q "ok .*OS store" <<<"$out" || { echo "xplat-check: CA not in CurrentUser\\Root: $out" >&2; exit 1; }
tp env --shell pwsh | grep -q "^\$env:REQUESTS_CA_BUNDLE = '" || { echo "xplat-check: env --shell pwsh" >&2; exit 1; }
if tp env --shell pwsh | grep -q "^\$env:SSL_CERT_FILE "; then echo "xplat-check: SSL_CERT_FILE set although the CA is in the OS store" >&2; exit 1; fi
mine=$(wine reg query 'HKCU\Environment' /v SSL_CERT_FILE 2>/dev/null | tr -d '\r' | grep SSL_CERT_FILE || true)
grep -q 'C:\\mine.pem$' <<<"$mine" || { echo "xplat-check: the user's SSL_CERT_FILE was changed: $mine" >&2; exit 1; }
out=$(tp uninstall --scope user)
grep -q "remove from OS store *remove" <<<"$out" || { echo "xplat-check: uninstall did not remove the CA: $out" >&2; exit 1; }
out=$(tp status --scope user)
grep -q "nothing installed" <<<"$out" || { echo "xplat-check: status after uninstall: $out" >&2; exit 1; }
restored=$(wine reg query 'HKCU\Environment' /v REQUESTS_CA_BUNDLE 2>/dev/null | tr -d '\r' | grep REQUESTS_CA_BUNDLE || true)
echo "  REQUESTS_CA_BUNDLE after uninstall: $restored"
grep -q 'REG_EXPAND_SZ *%USERPROFILE%\\corp.pem$' <<<"$restored" || { echo "xplat-check: REQUESTS_CA_BUNDLE not restored as REG_EXPAND_SZ" >&2; exit 1; }
wine reg delete 'HKCU\Environment' /v REQUESTS_CA_BUNDLE /f >/dev/null 2>&1
wine reg delete 'HKCU\Environment' /v SSL_CERT_FILE /f >/dev/null 2>&1
echo "  install, idempotent re-install, status, env, uninstall: ok under wine"
echo "xplat-check: ok"
