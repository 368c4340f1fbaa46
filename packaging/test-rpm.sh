#!/usr/bin/env bash
# Checks the .rpm that packaging/build-rpm.sh made, as root, with Debian's `rpm` (apt package
# rpm), without changing this machine:
#   1. rpm -qpi / -qpl / -qpR / --scripts: metadata, every file where Fedora/RHEL expect it,
#      requires ca-certificates, no scriptlets;
#   2. rpm -i --nodeps --root SCRATCH (the scratch root has its own rpm database; --nodeps
#      because it holds no glibc or ca-certificates), rpm -q in that root, then the installed
#      binary run from there.
# Usage: packaging/test-rpm.sh [PATH.rpm] (default: the one .rpm in target/packages/).
# Prints one line per check and "N passed, M failed" last; exits 1 when any check failed.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

if [[ $(id -u) -ne 0 ]]; then
  echo "test-rpm: run as root (rpm --root writes a root-owned tree)" >&2
  exit 1
fi
rpm_file=${1:-}
if [[ -z $rpm_file ]]; then
  shopt -s nullglob
  rpms=("$repo"/target/packages/*.rpm)
  if ((${#rpms[@]} != 1)); then
    echo "test-rpm: expected one .rpm in target/packages, found ${#rpms[@]}" >&2
    exit 1
  fi
  rpm_file=${rpms[0]}
fi
rpm_file=$(realpath "$rpm_file")

# shellcheck source=packaging/checks.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/checks.sh"

scratch=$(mktemp -d /tmp/trust-proxy-test-rpm.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

# ---- 1. metadata and contents ----
echo "rpm -qpi:"
rpm -qpi "$rpm_file" 2>&1 | sed 's/^/     | /'
version=$(rpm -qp --qf '%{VERSION}' "$rpm_file")
check "name is trust-proxy" test "$(rpm -qp --qf '%{NAME}' "$rpm_file")" = trust-proxy
rpm -qpl "$rpm_file" >"$scratch/contents"
for f in /usr/bin/trust-proxy \
  /usr/share/man/man1/trust-proxy.1 \
  /usr/share/man/man1/trust-proxy-install.1 \
  /usr/share/bash-completion/completions/trust-proxy \
  /usr/share/zsh/site-functions/_trust-proxy \
  /usr/share/fish/vendor_completions.d/trust-proxy.fish \
  /usr/share/trust-proxy/completions/trust-proxy.ps1 \
  /usr/share/doc/trust-proxy/README.md; do
  check "rpm -qpl lists $f" grep -qxF "$f" "$scratch/contents"
done
check "binary mode 0755" \
  grep -qE '^-rwxr-xr-x .* /usr/bin/trust-proxy$' <(rpm -qplv "$rpm_file")
check "requires ca-certificates" grep -qE '^ca-certificates( |$)' <(rpm -qpR "$rpm_file")
check "no scriptlets" test -z "$(rpm -qp --scripts "$rpm_file")"

# ---- 2. installed into a scratch root ----
root="$scratch/root"
mkdir -p "$root"
check "rpm -i --nodeps --root" rpm -i --nodeps --root "$root" "$rpm_file"
check "rpm -q in the scratch root" grep -qx "trust-proxy-$version-.*" <(rpm -q --root "$root" trust-proxy)
check "installed binary prints its version" \
  grep -qxF "trust-proxy $version" <("$root/usr/bin/trust-proxy" --version)
check "installed man page renders" \
  bash -c 'MANWIDTH=100 man -l "$1" | grep -q "Exit codes"' _ "$root/usr/share/man/man1/trust-proxy.1"
check "rpm -e --root removes every file" \
  bash -c 'rpm -e --nodeps --root "$1" trust-proxy && test ! -e "$1/usr/bin/trust-proxy"' _ "$root"

echo "$passed passed, $failed failed"
((failed == 0))
