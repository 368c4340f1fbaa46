//! The trust-proxy binary run as a script runs it: nothing inherited from whoever runs the tests
//! (their proxy, shell or proxy password) decides what the test sees, and output comes back as text.

use std::process::{Command, Stdio};

/// Settings a developer's or CI's environment may hold that would change what trust-proxy does.
pub const INHERITED_SETTINGS: &[&str] = &[
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "SHELL",
    "TRUST_PROXY_PROXY_PASSWORD",
    // The configuration layers (README "Configuration"): a developer's own must not steer tests.
    "TRUST_PROXY_CONFIG",
    "TRUST_PROXY_FINGERPRINTS",
    "TRUST_PROXY_PROXY",
    "TRUST_PROXY_PAC",
    "TRUST_PROXY_ALLOW_PROXY",
    "TRUST_PROXY_TARGETS",
    "TRUST_PROXY_TIMEOUT",
    "TRUST_PROXY_PUBLIC_ROOTS",
    "TRUST_PROXY_SCOPE",
    "TRUST_PROXY_TOOLS",
    "XDG_CONFIG_HOME",
    // The other proxy sources: plain-HTTP proxy variables, the desktop's KDE settings (found
    // through the desktop name and the config search path), WSL's PAC URL, and sudo's record of
    // the invoking user (a developer running the tests under sudo must not make them read their
    // own desktop settings).
    "HTTP_PROXY",
    "http_proxy",
    "XDG_CURRENT_DESKTOP",
    "XDG_CONFIG_DIRS",
    "WSL_PAC_URL",
    "SUDO_USER",
    "SUDO_UID",
    "SUDO_GID",
    // Where the tools keep their settings and which CA they are told to use: doctor and verify
    // read them, and a developer's own must not decide what a test sees.
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "NODE_TLS_REJECT_UNAUTHORIZED",
    "PIP_CERT",
    "PIP_CONFIG_FILE",
    "NPM_CONFIG_USERCONFIG",
    "npm_config_userconfig",
    "GIT_SSL_CAINFO",
    "GIT_SSL_NO_VERIFY",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "CURL_HOME",
    "WGETRC",
    "AWS_CA_BUNDLE",
    "AWS_CONFIG_FILE",
    "CLOUDSDK_CONFIG",
    "CONDARC",
];

/// `exe` (pass `env!("CARGO_BIN_EXE_trust-proxy")`) without [`INHERITED_SETTINGS`], stdin closed.
pub fn clean_command(exe: &str) -> Command {
    let mut c = Command::new(exe);
    for var in INHERITED_SETTINGS {
        c.env_remove(var);
    }
    // The desktop's GNOME proxy settings are a proxy source too: an empty in-memory store keeps
    // them out (tests that want GNOME settings point gsettings at their own keyfile).
    c.env("GSETTINGS_BACKEND", "memory");
    c.stdin(Stdio::null());
    c
}

/// Runs `c` to the end: exit code (-1 when killed by a signal), stdout, stderr.
pub fn output_text(c: &mut Command) -> std::io::Result<(i32, String, String)> {
    let out = c.output()?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}
