//! Client-side helpers for the testkit's own tests: a bounded rustls client and openssl runner.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use trust_proxy_testkit::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use trust_proxy_testkit::rustls::crypto::{ring, verify_tls12_signature, verify_tls13_signature};
use trust_proxy_testkit::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use trust_proxy_testkit::rustls::{
    self, ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme,
    StreamOwned,
};

/// Every socket operation in tests is bounded by this.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts any chain (records it); checks handshake signatures only if `check_sigs`.
#[derive(Debug)]
pub struct Capture {
    pub seen: Mutex<Vec<CertificateDer<'static>>>,
    pub check_sigs: bool,
}

impl ServerCertVerifier for Capture {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut v = vec![end_entity.clone().into_owned()];
        v.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        *self.seen.lock().unwrap() = v;
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if !self.check_sigs {
            return Ok(HandshakeSignatureValid::assertion());
        }
        verify_tls12_signature(
            message,
            cert,
            dss,
            &ring::default_provider().signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if !self.check_sigs {
            return Ok(HandshakeSignatureValid::assertion());
        }
        verify_tls13_signature(
            message,
            cert,
            dss,
            &ring::default_provider().signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Which TLS versions the test client offers.
#[derive(Clone, Copy, Debug)]
pub enum ClientVersions {
    Both,
    Only12,
    Only13,
}

fn capture_config(versions: ClientVersions, check_sigs: bool) -> Arc<ClientConfig> {
    let v: &[&rustls::SupportedProtocolVersion] = match versions {
        ClientVersions::Both => &[&rustls::version::TLS13, &rustls::version::TLS12],
        ClientVersions::Only12 => &[&rustls::version::TLS12],
        ClientVersions::Only13 => &[&rustls::version::TLS13],
    };
    let cfg = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_protocol_versions(v)
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Capture {
            seen: Mutex::new(Vec::new()),
            check_sigs,
        }))
        .with_no_client_auth();
    Arc::new(cfg)
}

pub fn tcp(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect to loopback server");
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s
}

/// Read a response head (through CRLFCRLF) one byte at a time, so nothing past it is consumed.
pub fn read_response_head<S: Read>(s: &mut S, limit: usize) -> io::Result<String> {
    let mut buf = Vec::new();
    let mut b = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if buf.len() >= limit {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "head too long"));
        }
        match s.read(&mut b)? {
            0 => break,
            _ => buf.push(b[0]),
        }
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

pub fn connect_request(target: &str, auth: Option<(&str, &str)>) -> String {
    let mut req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some((u, p)) = auth {
        let token = trust_proxy_testkit::pki::base64_encode(format!("{u}:{p}").as_bytes());
        req.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    req.push_str("\r\n");
    req
}

/// Outcome of a TLS handshake attempt.
pub struct TlsResult {
    pub chain: Vec<CertificateDer<'static>>,
    pub version: Option<rustls::ProtocolVersion>,
}

/// Run a client TLS handshake over `io` for `sni`, returning the presented chain.
pub fn handshake<S: Read + Write>(
    io: S,
    sni: &str,
    versions: ClientVersions,
    check_sigs: bool,
) -> Result<(TlsResult, StreamOwned<ClientConnection, S>), rustls::Error> {
    let name = ServerName::try_from(sni.to_string()).unwrap();
    let conn = ClientConnection::new(capture_config(versions, check_sigs), name)?;
    let mut tls = StreamOwned::new(conn, io);
    while tls.conn.is_handshaking() {
        match tls.conn.complete_io(&mut tls.sock) {
            Ok(_) => {}
            Err(e) => {
                let text = format!("{:?}: {e}", e.kind());
                return Err(match e.into_inner() {
                    Some(inner) => match inner.downcast::<rustls::Error>() {
                        Ok(r) => *r,
                        Err(_) => rustls::Error::General(text),
                    },
                    None => rustls::Error::General(text),
                });
            }
        }
    }
    let chain = tls
        .conn
        .peer_certificates()
        .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
        .unwrap_or_default();
    let version = tls.conn.protocol_version();
    Ok((TlsResult { chain, version }, tls))
}

/// CONNECT through an HTTP proxy, then TLS. Returns (status head, TLS result if 200).
pub fn probe_via_proxy(
    proxy: SocketAddr,
    target: &str,
    sni: &str,
    auth: Option<(&str, &str)>,
    versions: ClientVersions,
) -> (String, Option<Result<TlsResult, rustls::Error>>) {
    let mut s = tcp(proxy);
    s.write_all(connect_request(target, auth).as_bytes())
        .unwrap();
    let head = read_response_head(&mut s, 64 * 1024).unwrap_or_default();
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return (head, None);
    }
    let r = handshake(s, sni, versions, true).map(|(r, mut tls)| {
        tls.conn.send_close_notify();
        let _ = tls.conn.complete_io(&mut tls.sock);
        r
    });
    (head, Some(r))
}

/// A rustls config that trusts exactly `root` (for the HTTPS proxy's outer TLS layer).
pub fn trusting(root: CertificateDer<'static>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(root).unwrap();
    Arc::new(
        ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Run a command with stdin closed, killing it after `timeout`. Returns (exit ok, stdout+stderr).
pub fn run_bounded(cmd: &mut Command, timeout: Duration) -> (bool, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn command");
    let out_pipe = child.stdout.take().unwrap();
    let err_pipe = child.stderr.take().unwrap();
    let t1 = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = io::BufReader::new(out_pipe).read_to_string(&mut s);
        s
    });
    let t2 = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = io::BufReader::new(err_pipe).read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = t1.join().unwrap_or_default() + &t2.join().unwrap_or_default();
    (status.map(|s| s.success()).unwrap_or(false), out)
}

/// PEM blocks printed by `openssl s_client -showcerts`, as DER.
pub fn pem_blocks(text: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        if line.starts_with("-----BEGIN CERTIFICATE-----") {
            cur = Some(String::new());
        } else if line.starts_with("-----END CERTIFICATE-----") {
            if let Some(b64) = cur.take() {
                out.push(base64_decode(&b64));
            }
        } else if let Some(c) = cur.as_mut() {
            c.push_str(line.trim());
        }
    }
    out
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => 0,
        }
    };
    let bytes: Vec<u8> = s.bytes().filter(|b| *b != b'=').collect();
    let mut out = Vec::new();
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c) << (18 - 6 * i);
        }
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    out
}

/// A scratch directory removed on drop (openssl needs real files for some commands).
pub struct Scratch(pub std::path::PathBuf);

impl Scratch {
    pub fn new() -> Scratch {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("testkit-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// Write `data` to `name` inside the directory and return its path.
    pub fn file(&self, name: &str, data: &[u8]) -> std::path::PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, data).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn openssl_text(pem: &str) -> String {
    let dir = Scratch::new();
    let p = dir.file("cert.pem", pem.as_bytes());
    let (ok, out) = run_bounded(
        Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in"])
            .arg(&p),
        Duration::from_secs(20),
    );
    assert!(ok, "openssl x509 failed: {out}");
    out
}
