//! What a person reads when discover or `trust-proxy proxy` meets a proxy or server that does
//! not cooperate, as reviewed snapshots (tests/snapshots/): each failure says what happened in
//! words and what to run next. Loopback only: the testkit's in-process proxies and servers, and
//! port 1, where nothing listens. Placeholders as in tests/human_output.rs.
#![cfg(target_os = "linux")]

#[path = "support/human.rs"]
mod human;
use human::{bin, corp_proxy, fingerprint, outcome, snapshot};
use std::sync::Arc;
use trust_proxy_testkit::*;

/// Nothing listens on port 1 of loopback: a connect there is refused at once.
const CLOSED: &str = "http://127.0.0.1:1";

/// A connect's duration (`in 0 ms`) differs from run to run: shown as `in [n] ms`.
fn without_durations(text: String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find(" in ") {
        let (before, after) = rest.split_at(at + " in ".len());
        out.push_str(before);
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 && after[digits..].starts_with(" ms") {
            out.push_str("[n]");
            rest = &after[digits..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn proxy_behaving(behaviour: Behaviour) -> ProxyHandle {
    let root = Arc::new(Ca::new_root("Snapshot Misbehaving Root"));
    InterceptingProxy::start(
        ProxyConfig::new(mint_from(root.clone(), vec![root.cert_der()])).behaviour(behaviour),
    )
    .unwrap()
}

fn discover_through(home: &std::path::Path, proxy: &str, extra: &[&str]) -> String {
    outcome(
        home,
        bin(home)
            .args(["discover", "--target", "pypi.org", "--proxy", proxy])
            .args(extra),
    )
}

#[test]
fn discover_when_the_proxy_does_not_cooperate() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();

    let refusing = proxy_behaving(Behaviour::Status("HTTP/1.1 403 Forbidden".to_string()));
    snapshot!(
        "discover_proxy_refused_connect",
        discover_through(h, &refusing.url(), &[])
    );

    snapshot!(
        "discover_proxy_unreachable",
        discover_through(h, CLOSED, &[])
    );

    let silent = proxy_behaving(Behaviour::Silent);
    snapshot!(
        "discover_timeout",
        discover_through(h, &silent.url(), &["--timeout", "1"])
    );

    let alert = proxy_behaving(Behaviour::TlsAlert);
    snapshot!(
        "discover_tls_refused_by_the_server",
        discover_through(h, &alert.url(), &[])
    );

    let not_tls = proxy_behaving(Behaviour::NonTlsAfter200);
    snapshot!(
        "discover_not_tls_through_the_tunnel",
        discover_through(h, &not_tls.url(), &[])
    );
}

#[test]
fn discover_when_the_proxy_wants_a_login() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let root = Arc::new(Ca::new_root("Snapshot Login Root"));
    let proxy = InterceptingProxy::start(
        ProxyConfig::new(mint_from(root.clone(), vec![root.cert_der()]))
            .auth(BasicAuth::new("alice", "right")),
    )
    .unwrap();
    snapshot!(
        "discover_proxy_407_nothing_sent",
        discover_through(h, &proxy.url(), &[])
    );
    snapshot!(
        "discover_proxy_407_rejected",
        outcome(
            h,
            bin(h).env("TRUST_PROXY_PROXY_PASSWORD", "wrong").args([
                "discover",
                "--target",
                "pypi.org",
                "--proxy",
                &proxy.url(),
                "--proxy-user",
                "alice"
            ])
        )
    );
}

#[test]
fn discover_with_files_given() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (root, proxy) = corp_proxy("Snapshot Files Root");

    // A server certificate given where a CA is wanted: said, not silently ignored.
    let leaf = root.issue_leaf("leaf.example", None);
    let leaf_file = h.join("leaf.pem");
    std::fs::write(&leaf_file, leaf.cert_pem()).unwrap();
    let report = outcome(
        h,
        bin(h)
            .args(["discover", "--target", "pypi.org", "--proxy", &proxy.url()])
            .arg("--ca-file")
            .arg(&leaf_file),
    );
    // The pin the report proposes is the root's (the snapshot shows it as a placeholder).
    let next = report
        .lines()
        .find(|l| l.contains("trust-proxy install --fingerprint"))
        .unwrap_or_default();
    assert!(
        next.replace(':', "")
            .to_lowercase()
            .contains(&fingerprint(&root.cert_der())),
        "{report}"
    );
    snapshot!("discover_ca_file_not_a_ca", report);

    // The proxy's root counted as public: what a network without interception looks like.
    let roots = h.join("public.pem");
    std::fs::write(&roots, root.cert_pem()).unwrap();
    snapshot!(
        "discover_public_roots_only",
        outcome(
            h,
            bin(h)
                .args(["discover", "--target", "pypi.org", "--proxy", &proxy.url()])
                .arg("--public-roots")
                .arg(&roots)
        )
    );

    // A public root (for this run) whose server certificate expired: not interception, and the
    // reason in words, not webpki's `CertExpired { time: UnixTime(..), .. }`.
    let expired = root.issue_leaf_with(
        &["127.0.0.1"],
        None,
        &LeafOptions {
            validity: Some(((2000, 1, 1), (2001, 1, 1))),
            ..LeafOptions::default()
        },
    );
    let server =
        TlsServer::start_local(mint_fixed(Minted::new(&expired, &[root.cert_der()]))).unwrap();
    let report = outcome(
        h,
        bin(h)
            .args([
                "discover",
                "--no-proxy",
                "--target",
                &server.addr().to_string(),
            ])
            .arg("--public-roots")
            .arg(&roots),
    );
    snapshot!("discover_public_root_expired_leaf", report);

    let broken = h.join("broken.pac");
    std::fs::write(
        &broken,
        "function FindProxyForURL(url, host) {\n  return \"PROXY\n",
    )
    .unwrap();
    snapshot!(
        "discover_pac_does_not_load",
        outcome(
            h,
            bin(h)
                .args(["discover", "--target", "pypi.org", "--pac"])
                .arg(&broken)
        )
    );

    snapshot!(
        "discover_bad_proxy_url",
        discover_through(h, "socks5://127.0.0.1:1080", &[])
    );
    snapshot!(
        "discover_bad_target",
        outcome(
            h,
            bin(h).args(["discover", "--no-proxy", "--target", "pypi.org:99999"])
        )
    );
    // A failing discover still shows the notes gathered before it failed.
    snapshot!(
        "discover_bad_target_keeps_notes",
        outcome(
            h,
            bin(h)
                .args(["discover", "--no-proxy", "--target", "pypi.org:99999"])
                .arg("--ca-file")
                .arg(&leaf_file)
        )
    );
}

#[test]
fn proxy_url_outcomes() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (_, proxy) = corp_proxy("Snapshot Proxy Command Root");
    snapshot!(
        "proxy_url_from_the_environment",
        without_durations(outcome(
            h,
            bin(h)
                .env("HTTPS_PROXY", proxy.url())
                .args(["proxy", "--url", "https://pypi.org/"])
        ))
    );
    snapshot!(
        "proxy_url_nothing_answers",
        outcome(
            h,
            bin(h)
                .env("HTTPS_PROXY", CLOSED)
                .args(["proxy", "--url", "https://pypi.org/"])
        )
    );
    snapshot!(
        "proxy_url_no_proxy_entry",
        outcome(
            h,
            bin(h)
                .env("HTTPS_PROXY", proxy.url())
                .env("NO_PROXY", ".corp.example")
                .args([
                    "proxy",
                    "--no-connect",
                    "--url",
                    "https://git.corp.example/"
                ])
        )
    );

    let throwing = h.join("throws.pac");
    std::fs::write(
        &throwing,
        "function FindProxyForURL(url, host) {\n  if (host == \"pypi.org\") throw new Error(\"no rule for \" + host);\n  return \"DIRECT\";\n}\n",
    )
    .unwrap();
    snapshot!(
        "proxy_pac_throws",
        outcome(
            h,
            bin(h)
                .args(["proxy", "--no-connect", "--pac"])
                .arg(&throwing)
                .args(["--url", "https://pypi.org/"])
        )
    );
    let socks = h.join("socks.pac");
    std::fs::write(
        &socks,
        "function FindProxyForURL(url, host) { return \"BOGUS x:1\"; }\n",
    )
    .unwrap();
    snapshot!(
        "proxy_pac_unknown_entry",
        outcome(
            h,
            bin(h)
                .args(["proxy", "--no-connect", "--pac"])
                .arg(&socks)
                .args(["--url", "https://pypi.org/"])
        )
    );
}
