#!/usr/bin/env bash
# Checks the .deb that packaging/build-deb.sh made, as root, without changing this machine:
#   1. dpkg-deb -I / -c / --ctrl-tarfile: metadata, depends on ca-certificates, no maintainer
#      scripts, every file where Debian expects it (binary, man pages, completions, docs);
#   2. dpkg-deb -x into a scratch dir: the binary runs, `man -l` renders each page, the shells
#      parse their completion files;
#   3. the real dpkg inside `unshare --mount`, with /usr, /var and /etc as overlays on tmpfs (the
#      package database, the installed files and dpkg's log vanish with the namespace):
#      dpkg -i, trust-proxy --version from PATH, man, dpkg -r, dpkg -P; afterwards this
#      machine's dpkg status and /usr/bin are checked unchanged;
#   4. lintian, every finding printed; an error fails the test.
# Usage: packaging/test-deb.sh [PATH.deb] (default: the one .deb in target/packages/).
# Prints one line per check and "N passed, M failed" last; exits 1 when any check failed.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

if [[ $(id -u) -ne 0 ]]; then
  echo "test-deb: run as root (dpkg -i inside a private mount namespace)" >&2
  exit 1
fi
deb=${1:-}
if [[ -z $deb ]]; then
  shopt -s nullglob
  debs=("$repo"/target/packages/*.deb)
  if ((${#debs[@]} != 1)); then
    echo "test-deb: expected one .deb in target/packages, found ${#debs[@]}" >&2
    exit 1
  fi
  deb=${debs[0]}
fi
deb=$(realpath "$deb")
# The Debian revision (-1) is the package's, not the program's.
version=$(dpkg-deb -f "$deb" Version)
version=${version%-*}

# shellcheck source=packaging/checks.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/checks.sh"

scratch=$(mktemp -d /tmp/trust-proxy-test-deb.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

# ---- 1. metadata and contents ----
expected_files=(
  ./usr/bin/trust-proxy
  ./usr/share/man/man1/trust-proxy.1.gz
  ./usr/share/man/man1/trust-proxy-discover.1.gz
  ./usr/share/man/man1/trust-proxy-install.1.gz
  ./usr/share/man/man1/trust-proxy-uninstall.1.gz
  ./usr/share/bash-completion/completions/trust-proxy
  ./usr/share/zsh/vendor-completions/_trust-proxy
  ./usr/share/fish/vendor_completions.d/trust-proxy.fish
  ./usr/share/trust-proxy/completions/trust-proxy.ps1
  ./usr/share/doc/trust-proxy/README.md
  ./usr/share/doc/trust-proxy/copyright
  ./usr/share/doc/trust-proxy/changelog.Debian.gz
)
dpkg-deb -c "$deb" | awk '{print $NF}' >"$scratch/contents"
for f in "${expected_files[@]}"; do
  check "contains $f" grep -qxF "$f" "$scratch/contents"
done
check "binary is 0755 root:root" \
  grep -qE '^-rwxr-xr-x (root/root|0/0) .* \./usr/bin/trust-proxy$' <(dpkg-deb -c "$deb")
check "package name and architecture" \
  test "$(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Architecture)" = "trust-proxy $(dpkg --print-architecture)"
check "depends on ca-certificates" grep -qE '(^|, )ca-certificates($|,| )' <(dpkg-deb -f "$deb" Depends)
# A package that changed a trust store on install would bypass the pin: no maintainer scripts.
check "no maintainer scripts" \
  bash -c '! dpkg-deb --ctrl-tarfile "$1" | tar -t | grep -qE "(pre|post)(inst|rm)|config|triggers"' _ "$deb"

# ---- 2. the files themselves, from dpkg-deb -x ----
dpkg-deb -x "$deb" "$scratch/root"
check "extracted binary prints its version" \
  grep -qxF "trust-proxy $version" <("$scratch/root/usr/bin/trust-proxy" --version)
check "man -l renders trust-proxy(1) with the exit codes" \
  bash -c 'MANWIDTH=100 man -l "$1" | grep -q "Exit codes"' _ "$scratch/root/usr/share/man/man1/trust-proxy.1.gz"
for page in "$scratch"/root/usr/share/man/man1/*.1.gz; do
  check "man -l renders $(basename "$page")" bash -c 'MANWIDTH=100 man -l "$1" 2>&1 >/dev/null | (! grep .)' _ "$page"
done
check "bash loads its completion" \
  bash -c 'source "$1" && complete -p trust-proxy' _ "$scratch/root/usr/share/bash-completion/completions/trust-proxy"
check "zsh parses its completion" zsh -n "$scratch/root/usr/share/zsh/vendor-completions/_trust-proxy"
check "fish parses its completion" fish --no-execute "$scratch/root/usr/share/fish/vendor_completions.d/trust-proxy.fish"

# ---- 3. the real dpkg, in a private mount namespace ----
host_status_before=$(sha256sum /var/lib/dpkg/status)
cat >"$scratch/in-namespace.sh" <<'INNER'
set -euo pipefail
deb=$1
scratch=$2
mount -t tmpfs tmpfs "$scratch/ovl"
for dir in usr var etc; do
  mkdir -p "$scratch/ovl/$dir/upper" "$scratch/ovl/$dir/work"
  mount -t overlay overlay \
    -o "lowerdir=/$dir,upperdir=$scratch/ovl/$dir/upper,workdir=$scratch/ovl/$dir/work" "/$dir"
done
step() { echo "step: $*"; }
step "dpkg -i"; dpkg -i "$deb"
step "dpkg -s says installed"; dpkg-query -W -f='${Status}\n' trust-proxy | grep -qx "install ok installed"
step "trust-proxy --version from PATH"; test "$(command -v trust-proxy)" = /usr/bin/trust-proxy
trust-proxy --version
step "man finds the page"; test "$(man -w trust-proxy)" = /usr/share/man/man1/trust-proxy.1.gz
step "man -l renders it"; MANWIDTH=100 man -l /usr/share/man/man1/trust-proxy.1.gz | grep -q "trust-proxy-install"
step "dpkg -r"; dpkg -r trust-proxy
test ! -e /usr/bin/trust-proxy
test ! -e /usr/share/man/man1/trust-proxy.1.gz
step "dpkg -P"; dpkg -P trust-proxy
step "no trace in the package database"
# (`! cmd` would not stop a `set -e` script.)
if dpkg-query -W -f='${Status}\n' trust-proxy 2>/dev/null | grep -q installed; then exit 1; fi
test ! -e /var/lib/dpkg/info/trust-proxy.list
INNER
mkdir -p "$scratch/ovl"
check "dpkg -i, run, man, dpkg -r, dpkg -P (unshare --mount, overlays on /usr /var /etc)" \
  unshare --mount --propagation private bash "$scratch/in-namespace.sh" "$deb" "$scratch"
check "this machine's dpkg status unchanged" test "$(sha256sum /var/lib/dpkg/status)" = "$host_status_before"
check "no trust-proxy left in this machine's /usr/bin" test ! -e /usr/bin/trust-proxy

# ---- 4. lintian ----
if command -v lintian >/dev/null 2>&1; then
  lintian_out=$(lintian --info --display-info --fail-on error "$deb" 2>&1)
  lintian_rc=$?
  echo "lintian findings ($(grep -c '^[EWIP]:' <<<"$lintian_out") tags):"
  grep '^[EWIP]:' <<<"$lintian_out" | sed 's/^/     | /'
  check "lintian: no errors" test "$lintian_rc" -eq 0
else
  failed=$((failed + 1))
  echo "FAIL lintian not installed (scripts/install-deps.sh installs it)"
fi

echo "$passed passed, $failed failed"
((failed == 0))
