#!/usr/bin/env bash
# Checks the files other package managers and the release read, against what is built here:
#   1. packaging/build-archive.sh for this machine (x86_64-unknown-linux-gnu, the release binary):
#      the archive's layout, the binary in it runs;
#   2. the Homebrew formula rendered from the archive's real SHA-256 (packaging/homebrew/render.sh):
#      `ruby -c`, then check-formula.rb runs its `install` against the extracted archive and its
#      own `test do` block on the result (brew itself is not installable here);
#   3. the winget manifests rendered the same way, validated with check-jsonschema against
#      winget's own schemas (packaging/winget/schemas, copied from microsoft/winget-cli), and
#      the zip's layout holding the file NestedInstallerFiles names;
#   4. .github/workflows/*.yml against SchemaStore's GitHub-workflow schema (vendored in
#      check-jsonschema) and parsed by PyYAML.
# The archives of the other platforms cannot be built here: render.sh needs a checksum for each,
# so stand-ins (copies of this machine's archive under their names) give real checksums of real
# files, and only this machine's entry is checked against its archive. The Windows zip is laid
# out by build-archive.sh around this machine's binary, for the layout check only.
# Usage: packaging/test-manifests.sh. Prints one line per check and "N passed, M failed" last.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1
venv=${TPLAB_OPT:-/opt/trust-proxy-lab}/packaging-venv
check_jsonschema=$venv/bin/check-jsonschema

# shellcheck source=packaging/checks.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/checks.sh"

scratch=$(mktemp -d /tmp/trust-proxy-test-manifests.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
version=$(cargo metadata --no-deps --format-version 1 --locked |
  jq -r '.packages[] | select(.name == "trust-proxy") | .version')
host=x86_64-unknown-linux-gnu

# ---- 1. the archive ----
archive=$(packaging/build-archive.sh "$host" target/release/trust-proxy | tail -n 1)
name=trust-proxy-$version-$host
check "archive $(basename "$archive") built" test -f "$archive"
tar -xzf "$archive" -C "$scratch"
for f in trust-proxy README.md man/trust-proxy.1 man/trust-proxy-export.1 completions/trust-proxy.bash \
  completions/_trust-proxy completions/trust-proxy.fish completions/_trust-proxy.ps1; do
  check "archive holds $f" test -f "$scratch/$name/$f"
done
check "archived binary prints its version" grep -qxF "trust-proxy $version" <("$scratch/$name/trust-proxy" --version)
win_zip=$(packaging/build-archive.sh x86_64-pc-windows-msvc target/release/trust-proxy | tail -n 1)

# ---- checksums: this machine's archive, stand-ins for the rest ----
mkdir -p "$scratch/dist"
cp "$archive" "$win_zip" "$scratch/dist/"
for t in aarch64-apple-darwin x86_64-apple-darwin aarch64-unknown-linux-gnu; do
  cp "$archive" "$scratch/dist/trust-proxy-$version-$t.tar.gz"
done
(cd "$scratch/dist" && sha256sum -- *.tar.gz *.zip >SHA256SUMS)
archive_sha=$(sha256sum "$archive" | cut -d' ' -f1)

# ---- 2. Homebrew ----
base_url=https://releases.invalid/trust-proxy/v$version
check "formula as committed parses (ruby -c)" ruby -c packaging/homebrew/trust-proxy.rb
check "render.sh fills every token" \
  bash -c 'packaging/homebrew/render.sh "$1" "$2" https://trust-proxy.invalid "$3" >"$4"' _ \
  "$version" "$base_url" "$scratch/dist/SHA256SUMS" "$scratch/trust-proxy.rb"
check "rendered formula parses (ruby -c)" ruby -c "$scratch/trust-proxy.rb"
check "render.sh refuses a release without one archive's checksum" \
  bash -c '! packaging/homebrew/render.sh "$1" "$2" h <(grep -v aarch64-apple-darwin "$3") >/dev/null 2>&1' _ \
  "$version" "$base_url" "$scratch/dist/SHA256SUMS"
check "formula installs from the archive and its test block passes" \
  ruby packaging/homebrew/check-formula.rb "$scratch/trust-proxy.rb" "$scratch/$name" "$scratch/prefix" \
  "$(basename "$archive")" "$archive_sha"

# ---- 3. winget ----
check "winget render.sh fills every token" packaging/winget/render.sh "$version" "$base_url" \
  https://trust-proxy.invalid "trust-proxy maintainers" 2026-11-30 "$scratch/dist/SHA256SUMS" "$scratch/winget"
for kind in version installer defaultLocale; do
  case $kind in
    version) file=TrustProxy.TrustProxy.yaml ;;
    installer) file=TrustProxy.TrustProxy.installer.yaml ;;
    defaultLocale) file=TrustProxy.TrustProxy.locale.en-US.yaml ;;
  esac
  check "winget $file valid against manifest.$kind.1.10.0.json" \
    "$check_jsonschema" --schemafile "packaging/winget/schemas/manifest.$kind.1.10.0.json" "$scratch/winget/$file"
done
check "the zip holds the file NestedInstallerFiles names" python3 - "$scratch/winget/TrustProxy.TrustProxy.installer.yaml" "$win_zip" <<'PY'
import sys, yaml, zipfile
manifest = yaml.safe_load(open(sys.argv[1]))
names = set(zipfile.ZipFile(sys.argv[2]).namelist())
for nested in manifest["NestedInstallerFiles"]:
    path = nested["RelativeFilePath"].replace("\\", "/")
    assert path in names, (path, sorted(names)[:5])
PY
check "the installer's SHA-256 is the zip's" \
  grep -qi "InstallerSha256: \"$(sha256sum "$win_zip" | cut -d' ' -f1)\"" "$scratch/winget/TrustProxy.TrustProxy.installer.yaml"

# ---- 4. workflows ----
for wf in .github/workflows/*.yml; do
  check "$wf valid against the GitHub workflow schema" "$check_jsonschema" --builtin-schema vendor.github-workflows "$wf"
  check "$wf parses (PyYAML)" python3 -c 'import sys, yaml; yaml.safe_load(open(sys.argv[1]))' "$wf"
done

echo "$passed passed, $failed failed"
((failed == 0))
