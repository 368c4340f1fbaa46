//! End-to-end tests of the testkit against real clients (rustls and `openssl s_client`).

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use trust_proxy_testkit::rustls::pki_types::{CertificateDer, ServerName};
use trust_proxy_testkit::rustls::{self, ClientConnection, StreamOwned};
use trust_proxy_testkit::*;

/// A corporate-style hierarchy: root -> intermediate (with AIA) -> per-host leaves.
struct Pki {
    root: Ca,
    int: Arc<Ca>,
}

fn pki() -> Pki {
    let root = Ca::new_root("Corp Root CA");
    let int =
        Arc::new(root.issue_intermediate("Corp Issuing CA", Some("http://aia.test/root.cer")));
    Pki { root, int }
}

fn ders(chain: &[CertificateDer<'_>]) -> Vec<Vec<u8>> {
    chain.iter().map(|c| c.as_ref().to_vec()).collect()
}

// ------------------------------------------------------------------------------------------
// PKI

#[test]
fn root_is_well_formed_per_openssl() {
    let root = Ca::new_root("Good Root");
    let text = openssl_text(&root.cert_pem());
    assert!(
        text.contains("X509v3 Basic Constraints: critical"),
        "{text}"
    );
    assert!(text.contains("CA:TRUE"), "{text}");
    assert!(text.contains("X509v3 Key Usage: critical"), "{text}");
    assert!(text.contains("Certificate Sign, CRL Sign"), "{text}");
    assert!(text.contains("X509v3 Subject Key Identifier"), "{text}");
    assert!(text.contains("ecdsa-with-SHA256"), "{text}");
    assert!(text.contains("Subject: CN = Good Root"), "{text}");
}

#[test]
fn chain_verifies_strictly_and_has_aia_and_aki() {
    let p = pki();
    let leaf = p
        .int
        .issue_leaf("pypi.org", Some("http://aia.test/int.cer"));
    let int_text = openssl_text(&p.int.cert_pem());
    assert!(
        int_text.contains("CA Issuers - URI:http://aia.test/root.cer"),
        "{int_text}"
    );
    assert!(
        int_text.contains("X509v3 Authority Key Identifier"),
        "{int_text}"
    );
    let leaf_text = openssl_text(&leaf.cert_pem());
    assert!(
        leaf_text.contains("CA Issuers - URI:http://aia.test/int.cer"),
        "{leaf_text}"
    );
    assert!(leaf_text.contains("DNS:pypi.org"), "{leaf_text}");
    assert!(
        leaf_text.contains("TLS Web Server Authentication"),
        "{leaf_text}"
    );

    // AKI of the intermediate equals the root's SKI.
    let root_text = openssl_text(&p.root.cert_pem());
    let ski = after_label(&root_text, "X509v3 Subject Key Identifier:");
    let aki = after_label(&int_text, "X509v3 Authority Key Identifier:");
    assert!(aki.contains(&ski), "aki {aki} ski {ski}");

    let dir = Scratch::new();
    let root_f = dir.file("root.pem", p.root.cert_pem().as_bytes());
    let int_f = dir.file("int.pem", p.int.cert_pem().as_bytes());
    let leaf_f = dir.file("leaf.pem", leaf.cert_pem().as_bytes());
    let (ok, out) = run_bounded(
        Command::new("openssl")
            .args(["verify", "-x509_strict", "-CAfile"])
            .arg(&root_f)
            .arg("-untrusted")
            .arg(&int_f)
            .arg(&leaf_f),
        Duration::from_secs(20),
    );
    assert!(ok, "{out}");
}

fn after_label(text: &str, label: &str) -> String {
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if l.contains(label) {
            return lines.next().unwrap_or("").trim().replace("keyid:", "");
        }
    }
    panic!("{label} not found in {text}");
}

#[test]
fn bad_ca_options_show_up() {
    let bad = Ca::new_root_with(
        "Sloppy Root",
        &CaOptions::default()
            .bc_not_critical()
            .no_key_identifiers()
            .rsa(),
    );
    let text = openssl_text(&bad.cert_pem());
    assert!(text.contains("X509v3 Basic Constraints: \n"), "{text}");
    assert!(text.contains("CA:TRUE"), "{text}");
    assert!(!text.contains("Subject Key Identifier"), "{text}");
    assert!(text.contains("rsaEncryption"), "{text}");
    assert!(text.contains("sha256WithRSAEncryption"), "{text}");
    // Children of a CA without key identifiers carry no AKI either.
    let child = bad.issue_intermediate("Child", None);
    let ctext = openssl_text(&child.cert_pem());
    assert!(!ctext.contains("Authority Key Identifier"), "{ctext}");
    assert!(
        ctext.contains("X509v3 Basic Constraints: critical"),
        "{ctext}"
    );

    // bc not critical but with SKI: SKI is hand-encoded and must be the one rcgen would derive.
    let nc = Ca::new_root_with(
        "NC Root",
        &CaOptions::default().bc_not_critical().path_len(1),
    );
    let nctext = openssl_text(&nc.cert_pem());
    assert!(nctext.contains("Subject Key Identifier"), "{nctext}");
    assert!(nctext.contains("CA:TRUE, pathlen:1"), "{nctext}");
    let ncchild = nc.issue_leaf("a.example", None);
    let ski = after_label(&nctext, "X509v3 Subject Key Identifier:");
    let aki = after_label(
        &openssl_text(&ncchild.cert_pem()),
        "Authority Key Identifier:",
    );
    assert!(aki.contains(&ski), "aki {aki} ski {ski}");

    // openssl -x509_strict rejects a CA whose basicConstraints is not critical.
    let dir = Scratch::new();
    let root_f = dir.file("nc-root.pem", nc.cert_pem().as_bytes());
    let leaf_f = dir.file("nc-leaf.pem", ncchild.cert_pem().as_bytes());
    let (ok, out) = run_bounded(
        Command::new("openssl")
            .args(["verify", "-x509_strict", "-CAfile"])
            .arg(&root_f)
            .arg(&leaf_f),
        Duration::from_secs(20),
    );
    assert!(!ok, "strict verify unexpectedly passed: {out}");

    let expired = Ca::new_root_with("Old Root", &CaOptions::default().expired());
    let etext = openssl_text(&expired.cert_pem());
    assert!(
        etext.contains("Not After : Jan  1 00:00:00 2001 GMT"),
        "{etext}"
    );

    let constrained = Ca::new_root_with(
        "Constrained Root",
        &CaOptions::default()
            .name_constraints(&["corp.example"], &["bad.corp.example"])
            .organization("Corp"),
    );
    let ctext = openssl_text(&constrained.cert_pem());
    assert!(
        ctext.contains("X509v3 Name Constraints: critical"),
        "{ctext}"
    );
    assert!(ctext.contains("DNS:corp.example"), "{ctext}");
    assert!(ctext.contains("DNS:bad.corp.example"), "{ctext}");
    assert!(ctext.contains("O = Corp, CN = Constrained Root"), "{ctext}");
}

#[test]
fn rsa_leaf_and_ip_leaf() {
    let root = Ca::new_root_with("RSA Root", &CaOptions::default().rsa());
    let leaf = root.issue_leaf_with(
        &["127.0.0.1", "localhost"],
        None,
        &LeafOptions {
            key: KeyKind::Rsa2048,
            ..LeafOptions::default()
        },
    );
    let text = openssl_text(&leaf.cert_pem());
    assert!(text.contains("IP Address:127.0.0.1"), "{text}");
    assert!(text.contains("DNS:localhost"), "{text}");
    assert!(text.contains("rsaEncryption"), "{text}");
    // And it works in a real handshake (RSA signing through rustls).
    let srv = TlsServer::start_local(mint_fixed(Minted::new(&leaf, &[root.cert_der()]))).unwrap();
    let (r, _tls) = handshake(tcp(srv.addr()), "localhost", ClientVersions::Only12, true).unwrap();
    assert_eq!(r.chain.len(), 2);
}

#[test]
fn pkcs7_matches_openssl_crl2pkcs7() {
    let p = pki();
    let certs = [p.int.cert_der(), p.root.cert_der()];
    let ours = pkcs7_certs_only(&certs);
    let bundle = format!("{}{}", p.int.cert_pem(), p.root.cert_pem());
    let dir = Scratch::new();
    let in_f = dir.file("bundle.pem", bundle.as_bytes());
    let out_f = in_f.with_file_name("bundle.p7b");
    let (ok, out) = run_bounded(
        Command::new("openssl")
            .args(["crl2pkcs7", "-nocrl", "-outform", "DER", "-certfile"])
            .arg(&in_f)
            .arg("-out")
            .arg(&out_f),
        Duration::from_secs(20),
    );
    assert!(ok, "{out}");
    assert_eq!(ours, std::fs::read(&out_f).unwrap());
}

// ------------------------------------------------------------------------------------------
// Proxy: the normal interception path

#[test]
fn openssl_s_client_sees_exact_chain_through_proxy() {
    let p = pki();
    let tail = vec![p.int.cert_der(), p.root.cert_der()];
    let proxy =
        InterceptingProxy::start(ProxyConfig::new(mint_from(p.int.clone(), tail.clone()))).unwrap();
    let (ok, out) = run_bounded(
        Command::new("openssl")
            .args(["s_client", "-proxy"])
            .arg(proxy.addr().to_string())
            .args([
                "-connect",
                "pypi.org:443",
                "-servername",
                "pypi.org",
                "-showcerts",
            ]),
        Duration::from_secs(20),
    );
    assert!(ok, "{out}");
    let blocks = pem_blocks(&out);
    assert_eq!(blocks.len(), 3, "{out}");
    assert_eq!(blocks[1..].to_vec(), ders(&tail));
    let leaf_text = openssl_text(&trust_proxy_testkit::pki::pem_encode(
        "CERTIFICATE",
        &blocks[0],
    ));
    assert!(leaf_text.contains("DNS:pypi.org"), "{leaf_text}");
    assert!(proxy.wait_idle(Duration::from_secs(5)));
    assert_eq!(proxy.connect_count(), 1);
    assert!(
        proxy.requests()[0].starts_with("CONNECT pypi.org:443 HTTP/1."),
        "{:?}",
        proxy.requests()
    );
    assert_eq!(proxy.sni_seen(), vec![Some("pypi.org".to_string())]);
    let hs = proxy.handshakes();
    assert!(hs[0].completed, "{hs:?}");
    assert_eq!(hs[0].minted_for, "pypi.org");
    assert!(!proxy.app_data_received());
}

#[test]
fn openssl_tls12_and_tls13_only() {
    let p = pki();
    for (versions, flag, expect) in [
        (TlsVersions::Only12, "-tls1_2", "TLSv1.2"),
        (TlsVersions::Only13, "-tls1_3", "TLSv1.3"),
    ] {
        let proxy = InterceptingProxy::start(
            ProxyConfig::new(mint_from(p.int.clone(), vec![p.int.cert_der()]))
                .tls_versions(versions),
        )
        .unwrap();
        let (ok, out) = run_bounded(
            Command::new("openssl")
                .args(["s_client", "-proxy"])
                .arg(proxy.addr().to_string())
                .args([
                    "-connect",
                    "github.com:443",
                    "-servername",
                    "github.com",
                    flag,
                ]),
            Duration::from_secs(20),
        );
        assert!(ok, "{out}");
        assert!(out.contains(expect), "{out}");
        assert_eq!(proxy.handshakes()[0].version.as_deref(), Some(expect));
        // A client insisting on the other version fails.
        let other = if expect == "TLSv1.2" {
            "-tls1_3"
        } else {
            "-tls1_2"
        };
        let (ok, _out) = run_bounded(
            Command::new("openssl")
                .args(["s_client", "-proxy"])
                .arg(proxy.addr().to_string())
                .args([
                    "-connect",
                    "github.com:443",
                    "-servername",
                    "github.com",
                    other,
                ]),
            Duration::from_secs(20),
        );
        assert!(!ok);
    }
}

#[test]
fn rustls_client_sees_reversed_duplicated_and_garbage_chains_as_is() {
    let p = pki();
    let leaf = p.int.issue_leaf("pypi.org", None);
    let garbage = CertificateDer::from(b"\x30\x03not a certificate".to_vec());
    let cases: Vec<Vec<CertificateDer<'static>>> = vec![
        vec![leaf.cert_der.clone(), p.int.cert_der(), p.root.cert_der()],
        vec![leaf.cert_der.clone(), p.root.cert_der(), p.int.cert_der()],
        vec![
            leaf.cert_der.clone(),
            p.int.cert_der(),
            p.int.cert_der(),
            p.root.cert_der(),
            p.root.cert_der(),
        ],
        vec![leaf.cert_der.clone(), garbage.clone(), p.int.cert_der()],
        vec![leaf.cert_der.clone()],
    ];
    for chain in cases {
        let minted = Minted {
            chain: chain.clone(),
            key: leaf.key_der.clone_key(),
        };
        let proxy = InterceptingProxy::start(ProxyConfig::new(mint_fixed(minted))).unwrap();
        for versions in [ClientVersions::Only12, ClientVersions::Only13] {
            let (head, r) =
                probe_via_proxy(proxy.addr(), "pypi.org:443", "pypi.org", None, versions);
            assert!(
                head.starts_with("HTTP/1.1 200 Connection established\r\n"),
                "{head}"
            );
            let r = r.unwrap().unwrap();
            assert_eq!(ders(&r.chain), ders(&chain));
        }
        assert_eq!(proxy.connect_count(), 2);
        assert!(!proxy.app_data_received());
    }

    // A garbage *leaf* with an unrelated key: the server still sends it as-is.
    let minted = Minted {
        chain: vec![garbage.clone(), p.int.cert_der()],
        key: leaf.key_der.clone_key(),
    };
    let proxy = InterceptingProxy::start(ProxyConfig::new(mint_fixed(minted))).unwrap();
    let mut s = tcp(proxy.addr());
    s.write_all(connect_request("pypi.org:443", None).as_bytes())
        .unwrap();
    read_response_head(&mut s, 4096).unwrap();
    let (r, _tls) = handshake(s, "pypi.org", ClientVersions::Both, false).unwrap();
    assert_eq!(ders(&r.chain), ders(&[garbage, p.int.cert_der()]));
}

#[test]
fn app_data_is_recorded() {
    let p = pki();
    let proxy =
        InterceptingProxy::start(ProxyConfig::new(mint_from(p.int.clone(), vec![]))).unwrap();
    let mut s = tcp(proxy.addr());
    s.write_all(connect_request("example.com:443", None).as_bytes())
        .unwrap();
    read_response_head(&mut s, 4096).unwrap();
    let (_r, mut tls) = handshake(s, "example.com", ClientVersions::Both, true).unwrap();
    tls.write_all(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
        .unwrap();
    tls.flush().unwrap();
    tls.conn.send_close_notify();
    let _ = tls.conn.complete_io(&mut tls.sock);
    drop(tls);
    assert!(proxy.wait_idle(Duration::from_secs(5)));
    assert!(proxy.app_data_received());
    assert!(proxy.handshakes()[0].app_data_bytes > 0);
}

fn wait_until(f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !f() {
        assert!(Instant::now() < deadline, "condition not met in time");
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ------------------------------------------------------------------------------------------
// Auth

#[test]
fn basic_auth_407_then_success() {
    let p = pki();
    let proxy = InterceptingProxy::start(
        ProxyConfig::new(mint_from(p.int.clone(), vec![p.int.cert_der()])).auth(BasicAuth {
            user: "alice".into(),
            pass: "s3cret".into(),
            realm: "Corp Proxy".into(),
        }),
    )
    .unwrap();
    let (head, r) = probe_via_proxy(
        proxy.addr(),
        "pypi.org:443",
        "pypi.org",
        None,
        ClientVersions::Both,
    );
    assert!(
        head.starts_with("HTTP/1.1 407 Proxy Authentication Required\r\n"),
        "{head}"
    );
    assert!(
        head.contains("Proxy-Authenticate: Basic realm=\"Corp Proxy\"\r\n"),
        "{head}"
    );
    assert!(r.is_none());
    let (head, _) = probe_via_proxy(
        proxy.addr(),
        "pypi.org:443",
        "pypi.org",
        Some(("alice", "wrong")),
        ClientVersions::Both,
    );
    assert!(head.starts_with("HTTP/1.1 407"), "{head}");
    let (head, r) = probe_via_proxy(
        proxy.addr(),
        "pypi.org:443",
        "pypi.org",
        Some(("alice", "s3cret")),
        ClientVersions::Both,
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(r.unwrap().unwrap().chain.len(), 2);
    let reqs = proxy.requests();
    assert_eq!(reqs.len(), 3);
    assert!(!reqs[0].contains("Proxy-Authorization"));
    assert!(
        reqs[2].contains("Proxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n"),
        "{}",
        reqs[2]
    );
    assert_eq!(proxy.connect_count(), 3);

    // openssl's own proxy auth support works too.
    let (ok, out) = run_bounded(
        Command::new("openssl")
            .args(["s_client", "-proxy"])
            .arg(proxy.addr().to_string())
            .args(["-proxy_user", "alice", "-proxy_pass", "pass:s3cret"])
            .args(["-connect", "pypi.org:443", "-servername", "pypi.org"]),
        Duration::from_secs(20),
    );
    assert!(ok, "{out}");
}

// ------------------------------------------------------------------------------------------
// HTTPS proxy (TLS in TLS)

#[test]
fn https_proxy_tls_in_tls() {
    let p = pki();
    let proxy_ca = Ca::new_root("Proxy Listener CA");
    let proxy_leaf = proxy_ca.issue_leaf("127.0.0.1", None);
    let proxy = InterceptingProxy::start(
        ProxyConfig::new(mint_from(
            p.int.clone(),
            vec![p.int.cert_der(), p.root.cert_der()],
        ))
        .https(Minted::new(&proxy_leaf, &[]))
        .auth(BasicAuth::new("u", "p")),
    )
    .unwrap();
    assert!(
        proxy.url().starts_with("https://127.0.0.1:"),
        "{}",
        proxy.url()
    );

    let outer = ClientConnection::new(
        trusting(proxy_ca.cert_der()),
        ServerName::try_from("127.0.0.1").unwrap(),
    )
    .unwrap();
    let mut outer = StreamOwned::new(outer, tcp(proxy.addr()));
    outer
        .write_all(connect_request("pypi.org:443", Some(("u", "p"))).as_bytes())
        .unwrap();
    outer.flush().unwrap();
    let head = read_response_head(&mut outer, 4096).unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let (r, mut inner) = handshake(&mut outer, "pypi.org", ClientVersions::Both, true).unwrap();
    assert_eq!(r.chain.len(), 3);
    assert_eq!(
        ders(&r.chain[1..]),
        ders(&[p.int.cert_der(), p.root.cert_der()])
    );
    inner.conn.send_close_notify();
    let _ = inner.conn.complete_io(&mut inner.sock);
    assert_eq!(proxy.sni_seen(), vec![Some("pypi.org".into())]);
    let outer_hs = proxy.outer_handshakes();
    assert!(
        outer_hs[0].completed && outer_hs[0].sni.is_none(),
        "{outer_hs:?}"
    );
    assert!(proxy.requests()[0].contains("Proxy-Authorization"));
}

// ------------------------------------------------------------------------------------------
// Plain HTTP routes through the proxy (AIA, mitm.it)

fn http_get_via(proxy: SocketAddr, url: &str) -> (String, Vec<u8>) {
    let mut s = tcp(proxy);
    let host = url.trim_start_matches("http://").split('/').next().unwrap();
    s.write_all(
        format!("GET {url} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .unwrap();
    let head = read_response_head(&mut s, 64 * 1024).unwrap();
    let mut body = Vec::new();
    let _ = s.take(4 * 1024 * 1024).read_to_end(&mut body);
    (head, body)
}

#[test]
fn proxy_serves_http_routes() {
    let p = pki();
    let p7 = pkcs7_certs_only(&[p.root.cert_der()]);
    let config = ProxyConfig::new(mint_from(p.int.clone(), vec![]))
        .route(
            "http://aia.test/root.cer",
            HttpReply::ok("application/pkix-cert", p.root.cert_der().to_vec()),
        )
        .route(
            "http://aia.test/root.p7c",
            HttpReply::ok("application/pkcs7-mime", p7.clone()),
        )
        .route(
            "http://mitm.it/cert/pem",
            HttpReply::new(200, Body::Chunked(p.root.cert_pem().into_bytes())),
        )
        .route(
            "http://aia.test/big",
            HttpReply::new(200, Body::Sized(100_000)),
        )
        .route(
            "http://aia.test/forever",
            HttpReply::new(200, Body::Infinite),
        )
        .route(
            "http://aia.test/liar",
            HttpReply::new(200, Body::Bytes(b"abc".to_vec())).header("Content-Length", "10"),
        );
    let proxy = InterceptingProxy::start(config).unwrap();

    let (head, body) = http_get_via(proxy.addr(), "http://aia.test/root.cer");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains("Content-Type: application/pkix-cert\r\n"),
        "{head}"
    );
    assert_eq!(body, p.root.cert_der().to_vec());

    let (_, body) = http_get_via(proxy.addr(), "http://aia.test/root.p7c");
    assert_eq!(body, p7);

    let (head, body) = http_get_via(proxy.addr(), "http://mitm.it/cert/pem");
    assert!(head.contains("Transfer-Encoding: chunked\r\n"), "{head}");
    let text = String::from_utf8(body).unwrap();
    assert!(text.ends_with("0\r\n\r\n"));
    assert!(text.contains("-----BEGIN CERTIFICATE-----"));

    let (head, body) = http_get_via(proxy.addr(), "http://aia.test/big");
    assert!(head.contains("Content-Length: 100000\r\n"), "{head}");
    assert_eq!(body.len(), 100_000);

    let (head, body) = http_get_via(proxy.addr(), "http://aia.test/forever");
    assert!(!head.contains("Content-Length"), "{head}");
    assert_eq!(body.len(), 4 * 1024 * 1024); // capped by our reader; the server kept going

    let (head, body) = http_get_via(proxy.addr(), "http://aia.test/liar");
    assert!(head.contains("Content-Length: 10\r\n"), "{head}");
    assert_eq!(body, b"abc");

    let (head, _) = http_get_via(proxy.addr(), "http://aia.test/missing");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");

    let reqs = proxy.requests();
    assert!(
        reqs[0].starts_with("GET http://aia.test/root.cer HTTP/1.1\r\n"),
        "{reqs:?}"
    );
    assert_eq!(proxy.connect_count(), 0);
}

// ------------------------------------------------------------------------------------------
// Hostile behaviours

fn hostile(b: Behaviour) -> ProxyHandle {
    let p = pki();
    InterceptingProxy::start(
        ProxyConfig::new(mint_from(p.int.clone(), vec![p.int.cert_der()])).behaviour(b),
    )
    .unwrap()
}

fn connect_raw(proxy: &ProxyHandle) -> std::net::TcpStream {
    let mut s = tcp(proxy.addr());
    s.write_all(connect_request("pypi.org:443", None).as_bytes())
        .unwrap();
    s
}

#[test]
fn status_behaviour() {
    for line in [
        "HTTP/1.1 403 Forbidden",
        "HTTP/1.0 502 Bad Gateway",
        "HTTP/1.1 503 Service Unavailable",
    ] {
        let proxy = hostile(Behaviour::Status(line.into()));
        let mut s = connect_raw(&proxy);
        let mut all = String::new();
        s.read_to_string(&mut all).unwrap(); // proxy closes
        assert!(all.starts_with(&format!("{line}\r\n")), "{all}");
        assert!(all.ends_with(&format!("{line}\n")), "{all}");
        assert_eq!(proxy.connect_count(), 1);
    }
}

#[test]
fn garbage_behaviour() {
    let proxy = hostile(Behaviour::Garbage);
    let mut s = connect_raw(&proxy);
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    assert!(all.len() > 100);
    assert!(!all.starts_with(b"HTTP"));
}

#[test]
fn huge_headers_behaviour() {
    let proxy = hostile(Behaviour::HugeHeaders {
        bytes: 200_000,
        terminate: false,
    });
    let mut s = connect_raw(&proxy);
    let mut got = vec![0u8; 200_000 + 37];
    s.read_exact(&mut got).unwrap();
    // Nothing more comes, and the socket stays open.
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 16];
    let e = s.read(&mut buf).unwrap_err();
    assert!(matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ));
    assert!(got.starts_with(b"HTTP/1.1 200 Connection established\r\n"));
    assert!(!got.windows(4).any(|w| w == b"\r\n\r\n"));

    // Terminated variant: a big but valid head, then interception works.
    let proxy = hostile(Behaviour::HugeHeaders {
        bytes: 50_000,
        terminate: true,
    });
    let mut s = connect_raw(&proxy);
    let head = read_response_head(&mut s, 100_000).unwrap();
    assert!(head.len() > 50_000);
    let (r, _tls) = handshake(s, "pypi.org", ClientVersions::Both, true).unwrap();
    assert_eq!(r.chain.len(), 2);
}

#[test]
fn silent_behaviour_and_drop_closes_connection() {
    let proxy = hostile(Behaviour::Silent);
    let mut s = connect_raw(&proxy);
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 16];
    let e = s.read(&mut buf).unwrap_err();
    assert!(matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ));
    wait_until(|| proxy.connect_count() == 1);
    // Dropping the handle must be quick and must close the client's socket.
    let t = Instant::now();
    drop(proxy);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(s.read(&mut buf).unwrap_or(0), 0);
}

#[test]
fn trickle_behaviour() {
    let proxy = hostile(Behaviour::Trickle { interval_ms: 20 });
    let mut s = connect_raw(&proxy);
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while start.elapsed() < Duration::from_millis(1500) {
        if let Ok(n) = s.read(&mut buf) {
            assert!(n > 0, "trickle closed");
            got.extend_from_slice(&buf[..n]);
        }
    }
    assert!(got.len() > 20 && got.len() < 100, "{}", got.len());
    assert!(b"HTTP/1.1 200 Connection established\r\nX-Trickle: ".starts_with(&got[..20]));
    let t = Instant::now();
    drop(proxy);
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[test]
fn close_mid_handshake_behaviour() {
    let proxy = hostile(Behaviour::CloseMidHandshake);
    let mut s = connect_raw(&proxy);
    read_response_head(&mut s, 4096).unwrap();
    let err = handshake(s, "pypi.org", ClientVersions::Both, true)
        .err()
        .unwrap();
    let text = format!("{err:?}");
    assert!(
        text.contains("UnexpectedEof") || text.contains("eof"),
        "{text}"
    );
}

#[test]
fn tls_alert_behaviour() {
    let proxy = hostile(Behaviour::TlsAlert);
    let mut s = connect_raw(&proxy);
    read_response_head(&mut s, 4096).unwrap();
    let err = handshake(s, "pypi.org", ClientVersions::Both, true)
        .err()
        .unwrap();
    assert!(
        matches!(
            err,
            rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure)
        ),
        "{err:?}"
    );
}

#[test]
fn non_tls_after_200_behaviour() {
    let proxy = hostile(Behaviour::NonTlsAfter200);
    let mut s = connect_raw(&proxy);
    let mut all = String::new();
    s.read_to_string(&mut all).unwrap();
    assert_eq!(
        all,
        "HTTP/1.1 200 Connection established\r\n\r\nhello this is not TLS\r\n"
    );
    let mut s = connect_raw(&proxy);
    read_response_head(&mut s, 4096).unwrap();
    let err = handshake(s, "pypi.org", ClientVersions::Both, true)
        .err()
        .unwrap();
    assert!(matches!(err, rustls::Error::InvalidMessage(_)), "{err:?}");
}

#[test]
fn http10_reply_behaviour() {
    let proxy = hostile(Behaviour::Http10Reply);
    let (head, r) = probe_via_proxy(
        proxy.addr(),
        "pypi.org:443",
        "pypi.org",
        None,
        ClientVersions::Both,
    );
    assert_eq!(head, "HTTP/1.0 200 Connection established\r\n\r\n");
    assert_eq!(r.unwrap().unwrap().chain.len(), 2);
}

#[test]
fn client_disconnecting_early_is_harmless() {
    let p = pki();
    let proxy = InterceptingProxy::start(
        ProxyConfig::new(mint_from(p.int.clone(), vec![]))
            .route("http://x.test/inf", HttpReply::new(200, Body::Infinite)),
    )
    .unwrap();
    // Half a request, a CONNECT then nothing, a ClientHello cut short, an infinite body dropped.
    {
        let mut s = tcp(proxy.addr());
        s.write_all(b"CONNECT pypi.org:443 HTT").unwrap();
    }
    {
        let _s = connect_raw(&proxy);
    }
    {
        let mut s = connect_raw(&proxy);
        read_response_head(&mut s, 4096).unwrap();
        s.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]).unwrap();
    }
    {
        let mut s = tcp(proxy.addr());
        s.write_all(b"GET http://x.test/inf HTTP/1.1\r\nHost: x.test\r\n\r\n")
            .unwrap();
        let mut buf = [0u8; 1000];
        s.read_exact(&mut buf).unwrap();
    }
    // Still serving afterwards.
    let (head, r) = probe_via_proxy(
        proxy.addr(),
        "a.test:443",
        "a.test",
        None,
        ClientVersions::Both,
    );
    assert!(head.starts_with("HTTP/1.1 200"));
    assert!(r.unwrap().is_ok());
    let t = Instant::now();
    drop(proxy);
    assert!(t.elapsed() < Duration::from_secs(2));
}

// ------------------------------------------------------------------------------------------
// Listen addresses

#[test]
fn ipv6_loopback_proxy() {
    let p = pki();
    let config =
        ProxyConfig::new(mint_from(p.int.clone(), vec![])).listen("[::1]:0".parse().unwrap());
    let proxy = match InterceptingProxy::start(config) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("skipping: no IPv6 loopback here ({e})");
            return;
        }
    };
    assert!(proxy.url().starts_with("http://[::1]:"), "{}", proxy.url());
    let (head, r) = probe_via_proxy(
        proxy.addr(),
        "pypi.org:443",
        "pypi.org",
        None,
        ClientVersions::Both,
    );
    assert!(head.starts_with("HTTP/1.1 200"));
    assert!(r.unwrap().is_ok());
}

#[test]
fn non_loopback_listen_is_refused() {
    let p = pki();
    for addr in ["0.0.0.0:0", "[::]:0", "192.0.2.1:0"] {
        let config =
            ProxyConfig::new(mint_from(p.int.clone(), vec![])).listen(addr.parse().unwrap());
        let err = InterceptingProxy::start(config).err().unwrap();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }
    assert!(HttpServer::start_on("0.0.0.0:0".parse().unwrap(), HashMap::new()).is_err());
    assert!(TlsServer::start(
        "0.0.0.0:0".parse().unwrap(),
        mint_from(p.int.clone(), vec![]),
        TlsVersions::Both
    )
    .is_err());
}

// ------------------------------------------------------------------------------------------
// Direct servers

#[test]
fn tls_server_mints_for_sni_and_records() {
    let p = pki();
    let srv = TlsServer::start(
        "127.0.0.1:0".parse().unwrap(),
        mint_from(p.int.clone(), vec![p.int.cert_der()]),
        TlsVersions::Only13,
    )
    .unwrap();
    let (r, mut tls) = handshake(
        tcp(srv.addr()),
        "files.pythonhosted.org",
        ClientVersions::Both,
        true,
    )
    .unwrap();
    assert_eq!(r.version, Some(rustls::ProtocolVersion::TLSv1_3));
    assert_eq!(r.chain.len(), 2);
    tls.conn.send_close_notify();
    let _ = tls.conn.complete_io(&mut tls.sock);
    let leaf_text = openssl_text(&trust_proxy_testkit::pki::pem_encode(
        "CERTIFICATE",
        &r.chain[0],
    ));
    assert!(
        leaf_text.contains("DNS:files.pythonhosted.org"),
        "{leaf_text}"
    );
    wait_until(|| srv.handshakes().first().is_some_and(|h| h.completed));
    assert_eq!(srv.sni_seen(), vec![Some("files.pythonhosted.org".into())]);
    assert!(!srv.app_data_received());

    // TLS 1.2-only client against a 1.3-only server fails cleanly; the server records it.
    assert!(handshake(tcp(srv.addr()), "x.test", ClientVersions::Only12, true).is_err());
    wait_until(|| srv.handshakes().len() == 2 && srv.handshakes()[1].error.is_some());

    let (_r, mut tls) = handshake(tcp(srv.addr()), "y.test", ClientVersions::Both, true).unwrap();
    tls.write_all(b"hello").unwrap();
    tls.flush().unwrap();
    wait_until(|| srv.app_data_received());
}

#[test]
fn http_server_counts_requests() {
    let mut routes = HashMap::new();
    routes.insert(
        "/int.cer".to_string(),
        HttpReply::ok("application/pkix-cert", b"DER".to_vec()),
    );
    let srv = HttpServer::start(routes).unwrap();
    assert_eq!(srv.request_count(), 0);
    let url = format!("{}/int.cer", srv.url());
    let (head, body) = http_get_via(srv.addr(), &url);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, b"DER");
    let mut s = tcp(srv.addr());
    s.write_all(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let head = read_response_head(&mut s, 4096).unwrap();
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    assert_eq!(srv.request_count(), 2);
    assert!(srv.requests()[1].starts_with("GET /nope HTTP/1.1\r\n"));
}

#[test]
fn panicking_mint_does_not_kill_the_proxy() {
    let p = Arc::new(pki());
    let p2 = p.clone();
    let mint: MintFn = Arc::new(move |host: &str| {
        if host == "boom.test" {
            panic!("test mint refuses boom.test (expected panic)");
        }
        Minted::new(&p2.int.issue_leaf(host, None), &[])
    });
    let proxy = InterceptingProxy::start(ProxyConfig::new(mint)).unwrap();
    let (head, r) = probe_via_proxy(
        proxy.addr(),
        "boom.test:443",
        "boom.test",
        None,
        ClientVersions::Both,
    );
    assert!(head.starts_with("HTTP/1.1 200"));
    assert!(r.unwrap().is_err());
    let (_, r) = probe_via_proxy(
        proxy.addr(),
        "ok.test:443",
        "ok.test",
        None,
        ClientVersions::Both,
    );
    assert!(r.unwrap().is_ok());
    assert!(proxy.wait_idle(Duration::from_secs(5)));
    let hs = proxy.handshakes();
    assert_eq!(hs[0].error.as_deref(), Some("mint function panicked"));
    assert!(hs[1].completed);
}
