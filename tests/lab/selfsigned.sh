#!/usr/bin/env bash
# Self-signed internal services for real (issue 6, item 1). In the lab's namespaces, two origins
# present certificates made the way people make them with `openssl req -x509`:
#   svc-ca.lab.test  the Debian default: one certificate, basicConstraints CA:TRUE (RSA 2048)
#   svc-ee.lab.test  an end-entity one: CA:FALSE, serverAuth (P-256)
#   registry.lab.test answers with svc-ee's certificate, which does not name it
# and a squid on 3132 forwards CONNECT without bumping (an explicit proxy that does not intercept).
#
# Checked: which real clients accept each certificate as the only trust anchor (openssl, curl,
# Python ssl strict and plain, Node, Java); discover names both shapes; install refuses without a
# pin and for a host the certificate does not name; and the httpx pattern of the mission
#   ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE", certifi.where()),
#                              capath=os.environ.get("SSL_CERT_DIR")) -> httpx.Client(verify=ctx)
# fails before install, succeeds after sourcing env.sh (user scope: direct, and through the
# proxy) or in a login shell after a real system install (update-ca-certificates, private mount
# namespace), and fails again after uninstall. The machine's own trust store is never touched.
#
# Usage (root): TRUST_PROXY_BIN=target/release/trust-proxy tests/lab/selfsigned.sh
# Prints "ok - ..." / "not ok - ..." lines and "N passed, M failed" last.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export TPLAB_PREFIX=${TPLAB_PREFIX:-tpss}
BIN=${TRUST_PROXY_BIN:-$repo/target/release/trust-proxy}
[[ -x $BIN ]] || { echo "selfsigned: $BIN not built" >&2; exit 1; }
BIN=$(readlink -f "$BIN")
HTTPX_PY=${TPLAB_HTTPX_PY:-/opt/trust-proxy-lab/httpx-venv/bin/python}
[[ -x $HTTPX_PY ]] || { echo "selfsigned: no $HTTPX_PY: run scripts/install-deps.sh" >&2; exit 1; }
# shellcheck source=lab.sh
source "$here/lab.sh"

LAB_ORIGIN_IP[svc-ca.lab.test]=10.200.2.40
LAB_ORIGIN_IP[svc-ee.lab.test]=10.200.2.41
LAB_ORIGIN_IP[registry.lab.test]=10.200.2.42
PROXY="http://$LAB_PROXY_HOST:$LAB_PORT_SQUID_PLAIN"

work=$(mktemp -d /tmp/tpss-work.XXXXXX)
chmod 755 "$work"
cleanup() { lab_down || true; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the lab: network, the two services, a squid that does not bump ---------------------------
lab_down
mkdir -p "$TPLAB_DIR/logs" "$PKI"
lab_net_up
# No transparent interception here: the laptop's port-443 traffic reaches the services as is.
ip netns exec "$NS_PROXY" iptables -t nat -F PREROUTING
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -keyout "$PKI/svc-ca.key" -out "$PKI/svc-ca.pem" \
  -subj /CN=svc-ca.lab.test -addext subjectAltName=DNS:svc-ca.lab.test 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
  -keyout "$PKI/svc-ee.key" -out "$PKI/svc-ee.pem" -subj /CN=svc-ee.lab.test \
  -addext subjectAltName=DNS:svc-ee.lab.test -addext basicConstraints=critical,CA:FALSE \
  -addext keyUsage=critical,digitalSignature -addext extendedKeyUsage=serverAuth 2>/dev/null
chmod 755 "$TPLAB_DIR" "$PKI"
chmod 644 "$PKI"/*.pem
ip netns exec "$NS_ORIGIN" /usr/bin/python3 -u "$here/origin.py" \
  "tls:10.200.2.40:443:$PKI/svc-ca.pem:$PKI/svc-ca.key:svc-ca.lab.test" \
  "tls:10.200.2.41:443:$PKI/svc-ee.pem:$PKI/svc-ee.key:svc-ee.lab.test" \
  "tls:10.200.2.42:443:$PKI/svc-ee.pem:$PKI/svc-ee.key:registry.lab.test" \
  </dev/null >"$TPLAB_DIR/logs/origin.log" 2>&1 &
echo $! >"$TPLAB_DIR/origin.pid"
for ip in 10.200.2.40 10.200.2.41 10.200.2.42; do lab_wait_port "$NS_ORIGIN" "$ip" 443 15; done
lab_start_squid plain "$LAB_PORT_SQUID_PLAIN" plain
SQUID_LOG="$TPLAB_DIR/squid-plain/logs/access.log"
FP_CA=$(lab_fp "$PKI/svc-ca.pem")
FP_EE=$(lab_fp "$PKI/svc-ee.pem")

pass=0; fail=0
exits() { # CODE COMMAND...: the command must exit with CODE
  local want=$1 rc=0; shift
  "$@" || rc=$?
  [ "$rc" -eq "$want" ] || { echo "exit $rc, expected $want"; return 1; }
}
# The laptop, with a clean environment and a private HOME (user scope goes to its XDG dirs).
mkdir -p "$work/home"
laptop() {
  ip netns exec "$NS_LAPTOP" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME="$work/home" XDG_DATA_HOME="$work/home/.local/share" XDG_CONFIG_HOME="$work/home/.config" "$@"
}
ENV_SH="$work/home/.local/share/trust-proxy/env.sh"
httpx_get() { laptop "$HTTPX_PY" "$here/httpx_client.py" "$@"; }
httpx_after_env() { # URL: in a shell that sourced the snippet, as a user's shell would
  laptop sh -c ". '$ENV_SH' && exec '$HTTPX_PY' '$here/httpx_client.py' '$1'"
}
to_file() { # FILE COMMAND...: stdout to FILE
  local f=$1; shift
  "$@" >"$f"
}
jq_is() { # FILE FILTER: the filter must print true
  [ "$(jq -r "$2" "$1")" = true ] || { jq "$2" "$1"; return 1; }
}

# --- 1. which clients accept each certificate as their only trust anchor ----------------------
mkdir -p "$work/clients"
cat >"$work/clients/Get.java" <<'JAVA'
import java.net.URL;
import javax.net.ssl.HttpsURLConnection;
public class Get {
  public static void main(String[] a) throws Exception {
    HttpsURLConnection c = (HttpsURLConnection) new URL(a[0]).openConnection();
    c.setConnectTimeout(10000);
    System.out.println("ok " + c.getResponseCode());
  }
}
JAVA
openssl_client() { # HOST CAFILE
  laptop openssl s_client -connect "$1:443" -servername "$1" -verify_return_error -verify_hostname "$1" \
    -CAfile "$2" </dev/null
}
curl_client() { laptop curl -sS --max-time 10 --cacert "$2" -o /dev/null "https://$1/"; }
python_client() { # HOST CAFILE [strict]
  laptop /usr/bin/python3 - "$@" <<'PY'
import ssl, sys, urllib.request
host, cafile = sys.argv[1:3]
ctx = ssl.create_default_context(cafile=cafile)
if sys.argv[3:] == ["strict"]:
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
else:
    ctx.verify_flags &= ~ssl.VERIFY_X509_STRICT
print(urllib.request.urlopen(f"https://{host}/", context=ctx, timeout=10).status)
PY
}
node_client() {
  laptop env NODE_EXTRA_CA_CERTS="$2" node -e '
    require("https").get("https://" + process.argv[1] + "/", r => { console.log(r.statusCode); process.exit(0) })
      .on("error", e => { console.error(e.message); process.exit(1) })' "$1"
}
java_client() {
  local ts="$work/clients/$1.p12"
  rm -f "$ts"
  keytool -importcert -noprompt -alias svc -file "$2" -keystore "$ts" -storetype PKCS12 -storepass changeit >/dev/null 2>&1
  laptop java -Djavax.net.ssl.trustStore="$ts" -Djavax.net.ssl.trustStorePassword=changeit \
    "$work/clients/Get.java" "https://$1/"
}
for shape in ee ca; do
  host="svc-$shape.lab.test"; pem="$PKI/svc-$shape.pem"
  check "clients [$shape]: openssl s_client -verify_return_error accepts it as the anchor" openssl_client "$host" "$pem"
  check "clients [$shape]: curl --cacert accepts it" curl_client "$host" "$pem"
  check "clients [$shape]: Python ssl accepts it" python_client "$host" "$pem"
  check "clients [$shape]: Python ssl with VERIFY_X509_STRICT (3.13+ default) accepts it" python_client "$host" "$pem" strict
  if command -v node >/dev/null; then
    check "clients [$shape]: Node $(node --version) with NODE_EXTRA_CA_CERTS accepts it" node_client "$host" "$pem"
  else
    echo "ok - clients [$shape]: Node # SKIP node not installed"
  fi
  if command -v java >/dev/null && command -v keytool >/dev/null; then
    check "clients [$shape]: Java (truststore holding it) accepts it" java_client "$host" "$pem"
  else
    echo "ok - clients [$shape]: Java # SKIP java not installed"
  fi
done
refuse "clients: curl refuses svc-ee's certificate for registry.lab.test (name not in its SAN)" \
  curl_client registry.lab.test "$PKI/svc-ee.pem"

# --- 2. discover ---------------------------------------------------------------------------------
check "discover --no-proxy, the openssl req -x509 service: exit 0 (no panic)" \
  to_file "$work/d-ca.json" laptop "$BIN" discover --no-proxy --target svc-ca.lab.test --json
check "discover: outcome self_signed, shape ca, no interception root" \
  jq_is "$work/d-ca.json" '.outcome == "self_signed" and .self_signed[0].shape == "ca" and (.roots | length) == 0'
check "discover: the fingerprint is what openssl prints" \
  jq_is "$work/d-ca.json" ".self_signed[0].certificate.sha256_fingerprint == \"$FP_CA\" and .self_signed[0].provenance == \"network\""
check "discover through the proxy (CONNECT, not bumped), end-entity shape" \
  to_file "$work/d-ee.json" laptop "$BIN" discover --proxy "$PROXY" --target svc-ee.lab.test --target registry.lab.test --json
check "discover: shape end_entity, registry.lab.test named as not covered, client table" \
  jq_is "$work/d-ee.json" ".self_signed[0].shape == \"end_entity\" and .self_signed[0].certificate.sha256_fingerprint == \"$FP_EE\" and .self_signed[0].names_not_covered == [\"registry.lab.test:443\"] and (.self_signed[0].clients | length) > 3 and .targets[0].proxy.source == \"flag\""
check "discover: the CONNECTs went through squid" grep -q "CONNECT svc-ee.lab.test:443" "$SQUID_LOG"
laptop "$BIN" discover --no-proxy --target svc-ee.lab.test >"$work/d-ee.txt" 2>&1 || true
check "discover, human: names the case and shows the fingerprint" \
  sh -c "grep -q 'self-signed certificate: not interception' '$work/d-ee.txt' && grep -q '$FP_EE' '$work/d-ee.txt' && grep -q 'private CA' '$work/d-ee.txt'"

# --- 3. user scope, direct: the httpx client before, after sourcing env.sh, after uninstall ----
refuse "httpx before install (certifi's bundle) fails" httpx_get https://svc-ee.lab.test/
check "install without a pin and without a terminal: refused, exit 6" \
  exits 6 laptop "$BIN" install --scope user --no-proxy --target svc-ee.lab.test
check "install for a host the certificate does not name: refused, exit 7" \
  exits 7 laptop "$BIN" install --scope user --no-proxy --target registry.lab.test --fingerprint "$FP_EE"
check "nothing was written by the refusals" test ! -e "$work/home/.local/share/trust-proxy"
check "install --scope user --no-proxy --fingerprint (end-entity)" \
  to_file "$work/i-ee.json" laptop "$BIN" install --scope user --no-proxy --target svc-ee.lab.test --fingerprint "$FP_EE" --json
check "install: verification passed, the target recorded" \
  jq_is "$work/i-ee.json" '.verification.status == "passed" and .installed[0].service_targets == ["svc-ee.lab.test:443"]'
check "env.sh sets no proxy (direct)" sh -c "! grep -q HTTPS_PROXY '$ENV_SH'"
check "httpx after sourcing env.sh succeeds" httpx_after_env https://svc-ee.lab.test/
refuse "httpx after sourcing env.sh still refuses registry.lab.test (name mismatch)" httpx_after_env https://registry.lab.test/
cp "$ENV_SH" "$work/env-ee.sh" || : >"$work/env-ee.sh"
check "uninstall" laptop "$BIN" uninstall --scope user
refuse "httpx after uninstall fails again" httpx_get https://svc-ee.lab.test/
refuse "httpx with the old snippet's variables fails too (the files are gone)" \
  laptop sh -c ". '$work/env-ee.sh' && exec '$HTTPX_PY' '$here/httpx_client.py' https://svc-ee.lab.test/"

# --- 4. user scope, through the explicit proxy: the openssl req -x509 certificate ---------------
refuse "httpx through the proxy before install fails" \
  laptop env HTTPS_PROXY="$PROXY" "$HTTPX_PY" "$here/httpx_client.py" https://svc-ca.lab.test/
check "install --scope user --proxy --fingerprint (CA shape)" \
  to_file "$work/i-ca.json" laptop "$BIN" install --scope user --proxy "$PROXY" --target svc-ca.lab.test --fingerprint "$FP_CA" --json
check "install: verification passed, with the rustls caveat in the warnings" \
  jq_is "$work/i-ca.json" '.verification.status == "passed" and any(.warnings[]; contains("CaUsedAsEndEntity"))'
check "env.sh routes through the proxy" grep -q "HTTPS_PROXY='$PROXY'" "$ENV_SH"
lines_before=$(wc -l <"$SQUID_LOG")
check "httpx after sourcing env.sh succeeds through the proxy" httpx_after_env https://svc-ca.lab.test/
check "... and that request went through squid as CONNECT" \
  sh -c "tail -n +$((lines_before + 1)) '$SQUID_LOG' | grep -q 'CONNECT svc-ca.lab.test:443'"
check "uninstall" laptop "$BIN" uninstall --scope user
refuse "httpx through the proxy after uninstall fails again" \
  laptop env HTTPS_PROXY="$PROXY" "$HTTPX_PY" "$here/httpx_client.py" https://svc-ca.lab.test/

# --- 5. system scope, real update-ca-certificates, in a private mount namespace ------------------
cat >"$work/inside.sh" <<INSIDE
set -uo pipefail
work="$work"
$(declare -f lab_private_machine lab_clean_env check refuse)
lab_private_machine "$work"
lab_clean_env
pass=0; fail=0
store() { find /etc/ssl/certs /usr/local/share/ca-certificates -type f ! -path /etc/ssl/certs/java/cacerts -print0 | sort -z | xargs -0 sha256sum; ls /etc/profile.d; sha256sum /etc/environment 2>/dev/null; }
login_httpx() { env -i PATH="\$PATH" HOME=/root bash -lc "exec '$HTTPX_PY' '$here/httpx_client.py' https://svc-ee.lab.test/"; }
update-ca-certificates --fresh >/dev/null 2>&1
before=\$(store | sha256sum)
refuse "system: httpx in a login shell fails before install" login_httpx
refuse "system: curl with the system store fails before install" curl -sS --max-time 10 -o /dev/null https://svc-ee.lab.test/
check "system: install --scope system --no-proxy --fingerprint (end-entity; real update-ca-certificates)" \
  "$BIN" install --scope system --no-proxy --target svc-ee.lab.test --fingerprint "$FP_EE"
check "system: the distro bundle holds the end-entity certificate" \
  sh -c "grep -q \"\$(sed -n 2p '$PKI/svc-ee.pem')\" /etc/ssl/certs/ca-certificates.crt"
check "system: httpx in a login shell (profile.d) succeeds" login_httpx
check "system: curl with the system store succeeds" curl -sS --max-time 10 -o /dev/null https://svc-ee.lab.test/
check "system: uninstall" "$BIN" uninstall --scope system
refuse "system: httpx in a login shell fails again after uninstall" login_httpx
refuse "system: curl fails again after uninstall" curl -sS --max-time 10 -o /dev/null https://svc-ee.lab.test/
check "system: trust store, profile.d and /etc/environment byte-identical to before" test "\$before" = "\$(store | sha256sum)"
echo "\$pass \$fail" >"$work/inside.counts"
INSIDE
set +e
ip netns exec "$NS_LAPTOP" unshare --mount --propagation private bash "$work/inside.sh"
set -e
if [ -f "$work/inside.counts" ]; then
  read -r p f <"$work/inside.counts"
  pass=$((pass + p)); fail=$((fail + f))
else
  echo "not ok - system scope: the private mount namespace run did not finish"; fail=$((fail + 1))
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
