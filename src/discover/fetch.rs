//! Plain-HTTP GET for AIA caIssuers and vendor CA URLs, through the same proxy as the target.
//! Hostile-input rules: `http:` only (no ldap, no https, no redirect to another scheme), never a
//! loopback, link-local (cloud metadata) or unspecified address, size- and time-bounded.
//!
//! Why not an HTTP client crate. httparse (hyper's own parser) reads the response head and the
//! chunk-size lines; what is left here is the request line, framing and the bounds. ureq 3 was
//! checked and cannot keep them: through an `http://` proxy it only ever tunnels with `CONNECT
//! host:80` (its `ProxyProtocol::Http` is "CONNECT proxy over HTTP"; it has no absolute-form
//! `GET http://...` mode), and squid's default configuration refuses exactly that (`http_access
//! deny CONNECT !SSL_ports`), so every AIA fetch would fail behind a stock corporate squid. Its
//! `https://` proxy TLS takes root certificates or "no verification", not our verifier that
//! records a failure and refuses only when credentials are at stake; and the resolver and
//! connector hooks that would pin the checked address are in its `unversioned` module, outside
//! semver. hyper 1's `client::conn::http1` does send absolute-form, but it is async: a runtime
//! and an async TLS stack for the `https://` proxy in a tool that is synchronous everywhere, for
//! the ~150 lines it would replace.

use crate::discover::deadline::{Deadline, DeadlineStream};
use crate::discover::proxy::ProxyEndpoint;
use crate::discover::tunnel::{
    self, io_error, printable, ProxyTlsTrust, Stream, TunnelError, TunnelInfo,
};
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

/// An issuer certificate is ~1-2 KiB and a PKCS#7 bundle a few; 1 MiB is generous.
pub const MAX_BODY: usize = 1024 * 1024;
pub const MAX_REDIRECTS: usize = 3;
/// One fetch may not eat the whole target deadline.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: only plain http:// URLs are fetched")]
    Scheme { url: String },
    #[error("{url}: invalid URL ({message})")]
    Url { url: String, message: String },
    #[error("{url}: refusing to fetch from {what}")]
    ForbiddenAddress { url: String, what: String },
    #[error("{url}: {source}")]
    Transport { url: String, source: TunnelError },
    #[error("{url}: HTTP status {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: response larger than {MAX_BODY} bytes")]
    TooLarge { url: String },
    #[error("{url}: more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects { url: String },
    #[error("{url}: malformed HTTP response ({message})")]
    Protocol { url: String, message: String },
    #[error("{url}: malformed chunked body ({source})")]
    Chunked { url: String, source: ChunkError },
}

/// Fetches a URL's bytes; a trait so path building can be tested without a network.
pub trait Fetcher: Sync {
    fn fetch(&self, url: &str, deadline: Deadline) -> Result<Vec<u8>, FetchError>;
}

/// The real fetcher: via `proxy` (absolute-form request) or directly.
pub struct HttpFetcher {
    pub proxy: Option<ProxyEndpoint>,
    pub trust: ProxyTlsTrust,
}

impl Fetcher for HttpFetcher {
    fn fetch(&self, url: &str, deadline: Deadline) -> Result<Vec<u8>, FetchError> {
        let own = Deadline::after(FETCH_TIMEOUT);
        let deadline = if own.remaining().ok() < deadline.remaining().ok() {
            own
        } else {
            deadline
        };
        let mut current = url.to_string();
        for _ in 0..=MAX_REDIRECTS {
            match self.fetch_once(&current, deadline)? {
                Reply::Body(b) => return Ok(b),
                Reply::Redirect(next) => current = next,
            }
        }
        Err(FetchError::TooManyRedirects {
            url: url.to_string(),
        })
    }
}

/// A response: its body, or where a redirect points (not yet checked: the caller applies its
/// own scheme and address rules to it).
pub(crate) enum Reply {
    Body(Vec<u8>),
    Redirect(String),
}

struct Checked {
    host: String,
    port: u16,
    path: String,
}

/// Applies the scheme and address rules to a URL's text.
fn check_url(url: &str) -> Result<Checked, FetchError> {
    let parsed = url::Url::parse(url).map_err(|e| FetchError::Url {
        url: printable(url),
        message: e.to_string(),
    })?;
    if parsed.scheme() != "http" {
        return Err(FetchError::Scheme {
            url: printable(url),
        });
    }
    let host = match parsed.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.to_ascii_lowercase();
            if d == "localhost" || d.ends_with(".localhost") {
                return Err(FetchError::ForbiddenAddress {
                    url: printable(url),
                    what: "localhost".to_string(),
                });
            }
            d
        }
        Some(url::Host::Ipv4(ip)) => {
            forbid_ip(url, IpAddr::V4(ip))?;
            ip.to_string()
        }
        Some(url::Host::Ipv6(ip)) => {
            forbid_ip(url, IpAddr::V6(ip))?;
            ip.to_string()
        }
        None => {
            return Err(FetchError::Url {
                url: printable(url),
                message: "no host".to_string(),
            })
        }
    };
    let mut path = parsed.path().to_string();
    if let Some(q) = parsed.query() {
        path.push('?');
        path.push_str(q);
    }
    Ok(Checked {
        host,
        port: parsed.port().unwrap_or(80),
        path,
    })
}

/// Loopback, link-local (169.254.169.254 is cloud metadata), unspecified, multicast, broadcast,
/// and the one cloud metadata address outside link-local (AWS's IPv6 fd00:ec2::254).
pub fn forbidden_ip(ip: IpAddr) -> Option<&'static str> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) if v4.is_loopback() => Some("a loopback address"),
        IpAddr::V4(v4) if v4.is_link_local() => Some("a link-local address"),
        IpAddr::V4(v4) if v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() => {
            Some("a non-unicast address")
        }
        IpAddr::V6(v6) if v6.is_loopback() => Some("a loopback address"),
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => Some("a link-local address"),
        IpAddr::V6(v6) if v6.is_unspecified() || v6.is_multicast() => Some("a non-unicast address"),
        IpAddr::V6(v6) if v6 == AWS_METADATA_V6 => Some("a cloud metadata address"),
        _ => None,
    }
}

const AWS_METADATA_V6: std::net::Ipv6Addr =
    std::net::Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254);

fn forbid_ip(url: &str, ip: IpAddr) -> Result<(), FetchError> {
    match forbidden_ip(ip) {
        Some(what) => Err(FetchError::ForbiddenAddress {
            url: printable(url),
            what: format!("{what} ({ip})"),
        }),
        None => Ok(()),
    }
}

impl HttpFetcher {
    fn fetch_once(&self, url: &str, deadline: Deadline) -> Result<Reply, FetchError> {
        let target = check_url(url)?;
        let transport = |source| FetchError::Transport {
            url: printable(url),
            source,
        };
        let host_header = if target.host.contains(':') {
            format!("[{}]:{}", target.host, target.port)
        } else if target.port == 80 {
            target.host.clone()
        } else {
            format!("{}:{}", target.host, target.port)
        };
        let (mut stream, request_target, auth): (Stream, String, String) = match &self.proxy {
            Some(proxy) => {
                let mut info = TunnelInfo::default();
                let s = tunnel::connect_proxy(proxy, deadline, &self.trust, &mut info)
                    .map_err(transport)?;
                let auth = proxy
                    .credentials
                    .as_ref()
                    .map(|c| c.basic_header())
                    .unwrap_or_default();
                (s, format!("http://{host_header}{}", target.path), auth)
            }
            None => {
                let tcp = connect_checked(url, &target, deadline)?;
                (
                    Box::new(DeadlineStream::new(tcp, deadline)),
                    target.path.clone(),
                    String::new(),
                )
            }
        };
        let request = format!(
            "GET {request_target} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: trust-proxy/{}\r\nAccept: application/pkix-cert, application/pkcs7-mime, application/x-x509-ca-cert, */*\r\n{auth}Connection: close\r\n\r\n",
            env!("CARGO_PKG_VERSION")
        );
        stream
            .write_all(request.as_bytes())
            .map_err(|e| transport(io_error("sending the request", e)))?;
        read_response(url, &mut stream)
    }
}

/// Resolves and connects only to permitted addresses, pinning the connection to the address
/// that was checked (a second lookup could answer differently).
fn connect_checked(
    url: &str,
    target: &Checked,
    deadline: Deadline,
) -> Result<TcpStream, FetchError> {
    let transport = |source| FetchError::Transport {
        url: printable(url),
        source,
    };
    let addrs = tunnel::resolve(&target.host, target.port, deadline).map_err(transport)?;
    let allowed: Vec<SocketAddr> = addrs
        .iter()
        .copied()
        .filter(|a| forbidden_ip(a.ip()).is_none())
        .collect();
    if allowed.is_empty() {
        let ip = addrs
            .first()
            .map(|a| a.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        forbid_ip(url, ip)?;
    }
    let mut last = TunnelError::Closed {
        stage: "before connecting".to_string(),
    };
    for addr in &allowed {
        let left = deadline
            .remaining()
            .map_err(|e| transport(io_error("connecting", e)))?;
        match TcpStream::connect_timeout(addr, left) {
            Ok(s) => return Ok(s),
            Err(e) => last = io_error("connecting", e),
        }
    }
    Err(transport(last))
}

pub(crate) fn read_response(url: &str, stream: &mut Stream) -> Result<Reply, FetchError> {
    let protocol = |message: String| FetchError::Protocol {
        url: printable(url),
        message,
    };
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    let (status, head_len, content_length, chunked, location) = loop {
        let n = read_some(url, stream, &mut chunk, "reading the response")?;
        if n.is_empty() {
            return Err(protocol(
                "connection closed before the response head".into(),
            ));
        }
        buf.extend_from_slice(n);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut resp = httparse::Response::new(&mut headers);
        match resp.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let header = |name: &str| {
                    resp.headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
                };
                let chunked = header("transfer-encoding")
                    .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
                // With chunked framing a Content-Length is ignored (RFC 9112 section 6.3).
                let content_length = match header("content-length") {
                    Some(_) if chunked => None,
                    Some(v) => Some(parse_content_length(&v).ok_or_else(|| {
                        protocol(format!("bad Content-Length {:?}", printable(&v)))
                    })?),
                    None => None,
                };
                break (
                    resp.code.unwrap_or(0),
                    len,
                    content_length,
                    chunked,
                    header("location"),
                );
            }
            Ok(httparse::Status::Partial) if buf.len() <= tunnel::MAX_REPLY_HEAD => continue,
            Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => {
                return Err(protocol("response head too large".into()))
            }
            Err(e) => return Err(protocol(e.to_string())),
        }
    };
    if (300..400).contains(&status) {
        let next = location.ok_or_else(|| protocol(format!("{status} without Location")))?;
        let base = url::Url::parse(url).map_err(|e| protocol(e.to_string()))?;
        let next = base.join(&next).map_err(|e| protocol(e.to_string()))?;
        // Checked again by the next fetch_once: scheme and address rules apply to redirects.
        return Ok(Reply::Redirect(next.to_string()));
    }
    if status != 200 {
        return Err(FetchError::Status {
            url: printable(url),
            status,
        });
    }
    let too_large = || FetchError::TooLarge {
        url: printable(url),
    };
    if content_length.is_some_and(|n| n > MAX_BODY) {
        return Err(too_large());
    }
    let after_head = buf.get(head_len..).unwrap_or_default();
    if chunked {
        let chunk_error = |source: ChunkError| match source {
            ChunkError::TooLarge => too_large(),
            source => FetchError::Chunked {
                url: printable(url),
                source,
            },
        };
        let mut decoder = ChunkedDecoder::default();
        let mut done = decoder.feed(after_head).map_err(chunk_error)?;
        while !done {
            let n = read_some(url, stream, &mut chunk, "reading the response body")?;
            if n.is_empty() {
                return Err(chunk_error(ChunkError::Truncated));
            }
            done = decoder.feed(n).map_err(chunk_error)?;
        }
        return Ok(Reply::Body(decoder.body));
    }
    let mut body = after_head.to_vec();
    // One byte past MAX_BODY is enough to know a body without Content-Length is too large.
    let limit = content_length.unwrap_or(MAX_BODY.saturating_add(1));
    while body.len() < limit {
        let n = read_some(url, stream, &mut chunk, "reading the response body")?;
        if n.is_empty() {
            break;
        }
        body.extend_from_slice(n);
    }
    if body.len() > MAX_BODY {
        return Err(too_large());
    }
    if let Some(n) = content_length {
        if body.len() < n {
            return Err(protocol(format!(
                "body ended after {} of {n} bytes",
                body.len()
            )));
        }
        body.truncate(n);
    }
    Ok(Reply::Body(body))
}

/// One read into `buf`, returning the bytes that arrived (empty at end of stream).
fn read_some<'b>(
    url: &str,
    stream: &mut Stream,
    buf: &'b mut [u8],
    stage: &str,
) -> Result<&'b [u8], FetchError> {
    let n = stream.read(buf).map_err(|e| FetchError::Transport {
        url: printable(url),
        source: io_error(stage, e),
    })?;
    // A reader claiming more than the buffer holds is broken; treat it as the end.
    Ok(buf.get(..n).unwrap_or_default())
}

/// Digits only: `str::parse` would also take a leading `+`.
fn parse_content_length(value: &str) -> Option<usize> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// A chunk-size line (size and extensions) longer than this is hostile; real ones are a few bytes.
pub const MAX_CHUNK_LINE: usize = 4096;

/// Why a `Transfer-Encoding: chunked` body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("the chunks add up to more than {MAX_BODY} bytes")]
    TooLarge,
    #[error("invalid chunk size line")]
    BadSize,
    #[error("chunk size line longer than {MAX_CHUNK_LINE} bytes")]
    LineTooLong,
    #[error("no CRLF after chunk data")]
    MissingCrlf,
    #[error("the chunked body ended before its last chunk")]
    Truncated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum ChunkState {
    #[default]
    Size,
    Data {
        left: usize,
    },
    DataEnd,
    Done,
}

/// Decodes `Transfer-Encoding: chunked` as the bytes arrive, so a body trickled in tiny reads
/// costs linear time, and every size the peer announces is checked against [`MAX_BODY`] before it
/// is used. The size line itself is parsed by httparse. Trailers are not read: the server closes
/// the connection after the response.
#[derive(Debug, Default)]
struct ChunkedDecoder {
    state: ChunkState,
    /// Bytes received but not yet decodable (an unfinished size line or CRLF).
    pending: Vec<u8>,
    body: Vec<u8>,
}

impl ChunkedDecoder {
    /// Feeds the next received bytes; `Ok(true)` once the last chunk has been seen.
    fn feed(&mut self, input: &[u8]) -> Result<bool, ChunkError> {
        self.pending.extend_from_slice(input);
        let mut rest: &[u8] = &self.pending;
        let outcome = loop {
            match self.state {
                ChunkState::Done => break Ok(true),
                ChunkState::Size => match httparse::parse_chunk_size(rest) {
                    Ok(httparse::Status::Partial) if rest.len() > MAX_CHUNK_LINE => {
                        break Err(ChunkError::LineTooLong)
                    }
                    Ok(httparse::Status::Partial) => break Ok(false),
                    Ok(httparse::Status::Complete((used, size))) => {
                        rest = rest.get(used..).unwrap_or_default();
                        if size == 0 {
                            self.state = ChunkState::Done;
                            continue;
                        }
                        let room = MAX_BODY.saturating_sub(self.body.len());
                        match usize::try_from(size) {
                            Ok(left) if left <= room => self.state = ChunkState::Data { left },
                            _ => break Err(ChunkError::TooLarge),
                        }
                    }
                    Err(httparse::InvalidChunkSize) => break Err(ChunkError::BadSize),
                },
                ChunkState::Data { left } => {
                    if rest.is_empty() {
                        break Ok(false);
                    }
                    let (now, later) = rest.split_at(left.min(rest.len()));
                    self.body.extend_from_slice(now);
                    rest = later;
                    self.state = match left.saturating_sub(now.len()) {
                        0 => ChunkState::DataEnd,
                        left => ChunkState::Data { left },
                    };
                }
                ChunkState::DataEnd => match rest.split_first_chunk::<2>() {
                    Some((b"\r\n", later)) => {
                        rest = later;
                        self.state = ChunkState::Size;
                    }
                    Some(_) => break Err(ChunkError::MissingCrlf),
                    None if rest.first().is_some_and(|b| *b != b'\r') => {
                        break Err(ChunkError::MissingCrlf)
                    }
                    None => break Ok(false),
                },
            }
        };
        let consumed = self.pending.len().saturating_sub(rest.len());
        self.pending.drain(..consumed);
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rules() {
        assert!(matches!(
            check_url("https://x/a"),
            Err(FetchError::Scheme { .. })
        ));
        assert!(matches!(
            check_url("ldap://x/a"),
            Err(FetchError::Scheme { .. })
        ));
        for bad in [
            "http://127.0.0.1/x",
            "http://localhost/x",
            "http://a.localhost/x",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/x",
            "http://[fe80::1]/x",
            "http://[::ffff:127.0.0.1]/x",
            "http://0.0.0.0/x",
            "http://[fd00:ec2::254]/latest/meta-data",
        ] {
            assert!(
                matches!(check_url(bad), Err(FetchError::ForbiddenAddress { .. })),
                "{bad}"
            );
        }
        let ok = check_url("http://aia.corp.example:8080/ca.crt?x=1").unwrap();
        assert_eq!(
            (ok.host.as_str(), ok.port, ok.path.as_str()),
            ("aia.corp.example", 8080, "/ca.crt?x=1")
        );
        assert!(check_url("http://10.1.2.3/ca.crt").is_ok());
    }

    /// Decodes `raw` fed in pieces of `step` bytes, as a trickling peer would send it.
    fn decode(raw: &[u8], step: usize) -> Result<Option<Vec<u8>>, ChunkError> {
        let mut decoder = ChunkedDecoder::default();
        for piece in raw.chunks(step) {
            if decoder.feed(piece)? {
                return Ok(Some(decoder.body));
            }
        }
        Ok(None)
    }

    #[test]
    fn chunked() {
        for step in [1, 2, 3, 7, 4096] {
            let ok = decode(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n", step);
            assert_eq!(ok, Ok(Some(b"abcde".to_vec())), "step {step}");
            assert_eq!(decode(b"3\r\nab", step), Ok(None), "step {step}");
            assert_eq!(decode(b"3\r\nabcXY", step), Err(ChunkError::MissingCrlf));
        }
        assert_eq!(decode(b"zz\r\n", 64), Err(ChunkError::BadSize));
        assert_eq!(decode(b"-1\r\n", 64), Err(ChunkError::BadSize));
        assert_eq!(
            decode(b"10000000000000000\r\n", 64),
            Err(ChunkError::BadSize)
        );
        assert_eq!(decode(b"FFFFFFFF\r\n", 64), Err(ChunkError::TooLarge));
        // 2^64-1 once a first chunk is in: the sum overflowed and then sliced out of range.
        for raw in [
            &b"FFFFFFFFFFFFFFFF\r\nabc\r\n"[..],
            b"1\r\na\r\nFFFFFFFFFFFFFFFF\r\nabc\r\n",
        ] {
            assert_eq!(decode(raw, 64), Err(ChunkError::TooLarge));
        }
        let mut endless = b"1;".to_vec();
        endless.resize(MAX_CHUNK_LINE + 2, b'x');
        assert_eq!(decode(&endless, 512), Err(ChunkError::LineTooLong));
        // Exactly MAX_BODY in chunks is accepted; one byte more is not.
        let mut full = format!("{MAX_BODY:x}\r\n").into_bytes();
        full.resize(full.len() + MAX_BODY, b'a');
        full.extend_from_slice(b"\r\n1\r\n");
        assert_eq!(decode(&full, 8192), Err(ChunkError::TooLarge));
        full.truncate(full.len() - 3);
        full.extend_from_slice(b"0\r\n\r\n");
        assert_eq!(
            decode(&full, 8192).map(|b| b.map(|b| b.len())),
            Ok(Some(MAX_BODY))
        );
    }

    #[test]
    fn content_length_is_digits_only() {
        assert_eq!(parse_content_length("1024"), Some(1024));
        for bad in ["+5", "-1", "", "1 2", "0x10", "99999999999999999999999"] {
            assert_eq!(parse_content_length(bad), None, "{bad}");
        }
    }
}
