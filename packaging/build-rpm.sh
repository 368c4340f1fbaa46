#!/usr/bin/env bash
# Builds target/packages/trust-proxy-<version>-1.<arch>.rpm from the release binary, the
# generated man pages and completions, and `[package.metadata.generate-rpm]` of Cargo.toml
# (cargo-generate-rpm, which needs no rpmbuild). Prints the path of the .rpm last.
# packaging/test-rpm.sh checks it.
set -euo pipefail
# shellcheck source=packaging/common.sh
source "$(dirname "$0")/common.sh"

ensure_cargo_tool cargo-generate-rpm generate-rpm
build_release_and_assets
mkdir -p target/packages
# One package per run: the test scripts take the only .rpm there.
rm -f target/packages/*.rpm
version=$(cargo metadata --no-deps --format-version 1 --locked |
  jq -r '.packages[] | select(.name == "trust-proxy") | .version')
out="target/packages/trust-proxy-$version-1.$(uname -m).rpm"
cargo generate-rpm --output "$out" >/dev/null
echo "$out"
