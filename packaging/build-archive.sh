#!/usr/bin/env bash
# Packs one release archive: target/dist/trust-proxy-VERSION-TARGET.tar.gz (.zip for Windows)
# holding trust-proxy-VERSION-TARGET/{trust-proxy[.exe], README.md, man/*.1, completions/*},
# the layout packaging/homebrew/trust-proxy.rb, the winget manifest and
# packaging/windows/install.ps1 expect. The binary is the one already built for TARGET
# (target/TARGET/release, else target/release for the host); man pages and completions are
# generated from the clap definitions (examples/gen-assets.rs), run on the build machine.
# Usage: packaging/build-archive.sh TARGET [BINARY]. Prints the archive's path last.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
target=${1:?usage: build-archive.sh TARGET [BINARY]}
exe=trust-proxy
[[ $target == *windows* ]] && exe=trust-proxy.exe
binary=${2:-}
if [[ -z $binary ]]; then
  binary=target/$target/release/$exe
  [[ -f $binary ]] || binary=target/release/$exe
fi
[[ -f $binary ]] || { echo "build-archive: $binary not built" >&2; exit 1; }
version=$(cargo metadata --no-deps --format-version 1 --locked |
  jq -r '.packages[] | select(.name == "trust-proxy") | .version')
name=trust-proxy-$version-$target
stage=target/dist/stage/$name
rm -rf "$stage"
mkdir -p "$stage/man" "$stage/completions"
cargo run --locked --quiet --example gen-assets -- "$stage/assets" >/dev/null
mv "$stage"/assets/*.1 "$stage/man/"
mv "$stage"/assets/* "$stage/completions/"
rmdir "$stage/assets"
cp "$binary" "$stage/$exe"
cp README.md "$stage/"
cd target/dist/stage
# Stable archives: sorted names, fixed owner and the last commit's time.
mtime=$(git -C "$repo" log -1 --format=%ct)
if [[ $target == *windows* ]]; then
  out=$repo/target/dist/$name.zip
  rm -f "$out"
  find "$name" -exec touch -d "@$mtime" {} + 2>/dev/null || true
  if command -v zip >/dev/null 2>&1; then
    find "$name" | LC_ALL=C sort | zip -q -X "$out" -@
  else
    # GitHub's Windows runners have 7-Zip, not Info-ZIP.
    7z a -tzip -bd "$out" "$name" >/dev/null
  fi
else
  out=$repo/target/dist/$name.tar.gz
  if tar --version 2>/dev/null | grep -q 'GNU tar'; then
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" -cf - "$name" | gzip -n >"$out"
  else
    # macOS's bsdtar: no reproducibility flags, same layout.
    tar -cf - "$name" | gzip -n >"$out"
  fi
fi
echo "$out"
