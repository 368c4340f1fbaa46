#!/usr/bin/env bash
# Builds a statically linked Linux binary with glibc (`-C target-feature=+crt-static`):
# target/x86_64-unknown-linux-gnu/release/trust-proxy, runnable on any x86_64 distribution,
# in an empty container or chroot. musl is the usual way; its Rust target cannot be installed
# on this workplace (rustup downloads nothing here), so the release workflow builds the musl
# archives and this script the glibc one that the tests here run.
# Name resolution: glibc 2.34+ carries its "files" and "dns" lookups inside libc, so /etc/hosts
# and /etc/resolv.conf work from a static binary; NSS modules it would dlopen (systemd's
# "resolve" and "myhostname", mdns, sss, ldap) are not available to it.
# Prints the binary's path last. packaging/test-static.sh checks it.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
target=$(rustc -vV | sed -n 's/^host: //p')
case $target in
  *-linux-gnu) ;;
  *) echo "build-static: needs a *-linux-gnu host, not $target" >&2; exit 1 ;;
esac
# An explicit --target keeps these flags out of the host build (build scripts, proc macros).
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" cargo build --release --locked --target "$target"
echo "target/$target/release/trust-proxy"
