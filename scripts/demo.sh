#!/usr/bin/env bash
# One-command demo on a fresh Debian 12 machine, as root:
#   scripts/demo.sh
# Installs the lab's dependencies, builds trust-proxy, starts an interception lab in network
# namespaces (squid ssl-bump and mitmproxy, fake pypi.org/crates.io/github.com origins; no traffic
# leaves the machine), runs `trust-proxy discover` as the lab's laptop with the proxy taken from
# HTTPS_PROXY, prints the proxy's real CA fingerprint beside it, and tears the lab down.
# Exit 0 when trust-proxy found exactly the proxies' CAs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [ "$(id -u)" -ne 0 ]; then echo "demo.sh: run as root (it creates network namespaces)" >&2; exit 1; fi

bold() { if [ -t 1 ]; then printf '\n\033[1m%s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi; }

bold "1/4 installing the lab's dependencies (scripts/install-deps.sh)"
bash "$ROOT/scripts/install-deps.sh" </dev/null

bold "2/4 building trust-proxy (cargo build --release)"
if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
  # shellcheck disable=SC1091
  source "$HOME/.cargo/env"
fi
command -v cargo >/dev/null || { echo "demo.sh: cargo not found; install Rust first" >&2; exit 1; }
cargo build --release --bin trust-proxy </dev/null
BIN="$(readlink -f "${CARGO_TARGET_DIR:-$ROOT/target}/release/trust-proxy")"

# shellcheck source=../tests/lab/lab.sh
source "$ROOT/tests/lab/lab.sh"
trap 'lab_down' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bold "3/4 starting the lab (namespaces ${LAB_NAMESPACES[*]})"
lab_up

laptop_discover() { # PROXY-URL ARGS... : trust-proxy as the laptop, proxy from HTTPS_PROXY
  local proxy="$1"; shift
  timeout -k 5 120 ip netns exec "$NS_LAPTOP" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 HTTPS_PROXY="$proxy" "$BIN" discover --public-roots "$LAB_PUBLIC_ROOT" --timeout 15 "$@" </dev/null
}

bold "4/4 running trust-proxy discover as the lab's laptop"
status=0
demo_case() { # TITLE PROXY-URL CA-FILE TARGETS...
  local title="$1" proxy="$2" ca="$3"; shift 3
  local targets=() t rc got want
  for t in "$@"; do targets+=(--target "$t"); done
  bold "$title"
  echo "\$ HTTPS_PROXY=$proxy trust-proxy discover --public-roots lab-public-root.pem ${targets[*]}"
  echo
  rc=0
  laptop_discover "$proxy" "${targets[@]}" || rc=$?
  echo
  echo "(trust-proxy exited $rc)"
  echo
  echo "The proxy's CA as the lab made it ($(basename "$ca")):"
  echo "\$ openssl x509 -noout -subject -fingerprint -sha256 -in $(basename "$ca")"
  openssl x509 -noout -subject -fingerprint -sha256 -in "$ca"
  want="$(lab_fp "$ca")"
  got="$(laptop_discover "$proxy" "${targets[@]}" --json 2>/dev/null |
    jq -r '[.roots[].certificate.sha256_fingerprint] | join(" ")' 2>/dev/null || true)"
  if [ "$got" = "$want" ]; then
    echo "=> MATCH: trust-proxy found exactly this CA"
  else
    echo "=> MISMATCH: trust-proxy reported '${got:-nothing}'"
    status=1
  fi
}

demo_case "squid ssl-bump (signs with 'Lab Squid Root CA'; github.com is spliced, not intercepted)" \
  "http://$LAB_PROXY_HOST:$LAB_PORT_SQUID" "$LAB_CA_SQUID" pypi.org crates.io github.com
demo_case "mitmproxy (sends only the leaf; the root comes from its http://mitm.it/cert/pem)" \
  "http://$LAB_PROXY_HOST:$LAB_PORT_MITM" "$LAB_CA_MITM" pypi.org files.pythonhosted.org

bold "tearing the lab down"
lab_down
trap - EXIT

bold "then install for real: trust-proxy install --scope system --fingerprint ... (real update-ca-certificates)"
echo "This runs inside the lab laptop's network namespace and a private mount namespace with private"
echo "copies of /etc and the anchor directory: this machine's own trust store is never touched."
echo "curl, openssl and Python fail before, verify after install, and fail again after uninstall."
TPINST_SHOW=1 TRUST_PROXY_BIN="$BIN" bash "$ROOT/tests/lab/install_system.sh" </dev/null |
  grep -E '^(ok|not ok) |passed|^    ' || status=1
exit "$status"
