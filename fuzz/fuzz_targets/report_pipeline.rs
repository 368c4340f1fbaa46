//! The whole way from what a peer presents to what the user reads: presented certificates, AIA
//! and vendor-hint bodies -> analyze_presented -> summarize -> the human and JSON reports, then
//! the install decision on the roots found. Everything after the TLS handshake, without I/O.
//!
//! Input layout (fuzz/seeds/make_report_pipeline_seeds.py writes it):
//!   flags: u8, n: u8 (low nibble: certificates, % 9; high nibble: rotate the chain left by it),
//!   n x [len: u16 BE][DER],
//!   then records to the end: [key_len: u8][key][len: u16 BE][body]
//! A record's key is an AIA/hint URL or a vendor-hint file path; the body is served for it. The
//! record with an empty key is served for every URL no record names.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rustls_pki_types::CertificateDer;
use std::collections::HashMap;
use std::time::Duration;
use trust_proxy::analyze::certinfo::Cert;
use trust_proxy::analyze::chain::CaFileCert;
use trust_proxy::analyze::classify::PublicRoots;
use trust_proxy::cli::report;
use trust_proxy::discover::deadline::Deadline;
use trust_proxy::discover::fetch::{FetchError, Fetcher};
use trust_proxy::discover::proxy::{ProxyChoice, ProxyEndpoint, ProxySettings, ProxySource};
use trust_proxy::discover::target::Target;
use trust_proxy::discover::{self, DiscoverConfig};
use trust_proxy::install::decide::{self, Candidate, Pin, Policy, ServiceUse};
use trust_proxy::install::validate;
use trust_proxy::{install, terminal_text};

const OS_ROOT: u8 = 1;
const CA_FILE: u8 = 1 << 1;
const PUBLIC_IS_LAST: u8 = 1 << 2;
const TWO_TARGETS: u8 = 1 << 3;
const VIA_PROXY: u8 = 1 << 4;
const PIN_FIRST_ROOT: u8 = 1 << 5;
const SYSTEM_SCOPE: u8 = 1 << 6;
const TRUST_ON_FIRST_USE: u8 = 1 << 7;

struct Served {
    bodies: HashMap<String, Vec<u8>>,
}

impl Fetcher for Served {
    fn fetch(&self, url: &str, _: Deadline) -> Result<Vec<u8>, FetchError> {
        self.bodies
            .get(url)
            .or_else(|| self.bodies.get(""))
            .cloned()
            .ok_or_else(|| FetchError::Status {
                url: url.to_string(),
                status: 404,
            })
    }
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if rest.len() < n {
        return None;
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Some(head)
}

fn take_u16(rest: &mut &[u8]) -> Option<usize> {
    take(rest, 2).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
}

struct Input {
    flags: u8,
    chain: Vec<CertificateDer<'static>>,
    bodies: HashMap<String, Vec<u8>>,
}

fn parse(data: &[u8]) -> Option<Input> {
    let mut rest = data;
    let head = take(&mut rest, 2)?;
    // Low nibble: how many certificates; high nibble: rotates the chain, so one mutated byte
    // puts any certificate first (the root as the leaf, an intermediate alone...).
    let (flags, n, rotate) = (head[0], (head[1] & 0x0f) % 9, head[1] >> 4);
    let mut chain = Vec::new();
    for _ in 0..n {
        let len = take_u16(&mut rest)?;
        let available = len.min(rest.len());
        let der = take(&mut rest, available)?;
        chain.push(CertificateDer::from(der.to_vec()));
    }
    if !chain.is_empty() {
        let by = usize::from(rotate) % chain.len();
        chain.rotate_left(by);
    }
    let mut bodies = HashMap::new();
    while let Some(key_len) = take(&mut rest, 1) {
        let Some(key) = take(&mut rest, usize::from(key_len[0])) else {
            break;
        };
        let Some(len) = take_u16(&mut rest) else {
            break;
        };
        let available = len.min(rest.len());
        let body = take(&mut rest, available).unwrap_or_default();
        bodies.insert(String::from_utf8_lossy(key).into_owned(), body.to_vec());
    }
    Some(Input {
        flags,
        chain,
        bodies,
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = parse(data) else { return };
    let flags = input.flags;
    let last = input
        .chain
        .iter()
        .rev()
        .find_map(|der| Cert::parse(der.as_ref()).ok());
    let public = match (&last, flags & PUBLIC_IS_LAST != 0) {
        (Some(cert), true) => PublicRoots::from_certs(std::slice::from_ref(cert), "fuzz")
            .unwrap_or_else(|_| PublicRoots::mozilla()),
        _ => PublicRoots::mozilla(),
    };
    let os_roots: Vec<Cert> = last
        .iter()
        .filter(|_| flags & OS_ROOT != 0)
        .cloned()
        .collect();
    let ca_files: Vec<CaFileCert> = last
        .iter()
        .filter(|_| flags & CA_FILE != 0)
        .map(|cert| CaFileCert {
            path: "/fuzz/ca.pem".into(),
            cert: cert.clone(),
        })
        .collect();
    let files = input.bodies.clone();
    let mut targets = vec![Target::parse("pypi.org").expect("a valid target")];
    if flags & TWO_TARGETS != 0 {
        targets.push(Target::parse("files.pythonhosted.org:8443").expect("a valid target"));
    }
    let config = DiscoverConfig {
        targets: targets.clone(),
        proxy: ProxySettings::default(),
        ca_files,
        public,
        os_roots,
        os_store: "fuzz".into(),
        timeout: Duration::from_secs(5),
        read_file: Box::new(move |path| files.get(path).cloned()),
    };
    let choice = if flags & VIA_PROXY != 0 {
        ProxyChoice {
            endpoint: ProxyEndpoint::parse("http://user:secret@proxy.corp.test:3128").ok(),
            source: ProxySource::Flag,
        }
    } else {
        ProxyChoice {
            endpoint: None,
            source: ProxySource::NoProxyFlag,
        }
    };
    let fetcher = Served {
        bodies: input.bodies,
    };
    let results = targets
        .iter()
        .map(|t| {
            discover::analyze_presented(
                &config,
                t,
                choice.clone(),
                &input.chain,
                "TLSv1.3".into(),
                &fetcher,
                Deadline::after(Duration::from_secs(5)),
            )
        })
        .collect();
    let result = discover::summarize(&config, results);

    let text = report::to_text(&result, Some("/fuzz/export.pem"));
    let json = report::to_json(&result, Some("/fuzz/export.pem".into()));
    let parsed: serde_json::Value =
        serde_json::from_str(&json).expect("the JSON report is valid JSON");
    assert_eq!(
        parsed["outcome"].as_str().map(str::to_string),
        serde_json::to_value(result.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string)),
        "the JSON outcome is the result's"
    );
    assert!(!text.is_empty());
    // Nothing from the network reaches the terminal raw (issue 6, item 3).
    assert_terminal_safe("the human report", &text);

    // What install decides on these roots and self-signed services: the candidates as install
    // builds them.
    let candidates: Vec<Candidate> = result
        .roots
        .iter()
        .map(|r| Candidate {
            root: r.root.clone(),
            path: r.intermediates.iter().map(|(c, _)| c.clone()).collect(),
            provenance: r.provenance,
            service: None,
        })
        .chain(result.self_signed.iter().map(|s| Candidate {
            root: s.cert.clone(),
            path: Vec::new(),
            provenance: s.provenance,
            service: Some(ServiceUse {
                shape: s.shape,
                presented_by: s.seen_on.iter().map(|t| t.to_string()).collect(),
                names_not_covered: s.names_not_covered.iter().map(|t| t.to_string()).collect(),
            }),
        }))
        .collect();
    let pins: Vec<Pin> = candidates
        .first()
        .filter(|_| flags & PIN_FIRST_ROOT != 0)
        .and_then(|c| Pin::parse(c.root.sha256()).ok())
        .into_iter()
        .collect();
    let policy = Policy {
        interactive: flags & SYSTEM_SCOPE == 0,
        assume_yes: false,
        trust_on_first_use: flags & TRUST_ON_FIRST_USE != 0,
        system_scope: flags & SYSTEM_SCOPE != 0,
    };
    if let Ok(verdicts) = decide::decide(&candidates, &pins, policy) {
        assert_eq!(verdicts.len(), candidates.len());
    }
    for c in &candidates {
        assert_terminal_safe(
            "the confirmation prompt",
            &install::confirm_text(c, &result),
        );
    }
    for r in &result.roots {
        let _ = validate::validate_root(&r.root, &r.lint);
    }
    for c in &candidates {
        if let Some(service) = &c.service {
            let _ = validate::validate_self_signed_end_entity(
                &c.root,
                &service.presented_by,
                &service.names_not_covered,
            );
        }
    }
});

fn assert_terminal_safe(what: &str, text: &str) {
    if let Some(c) = text
        .chars()
        .find(|&c| c != '\n' && terminal_text::is_unsafe_for_display(c))
    {
        panic!("{c:?} reached {what} raw");
    }
}
