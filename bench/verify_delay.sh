#!/usr/bin/env bash
# `bench/verify.sh` with network latency between the clients and the proxy, as on a corporate
# network where the proxy is a WAN hop away (figures, never pass/fail). On loopback the clients'
# start-up CPU dominates and, on a machine with fewer cores than clients, the parallel run is
# bound by CPU / cores; with latency each client mostly waits, which is what running them in
# parallel is for. Runs the bench in a throwaway network namespace whose loopback packets are
# each held DELAY_MS by ../shared/bench/delay.py (NFQUEUE; this kernel has no netem), then
# removes the namespace. Needs root.
# Usage: sudo bench/verify_delay.sh [ROUNDS] [DELAY_MS]   (TRUST_PROXY_BIN=path to use that binary)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
delay_ms=${2:-50}
delay_py=${DELAY_PY:-../shared/bench/delay.py}
[[ -f $delay_py ]] || { echo "verify_delay: $delay_py not found (../shared beside the clone)" >&2; exit 1; }
if [[ -z "${TRUST_PROXY_BIN:-}" ]]; then
  cargo build --release --locked --bin trust-proxy
  export TRUST_PROXY_BIN=$PWD/target/release/trust-proxy
fi
cargo build --locked --example verify_bench
bench_bin=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/debug/examples/verify_bench

ns=tpbench-verify-$$
queue=$(( 40 + $$ % 200 ))
cleanup() {
  [[ -n ${delay_pid:-} ]] && kill "$delay_pid" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" iptables -I OUTPUT -o lo -j NFQUEUE --queue-num "$queue" --queue-bypass
ready=$(mktemp)
ip netns exec "$ns" python3 "$delay_py" "$queue" "$delay_ms" >"$ready" 2>&1 &
delay_pid=$!
for _ in $(seq 50); do grep -q ready "$ready" && break; sleep 0.1; done
grep -q ready "$ready" || { echo "verify_delay: delay.py did not start: $(cat "$ready")" >&2; exit 1; }
rm -f "$ready"
echo "== every loopback packet in $ns held ${delay_ms} ms (a TCP round trip: $((2 * delay_ms)) ms)"
ip netns exec "$ns" "$bench_bin" "$rounds"
