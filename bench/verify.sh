#!/usr/bin/env bash
# `trust-proxy verify` across every client present vs its slowest single client, in one run
# (examples/verify_bench.rs: the testkit's intercepting proxy on loopback; nothing leaves the
# machine). Prints figures; never a pass/fail on timings.
# Usage: bench/verify.sh [ROUNDS]   (TRUST_PROXY_BIN=path: that binary instead of a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${TRUST_PROXY_BIN:-}" ]]; then
  cargo build --release --locked --bin trust-proxy
fi
# The harness only starts processes and reads clocks: a dev build of it is enough.
exec cargo run --locked --example verify_bench -- "$@"
