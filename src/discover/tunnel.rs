//! Reaching the target: TCP (v4 or v6), optionally TLS to an `https://` proxy, then `CONNECT`.
//! Everything here runs under the target's [`Deadline`], and every byte the proxy sends is
//! treated as hostile: the reply head is size-bounded and parsed by httparse.

use crate::discover::deadline::{Deadline, DeadlineStream, Rewind};
use crate::discover::proxy::{Credentials, ProxyChoice, ProxyEndpoint, ProxyScheme};
use crate::discover::proxy_auth::{self, AuthRequired, CredentialsSent, Permit, Verdict};
use crate::discover::target::Target;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{mpsc, Arc, Mutex};

/// A proxy reply head larger than this is hostile or broken; real ones are a few hundred bytes.
pub const MAX_REPLY_HEAD: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;

pub trait ReadWrite: Read + Write + Send {}
impl<T: Read + Write + Send> ReadWrite for T {}
pub type Stream = Box<dyn ReadWrite>;

#[derive(Debug, thiserror::Error)]
pub enum TunnelError {
    #[error("could not resolve {host}: {message}")]
    Dns { host: String, message: String },
    #[error("could not connect to {what} {addr}: {}", io_words(.source))]
    Connect {
        what: &'static str,
        addr: String,
        source: io::Error,
    },
    #[error("timed out {stage}")]
    Timeout { stage: String },
    #[error("TLS to the proxy {proxy} failed: {message}")]
    ProxyTls { proxy: String, message: String },
    /// A 407, with every challenge the proxy offered (the message escapes them).
    #[error("{}", .0.message())]
    ProxyAuthRequired(Box<AuthRequired>),
    #[error("the proxy refused to open a tunnel (CONNECT) to this host: it answered {}", quoted(.status_line))]
    ProxyRefused { status_line: String, code: u16 },
    #[error("the proxy's reply is not valid HTTP ({cause}; it began with {}): is this address an HTTP proxy?", quoted(.began_with))]
    ProxyProtocol {
        cause: httparse::Error,
        /// The first bytes of the reply, printable, so the user can tell what answered.
        began_with: String,
    },
    #[error("the proxy's reply exceeds {MAX_REPLY_HEAD} bytes of headers, far more than a proxy sends: is this address an HTTP proxy?")]
    ReplyTooLarge,
    #[error("the proxy closed the connection {stage}")]
    Closed { stage: String },
    #[error("network error {stage}: {}", io_words(.source))]
    Io { stage: String, source: io::Error },
}

impl TunnelError {
    /// The 407's details, for the JSON report.
    pub fn auth_required(&self) -> Option<&AuthRequired> {
        match self {
            TunnelError::ProxyAuthRequired(auth) => Some(auth),
            _ => None,
        }
    }

    /// The stable `kind` written into JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            TunnelError::Dns { .. } => "dns",
            TunnelError::Connect { .. } => "connect",
            TunnelError::Timeout { .. } => "timeout",
            TunnelError::ProxyTls { .. } => "proxy_tls",
            TunnelError::ProxyAuthRequired(_) => "proxy_auth_required",
            TunnelError::ProxyRefused { .. } => "proxy_refused",
            TunnelError::ProxyProtocol { .. } | TunnelError::ReplyTooLarge => "proxy_protocol",
            TunnelError::Closed { .. } => "closed",
            TunnelError::Io { .. } => "io",
        }
    }
}

/// An I/O error as a person would say it: the common network failures in words, anything else
/// as the OS says it, without Rust's `(os error N)`.
pub fn io_words(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => {
            "connection refused (nothing accepts connections on that port)".to_string()
        }
        io::ErrorKind::HostUnreachable => "the host is unreachable from here".to_string(),
        io::ErrorKind::NetworkUnreachable => "the network is unreachable from here".to_string(),
        io::ErrorKind::AddrNotAvailable => "the address is not available from here".to_string(),
        _ => {
            let text = e.to_string();
            match text.rfind(" (os error ") {
                Some(at) if text.ends_with(')') => text.get(..at).unwrap_or(&text).to_string(),
                _ => text,
            }
        }
    }
}

/// Maps an I/O error to a timeout when that is what it was, so the user sees the right cause.
pub fn io_error(stage: &str, e: io::Error) -> TunnelError {
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TunnelError::Timeout {
            stage: stage.to_string(),
        },
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => TunnelError::Closed {
            stage: stage.to_string(),
        },
        _ => TunnelError::Io {
            stage: stage.to_string(),
            source: e,
        },
    }
}

/// What the caller learns about the way the tunnel was built.
#[derive(Debug, Clone, Default)]
pub struct TunnelInfo {
    /// For an `https://` proxy: why its own certificate did not verify, if it did not.
    pub proxy_tls_unverified: Option<String>,
    pub connect_status: Option<String>,
}

pub struct Tunnel {
    pub stream: Stream,
    pub info: TunnelInfo,
}

/// Roots used to verify an `https://` proxy's own certificate.
#[derive(Debug, Clone, Default)]
pub struct ProxyTlsTrust {
    pub roots: Vec<CertificateDer<'static>>,
}

/// Opens a byte stream to `target`, through the chosen proxy if there is one.
pub fn open(
    choice: &ProxyChoice,
    target: &Target,
    deadline: Deadline,
    trust: &ProxyTlsTrust,
) -> Result<Tunnel, TunnelError> {
    match &choice.endpoint {
        None => {
            let tcp = connect_tcp("target", &target.host, target.port, deadline)?;
            Ok(Tunnel {
                stream: Box::new(DeadlineStream::new(tcp, deadline)),
                info: TunnelInfo::default(),
            })
        }
        Some(proxy) => {
            let Some(credentials) = &proxy.credentials else {
                return open_through(proxy, target, deadline, trust);
            };
            let key = proxy.address().to_string();
            match credentials.attempts.permit(&key, deadline) {
                Permit::Send => {}
                Permit::Rejected(auth) => {
                    return Err(TunnelError::ProxyAuthRequired(Box::new(auth)))
                }
                Permit::TimedOut => {
                    return Err(TunnelError::Timeout {
                        stage: "waiting for another target's login to the proxy to be answered"
                            .to_string(),
                    })
                }
            }
            let opened = open_through(proxy, target, deadline, trust);
            credentials.attempts.record(
                &key,
                match &opened {
                    Ok(_) | Err(TunnelError::ProxyRefused { .. }) => Verdict::Accepted,
                    Err(TunnelError::ProxyAuthRequired(auth)) => {
                        Verdict::Rejected((**auth).clone())
                    }
                    Err(_) => Verdict::Unknown,
                },
            );
            opened
        }
    }
}

fn open_through(
    proxy: &ProxyEndpoint,
    target: &Target,
    deadline: Deadline,
    trust: &ProxyTlsTrust,
) -> Result<Tunnel, TunnelError> {
    let mut info = TunnelInfo::default();
    let mut stream = connect_proxy(proxy, deadline, trust, &mut info)?;
    let (status, leftover) =
        send_connect(&mut stream, &target.authority(), proxy.credentials.as_ref())?;
    info.connect_status = Some(status);
    Ok(Tunnel {
        stream: Box::new(Rewind::new(leftover, stream)),
        info,
    })
}

/// A stream to the proxy itself: plain TCP, or TLS for an `https://` proxy.
pub fn connect_proxy(
    proxy: &ProxyEndpoint,
    deadline: Deadline,
    trust: &ProxyTlsTrust,
    info: &mut TunnelInfo,
) -> Result<Stream, TunnelError> {
    let tcp = connect_tcp("proxy", &proxy.host, proxy.port, deadline)?;
    let plain = DeadlineStream::new(tcp, deadline);
    match proxy.scheme {
        ProxyScheme::Http => Ok(Box::new(plain)),
        ProxyScheme::Https => {
            let (tls, unverified) = tls_to_proxy(proxy, plain, trust)?;
            info.proxy_tls_unverified = unverified;
            Ok(tls)
        }
    }
}

/// TCP to `host:port`, trying every resolved address (v6 and v4) within the deadline.
pub fn connect_tcp(
    what: &'static str,
    host: &str,
    port: u16,
    deadline: Deadline,
) -> Result<TcpStream, TunnelError> {
    let addrs = resolve(host, port, deadline)?;
    connect_addrs(what, host, port, &addrs, deadline)
}

/// TCP to the first of `addrs` (already resolved for `host`) that answers within the deadline.
pub fn connect_addrs(
    what: &'static str,
    host: &str,
    port: u16,
    addrs: &[SocketAddr],
    deadline: Deadline,
) -> Result<TcpStream, TunnelError> {
    let mut last: Option<TunnelError> = None;
    for (i, addr) in addrs.iter().enumerate() {
        let left = deadline.remaining().map_err(|_| TunnelError::Timeout {
            stage: format!("connecting to the {what} {host}:{port}"),
        })?;
        // Later addresses still get a share of the time when an earlier one black-holes.
        let still_to_try = u32::try_from(addrs.len().saturating_sub(i)).unwrap_or(u32::MAX);
        let share = left.checked_div(still_to_try).unwrap_or(left);
        match TcpStream::connect_timeout(addr, share.max(std::time::Duration::from_millis(50))) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                last = Some(TunnelError::Timeout {
                    stage: format!("connecting to the {what} {addr}"),
                })
            }
            Err(source) => {
                last = Some(TunnelError::Connect {
                    what,
                    addr: addr.to_string(),
                    source,
                })
            }
        }
    }
    Err(last.unwrap_or_else(|| TunnelError::Dns {
        host: host.to_string(),
        message: "no addresses".to_string(),
    }))
}

/// getaddrinfo cannot be cancelled, so it runs on a detached thread and we stop waiting for it
/// when the deadline passes.
pub fn resolve(host: &str, port: u16, deadline: Deadline) -> Result<Vec<SocketAddr>, TunnelError> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = mpsc::channel();
    let name = host.to_string();
    std::thread::spawn(move || {
        let _ = tx.send(
            (name.as_str(), port)
                .to_socket_addrs()
                .map(|a| a.collect::<Vec<_>>()),
        );
    });
    let left = deadline.remaining().map_err(|_| TunnelError::Timeout {
        stage: format!("resolving {host}"),
    })?;
    match rx.recv_timeout(left) {
        Ok(Ok(addrs)) if !addrs.is_empty() => Ok(addrs),
        Ok(Ok(_)) => Err(TunnelError::Dns {
            host: host.to_string(),
            message: "no addresses".to_string(),
        }),
        Ok(Err(e)) => Err(TunnelError::Dns {
            host: host.to_string(),
            message: e.to_string(),
        }),
        Err(_) => Err(TunnelError::Timeout {
            stage: format!("resolving {host}"),
        }),
    }
}

/// Sends `CONNECT authority` and reads the reply head. Returns the status line and any bytes that
/// arrived after the head (they belong to the tunnel).
pub fn send_connect(
    stream: &mut Stream,
    authority: &str,
    credentials: Option<&Credentials>,
) -> Result<(String, Vec<u8>), TunnelError> {
    let mut request = format!(
        "CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: trust-proxy/{}\r\n",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(c) = credentials {
        request.push_str(&c.basic_header());
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .and_then(|_| stream.flush())
        .map_err(|e| io_error("sending CONNECT to the proxy", e))?;

    let head = read_reply_head(stream)?;
    let ReplyHead {
        code,
        status_line,
        auth,
        leftover,
    } = head;
    match code {
        200..=299 => Ok((status_line, leftover)),
        407 => {
            let mut auth = auth;
            if credentials.is_some() {
                auth.credentials = CredentialsSent::Rejected;
            }
            Err(TunnelError::ProxyAuthRequired(Box::new(auth)))
        }
        _ => Err(TunnelError::ProxyRefused { status_line, code }),
    }
}

struct ReplyHead {
    code: u16,
    status_line: String,
    /// Every `Proxy-Authenticate` challenge.
    auth: AuthRequired,
    leftover: Vec<u8>,
}

fn read_reply_head(stream: &mut Stream) -> Result<ReplyHead, TunnelError> {
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream
            .read(&mut chunk)
            .map_err(|e| io_error("waiting for the proxy's reply to CONNECT", e))?;
        if n == 0 {
            return Err(TunnelError::Closed {
                stage: if buf.is_empty() {
                    "before replying to CONNECT".to_string()
                } else {
                    "in the middle of its reply to CONNECT".to_string()
                },
            });
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(head) = parse_reply_head(&buf)? {
            return Ok(head);
        }
        if buf.len() > MAX_REPLY_HEAD {
            return Err(TunnelError::ReplyTooLarge);
        }
    }
}

/// `Ok(None)` while the head is incomplete.
fn parse_reply_head(buf: &[u8]) -> Result<Option<ReplyHead>, TunnelError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(buf) {
        Ok(httparse::Status::Partial) => Ok(None),
        Ok(httparse::Status::Complete(len)) => {
            let code = response.code.unwrap_or(0);
            let version = response.version.unwrap_or(1);
            let reason = response.reason.unwrap_or("");
            let status_line = format!("HTTP/1.{version} {code} {}", printable(reason));
            let auth = proxy_auth::parse_challenges(
                response
                    .headers
                    .iter()
                    .filter(|h| h.name.eq_ignore_ascii_case("proxy-authenticate"))
                    .map(|h| h.value),
            );
            Ok(Some(ReplyHead {
                code,
                status_line: status_line.trim_end().to_string(),
                auth,
                leftover: buf.get(len..).unwrap_or_default().to_vec(),
            }))
        }
        Err(httparse::Error::TooManyHeaders) => Err(TunnelError::ReplyTooLarge),
        Err(cause) => Err(TunnelError::ProxyProtocol {
            cause,
            began_with: printable(&String::from_utf8_lossy(buf.get(..24).unwrap_or(buf))),
        }),
    }
}

/// Parses a CONNECT reply head as the probe does; exposed for the fuzzer and tests.
pub fn parse_connect_reply(buf: &[u8]) -> Result<Option<(u16, String, usize)>, TunnelError> {
    Ok(parse_reply_head(buf)?.map(|h| {
        let consumed = buf.len().saturating_sub(h.leftover.len());
        (h.code, h.status_line, consumed)
    }))
}

/// Peer text is escaped by the one sanitizer every renderer uses.
pub use crate::terminal_text::{printable, quoted};

fn tls_to_proxy(
    proxy: &ProxyEndpoint,
    plain: DeadlineStream,
    trust: &ProxyTlsTrust,
) -> Result<(Stream, Option<String>), TunnelError> {
    let proxy_name = proxy.display_url();
    let tls_err = |message: String| TunnelError::ProxyTls {
        proxy: proxy_name.clone(),
        message,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for der in &trust.roots {
        let _ = roots.add(der.clone());
    }
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| tls_err(e.to_string()))?;
    let verifier = Arc::new(ProxyVerifier {
        inner,
        strict: proxy.credentials.is_some(),
        failure: Mutex::new(None),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    let name = ServerName::try_from(proxy.host.clone()).map_err(|e| tls_err(e.to_string()))?;
    let conn = rustls::ClientConnection::new(Arc::new(config), name)
        .map_err(|e| tls_err(e.to_string()))?;
    let mut tls = rustls::StreamOwned::new(conn, plain);
    while tls.conn.is_handshaking() {
        if let Err(e) = tls.conn.complete_io(&mut tls.sock) {
            let failure = verifier.failure.lock().ok().and_then(|f| f.clone());
            return Err(match (e.kind(), failure) {
                (io::ErrorKind::TimedOut, _) => TunnelError::Timeout {
                    stage: "in the TLS handshake with the proxy".to_string(),
                },
                (_, Some(why)) => tls_err(format!(
                    "its certificate did not verify ({why}); trust-proxy will not send proxy credentials over it: pass the proxy's CA with --ca-file"
                )),
                _ => tls_err(e.to_string()),
            });
        }
    }
    let unverified = verifier.failure.lock().ok().and_then(|f| f.clone());
    Ok((Box::new(tls), unverified))
}

/// Verifies an `https://` proxy's certificate; when no credentials are at stake a failure is
/// recorded instead of fatal, because the proxy is often signed by the very CA being discovered
/// and the CONNECT reveals only the target name.
#[derive(Debug)]
struct ProxyVerifier {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    strict: bool,
    failure: Mutex<Option<String>>,
}

impl ServerCertVerifier for ProxyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Ok(v) => Ok(v),
            Err(e) => {
                if let Ok(mut f) = self.failure.lock() {
                    *f = Some(e.to_string());
                }
                if self.strict {
                    Err(e)
                } else {
                    Ok(ServerCertVerified::assertion())
                }
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protocol_cause(reply: &[u8]) -> Option<httparse::Error> {
        match parse_connect_reply(reply) {
            Err(TunnelError::ProxyProtocol { cause, .. }) => Some(cause),
            _ => None,
        }
    }

    #[test]
    fn reply_heads() {
        let ok =
            parse_connect_reply(b"HTTP/1.0 200 Connection established\r\n\r\n\x16\x03").unwrap();
        assert_eq!(
            ok,
            Some((200, "HTTP/1.0 200 Connection established".into(), 39))
        );
        assert_eq!(
            parse_connect_reply(b"HTTP/1.1 200 OK\r\nVia: x").unwrap(),
            None
        );
        // A TLS record where the HTTP reply should be: the version is what fails.
        assert_eq!(
            protocol_cause(b"\x16\x03\x01garbage\r\n\r\n"),
            Some(httparse::Error::Version)
        );
        let Err(TunnelError::ProxyProtocol { began_with, .. }) =
            parse_connect_reply(b"\x16\x03\x01garbage\r\n\r\n")
        else {
            panic!("not a protocol error")
        };
        assert_eq!(began_with, r"\x16\x03\x01garbage\r\n\r\n");
        assert_eq!(
            protocol_cause(b"HTTP/1.1 2000 OK\r\n\r\n"),
            Some(httparse::Error::Status)
        );
        assert_eq!(
            protocol_cause(b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n"),
            Some(httparse::Error::HeaderName)
        );
        // A C0 escape in the reason phrase is refused by httparse itself.
        assert_eq!(
            protocol_cause(b"HTTP/1.1 403 Forbidden\x1b[31m\r\n\r\n"),
            Some(httparse::Error::Status)
        );
        // A C1 control (U+009B, CSI) is obs-text to httparse, which then drops the whole reason
        // phrase: the status line that reaches the user holds no part of it.
        let (code, line, _) =
            parse_connect_reply("HTTP/1.1 403 Forbidden\u{9b}31m\r\n\r\n".as_bytes())
                .unwrap()
                .unwrap();
        assert_eq!((code, line.as_str()), (403, "HTTP/1.1 403"));
    }
}
