#!/usr/bin/env bash
# Benchmark (figures, never pass/fail): configure-tools' detection of every tool on PATH against
# the slowest single `TOOL --version`, interleaved in the same run (examples/tools_detect_bench.rs).
# Usage: bench/tools_detect.sh [ROUNDS]      (BENCH_PROFILE=dev for a quicker build)
# Put the tools to measure on PATH first, e.g. PATH=/opt/trust-proxy-lab/venv/bin:$PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${BENCH_PROFILE:-release}
flag=--release
[[ $profile == dev ]] && flag=
cargo run -q $flag --example tools_detect_bench -- "${1:-15}"
