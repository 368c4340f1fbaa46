#!/usr/bin/env bash
# Fills the winget manifests' tokens for one release into OUTDIR (the three files of
# manifests/t/TrustProxy/TrustProxy/VERSION/ in a winget-pkgs pull request).
# Usage: packaging/winget/render.sh VERSION BASE_URL HOMEPAGE PUBLISHER RELEASE_DATE SHA256SUMS OUTDIR
# Fails when the Windows archive has no checksum or a token is left.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=${1:?VERSION} base_url=${2:?BASE_URL} homepage=${3:?HOMEPAGE} publisher=${4:?PUBLISHER}
release_date=${5:?RELEASE_DATE} sums=${6:?SHA256SUMS} outdir=${7:?OUTDIR}
archive=trust-proxy-$version-x86_64-pc-windows-msvc.zip
sum=$(awk -v f="$archive" '$2 == f || $2 == "*" f {print toupper($1)}' "$sums")
[[ $sum =~ ^[0-9A-F]{64}$ ]] || { echo "render: no SHA-256 for $archive in $sums" >&2; exit 1; }
mkdir -p "$outdir"
for file in "$here"/TrustProxy.TrustProxy*.yaml; do
  text=$(<"$file")
  text=${text//@VERSION@/$version}
  text=${text//@BASE_URL@/$base_url}
  text=${text//@HOMEPAGE@/$homepage}
  text=${text//@PUBLISHER@/$publisher}
  text=${text//@RELEASE_DATE@/$release_date}
  text=${text//@SHA256_x86_64-pc-windows-msvc@/$sum}
  if grep -q '@[A-Za-z0-9_-]*@' <<<"$text"; then
    echo "render: tokens left in $(basename "$file")" >&2
    exit 1
  fi
  printf '%s\n' "$text" >"$outdir/$(basename "$file")"
done
echo "$outdir"
