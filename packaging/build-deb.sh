#!/usr/bin/env bash
# Builds target/packages/trust-proxy_<version>_<arch>.deb from the release binary, the generated
# man pages and completions, and the `[package.metadata.deb]` of Cargo.toml (cargo-deb).
# Prints the path of the .deb last. packaging/test-deb.sh checks it.
set -euo pipefail
# shellcheck source=packaging/common.sh
source "$(dirname "$0")/common.sh"

ensure_cargo_tool cargo-deb deb
build_release_and_assets
# A Debian changelog entry for this version; its date is the last commit's, so two builds of
# one commit give the same package.
version=$(cargo metadata --no-deps --format-version 1 --locked |
  jq -r '.packages[] | select(.name == "trust-proxy") | .version')
maintainer=$(cargo metadata --no-deps --format-version 1 --locked |
  jq -r '.packages[] | select(.name == "trust-proxy") | .metadata.deb.maintainer')
cat >target/assets/changelog.Debian <<CHANGELOG
trust-proxy ($version-1) unstable; urgency=medium

  * Release $version: README.md (/usr/share/doc/trust-proxy) says what it does.

 -- $maintainer  $(LC_ALL=C date -R -u -d "@$(git log -1 --format=%ct)")
CHANGELOG
mkdir -p target/packages
# One package per run: the test scripts take the only .deb there.
rm -f target/packages/*.deb
# --no-build: the binary above is the one to ship, not a second build.
cargo deb --no-build --locked --output target/packages/ | tail -n 1
