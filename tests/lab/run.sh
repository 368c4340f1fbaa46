#!/usr/bin/env bash
# Runs every lab scenario against the trust-proxy binary, as root, on Linux.
#   TRUST_PROXY_BIN=path/to/trust-proxy tests/lab/run.sh [SCENARIO-NAME-SUBSTRING...]
# Default binary: ${CARGO_TARGET_DIR:-<repo>/target}/release/trust-proxy (built if missing).
# Prints "ok - ..." / "not ok - ..." per scenario and ends with "N passed, M failed".
# Needs scripts/install-deps.sh to have run. Leaves nothing behind (trap).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=lab.sh
source "$HERE/lab.sh"

BIN="${TRUST_PROXY_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/trust-proxy}"
FILTERS=("$@")
TP_TIMEOUT="${TP_TIMEOUT:-90}"   # hard bound on any one trust-proxy run, seconds

if [ "$(id -u)" -ne 0 ]; then echo "run.sh: must run as root" >&2; exit 1; fi
for c in jq openssl curl squid ip iptables; do
  command -v "$c" >/dev/null || { echo "run.sh: $c missing: run scripts/install-deps.sh" >&2; exit 1; }
done
if [ ! -x "$BIN" ]; then
  if [ -n "${TRUST_PROXY_BIN:-}" ]; then echo "run.sh: $BIN is not executable" >&2; exit 1; fi
  echo "run.sh: building $BIN" >&2
  (cd "$ROOT" && timeout 1800 cargo build --release --bin trust-proxy) >&2
fi
BIN="$(readlink -f "$BIN")"

# A fixed place, so that a run killed with SIGKILL leaves nothing the next run does not remove.
OUT="/tmp/${TPLAB_PREFIX}-run"
rm -rf "$OUT"
mkdir -m 700 "$OUT"
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "${FAILED:-0}" -gt 0 ] || [ "$rc" -ne 0 ]; then lab_logs 10 2>&1 | sed 's/^/# /' >&2 || true; fi
  lab_down || true
  if [ "${TPLAB_KEEP:-0}" = 1 ]; then echo "run.sh: outputs kept in $OUT" >&2; else rm -rf "$OUT"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PASSED=0
FAILED=0
FAILS=()

# ---------------------------------------------------------------------------------------------
# Running trust-proxy as the lab's laptop, with a clean environment.
#   tp NAME [VAR=VALUE ...] -- ARGS...   -> $RC, $OUT/NAME.out, $OUT/NAME.err, $J (=stdout file)
# ---------------------------------------------------------------------------------------------
RC=0
J=""
ELAPSED=0
tp() {
  local name="$1"; shift
  local envs=() t0
  while [ "$#" -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  J="$OUT/$name.out"
  t0=$(date +%s)
  set +e
  timeout -k 5 "$TP_TIMEOUT" ip netns exec "$NS_LAPTOP" \
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    "${envs[@]}" "$BIN" "$@" </dev/null >"$J" 2>"$OUT/$name.err"
  RC=$?
  set -e
  ELAPSED=$(( $(date +%s) - t0 ))
  { echo "\$ ${envs[*]} trust-proxy $*"; echo "exit $RC after ${ELAPSED}s"; } >"$OUT/$name.cmd"
  if [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then fail "trust-proxy did not finish within ${TP_TIMEOUT}s"; fi
}

# jq on the last output; empty string when the output is not JSON
q() { jq -r "$1" "$J" 2>/dev/null || true; }

expect_rc() {
  [ "$RC" -eq "$1" ] || fail "exit code $RC, expected $1 (stderr: $(head -c 400 "$OUT"/"$(basename "$J" .out)".err | tr '\n' ' '))"
}
expect_json() {
  # jq 1.6 accepts an empty file: demand exactly one value, an object.
  if [ "$(jq -s 'length == 1 and (.[0] | type) == "object"' "$J" 2>/dev/null)" != true ]; then
    fail "stdout is not one JSON object: $(head -c 300 "$J" | tr '\n' ' ')"
    return 1
  fi
  [ "$(q .schema_version)" = 1 ] || fail "schema_version is $(q .schema_version), expected 1"
  [ "$(q .exit_code)" = "$RC" ] || fail "JSON exit_code $(q .exit_code) differs from the process exit code $RC"
  [ "$(q '.tool.name')" = trust-proxy ] || fail "tool.name is $(q .tool.name)"
}
expect_eq() { # DESC ACTUAL EXPECTED
  [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
}
expect_true() { # DESC JQ-FILTER (must print true)
  [ "$(q "$2")" = true ] || fail "$1 (jq: $2)"
}
# The set of root fingerprints reported must be exactly the given ones.
expect_roots() {
  local want got
  want="$(printf '%s\n' "$@" | sort -u | paste -sd' ')"
  got="$(q '[.roots[].certificate.sha256_fingerprint] | sort | unique | join(" ")')"
  [ "$got" = "$want" ] || fail "roots[].certificate.sha256_fingerprint = '$got', expected exactly '$want'"
}
root_field() { # FP FIELD-FILTER
  q ".roots[] | select(.certificate.sha256_fingerprint == \"$1\") | $2"
}
target_field() { # HOST:PORT FIELD-FILTER
  q ".targets[] | select(.target == \"$1\") | $2"
}
expect_no_error_lint() { # FP
  local errs
  errs="$(root_field "$1" '[.lint[]? | select(.severity == "error") | .code] | join(",")')"
  [ -z "$errs" ] || fail "lint of $(root_field "$1" .certificate.subject) has error findings: $errs"
}
expect_no_secret() {
  if grep -qF -e "$LAB_AUTH_PASS" -e "$LAB_AUTH_PASS_ENC" "$J" "$OUT/$(basename "$J" .out).err"; then
    fail "the proxy password appears in trust-proxy's output"
  fi
}

scenario() { # DESCRIPTION FUNCTION
  local desc="$1" fn="$2" f
  if [ "${#FILTERS[@]}" -gt 0 ]; then
    local m=0
    for f in "${FILTERS[@]}"; do [[ "$desc" == *"$f"* ]] && m=1; done
    [ "$m" = 1 ] || return 0
  fi
  FAILS=()
  # A scenario that trips over an unexpected error is a failed scenario, not a dead run.
  set +e
  # Assertions are explicit (fail ...); a command failing inside a scenario is not fatal.
  ( set +e +o pipefail; "$fn" ) >"$OUT/scenario.log" 2>&1
  local src=$?
  set -e
  # FAILS is collected in the subshell: pass it back through a file.
  if [ -s "$OUT/fails" ]; then mapfile -t FAILS <"$OUT/fails"; fi
  rm -f "$OUT/fails"
  if [ "$src" -ne 0 ] && [ "${#FAILS[@]}" -eq 0 ]; then
    FAILS+=("scenario aborted (status $src): $(tail -c 300 "$OUT/scenario.log" | tr '\n' ' ')")
  fi
  if [ "${#FAILS[@]}" -eq 0 ]; then
    PASSED=$((PASSED + 1))
    echo "ok - $desc"
  else
    FAILED=$((FAILED + 1))
    echo "not ok - $desc"
    for f in "${FAILS[@]}"; do echo "#   $f"; done
  fi
}
# Scenarios run in a subshell: fail() appends to a file that scenario() reads back.
fail() { printf '%s\n' "$*" >>"$OUT/fails"; }

PUB=(--public-roots "$LAB_PUBLIC_ROOT")
P_SQUID="http://$LAB_PROXY_HOST:$LAB_PORT_SQUID"
P_AIA="http://$LAB_PROXY_HOST:$LAB_PORT_SQUID_AIA"
P_AUTH="http://$LAB_PROXY_HOST:$LAB_PORT_SQUID_AUTH"
P_LEGACY="http://$LAB_PROXY_HOST:$LAB_PORT_SQUID_LEGACY"
P_PLAIN="http://$LAB_PROXY_HOST:$LAB_PORT_SQUID_PLAIN"
P_MITM="http://$LAB_PROXY_HOST:$LAB_PORT_MITM"

# Fetch the chain a proxy presents: $OUT/chain-NAME-N.pem (N = 1 is the leaf); echoes the count.
presented_chain() { # NAME PROXY-PORT|- HOST
  local name="$1" port="$2" host="$3" args=()
  [ "$port" != - ] && args=(-proxy "$LAB_PROXY_IP:$port")
  rm -f "$OUT/chain-$name-"*.pem
  lab_laptop timeout 15 openssl s_client "${args[@]}" -connect "$host:443" -servername "$host" -showcerts \
    </dev/null 2>/dev/null | awk -v p="$OUT/chain-$name-" '
      /-----BEGIN CERTIFICATE-----/ {n++; f = p n ".pem"}
      f != "" {print > f}
      /-----END CERTIFICATE-----/ {close(f); f = ""}
      END {print n + 0}'
}

# =============================================================================================
# Scenarios
# =============================================================================================

sc_lab_isolation() {
  local ns
  for ns in "${LAB_NAMESPACES[@]}"; do
    [ -z "$(ip -n "$ns" route show default)" ] || fail "$ns has a default route"
    [ -z "$(ip -n "$ns" -6 route show default 2>/dev/null)" ] || fail "$ns has an IPv6 default route"
  done
  expect_eq "pypi.org in the laptop namespace" "$(lab_laptop getent hosts pypi.org | awk '{print $1}')" "${LAB_ORIGIN_IP[pypi.org]}"
  expect_eq "pypi.org in the proxy namespace" "$(lab_proxyns getent hosts pypi.org | awk '{print $1}')" "${LAB_ORIGIN_IP[pypi.org]}"
  if lab_laptop timeout 5 getent hosts example.com >/dev/null 2>&1; then fail "example.com resolves in the lab"; fi
  if lab_proxyns timeout 5 getent hosts mitm.it >/dev/null 2>&1; then fail "mitm.it resolves in the proxy namespace"; fi
}

sc_lab_chains() {
  # What the proxies send, independent of trust-proxy (see lab.sh's header).
  local n
  n=$(presented_chain squid "$LAB_PORT_SQUID" pypi.org)
  [ "$n" -ge 2 ] || fail "squid (self-signed CA) sent $n certificates, expected the leaf and its CA"
  expect_eq "squid: last cert sent" "$(lab_fp "$OUT/chain-squid-$n.pem")" "$(lab_fp "$LAB_CA_SQUID")"
  n=$(presented_chain aia "$LAB_PORT_SQUID_AIA" pypi.org)
  expect_eq "squid (intermediate CA): certificates sent" "$n" 2
  expect_eq "squid (intermediate CA): 2nd cert" "$(lab_fp "$OUT/chain-aia-2.pem")" "$(lab_fp "$LAB_CA_AIA_INT")"
  n=$(presented_chain mitm "$LAB_PORT_MITM" pypi.org)
  expect_eq "mitmproxy (explicit): certificates sent" "$n" 1
  n=$(presented_chain transparent - pypi.org)
  expect_eq "mitmproxy (transparent): certificates sent" "$n" 1
  openssl verify -CAfile "$LAB_CA_TRANSPARENT" "$OUT/chain-transparent-1.pem" >/dev/null 2>&1 ||
    fail "transparent leaf is not issued by the Lab Transparent Mitm CA"
  n=$(presented_chain splice "$LAB_PORT_SQUID" github.com)
  openssl verify -CAfile "$LAB_PUBLIC_ROOT" -untrusted "$OUT/chain-splice-2.pem" "$OUT/chain-splice-1.pem" >/dev/null 2>&1 ||
    fail "github.com through squid is not the origin's own chain (splice broken)"
  n=$(presented_chain plain "$LAB_PORT_SQUID_PLAIN" crates.io)
  openssl verify -CAfile "$LAB_PUBLIC_ROOT" -untrusted "$OUT/chain-plain-2.pem" "$OUT/chain-plain-1.pem" >/dev/null 2>&1 ||
    fail "crates.io through the non-bumping squid is not the origin's own chain"
  local body
  body="$(lab_laptop timeout 10 curl -sS -x "$P_MITM" http://mitm.it/cert/pem)" || true
  expect_eq "mitm.it/cert/pem through mitmproxy" "$(printf '%s\n' "$body" | lab_fp /dev/stdin 2>/dev/null)" "$(lab_fp "$LAB_CA_MITM")"
  body="$(lab_laptop timeout 10 curl -sS -x "$P_AIA" http://aia.lab.test/root.der | openssl x509 -inform DER -noout -fingerprint -sha256 | sed 's/^[^=]*=//')" || true
  expect_eq "AIA root through squid" "$body" "$(lab_fp "$LAB_CA_AIA_ROOT")"
}

sc_squid_explicit() {
  local fp; fp="$(lab_fp "$LAB_CA_SQUID")"
  tp squid-explicit -- discover --proxy "$P_SQUID" --target pypi.org --target crates.io "${PUB[@]}" --timeout 15 --json
  expect_rc 0
  expect_json || return 0
  expect_eq outcome "$(q .outcome)" intercepted
  expect_roots "$fp"
  expect_eq found_by "$(root_field "$fp" .found_by)" self_signed_in_chain
  expect_eq provenance "$(root_field "$fp" .provenance)" network
  expect_eq "roots[].certificate.self_signed" "$(root_field "$fp" .certificate.self_signed)" true
  expect_eq "roots[].certificate.is_ca" "$(root_field "$fp" .certificate.is_ca)" true
  expect_eq "seen_on" "$(root_field "$fp" '.seen_on | sort | join(",")')" "crates.io:443,pypi.org:443"
  expect_no_error_lint "$fp"
  local t
  for t in pypi.org:443 crates.io:443; do
    expect_eq "$t status" "$(target_field "$t" .status)" intercepted
    expect_eq "$t proxy.source" "$(target_field "$t" .proxy.source)" flag
    [[ "$(target_field "$t" .proxy.url)" == *"$LAB_PROXY_HOST:$LAB_PORT_SQUID"* ]] || fail "$t proxy.url is '$(target_field "$t" .proxy.url)'"
    expect_eq "$t root_sha256" "$(target_field "$t" .root_sha256)" "$fp"
    expect_eq "$t presented_chain[0] is a leaf" "$(target_field "$t" '.presented_chain[0].is_ca')" false
  done
  # "exactly as sent, duplicates included": squid sends its self-signed CA twice
  local n; n=$(presented_chain squid-explicit "$LAB_PORT_SQUID" pypi.org)
  expect_eq "pypi.org:443 presented_chain length (as openssl s_client counts it)" "$(target_field pypi.org:443 '.presented_chain | length')" "$n"
  expect_eq "roots[].path (the CA signs the leaf directly)" "$(root_field "$fp" '.path | length')" 0
  expect_eq "roots[].pem" "$(root_field "$fp" .pem | lab_fp /dev/stdin 2>/dev/null)" "$fp"
  expect_eq "sha1_thumbprint" "$(root_field "$fp" .certificate.sha1_thumbprint)" \
    "$(openssl x509 -noout -fingerprint -sha1 -in "$LAB_CA_SQUID" | sed 's/^[^=]*=//; s/://g')"
}

sc_squid_splice() {
  local fp; fp="$(lab_fp "$LAB_CA_SQUID")"
  tp squid-splice -- discover --proxy "$P_SQUID" --target pypi.org --target github.com "${PUB[@]}" --timeout 15 --json
  expect_rc 0
  expect_json || return 0
  expect_roots "$fp"
  expect_eq "github.com:443 status" "$(target_field github.com:443 .status)" not_intercepted
  expect_eq "github.com:443 root_sha256" "$(target_field github.com:443 .root_sha256)" null
  expect_eq "pypi.org:443 status" "$(target_field pypi.org:443 .status)" intercepted
  expect_eq "seen_on" "$(root_field "$fp" '.seen_on | join(",")')" "pypi.org:443"
}

sc_not_intercepted() {
  tp spliced-only -- discover --proxy "$P_SQUID" --target github.com "${PUB[@]}" --timeout 15 --json
  expect_rc 3
  expect_json || return 0
  expect_eq outcome "$(q .outcome)" not_intercepted
  expect_eq "roots" "$(q '.roots | length')" 0
  tp plain-tunnel -- discover --proxy "$P_PLAIN" --target pypi.org --target crates.io "${PUB[@]}" --timeout 15 --json
  expect_rc 3
  expect_json || return 0
  expect_eq outcome "$(q .outcome)" not_intercepted
  expect_eq "statuses" "$(q '[.targets[].status] | unique | join(",")')" not_intercepted
}

sc_squid_aia() {
  local fp int_fp before after
  fp="$(lab_fp "$LAB_CA_AIA_ROOT")"; int_fp="$(lab_fp "$LAB_CA_AIA_INT")"
  before="$(grep -c '^10\.200\.2\.1 .*GET /root.der' "$TPLAB_DIR/logs/origin.log" || true)"
  tp squid-aia -- discover --proxy "$P_AIA" --target pypi.org "${PUB[@]}" --timeout 15 --json
  after="$(grep -c '^10\.200\.2\.1 .*GET /root.der' "$TPLAB_DIR/logs/origin.log" || true)"
  expect_rc 0
  expect_json || return 0
  expect_eq outcome "$(q .outcome)" intercepted
  expect_roots "$fp"
  expect_eq found_by "$(root_field "$fp" .found_by)" aia
  expect_eq provenance "$(root_field "$fp" .provenance)" network
  # README schema: path = [{certificate, source, location}], the certificates between root and
  # leaf, root side first. Here: just the intermediate squid sent.
  expect_eq "roots[].path fingerprints" "$(root_field "$fp" '[.path[].certificate.sha256_fingerprint] | join(" ")')" "$int_fp"
  expect_eq "roots[].path[0].source" "$(root_field "$fp" '.path[0].source')" presented
  expect_eq "roots[].found_at" "$(root_field "$fp" .found_at)" "http://aia.lab.test/root.der"
  expect_eq "pypi.org:443 root_sha256" "$(target_field pypi.org:443 .root_sha256)" "$fp"
  expect_eq "intermediate's aia_ca_issuers in presented_chain" \
    "$(target_field pypi.org:443 '[.presented_chain[].aia_ca_issuers[]?] | index("http://aia.lab.test/root.der") != null')" true
  [ "$after" -gt "$before" ] || fail "no AIA fetch reached aia.lab.test through the proxy (origin log)"
  expect_no_error_lint "$fp"
}

sc_mitm_env() {
  local fp; fp="$(lab_fp "$LAB_CA_MITM")"
  local before after
  before="$(grep -c 'mitm.it/cert' "$TPLAB_DIR/mitm-explicit/mitmdump.log" || true)"
  tp mitm-env HTTPS_PROXY="$P_MITM" -- discover --target files.pythonhosted.org --target static.crates.io "${PUB[@]}" --timeout 15 --json
  after="$(grep -c 'mitm.it/cert' "$TPLAB_DIR/mitm-explicit/mitmdump.log" || true)"
  expect_rc 0
  expect_json || return 0
  expect_eq outcome "$(q .outcome)" intercepted
  expect_roots "$fp"
  expect_eq found_by "$(root_field "$fp" .found_by)" vendor_hint
  expect_eq provenance "$(root_field "$fp" .provenance)" network
  expect_eq found_at "$(root_field "$fp" .found_at)" "http://mitm.it/cert/pem"
  expect_eq "files.pythonhosted.org:443 proxy.source" "$(target_field files.pythonhosted.org:443 .proxy.source)" env:HTTPS_PROXY
  expect_eq "files.pythonhosted.org:443 presented_chain length" "$(target_field files.pythonhosted.org:443 '.presented_chain | length')" 1
  expect_eq "seen_on" "$(root_field "$fp" '.seen_on | sort | join(",")')" "files.pythonhosted.org:443,static.crates.io:443"
  [ "$after" -gt "$before" ] || fail "mitmproxy's log shows no request for mitm.it/cert/*"
  expect_no_error_lint "$fp"
}

sc_no_proxy_env_mixed() {
  # pypi.org is exempt through NO_PROXY, so it goes direct and meets the transparent proxy;
  # crates.io goes through the explicit mitmproxy from HTTPS_PROXY.
  local fp_m fp_t
  fp_m="$(lab_fp "$LAB_CA_MITM")"; fp_t="$(lab_fp "$LAB_CA_TRANSPARENT")"
  tp no-proxy-env HTTPS_PROXY="$P_MITM" NO_PROXY=pypi.org,localhost -- \
    discover --target pypi.org --target crates.io --ca-file "$LAB_CA_TRANSPARENT" "${PUB[@]}" --timeout 15 --json
  expect_rc 0
  expect_json || return 0
  expect_roots "$fp_m" "$fp_t"
  expect_eq "pypi.org:443 proxy.source" "$(target_field pypi.org:443 .proxy.source)" no_proxy_env:NO_PROXY
  expect_eq "pypi.org:443 proxy.url" "$(target_field pypi.org:443 .proxy.url)" null
  expect_eq "crates.io:443 proxy.source" "$(target_field crates.io:443 .proxy.source)" env:HTTPS_PROXY
  expect_eq "pypi.org:443 root_sha256" "$(target_field pypi.org:443 .root_sha256)" "$fp_t"
  expect_eq "crates.io:443 root_sha256" "$(target_field crates.io:443 .root_sha256)" "$fp_m"
  expect_eq "transparent root found_by" "$(root_field "$fp_t" .found_by)" ca_file
  expect_eq "mitmproxy root found_by" "$(root_field "$fp_m" .found_by)" vendor_hint
}

sc_proxy_sources() {
  local fp_s fp_m fp_t
  fp_s="$(lab_fp "$LAB_CA_SQUID")"; fp_m="$(lab_fp "$LAB_CA_MITM")"; fp_t="$(lab_fp "$LAB_CA_TRANSPARENT")"
  tp src-lower https_proxy="$P_SQUID" -- discover --target crates.io "${PUB[@]}" --timeout 15 --json
  expect_rc 0
  expect_json && { expect_eq "https_proxy: source" "$(target_field crates.io:443 .proxy.source)" env:https_proxy; expect_roots "$fp_s"; }
  tp src-all ALL_PROXY="$P_MITM" -- discover --target crates.io "${PUB[@]}" --timeout 15 --json
  expect_rc 0
  expect_json && { expect_eq "ALL_PROXY: source" "$(target_field crates.io:443 .proxy.source)" env:ALL_PROXY; expect_roots "$fp_m"; }
  # --proxy wins over the environment
  tp src-flag-wins HTTPS_PROXY="http://$LAB_PROXY_HOST:3999" -- discover --proxy "$P_SQUID" --target crates.io "${PUB[@]}" --timeout 15 --json
  expect_rc 0
  expect_json && { expect_eq "--proxy over HTTPS_PROXY: source" "$(target_field crates.io:443 .proxy.source)" flag; expect_roots "$fp_s"; }
  # --no-proxy ignores the environment: direct, so the transparent proxy answers
  tp src-noproxy-flag HTTPS_PROXY="$P_SQUID" -- discover --no-proxy --target crates.io --ca-file "$LAB_CA_TRANSPARENT" "${PUB[@]}" --timeout 15 --json
  expect_rc 0
  expect_json && {
    expect_eq "--no-proxy: source" "$(target_field crates.io:443 .proxy.source)" no_proxy_flag
    expect_eq "--no-proxy: proxy.url" "$(target_field crates.io:443 .proxy.url)" null
    expect_roots "$fp_t"
  }
}

sc_transparent_unresolved() {
  tp transparent-bare -- discover --no-proxy --target pypi.org "${PUB[@]}" --timeout 15 --json
  expect_rc 4
  expect_json || return 0
  expect_eq outcome "$(q .outcome)" root_not_found
  expect_eq "pypi.org:443 status" "$(target_field pypi.org:443 .status)" intercepted
  expect_eq "pypi.org:443 proxy.source" "$(target_field pypi.org:443 .proxy.source)" no_proxy_flag
  expect_eq "roots" "$(q '.roots | length')" 0
  [[ "$(q '.unresolved[0].top_issuer')" == *"Lab Transparent Mitm CA"* ]] ||
    fail "unresolved[0].top_issuer is '$(q '.unresolved[0].top_issuer')'"
  expect_eq "unresolved[0].seen_on" "$(q '.unresolved[0].seen_on | join(",")')" pypi.org:443
  [ -n "$(q '.unresolved[0].advice // empty')" ] || fail "unresolved[0].advice is empty"
}

sc_transparent_ca_file() {
  local fp; fp="$(lab_fp "$LAB_CA_TRANSPARENT")"
  tp transparent-cafile -- discover --no-proxy --target pypi.org --target github.com --ca-file "$LAB_CA_TRANSPARENT" "${PUB[@]}" --timeout 15 --json
  expect_rc 0
  expect_json || return 0
  expect_roots "$fp"
  expect_eq found_by "$(root_field "$fp" .found_by)" ca_file
  expect_eq provenance "$(root_field "$fp" .provenance)" user_file
  expect_eq "seen_on" "$(root_field "$fp" '.seen_on | sort | join(",")')" "github.com:443,pypi.org:443"
}

sc_auth_ok() {
  local fp; fp="$(lab_fp "$LAB_CA_SQUID")"
  tp auth-ok -- discover --proxy "http://$LAB_AUTH_USER:$LAB_AUTH_PASS_ENC@$LAB_PROXY_HOST:$LAB_PORT_SQUID_AUTH" \
    --target pypi.org "${PUB[@]}" --timeout 15 --json
  expect_rc 0
  expect_json || return 0
  expect_roots "$fp"
  expect_no_secret
  [[ "$(target_field pypi.org:443 .proxy.url)" == *"$LAB_PROXY_HOST:$LAB_PORT_SQUID_AUTH"* ]] ||
    fail "proxy.url is '$(target_field pypi.org:443 .proxy.url)'"
  # The same credentials from the environment
  tp auth-ok-env HTTPS_PROXY="http://$LAB_AUTH_USER:$LAB_AUTH_PASS_ENC@$LAB_PROXY_HOST:$LAB_PORT_SQUID_AUTH" -- \
    discover --target crates.io "${PUB[@]}" --timeout 15 --json
  expect_rc 0
  expect_json || return 0
  expect_roots "$fp"
  expect_no_secret
}

sc_auth_missing() {
  tp auth-none -- discover --proxy "$P_AUTH" --target pypi.org "${PUB[@]}" --timeout 15 --json
  expect_rc 5
  expect_json || return 0
  expect_eq outcome "$(q .outcome)" network_failure
  expect_eq "error.kind" "$(target_field pypi.org:443 .error.kind)" proxy_auth_required
  local msg; msg="$(target_field pypi.org:443 .error.message)"
  [[ "$msg" == *Basic* ]] || fail "error.message does not name Basic: '$msg'"
  [[ "$msg" == *"$LAB_AUTH_REALM"* ]] || fail "error.message does not name the realm: '$msg'"
  # human output says it too
  tp auth-none-human -- discover --proxy "$P_AUTH" --target pypi.org "${PUB[@]}" --timeout 15
  expect_rc 5
  grep -q Basic "$OUT/auth-none-human.out" "$OUT/auth-none-human.err" || fail "human output does not name Basic"
  grep -qF "$LAB_AUTH_REALM" "$OUT/auth-none-human.out" "$OUT/auth-none-human.err" || fail "human output does not name the realm"
  # wrong password: still a 407. A token no message could contain by chance (the report's own
  # words include "wrong password").
  local bad=Xq7-not-the-password-3kV
  tp auth-wrong -- discover --proxy "http://$LAB_AUTH_USER:$bad@$LAB_PROXY_HOST:$LAB_PORT_SQUID_AUTH" --target pypi.org "${PUB[@]}" --timeout 15 --json
  expect_rc 5
  expect_json || return 0
  expect_eq "wrong password: error.kind" "$(target_field pypi.org:443 .error.kind)" proxy_auth_required
  if grep -qF -e "$bad" -e "$(printf '%s' "$LAB_AUTH_USER:$bad" | base64)" "$J"; then fail "the wrong password appears in the output"; fi
}

sc_strict_lint() {
  # Real clients first: the legacy root passes plain verification and fails strict X.509.
  local n fp out
  fp="$(lab_fp "$LAB_CA_LEGACY")"
  out="$(lab_laptop timeout 20 /usr/bin/python3 "$HERE/pyclient.py" "$LAB_PROXY_IP" "$LAB_PORT_SQUID_LEGACY" pypi.org "$LAB_CA_LEGACY" 2>&1)" ||
    fail "python ssl (default flags) rejects the legacy-root chain: $out"
  out="$(lab_laptop timeout 20 /usr/bin/python3 "$HERE/pyclient.py" "$LAB_PROXY_IP" "$LAB_PORT_SQUID_LEGACY" pypi.org "$LAB_CA_LEGACY" --strict 2>&1)" &&
    fail "python ssl with VERIFY_X509_STRICT accepts the legacy-root chain: $out"
  n=$(presented_chain legacy "$LAB_PORT_SQUID_LEGACY" pypi.org)
  openssl verify -CAfile "$LAB_CA_LEGACY" "$OUT/chain-legacy-1.pem" >/dev/null 2>&1 ||
    fail "openssl verify rejects the legacy-root chain"
  out="$(openssl verify -x509_strict -CAfile "$LAB_CA_LEGACY" "$OUT/chain-legacy-1.pem" 2>&1)" &&
    fail "openssl verify -x509_strict accepts the legacy-root chain"
  [[ "$out" == *"Basic Constraints of CA cert not marked critical"* ]] || fail "openssl -x509_strict did not report the non-critical basicConstraints: $out"
  [[ "$out" == *"Missing Subject Key Identifier"* ]] || fail "openssl -x509_strict did not report the missing SKI: $out"
  # Then the tool: same root, findings must say so.
  tp legacy -- discover --proxy "$P_LEGACY" --target pypi.org "${PUB[@]}" --timeout 15 --json
  expect_rc 0
  expect_json || return 0
  expect_roots "$fp"
  expect_eq found_by "$(root_field "$fp" .found_by)" self_signed_in_chain
  expect_eq "certificate.basic_constraints_critical" "$(root_field "$fp" .certificate.basic_constraints_critical)" false
  expect_eq "certificate.subject_key_id" "$(root_field "$fp" .certificate.subject_key_id)" null
  expect_eq "lint bc_not_critical severity" "$(root_field "$fp" '[.lint[] | select(.code == "bc_not_critical") | .severity] | join(",")')" error
  [ "$(root_field "$fp" '[.lint[] | select(.code == "bc_not_critical") | .clients[]] | length > 0')" = true ] ||
    fail "lint bc_not_critical names no client"
  local ski
  ski="$(root_field "$fp" '[.lint[] | select(.code | test("ski|subject_key"; "i")) | .severity] | join(",")')"
  [ -n "$ski" ] || fail "lint has no finding about the missing subject key identifier (codes: $(root_field "$fp" '[.lint[].code] | join(",")'))"
  [[ "$ski" == *error* ]] || fail "the missing-SKI finding is '$ski', but OpenSSL's strict mode (Python 3.13) rejects it: expected error"
  # What Python reports first: squid mints the leaf's AKI from the CA's SKI, so without an SKI the
  # leaf's AKI has no keyIdentifier and OpenSSL strict says "Missing Authority Key Identifier".
  local aki
  aki="$(root_field "$fp" '[.lint[] | select(.code | test("aki|authority_key"; "i")) | .severity] | join(",")')"
  [[ "$aki" == *error* ]] || fail "lint has no error finding about the leaf's missing authority key identifier, Python's first complaint (codes: $(root_field "$fp" '[.lint[].code] | join(",")'))"
}

sc_good_ca_lint() {
  local fp out
  fp="$(lab_fp "$LAB_CA_SQUID")"
  for args in "$LAB_PORT_SQUID $LAB_CA_SQUID" "$LAB_PORT_SQUID_AIA $LAB_CA_AIA_ROOT" "$LAB_PORT_MITM $LAB_CA_MITM"; do
    set -- $args
    out="$(lab_laptop timeout 20 /usr/bin/python3 "$HERE/pyclient.py" "$LAB_PROXY_IP" "$1" pypi.org "$2" --strict 2>&1)" ||
      fail "python ssl with VERIFY_X509_STRICT rejects $(basename "$2") via port $1: $out"
    local n; n=$(presented_chain good "$1" pypi.org)
    local unt=()
    [ "$n" -ge 2 ] && { cat "$OUT"/chain-good-[2-9].pem >"$OUT/good-untrusted.pem"; unt=(-untrusted "$OUT/good-untrusted.pem"); }
    out="$(openssl verify -x509_strict -CAfile "$2" "${unt[@]}" "$OUT/chain-good-1.pem" 2>&1)" ||
      fail "openssl verify -x509_strict rejects $(basename "$2") via port $1: $out"
  done
  tp good-lint -- discover --proxy "$P_SQUID" --target pypi.org "${PUB[@]}" --timeout 15 --json
  expect_rc 0
  expect_json || return 0
  expect_roots "$fp"
  expect_no_error_lint "$fp"
  expect_eq "certificate.basic_constraints_critical" "$(root_field "$fp" .certificate.basic_constraints_critical)" true
}

sc_export() {
  local fp; fp="$(lab_fp "$LAB_CA_SQUID")"
  rm -f "$OUT/export.pem"
  tp export -- discover --proxy "$P_SQUID" --target pypi.org "${PUB[@]}" --timeout 15 --export "$OUT/export.pem" --json
  expect_rc 0
  [ -s "$OUT/export.pem" ] || { fail "--export wrote nothing"; return 0; }
  expect_eq "exported certificate" "$(lab_fp "$OUT/export.pem" 2>/dev/null)" "$fp"
  expect_eq "exported certificates" "$(grep -c 'BEGIN CERTIFICATE' "$OUT/export.pem")" 1
  tp export-bad -- discover --proxy "$P_SQUID" --target pypi.org "${PUB[@]}" --timeout 15 --export /proc/no/such/dir/x.pem --json
  expect_rc 1
}

sc_human() {
  local fp; fp="$(lab_fp "$LAB_CA_SQUID")"
  tp human HTTPS_PROXY="$P_SQUID" -- discover --target pypi.org "${PUB[@]}" --timeout 15
  expect_rc 0
  grep -qF "$fp" "$OUT/human.out" || fail "human output does not show the root's SHA-256 fingerprint"
  if [ "$(jq -s 'length == 1 and (.[0] | type) == "object"' "$OUT/human.out" 2>/dev/null)" = true ]; then
    fail "human output is JSON"
  fi
}

sc_network_failures() {
  tp refused -- discover --proxy "http://$LAB_PROXY_HOST:3999" --target pypi.org "${PUB[@]}" --timeout 10 --json
  expect_rc 5
  expect_json && {
    expect_eq outcome "$(q .outcome)" network_failure
    [[ "$(target_field pypi.org:443 .error.kind)" =~ ^(proxy_refused|connect)$ ]] ||
      fail "refused proxy: error.kind is '$(target_field pypi.org:443 .error.kind)'"
  }
  tp tarpit -- discover --proxy "$P_PLAIN" --target tarpit.lab.test "${PUB[@]}" --timeout 3 --json
  expect_rc 5
  [ "$ELAPSED" -le 15 ] || fail "--timeout 3 against a silent server took ${ELAPSED}s"
  expect_json && expect_eq "tarpit error.kind" "$(target_field tarpit.lab.test:443 .error.kind)" timeout
  tp nxdomain -- discover --no-proxy --target no-such-host.lab.test "${PUB[@]}" --timeout 5 --json
  expect_rc 5
  expect_json && expect_eq "unknown host error.kind" "$(target_field no-such-host.lab.test:443 .error.kind)" dns
}

sc_usage() {
  tp usage-flag -- discover --no-such-flag
  expect_rc 2
  tp usage-url -- discover --proxy "ht!tp://[bad" --target pypi.org "${PUB[@]}"
  expect_rc 2
  tp usage-roots -- discover --proxy "$P_SQUID" --target pypi.org --public-roots /nonexistent.pem
  expect_rc 2
  tp usage-cafile -- discover --proxy "$P_SQUID" --target pypi.org "${PUB[@]}" --ca-file /nonexistent.pem
  expect_rc 2
  tp usage-both -- discover --proxy "$P_SQUID" --no-proxy --target pypi.org "${PUB[@]}"
  expect_rc 2
}

# =============================================================================================
echo "# binary: $BIN" >&2
echo "# lab: starting (namespaces ${LAB_NAMESPACES[*]})" >&2
if ! lab_up 2>"$OUT/lab_up.log"; then
  cat "$OUT/lab_up.log" >&2
  echo "not ok - lab comes up"
  FAILED=1
  echo "0 passed, 1 failed"
  exit 1
fi

scenario "lab: namespaces have no way out; names resolve only to the lab" sc_lab_isolation
scenario "lab: proxies present the expected chains (openssl s_client, curl)" sc_lab_chains
scenario "squid ssl-bump explicit (--proxy): root = squid CA, found_by self_signed_in_chain" sc_squid_explicit
scenario "squid splice: github.com reported not intercepted, pypi.org intercepted" sc_squid_splice
scenario "no interception (spliced host / plain CONNECT squid): exit 3" sc_not_intercepted
scenario "squid signing with an intermediate: root fetched by AIA through the proxy" sc_squid_aia
scenario "mitmproxy explicit via HTTPS_PROXY: root from mitm.it vendor hint" sc_mitm_env
scenario "NO_PROXY exempts one host (transparent) while the other uses HTTPS_PROXY" sc_no_proxy_env_mixed
scenario "proxy sources: https_proxy, ALL_PROXY, --proxy over env, --no-proxy over env" sc_proxy_sources
scenario "transparent mitmproxy, leaf only, --no-proxy: exit 4 names the top issuer" sc_transparent_unresolved
scenario "transparent mitmproxy with --ca-file: found_by ca_file" sc_transparent_ca_file
scenario "Basic-auth proxy with credentials in the URL (flag and env): exit 0, no password shown" sc_auth_ok
scenario "Basic-auth proxy without/with wrong credentials: exit 5, names Basic and the realm" sc_auth_missing
scenario "strict-rejected CA (bc not critical, no SKI/AKI): real clients reject, lint says why" sc_strict_lint
scenario "good CAs: strict clients accept, lint has no error finding" sc_good_ca_lint
scenario "--export writes the root (exit 1 when it cannot)" sc_export
scenario "human output shows the root fingerprint" sc_human
scenario "network failures: refused proxy, silent server (--timeout), unknown host: exit 5" sc_network_failures
scenario "bad usage: exit 2" sc_usage

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
