//! Chain analysis: is the presented chain public, and if not, which root issued it? Every link
//! of the path is signature-verified. The issuer of each certificate is looked for in this order:
//! the presented chain (deduplicated, any order), the OS trust store, AIA caIssuers, the user's
//! `--ca-file`s, vendor hints. Proxies that send only the leaf, or leaf + intermediate without the
//! root, are the normal case.

use crate::analyze::certinfo::Cert;
use crate::analyze::certload;
use crate::analyze::classify::PublicRoots;
use crate::discover::deadline::Deadline;
use crate::discover::fetch::Fetcher;
use crate::discover::hints::{self, HintSource};
use rustls::pki_types::CertificateDer;
use serde::Serialize;
use std::collections::HashSet;
use std::path::PathBuf;

/// More links than this is not a real PKI.
pub const MAX_PATH_LEN: usize = 8;
/// Total AIA / vendor URL fetches for one path: enough for real PKIs, a loop cannot run away.
pub const MAX_FETCHES: usize = 4;
/// rustls already bounds the certificate message to 64 KiB; this bounds the work after it.
pub const MAX_PRESENTED: usize = 50;

/// How the root was found; the JSON `found_by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FoundBy {
    SelfSignedInChain,
    OsStore,
    Aia,
    CaFile,
    VendorHint,
}

/// Where one certificate of the path came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkSource {
    Presented,
    OsStore,
    Aia { url: String },
    CaFile { path: PathBuf },
    VendorHint { vendor: String, location: String },
}

impl LinkSource {
    pub fn found_by(&self) -> FoundBy {
        match self {
            LinkSource::Presented => FoundBy::SelfSignedInChain,
            LinkSource::OsStore => FoundBy::OsStore,
            LinkSource::Aia { .. } => FoundBy::Aia,
            LinkSource::CaFile { .. } => FoundBy::CaFile,
            LinkSource::VendorHint { .. } => FoundBy::VendorHint,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            LinkSource::Presented => "sent by the server".to_string(),
            LinkSource::OsStore => "from the OS trust store".to_string(),
            LinkSource::Aia { url } => {
                format!("fetched from {url} (the issuer link, AIA, in the certificate below it)")
            }
            LinkSource::CaFile { path } => format!("from --ca-file {}", path.display()),
            LinkSource::VendorHint { vendor, location } => {
                format!("from {location} (where {vendor} keeps its CA)")
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Link {
    pub cert: Cert,
    pub source: LinkSource,
}

/// A certificate given with `--ca-file`.
#[derive(Debug, Clone)]
pub struct CaFileCert {
    pub path: PathBuf,
    pub cert: Cert,
}

/// Reads a local file by path, `None` when absent or unreadable.
pub type ReadFile = dyn Fn(&str) -> Option<Vec<u8>> + Sync;

/// What path building may consult. `read_file` reads vendor hint files (injectable for tests).
pub struct Sources<'a> {
    pub public: &'a PublicRoots,
    pub os_roots: &'a [Cert],
    pub ca_files: &'a [CaFileCert],
    pub fetcher: &'a dyn Fetcher,
    pub read_file: &'a ReadFile,
}

#[derive(Debug, Clone)]
pub enum Verdict {
    /// Verifies against the public roots: not intercepted.
    Public,
    /// Ends at a public root but does not verify (expired, wrong usage...): not interception,
    /// and certainly not a root to install.
    PublicButInvalid {
        reason: String,
    },
    Intercepted(Interception),
    /// The leaf is self-signed: the host itself is the authority. Not interception (a proxy
    /// mints per-host leaves under its CA); installable only as that one service's anchor.
    SelfSigned {
        cert: Box<Cert>,
        shape: SelfSignedShape,
    },
}

/// The two certificates a self-signed service presents in practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SelfSignedShape {
    /// CA:TRUE (what `openssl req -x509` makes) or a v1 certificate: usable as a root.
    Ca,
    /// CA:FALSE: clients differ on whether they accept it as a trust anchor.
    EndEntity,
}

impl SelfSignedShape {
    pub fn of(cert: &Cert) -> SelfSignedShape {
        if cert.may_issue() {
            SelfSignedShape::Ca
        } else {
            SelfSignedShape::EndEntity
        }
    }
}

#[derive(Debug, Clone)]
pub struct Interception {
    /// Leaf first, each next one the issuer of the previous; the root last when found.
    pub path: Vec<Link>,
    pub root_found: bool,
    /// When the root was not found: why the search stopped.
    pub stop_reason: Option<String>,
    /// Things seen on the way worth telling (failed fetches, unparsable extra certificates).
    pub notes: Vec<String>,
}

impl Interception {
    pub fn root(&self) -> Option<&Link> {
        self.path.last().filter(|_| self.root_found)
    }

    /// The last certificate reached; `None` only for a path that was never started.
    pub fn top(&self) -> Option<&Cert> {
        self.path.last().map(|l| &l.cert)
    }
}

#[derive(Debug, Clone)]
pub struct Analysis {
    /// The presented chain as sent (after parsing), duplicates kept, for the report.
    pub presented: Vec<Cert>,
    pub verdict: Verdict,
}

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("the server sent no certificate")]
    Empty,
    #[error("the server sent {0} certificates; more than {MAX_PRESENTED} is not a real chain")]
    TooMany(usize),
    #[error("the server's certificate is not usable: {0}")]
    BadLeaf(String),
}

pub fn analyze(
    presented_der: &[CertificateDer<'static>],
    sources: &Sources<'_>,
    deadline: Deadline,
) -> Result<Analysis, ChainError> {
    if presented_der.is_empty() {
        return Err(ChainError::Empty);
    }
    if presented_der.len() > MAX_PRESENTED {
        return Err(ChainError::TooMany(presented_der.len()));
    }
    let leaf =
        Cert::parse(presented_der[0].as_ref()).map_err(|e| ChainError::BadLeaf(e.to_string()))?;
    let mut notes = Vec::new();
    let mut presented = vec![leaf.clone()];
    let mut pool: Vec<Cert> = Vec::new();
    for (i, der) in presented_der.iter().enumerate().skip(1) {
        match Cert::parse(der.as_ref()) {
            Ok(c) => {
                if !pool.contains(&c) && c != leaf {
                    pool.push(c.clone());
                }
                presented.push(c);
            }
            Err(e) => notes.push(format!("certificate {i} of the chain was ignored: {e}")),
        }
    }

    if sources.public.verify(presented_der).is_ok() {
        return Ok(Analysis {
            presented,
            verdict: Verdict::Public,
        });
    }

    // A public root presented as the leaf falls through to path building and is reported as
    // public-but-invalid, never offered as a service's anchor.
    if leaf.is_self_signed() && !sources.public.is_public_root(&leaf) {
        let shape = SelfSignedShape::of(&leaf);
        return Ok(Analysis {
            presented,
            verdict: Verdict::SelfSigned {
                cert: Box::new(leaf),
                shape,
            },
        });
    }

    let interception = build_path(leaf, &pool, sources, deadline, notes);
    if let Some(root) = interception.root() {
        if sources.public.is_public_root(&root.cert) {
            let reason = sources
                .public
                .verify(presented_der)
                .err()
                .unwrap_or_default();
            return Ok(Analysis {
                presented,
                verdict: Verdict::PublicButInvalid { reason },
            });
        }
    }
    Ok(Analysis {
        presented,
        verdict: Verdict::Intercepted(interception),
    })
}

/// Whether `issuer` is `child`'s issuer: names and key ids chain, it may issue certificates, and
/// the signature verifies.
fn issues(issuer: &Cert, child: &Cert) -> bool {
    issuer.may_issue() && child.names_issuer(issuer) && child.is_signed_by(issuer)
}

/// URLs already fetched for this path and how many fetches it has cost: AIA and vendor hints
/// share one budget.
#[derive(Default)]
struct FetchBudget {
    urls: HashSet<String>,
    spent: usize,
}

fn build_path(
    leaf: Cert,
    pool: &[Cert],
    sources: &Sources<'_>,
    deadline: Deadline,
    mut notes: Vec<String>,
) -> Interception {
    let mut path = vec![Link {
        cert: leaf,
        source: LinkSource::Presented,
    }];
    let mut seen: HashSet<String> = HashSet::new();
    let mut budget = FetchBudget::default();

    let stop = |path: Vec<Link>, notes: Vec<String>, reason: String| Interception {
        path,
        root_found: false,
        stop_reason: Some(reason),
        notes,
    };

    loop {
        let Some(current) = path.last().map(|l| l.cert.clone()) else {
            return stop(path, notes, "empty path".to_string());
        };
        seen.insert(current.sha256().to_string());
        if current.is_self_signed() {
            if current.info.is_ca || current.info.version == 1 {
                return Interception {
                    path,
                    root_found: true,
                    stop_reason: None,
                    notes,
                };
            }
            return stop(
                path,
                notes,
                "the chain ends in a self-signed certificate that is not a CA: a misconfigured server or a captive portal, not an interception root".to_string(),
            );
        }
        if path.len() >= MAX_PATH_LEN {
            return stop(
                path,
                notes,
                format!("the path grew past {MAX_PATH_LEN} certificates"),
            );
        }
        match find_issuer(
            &current,
            pool,
            sources,
            deadline,
            &seen,
            &mut budget,
            &mut notes,
        ) {
            Some(link) => path.push(link),
            None => {
                let reason = format!(
                    "the issuer of {} was in none of the places looked at: the chain the server sent, the OS trust store, the certificate's issuer link (AIA), the --ca-file certificates and the proxy vendors' known files",
                    crate::terminal_text::quoted(&current.info.subject)
                );
                return stop(path, notes, reason);
            }
        }
    }
}

/// The next link above `current`, looked for in this order: what the peer presented, the OS
/// store, AIA, `--ca-file`, vendor hints. `seen` keeps a loop of cross-signed CAs finite.
fn find_issuer(
    current: &Cert,
    pool: &[Cert],
    sources: &Sources<'_>,
    deadline: Deadline,
    seen: &HashSet<String>,
    budget: &mut FetchBudget,
    notes: &mut Vec<String>,
) -> Option<Link> {
    let unseen = |c: &Cert| !seen.contains(c.sha256());
    if let Some(c) = pool.iter().find(|c| unseen(c) && issues(c, current)) {
        return Some(Link {
            cert: c.clone(),
            source: LinkSource::Presented,
        });
    }
    if let Some(c) = sources
        .os_roots
        .iter()
        .find(|c| unseen(c) && issues(c, current))
    {
        return Some(Link {
            cert: c.clone(),
            source: LinkSource::OsStore,
        });
    }
    if let Some(link) = issuer_from_aia(current, sources, deadline, seen, budget, notes) {
        return Some(link);
    }
    if let Some(f) = sources
        .ca_files
        .iter()
        .find(|f| unseen(&f.cert) && issues(&f.cert, current))
    {
        return Some(Link {
            cert: f.cert.clone(),
            source: LinkSource::CaFile {
                path: f.path.clone(),
            },
        });
    }
    issuer_from_hints(current, sources, deadline, seen, budget, notes)
}

fn issuer_from_aia(
    current: &Cert,
    sources: &Sources<'_>,
    deadline: Deadline,
    seen: &HashSet<String>,
    budget: &mut FetchBudget,
    notes: &mut Vec<String>,
) -> Option<Link> {
    for url in &current.info.aia_ca_issuers {
        if budget.spent >= MAX_FETCHES {
            notes.push(format!(
                "{url} (an issuer link, AIA) was not fetched: the limit of {MAX_FETCHES} fetches per chain was reached"
            ));
            return None;
        }
        if !budget.urls.insert(url.clone()) {
            continue;
        }
        budget.spent += 1;
        match fetch_issuer(sources, url, current, deadline, seen) {
            Ok(Some(cert)) => {
                return Some(Link {
                    cert,
                    source: LinkSource::Aia { url: url.clone() },
                })
            }
            Ok(None) => notes.push(format!(
                "the issuer link (AIA) {url} did not hold the issuer"
            )),
            Err(e) => notes.push(format!("the issuer link (AIA) could not be fetched: {e}")),
        }
    }
    None
}

/// The vendor hints for `current`'s issuer name: a URL (within the fetch budget) or the files
/// the vendor's agent leaves on this OS.
fn issuer_from_hints(
    current: &Cert,
    sources: &Sources<'_>,
    deadline: Deadline,
    seen: &HashSet<String>,
    budget: &mut FetchBudget,
    notes: &mut Vec<String>,
) -> Option<Link> {
    let unseen = |c: &Cert| !seen.contains(c.sha256());
    for hint in hints::hints_for(current.issuer_name()) {
        let candidates = match hint.source {
            HintSource::Url(url) => {
                if budget.spent >= MAX_FETCHES || !budget.urls.insert(url.to_string()) {
                    continue;
                }
                budget.spent += 1;
                match sources.fetcher.fetch(url, deadline) {
                    Ok(bytes) => vec![(url.to_string(), bytes)],
                    Err(e) => {
                        notes.push(format!(
                            "{}'s usual place for its CA could not be fetched: {e}",
                            hint.vendor
                        ));
                        continue;
                    }
                }
            }
            HintSource::Files(files) => files
                .on_this_os()
                .iter()
                .filter_map(|p| (sources.read_file)(p).map(|b| (p.to_string(), b)))
                .collect(),
        };
        for (location, bytes) in candidates {
            let certs = certload::load_certs_lenient(&bytes)
                .map(|(good, _)| good)
                .unwrap_or_default();
            if let Some(c) = certs.into_iter().find(|c| unseen(c) && issues(c, current)) {
                return Some(Link {
                    cert: c,
                    source: LinkSource::VendorHint {
                        vendor: hint.vendor.to_string(),
                        location,
                    },
                });
            }
            notes.push(format!(
                "{location} ({}'s usual place for its CA) did not hold the issuer",
                hint.vendor
            ));
        }
    }
    None
}

fn fetch_issuer(
    sources: &Sources<'_>,
    url: &str,
    child: &Cert,
    deadline: Deadline,
    seen: &HashSet<String>,
) -> Result<Option<Cert>, String> {
    let bytes = sources
        .fetcher
        .fetch(url, deadline)
        .map_err(|e| e.to_string())?;
    let (certs, _) = certload::load_certs_lenient(&bytes).map_err(|e| format!("{url}: {e}"))?;
    Ok(certs
        .into_iter()
        .find(|c| !seen.contains(c.sha256()) && issues(c, child)))
}
