//! The binary as users and scripts run it: exit codes, JSON schema, --export, env proxy.

use std::process::Command;
use std::sync::Arc;
use trust_proxy_testkit::*;

fn bin() -> Command {
    trust_proxy_testkit::cli::clean_command(env!("CARGO_BIN_EXE_trust-proxy"))
}

fn run(c: &mut Command) -> (i32, String, String) {
    trust_proxy_testkit::cli::output_text(c).unwrap()
}

fn corp_proxy() -> (Arc<Ca>, ProxyHandle) {
    InterceptingProxy::with_fresh_root("Corp CLI Root").unwrap()
}

fn openssl_style_fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[test]
fn json_report_via_env_proxy_and_export() {
    let (root, proxy) = corp_proxy();
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("root.pem");
    let (code, out, err) = run(bin()
        .args([
            "discover",
            "--json",
            "--target",
            "pypi.org",
            "--target",
            "crates.io:443",
            "--export",
        ])
        .arg(&export)
        .env("HTTPS_PROXY", proxy.url())
        .env("NO_PROXY", "internal.corp"));
    assert_eq!(code, 0, "{err}\n{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["outcome"], "intercepted");
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["targets"].as_array().unwrap().len(), 2);
    assert_eq!(v["targets"][0]["proxy"]["source"], "env:HTTPS_PROXY");
    assert_eq!(v["targets"][0]["status"], "intercepted");
    let r = &v["roots"][0];
    assert_eq!(
        r["certificate"]["sha256_fingerprint"],
        openssl_style_fingerprint(&root.cert_der())
    );
    assert_eq!(r["found_by"], "self_signed_in_chain");
    assert_eq!(r["provenance"], "network");
    assert_eq!(r["seen_on"].as_array().unwrap().len(), 2);
    assert_eq!(r["certificate"]["is_ca"], true);
    assert!(r["pem"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN CERTIFICATE-----"));
    let exported = std::fs::read_to_string(&export).unwrap();
    assert!(exported.contains(&root.cert_pem().trim().to_string()));
    assert_eq!(v["exported_to"], export.display().to_string());
}

#[test]
fn human_report_shows_fingerprint_and_provenance_warning() {
    let (root, proxy) = corp_proxy();
    let (code, out, _) =
        run(bin().args(["discover", "--target", "pypi.org", "--proxy", &proxy.url()]));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&openssl_style_fingerprint(&root.cert_der())),
        "{out}"
    );
    assert!(out.contains("NETWORK ONLY"), "{out}");
    assert!(out.contains("from --proxy"), "{out}");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["discover", "--proxy", "socks5://h:1"],
        vec!["discover", "--target", "bad host"],
        vec!["discover", "--ca-file", "/nonexistent/ca.pem"],
        vec!["discover", "--timeout", "0"],
        vec!["discover", "--proxy", "http://h:1", "--no-proxy"],
        vec!["discover", "--bogus"],
    ] {
        let (code, out, err) = run(bin().args(&args));
        assert_eq!(code, 2, "{args:?}: {out} {err}");
        assert!(err.contains("error"), "{args:?}: {err}");
    }
}

#[test]
fn help_documents_exit_codes() {
    let (code, out, _) = run(bin().args(["discover", "--help"]));
    assert_eq!(code, 0);
    for needle in [
        "Exit codes:",
        "3  no interception",
        "4  interception found, but",
        "5  proxy or network failure",
    ] {
        assert!(out.contains(needle), "{needle}\n{out}");
    }
}

// Unix only: it plants a symlink for --export to refuse.
#[cfg(unix)]
#[test]
fn not_intercepted_exits_3_and_root_not_found_exits_4() {
    let public = Arc::new(Ca::new_root("CLI Public Root"));
    let dir = tempfile::tempdir().unwrap();
    let roots = dir.path().join("public.pem");
    std::fs::write(&roots, public.cert_pem()).unwrap();
    let proxy =
        InterceptingProxy::start(ProxyConfig::new(mint_from(public.clone(), vec![]))).unwrap();
    let (code, out, err) = run(bin()
        .args([
            "discover",
            "--target",
            "pypi.org",
            "--proxy",
            &proxy.url(),
            "--public-roots",
        ])
        .arg(&roots));
    assert_eq!(code, 3, "{out}{err}");

    let hidden = Ca::new_root("Hidden CLI Root");
    let int = Arc::new(hidden.issue_intermediate("CLI Int", None));
    let proxy = InterceptingProxy::start(ProxyConfig::new(mint_from(
        int.clone(),
        vec![int.cert_der()],
    )))
    .unwrap();
    let (code, out, _) = run(bin().args([
        "discover",
        "--json",
        "--target",
        "pypi.org",
        "--proxy",
        &proxy.url(),
    ]));
    assert_eq!(code, 4, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["outcome"], "root_not_found");
    assert!(v["unresolved"][0]["top_issuer"]
        .as_str()
        .unwrap()
        .contains("Hidden CLI Root"));

    // With the file IT published, the same proxy resolves, and --export refuses a planted link.
    let ca = dir.path().join("it-root.der");
    std::fs::write(&ca, hidden.cert_der()).unwrap();
    let link = dir.path().join("link.pem");
    std::os::unix::fs::symlink(dir.path().join("elsewhere"), &link).unwrap();
    let (code, out, err) = run(bin()
        .args([
            "discover",
            "--target",
            "pypi.org",
            "--proxy",
            &proxy.url(),
            "--ca-file",
        ])
        .arg(&ca)
        .arg("--export")
        .arg(&link));
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("link.pem"), "{err}");
    assert!(!dir.path().join("elsewhere").exists());
}

#[test]
fn network_failure_exits_5() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let (code, out, _) = run(bin().args([
        "discover",
        "--target",
        "pypi.org",
        "--proxy",
        &format!("http://127.0.0.1:{port}"),
    ]));
    assert_eq!(code, 5, "{out}");
    assert!(out.contains("could not connect to proxy"), "{out}");
}

#[test]
fn hostile_names_never_reach_the_terminal_raw() {
    // A CA name with terminal escapes and a fake line: printed only as inert text.
    let root = Arc::new(Ca::new_root("Evil\u{1b}[2J\u{1b}]0;owned\u{7}\nFake: line"));
    let proxy = InterceptingProxy::start(ProxyConfig::new(mint_from(
        root.clone(),
        vec![root.cert_der()],
    )))
    .unwrap();
    let (code, out, err) =
        run(bin().args(["discover", "--target", "pypi.org", "--proxy", &proxy.url()]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    assert!(!out.lines().any(|l| l.starts_with("Fake: line")), "{out}");
    let (_, json, _) = run(bin().args([
        "discover",
        "--json",
        "--target",
        "pypi.org",
        "--proxy",
        &proxy.url(),
    ]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    // JSON carries the name exactly (escaped by the encoder), which proves the certificate
    // really held the escapes the human report had to neutralise.
    let subject = v["roots"][0]["certificate"]["subject"].as_str().unwrap();
    assert!(
        subject.contains('\u{1b}') && subject.contains("Evil"),
        "{subject:?}"
    );
}

/// The crash of issue 6 as a user met it: `discover --no-proxy --target host:port` against what
/// `openssl req -x509` makes. Now exit 0, outcome self_signed, the fingerprint shown.
#[test]
fn discover_no_proxy_self_signed_service() {
    let cert = Leaf::self_signed_ca(&["127.0.0.1"]);
    let server = TlsServer::start_local(mint_fixed(Minted::new(&cert, &[]))).unwrap();
    let target = server.addr().to_string();
    let fp = openssl_style_fingerprint(&cert.cert_der);
    let (code, out, err) = run(bin().args(["discover", "--no-proxy", "--target", &target]));
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(
        out.contains("the host presents a self-signed certificate: not interception")
            || out.contains("The host presents a self-signed certificate: not interception"),
        "{out}"
    );
    assert!(out.contains(&fp), "{out}");
    let (code, out, err) =
        run(bin().args(["discover", "--no-proxy", "--json", "--target", &target]));
    assert_eq!(code, 0, "{err}\n{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["outcome"], "self_signed");
    assert_eq!(v["self_signed"][0]["shape"], "ca");
    assert_eq!(v["self_signed"][0]["certificate"]["sha256_fingerprint"], fp);
    assert_eq!(v["roots"].as_array().unwrap().len(), 0);
}
