//! Plain-HTTP GET for AIA caIssuers and vendor CA URLs, through the same proxy as the target.
//! Hostile-input rules: `http:` only (no ldap, no https, no redirect to another scheme), never a
//! loopback, link-local (cloud metadata) or unspecified address, size- and time-bounded.

use crate::deadline::{Deadline, DeadlineStream};
use crate::proxy::ProxyEndpoint;
use crate::tunnel::{self, io_error, printable, ProxyTlsTrust, Stream, TunnelError, TunnelInfo};
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

enum Reply {
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

/// Loopback, link-local (169.254.169.254 is cloud metadata), unspecified, multicast, broadcast.
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
        _ => None,
    }
}

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

fn read_response(url: &str, stream: &mut Stream) -> Result<Reply, FetchError> {
    let protocol = |message: String| FetchError::Protocol {
        url: printable(url),
        message,
    };
    let transport = |source| FetchError::Transport {
        url: printable(url),
        source,
    };
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    let (status, head_len, content_length, chunked, location) = loop {
        let n = stream
            .read(&mut chunk)
            .map_err(|e| transport(io_error("reading the response", e)))?;
        if n == 0 {
            return Err(protocol(
                "connection closed before the response head".into(),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
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
                let content_length = match header("content-length") {
                    Some(v) => Some(v.parse::<usize>().map_err(|_| {
                        protocol(format!("bad Content-Length {:?}", printable(&v)))
                    })?),
                    None => None,
                };
                let chunked = header("transfer-encoding")
                    .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
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
    if content_length.is_some_and(|n| n > MAX_BODY) {
        return Err(FetchError::TooLarge {
            url: printable(url),
        });
    }
    let mut body = buf.split_off(head_len);
    let limit = content_length.unwrap_or(MAX_BODY + 1);
    let raw_limit = if chunked { MAX_BODY + 64 * 1024 } else { limit };
    while body.len() < raw_limit {
        let n = stream
            .read(&mut chunk)
            .map_err(|e| transport(io_error("reading the response body", e)))?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
        if chunked && chunked_complete(&body) {
            break;
        }
    }
    let body = if chunked {
        decode_chunked(&body).map_err(|m| {
            if m == "too large" {
                FetchError::TooLarge {
                    url: printable(url),
                }
            } else {
                protocol(m)
            }
        })?
    } else {
        body
    };
    if body.len() > MAX_BODY {
        return Err(FetchError::TooLarge {
            url: printable(url),
        });
    }
    if let Some(n) = content_length {
        if body.len() < n {
            return Err(protocol(format!(
                "body ended after {} of {n} bytes",
                body.len()
            )));
        }
        return Ok(Reply::Body(body[..n].to_vec()));
    }
    Ok(Reply::Body(body))
}

fn chunked_complete(raw: &[u8]) -> bool {
    decode_chunked(raw).is_ok()
}

/// Decodes `Transfer-Encoding: chunked`; `Err("incomplete")` until the last chunk arrived.
fn decode_chunked(mut raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = find_crlf(raw).ok_or("incomplete")?;
        let size_text = std::str::from_utf8(&raw[..line_end]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| "bad chunk size")?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if out.len() + size > MAX_BODY {
            return Err("too large".to_string());
        }
        if raw.len() < size + 2 {
            return Err("incomplete".to_string());
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

fn find_crlf(b: &[u8]) -> Option<usize> {
    b.windows(2).position(|w| w == b"\r\n")
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

    #[test]
    fn chunked() {
        assert_eq!(
            decode_chunked(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n").unwrap(),
            b"abcde"
        );
        assert_eq!(decode_chunked(b"3\r\nab").unwrap_err(), "incomplete");
        assert!(decode_chunked(b"zz\r\n").is_err());
        assert_eq!(decode_chunked(b"FFFFFFFF\r\n").unwrap_err(), "too large");
    }
}
