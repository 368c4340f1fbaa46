//! The intercepting (MITM) forward proxy, plain-HTTP or HTTPS, with hostile behaviours.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::{ServerConnection, StreamOwned};

use crate::core::{parse_head, read_head, read_tls_record, Core, Ctx, Prefixed};
use crate::http::{lookup, not_found, write_reply, HttpReply};
use crate::pki::base64_encode;
use crate::tls::{
    outer_config, serve_tls, version_name, Handshake, HandshakeLog, MintFn, Minted, TlsVersions,
};

/// How clients talk to the proxy itself.
#[derive(Debug, Clone, Default)]
pub enum ProxyMode {
    /// Plain HTTP proxy (`http://127.0.0.1:PORT`).
    #[default]
    Http,
    /// HTTPS proxy: TLS to the proxy with this chain/key, then CONNECT inside it (TLS in TLS).
    Https(Minted),
}

/// Credentials the proxy demands via `Proxy-Authorization: Basic`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuth {
    /// Expected user name.
    pub user: String,
    /// Expected password.
    pub pass: String,
    /// Realm sent in `Proxy-Authenticate`.
    pub realm: String,
}

impl BasicAuth {
    /// Credentials with realm "testkit".
    pub fn new(user: &str, pass: &str) -> BasicAuth {
        BasicAuth {
            user: user.into(),
            pass: pass.into(),
            realm: "testkit".into(),
        }
    }

    fn expected_header(&self) -> String {
        format!(
            "Basic {}",
            base64_encode(format!("{}:{}", self.user, self.pass).as_bytes())
        )
    }
}

/// How the proxy answers a CONNECT (plain GET routes are not affected).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Behaviour {
    /// "HTTP/1.1 200 Connection established", then intercept with the minted chain.
    #[default]
    Normal,
    /// Reply this raw status line (e.g. "HTTP/1.1 403 Forbidden") with a small body, then close.
    Status(String),
    /// Reply non-HTTP bytes, then close.
    Garbage,
    /// A 200 status line then header lines: exactly `bytes` of them (the last one cut short)
    /// with the connection then held open without ever ending the head; or, if `terminate`,
    /// whole lines totalling at least `bytes`, a blank line, and normal interception.
    HugeHeaders {
        /// How many bytes of header lines to send.
        bytes: usize,
        /// Whether to end the head with a blank line (and then intercept normally).
        terminate: bool,
    },
    /// Read the request, never answer, keep the socket open until the client closes or shutdown.
    Silent,
    /// Send a response head one byte at a time, forever (an endless header), every `interval_ms`.
    Trickle {
        /// Delay between bytes, in milliseconds.
        interval_ms: u64,
    },
    /// Send 200, read the ClientHello, close the socket.
    CloseMidHandshake,
    /// Send 200, read the ClientHello, send a fatal handshake_failure alert, close.
    TlsAlert,
    /// Send 200, then "hello this is not TLS\r\n", close.
    NonTlsAfter200,
    /// Answer "HTTP/1.0 200 Connection established", then intercept normally.
    Http10Reply,
}

/// Everything an [`InterceptingProxy`] needs; build with [`ProxyConfig::new`] and the setters.
#[derive(Clone)]
pub struct ProxyConfig {
    /// Loopback address to bind (default 127.0.0.1:0; `[::1]:0` for IPv6). Non-loopback is refused.
    pub listen: SocketAddr,
    /// Plain HTTP or HTTPS proxy.
    pub mode: ProxyMode,
    /// Demand Basic credentials (407 otherwise).
    pub auth: Option<BasicAuth>,
    /// Chain to present to the client inside the tunnel, per CONNECT host.
    pub mint: MintFn,
    /// TLS versions offered inside the tunnel (and by the HTTPS proxy's outer layer).
    pub tls_versions: TlsVersions,
    /// Absolute-form GET routes (`"http://aia.test/int.cer"` -> reply); 404 otherwise.
    pub http_routes: HashMap<String, HttpReply>,
    /// How CONNECT is answered.
    pub behaviour: Behaviour,
    /// Inside an intercepted tunnel, answer the first request with this (else read until the
    /// client closes, never answering).
    pub inner_reply: Option<HttpReply>,
}

impl std::fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("listen", &self.listen)
            .field("mode", &self.mode)
            .field("auth", &self.auth)
            .field("tls_versions", &self.tls_versions)
            .field("http_routes", &self.http_routes.keys().collect::<Vec<_>>())
            .field("behaviour", &self.behaviour)
            .finish_non_exhaustive()
    }
}

impl ProxyConfig {
    /// Defaults: 127.0.0.1:0, plain HTTP, no auth, both TLS versions, no routes, normal behaviour.
    pub fn new(mint: MintFn) -> ProxyConfig {
        ProxyConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            mode: ProxyMode::Http,
            auth: None,
            mint,
            tls_versions: TlsVersions::Both,
            http_routes: HashMap::new(),
            behaviour: Behaviour::Normal,
            inner_reply: None,
        }
    }
    /// Bind another loopback address (e.g. `"[::1]:0".parse().unwrap()`).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }
    /// Make it an HTTPS proxy presenting `proxy_cert` on the outer TLS layer.
    pub fn https(mut self, proxy_cert: Minted) -> Self {
        self.mode = ProxyMode::Https(proxy_cert);
        self
    }
    /// Require `Proxy-Authorization: Basic` with these credentials.
    pub fn auth(mut self, auth: BasicAuth) -> Self {
        self.auth = Some(auth);
        self
    }
    /// Restrict TLS versions.
    pub fn tls_versions(mut self, v: TlsVersions) -> Self {
        self.tls_versions = v;
        self
    }
    /// Serve `reply` for an absolute-form GET of `url` (e.g. `"http://aia.test/int.cer"`).
    pub fn route(mut self, url: &str, reply: HttpReply) -> Self {
        self.http_routes.insert(url.to_string(), reply);
        self
    }
    /// Choose how CONNECT is answered.
    pub fn behaviour(mut self, b: Behaviour) -> Self {
        self.behaviour = b;
        self
    }
    /// Answer the first request inside each intercepted tunnel with `reply`, as the origin
    /// behind a real proxy would (real HTTP clients then finish instead of waiting).
    pub fn answer_inside(mut self, reply: HttpReply) -> Self {
        self.inner_reply = Some(reply);
        self
    }
}

/// Entry point for starting an intercepting proxy.
pub struct InterceptingProxy;

#[derive(Default)]
struct ProxyState {
    requests: Mutex<Vec<String>>,
    connects: AtomicUsize,
    outer: Mutex<Vec<Handshake>>,
}

/// Handle to a running proxy; dropping it stops the proxy and closes every connection.
pub struct ProxyHandle {
    core: Core,
    https: bool,
    state: Arc<ProxyState>,
    handshakes: HandshakeLog,
}

impl InterceptingProxy {
    /// The common corporate case: a fresh root named `root_name` signs every host's leaf and is
    /// sent along in the chain.
    pub fn with_fresh_root(root_name: &str) -> io::Result<(Arc<crate::Ca>, ProxyHandle)> {
        let root = Arc::new(crate::Ca::new_root(root_name));
        let proxy = InterceptingProxy::start(ProxyConfig::new(crate::tls::mint_from(
            root.clone(),
            vec![root.cert_der()],
        )))?;
        Ok((root, proxy))
    }

    /// Start the proxy on its own threads; returns once it is listening.
    pub fn start(config: ProxyConfig) -> io::Result<ProxyHandle> {
        let https = matches!(config.mode, ProxyMode::Https(_));
        let outer = match &config.mode {
            ProxyMode::Http => None,
            ProxyMode::Https(m) => Some(outer_config(m.clone(), TlsVersions::Both)?),
        };
        let state = Arc::new(ProxyState::default());
        let handshakes: HandshakeLog = Arc::new(Mutex::new(Vec::new()));
        let config = Arc::new(config);
        let (state2, hs2) = (state.clone(), handshakes.clone());
        let core = Core::start(
            config.listen,
            "testkit-proxy",
            Arc::new(move |stream: TcpStream, ctx: &Ctx| {
                let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
                match &outer {
                    None => {
                        let mut s = stream;
                        handle_client(&mut s, &config, &state2, &hs2, ctx);
                    }
                    Some(cfg) => {
                        let Ok(conn) = ServerConnection::new(cfg.clone()) else {
                            return;
                        };
                        let mut tls = StreamOwned::new(conn, stream);
                        let mut rec = Handshake::default();
                        while tls.conn.is_handshaking() {
                            match tls.conn.complete_io(&mut tls.sock) {
                                Ok((0, 0)) => break,
                                Ok(_) => {}
                                Err(e) => {
                                    rec.error = Some(e.to_string());
                                    break;
                                }
                            }
                        }
                        rec.sni = tls.conn.server_name().map(str::to_string);
                        rec.completed = !tls.conn.is_handshaking();
                        rec.version = version_name(tls.conn.protocol_version());
                        let ok = rec.completed;
                        if let Ok(mut o) = state2.outer.lock() {
                            o.push(rec);
                        }
                        if ok {
                            handle_client(&mut tls, &config, &state2, &hs2, ctx);
                            tls.conn.send_close_notify();
                            let _ = tls.flush();
                        }
                    }
                }
            }),
        )?;
        Ok(ProxyHandle {
            core,
            https,
            state,
            handshakes,
        })
    }
}

fn handle_client<S: Read + Write>(
    s: &mut S,
    config: &ProxyConfig,
    state: &ProxyState,
    log: &HandshakeLog,
    ctx: &Ctx,
) {
    let Ok((raw, rest)) = read_head(s) else {
        return;
    };
    if let Ok(mut r) = state.requests.lock() {
        r.push(String::from_utf8_lossy(&raw).into_owned());
    }
    let Some(head) = parse_head(&raw) else {
        let _ = write_reply(s, &HttpReply::status(400), ctx);
        return;
    };
    let is_connect = head.method.eq_ignore_ascii_case("CONNECT");
    if is_connect {
        state.connects.fetch_add(1, Ordering::SeqCst);
    }
    if let Some(auth) = &config.auth {
        let given = head.header("Proxy-Authorization").unwrap_or("").trim();
        if given != auth.expected_header() {
            let body = b"proxy authentication required\n";
            let msg = format!(
                "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"{}\"\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                auth.realm,
                body.len()
            );
            let _ = s.write_all(msg.as_bytes());
            let _ = s.write_all(body);
            let _ = s.flush();
            return;
        }
    }
    if !is_connect {
        let reply = if head.method.eq_ignore_ascii_case("GET") {
            lookup(&config.http_routes, &head)
                .cloned()
                .unwrap_or_else(not_found)
        } else {
            HttpReply::status(405)
        };
        let _ = write_reply(s, &reply, ctx);
        return;
    }
    let host = connect_host(&head.target);
    let _ = handle_connect(s, rest, &host, config, log, ctx);
}

/// Host part of a CONNECT target ("pypi.org:443" -> "pypi.org", "[::1]:443" -> "::1").
fn connect_host(target: &str) -> String {
    if let Some(stripped) = target.strip_prefix('[') {
        if let Some(end) = stripped.find(']') {
            return stripped[..end].to_string();
        }
    }
    match target.rsplit_once(':') {
        Some((h, _port)) => h.to_string(),
        None => target.to_string(),
    }
}

const ESTABLISHED: &[u8] = b"HTTP/1.1 200 Connection established\r\n\r\n";

fn handle_connect<S: Read + Write>(
    s: &mut S,
    rest: Vec<u8>,
    host: &str,
    config: &ProxyConfig,
    log: &HandshakeLog,
    ctx: &Ctx,
) -> io::Result<()> {
    let intercept = |s: &mut S, rest: Vec<u8>| {
        let mut tunnel = Prefixed::new(rest, s);
        serve_tls(
            &mut tunnel,
            config.mint.clone(),
            Some(host.to_string()),
            config.tls_versions,
            log,
            ctx,
            config.inner_reply.as_ref(),
        );
    };
    match &config.behaviour {
        Behaviour::Normal => {
            s.write_all(ESTABLISHED)?;
            s.flush()?;
            intercept(s, rest);
        }
        Behaviour::Http10Reply => {
            s.write_all(b"HTTP/1.0 200 Connection established\r\n\r\n")?;
            s.flush()?;
            intercept(s, rest);
        }
        Behaviour::Status(line) => {
            let body = format!("{line}\n");
            let msg = format!(
                "{line}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            s.write_all(msg.as_bytes())?;
            s.flush()?;
        }
        Behaviour::Garbage => {
            let mut x: u32 = 0x9e37_79b9;
            let bytes: Vec<u8> = (0..256)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    (x >> 24) as u8
                })
                .collect();
            s.write_all(b"\x00\xff\x13garbage")?;
            s.write_all(&bytes)?;
            s.flush()?;
        }
        Behaviour::HugeHeaders { bytes, terminate } => {
            s.write_all(b"HTTP/1.1 200 Connection established\r\n")?;
            let mut sent = 0usize;
            let mut i = 0usize;
            let filler = "a".repeat(90);
            while sent < *bytes && !ctx.stopped() {
                let line = format!("X-Filler-{i}: {filler}\r\n");
                // Unterminated: exactly `bytes`. Terminated: whole lines so the head stays valid.
                let keep = if *terminate {
                    line.len()
                } else {
                    line.len().min(*bytes - sent)
                };
                let line = &line.as_bytes()[..keep];
                s.write_all(line)?;
                sent += line.len();
                i += 1;
            }
            if *terminate {
                s.write_all(b"\r\n")?;
                s.flush()?;
                intercept(s, rest);
            } else {
                s.flush()?;
                wait_for_close(s, ctx);
            }
        }
        Behaviour::Silent => wait_for_close(s, ctx),
        Behaviour::Trickle { interval_ms } => {
            let head = b"HTTP/1.1 200 Connection established\r\nX-Trickle: ";
            for b in head {
                if ctx.sleep(Duration::from_millis(*interval_ms)) {
                    return Ok(());
                }
                s.write_all(&[*b])?;
                s.flush()?;
            }
            loop {
                if ctx.sleep(Duration::from_millis(*interval_ms)) {
                    return Ok(());
                }
                s.write_all(b"z")?;
                s.flush()?;
            }
        }
        Behaviour::CloseMidHandshake => {
            s.write_all(ESTABLISHED)?;
            s.flush()?;
            let mut t = Prefixed::new(rest, &mut *s);
            let _ = read_tls_record(&mut t);
        }
        Behaviour::TlsAlert => {
            s.write_all(ESTABLISHED)?;
            s.flush()?;
            let mut t = Prefixed::new(rest, &mut *s);
            let _ = read_tls_record(&mut t);
            // Alert record: fatal(2), handshake_failure(40).
            s.write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])?;
            s.flush()?;
        }
        Behaviour::NonTlsAfter200 => {
            s.write_all(ESTABLISHED)?;
            s.write_all(b"hello this is not TLS\r\n")?;
            s.flush()?;
        }
    }
    Ok(())
}

/// Keep a connection open, discarding input, until the client closes or the server stops.
///
/// The handle's Drop shuts the socket down, which unblocks the read.
fn wait_for_close<S: Read>(s: &mut S, ctx: &Ctx) {
    let mut buf = [0u8; 1024];
    while !ctx.stopped() {
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

impl ProxyHandle {
    /// Wait (up to `timeout`) until every accepted connection has been fully served and closed,
    /// so that recorded state (handshakes, app data, requests) is final. Returns false on timeout.
    pub fn wait_idle(&self, timeout: std::time::Duration) -> bool {
        self.core.wait_idle(timeout)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.core.addr()
    }

    /// Proxy URL: "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT" (IPv6 in brackets).
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.core.addr())
    }

    /// How many CONNECT requests arrived (counted before the auth check).
    pub fn connect_count(&self) -> usize {
        self.state.connects.load(Ordering::SeqCst)
    }

    /// Raw request heads received (CONNECTs and GETs), in arrival order, for header assertions.
    pub fn requests(&self) -> Vec<String> {
        self.state
            .requests
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// SNI of every intercepted (inner) TLS handshake, in order (None = client sent no SNI).
    pub fn sni_seen(&self) -> Vec<Option<String>> {
        self.handshakes().into_iter().map(|h| h.sni).collect()
    }

    /// True if any client sent application data inside an intercepted TLS session.
    pub fn app_data_received(&self) -> bool {
        self.handshakes().iter().any(|h| h.app_data_bytes > 0)
    }

    /// Details of every intercepted (inner) TLS handshake.
    pub fn handshakes(&self) -> Vec<Handshake> {
        self.handshakes
            .lock()
            .map(|h| h.clone())
            .unwrap_or_default()
    }

    /// Details of the outer TLS handshakes with an HTTPS proxy (empty for HTTP proxies).
    pub fn outer_handshakes(&self) -> Vec<Handshake> {
        self.state
            .outer
            .lock()
            .map(|h| h.clone())
            .unwrap_or_default()
    }
}
