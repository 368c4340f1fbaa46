# Homebrew formula for trust-proxy, installing the release archives of one tag (no Rust
# toolchain on the laptop). As committed, tokens between at signs stand where packaging/homebrew/render.sh
# puts the version, the release's download URL and each archive's SHA-256 (from the release's
# SHA256SUMS); the release workflow attaches the rendered formula to the release, for a tap.
class TrustProxy < Formula
  desc "Find the root CA of a TLS-intercepting corporate proxy and trust it properly"
  homepage "@HOMEPAGE@"
  version "@VERSION@"
  license any_of: ["MIT", "Apache-2.0"]

  on_macos do
    on_arm do
      url "@BASE_URL@/trust-proxy-@VERSION@-aarch64-apple-darwin.tar.gz"
      sha256 "@SHA256_aarch64-apple-darwin@"
    end
    on_intel do
      url "@BASE_URL@/trust-proxy-@VERSION@-x86_64-apple-darwin.tar.gz"
      sha256 "@SHA256_x86_64-apple-darwin@"
    end
  end

  on_linux do
    on_arm do
      url "@BASE_URL@/trust-proxy-@VERSION@-aarch64-unknown-linux-gnu.tar.gz"
      sha256 "@SHA256_aarch64-unknown-linux-gnu@"
    end
    on_intel do
      url "@BASE_URL@/trust-proxy-@VERSION@-x86_64-unknown-linux-gnu.tar.gz"
      sha256 "@SHA256_x86_64-unknown-linux-gnu@"
    end
  end

  def install
    bin.install "trust-proxy"
    man1.install Dir["man/*.1"]
    bash_completion.install "completions/trust-proxy.bash" => "trust-proxy"
    zsh_completion.install "completions/_trust-proxy"
    fish_completion.install "completions/trust-proxy.fish"
    doc.install "README.md"
  end

  def caveats
    <<~EOS
      Installing trust-proxy trusts nothing by itself. To trust your proxy's root CA:
        trust-proxy discover
        sudo trust-proxy install --scope system --fingerprint SHA256
      with the SHA-256 fingerprint your IT department publishes. Managed Macs get the CA
      from an MDM profile: trust-proxy export --format mobileconfig.
    EOS
  end

  test do
    assert_match "trust-proxy #{version}", shell_output("#{bin}/trust-proxy --version")
  end
end
