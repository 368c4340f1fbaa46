#!/usr/bin/env bash
# Checks `trust-proxy export --format reg` against a real registry-backed certificate store:
# wine's crypt32 reads HKLM\SOFTWARE\Microsoft\SystemCertificates\ROOT\Certificates as Windows
# does. In a throwaway wine prefix: the exported .reg is imported with `wine regedit /S`, and the
# platform crate's winstore example (crypt32: CertOpenStore, CertFindCertificateInStore) must then
# see its test CA in LocalMachine\Root; a copy whose subkey names another thumbprint must not be
# taken (crypt32 keeps an entry only when the certificate's SHA-1 equals the key name).
# Needs wine (scripts/xplat-check.sh sets it up) and the windows-gnu winstore.exe it builds.
# Usage: packaging/test-reg-wine.sh [TRUST_PROXY_BIN] (default target/debug/trust-proxy).
# Prints one line per check and "N passed, M failed" last.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$repo/target/debug/trust-proxy}
xplat=${XPLAT_SHARED:-$repo/../shared/xplat}
target_dir=$(cargo metadata --format-version 1 --no-deps --manifest-path "$repo/Cargo.toml" |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
winstore=$target_dir/x86_64-pc-windows-gnu/debug/examples/winstore.exe
ca=$repo/platform/testdata/test-ca-a.pem
for need in "$bin" "$winstore" "$xplat/wine-run.sh"; do
  [[ -e $need ]] || { echo "test-reg-wine: $need missing" >&2; exit 1; }
done
if ! command -v wine >/dev/null 2>&1 && [[ -x /usr/lib/wine/wine64 ]]; then
  shim=$(mktemp -d)
  printf '#!/bin/sh\nexec /usr/lib/wine/wine64 "$@"\n' >"$shim/wine"
  printf '#!/bin/sh\nexec wine wineboot "$@"\n' >"$shim/wineboot"
  chmod +x "$shim/wine" "$shim/wineboot"
  export PATH=$shim:$PATH
fi

scratch=$(mktemp -d /tmp/trust-proxy-test-reg.XXXXXX)
trap 'rm -rf "$scratch" ${shim:+"$shim"}' EXIT
# A prefix of its own: nothing another run's LocalMachine\Root holds can answer for this one.
export WINEPREFIX=$scratch/wineprefix WINEDEBUG=-all

# shellcheck source=packaging/checks.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/checks.sh"
store_says() { "$xplat/wine-run.sh" "$winstore" status --system 2>/dev/null | tail -n 1 | tr -d '\r'; }
winpath() { printf 'Z:%s' "${1//\//\\}"; }

fp=$(openssl x509 -in "$ca" -noout -fingerprint -sha256 | cut -d= -f2)
thumb=$(openssl x509 -in "$ca" -noout -fingerprint -sha1 | cut -d= -f2 | tr -d :)
check "export --format reg (pinned)" \
  "$bin" export --ca-file "$ca" --fingerprint "$fp" --format reg --output "$scratch/root.reg"
check "a fresh prefix's LocalMachine\\Root lacks the test CA" test "$(store_says)" = absent

# The negative control first: the same blob under another thumbprint's key.
iconv -f UTF-16LE -t UTF-8 "$scratch/root.reg" | sed "s/\\\\$thumb]/\\\\$(printf '%040d' 0)]/" |
  iconv -f UTF-8 -t UTF-16LE >"$scratch/wrong-key.reg"
check "the control .reg names another key" bash -c '! iconv -f UTF-16LE -t UTF-8 "$1" | grep -q "$2"' _ "$scratch/wrong-key.reg" "$thumb"
check "wine regedit /S imports the control" wine regedit /S "$(winpath "$scratch/wrong-key.reg")"
check "crypt32 ignores a blob under another thumbprint" test "$(store_says)" = absent

check "wine regedit /S imports the export" wine regedit /S "$(winpath "$scratch/root.reg")"
check "crypt32 sees the test CA in LocalMachine\\Root (a new process)" test "$(store_says)" = present
check "winstore removes it again" "$xplat/wine-run.sh" "$winstore" remove --system
check "gone after remove" test "$(store_says)" = absent

echo "$passed passed, $failed failed"
((failed == 0))
