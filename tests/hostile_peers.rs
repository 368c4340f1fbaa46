//! Hostile and broken peers: each must give a clear one-line error and the right outcome within
//! the deadline; no panic, no hang.

use std::sync::Arc;
use std::time::{Duration, Instant};
use trust_proxy::analyze::classify::PublicRoots;
use trust_proxy::discover::proxy::{ProxyEndpoint, ProxySettings};
use trust_proxy::discover::target::Target;
use trust_proxy::discover::{discover, DiscoverConfig, DiscoverResult, Outcome, TargetStatus};
use trust_proxy_testkit::*;

const DEADLINE: Duration = Duration::from_millis(1500);
/// Deadline plus scheduling slack on a loaded 2-core CI machine.
const BOUND: Duration = Duration::from_millis(4000);

fn run(proxy: &ProxyHandle) -> (DiscoverResult, Duration) {
    let settings = ProxySettings {
        flag: Some(ProxyEndpoint::parse(&proxy.url()).unwrap()),
        ..Default::default()
    };
    let start = Instant::now();
    let r = discover(&DiscoverConfig {
        targets: vec![Target::parse("pypi.org").unwrap()],
        proxy: settings,
        ca_files: vec![],
        public: PublicRoots::mozilla(),
        os_roots: vec![],
        os_store: "none".into(),
        timeout: DEADLINE,
        read_file: Box::new(|_| None),
    });
    (r, start.elapsed())
}

fn behaving(b: Behaviour) -> ProxyHandle {
    let root = Arc::new(Ca::new_root("Hostile Root"));
    InterceptingProxy::start(
        ProxyConfig::new(mint_from(root.clone(), vec![root.cert_der()])).behaviour(b),
    )
    .unwrap()
}

fn expect_error(r: &DiscoverResult, elapsed: Duration, kind: &str, needle: &str) {
    assert!(elapsed < BOUND, "took {elapsed:?}");
    match &r.targets[0].status {
        TargetStatus::Error { kind: k, message } => {
            assert_eq!(*k, kind, "{message}");
            assert!(message.contains(needle), "{message:?} lacks {needle:?}");
            assert!(!message.contains('\n'), "one line: {message:?}");
        }
        other => panic!("expected {kind}, got {other:?}"),
    }
}

#[test]
fn garbage_instead_of_http() {
    let p = behaving(Behaviour::Garbage);
    let (r, t) = run(&p);
    expect_error(&r, t, "proxy_protocol", "not valid HTTP");
    assert_eq!(r.outcome, Outcome::NetworkFailure);
}

#[test]
fn megabytes_of_headers() {
    let p = behaving(Behaviour::HugeHeaders {
        bytes: 4 << 20,
        terminate: false,
    });
    let (r, t) = run(&p);
    expect_error(&r, t, "proxy_protocol", "exceeds");
}

#[test]
fn accepts_and_never_answers() {
    let p = behaving(Behaviour::Silent);
    let (r, t) = run(&p);
    expect_error(&r, t, "timeout", "timed out");
    assert!(t >= DEADLINE - Duration::from_millis(100));
}

#[test]
fn trickles_bytes_forever() {
    let p = behaving(Behaviour::Trickle { interval_ms: 50 });
    let (r, t) = run(&p);
    expect_error(&r, t, "timeout", "timed out");
}

#[test]
fn closes_mid_handshake() {
    let p = behaving(Behaviour::CloseMidHandshake);
    let (r, t) = run(&p);
    expect_error(&r, t, "closed", "closed");
}

#[test]
fn tls_alert() {
    let p = behaving(Behaviour::TlsAlert);
    let (r, t) = run(&p);
    expect_error(&r, t, "tls_alert", "alert");
}

#[test]
fn non_tls_after_200() {
    let p = behaving(Behaviour::NonTlsAfter200);
    let (r, t) = run(&p);
    expect_error(&r, t, "not_tls", "did not relay TLS");
}

#[test]
fn refusals_quote_the_status_line() {
    for line in [
        "HTTP/1.1 403 Forbidden",
        "HTTP/1.0 502 Bad Gateway",
        "HTTP/1.1 503 Service Unavailable",
    ] {
        let p = behaving(Behaviour::Status(line.to_string()));
        let (r, t) = run(&p);
        expect_error(&r, t, "proxy_refused", line);
    }
}

#[test]
fn chain_of_a_hundred_certs() {
    let root = Ca::new_root("Long Root");
    let mut chain = vec![];
    let mut ca = root.issue_intermediate("I0", None);
    let mut cas = vec![];
    for i in 1..100 {
        let next = ca.issue_intermediate(&format!("I{i}"), None);
        cas.push(ca);
        ca = next;
    }
    let leaf = ca.issue_leaf("pypi.org", None);
    chain.push(leaf.cert_der.clone());
    chain.push(ca.cert_der());
    for c in cas.iter().rev() {
        chain.push(c.cert_der());
    }
    let p = InterceptingProxy::start(ProxyConfig::new(mint_fixed(Minted {
        chain,
        key: leaf.key_der.clone_key(),
    })))
    .unwrap();
    let (r, t) = run(&p);
    assert!(t < BOUND);
    // rustls refuses a certificate message this large; either way a clean error, no root.
    match &r.targets[0].status {
        TargetStatus::Error { message, .. } => assert!(!message.contains('\n')),
        TargetStatus::Intercepted(i) => assert!(!i.root_found || i.path.len() <= 8),
        other => panic!("{other:?}"),
    }
    assert_ne!(r.outcome, Outcome::Intercepted);
}

#[test]
fn megabyte_certificate() {
    let leaf = Leaf::self_signed("pypi.org");
    let mut big = vec![0x30, 0x83, 0x10, 0x00, 0x00];
    big.resize(5 + 0x100000, 0x41);
    let chain = vec![leaf.cert_der.clone(), big.into()];
    let p = InterceptingProxy::start(ProxyConfig::new(mint_fixed(Minted {
        chain,
        key: leaf.key_der.clone_key(),
    })))
    .unwrap();
    let (r, t) = run(&p);
    assert!(t < BOUND, "{t:?}");
    assert!(
        matches!(r.targets[0].status, TargetStatus::Error { .. }),
        "{:?}",
        r.targets[0].status
    );
}

#[test]
fn malformed_der_leaf() {
    let leaf = Leaf::self_signed("pypi.org");
    let chain = vec![vec![0x30, 0x03, 0x02, 0x01, 0x05].into()];
    let p = InterceptingProxy::start(ProxyConfig::new(mint_fixed(Minted {
        chain,
        key: leaf.key_der.clone_key(),
    })))
    .unwrap();
    let (r, t) = run(&p);
    expect_error(&r, t, "bad_certificate", "not usable");
}

#[test]
fn aia_of_fifty_megabytes() {
    let root = Ca::new_root("Big AIA Root");
    let url = "http://aia.corp.test/huge.cer";
    let int = Arc::new(root.issue_intermediate("Big AIA Int", Some(url)));
    for reply in [
        HttpReply::new(200, Body::Sized(50 << 20)),
        HttpReply::new(200, Body::Infinite),
        HttpReply::new(200, Body::Chunked(vec![0x41; 3 << 20])),
    ] {
        let p = InterceptingProxy::start(
            ProxyConfig::new(mint_from(int.clone(), vec![int.cert_der()])).route(url, reply),
        )
        .unwrap();
        let (r, t) = run(&p);
        assert!(t < BOUND, "{t:?}");
        assert_eq!(r.outcome, Outcome::RootNotFound);
        let TargetStatus::Intercepted(i) = &r.targets[0].status else {
            panic!()
        };
        assert!(
            i.notes.iter().any(|n| n.contains("larger than")),
            "{:?}",
            i.notes
        );
    }
}

#[test]
fn aia_loops_are_bounded() {
    let root = Ca::new_root("Loop Root");
    let url = "http://aia.corp.test/loop.cer";
    let int = Arc::new(root.issue_intermediate("Loop Int", Some(url)));
    // The AIA answers with the intermediate itself (a loop), or redirects in a circle, or to
    // another scheme.
    for reply in [
        HttpReply::ok("application/pkix-cert", int.cert_der().to_vec()),
        HttpReply::status(302).header("Location", url),
        HttpReply::status(302).header("Location", "https://aia.corp.test/x.cer"),
        HttpReply::status(302).header("Location", "http://127.0.0.1/x.cer"),
    ] {
        let p = InterceptingProxy::start(
            ProxyConfig::new(mint_from(int.clone(), vec![int.cert_der()])).route(url, reply),
        )
        .unwrap();
        let (r, t) = run(&p);
        assert!(t < BOUND);
        assert_eq!(r.outcome, Outcome::RootNotFound);
        assert!(p.requests().len() <= 6, "{} requests", p.requests().len());
    }
}

/// The AIA of the intercepting intermediate answers `reply`; the root is only reachable there.
fn through_aia(reply: HttpReply) -> (DiscoverResult, Duration, Vec<u8>) {
    let root = Ca::new_root("Chunked Root");
    let url = "http://aia.corp.test/chunked.cer";
    let int = Arc::new(root.issue_intermediate("Chunked Int", Some(url)));
    let p = InterceptingProxy::start(
        ProxyConfig::new(mint_from(int.clone(), vec![int.cert_der()])).route(url, reply),
    )
    .unwrap();
    let (r, t) = run(&p);
    (r, t, root.cert_der().to_vec())
}

fn chunked_raw(raw: &[u8]) -> HttpReply {
    HttpReply::new(200, Body::Bytes(raw.to_vec())).header("Transfer-Encoding", "chunked")
}

/// Each hostile framing ends as a note on the AIA fetch, never as a panicked probe thread.
fn expect_aia_note(raw: &[u8], needle: &str) {
    let (r, t, _) = through_aia(chunked_raw(raw));
    assert!(t < BOUND, "{t:?}");
    let TargetStatus::Intercepted(i) = &r.targets[0].status else {
        panic!("{:?}", r.targets[0].status)
    };
    assert_eq!(r.outcome, Outcome::RootNotFound);
    assert!(
        i.notes.iter().any(|n| n.contains(needle)),
        "{:?} lacks {needle:?}",
        i.notes
    );
}

#[test]
fn aia_chunk_size_of_two_to_the_64_minus_one() {
    expect_aia_note(b"1\r\na\r\nFFFFFFFFFFFFFFFF\r\nabc\r\n", "larger than");
    expect_aia_note(b"FFFFFFFFFFFFFFFF\r\nabc\r\n", "larger than");
}

#[test]
fn aia_chunk_framing_that_lies() {
    for (raw, needle) in [
        // 17 hex digits do not fit in 64 bits.
        (&b"10000000000000000\r\nabc\r\n0\r\n\r\n"[..], "chunk size"),
        (b"-1\r\nabc\r\n0\r\n\r\n", "chunk size"),
        (b"0x3\r\nabc\r\n0\r\n\r\n", "chunk size"),
        // Chunk data not followed by CRLF.
        (b"3\r\nabcXY0\r\n\r\n", "after chunk data"),
        // The body ends before the last chunk.
        (b"3\r\nabc\r\n", "ended"),
        (b"10\r\nabc", "ended"),
    ] {
        expect_aia_note(raw, needle);
    }
    // A chunk-size line that never ends is cut at a bound, not read into memory forever.
    let mut endless = b"1;".to_vec();
    endless.resize(256 * 1024, b'x');
    expect_aia_note(&endless, "chunk size");
}

#[test]
fn aia_chunked_in_single_bytes_with_extensions_and_trailer() {
    let root = Ca::new_root("Chunked Root");
    let der = root.cert_der().to_vec();
    let mut raw = Vec::new();
    for b in &der {
        raw.extend_from_slice(b"1;ext=\"v\"\r\n");
        raw.push(*b);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\nX-Trailer: y\r\n\r\n");
    let url = "http://aia.corp.test/chunked.cer";
    let int = Arc::new(root.issue_intermediate("Chunked Int", Some(url)));
    // Content-Length beside chunked is ignored (RFC 9112 6.3): chunked framing wins.
    let reply = chunked_raw(&raw).header("Content-Length", "5");
    let p = InterceptingProxy::start(
        ProxyConfig::new(mint_from(int.clone(), vec![int.cert_der()])).route(url, reply),
    )
    .unwrap();
    let (r, t) = run(&p);
    assert!(t < BOUND, "{t:?}");
    let notes = match &r.targets[0].status {
        TargetStatus::Intercepted(i) => i.notes.clone(),
        _ => vec![],
    };
    assert_eq!(r.outcome, Outcome::Intercepted, "{notes:?}");
    assert_eq!(r.roots[0].root.der.as_ref(), &der[..]);
}
