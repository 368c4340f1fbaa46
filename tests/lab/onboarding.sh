#!/usr/bin/env bash
# packaging/onboarding/onboard.sh end to end, as a new employee runs it: in the lab laptop's
# network namespace behind the real squid ssl-bump, in a private mount namespace whose /usr,
# /var and /etc are overlays on a tmpfs (dpkg's database, the installed package and the trust
# store vanish with it), with the .deb packaging/build-deb.sh made:
#   before: no trust-proxy, curl through squid fails certificate verification;
#   a wrong pin: the package is installed, install refuses (exit 6), the trust store unchanged;
#   the company's pin: exit 0, next steps printed, curl and Python verify through squid with
#   the system store;
#   again: nothing installed or changed (idempotent), exit 0.
# Usage (root): tests/lab/onboarding.sh [PATH.deb] (default: the one .deb in target/packages/).
# Prints "ok - ..." / "not ok - ..." lines and "N passed, M failed" last.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export TPLAB_PREFIX=${TPLAB_PREFIX:-tponb}
deb=${1:-}
if [[ -z $deb ]]; then
  shopt -s nullglob
  debs=("$repo"/target/packages/*.deb)
  ((${#debs[@]} == 1)) || { echo "onboarding: expected one .deb in target/packages (packaging/build-deb.sh)" >&2; exit 1; }
  deb=${debs[0]}
fi
deb=$(readlink -f "$deb")
# shellcheck source=lab.sh
source "$here/lab.sh"

work=$(mktemp -d /tmp/tponb-work.XXXXXX)
cleanup() { lab_down || true; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

lab_up
FP=$(lab_fp "$LAB_CA_SQUID")
PROXY="http://$LAB_PROXY_IP:$LAB_PORT_SQUID"
mkdir -p "$work/ovl"

cat >"$work/inside.sh" <<INSIDE
set -uo pipefail
mount --make-rprivate /
mount -t tmpfs tmpfs "$work/ovl"
for dir in usr var etc; do
  mkdir -p "$work/ovl/\$dir/upper" "$work/ovl/\$dir/work"
  mount -t overlay overlay -o "lowerdir=/\$dir,upperdir=$work/ovl/\$dir/upper,workdir=$work/ovl/\$dir/work" "/\$dir"
done
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
unset SSL_CERT_FILE SSL_CERT_DIR REQUESTS_CA_BUNDLE CURL_CA_BUNDLE HTTPS_PROXY https_proxy ALL_PROXY all_proxy NO_PROXY no_proxy

work="$work"
pass=0; fail=0
$(declare -f check refuse)
curl_pypi() { curl -sS --max-time 20 -x "$PROXY" -o /dev/null https://pypi.org/; }
python_pypi() {
  python3 -c 'import http.client, ssl
c = http.client.HTTPSConnection("$LAB_PROXY_IP", $LAB_PORT_SQUID, context=ssl.create_default_context(), timeout=20)
c.set_tunnel("pypi.org", 443); c.request("GET", "/"); print(c.getresponse().status)'
}
store_digest() { find /etc/ssl/certs /usr/local/share/ca-certificates -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum; }
onboard() { # FINGERPRINT: the script as IT publishes it, the settings from the environment
  env TRUST_PROXY_FINGERPRINT="\$1" TRUST_PROXY_PROXY="$PROXY" TRUST_PROXY_TARGETS="pypi.org crates.io" \
    TRUST_PROXY_PACKAGE_FILE="$deb" sh "$repo/packaging/onboarding/onboard.sh" >"$work/onboard.out" 2>&1
  local rc=\$?
  cat "$work/onboard.out"
  return \$rc
}

refuse "before: no trust-proxy on PATH" command -v trust-proxy
refuse "before: curl through squid fails verification" curl_pypi
before=\$(store_digest)

rc=0; onboard 00000000000000000000000000000000000000000000000000000000000000AA >/dev/null || rc=\$?
check "a wrong pin: exit 6" test "\$rc" = 6
check "a wrong pin: the package was installed" test -x /usr/bin/trust-proxy
check "a wrong pin: the trust store is unchanged" test "\$(store_digest)" = "\$before"
check "a wrong pin: the script says nothing changed" grep -q "nothing was changed" "$work/onboard.out"

rc=0; onboard "$FP" >/dev/null || rc=\$?
check "the company's pin: exit 0" test "\$rc" = 0
check "next steps printed" grep -q "trust-proxy configure-tools" "$work/onboard.out"
check "dpkg says installed" bash -c 'dpkg-query -W -f="\\\${Status}" trust-proxy | grep -qx "install ok installed"'
check "the trust store changed" test "\$(store_digest)" != "\$before"
check "curl verifies through squid with the system store" curl_pypi
check "Python's default context verifies through squid" python_pypi

rc=0; onboard "$FP" >/dev/null || rc=\$?
check "again: exit 0" test "\$rc" = 0
check "again: trust-proxy not reinstalled" grep -q "already installed" "$work/onboard.out"
check "again: install changed nothing" grep -q "nothing changed" "$work/onboard.out"

echo "\$pass passed, \$fail failed"
[ "\$fail" -eq 0 ]
INSIDE

set +e
ip netns exec "$NS_LAPTOP" unshare --mount --propagation private bash "$work/inside.sh"
rc=$?
set -e
exit "$rc"
