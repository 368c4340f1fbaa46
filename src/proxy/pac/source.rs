//! Getting the PAC text: a local path, a `file:` URL, or `http:`/`https:`.
//!
//! A PAC file is fetched directly, never through a proxy (it is what says which proxy to use),
//! and loopback is allowed: endpoint agents (Zscaler, Netskope) serve it on 127.0.0.1. The HTTP
//! response is read by discover's bounded reader (`discover::fetch`, 1 MiB, the same head and
//! chunk checks), within one deadline for the whole fetch. `https:` is verified against
//! Mozilla's roots plus the OS store's, with the host name checked; a redirect may not leave
//! http(s), nor go from https to plain http.

use crate::discover::deadline::{Deadline, DeadlineStream};
use crate::discover::fetch::{self, FetchError, Reply, MAX_BODY};
use crate::discover::tunnel::{self, Stream, TunnelError};
use crate::terminal_text::printable;
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The whole fetch, redirects included.
pub const PAC_FETCH_TIMEOUT: Duration = Duration::from_secs(10);
pub const MAX_REDIRECTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("PAC file {path}: {message}")]
    File { path: String, message: String },
    #[error("PAC file {path}: larger than {max} bytes")]
    FileTooLarge { path: String, max: usize },
    #[error("PAC location {}: {message}", crate::terminal_text::quoted(location))]
    Location { location: String, message: String },
    /// The fetch error names the URL itself.
    #[error("PAC {source}")]
    Fetch { url: String, source: FetchError },
    #[error("PAC URL {url}: {source}")]
    Transport { url: String, source: TunnelError },
    #[error("PAC URL {url}: TLS failed: {message}")]
    Tls { url: String, message: String },
    #[error("PAC URL {url}: redirected to {to}, which is refused ({why})")]
    Redirect {
        url: String,
        to: String,
        why: &'static str,
    },
    #[error("PAC URL {url}: more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects { url: String },
}

/// PAC text and where it came from (the final URL after redirects, or the path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacText {
    pub text: String,
    pub origin: String,
}

/// Reads `location`: an `http:`/`https:`/`file:` URL, or else a path. `extra_roots` are the OS
/// store's roots, trusted beside Mozilla's for `https:`.
pub fn load(
    location: &str,
    extra_roots: &[CertificateDer<'static>],
) -> Result<PacText, SourceError> {
    load_within(location, extra_roots, Deadline::after(PAC_FETCH_TIMEOUT))
}

/// [`load`] with the fetch bounded by `deadline` instead of [`PAC_FETCH_TIMEOUT`].
pub fn load_within(
    location: &str,
    extra_roots: &[CertificateDer<'static>],
    deadline: Deadline,
) -> Result<PacText, SourceError> {
    let bad = |message: String| SourceError::Location {
        location: printable(location),
        message,
    };
    match url::Url::parse(location) {
        Ok(url) if url.scheme() == "file" => {
            let path = url
                .to_file_path()
                .map_err(|()| bad("not a local file URL".to_string()))?;
            read_file(&path)
        }
        Ok(url) if url.scheme() == "http" || url.scheme() == "https" => {
            fetch(url, extra_roots, deadline, None)
        }
        // A Windows path (`C:\x.pac`) parses as a URL with scheme "c".
        Ok(url) if url.scheme().len() > 1 => Err(bad(format!(
            "scheme {} is not supported (use a path, file:, http: or https:)",
            crate::terminal_text::quoted(url.scheme())
        ))),
        _ => read_file(Path::new(location)),
    }
}

/// A regular file of at most [`MAX_BODY`] bytes, checked on the open handle (no FIFO can block
/// the open, no swap between check and read).
fn read_file(path: &Path) -> Result<PacText, SourceError> {
    let shown = printable(&path.display().to_string());
    let err = |e: std::io::Error| SourceError::File {
        path: shown.clone(),
        message: e.to_string(),
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path).map_err(err)?;
    let meta = file.metadata().map_err(err)?;
    if !meta.is_file() {
        return Err(SourceError::File {
            path: shown,
            message: "not a regular file".to_string(),
        });
    }
    let max = u64::try_from(MAX_BODY).unwrap_or(u64::MAX);
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(err)?;
    if bytes.len() > MAX_BODY {
        return Err(SourceError::FileTooLarge {
            path: shown,
            max: MAX_BODY,
        });
    }
    Ok(PacText {
        text: decode(&bytes),
        origin: absolute(path).display().to_string(),
    })
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// UTF-8 without a BOM; bytes that are not UTF-8 (a Latin-1 comment) become U+FFFD, which only
/// matters inside strings and comments.
fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}

/// An `http:` URL whose host was already resolved to `addrs` (WPAD): the first request goes to
/// those addresses, so the name that answered the lookup is the one that serves the file (no
/// second lookup can give another answer); redirects resolve as any fetch does.
pub fn fetch_resolved(
    url: url::Url,
    addrs: &[SocketAddr],
    deadline: Deadline,
) -> Result<PacText, SourceError> {
    fetch(url, &[], deadline, Some(addrs))
}

fn fetch(
    start: url::Url,
    extra_roots: &[CertificateDer<'static>],
    deadline: Deadline,
    mut first_hop: Option<&[SocketAddr]>,
) -> Result<PacText, SourceError> {
    let mut current = start;
    for _ in 0..=MAX_REDIRECTS {
        let shown = printable(current.as_str());
        let mut stream = open(&current, extra_roots, deadline, first_hop.take())?;
        let host_header = match (current.host_str(), current.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => String::new(),
        };
        let mut path = current.path().to_string();
        if let Some(q) = current.query() {
            path.push('?');
            path.push_str(q);
        }
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: trust-proxy/{}\r\nAccept: application/x-ns-proxy-autoconfig, */*\r\nConnection: close\r\n\r\n",
            env!("CARGO_PKG_VERSION")
        );
        stream
            .write_all(request.as_bytes())
            .and_then(|()| stream.flush())
            .map_err(|e| SourceError::Transport {
                url: shown.clone(),
                source: tunnel::io_error("sending the request", e),
            })?;
        match fetch::read_response(current.as_str(), &mut stream).map_err(|source| {
            SourceError::Fetch {
                url: shown.clone(),
                source,
            }
        })? {
            Reply::Body(bytes) => {
                return Ok(PacText {
                    text: decode(&bytes),
                    origin: current.to_string(),
                })
            }
            Reply::Redirect(next) => {
                let refused = |why| SourceError::Redirect {
                    url: shown.clone(),
                    to: printable(&next),
                    why,
                };
                let next_url = url::Url::parse(&next).map_err(|_| refused("not a URL"))?;
                match (current.scheme(), next_url.scheme()) {
                    (_, "https") | ("http", "http") => current = next_url,
                    ("https", "http") => return Err(refused("a downgrade from https to http")),
                    _ => return Err(refused("only http: and https: are followed")),
                }
            }
        }
    }
    Err(SourceError::TooManyRedirects {
        url: printable(current.as_str()),
    })
}

/// TCP to the URL's host (TLS on top for `https:`), every read and write under `deadline`.
fn open(
    url: &url::Url,
    extra_roots: &[CertificateDer<'static>],
    deadline: Deadline,
    resolved: Option<&[SocketAddr]>,
) -> Result<Stream, SourceError> {
    let shown = printable(url.as_str());
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => {
            return Err(SourceError::Location {
                location: shown,
                message: "no host".to_string(),
            })
        }
    };
    let https = url.scheme() == "https";
    let port = url.port().unwrap_or(if https { 443 } else { 80 });
    let connected = match resolved {
        Some(addrs) => tunnel::connect_addrs("PAC server", &host, port, addrs, deadline),
        None => tunnel::connect_tcp("PAC server", &host, port, deadline),
    };
    let tcp = connected.map_err(|source| SourceError::Transport {
        url: shown.clone(),
        source,
    })?;
    let plain = DeadlineStream::new(tcp, deadline);
    if !https {
        return Ok(Box::new(plain));
    }
    let tls_err = |message: String| SourceError::Tls {
        url: shown.clone(),
        message,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    // A root the OS holds that webpki cannot parse is skipped, not fatal.
    let _ = roots.add_parsable_certificates(extra_roots.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(host).map_err(|e| tls_err(e.to_string()))?;
    let mut connection = rustls::ClientConnection::new(Arc::new(config), name)
        .map_err(|e| tls_err(e.to_string()))?;
    let mut plain = plain;
    // Finish the handshake here so a certificate failure is reported as TLS, not as a read
    // error inside the HTTP reader.
    while connection.is_handshaking() {
        connection
            .complete_io(&mut plain)
            .map_err(|e| tls_err(e.to_string()))?;
    }
    Ok(Box::new(rustls::StreamOwned::new(connection, plain)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_rules() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("proxy.pac");
        std::fs::write(
            &good,
            b"\xEF\xBB\xBFfunction FindProxyForURL(u, h) { return \"DIRECT\"; }",
        )
        .unwrap();
        let text = load(good.to_str().unwrap(), &[]).unwrap();
        assert!(text.text.starts_with("function"));
        let as_url = url::Url::from_file_path(&good).unwrap();
        assert_eq!(load(as_url.as_str(), &[]).unwrap().text, text.text);

        let big = dir.path().join("big.pac");
        std::fs::write(&big, vec![b' '; MAX_BODY + 1]).unwrap();
        assert!(matches!(
            load(big.to_str().unwrap(), &[]),
            Err(SourceError::FileTooLarge { .. })
        ));
        assert!(matches!(
            load(dir.path().to_str().unwrap(), &[]),
            Err(SourceError::File { .. })
        ));
        assert!(matches!(
            load("ftp://x/proxy.pac", &[]),
            Err(SourceError::Location { .. })
        ));
    }
}
