#!/usr/bin/env bash
# The Debian family for real: `trust-proxy install --scope system` runs the real
# update-ca-certificates inside the lab laptop's network namespace AND a private mount namespace
# in which /etc and /usr/local/share/ca-certificates are private copies. Then curl, openssl
# s_client -verify_return_error and Python's ssl default context succeed through the lab's real
# squid ssl-bump with the system store; after `uninstall` they fail again and the store is
# byte-identical to before. The machine's real trust store is never touched.
#
# Usage (root): TRUST_PROXY_BIN=target/release/trust-proxy tests/lab/install_system.sh
# Prints "ok - ..." / "not ok - ..." lines and "N passed, M failed" last.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export TPLAB_PREFIX=${TPLAB_PREFIX:-tpinst}
BIN=${TRUST_PROXY_BIN:-$repo/target/release/trust-proxy}
[[ -x $BIN ]] || { echo "install_system: $BIN not built" >&2; exit 1; }
BIN=$(readlink -f "$BIN")
# shellcheck source=lab.sh
source "$here/lab.sh"

work=$(mktemp -d /tmp/tpinst-work.XXXXXX)
cleanup() { lab_down || true; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

lab_up
FP=$(lab_fp "$LAB_CA_SQUID")
PROXY="http://$LAB_PROXY_IP:$LAB_PORT_SQUID"

# Everything below runs in the laptop's network namespace, in a fresh private mount namespace:
# /etc (hosts from the lab included), the local anchor directory, dpkg's database and the Java
# hook's queue are copies in $work.
cat >"$work/inside.sh" <<INSIDE
set -uo pipefail
mount --make-rprivate /
cp -a /etc "$work/etc"
mkdir -p "$work/local-ca"
cp -a /usr/local/share/ca-certificates/. "$work/local-ca/" 2>/dev/null || true
mount --bind "$work/etc" /etc
mount --bind "$work/local-ca" /usr/local/share/ca-certificates
# update-ca-certificates' Java hook queues work for dpkg triggers and runs them: keep dpkg's
# database and that queue private too, so nothing outside this namespace changes.
for d in /var/lib/dpkg /var/lib/ca-certificates-java; do
  if [ -d "\$d" ]; then
    mkdir -p "$work/private\$d" && cp -a "\$d/." "$work/private\$d/" && mount --bind "$work/private\$d" "\$d"
  fi
done
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
unset SSL_CERT_FILE SSL_CERT_DIR REQUESTS_CA_BUNDLE CURL_CA_BUNDLE HTTPS_PROXY https_proxy ALL_PROXY all_proxy NO_PROXY no_proxy

pass=0; fail=0
check() { # DESCRIPTION COMMAND...
  local what=\$1; shift
  if "\$@" >"$work/last.out" 2>&1; then echo "ok - \$what"; pass=\$((pass+1));
  else echo "not ok - \$what"; sed 's/^/#   /' "$work/last.out" | tail -n 15; fail=\$((fail+1)); fi
}
refuse() { # DESCRIPTION COMMAND...: the command must fail
  local what=\$1; shift
  if "\$@" >"$work/last.out" 2>&1; then echo "not ok - \$what (it succeeded)"; fail=\$((fail+1));
  else echo "ok - \$what"; pass=\$((pass+1)); fi
}
store_listing() {
  { find /etc/ssl/certs /usr/local/share/ca-certificates -printf '%p %y %l\n' | sort
    find /etc/ssl/certs /usr/local/share/ca-certificates -type f ! -path /etc/ssl/certs/java/cacerts -print0 | sort -z | xargs -0 sha256sum
    if [ -f /etc/ssl/certs/java/cacerts ] && command -v keytool >/dev/null; then
      keytool -list -keystore /etc/ssl/certs/java/cacerts -storepass changeit 2>/dev/null | grep -i fingerprint | sort
    fi
    sha256sum /etc/environment 2>/dev/null || echo "no /etc/environment"
    ls /etc/profile.d /etc/trust-proxy 2>&1; }
}
store_digest() { store_listing | sha256sum; }
curl_pypi() { curl -sS --max-time 20 -x "$PROXY" -o /dev/null https://pypi.org/; }
openssl_pypi() {
  openssl s_client -proxy "$LAB_PROXY_IP:$LAB_PORT_SQUID" -connect pypi.org:443 -servername pypi.org \
    -verify_return_error -CAfile /etc/ssl/certs/ca-certificates.crt </dev/null
}
python_pypi() {
  python3 - <<'PY'
import http.client, ssl
c = http.client.HTTPSConnection("$LAB_PROXY_IP", $LAB_PORT_SQUID, context=ssl.create_default_context(), timeout=20)
c.set_tunnel("pypi.org", 443)
c.request("GET", "/")
print(c.getresponse().status)
PY
}

# Baseline: the copy as a Debian machine has it after any ca-certificates update (this also
# normalises hosts whose /etc/ssl/certs was not made by update-ca-certificates). Java's
# cacerts keystore is rewritten with fresh dates by the ca-certificates-java hook on every
# refresh, so it is compared by its certificate list, not its bytes (see store_listing).
update-ca-certificates --fresh >/dev/null 2>&1
before=\$(store_digest)
store_listing >"$work/before.txt"
refuse "before install: curl through the proxy fails verification" curl_pypi
refuse "before install: openssl s_client -verify_return_error fails" openssl_pypi
refuse "before install: Python's default context fails" python_pypi

check "install --dry-run changes nothing" "$BIN" install --scope system --proxy "$PROXY" --target pypi.org \
  --public-roots "$LAB_PUBLIC_ROOT" --fingerprint "$FP" --dry-run
check "store unchanged after dry run" test "\$before" = "\$(store_digest)"
refuse "install with a wrong pin is refused" "$BIN" install --scope system --proxy "$PROXY" --target pypi.org \
  --public-roots "$LAB_PUBLIC_ROOT" --fingerprint "$(printf 'ab%.0s' {1..32})"
check "store unchanged after the wrong pin" test "\$before" = "\$(store_digest)"
refuse "--trust-on-first-use is refused for the system scope" "$BIN" install --scope system --proxy "$PROXY" \
  --target pypi.org --public-roots "$LAB_PUBLIC_ROOT" --trust-on-first-use

check "install --scope system with the pin (real update-ca-certificates)" "$BIN" install --scope system \
  --proxy "$PROXY" --target pypi.org --public-roots "$LAB_PUBLIC_ROOT" --fingerprint "$FP" --json
cp "$work/last.out" "$work/install.json"
if [ "\${TPINST_SHOW:-}" = 1 ]; then
  echo "    \$ trust-proxy status --scope system"
  "$BIN" status --scope system 2>&1 | sed 's/^/    /'
fi
check "install reports verification passed" grep -q '"status": "passed"' "$work/install.json"
check "anchor file in /usr/local/share/ca-certificates" sh -c 'ls /usr/local/share/ca-certificates | grep -q "^trust-proxy-.*\.crt$"'
check "the distro bundle now holds the CA" sh -c "grep -q \"\$(sed -n 2p '$LAB_CA_SQUID')\" /etc/ssl/certs/ca-certificates.crt"
if [ -f /etc/ssl/certs/java/cacerts ] && command -v keytool >/dev/null; then
  check "the update-ca-certificates hooks put the CA into Java's keystore" sh -c \
    "keytool -list -keystore /etc/ssl/certs/java/cacerts -storepass changeit | grep -qi '$FP'"
fi
check "curl through the proxy verifies with the system store" curl_pypi
check "openssl s_client -verify_return_error verifies" openssl_pypi
check "Python's ssl default context verifies" python_pypi
check "/etc/environment has the marked block" grep -q '^# BEGIN trust-proxy' /etc/environment
check "/etc/profile.d/trust-proxy.sh exists" test -f /etc/profile.d/trust-proxy.sh
check "SSL_CERT_FILE points at the distro bundle" grep -q 'SSL_CERT_FILE="/etc/ssl/certs/ca-certificates.crt"' /etc/environment
check "state and config are root-owned and not group/world-writable" sh -c \
  'test "\$(stat -c %u:%a /etc/trust-proxy)" = "0:755" && test "\$(stat -c %u /etc/trust-proxy/state.json)" = 0'
check "a second install changes nothing" sh -c "'$BIN' install --scope system --proxy '$PROXY' --target pypi.org --public-roots '$LAB_PUBLIC_ROOT' --fingerprint '$FP' | grep -q 'nothing changed'"
check "status: everything as written" "$BIN" status --scope system
check "env prints the snippet" sh -c "'$BIN' env --scope system --shell sh | grep -q SSL_CERT_FILE"
check "uninstall" "$BIN" uninstall --scope system
refuse "after uninstall: curl fails verification again" curl_pypi
refuse "after uninstall: openssl fails again" openssl_pypi
refuse "after uninstall: Python fails again" python_pypi
check "after uninstall: trust store, /etc/environment, profile.d byte-identical to before" test "\$before" = "\$(store_digest)"
store_listing | diff "$work/before.txt" - | head -20
check "after uninstall: /etc/trust-proxy is gone" test ! -e /etc/trust-proxy
echo "\$pass passed, \$fail failed"
[ "\$fail" -eq 0 ]
INSIDE

set +e
ip netns exec "$NS_LAPTOP" env LAB_PROXY_IP="$LAB_PROXY_IP" TPINST_SHOW="${TPINST_SHOW:-}" unshare --mount --propagation private bash "$work/inside.sh"
rc=$?
set -e
exit "$rc"
