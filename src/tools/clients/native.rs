//! curl, git and openssl: OpenSSL/GnuTLS-based clients with their own default bundles.

use super::{Env, Recipe, Site};

pub const CURL: &[&str] = &["curl"];
pub const GIT: &[&str] = &["git"];
pub const OPENSSL: &[&str] = &["openssl"];

/// The body is written to a file and never read: only the status matters.
pub fn curl(site: &Site, timeout: f64) -> Recipe {
    let url = site.url("https://crates.io/", "/");
    let secs = timeout.to_string();
    let write_out = format!("\n{} %{{http_code}}\n", super::classify::STATUS_MARKER);
    Recipe {
        args: [
            "--silent",
            "--show-error",
            // Overrides an `insecure` line in .curlrc: only verified trust counts.
            "--no-insecure",
            "--max-time",
            &secs,
            "--max-filesize",
            "4194304",
            "--output",
            "body",
            "--write-out",
            &write_out,
            &url,
        ]
        .iter()
        .map(|a| a.into())
        .collect(),
        files: Vec::new(),
        env: Vec::new(),
        url,
    }
}

/// `git ls-remote` of one ref: the ref advertisement over HTTPS, with git's trust.
pub fn git(site: &Site) -> Recipe {
    let url = site.url(
        "https://github.com/git/git.git",
        "/trust-proxy-verify-probe.git",
    );
    Recipe {
        args: [
            "-c",
            // Overrides `http.sslVerify=false` in any git config (GIT_SSL_NO_VERIFY is removed
            // from the environment).
            "http.sslVerify=true",
            "ls-remote",
            &url,
            "HEAD",
        ]
        .iter()
        .map(|a| a.into())
        .collect(),
        files: Vec::new(),
        // Never wait at a credential prompt.
        env: vec![("GIT_TERMINAL_PROMPT".into(), "0".into())],
        url,
    }
}

/// `openssl s_client` with the default verify paths: a handshake with verification and the
/// host name checked, no HTTP. The proxy chosen for it is passed with `-proxy` (OpenSSL 3).
pub fn openssl(site: &Site, proxy: Option<&crate::discover::proxy::ProxyEndpoint>) -> Recipe {
    let (host, port) = site.host_port("static.crates.io");
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut args: Vec<String> = vec![
        "s_client".into(),
        "-connect".into(),
        authority.clone(),
        "-verify_return_error".into(),
    ];
    if host.parse::<std::net::IpAddr>().is_ok() {
        args.extend(["-verify_ip".into(), host.clone()]);
    } else {
        args.extend([
            "-servername".into(),
            host.clone(),
            "-verify_hostname".into(),
            host.clone(),
        ]);
    }
    let mut env = Vec::new();
    if let Some(p) = proxy {
        args.extend(["-proxy".into(), p.address().authority()]);
        if let Some(c) = &p.credentials {
            // The password through the environment, never on a command line `ps` shows.
            args.extend([
                "-proxy_user".into(),
                c.user.clone(),
                "-proxy_pass".into(),
                "env:TP_VERIFY_PROXY_PASSWORD".into(),
            ]);
            env.push(("TP_VERIFY_PROXY_PASSWORD".to_string(), c.password.clone()));
        }
    }
    Recipe {
        args: args.into_iter().map(Into::into).collect(),
        files: Vec::new(),
        env,
        url: format!("tls://{authority}"),
    }
}

pub fn trust(client: super::ClientId, env: &Env) -> String {
    use super::ClientId;
    match client {
        ClientId::Curl => env
            .first_set(&["CURL_CA_BUNDLE", "SSL_CERT_DIR", "SSL_CERT_FILE"])
            .map(|(k, v)| {
                format!("{k}={v} (replaces curl's default; a `cacert` in .curlrc wins over it)")
            })
            .unwrap_or_else(|| {
                "`cacert` in .curlrc if set, else curl's built-in bundle".to_string()
            }),
        ClientId::Git => env
            .first_set(&["GIT_SSL_CAINFO"])
            .map(|(k, v)| format!("{k}={v} (replaces the default)"))
            .unwrap_or_else(|| {
                "`http.sslCAInfo` in git config if set, else the TLS library's default bundle"
                    .to_string()
            }),
        _ => env
            .first_set(&["SSL_CERT_FILE", "SSL_CERT_DIR"])
            .map(|(k, v)| format!("{k}={v} (replaces OpenSSL's default paths)"))
            .unwrap_or_else(|| "OpenSSL's default verify paths".to_string()),
    }
}
