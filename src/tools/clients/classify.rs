//! Reading a client's own output: did TLS verify (whatever the server then answered), did the
//! client reject the certificate, or can nobody tell? Every marker below was seen in a real
//! tool's output (tests/data/verify/ holds the recordings the tests replay).

use super::ClientId;
use crate::process::Ended;
use serde::Serialize;

/// What the probe scripts (python, requests, httpx, node, java) and curl's `-w` print once an
/// HTTP status arrived: proof that the handshake, verification included, succeeded.
pub const STATUS_MARKER: &str = "TP-HTTP-STATUS";
/// What the Python probes print when their library is not importable.
pub const NOT_INSTALLED_MARKER: &str = "TP-NOT-INSTALLED";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// TLS verified with the configured trust (the server's HTTP answer may be a 404: that is
    /// the server speaking, after verification).
    Works,
    /// The client rejected the certificate chain: the trust it uses lacks the CA.
    CertificateRejected,
    /// Rejected by strict X.509 checks (Python >= 3.13 `VERIFY_X509_STRICT`): the CA's shape,
    /// which no trust setting fixes.
    StrictX509,
    /// The certificate is not for the host asked for.
    NameMismatch,
    /// The request never reached a TLS handshake (proxy, DNS, connection).
    Unreachable,
    /// Still running at its deadline: killed.
    TimedOut,
    /// Neither a verified answer nor a certificate error in what the tool printed.
    CouldNotTell,
    /// The library is not importable by that interpreter: nothing to check.
    NotAvailable,
}

impl Status {
    pub fn passed(self) -> bool {
        self == Status::Works
    }

    /// Counted in the verdict (an absent library is not a failure).
    pub fn checked(self) -> bool {
        self != Status::NotAvailable
    }

    /// One line on its own (a progress line): a failure says FAILS.
    pub fn label(self) -> &'static str {
        match self {
            Status::Works => "works",
            Status::CertificateRejected => "FAILS: certificate rejected",
            Status::StrictX509 => "FAILS: strict X.509 check",
            Status::NameMismatch => "FAILS: name mismatch",
            Status::Unreachable => "FAILS: not reached",
            Status::TimedOut => "FAILS: timed out",
            Status::CouldNotTell => "could not tell",
            Status::NotAvailable => "not available",
        }
    }

    /// What happened, under a report line that already says FAILS.
    pub fn what(self) -> &'static str {
        let label = self.label();
        label.strip_prefix("FAILS: ").unwrap_or(label)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    /// The line of the tool's output that decided it (raw: callers escape it for display).
    pub evidence: Option<String>,
    /// The HTTP status the server answered, when the tool showed it.
    pub http_status: Option<u16>,
}

/// Certificate-verification failures, as OpenSSL, GnuTLS, rustls, Node, Java and libcurl word
/// them.
const CERTIFICATE_MARKERS: &[&str] = &[
    "CERTIFICATE_VERIFY_FAILED",
    "certificate verify failed",
    "SSL certificate problem",
    "SSL peer certificate or SSH remote key was not OK",
    "server certificate verification failed",
    "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    "UNABLE_TO_GET_ISSUER_CERT",
    "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    "SELF_SIGNED_CERT_IN_CHAIN",
    "DEPTH_ZERO_SELF_SIGNED_CERT",
    "CERT_UNTRUSTED",
    "CERT_HAS_EXPIRED",
    "self-signed certificate in certificate chain",
    "self signed certificate in certificate chain",
    "unable to get local issuer certificate",
    "unable to verify the first certificate",
    "UnknownIssuer",
    "invalid peer certificate",
    "PKIX path building failed",
    "unable to find valid certification path",
    "certificate signed by unknown authority",
];

/// OpenSSL's `X509_V_FLAG_X509_STRICT` findings (what Python >= 3.13 reports).
const STRICT_MARKERS: &[&str] = &[
    "Basic Constraints of CA cert not marked critical",
    "Missing Authority Key Identifier",
    "Missing Subject Key Identifier",
    "CA cert does not include key usage extension",
    "Authority Key Identifier marked critical",
    "Subject Key Identifier marked critical",
    "Certificate Basic Constraints not marked critical",
];

const NAME_MARKERS: &[&str] = &[
    "Hostname mismatch",
    "hostname mismatch",
    "ERR_TLS_CERT_ALTNAME_INVALID",
    "does not match target host name",
    "no alternative certificate subject name matches",
    "No subject alternative DNS name matching",
    "NotValidForName",
    "not valid for name",
    "Certificate did not match expected hostname",
    "no alternative certificate subject name matches",
    "doesn't match any of the subject alternative names",
];

const UNREACHABLE_MARKERS: &[&str] = &[
    "Connection refused",
    "ECONNREFUSED",
    "Could not resolve",
    "Name or service not known",
    "Temporary failure in name resolution",
    "ENOTFOUND",
    "EAI_AGAIN",
    "No route to host",
    "Network is unreachable",
    "ENETUNREACH",
    "Proxy Authentication Required",
    "Proxy CONNECT aborted",
    "Tunnel connection failed",
    "the proxy answered CONNECT",
    "ProxyError",
    "Unable to tunnel through proxy",
    "Connection reset by peer",
    "ECONNRESET",
    "Failed to connect to",
    "Could not connect to server",
    "Connection timed out",
    "Timeout was reached",
    "Couldn't connect to server",
    "Cannot connect to proxy",
    "NewConnectionError",
    "connection error:",
    "dns error",
];

/// Reads what a client printed.
pub fn classify(client: ClientId, ended: &Ended, stdout: &str, stderr: &str) -> Verdict {
    if *ended == Ended::TimedOut {
        return Verdict {
            status: Status::TimedOut,
            evidence: last_line(stderr).or_else(|| last_line(stdout)),
            http_status: None,
        };
    }
    if let Some(line) = line_with(stdout, &[NOT_INSTALLED_MARKER]) {
        return verdict(Status::NotAvailable, Some(line), None);
    }
    let both = [stdout, stderr];
    if let Some((line, status)) = http_status_line(stdout) {
        // curl's -w prints 000 when no HTTP answer came: not proof of anything.
        if status != 0 {
            return verdict(Status::Works, Some(line), Some(status));
        }
    }
    if let Some(line) = find(&both, STRICT_MARKERS) {
        return verdict(Status::StrictX509, Some(line), None);
    }
    if let Some(code) = openssl_verify_code(stdout) {
        return match code {
            (0, line) => verdict(Status::Works, Some(line), None),
            (62, line) => verdict(Status::NameMismatch, Some(line), None),
            (_, line) => verdict(Status::CertificateRejected, Some(line), None),
        };
    }
    // Before the certificate markers: Python words a name mismatch as CERTIFICATE_VERIFY_FAILED.
    if let Some(line) = find(&both, NAME_MARKERS) {
        return verdict(Status::NameMismatch, Some(line), None);
    }
    if let Some(line) = find(&both, CERTIFICATE_MARKERS) {
        return verdict(Status::CertificateRejected, Some(line), None);
    }
    if *ended == Ended::Exited(0) {
        return verdict(Status::Works, last_line(stdout), None);
    }
    if let Some((line, status)) = answered(client, stdout, stderr) {
        return verdict(Status::Works, Some(line), status);
    }
    if let Some(line) = find(&both, UNREACHABLE_MARKERS) {
        return verdict(Status::Unreachable, Some(line), None);
    }
    // Nothing known: the tool's first error line says most (a stack trace follows it).
    let evidence = [stderr, stdout]
        .iter()
        .find_map(|t| {
            t.lines()
                .find(|l| l.to_ascii_lowercase().contains("error"))
                .map(|l| focus(l.trim(), &["rror"]))
        })
        .or_else(|| last_line(stderr))
        .or_else(|| last_line(stdout));
    verdict(Status::CouldNotTell, evidence, None)
}

fn verdict(status: Status, evidence: Option<String>, http_status: Option<u16>) -> Verdict {
    Verdict {
        status,
        evidence,
        http_status,
    }
}

/// Failures that can only come after the server answered over the verified connection: the
/// tool got an HTTP status (404 from an origin that has no such package) or a body it could not
/// use. Per tool, as each words it; the status is read at the place the tool prints it, never
/// from elsewhere in the line (a proxy address like 10.200.1.1 holds "200").
fn answered(client: ClientId, stdout: &str, stderr: &str) -> Option<(String, Option<u16>)> {
    let both = [stdout, stderr];
    let after = |markers: &[&str]| {
        markers.iter().find_map(|m| {
            find(&both, &[m]).map(|line| {
                let status = status_after(&line, m);
                (line, status)
            })
        })
    };
    let plain = |markers: &[&str]| find(&both, markers).map(|line| (line, None));
    match client {
        // pip -vv: urllib3's `"GET /simple/pip/ HTTP/1.1" 404 0`, pip's "404 Client Error", or
        // a page it skipped for its content type. (pip says "No matching distribution" whatever
        // happened, so that line proves nothing.)
        ClientId::Pip => after(&["HTTP/1.1\" ", "HTTP/1.0\" "])
            .or_else(|| {
                find(&both, &[" Client Error: ", " Server Error: "]).map(|line| {
                    let status = [" Client Error: ", " Server Error: "]
                        .iter()
                        .find_map(|m| status_before(&line, m));
                    (line, status)
                })
            })
            .or_else(|| plain(&["Skipping page "])),
        ClientId::Uv => after(&["HTTP status client error (", "HTTP status server error ("])
            .or_else(|| {
                plain(&[
                    "not found in the package registry",
                    "Unsupported `Content-Type`",
                    "Failed to parse",
                ])
            }),
        ClientId::Git => after(&["The requested URL returned error: "]).or_else(|| {
            plain(&[
                "' not found",
                "not valid: is this a git repository",
                "Authentication failed",
            ])
        }),
        ClientId::Npm => {
            let line = find(
                &both,
                &[
                    "npm error code E4",
                    "npm error code E5",
                    "npm ERR! code E4",
                    "npm ERR! code E5",
                    "invalid json response body",
                    "Unexpected token",
                ],
            )?;
            let status = status_after(&line, "code E");
            Some((line, status))
        }
        ClientId::Cargo => after(&["failed to get successful HTTP response"])
            .map(|(line, _)| {
                let status = status_after(&line, ", got ");
                (line, status)
            })
            .or_else(|| {
                plain(&[
                    "not found in registry",
                    "failed to parse",
                    "failed to deserialize",
                ])
            }),
        _ => None,
    }
}

/// The three-digit HTTP status right after `marker` in `line`.
fn status_after(line: &str, marker: &str) -> Option<u16> {
    let at = line.find(marker)?.checked_add(marker.len())?;
    let digits = line.get(at..)?.get(..3)?;
    http_status(digits)
}

/// The three-digit HTTP status right before `marker` in `line` ("404 Client Error").
fn status_before(line: &str, marker: &str) -> Option<u16> {
    let end = line.find(marker)?;
    let digits = line.get(end.checked_sub(3)?..end)?;
    http_status(digits)
}

fn http_status(digits: &str) -> Option<u16> {
    if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|c| (100..600).contains(c))
}

/// `TP-HTTP-STATUS 404`, printed by the probes once the answer arrived.
fn http_status_line(stdout: &str) -> Option<(String, u16)> {
    stdout.lines().find_map(|line| {
        let rest = line.trim().strip_prefix(STATUS_MARKER)?;
        let status = rest.trim().parse().ok()?;
        Some((line.trim().to_string(), status))
    })
}

/// `Verify return code: 19 (self-signed certificate in certificate chain)` from `openssl
/// s_client`: its own verdict on the chain.
fn openssl_verify_code(stdout: &str) -> Option<(u32, String)> {
    stdout.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("Verify return code:")?;
        let code = rest.split_whitespace().next()?.parse().ok()?;
        Some((code, line.trim().to_string()))
    })
}

/// The first line, across `texts`, containing any of `markers`, cut to the part that matters.
fn find(texts: &[&str], markers: &[&str]) -> Option<String> {
    texts
        .iter()
        .find_map(|t| line_with(t, markers))
        .map(|line| focus(&line, markers))
}

/// Lines longer than this are cut around the marker (pip's carries a whole urllib3 repr).
pub const EVIDENCE_CHARS: usize = 200;

/// A long line from its first marker on (less what precedes it within the same bracket or
/// word), at most [`EVIDENCE_CHARS`] characters, with `…` where it was cut.
fn focus(line: &str, markers: &[&str]) -> String {
    if line.chars().count() <= EVIDENCE_CHARS {
        return line.to_string();
    }
    let at = markers
        .iter()
        .filter_map(|m| line.find(m))
        .min()
        .unwrap_or(0);
    // Back to the start of the bracket or phrase the marker sits in ("[SSL: CERTIFICATE_...").
    let start = line
        .get(..at)
        .and_then(|before| before.rfind(['(', '[', '\'']))
        .filter(|&i| at.saturating_sub(i) <= 12)
        .unwrap_or(at);
    let tail = line.get(start..).unwrap_or(line);
    let mut out: String = if start > 0 {
        "…".to_string()
    } else {
        String::new()
    };
    out.extend(tail.chars().take(EVIDENCE_CHARS));
    if tail.chars().count() > EVIDENCE_CHARS {
        out.push('…');
    }
    out
}

fn line_with(text: &str, markers: &[&str]) -> Option<String> {
    text.lines()
        .find(|line| markers.iter().any(|m| line.contains(m)))
        .map(|line| line.trim().to_string())
}

fn last_line(text: &str) -> Option<String> {
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_after_the_handshake_is_a_pass_and_000_is_not() {
        let v = classify(
            ClientId::Curl,
            &Ended::Exited(0),
            "TP-HTTP-STATUS 404\n",
            "",
        );
        assert_eq!((v.status, v.http_status), (Status::Works, Some(404)));
        let v = classify(
            ClientId::Curl,
            &Ended::Exited(60),
            "TP-HTTP-STATUS 000\n",
            "curl: (60) SSL certificate problem: self-signed certificate in certificate chain\n",
        );
        assert_eq!(v.status, Status::CertificateRejected);
    }

    #[test]
    fn pip_passes_on_an_http_status_never_on_no_matching_distribution_alone() {
        let reached = "Could not fetch URL https://pypi.org/simple/pip/: 404 Client Error: Not Found for url: https://pypi.org/simple/pip/ - skipping\nERROR: No matching distribution found for pip\n";
        let v = classify(ClientId::Pip, &Ended::Exited(1), "", reached);
        assert_eq!((v.status, v.http_status), (Status::Works, Some(404)));
        // What pip prints at default verbosity when the proxy refuses: nothing but this.
        let silent = "ERROR: No matching distribution found for pip\n";
        assert_eq!(
            classify(ClientId::Pip, &Ended::Exited(1), "", silent).status,
            Status::CouldNotTell
        );
    }

    #[test]
    fn the_status_is_read_where_the_tool_prints_it_not_from_an_address() {
        // cargo through the lab's squid, whose address holds "200": the answer was a 502.
        let cargo = "  failed to get successful HTTP response from `https://index.crates.io/config.json` (10.200.1.1), got 502\n";
        let v = classify(ClientId::Cargo, &Ended::Exited(101), "", cargo);
        assert_eq!((v.status, v.http_status), (Status::Works, Some(502)));
        let pip = "https://pypi.org:443 \"GET /simple/pip/ HTTP/1.1\" 200 33\nERROR: No matching distribution found for pip\n";
        let v = classify(ClientId::Pip, &Ended::Exited(1), "", pip);
        assert_eq!((v.status, v.http_status), (Status::Works, Some(200)));
    }

    #[test]
    fn a_timeout_is_reported_as_such_whatever_was_printed() {
        let v = classify(ClientId::Node, &Ended::TimedOut, "TP-HTTP-STATUS 200", "");
        assert_eq!(v.status, Status::TimedOut);
    }

    #[test]
    fn neither_answer_nor_certificate_error_is_could_not_tell() {
        let v = classify(
            ClientId::Git,
            &Ended::Exited(128),
            "",
            "fatal: something odd\n",
        );
        assert_eq!(v.status, Status::CouldNotTell);
        assert_eq!(v.evidence.as_deref(), Some("fatal: something odd"));
        // The error line, not the end of the stack trace after it (rustup without a toolchain).
        let trace = "error: rustup could not choose a version of cargo to run\nStack backtrace:\n   0: anyhow::error\n  13: <unknown>\n";
        let v = classify(ClientId::Cargo, &Ended::Exited(1), "", trace);
        assert_eq!(
            v.evidence.as_deref(),
            Some("error: rustup could not choose a version of cargo to run")
        );
    }
}
