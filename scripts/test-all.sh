#!/usr/bin/env bash
# Every test of trust-proxy, on a fresh Debian 12 machine, as root. `.ci/run` runs exactly this.
#   1. installs what the tests need (scripts/install-deps.sh: apt + PyPI, squid-openssl,
#      mitmproxy, shells; scripts/xplat-check.sh installs wine, mingw and the Rust targets)
#   2. cargo fmt --check, clippy (-D warnings) and cargo test for the whole workspace
#   3. the namespace lab: real squid ssl-bump and mitmproxy, explicit and transparent; the real
#      developer tools (pip, uv, npm, cargo, git, node, curl, requests, httpx) behind the squid
#   4. the packages: .deb (dpkg -i in a private mount namespace, lintian) and .rpm (rpm -i into a
#      scratch root), with the man pages and completions generated from the clap definitions
#   5. the cross-target checks: clippy for Windows/macOS targets, the Windows store under wine
# Fails when anything fails; prints a summary line per stage and the totals last.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export CARGO_TERM_COLOR=never
# Tests that need an external tool (a shell, openssl) fail instead of skipping when it is
# missing: this script installs them, so a skip here would hide a gap.
export TRUST_PROXY_REQUIRE_TOOLS=1

if [[ $(id -u) -ne 0 ]]; then
  echo "test-all: run as root (the lab creates network namespaces)" >&2
  exit 1
fi

stage() { printf '\n==== %s ====\n' "$*"; }
failed=()

stage "dependencies"
scripts/install-deps.sh

stage "format and lint"
# A merge left half-resolved: conflict markers in any tracked file (README too) fail the run.
if git grep -nE '^(<<<<<<< |>>>>>>> )' -- . ':!scripts/test-all.sh'; then
  echo "test-all: conflict markers above" >&2
  exit 1
fi
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

stage "cargo test (hermetic: in-process intercepting proxies on loopback)"
cargo test --workspace --locked 2>&1 | tee /tmp/trust-proxy-cargo-test.log
grep -q "test result: ok" /tmp/trust-proxy-cargo-test.log

stage "namespace lab (real squid ssl-bump and mitmproxy; real update-ca-certificates)"
cargo build --release --locked
: >/tmp/trust-proxy-lab.log
logged() { "$@" 2>&1 | tee -a /tmp/trust-proxy-lab.log; return "${PIPESTATUS[0]}"; }
export TRUST_PROXY_BIN="$repo/target/release/trust-proxy"
logged tests/lab/run.sh || failed+=("lab")
logged tests/lab/install_system.sh || failed+=("lab-install")
logged tests/lab/selfsigned.sh || failed+=("lab-selfsigned")
logged tests/lab/tools.sh || failed+=("lab-tools")
logged tests/lab/stores.sh || failed+=("lab-stores")
logged tests/lab/proxy.sh || failed+=("lab-proxy")

stage "packages (.deb and .rpm from the release binary: inspected, installed in throwaway roots)"
# The build scripts install cargo-deb and cargo-generate-rpm when missing; the tests change
# nothing on this machine (a private mount namespace for dpkg -i, a scratch root for rpm -i).
{ logged packaging/build-deb.sh && logged packaging/test-deb.sh; } || failed+=("deb")
# The Ansible role with the .deb just built, run -c local as the namespace lab's laptop.
logged tests/lab/ansible.sh || failed+=("lab-ansible")
# packaging/onboarding/onboard.sh with that .deb, in the lab laptop behind the real squid.
logged tests/lab/onboarding.sh || failed+=("lab-onboarding")
{ logged packaging/build-rpm.sh && logged packaging/test-rpm.sh; } || failed+=("rpm")
# Release archive, Homebrew formula, winget manifests and workflows (packaging/test-manifests.sh);
# the static glibc binary in an empty chroot (musl: the release workflow only).
logged packaging/test-manifests.sh || failed+=("manifests")
{ logged packaging/build-static.sh && logged packaging/test-static.sh; } || failed+=("static")
# Licences, bans and sources (advisories need the internet: the workflow's deny job). cargo-deny
# compiles in about 13 minutes on 2 busy cores, once per machine.
if ! cargo deny --version >/dev/null 2>&1; then
  cargo install --locked cargo-deny@0.20.2
fi
# cargo deny reads `cargo metadata` for every target, whose crates a Linux build never downloads
# (bumpalo, redox_syscall, ...): fetch them first, then check offline.
{ cargo fetch --locked && cargo deny --offline check licenses bans sources; } || failed+=("deny")

stage "cross-target checks (Windows/macOS clippy, Windows store under wine)"
if [[ -d $repo/../shared/xplat || -n ${XPLAT_SHARED:-} ]]; then
  scripts/xplat-check.sh || failed+=("xplat")
  # export --format reg imported with wine's regedit, read back by crypt32 (winstore.exe above).
  logged packaging/test-reg-wine.sh "$TRUST_PROXY_BIN" || failed+=("export-reg-wine")
elif [[ ${TRUST_PROXY_SKIP_XPLAT:-} == 1 ]]; then
  # GitHub Actions: no ../shared there; the workflow's own macOS and Windows jobs build natively.
  echo "test-all: ../shared/xplat not found; cross-target stage skipped (TRUST_PROXY_SKIP_XPLAT=1)"
else
  echo "test-all: ../shared/xplat not found (needed for the cross-target stage)" >&2
  failed+=("xplat")
fi

# One closing line for the whole run: cargo's test counts plus the lab's scenarios.
read -r passed nfailed < <(
  { grep -hoE 'test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' /tmp/trust-proxy-cargo-test.log |
      sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed/\1 \2/'
    grep -hoE '^[0-9]+ passed, [0-9]+ failed$' /tmp/trust-proxy-lab.log | sed -E 's/([0-9]+) passed, ([0-9]+) failed/\1 \2/'
  } | awk '{p+=$1; f+=$2} END {print p+0, f+0}')
if ((${#failed[@]})); then
  echo "test-all: FAILED stages: ${failed[*]}" >&2
  echo "total: $passed passed, $((nfailed > 0 ? nfailed : 1)) failed"
  exit 1
fi
echo "test-all: every stage passed"
echo "total: $passed passed, $nfailed failed"
