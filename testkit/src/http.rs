//! Plain-HTTP replies (used by the proxy's absolute-form GET routes) and a direct HTTP server.

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::core::{parse_head, read_head, Core, Ctx, Head};

/// How a reply body is produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// Exactly these bytes (Content-Length added unless you set it or Transfer-Encoding yourself).
    Bytes(Vec<u8>),
    /// Zero bytes streamed forever (no Content-Length) until the client closes or the server stops.
    Infinite,
    /// That many zero bytes, with a matching Content-Length (unless you set one yourself).
    Sized(usize),
    /// These bytes sent with `Transfer-Encoding: chunked` (in chunks of at most 1000 bytes).
    Chunked(Vec<u8>),
}

/// A canned HTTP response served for a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    /// Status code; the reason phrase is derived from it.
    pub status: u16,
    /// Extra headers, sent in order (a `Content-Length` here overrides the automatic one).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Body,
}

impl HttpReply {
    /// 200 with the given body and Content-Type (e.g. "application/pkix-cert").
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> HttpReply {
        HttpReply {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: Body::Bytes(body.into()),
        }
    }

    /// 200 with a DER certificate as `application/pkix-cert` (what AIA caIssuers usually serves).
    pub fn cert_der(cert: &[u8]) -> HttpReply {
        HttpReply::ok("application/pkix-cert", cert.to_vec())
    }

    /// 200 with a certs-only PKCS#7 bundle as `application/pkcs7-mime` (the other AIA format).
    pub fn pkcs7(certs: &[rustls_pki_types::CertificateDer<'_>]) -> HttpReply {
        HttpReply::ok(
            "application/pkcs7-mime",
            crate::pki::pkcs7_certs_only(certs),
        )
    }

    /// 200 with PEM text as `application/x-x509-ca-cert` (like mitmproxy's `http://mitm.it/cert/pem`).
    pub fn pem(pem: &str) -> HttpReply {
        HttpReply::ok("application/x-x509-ca-cert", pem.as_bytes().to_vec())
    }

    /// A reply with just a status code and an empty body.
    pub fn status(status: u16) -> HttpReply {
        HttpReply {
            status,
            headers: Vec::new(),
            body: Body::Bytes(Vec::new()),
        }
    }

    /// A reply with the given status and body.
    pub fn new(status: u16, body: Body) -> HttpReply {
        HttpReply {
            status,
            headers: Vec::new(),
            body,
        }
    }

    /// Add a header (builder style).
    pub fn header(mut self, name: &str, value: &str) -> HttpReply {
        self.headers.push((name.into(), value.into()));
        self
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    }
}

/// Reason phrase for common status codes.
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        407 => "Proxy Authentication Required",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// Write a full reply, then return (the caller closes). Errors mean the client went away.
pub(crate) fn write_reply<W: Write>(w: &mut W, reply: &HttpReply, ctx: &Ctx) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let user_framing = reply.has_header("Content-Length") || reply.has_header("Transfer-Encoding");
    match &reply.body {
        Body::Bytes(b) if !user_framing => {
            head.push_str(&format!("Content-Length: {}\r\n", b.len()))
        }
        Body::Sized(n) if !user_framing => head.push_str(&format!("Content-Length: {n}\r\n")),
        Body::Chunked(_) if !reply.has_header("Transfer-Encoding") => {
            head.push_str("Transfer-Encoding: chunked\r\n")
        }
        _ => {}
    }
    head.push_str("Connection: close\r\n\r\n");
    w.write_all(head.as_bytes())?;
    match &reply.body {
        Body::Bytes(b) => w.write_all(b)?,
        Body::Sized(n) => {
            let zeros = [0u8; 16 * 1024];
            let mut left = *n;
            while left > 0 && !ctx.stopped() {
                let k = left.min(zeros.len());
                w.write_all(&zeros[..k])?;
                left -= k;
            }
        }
        Body::Infinite => {
            let zeros = [0u8; 16 * 1024];
            while !ctx.stopped() {
                w.write_all(&zeros)?;
            }
        }
        Body::Chunked(b) => {
            for chunk in b.chunks(1000) {
                w.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
                w.write_all(chunk)?;
                w.write_all(b"\r\n")?;
            }
            w.write_all(b"0\r\n\r\n")?;
        }
    }
    w.flush()
}

/// Find the reply for a request: the exact request target, else its other form
/// (origin-form "/p" <-> absolute-form "http://{Host}/p").
pub(crate) fn lookup<'a>(
    routes: &'a HashMap<String, HttpReply>,
    head: &Head,
) -> Option<&'a HttpReply> {
    if let Some(r) = routes.get(&head.target) {
        return Some(r);
    }
    if head.target.starts_with('/') {
        let host = head.header("Host")?;
        return routes.get(&format!("http://{host}{}", head.target));
    }
    let rest = head.target.strip_prefix("http://")?;
    let path = rest.find('/').map(|i| &rest[i..]).unwrap_or("/");
    routes.get(path)
}

/// A reply for "no such route".
pub(crate) fn not_found() -> HttpReply {
    HttpReply::new(404, Body::Bytes(b"not found\n".to_vec())).header("Content-Type", "text/plain")
}

/// Builder for [`HttpServer`]: a plain HTTP origin server on loopback.
pub struct HttpServer;

/// Handle to a running [`HttpServer`]; dropping it stops the server.
pub struct HttpServerHandle {
    core: Core,
    requests: Arc<Mutex<Vec<String>>>,
    count: Arc<AtomicUsize>,
}

impl HttpServer {
    /// Serve `routes` (keys: path like "/int.cer" or full "http://host/path") on 127.0.0.1:0.
    pub fn start(routes: HashMap<String, HttpReply>) -> io::Result<HttpServerHandle> {
        HttpServer::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), routes)
    }

    /// Same as [`HttpServer::start`] on a chosen loopback address (e.g. `[::1]:0`).
    pub fn start_on(
        listen: SocketAddr,
        routes: HashMap<String, HttpReply>,
    ) -> io::Result<HttpServerHandle> {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(AtomicUsize::new(0));
        let routes = Arc::new(routes);
        let (req2, count2) = (requests.clone(), count.clone());
        let core = Core::start(
            listen,
            "testkit-http",
            Arc::new(move |mut stream: TcpStream, ctx: &Ctx| {
                let Ok((raw, _rest)) = read_head(&mut stream) else {
                    return;
                };
                count2.fetch_add(1, Ordering::SeqCst);
                if let Ok(mut r) = req2.lock() {
                    r.push(String::from_utf8_lossy(&raw).into_owned());
                }
                let reply = match parse_head(&raw) {
                    Some(head) => lookup(&routes, &head).cloned().unwrap_or_else(not_found),
                    None => HttpReply::status(400),
                };
                let _ = write_reply(&mut stream, &reply, ctx);
            }),
        )?;
        Ok(HttpServerHandle {
            core,
            requests,
            count,
        })
    }
}

impl HttpServerHandle {
    /// Wait (up to `timeout`) until every accepted connection has been fully served and closed,
    /// so that recorded state (handshakes, app data, requests) is final. Returns false on timeout.
    pub fn wait_idle(&self, timeout: std::time::Duration) -> bool {
        self.core.wait_idle(timeout)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.core.addr()
    }

    /// Base URL, e.g. "http://127.0.0.1:PORT" (IPv6 in brackets).
    pub fn url(&self) -> String {
        format!("http://{}", self.core.addr())
    }

    /// How many request heads were received (0 proves a client refused to connect here).
    pub fn request_count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// The raw request heads received, in order.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}
