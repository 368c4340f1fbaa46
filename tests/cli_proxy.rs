//! `trust-proxy proxy`: a PAC file served over HTTP on loopback, its choices tried in order with
//! a real TCP connect, the first that answers reported; an https PAC URL whose certificate does
//! not verify is refused. Every address used is on 127.0.0.1.

use serde_json::Value;
use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;
use trust_proxy_testkit::cli::{clean_command, output_text};
use trust_proxy_testkit::http::{HttpReply, HttpServer};
use trust_proxy_testkit::pki::Ca;
use trust_proxy_testkit::tls::mint_from;
use trust_proxy_testkit::tls_server::TlsServer;

const EXE: &str = env!("CARGO_BIN_EXE_trust-proxy");

/// A loopback port with nothing listening (bound, then released).
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn fails_over_to_the_first_choice_that_answers() {
    // Connects complete in the kernel's backlog; nothing needs to accept them.
    let listening = TcpListener::bind("127.0.0.1:0").unwrap();
    let up = listening.local_addr().unwrap().port();
    let down = closed_port();
    let script = format!(
        r#"function FindProxyForURL(url, host) {{
            if (host == "down.test") return "PROXY 127.0.0.1:{down}";
            return "PROXY 127.0.0.1:{down}; SOCKS5 127.0.0.1:{up}; PROXY 127.0.0.1:{up}; DIRECT";
        }}"#
    );
    let server = HttpServer::start(HashMap::from([(
        "/proxy.pac".to_string(),
        HttpReply::ok("application/x-ns-proxy-autoconfig", script),
    )]))
    .unwrap();
    let pac_url = format!("{}/proxy.pac", server.url());

    let (code, stdout, stderr) = output_text(clean_command(EXE).args([
        "proxy",
        "--pac",
        &pac_url,
        "--url",
        "https://pypi.test/simple/",
        "--url",
        "https://down.test/",
        "--connect-timeout",
        "2",
        "--json",
    ]))
    .unwrap();
    assert_eq!(code, 5, "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["pac"]["location"], pac_url.as_str());
    assert_eq!(report["pac"]["entry_point"], "FindProxyForURL");

    let first = &report["urls"][0];
    assert_eq!(first["host"], "pypi.test");
    assert_eq!(first["choices"].as_array().unwrap().len(), 4);
    assert_eq!(
        first["chosen"],
        serde_json::json!({"kind": "http", "host": "127.0.0.1", "port": up})
    );
    let attempts = first["failover"]["attempts"].as_array().unwrap();
    let answered: Vec<bool> = attempts
        .iter()
        .map(|a| a["answered"].as_bool().unwrap())
        .collect();
    // DIRECT is never tried: the proxy before it answered.
    assert_eq!(answered, [false, false, true], "{attempts:?}");
    assert!(
        attempts[1]["detail"].as_str().unwrap().contains("SOCKS"),
        "{attempts:?}"
    );
    assert!(first["reason"].as_str().unwrap().contains("answered after"));

    let second = &report["urls"][1];
    assert_eq!(second["chosen"], Value::Null);
    assert!(second["reason"]
        .as_str()
        .unwrap()
        .starts_with("no choice answered"));

    // The human form says the same.
    let (code, text, _) = output_text(clean_command(EXE).args([
        "proxy",
        "--pac",
        &pac_url,
        "--url",
        "https://pypi.test/",
    ]))
    .unwrap();
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(&format!("use: PROXY 127.0.0.1:{up}")),
        "{text}"
    );
    drop(listening);
}

#[test]
fn decisions_only_from_a_file() {
    let pac = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/pac/enterprise_large.pac"
    );
    let (code, stdout, stderr) = output_text(clean_command(EXE).args([
        "proxy",
        "--pac",
        pac,
        "--no-connect",
        "--json",
        "--url",
        "https://img.cdn0042.example/x.png",
        "--url",
        "not a url",
    ]))
    .unwrap();
    let report: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(
        report["urls"][0]["result"],
        "PROXY cdnproxy.corp.example:8080; DIRECT"
    );
    assert_eq!(report["urls"][0]["failover"], Value::Null);
    assert_eq!(report["urls"][0]["chosen"]["host"], "cdnproxy.corp.example");
    assert!(report["urls"][1]["error"]
        .as_str()
        .unwrap()
        .contains("not a url"));
}

#[test]
fn an_unverified_https_pac_server_is_refused() {
    let ca = Arc::new(Ca::new_root("Untrusted PAC CA"));
    let server = TlsServer::start_local(mint_from(ca, Vec::new())).unwrap();
    let url = format!("https://127.0.0.1:{}/proxy.pac", server.addr().port());
    let (code, stdout, stderr) = output_text(clean_command(EXE).args([
        "proxy",
        "--pac",
        &url,
        "--url",
        "https://x.test/",
        "--no-connect",
    ]))
    .unwrap();
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("TLS failed") && stderr.contains("UnknownIssuer"),
        "{stderr}"
    );
}

#[test]
fn a_hostile_pac_file_is_a_clear_error() {
    let pac = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/pac/hostile/syntax_error.pac"
    );
    let (code, _, stderr) =
        output_text(clean_command(EXE).args(["proxy", "--pac", pac, "--url", "https://x.test/"]))
            .unwrap();
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not valid JavaScript"), "{stderr}");
}
