#!/bin/sh
# trust-proxy onboarding for a new Linux or macOS machine: installs trust-proxy (the .deb, .rpm,
# Homebrew formula, or the static archive), trusts the company proxy's root CA machine-wide with
# the company's pinned fingerprint, and prints what to do next. IT fills in the settings below
# once and publishes this file; a new employee runs it once:
#   sudo sh onboard.sh
# Every setting can also be given in the environment (TRUST_PROXY_FINGERPRINT=... sh onboard.sh).
# Exit codes: trust-proxy install's own (0 trusted or already trusted, 6 the pin did not match:
# nothing changed, ...; see `trust-proxy --help`), or 20 when trust-proxy could not be installed.

# ---- company settings ----
# SHA-256 fingerprint(s) of the proxy's root CA, as IT publishes them (space-separated during a
# rotation). Required: the CA is never trusted without a pin here.
: "${TRUST_PROXY_FINGERPRINT:=}"
# The proxy, when neither the environment nor the OS settings name it (http://proxy.corp:3128).
: "${TRUST_PROXY_PROXY:=}"
# Hosts to probe through the proxy (space-separated HOST[:PORT]); empty: trust-proxy's defaults.
: "${TRUST_PROXY_TARGETS:=}"
# Where the release files are published (the release download URL, or an internal mirror) and
# which version to install; the SHA256SUMS file there is checked before anything is installed.
: "${TRUST_PROXY_BASE_URL:=}"
: "${TRUST_PROXY_VERSION:=0.1.0}"
# A package already on this machine (.deb or .rpm), instead of downloading one.
: "${TRUST_PROXY_PACKAGE_FILE:=}"
# ---- end of settings ----

set -eu
say() { printf 'onboard: %s\n' "$*"; }
die() { printf 'onboard: error: %s\n' "$*" >&2; exit "${2:-20}"; }

[ -n "$TRUST_PROXY_FINGERPRINT" ] || die "TRUST_PROXY_FINGERPRINT is empty: IT sets the proxy CA's SHA-256 at the top of this script" 2
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "run as root (the CA is trusted machine-wide)" 8
  say "the CA is trusted machine-wide: asking sudo"
  exec sudo TRUST_PROXY_FINGERPRINT="$TRUST_PROXY_FINGERPRINT" TRUST_PROXY_PROXY="$TRUST_PROXY_PROXY" \
    TRUST_PROXY_TARGETS="$TRUST_PROXY_TARGETS" TRUST_PROXY_BASE_URL="$TRUST_PROXY_BASE_URL" \
    TRUST_PROXY_VERSION="$TRUST_PROXY_VERSION" TRUST_PROXY_PACKAGE_FILE="$TRUST_PROXY_PACKAGE_FILE" \
    SUDO_ONBOARD_USER="$(id -un)" sh "$0"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/trust-proxy-onboard.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Downloads NAME from the base URL into $work and checks it against the release's SHA256SUMS.
fetch_verified() {
  name=$1
  [ -n "$TRUST_PROXY_BASE_URL" ] || die "no package file given and TRUST_PROXY_BASE_URL is empty: nothing to install from"
  curl -fsSL --proto '=https,http' -o "$work/SHA256SUMS" "$TRUST_PROXY_BASE_URL/SHA256SUMS" || die "download of SHA256SUMS failed"
  curl -fsSL --proto '=https,http' -o "$work/$name" "$TRUST_PROXY_BASE_URL/$name" || die "download of $name failed"
  want=$(awk -v f="$name" '$2 == f || $2 == "*" f {print $1}' "$work/SHA256SUMS")
  [ -n "$want" ] || die "SHA256SUMS lists no $name"
  if command -v sha256sum >/dev/null 2>&1; then got=$(sha256sum "$work/$name" | cut -d' ' -f1)
  else got=$(shasum -a 256 "$work/$name" | cut -d' ' -f1); fi
  [ "$got" = "$want" ] || die "$name has SHA-256 $got, SHA256SUMS says $want: not installed"
  printf '%s\n' "$work/$name"
}

install_trust_proxy() {
  package=$TRUST_PROXY_PACKAGE_FILE
  if command -v dpkg >/dev/null 2>&1 && { [ -z "$package" ] || [ "${package%.deb}" != "$package" ]; }; then
    [ -n "$package" ] || package=$(fetch_verified "trust-proxy_${TRUST_PROXY_VERSION}-1_$(dpkg --print-architecture).deb")
    say "installing $(basename "$package") (dpkg)"
    dpkg -i "$package" >/dev/null || { apt-get install -y -f >/dev/null && dpkg -i "$package" >/dev/null; } ||
      die "dpkg -i $package failed"
  elif command -v rpm >/dev/null 2>&1 && { [ -z "$package" ] || [ "${package%.rpm}" != "$package" ]; }; then
    [ -n "$package" ] || package=$(fetch_verified "trust-proxy-${TRUST_PROXY_VERSION}-1.$(uname -m).rpm")
    say "installing $(basename "$package") (rpm)"
    if command -v dnf >/dev/null 2>&1; then dnf install -y "$package" >/dev/null; else rpm -U "$package"; fi ||
      die "installing $package failed"
  elif [ "$(uname -s)" = Darwin ] && command -v brew >/dev/null 2>&1 && [ -n "${SUDO_ONBOARD_USER:-}" ]; then
    # Homebrew refuses root: the formula is installed as the person who ran the script.
    formula=$(fetch_verified trust-proxy.rb)
    chmod 0644 "$formula"
    say "installing the Homebrew formula as $SUDO_ONBOARD_USER"
    sudo -u "$SUDO_ONBOARD_USER" brew install --formula "$formula" || die "brew install failed"
  else
    case "$(uname -s)-$(uname -m)" in
      Linux-x86_64) target=x86_64-unknown-linux-musl ;;
      Linux-aarch64) target=aarch64-unknown-linux-musl ;;
      Darwin-arm64) target=aarch64-apple-darwin ;;
      Darwin-x86_64) target=x86_64-apple-darwin ;;
      *) die "no trust-proxy build for $(uname -s) $(uname -m)" ;;
    esac
    archive=$(fetch_verified "trust-proxy-$TRUST_PROXY_VERSION-$target.tar.gz")
    say "installing $(basename "$archive") into /usr/local/bin"
    tar -xzf "$archive" -C "$work"
    install -d /usr/local/bin
    install -m 0755 "$work/trust-proxy-$TRUST_PROXY_VERSION-$target/trust-proxy" /usr/local/bin/trust-proxy
  fi
}

if command -v trust-proxy >/dev/null 2>&1 && [ "$(trust-proxy --version)" = "trust-proxy $TRUST_PROXY_VERSION" ]; then
  say "trust-proxy $TRUST_PROXY_VERSION is already installed ($(command -v trust-proxy))"
else
  install_trust_proxy
  command -v trust-proxy >/dev/null 2>&1 || PATH=$PATH:/usr/local/bin
  trust-proxy --version >/dev/null 2>&1 || die "trust-proxy does not run after installing it"
  say "installed $(trust-proxy --version) at $(command -v trust-proxy)"
fi

set -- install --scope system
for fingerprint in $TRUST_PROXY_FINGERPRINT; do set -- "$@" --fingerprint "$fingerprint"; done
[ -z "$TRUST_PROXY_PROXY" ] || set -- "$@" --proxy "$TRUST_PROXY_PROXY"
for target in $TRUST_PROXY_TARGETS; do set -- "$@" --target "$target"; done
say "trust-proxy $*"
status=0
trust-proxy "$@" || status=$?

case $status in
  0)
    cat <<NEXT

onboard: done. The proxy's root CA is trusted machine-wide (its fingerprint matched the pin).
Next steps, as yourself (not root), in a new terminal:
  trust-proxy configure-tools    # pip, uv, npm, git, cargo, ... use the CA too
  trust-proxy verify             # one real request per tool through the proxy
  trust-proxy status             # what was installed, and whether it is intact
Undo everything: sudo trust-proxy uninstall --scope system
NEXT
    ;;
  6) say "refused: the proxy's CA does not match the company's pin; nothing was changed. Tell IT (the proxy may have rotated its CA, or this network is not the company's)." ;;
  9) say "installed, but a check through the proxy failed: run trust-proxy verify and send its output to IT" ;;
  *) say "trust-proxy install exited $status (see its message above)" ;;
esac
exit "$status"
