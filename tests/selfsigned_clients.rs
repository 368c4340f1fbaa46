//! Does rustls/webpki (cargo, uv, Deno, and trust-proxy's own verify step) accept a self-signed
//! certificate as the trust anchor of the host presenting it? A real handshake against a
//! loopback server for both shapes, with the certificate as the only root.

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use trust_proxy_testkit::*;

fn handshake(cert: &Leaf, name: &str) -> Result<(), String> {
    let server = TlsServer::start_local(mint_fixed(Minted::new(cert, &[]))).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(cert.cert_der.clone())
        .map_err(|e| format!("{e:?}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from(name.to_string()).unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut sock = TcpStream::connect(server.addr()).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).map_err(|e| e.to_string())?;
    }
    conn.send_close_notify();
    let _ = conn.complete_io(&mut sock);
    let _ = sock.flush();
    Ok(())
}

#[test]
fn rustls_accepts_a_self_signed_end_entity_anchor_for_its_name_only() {
    let ee = Leaf::self_signed("svc.internal.test");
    assert_eq!(handshake(&ee, "svc.internal.test"), Ok(()));
    let other = handshake(&ee, "other.internal.test").unwrap_err();
    assert!(other.contains("not valid for name"), "{other}");
}

#[test]
fn rustls_rejects_a_ca_certificate_presented_as_the_server_certificate() {
    let ca = Leaf::self_signed_ca(&["svc.internal.test"]);
    let err = handshake(&ca, "svc.internal.test").unwrap_err();
    assert!(err.contains("CaUsedAsEndEntity"), "{err}");
}

/// trust-proxy's own verify step accepts a self-signed CA certificate as the server's
/// certificate (as OpenSSL-based clients do) only when it is exactly a certificate of the bundle.
#[test]
fn verify_accepts_a_self_signed_ca_leaf_only_when_it_is_the_trusted_certificate() {
    use trust_proxy::analyze::certinfo::Cert;
    use trust_proxy::discover::proxy::ProxySettings;
    use trust_proxy::discover::target::Target;
    use trust_proxy::discover::tunnel::ProxyTlsTrust;
    use trust_proxy::install::verify::{verify, Verification};
    let ca = Leaf::self_signed_ca(&["127.0.0.1"]);
    let impostor = Leaf::self_signed_ca(&["127.0.0.1"]);
    let server = TlsServer::start_local(mint_fixed(Minted::new(&ca, &[]))).unwrap();
    let target = Target::parse(&server.addr().to_string()).unwrap();
    let settings = ProxySettings {
        no_proxy_flag: true,
        ..Default::default()
    };
    let choice = settings.choose(&target).unwrap();
    let parse = |l: &Leaf| Cert::parse(l.cert_der.as_ref()).unwrap();
    for (bundle, expect_ok) in [(vec![parse(&ca)], true), (vec![parse(&impostor)], false)] {
        let v = verify(
            &[(target.clone(), choice.clone())],
            &bundle,
            std::time::Duration::from_secs(5),
            &ProxyTlsTrust { roots: Vec::new() },
        );
        assert_eq!(matches!(v, Verification::Passed { .. }), expect_ok, "{v:?}");
    }
}
