#!/usr/bin/env bash
# Fills packaging/homebrew/trust-proxy.rb's tokens for one release and prints the formula.
# Usage: packaging/homebrew/render.sh VERSION BASE_URL HOMEPAGE SHA256SUMS
#   BASE_URL: where the archives are downloaded from (the release's download URL);
#   SHA256SUMS: `sha256sum` lines for the archives (the release's checksum file).
# Fails when an archive the formula names has no checksum, or a token is left.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=${1:?VERSION} base_url=${2:?BASE_URL} homepage=${3:?HOMEPAGE} sums=${4:?SHA256SUMS}
formula=$(<"$here/trust-proxy.rb")
formula=${formula//@VERSION@/$version}
formula=${formula//@BASE_URL@/$base_url}
formula=${formula//@HOMEPAGE@/$homepage}
for target in aarch64-apple-darwin x86_64-apple-darwin aarch64-unknown-linux-gnu x86_64-unknown-linux-gnu; do
  archive=trust-proxy-$version-$target.tar.gz
  sum=$(awk -v f="$archive" '$2 == f || $2 == "*" f {print $1}' "$sums")
  [[ $sum =~ ^[0-9a-f]{64}$ ]] || { echo "render: no SHA-256 for $archive in $sums" >&2; exit 1; }
  formula=${formula//@SHA256_$target@/$sum}
done
if grep -q '@[A-Za-z0-9_-]*@' <<<"$formula"; then
  echo "render: tokens left: $(grep -o '@[A-Za-z0-9_-]*@' <<<"$formula" | sort -u | tr '\n' ' ')" >&2
  exit 1
fi
printf '%s\n' "$formula"
