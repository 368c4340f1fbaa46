//! Hermetic discover tests: each proxy shape from the issue, against the in-process intercepting
//! proxy of `trust-proxy-testkit` on loopback.

use std::sync::Arc;
use std::time::{Duration, Instant};
use trust_proxy::analyze::certinfo::Cert;
use trust_proxy::analyze::chain::{CaFileCert, FoundBy, LinkSource, SelfSignedShape};
use trust_proxy::analyze::classify::PublicRoots;
use trust_proxy::discover::proxy::{ProxyEndpoint, ProxySettings, ProxySource};
use trust_proxy::discover::target::Target;
use trust_proxy::discover::{
    discover, DiscoverConfig, DiscoverResult, Outcome, Provenance, TargetStatus,
};
use trust_proxy_testkit::*;

fn cert(der: &rustls_pki_types::CertificateDer<'_>) -> Cert {
    Cert::parse(der.as_ref()).unwrap()
}

struct Setup {
    proxy: Option<String>,
    targets: Vec<&'static str>,
    os_roots: Vec<Cert>,
    ca_files: Vec<Cert>,
    public: Option<Vec<Cert>>,
    timeout: Duration,
}

impl Setup {
    fn via(proxy: &ProxyHandle) -> Setup {
        Setup {
            proxy: Some(proxy.url()),
            targets: vec!["pypi.org"],
            os_roots: vec![],
            ca_files: vec![],
            public: None,
            timeout: Duration::from_secs(5),
        }
    }

    fn run(self) -> DiscoverResult {
        let mut proxy = ProxySettings::default();
        match &self.proxy {
            Some(url) => proxy.flag = Some(ProxyEndpoint::parse(url).unwrap()),
            None => proxy.no_proxy_flag = true,
        }
        let public = match &self.public {
            Some(certs) => PublicRoots::from_certs(certs, "test public roots").unwrap(),
            None => PublicRoots::mozilla(),
        };
        discover(&DiscoverConfig {
            targets: self
                .targets
                .iter()
                .map(|t| Target::parse(t).unwrap())
                .collect(),
            proxy,
            ca_files: self
                .ca_files
                .into_iter()
                .map(|cert| CaFileCert {
                    path: "/test/ca.pem".into(),
                    cert,
                })
                .collect(),
            public,
            os_roots: self.os_roots,
            os_store: "test store".into(),
            timeout: self.timeout,
            read_file: Box::new(|_| None),
        })
    }
}

fn fp(der: &rustls_pki_types::CertificateDer<'_>) -> String {
    cert(der).sha256().to_string()
}

fn error_of(r: &DiscoverResult) -> (&'static str, String) {
    match &r.targets[0].status {
        TargetStatus::Error { kind, message } => (kind, message.clone()),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn root_sent_in_chain() {
    let root = Arc::new(Ca::new_root("Corp Root CA"));
    let proxy = InterceptingProxy::start(ProxyConfig::new(mint_from(
        root.clone(),
        vec![root.cert_der()],
    )))
    .unwrap();
    let r = Setup::via(&proxy).run();
    assert_eq!(r.outcome, Outcome::Intercepted);
    assert_eq!(r.roots.len(), 1);
    let found = &r.roots[0];
    assert_eq!(found.root.sha256(), fp(&root.cert_der()));
    assert_eq!(found.found_by, FoundBy::SelfSignedInChain);
    assert_eq!(found.provenance, Provenance::Network);
    assert!(!found.in_os_store);
    let t = &r.targets[0];
    assert_eq!(t.proxy.as_ref().unwrap().source, ProxySource::Flag);
    // The probe sends SNI and never any application data.
    assert_eq!(proxy.sni_seen(), vec![Some("pypi.org".to_string())]);
    assert!(!proxy.app_data_received());
    assert_eq!(proxy.connect_count(), 1);
}

#[test]
fn leaf_and_intermediate_root_by_aia_in_each_format() {
    for format in ["der", "pem", "p7c"] {
        let root = Ca::new_root("Corp Root CA");
        let url = format!("http://aia.corp.test/root.{format}");
        let issuing = Arc::new(root.issue_intermediate("Corp Issuing CA", Some(&url)));
        let body = match format {
            "der" => root.cert_der().to_vec(),
            "pem" => root.cert_pem().into_bytes(),
            _ => pkcs7_certs_only(&[root.cert_der()]),
        };
        let proxy = InterceptingProxy::start(
            ProxyConfig::new(mint_from(issuing.clone(), vec![issuing.cert_der()]))
                .route(&url, HttpReply::ok("application/pkix-cert", body)),
        )
        .unwrap();
        let r = Setup::via(&proxy).run();
        assert_eq!(r.outcome, Outcome::Intercepted, "{format}");
        let found = &r.roots[0];
        assert_eq!(found.root.sha256(), fp(&root.cert_der()));
        assert_eq!(found.found_by, FoundBy::Aia);
        assert_eq!(found.provenance, Provenance::Network);
        assert_eq!(found.intermediates.len(), 1);
        assert_eq!(found.intermediates[0].1, LinkSource::Presented);
        // The AIA fetch went through the same proxy, as an absolute-form GET.
        assert!(
            proxy
                .requests()
                .iter()
                .any(|r| r.starts_with(&format!("GET {url} HTTP/1.1"))),
            "{format}"
        );
    }
}

#[test]
fn leaf_only_root_in_os_store() {
    let root = Arc::new(Ca::new_root("Pushed By IT Root"));
    let proxy =
        InterceptingProxy::start(ProxyConfig::new(mint_from(root.clone(), vec![]))).unwrap();
    let mut s = Setup::via(&proxy);
    s.os_roots = vec![cert(&root.cert_der())];
    let r = s.run();
    assert_eq!(r.outcome, Outcome::Intercepted);
    assert_eq!(r.roots[0].found_by, FoundBy::OsStore);
    assert_eq!(r.roots[0].provenance, Provenance::OsStore);
    assert!(r.roots[0].in_os_store);
}

#[test]
fn intermediate_in_os_store_root_in_chain_is_still_os_store_provenance() {
    let root = Arc::new(Ca::new_root("IT Root"));
    let proxy = InterceptingProxy::start(ProxyConfig::new(mint_from(
        root.clone(),
        vec![root.cert_der()],
    )))
    .unwrap();
    let mut s = Setup::via(&proxy);
    s.os_roots = vec![cert(&root.cert_der())];
    let r = s.run();
    assert_eq!(r.roots[0].found_by, FoundBy::SelfSignedInChain);
    assert_eq!(r.roots[0].provenance, Provenance::OsStore);
}

#[test]
fn not_intercepted_when_chain_verifies_to_public_roots() {
    let public = Arc::new(Ca::new_root("Public Root"));
    let issuing = Arc::new(public.issue_intermediate("Public Issuing", None));
    let proxy = InterceptingProxy::start(ProxyConfig::new(mint_from(
        issuing.clone(),
        vec![issuing.cert_der()],
    )))
    .unwrap();
    let mut s = Setup::via(&proxy);
    s.public = Some(vec![cert(&public.cert_der())]);
    let r = s.run();
    assert_eq!(r.outcome, Outcome::NotIntercepted);
    assert_eq!(r.outcome.exit_code(), 3);
    assert!(r.roots.is_empty());
    assert!(matches!(r.targets[0].status, TargetStatus::NotIntercepted));
}

#[test]
fn duplicated_and_reversed_chains() {
    let root = Ca::new_root("Root R");
    let int = Arc::new(root.issue_intermediate("Int I", None));
    let root_der = root.cert_der();
    let int_der = int.cert_der();
    let int2 = int.clone();
    let mint: MintFn = Arc::new(move |host: &str| {
        let leaf = int2.issue_leaf(host, None);
        Minted::new(
            &leaf,
            &[
                root_der.clone(),
                int_der.clone(),
                int_der.clone(),
                leaf.cert_der.clone(),
            ],
        )
    });
    let proxy = InterceptingProxy::start(ProxyConfig::new(mint)).unwrap();
    let r = Setup::via(&proxy).run();
    assert_eq!(r.outcome, Outcome::Intercepted);
    assert_eq!(r.roots[0].found_by, FoundBy::SelfSignedInChain);
    assert_eq!(r.roots[0].root.sha256(), fp(&root.cert_der()));
    assert_eq!(r.roots[0].intermediates.len(), 1);
    assert_eq!(
        r.targets[0].presented.len(),
        5,
        "the report shows the chain as sent"
    );
}

#[test]
fn proxy_auth_required_then_accepted() {
    let root = Arc::new(Ca::new_root("Auth Root"));
    let proxy = InterceptingProxy::start(
        ProxyConfig::new(mint_from(root.clone(), vec![root.cert_der()]))
            .auth(BasicAuth::new("alice", "p@ss:w")),
    )
    .unwrap();
    let r = Setup::via(&proxy).run();
    assert_eq!(r.outcome, Outcome::NetworkFailure);
    assert_eq!(r.outcome.exit_code(), 5);
    let (kind, message) = error_of(&r);
    assert_eq!(kind, "proxy_auth_required");
    assert!(message.contains("Basic"), "{message}");
    assert!(
        message.contains("--proxy http://USER:PASSWORD@"),
        "{message}"
    );

    let mut s = Setup::via(&proxy);
    let port = proxy.addr().port();
    s.proxy = Some(format!("http://alice:p%40ss%3Aw@127.0.0.1:{port}"));
    let r = s.run();
    assert_eq!(r.outcome, Outcome::Intercepted);
    assert!(proxy
        .requests()
        .iter()
        .any(|h| h.contains("Proxy-Authorization: Basic")));

    let mut s = Setup::via(&proxy);
    s.proxy = Some(format!("http://alice:wrong@127.0.0.1:{port}"));
    let (kind, message) = error_of(&s.run());
    assert_eq!(kind, "proxy_auth_required");
    assert!(message.contains("rejected the credentials"), "{message}");
}

#[test]
fn https_proxy_tls_in_tls() {
    let proxy_ca = Ca::new_root("Proxy Listener CA");
    let root = Arc::new(Ca::new_root("Inspect Root"));
    let listener = Minted::new(&proxy_ca.issue_leaf("127.0.0.1", None), &[]);
    let proxy = InterceptingProxy::start(
        ProxyConfig::new(mint_from(root.clone(), vec![root.cert_der()])).https(listener),
    )
    .unwrap();
    assert!(proxy.url().starts_with("https://"));
    let mut s = Setup::via(&proxy);
    s.ca_files = vec![cert(&proxy_ca.cert_der())];
    let r = s.run();
    assert_eq!(r.outcome, Outcome::Intercepted);
    assert_eq!(r.roots[0].root.sha256(), fp(&root.cert_der()));
    assert!(r.targets[0].proxy_tls_unverified.is_none());

    // Unverifiable proxy certificate: fine without credentials (noted), refused with them.
    let r = Setup::via(&proxy).run();
    assert_eq!(r.outcome, Outcome::Intercepted);
    assert!(r.targets[0].proxy_tls_unverified.is_some());
    let mut s = Setup::via(&proxy);
    s.proxy = Some(format!("https://u:p@127.0.0.1:{}", proxy.addr().port()));
    let (kind, message) = error_of(&s.run());
    assert_eq!(kind, "proxy_tls");
    assert!(message.contains("--ca-file"), "{message}");
}

#[test]
fn tls12_and_tls13() {
    for (versions, expected) in [
        (TlsVersions::Only12, "TLSv1.2"),
        (TlsVersions::Only13, "TLSv1.3"),
    ] {
        let root = Arc::new(Ca::new_root("V Root"));
        let proxy = InterceptingProxy::start(
            ProxyConfig::new(mint_from(root.clone(), vec![root.cert_der()])).tls_versions(versions),
        )
        .unwrap();
        let r = Setup::via(&proxy).run();
        assert_eq!(r.outcome, Outcome::Intercepted);
        assert_eq!(r.targets[0].tls_version.as_deref(), Some(expected));
        assert!(!proxy.app_data_received());
    }
}

#[test]
fn ipv6_proxy_and_http10_reply() {
    let root = Arc::new(Ca::new_root("V6 Root"));
    let Ok(proxy) = InterceptingProxy::start(
        ProxyConfig::new(mint_from(root.clone(), vec![root.cert_der()]))
            .listen("[::1]:0".parse().unwrap())
            .behaviour(Behaviour::Http10Reply),
    ) else {
        eprintln!("no IPv6 loopback on this machine; skipped");
        return;
    };
    let r = Setup::via(&proxy).run();
    assert_eq!(r.outcome, Outcome::Intercepted, "{:?}", r.targets[0].status);
}

#[test]
fn several_targets_one_root_and_a_bypassed_host() {
    let root = Arc::new(Ca::new_root("Corp Root"));
    let public = Arc::new(Ca::new_root("Public Root"));
    let (r2, p2) = (root.clone(), public.clone());
    let mint: MintFn = Arc::new(move |host: &str| {
        if host == "github.com" {
            Minted::new(&p2.issue_leaf(host, None), &[])
        } else {
            Minted::new(&r2.issue_leaf(host, None), &[r2.cert_der()])
        }
    });
    let proxy = InterceptingProxy::start(ProxyConfig::new(mint)).unwrap();
    let mut s = Setup::via(&proxy);
    s.targets = vec!["pypi.org", "crates.io", "github.com"];
    s.public = Some(vec![cert(&public.cert_der())]);
    let r = s.run();
    assert_eq!(r.outcome, Outcome::Intercepted);
    assert_eq!(r.roots.len(), 1);
    assert_eq!(r.roots[0].seen_on.len(), 2);
    let gh = r
        .targets
        .iter()
        .find(|t| t.target.host == "github.com")
        .unwrap();
    assert!(matches!(gh.status, TargetStatus::NotIntercepted));
    assert_eq!(proxy.connect_count(), 3);
}

#[test]
fn two_distinct_roots_are_both_reported() {
    let a = Arc::new(Ca::new_root("Region A Root"));
    let b = Arc::new(Ca::new_root("Region B Root"));
    let (a2, b2) = (a.clone(), b.clone());
    let mint: MintFn = Arc::new(move |host: &str| {
        let ca = if host == "pypi.org" { &a2 } else { &b2 };
        Minted::new(&ca.issue_leaf(host, None), &[ca.cert_der()])
    });
    let proxy = InterceptingProxy::start(ProxyConfig::new(mint)).unwrap();
    let mut s = Setup::via(&proxy);
    s.targets = vec!["pypi.org", "crates.io"];
    let r = s.run();
    assert_eq!(r.roots.len(), 2);
}

#[test]
fn root_from_ca_file() {
    let root = Ca::new_root("File Root");
    let int = Arc::new(root.issue_intermediate("File Int", None));
    let proxy = InterceptingProxy::start(ProxyConfig::new(mint_from(
        int.clone(),
        vec![int.cert_der()],
    )))
    .unwrap();
    let mut s = Setup::via(&proxy);
    s.ca_files = vec![cert(&root.cert_der())];
    let r = s.run();
    assert_eq!(r.outcome, Outcome::Intercepted);
    assert_eq!(r.roots[0].found_by, FoundBy::CaFile);
    assert_eq!(r.roots[0].provenance, Provenance::UserFile);
}

#[test]
fn mitmproxy_vendor_hint() {
    let opts = CaOptions::default().organization("mitmproxy");
    let root = Arc::new(Ca::new_root_with("mitmproxy", &opts));
    let proxy = InterceptingProxy::start(ProxyConfig::new(mint_from(root.clone(), vec![])).route(
        "http://mitm.it/cert/pem",
        HttpReply::ok("application/x-x509-ca-cert", root.cert_pem()),
    ))
    .unwrap();
    let r = Setup::via(&proxy).run();
    assert_eq!(r.outcome, Outcome::Intercepted, "{:?}", r.targets[0].status);
    assert_eq!(r.roots[0].found_by, FoundBy::VendorHint);
    assert_eq!(r.roots[0].provenance, Provenance::Network);
}

#[test]
fn root_not_found_names_top_issuer() {
    let root = Ca::new_root("Hidden Root");
    let int = Arc::new(root.issue_intermediate("Zscaler Intermediate Root CA", None));
    let proxy = InterceptingProxy::start(ProxyConfig::new(mint_from(
        int.clone(),
        vec![int.cert_der()],
    )))
    .unwrap();
    let r = Setup::via(&proxy).run();
    assert_eq!(r.outcome, Outcome::RootNotFound);
    assert_eq!(r.outcome.exit_code(), 4);
    let u = &r.unresolved[0];
    assert!(u.top.info.issuer.contains("Hidden Root"));
    assert_eq!(u.vendor, Some("Zscaler"));
    assert!(u.advice.contains("--ca-file"));
}

#[test]
fn aia_on_direct_connection_never_goes_to_loopback() {
    let root = Ca::new_root("Direct Root");
    let aia = HttpServer::start(
        [(
            "/root.der".to_string(),
            HttpReply::ok("application/pkix-cert", root.cert_der().to_vec()),
        )]
        .into(),
    )
    .unwrap();
    let url = format!("{}/root.der", aia.url());
    let int = Arc::new(root.issue_intermediate("Direct Int", Some(&url)));
    let server = TlsServer::start_local(mint_from(int.clone(), vec![int.cert_der()])).unwrap();
    let mut s = Setup::via_direct(server.addr());
    s.timeout = Duration::from_secs(3);
    let r = s.run();
    assert_eq!(r.outcome, Outcome::RootNotFound);
    assert_eq!(
        aia.request_count(),
        0,
        "AIA must never be fetched from loopback"
    );
    let TargetStatus::Intercepted(i) = &r.targets[0].status else {
        panic!()
    };
    assert!(
        i.notes.iter().any(|n| n.contains("refusing")),
        "{:?}",
        i.notes
    );
    assert_eq!(
        r.targets[0].proxy.as_ref().unwrap().source,
        ProxySource::NoProxyFlag
    );
}

impl Setup {
    fn via_direct(addr: std::net::SocketAddr) -> Setup {
        let target: &'static str = Box::leak(addr.to_string().into_boxed_str());
        Setup {
            proxy: None,
            targets: vec![target],
            os_roots: vec![],
            ca_files: vec![],
            public: None,
            timeout: Duration::from_secs(5),
        }
    }
}

#[test]
fn probes_run_in_parallel() {
    let proxy = InterceptingProxy::start(
        ProxyConfig::new(mint_fixed(Minted::new(&Leaf::self_signed("x"), &[])))
            .behaviour(Behaviour::Silent),
    )
    .unwrap();
    let mut s = Setup::via(&proxy);
    s.targets = vec!["a.example", "b.example", "c.example", "d.example"];
    s.timeout = Duration::from_millis(1500);
    let start = Instant::now();
    let r = s.run();
    assert!(
        start.elapsed() < Duration::from_millis(4000),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(r.outcome, Outcome::NetworkFailure);
}

/// The plainest case of the mission: an internal service with what `openssl req -x509` makes
/// (one certificate, CA:TRUE), reached directly. This used to panic in `fold`.
#[test]
fn self_signed_ca_service_direct() {
    let cert = Leaf::self_signed_ca(&["127.0.0.1"]);
    let server = TlsServer::start_local(mint_fixed(Minted::new(&cert, &[]))).unwrap();
    let r = Setup::via_direct(server.addr()).run();
    assert_eq!(r.outcome, Outcome::SelfSigned, "{:?}", r.targets[0].status);
    assert_eq!(r.outcome.exit_code(), 0);
    assert!(r.roots.is_empty(), "not an interception root");
    assert!(r.unresolved.is_empty());
    assert_eq!(r.self_signed.len(), 1);
    let s = &r.self_signed[0];
    assert_eq!(s.cert.sha256(), fp(&cert.cert_der));
    assert_eq!(s.shape, SelfSignedShape::Ca);
    assert_eq!(s.provenance, Provenance::Network);
    assert!(!s.in_os_store);
    assert!(s.names_not_covered.is_empty());
    assert!(matches!(
        r.targets[0].status,
        TargetStatus::SelfSigned {
            shape: SelfSignedShape::Ca,
            covers_target: true,
            ..
        }
    ));
    let text = trust_proxy::cli::report::to_text(&r, None);
    assert!(
        text.contains("self-signed certificate: not interception"),
        "{text}"
    );
    assert!(text.contains(&fp(&cert.cert_der)), "{text}");
    assert!(text.contains("CaUsedAsEndEntity"), "{text}");
}

#[test]
fn self_signed_end_entity_through_an_explicit_proxy() {
    let cert = Leaf::self_signed("svc.internal.test");
    let proxy =
        InterceptingProxy::start(ProxyConfig::new(mint_fixed(Minted::new(&cert, &[])))).unwrap();
    let mut s = Setup::via(&proxy);
    s.targets = vec!["svc.internal.test", "other.internal.test"];
    s.os_roots = vec![self::cert(&Ca::new_root("Unrelated").cert_der())];
    let r = s.run();
    assert_eq!(r.outcome, Outcome::SelfSigned);
    assert_eq!(r.self_signed.len(), 1);
    let found = &r.self_signed[0];
    assert_eq!(found.shape, SelfSignedShape::EndEntity);
    assert_eq!(found.cert.sha256(), fp(&cert.cert_der));
    assert_eq!(found.seen_on.len(), 2);
    assert_eq!(
        found
            .names_not_covered
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>(),
        vec!["other.internal.test:443"]
    );
    let json: serde_json::Value =
        serde_json::from_str(&trust_proxy::cli::report::to_json(&r, None)).unwrap();
    assert_eq!(json["outcome"], "self_signed");
    assert_eq!(json["exit_code"], 0);
    assert_eq!(json["targets"][0]["status"], "self_signed");
    assert_eq!(json["targets"][0]["root_sha256"], fp(&cert.cert_der));
    let j = &json["self_signed"][0];
    assert_eq!(j["shape"], "end_entity");
    assert_eq!(j["provenance"], "network");
    assert_eq!(j["in_os_store"], false);
    assert_eq!(j["names_not_covered"][0], "other.internal.test:443");
    assert_eq!(j["certificate"]["sha256_fingerprint"], fp(&cert.cert_der));
    assert!(j["clients"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["accepts"] == false));
    let text = trust_proxy::cli::report::to_text(&r, None);
    assert!(text.contains("Name mismatch"), "{text}");
    assert!(
        text.contains("Names (SAN)      svc.internal.test\n"),
        "{text}"
    );
    assert!(text.contains("REJECTS"), "{text}");
    assert!(text.contains("private CA"), "{text}");
}

/// The same self-signed certificate the OS already trusts: provenance says so.
#[test]
fn self_signed_service_already_in_the_os_store() {
    let cert = Leaf::self_signed("svc.internal.test");
    let proxy =
        InterceptingProxy::start(ProxyConfig::new(mint_fixed(Minted::new(&cert, &[])))).unwrap();
    let mut s = Setup::via(&proxy);
    s.targets = vec!["svc.internal.test"];
    s.os_roots = vec![self::cert(&cert.cert_der)];
    let r = s.run();
    assert_eq!(r.self_signed[0].provenance, Provenance::OsStore);
    assert!(r.self_signed[0].in_os_store);
}
