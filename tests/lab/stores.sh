#!/usr/bin/env bash
# The optional stores for real, in the lab laptop's network namespace and a private mount
# namespace (/etc, the local anchors, dpkg's database, the Java hook's queue and a JDK's
# security directory are private copies; the machine's own stores are never touched):
#
# Java (`install --scope system --java`), through the lab's squid ssl-bump with a real Java
#   client (`java Fetch.java`, HttpsURLConnection, -Dhttps.proxyHost/Port):
#   A. the distribution JDK, whose cacerts is Debian's /etc/ssl/certs/java/cacerts: reported
#      covered by the system store, not edited by trust-proxy; the client fails before, succeeds
#      after (ca-certificates-java's hook put the CA there), fails after uninstall;
#   B. the same JDK with a keystore of its own (a private copy bind-mounted over its
#      lib/security): trust-proxy imports the CA with keytool; fails before, succeeds after,
#      fails after uninstall, and the keystore lists exactly the certificates it had before.
# NSS (`install --scope user --nss`, as an unprivileged user with a home): a Chromium database
#   (~/.pki/nssdb) and a Firefox profile listed in profiles.ini; the NSS client is `tstclnt` of
#   libnss3-tools (it has no proxy option, so it goes through the lab's transparent mitmproxy):
#   it fails before, `certutil -L` lists the CA and tstclnt verifies after, and after uninstall
#   the databases list what they listed before and tstclnt fails again.
#
# Usage (root): TRUST_PROXY_BIN=target/release/trust-proxy tests/lab/stores.sh
# Prints "ok - ..." / "not ok - ..." lines and "N passed, M failed" last.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export TPLAB_PREFIX=${TPLAB_PREFIX:-tpstores}
BIN=${TRUST_PROXY_BIN:-$repo/target/release/trust-proxy}
[[ -x $BIN ]] || { echo "stores: $BIN not built" >&2; exit 1; }
BIN=$(readlink -f "$BIN")
for tool in java keytool certutil tstclnt setpriv unshare; do
  command -v "$tool" >/dev/null || { echo "stores: $tool missing: run scripts/install-deps.sh" >&2; exit 1; }
done
# shellcheck source=lab.sh
source "$here/lab.sh"

work=$(mktemp -d /tmp/tpstores-work.XXXXXX)
cleanup() { lab_down || true; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

lab_up
PROXY="http://$LAB_PROXY_IP:$LAB_PORT_SQUID"
FP=$(lab_fp "$LAB_CA_SQUID")
TFP=$(lab_fp "$LAB_CA_TRANSPARENT")
# The unprivileged user reads these.
chmod 755 "$work"
cp "$LAB_CA_TRANSPARENT" "$work/transparent-ca.pem"
cp "$LAB_PUBLIC_ROOT" "$work/public-root.pem"
chmod 644 "$work"/*.pem
JDK=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
OWN=$JDK/lib/security/cacerts
# The unprivileged user runs its own copy (the build tree may not be readable to it).
install -m 755 "$BIN" "$work/trust-proxy"
UBIN=$work/trust-proxy

mkdir -p "$work/java"
cat >"$work/java/Fetch.java" <<'JAVA'
import java.net.URL;
import javax.net.ssl.HttpsURLConnection;
public class Fetch {
  public static void main(String[] a) throws Exception {
    HttpsURLConnection c = (HttpsURLConnection) new URL(a[0]).openConnection();
    c.setConnectTimeout(15000);
    c.setReadTimeout(15000);
    System.out.println("ok " + c.getResponseCode());
  }
}
JAVA

cat >"$work/inside.sh" <<INSIDE
set -uo pipefail
work="$work"
$(declare -f lab_private_machine lab_clean_env check refuse)
lab_private_machine "$work"
lab_clean_env

pass=0; fail=0
java_fetch() { # JAVA: the real client through the squid, with the JDK's default trust
  timeout 60 "\$1" -Dhttps.proxyHost=$LAB_PROXY_IP -Dhttps.proxyPort=$LAB_PORT_SQUID "$work/java/Fetch.java" https://pypi.org/
}
keystore_fps() { keytool -list -keystore "\$1" -storepass changeit 2>/dev/null | grep -i 'fingerprint' | sort; }
install_java() {
  "$BIN" install --scope system --java --proxy "$PROXY" --target pypi.org --public-roots "$LAB_PUBLIC_ROOT" --fingerprint "$FP"
}

update-ca-certificates --fresh >/dev/null 2>&1

# --- Java A: the distribution's keystore ----------------------------------------------------
check "the distribution JDK's cacerts is Debian's generated keystore" \
  test "\$(readlink -f $JDK/lib/security/cacerts)" = /etc/ssl/certs/java/cacerts
refuse "java A: before install the Java client fails through the squid" java_fetch "$JDK/bin/java"
grep -q 'PKIX path building failed' "$work/last.out" && echo "#   (PKIX path building failed, as expected)"
check "java A: install --scope system --java" install_java
cp "$work/last.out" "$work/java-a.out"
sed 's/^/#   /' "$work/java-a.out" | sed -n '/Optional stores/,/^#   \$/p'
check "java A: the report says the distribution keystore is covered by the system store" \
  grep -q 'covered by the system store' "$work/java-a.out"
check "java A: no keytool step (trust-proxy did not edit the distribution keystore)" \
  sh -c "! grep -q 'Java keystore' '$work/java-a.out'"
check "java A: the CA is in /etc/ssl/certs/java/cacerts (the distribution hook)" \
  sh -c "keytool -list -keystore /etc/ssl/certs/java/cacerts -storepass changeit | grep -qi '$FP'"
check "java A: the Java client succeeds" java_fetch "$JDK/bin/java"
check "java A: uninstall" "$BIN" uninstall --scope system
refuse "java A: after uninstall the Java client fails again" java_fetch "$JDK/bin/java"

# --- Java B: a keystore of the JDK's own --------------------------------------------------
mkdir -p "$work/jdk-security"
cp -a "$JDK/lib/security/." "$work/jdk-security/"
rm -f "$work/jdk-security/cacerts"
cp /etc/ssl/certs/java/cacerts "$work/jdk-security/cacerts"
chmod 644 "$work/jdk-security/cacerts"
mount --bind "$work/jdk-security" "$JDK/lib/security"
check "java B: the JDK now has a keystore of its own" sh -c "test -f '$OWN' && test ! -L '$OWN'"
own_before=\$(keystore_fps "$OWN")
refuse "java B: before install the Java client fails" java_fetch "$JDK/bin/java"
check "java B: install --scope system --java --dry-run changes nothing" "$BIN" install --scope system --java \
  --proxy "$PROXY" --target pypi.org --public-roots "$LAB_PUBLIC_ROOT" --fingerprint "$FP" --dry-run
cp "$work/last.out" "$work/java-b-dry.out"
check "java B: the dry run plans the keytool step" grep -q "trust in Java keystore.*create.*$OWN" "$work/java-b-dry.out"
check "java B: the keystore is unchanged after the dry run" test "\$own_before" = "\$(keystore_fps '$OWN')"
check "java B: install --scope system --java" install_java
cp "$work/last.out" "$work/java-b.out"
sed 's/^/#   /' "$work/java-b.out" | sed -n '/Optional stores/,/^#   \$/p'
check "java B: the report names the JDK and the keytool step" grep -q "trust in Java keystore.*create.*$OWN" "$work/java-b.out"
check "java B: keytool lists the CA under trust-proxy's alias" \
  sh -c "keytool -list -keystore '$OWN' -storepass changeit | grep -A1 '^trust-proxy-.*-sha256-' | grep -qi '$FP'"
check "java B: the keystore is still root's, mode 644" test "\$(stat -c %u:%a '$OWN')" = 0:644
check "java B: the Java client succeeds" java_fetch "$JDK/bin/java"
check "java B: the state records the keystore" grep -q '"kind": "java"' /etc/trust-proxy/state.json
check "java B: a second install changes nothing" sh -c "'$BIN' install --scope system --java --proxy '$PROXY' --target pypi.org --public-roots '$LAB_PUBLIC_ROOT' --fingerprint '$FP' | grep -q 'nothing changed'"
check "java B: uninstall" "$BIN" uninstall --scope system
cp "$work/last.out" "$work/java-b-uninstall.out"
check "java B: uninstall removed it from the keystore" grep -q "remove from Java keystore.*remove.*$OWN" "$work/java-b-uninstall.out"
refuse "java B: after uninstall the Java client fails again" java_fetch "$JDK/bin/java"
check "java B: the keystore lists exactly what it listed before" test "\$own_before" = "\$(keystore_fps '$OWN')"
umount "$JDK/lib/security"

# --- NSS: an unprivileged user's databases --------------------------------------------------
USER_ID=65534
H="$work/home"
mkdir -p "\$H"
chown "\$USER_ID:\$USER_ID" "\$H"
chmod 700 "\$H"
as_user() { setpriv --reuid="\$USER_ID" --regid="\$USER_ID" --clear-groups env -i PATH="\$PATH" HOME="\$H" "\$@"; }
as_user mkdir -p "\$H/.pki/nssdb" "\$H/.mozilla/firefox/Profiles/lab.default-release"
as_user certutil -N --empty-password -d "sql:\$H/.pki/nssdb"
as_user certutil -N --empty-password -d "sql:\$H/.mozilla/firefox/Profiles/lab.default-release"
as_user sh -c "printf '[Profile0]\nName=default-release\nIsRelative=1\nPath=Profiles/lab.default-release\nDefault=1\n\n[General]\nStartWithLastProfile=1\nVersion=2\n' >'\$H/.mozilla/firefox/profiles.ini'"
CHROMIUM_DB="\$H/.pki/nssdb"
FIREFOX_DB="\$H/.mozilla/firefox/Profiles/lab.default-release"
nss_list() { as_user certutil -L -d "sql:\$1"; }
# tstclnt verifies against the database only (no -b: no built-in roots), and checks the name.
nss_client() { as_user timeout 30 tstclnt -h pypi.org -p 443 -d "sql:\$1" -Q -4 </dev/null; }
install_nss() {
  as_user "$UBIN" install --scope user --nss --no-proxy --target pypi.org --public-roots "$work/public-root.pem" \
    --ca-file "$work/transparent-ca.pem" --fingerprint "$TFP"
}
chromium_before=\$(nss_list "\$CHROMIUM_DB")
firefox_before=\$(nss_list "\$FIREFOX_DB")
refuse "nss: before install tstclnt fails to verify (Chromium database)" nss_client "\$CHROMIUM_DB"
grep -o 'SEC_ERROR_[A-Z_]*' "$work/last.out" | head -1 | sed 's/^/#   (/; s/\$/)/'
refuse "nss: before install tstclnt fails to verify (Firefox profile)" nss_client "\$FIREFOX_DB"
refuse "nss: --nss in the system scope is refused" "$BIN" install --scope system --nss --no-proxy --target pypi.org \
  --public-roots "$LAB_PUBLIC_ROOT" --ca-file "$LAB_CA_TRANSPARENT" --fingerprint "$TFP"
cp "$work/last.out" "$work/nss-refusal.out"
check "nss: the refusal names the user-scope command" grep -q -- '--scope user' "$work/nss-refusal.out"
check "nss: install --scope user --nss as the user" install_nss
cp "$work/last.out" "$work/nss.out"
sed 's/^/#   /' "$work/nss.out" | sed -n '/Optional stores/,/^#   \$/p'
check "nss: certutil -L lists the CA in the Chromium database" sh -c "certutil -L -d 'sql:\$CHROMIUM_DB' | grep -q '$(echo "$TFP" | tr -d :).*C,,'"
check "nss: certutil -L lists the CA in the Firefox profile" sh -c "certutil -L -d 'sql:\$FIREFOX_DB' | grep -q '$(echo "$TFP" | tr -d :).*C,,'"
check "nss: tstclnt verifies pypi.org through the transparent proxy (Chromium database)" nss_client "\$CHROMIUM_DB"
check "nss: tstclnt verifies (Firefox profile)" nss_client "\$FIREFOX_DB"
check "nss: uninstall --scope user as the user" as_user "$UBIN" uninstall --scope user
check "nss: the Chromium database lists what it did before" test "\$chromium_before" = "\$(nss_list "\$CHROMIUM_DB")"
check "nss: the Firefox profile lists what it did before" test "\$firefox_before" = "\$(nss_list "\$FIREFOX_DB")"
refuse "nss: after uninstall tstclnt fails again (Chromium database)" nss_client "\$CHROMIUM_DB"
refuse "nss: after uninstall tstclnt fails again (Firefox profile)" nss_client "\$FIREFOX_DB"
echo "\$pass passed, \$fail failed"
[ "\$fail" -eq 0 ]
INSIDE

set +e
ip netns exec "$NS_LAPTOP" env LAB_PROXY_IP="$LAB_PROXY_IP" unshare --mount --propagation private bash "$work/inside.sh"
rc=$?
set -e
exit "$rc"
