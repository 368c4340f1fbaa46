# Shared by packaging/build-*.sh: the release binary and the generated man pages and
# completions in target/assets/, both read by the cargo-deb and cargo-generate-rpm metadata.
# Sourced, not run.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

# The cargo subcommand, installed from crates.io when missing (CI starts from a fresh machine).
ensure_cargo_tool() {
  local crate=$1 subcommand=$2
  if ! cargo "$subcommand" --version >/dev/null 2>&1; then
    echo "packaging: cargo install --locked $crate"
    cargo install --locked "$crate"
  fi
}

# Reuses what `cargo build --release` already produced (fat LTO takes minutes): cargo only
# relinks when a source changed.
build_release_and_assets() {
  cargo build --release --locked
  # Regenerated from scratch so a page for a command that no longer exists is not packaged.
  rm -rf target/assets
  cargo run --locked --quiet --example gen-assets -- target/assets >/dev/null
  echo "packaging: $(find target/assets -type f | wc -l) generated files in target/assets"
}
