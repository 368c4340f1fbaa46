# shellcheck shell=bash
# trust-proxy interception lab: a sourced library (bash), run as root on Linux.
#
#   source tests/lab/lab.sh
#   lab_up            # namespaces + PKI + origin servers + every proxy; traps nothing itself
#   lab_laptop CMD..  # run CMD as the lab's laptop
#   lab_down          # kill lab processes, delete namespaces and /etc/netns files, remove state
#
# Topology (every address exists only inside these namespaces; none has a default route, so
# nothing can leave the lab; names resolve through /etc/netns/<ns>/hosts, and resolv.conf points
# at 127.0.0.1 where no DNS server runs, so any other name fails at once, locally):
#
#   tplab-laptop  10.200.1.2 --veth-- 10.200.1.1  tplab-proxy  10.200.2.1 --veth-- 10.200.2.x  tplab-origin
#   (trust-proxy)    route 10.200.2.0/24 via .1.1   (ip_forward=1,                 (origin TLS servers,
#                                                    squids, mitmdumps,             AIA HTTP server)
#                                                    iptables REDIRECT 443->8081
#                                                    for the transparent case)
#
# Proxies (all listen on 10.200.1.1 in tplab-proxy):
#   3128 squid explicit ssl-bump, signs with "Lab Squid Root CA" (self-signed), splices github.com
#   3129 squid explicit ssl-bump, signs with "Lab Squid Issuing CA", an intermediate whose root
#        "Lab Offline Root CA" is never sent; the intermediate carries
#        AIA caIssuers http://aia.lab.test/root.der (served in tplab-origin, fetched via the proxy)
#   3130 squid explicit ssl-bump + Basic auth (realm "Trust Proxy Lab", user "labuser",
#        password "p@ss"), signs with "Lab Squid Root CA"
#   3131 squid explicit ssl-bump, signs with "Lab Legacy Vendor Root": basicConstraints CA:TRUE
#        NOT critical, no subject/authority key identifier (strict X.509 clients reject it)
#   3132 squid explicit, no bump at all (plain CONNECT tunnel)
#   8080 mitmdump regular (explicit) mode, CA "Lab Mitmproxy CA"; serves http://mitm.it/cert/pem
#   8081 mitmdump transparent mode, CA "Lab Transparent Mitm CA"; the laptop's port-443 traffic
#        to 10.200.2.0/24 is REDIRECTed here in tplab-proxy's PREROUTING
#
# What the proxies send (observed with openssl s_client -showcerts, squid 5.7, mitmproxy 11.0.2):
#   see LAB_OBSERVED_CHAINS below and tests/lab/README.md.

TPLAB_PREFIX="${TPLAB_PREFIX:-tplab}"
TPLAB_DIR="${TPLAB_DIR:-/tmp/${TPLAB_PREFIX}-state}"
TPLAB_VENV="${TPLAB_VENV:-/opt/trust-proxy-lab/venv}"
TPLAB_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

NS_LAPTOP="${TPLAB_PREFIX}-laptop"
NS_PROXY="${TPLAB_PREFIX}-proxy"
NS_ORIGIN="${TPLAB_PREFIX}-origin"
LAB_NAMESPACES=("$NS_LAPTOP" "$NS_PROXY" "$NS_ORIGIN")

LAB_LAPTOP_IP=10.200.1.2
LAB_PROXY_IP=10.200.1.1
LAB_PROXY_UP_IP=10.200.2.1
LAB_PROXY_HOST=proxy.lab.test
# host name -> origin address
declare -A LAB_ORIGIN_IP=(
  [pypi.org]=10.200.2.10
  [files.pythonhosted.org]=10.200.2.11
  [crates.io]=10.200.2.12
  [static.crates.io]=10.200.2.13
  [github.com]=10.200.2.14
  [registry.npmjs.org]=10.200.2.15
  [index.crates.io]=10.200.2.16
  [aia.lab.test]=10.200.2.20
  [tarpit.lab.test]=10.200.2.30
)
LAB_TLS_HOSTS=(pypi.org files.pythonhosted.org crates.io static.crates.io github.com registry.npmjs.org index.crates.io)

LAB_PORT_SQUID=3128
LAB_PORT_SQUID_AIA=3129
LAB_PORT_SQUID_AUTH=3130
LAB_PORT_SQUID_LEGACY=3131
LAB_PORT_SQUID_PLAIN=3132
LAB_PORT_MITM=8080
LAB_PORT_MITM_TRANSPARENT=8081
LAB_AUTH_USER=labuser
LAB_AUTH_PASS='p@ss'
LAB_AUTH_PASS_ENC='p%40ss'
LAB_AUTH_REALM='Trust Proxy Lab'

PKI="$TPLAB_DIR/pki"
# The files tests compare against (PEM, one certificate each):
LAB_PUBLIC_ROOT="$PKI/public-root.pem"          # --public-roots for trust-proxy
LAB_CA_SQUID="$PKI/squid-root.pem"
LAB_CA_AIA_ROOT="$PKI/offline-root.pem"          # root of the AIA case, never sent by squid
LAB_CA_AIA_INT="$PKI/squid-issuing.pem"
LAB_CA_LEGACY="$PKI/legacy-root.pem"
LAB_CA_MITM="$PKI/mitm-ca.pem"
LAB_CA_TRANSPARENT="$PKI/transparent-ca.pem"

lab_log() { echo "lab: $*" >&2; }
lab_die() { echo "lab: error: $*" >&2; return 1; }

lab_laptop() { ip netns exec "$NS_LAPTOP" "$@"; }
lab_proxyns() { ip netns exec "$NS_PROXY" "$@"; }
lab_originns() { ip netns exec "$NS_ORIGIN" "$@"; }

# Fingerprint exactly as `openssl x509 -noout -fingerprint -sha256` prints it, after the '='.
lab_fp() { openssl x509 -noout -fingerprint -sha256 -in "$1" | sed 's/^[^=]*=//'; }

# ---------------------------------------------------------------------------------------------
# Teardown: safe to run at any time, also after a run that died half-way.
# ---------------------------------------------------------------------------------------------
lab_down() {
  local ns pids pid i
  for ns in "${LAB_NAMESPACES[@]}"; do
    if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$ns"; then
      # Every process in a lab namespace was started by the lab: end them by pid.
      pids="$(ip netns pids "$ns" 2>/dev/null || true)"
      if [ -n "$pids" ]; then
        for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
        for i in $(seq 1 30); do
          pids="$(ip netns pids "$ns" 2>/dev/null || true)"
          [ -z "$pids" ] && break
          sleep 0.1
        done
        for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
        sleep 0.2
      fi
      ip netns del "$ns" 2>/dev/null || true
    fi
    rm -rf "/etc/netns/$ns"
  done
  rmdir /etc/netns 2>/dev/null || true
  # Shared memory of this lab's squids (named after the lab, see lab_start_squid): a squid
  # killed at the end of its grace period leaves it behind.
  rm -f "/dev/shm/${TPLAB_PREFIX//[^A-Za-z0-9]/}"*.shm
  if [ "${TPLAB_KEEP:-0}" != 1 ]; then
    rm -rf "$TPLAB_DIR"
  fi
}

# ---------------------------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------------------------
lab_hosts_file() { # NS: the lab names, as that namespace should resolve them
  local ns="$1" h
  mkdir -p "/etc/netns/$ns"
  {
    echo "127.0.0.1 localhost"
    echo "::1 localhost ip6-localhost ip6-loopback"
    echo "$LAB_PROXY_IP $LAB_PROXY_HOST"
    for h in "${!LAB_ORIGIN_IP[@]}"; do echo "${LAB_ORIGIN_IP[$h]} $h"; done
  } >"/etc/netns/$ns/hosts"
  # No DNS server anywhere in the lab: every name not in hosts fails locally and at once.
  printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"/etc/netns/$ns/resolv.conf"
}

lab_net_up() {
  local ns h
  for ns in "${LAB_NAMESPACES[@]}"; do
    lab_hosts_file "$ns"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
  # veth pairs are created directly inside the namespaces: nothing appears in the root namespace.
  ip link add "${TPLAB_PREFIX}-l0" netns "$NS_LAPTOP" type veth peer name "${TPLAB_PREFIX}-p0" netns "$NS_PROXY"
  ip link add "${TPLAB_PREFIX}-p1" netns "$NS_PROXY" type veth peer name "${TPLAB_PREFIX}-o0" netns "$NS_ORIGIN"
  ip -n "$NS_LAPTOP" addr add "$LAB_LAPTOP_IP/24" dev "${TPLAB_PREFIX}-l0"
  ip -n "$NS_PROXY" addr add "$LAB_PROXY_IP/24" dev "${TPLAB_PREFIX}-p0"
  ip -n "$NS_PROXY" addr add "$LAB_PROXY_UP_IP/24" dev "${TPLAB_PREFIX}-p1"
  ip -n "$NS_ORIGIN" addr add 10.200.2.2/24 dev "${TPLAB_PREFIX}-o0"
  for h in "${!LAB_ORIGIN_IP[@]}"; do
    ip -n "$NS_ORIGIN" addr add "${LAB_ORIGIN_IP[$h]}/32" dev "${TPLAB_PREFIX}-o0"
  done
  ip -n "$NS_LAPTOP" link set "${TPLAB_PREFIX}-l0" up
  ip -n "$NS_PROXY" link set "${TPLAB_PREFIX}-p0" up
  ip -n "$NS_PROXY" link set "${TPLAB_PREFIX}-p1" up
  ip -n "$NS_ORIGIN" link set "${TPLAB_PREFIX}-o0" up
  # Only lab routes; no default route anywhere.
  ip -n "$NS_LAPTOP" route add 10.200.2.0/24 via "$LAB_PROXY_IP"
  ip -n "$NS_ORIGIN" route add 10.200.1.0/24 via "$LAB_PROXY_UP_IP"
  ip netns exec "$NS_PROXY" sysctl -qw net.ipv4.ip_forward=1
  # Transparent interception: the laptop's HTTPS to the origin net goes to mitmdump on 8081.
  ip netns exec "$NS_PROXY" iptables -t nat -A PREROUTING -i "${TPLAB_PREFIX}-p0" -p tcp \
    -d 10.200.2.0/24 --dport 443 -j REDIRECT --to-ports "$LAB_PORT_MITM_TRANSPARENT"
  # Belt and braces: the proxy namespace forwards nothing but lab traffic.
  ip netns exec "$NS_PROXY" iptables -P FORWARD DROP
  ip netns exec "$NS_PROXY" iptables -A FORWARD -s 10.200.1.0/24 -d 10.200.2.0/24 -j ACCEPT
  ip netns exec "$NS_PROXY" iptables -A FORWARD -s 10.200.2.0/24 -d 10.200.1.0/24 -j ACCEPT
}

# ---------------------------------------------------------------------------------------------
# PKI (openssl): a lab "public" root for the origins, and the interception CAs.
# ---------------------------------------------------------------------------------------------
_pki_conf() { # minimal config so no default extension (SKI/AKI) sneaks in
  cat >"$PKI/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
EOF
}

# _pki_ca NAME "CN" EXTFILE-SECTION-TEXT [ISSUER-NAME]
_pki_cert() {
  local name="$1" subj="$2" ext="$3" issuer="${4:-}" days="${5:-3650}"
  printf '%s\n' "$ext" >"$PKI/$name.ext"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/$name.key" 2>/dev/null
  openssl req -new -config "$PKI/openssl.cnf" -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr"
  if [ -z "$issuer" ]; then
    openssl x509 -req -in "$PKI/$name.csr" -signkey "$PKI/$name.key" -days "$days" -sha256 \
      -set_serial "0x$(openssl rand -hex 16)" -extfile "$PKI/$name.ext" -out "$PKI/$name.pem" 2>/dev/null
  else
    openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$issuer.pem" -CAkey "$PKI/$issuer.key" -days "$days" -sha256 \
      -set_serial "0x$(openssl rand -hex 16)" -extfile "$PKI/$name.ext" -out "$PKI/$name.pem" 2>/dev/null
  fi
  rm -f "$PKI/$name.csr"
}

LAB_EXT_ROOT='basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always'
LAB_EXT_INT='basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always'
# Like a widely deployed vendor root: CA:TRUE but not critical, no SKI, no AKI.
LAB_EXT_LEGACY='basicConstraints = CA:TRUE
keyUsage = keyCertSign, cRLSign
subjectKeyIdentifier = none
authorityKeyIdentifier = none'

lab_pki() {
  local h
  mkdir -p "$PKI"
  _pki_conf
  _pki_cert public-root "/O=Trust Proxy Lab/CN=Lab Public Root CA" "$LAB_EXT_ROOT"
  _pki_cert public-int "/O=Trust Proxy Lab/CN=Lab Public Issuing CA" "$LAB_EXT_INT" public-root
  for h in "${LAB_TLS_HOSTS[@]}"; do
    _pki_cert "origin-$h" "/CN=$h" "basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:$h" public-int 365
    cat "$PKI/origin-$h.pem" "$PKI/public-int.pem" >"$PKI/origin-$h.chain.pem"
  done
  _pki_cert squid-root "/O=Trust Proxy Lab/OU=Interception/CN=Lab Squid Root CA" "$LAB_EXT_ROOT"
  _pki_cert offline-root "/O=Trust Proxy Lab/OU=Interception/CN=Lab Offline Root CA" "$LAB_EXT_ROOT"
  _pki_cert squid-issuing "/O=Trust Proxy Lab/OU=Interception/CN=Lab Squid Issuing CA" "$LAB_EXT_INT
authorityInfoAccess = caIssuers;URI:http://aia.lab.test/root.der" offline-root
  _pki_cert legacy-root "/O=Legacy Vendor/CN=Lab Legacy Vendor Root" "$LAB_EXT_LEGACY"
  _pki_cert mitm-ca "/O=mitmproxy/CN=Lab Mitmproxy CA" "$LAB_EXT_ROOT"
  _pki_cert transparent-ca "/O=mitmproxy/CN=Lab Transparent Mitm CA" "$LAB_EXT_ROOT"
  # The AIA server's content: the offline root, DER, at http://aia.lab.test/root.der
  mkdir -p "$TPLAB_DIR/aia"
  openssl x509 -in "$PKI/offline-root.pem" -outform DER -out "$TPLAB_DIR/aia/root.der"
  # squid runs as user proxy and its certgen helper gets the CA key from squid: make them readable.
  chmod 755 "$TPLAB_DIR" "$PKI" "$TPLAB_DIR/aia"
  chmod 644 "$PKI"/*.pem "$TPLAB_DIR/aia/root.der"
  chgrp proxy "$PKI"/*.key 2>/dev/null || true
  chmod 640 "$PKI"/*.key
}

# ---------------------------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------------------------
lab_wait_port() { # NS IP PORT [TIMEOUT_S]: wait until something accepts on IP:PORT
  local ns="$1" ip="$2" port="$3" t="${4:-20}" i
  for i in $(seq 1 $((t * 5))); do
    if ip netns exec "$ns" timeout 1 bash -c "exec 3<>/dev/tcp/$ip/$port" 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  lab_die "nothing listening on $ip:$port in $ns after ${t}s"
}

lab_start_origin() {
  local specs=() h ip
  for h in "${LAB_TLS_HOSTS[@]}"; do
    specs+=("tls:${LAB_ORIGIN_IP[$h]}:443:$PKI/origin-$h.chain.pem:$PKI/origin-$h.key:$h")
  done
  specs+=("http:${LAB_ORIGIN_IP[aia.lab.test]}:80:$TPLAB_DIR/aia")
  specs+=("tarpit:${LAB_ORIGIN_IP[tarpit.lab.test]}:443")
  mkdir -p "$TPLAB_DIR/logs"
  ip netns exec "$NS_ORIGIN" /usr/bin/python3 -u "$TPLAB_SRC/origin.py" "${specs[@]}" \
    </dev/null >"$TPLAB_DIR/logs/origin.log" 2>&1 &
  echo $! >"$TPLAB_DIR/origin.pid"
  for h in "${LAB_TLS_HOSTS[@]}"; do lab_wait_port "$NS_ORIGIN" "${LAB_ORIGIN_IP[$h]}" 443 15; done
  lab_wait_port "$NS_ORIGIN" "${LAB_ORIGIN_IP[aia.lab.test]}" 80 15
}

# lab_start_squid NAME PORT MODE [SIGNING-CA-BASENAME] [AUTH]
#   MODE: bump | plain ; AUTH: auth to require Basic auth
#   LAB_SQUID_SPLICE: the server names a bumping squid splices (default github.com; empty: bump all)
lab_start_squid() {
  local name="$1" port="$2" mode="$3" ca="${4:-}" auth="${5:-}"
  local splice="${LAB_SQUID_SPLICE-github.com}"
  local d="$TPLAB_DIR/squid-$name" conf
  rm -rf "$d"; mkdir -p "$d/logs"
  conf="$d/squid.conf"
  {
    echo "# trust-proxy lab squid '$name' (generated)"
    if [ "$mode" = bump ]; then
      echo "http_port $LAB_PROXY_IP:$port ssl-bump tls-cert=$PKI/$ca.pem tls-key=$PKI/$ca.key generate-host-certificates=on dynamic_cert_mem_cache_size=4MB"
      echo "sslcrtd_program /usr/lib/squid/security_file_certgen -s $d/ssl_db -M 4MB"
      echo "sslcrtd_children 3 startup=1 idle=1"
      echo "acl step1 at_step SslBump1"
      echo "acl step2 at_step SslBump2"
      [ -n "$splice" ] && echo "acl nobump ssl::server_name $splice"
      echo "ssl_bump peek step1"
      [ -n "$splice" ] && echo "ssl_bump splice nobump"
      echo "ssl_bump stare step2"
      echo "ssl_bump bump all"
      # squid checks the origin against the lab public root only.
      echo "tls_outgoing_options cafile=$LAB_PUBLIC_ROOT"
    else
      echo "http_port $LAB_PROXY_IP:$port"
    fi
    echo "acl lab src 10.200.1.0/24"
    if [ "$auth" = auth ]; then
      # LAB_SQUID_AUTH_NTLM=1: NTLM is offered before Basic, as corporate proxies offer their
      # own schemes first (the fake helper accepts anything: only the offer matters here).
      if [ "${LAB_SQUID_AUTH_NTLM:-0}" = 1 ]; then
        echo "auth_param ntlm program /usr/lib/squid/ntlm_fake_auth"
        echo "auth_param ntlm children 2 startup=1 idle=1"
      fi
      echo "auth_param basic program /usr/lib/squid/basic_ncsa_auth $d/htpasswd"
      echo "auth_param basic realm $LAB_AUTH_REALM"
      echo "auth_param basic children 2 startup=1 idle=1"
      echo "acl authed proxy_auth REQUIRED"
      echo "http_access deny !lab"
      echo "http_access allow authed"
    else
      echo "http_access allow lab"
    fi
    echo "http_access deny all"
    cat <<EOF
cache deny all
dns_nameservers 127.0.0.1
hosts_file /etc/hosts
pinger_enable off
shutdown_lifetime 1 seconds
cache_effective_user proxy
visible_hostname $LAB_PROXY_HOST
pid_filename $d/squid.pid
cache_log $d/logs/cache.log
access_log stdio:$d/logs/access.log
cache_store_log none
coredump_dir $d
connect_timeout 10 seconds
read_timeout 30 seconds
EOF
  } >"$conf"
  if [ "$auth" = auth ]; then
    htpasswd -bc "$d/htpasswd" "$LAB_AUTH_USER" "$LAB_AUTH_PASS" 2>/dev/null
  fi
  if [ "$mode" = bump ]; then
    /usr/lib/squid/security_file_certgen -c -s "$d/ssl_db" -M 4MB >/dev/null
  fi
  chown -R proxy:proxy "$d"
  # A service name per lab and squid: squid names its /dev/shm segments after it, so two labs
  # (e.g. the bench beside the tests) never share them.
  local svc="${TPLAB_PREFIX//[^A-Za-z0-9]/}${name//[^A-Za-z0-9]/}"
  ip netns exec "$NS_PROXY" squid -n "$svc" -k parse -f "$conf" >"$d/logs/parse.log" 2>&1 ||
    { cat "$d/logs/parse.log" >&2; lab_die "squid $name: config does not parse"; return 1; }
  ip netns exec "$NS_PROXY" squid -n "$svc" -N -f "$conf" </dev/null >"$d/logs/stdout.log" 2>&1 &
  echo $! >"$TPLAB_DIR/squid-$name.pid"
  lab_wait_port "$NS_PROXY" "$LAB_PROXY_IP" "$port" 30 ||
    { tail -20 "$d/logs/cache.log" "$d/logs/stdout.log" >&2; return 1; }
}

# lab_start_mitm NAME PORT MODE CA-BASENAME [extra mitmdump args]
lab_start_mitm() {
  local name="$1" port="$2" mode="$3" ca="$4"; shift 4
  local d="$TPLAB_DIR/mitm-$name" listen_host="$LAB_PROXY_IP"
  rm -rf "$d"; mkdir -p "$d/conf"
  # mitmproxy's own CA format: key + cert in mitmproxy-ca.pem (a single certificate => it sends
  # only the leaf); mitmproxy-ca-cert.pem is what http://mitm.it/cert/pem serves.
  cat "$PKI/$ca.key" "$PKI/$ca.pem" >"$d/conf/mitmproxy-ca.pem"
  cp "$PKI/$ca.pem" "$d/conf/mitmproxy-ca-cert.pem"
  openssl x509 -in "$PKI/$ca.pem" -outform DER -out "$d/conf/mitmproxy-ca-cert.cer"
  [ "$mode" = transparent ] && listen_host=0.0.0.0
  ip netns exec "$NS_PROXY" "$TPLAB_VENV/bin/mitmdump" \
    --mode "$mode" --listen-host "$listen_host" --listen-port "$port" \
    --set confdir="$d/conf" \
    --set ssl_verify_upstream_trusted_ca="$LAB_PUBLIC_ROOT" \
    --set connection_strategy=lazy \
    --set termlog_verbosity=info --set flow_detail=1 \
    "$@" </dev/null >"$d/mitmdump.log" 2>&1 &
  echo $! >"$TPLAB_DIR/mitm-$name.pid"
  lab_wait_port "$NS_PROXY" "$LAB_PROXY_IP" "$port" 60 || { tail -20 "$d/mitmdump.log" >&2; return 1; }
}

lab_up() {
  [ "$(id -u)" -eq 0 ] || lab_die "the lab must run as root" || return 1
  [ -x "$TPLAB_VENV/bin/mitmdump" ] || lab_die "no mitmdump in $TPLAB_VENV: run scripts/install-deps.sh" || return 1
  command -v squid >/dev/null || lab_die "no squid: run scripts/install-deps.sh" || return 1
  lab_down
  mkdir -p "$TPLAB_DIR/logs"
  lab_log "network namespaces ${LAB_NAMESPACES[*]}"
  lab_net_up
  lab_log "PKI in $PKI"
  lab_pki
  lab_log "origin servers: ${LAB_TLS_HOSTS[*]} (443), aia.lab.test (80), tarpit.lab.test (443, never answers)"
  lab_start_origin
  lab_log "squid: $LAB_PORT_SQUID bump, $LAB_PORT_SQUID_AIA bump/intermediate, $LAB_PORT_SQUID_AUTH bump+auth, $LAB_PORT_SQUID_LEGACY bump/legacy CA, $LAB_PORT_SQUID_PLAIN no bump"
  lab_start_squid main "$LAB_PORT_SQUID" bump squid-root
  lab_start_squid aia "$LAB_PORT_SQUID_AIA" bump squid-issuing
  lab_start_squid auth "$LAB_PORT_SQUID_AUTH" bump squid-root auth
  lab_start_squid legacy "$LAB_PORT_SQUID_LEGACY" bump legacy-root
  lab_start_squid plain "$LAB_PORT_SQUID_PLAIN" plain
  lab_log "mitmdump: $LAB_PORT_MITM regular, $LAB_PORT_MITM_TRANSPARENT transparent"
  lab_start_mitm explicit "$LAB_PORT_MITM" regular mitm-ca
  lab_start_mitm transparent "$LAB_PORT_MITM_TRANSPARENT" transparent transparent-ca
  lab_log "up"
}

# ---------------------------------------------------------------------------------------------
# A private machine, for a script already in its own mount namespace (`unshare --mount`):
# /etc, the local anchor dir and the state update-ca-certificates' hooks keep become copies under
# WORK, so accounts added and trust stores changed exist only there.
# ---------------------------------------------------------------------------------------------
lab_private_machine() { # WORK
  local work="$1" d
  mount --make-rprivate /
  cp -a /etc "$work/etc"
  mkdir -p "$work/local-ca"
  cp -a /usr/local/share/ca-certificates/. "$work/local-ca/" 2>/dev/null
  mount --bind "$work/etc" /etc
  mount --bind "$work/local-ca" /usr/local/share/ca-certificates
  for d in /var/lib/dpkg /var/lib/ca-certificates-java; do
    if [ -d "$d" ]; then
      mkdir -p "$work/private$d" && cp -a "$d/." "$work/private$d/" && mount --bind "$work/private$d" "$d"
    fi
  done
}

# An account only the private /etc knows, at a uid no account of the machine has: prints the uid.
lab_add_user() { # NAME HOME
  local name="$1" home="$2" uid=61234
  while getent passwd "$uid" >/dev/null || getent group "$uid" >/dev/null; do uid=$((uid + 1)); done
  echo "$name:x:$uid:$uid:Lab User:$home:/bin/bash" >>/etc/passwd
  echo "$name:x:$uid:" >>/etc/group
  echo "$name:!:20000:0:99999:7:::" >>/etc/shadow
  mkdir -p "$home"
  cp -a /etc/skel/. "$home/"
  chown -R "$uid:$uid" "$home"
  echo "$uid"
}

# The environment every stage's inside runs in: a plain PATH, root's home, and none of the
# variables that would point a client at a CA or a proxy before trust-proxy does.
lab_clean_env() {
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
  unset JAVA_HOME SSL_CERT_FILE SSL_CERT_DIR REQUESTS_CA_BUNDLE CURL_CA_BUNDLE NODE_EXTRA_CA_CERTS \
    HTTPS_PROXY https_proxy HTTP_PROXY http_proxy ALL_PROXY all_proxy NO_PROXY no_proxy
}

# TAP lines, counted in $pass and $fail; a command's output goes to $work/last.out and its tail
# is shown when the check goes the wrong way.
check() { # DESCRIPTION COMMAND...: the command must succeed
  local what=$1; shift
  if "$@" >"$work/last.out" 2>&1; then echo "ok - $what"; pass=$((pass+1));
  else echo "not ok - $what"; sed 's/^/#   /' "$work/last.out" | tail -n 15; fail=$((fail+1)); fi
}
refuse() { # DESCRIPTION COMMAND...: the command must fail
  local what=$1; shift
  if "$@" >"$work/last.out" 2>&1; then echo "not ok - $what (it succeeded)"; sed 's/^/#   /' "$work/last.out" | tail -n 5; fail=$((fail+1));
  else echo "ok - $what"; pass=$((pass+1)); fi
}

# Dump the tail of every lab log (for failures).
lab_logs() {
  local f
  for f in "$TPLAB_DIR"/logs/*.log "$TPLAB_DIR"/squid-*/logs/cache.log "$TPLAB_DIR"/mitm-*/mitmdump.log; do
    [ -f "$f" ] || continue
    echo "---- $f" >&2
    tail -n "${1:-15}" "$f" >&2
  done
}
