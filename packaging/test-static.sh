#!/usr/bin/env bash
# Checks the static binary packaging/build-static.sh made, as root: `file` says static, `ldd`
# finds no libraries, and it runs in an empty chroot (the binary and a CA file, nothing else: no
# libc, no loader) inside a throwaway network namespace: --version, export from --ca-file, and
# discover against a TLS service on the namespace's loopback by IP, by /etc/hosts name and by a
# DNS name answered by a stub resolver there (/etc/resolv.conf only); with no resolver
# configured the name fails as a network error, not a crash.
# Usage: packaging/test-static.sh [BINARY]. Prints one line per check and "N passed, M failed".
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$repo/target/$(rustc -vV | sed -n 's/^host: //p')/release/trust-proxy}
[[ $(id -u) -eq 0 ]] || { echo "test-static: run as root (chroot, unshare)" >&2; exit 1; }
[[ -x $bin ]] || { echo "test-static: $bin not built (packaging/build-static.sh)" >&2; exit 1; }

# shellcheck source=packaging/checks.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/checks.sh"

scratch=$(mktemp -d /tmp/trust-proxy-test-static.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
root=$scratch/root
mkdir -p "$root/bin" "$root/etc" "$root/out"
cp "$bin" "$root/bin/trust-proxy"
check "file: statically linked" bash -c 'file -b "$1" | grep -qE "static(-pie)? linked"' _ "$bin"
check "ldd: not a dynamic executable" bash -c 'ldd "$1" 2>&1 | grep -qE "not a dynamic executable|statically linked"' _ "$bin"
check "the chroot holds no libc" bash -c '! find "$1" -name "libc*" | grep -q .' _ "$root"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$scratch/ca.key" \
  -out "$root/ca.pem" -days 30 -subj "/CN=trust-proxy static test root" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$scratch/svc.key" \
  -out "$scratch/svc.pem" -days 30 -subj "/CN=svc.corp.example" \
  -addext "subjectAltName=DNS:svc.corp.example,DNS:hosts.corp.example,IP:127.0.0.1" 2>/dev/null
fp=$(openssl x509 -in "$root/ca.pem" -noout -fingerprint -sha256 | cut -d= -f2)

# A DNS stub answering every A query with 127.0.0.1, on the namespace's loopback.
cat >"$scratch/dns.py" <<'PY'
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
while True:
    q, addr = s.recvfrom(512)
    tid = struct.unpack(">H", q[:2])[0]
    end = 12
    while q[end] != 0:
        end += q[end] + 1
    question, qtype = q[12:end + 5], struct.unpack(">H", q[end + 1:end + 3])[0]
    answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.1") if qtype == 1 else b""
    s.sendto(struct.pack(">HHHHHH", tid, 0x8180, 1, 1 if answer else 0, 0, 0) + question + answer, addr)
PY
cat >"$scratch/in-namespace.sh" <<'INNER'
set -u
scratch=$1 fp=$2
root=$scratch/root
ip link set lo up
# Whatever is started here ends with this script (the namespace goes with it).
trap 'kill $(jobs -p) 2>/dev/null' EXIT
openssl s_server -accept 127.0.0.1:8443 -cert "$scratch/svc.pem" -key "$scratch/svc.key" -quiet </dev/null >/dev/null 2>&1 &
sleep 1
tp() { chroot "$root" /bin/trust-proxy "$@"; }
outcome() { tp discover --no-proxy --target "$1" --timeout 3 --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["outcome"])'; }
step() { echo "step: $*"; }
step "--version"; tp --version
step "export from --ca-file"; tp export --ca-file /ca.pem --fingerprint "$fp" --format der --output /out/root.cer >/dev/null
cmp "$root/out/root.cer" <(openssl x509 -in "$root/ca.pem" -outform DER)
step "discover by IP"; test "$(outcome 127.0.0.1:8443)" = self_signed
# (No resolv.conf means glibc asks 127.0.0.1:53, where nothing listens yet.)
step "no resolver: a network failure"; test "$(outcome svc.corp.example:8443)" = network_failure
step "/etc/hosts"; echo "127.0.0.1 hosts.corp.example" >"$root/etc/hosts"
test "$(outcome hosts.corp.example:8443)" = self_signed
step "DNS via /etc/resolv.conf"; echo "nameserver 127.0.0.1" >"$root/etc/resolv.conf"
python3 "$scratch/dns.py" &
sleep 1
test "$(outcome svc.corp.example:8443)" = self_signed
INNER
check "in an empty chroot and network namespace: --version, export, discover by IP, /etc/hosts, DNS" \
  unshare --net bash -e "$scratch/in-namespace.sh" "$scratch" "$fp"

echo "$passed passed, $failed failed"
((failed == 0))
