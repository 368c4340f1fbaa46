#!/usr/bin/env bash
# The Debian family for real: `trust-proxy install --scope system` runs the real
# update-ca-certificates inside the lab laptop's network namespace AND a private mount namespace
# in which /etc and /usr/local/share/ca-certificates are private copies. Then curl, openssl
# s_client -verify_return_error and Python's ssl default context succeed through the lab's real
# squid ssl-bump with the system store; after `uninstall` they fail again and the store is
# byte-identical to before. The machine's real trust store is never touched.
#
# Then distrust: ISRG Root X1 (in Mozilla's set compiled into trust-proxy) is deselected with a
# `!` line in ca-certificates.conf and update-ca-certificates run; after installs in the system
# and the user scope, no file trust-proxy wrote holds it, `openssl verify -CApath` of it against
# trust-proxy's hashed directory fails (while a root the OS still trusts verifies), and installing
# that root itself is refused. Uninstall leaves another copy of the proxy CA (a package's) alone.
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
DISTRUSTED=/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt
KEPT=/usr/share/ca-certificates/mozilla/ISRG_Root_X2.crt
DFP=$(lab_fp "$DISTRUSTED")

# cert_in.py PATH PEM: exit 0 when a file at PATH (or any file below it) holds PEM's certificate,
# 1 when none does, 2 on any error (so a broken check never passes as "absent"). PEM escaped in
# JSON (state.json) counts too.
cat >"$work/cert_in.py" <<'PY'
import base64, binascii, hashlib, os, re, sys
try:
    path, pem = sys.argv[1], sys.argv[2]
    block = re.compile(rb"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.S)
    def ders(data):
        out = []
        for m in block.finditer(data.replace(b"\\n", b"\n")):
            try:
                out.append(base64.b64decode(b"".join(m.group(1).split()), validate=True))
            except binascii.Error:
                pass
        return out
    want = {hashlib.sha256(d).digest() for d in ders(open(pem, "rb").read())}
    assert want, "no certificate in " + pem
    if os.path.isfile(path):
        files = [path]
    elif os.path.isdir(path):
        files = [os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs]
    else:
        raise FileNotFoundError(path)
    for f in files:
        if os.path.isfile(f) and any(hashlib.sha256(d).digest() in want for d in ders(open(f, "rb").read())):
            print("found in", f)
            sys.exit(0)
    print("not in", len(files), "file(s) under", path)
    sys.exit(1)
except SystemExit:
    raise
except BaseException as e:
    print("cert_in error:", repr(e))
    sys.exit(2)
PY

# Everything below runs in the laptop's network namespace, in a fresh private mount namespace:
# /etc (hosts from the lab included), the local anchor directory, dpkg's database and the Java
# hook's queue are copies in $work.
cat >"$work/inside.sh" <<INSIDE
set -uo pipefail
work="$work"
$(declare -f lab_private_machine lab_clean_env check refuse)
lab_private_machine "$work"
lab_clean_env

pass=0; fail=0
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

# Distrust: a root the administrator deselected must not come back through trust-proxy's files.
cert_in() { python3 "$work/cert_in.py" "\$@"; }
not_in() { python3 "$work/cert_in.py" "\$@"; [ \$? -eq 1 ]; }
sed -i 's|^mozilla/ISRG_Root_X1.crt\$|!mozilla/ISRG_Root_X1.crt|' /etc/ca-certificates.conf
check "ca-certificates.conf deselects ISRG Root X1" grep -qx '!mozilla/ISRG_Root_X1.crt' /etc/ca-certificates.conf
update-ca-certificates --fresh >/dev/null 2>&1
check "update-ca-certificates dropped it from the distro bundle" not_in /etc/ssl/certs/ca-certificates.crt "$DISTRUSTED"
check "the distro bundle still holds ISRG Root X2" cert_in /etc/ssl/certs/ca-certificates.crt "$KEPT"
check "install --scope system with ISRG Root X1 deselected" "$BIN" install --scope system \
  --proxy "$PROXY" --target pypi.org --public-roots "$LAB_PUBLIC_ROOT" --fingerprint "$FP"
check "the hashed dir holds the proxy CA" cert_in /etc/trust-proxy/certs "$LAB_CA_SQUID"
check "the hashed dir holds ISRG Root X2, which the OS trusts" cert_in /etc/trust-proxy/certs "$KEPT"
check "no file under /etc/trust-proxy holds ISRG Root X1" not_in /etc/trust-proxy "$DISTRUSTED"
check "openssl verify -CApath <trust-proxy certs> accepts ISRG Root X2" \
  openssl verify -no-CAfile -no-CAstore -CApath /etc/trust-proxy/certs "$KEPT"
refuse "openssl verify -CApath <trust-proxy certs> rejects ISRG Root X1" \
  openssl verify -no-CAfile -no-CAstore -CApath /etc/trust-proxy/certs "$DISTRUSTED"
mkdir -p "$work/home" "$work/xdg"
user() { env HOME="$work/home" XDG_DATA_HOME="$work/xdg" "$BIN" "\$@"; }
check "install --scope user with ISRG Root X1 deselected" user install --scope user \
  --proxy "$PROXY" --target pypi.org --public-roots "$LAB_PUBLIC_ROOT" --fingerprint "$FP"
check "the user bundle holds the proxy CA" cert_in "$work/xdg/trust-proxy/ca-bundle.pem" "$LAB_CA_SQUID"
check "no file of the user scope holds ISRG Root X1" not_in "$work/xdg/trust-proxy" "$DISTRUSTED"
check "uninstall --scope user" user uninstall --scope user
# A package's (or an administrator's) copy of the same CA under another name is not ours.
cp "$LAB_CA_SQUID" /usr/local/share/ca-certificates/vendor-copy.crt
check "uninstall --scope system" "$BIN" uninstall --scope system
check "uninstall left the other copy of the CA alone" cmp "$LAB_CA_SQUID" /usr/local/share/ca-certificates/vendor-copy.crt
check "uninstall removed trust-proxy's own anchor" sh -c '! ls /usr/local/share/ca-certificates | grep -q "^trust-proxy-"'
rm -f /usr/local/share/ca-certificates/vendor-copy.crt
update-ca-certificates --fresh >/dev/null 2>&1
distrusted_before=\$(store_digest)
refuse "installing ISRG Root X1 itself is refused" "$BIN" install --scope system --ca-file "$DISTRUSTED" \
  --proxy "$PROXY" --target pypi.org --public-roots "$LAB_PUBLIC_ROOT" --fingerprint "$DFP"
cp "$work/last.out" "$work/refusal.out"
sed 's/^/#   /' "$work/refusal.out" | tail -n 3
check "the refusal says the OS distrusts it" grep -q "distrusts" "$work/refusal.out"
check "nothing was written for the refused root" test "\$distrusted_before" = "\$(store_digest)"
check "no anchor holds it" not_in /usr/local/share/ca-certificates "$DISTRUSTED"
echo "\$pass passed, \$fail failed"
[ "\$fail" -eq 0 ]
INSIDE

set +e
ip netns exec "$NS_LAPTOP" env LAB_PROXY_IP="$LAB_PROXY_IP" TPINST_SHOW="${TPINST_SHOW:-}" unshare --mount --propagation private bash "$work/inside.sh"
rc=$?
set -e
exit "$rc"
