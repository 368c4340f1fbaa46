//! The report: JSON (`schema_version` 1, documented in README) and the human form. Every string
//! that came from the network goes through `terminal_text::printable` before it reaches a
//! terminal, and the finished text through `terminal_text::for_terminal`.

use crate::analyze::certinfo::CertInfo;
use crate::analyze::chain::LinkSource;
use crate::analyze::chain::SelfSignedShape;
use crate::analyze::lint::{Finding, Severity};
use crate::discover::{
    DiscoverResult, Outcome, Provenance, RootFinding, SelfSignedService, TargetResult, TargetStatus,
};
use crate::install::validate::{ClientSupport, END_ENTITY_ANCHOR_CLIENTS};
use crate::terminal_text::{escaped, for_terminal, printable};
use serde::Serialize;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    tool: Tool,
    command: &'static str,
    outcome: Outcome,
    exit_code: i32,
    public_roots: &'a str,
    os_store: &'a str,
    targets: Vec<JsonTarget<'a>>,
    roots: Vec<JsonRoot<'a>>,
    self_signed: Vec<JsonSelfSigned<'a>>,
    unresolved: Vec<JsonUnresolved<'a>>,
    exported_to: Option<String>,
    /// The snippets' NO_PROXY, translated per entry from the deciding OS source's bypass list.
    #[serde(skip_serializing_if = "Option::is_none")]
    no_proxy: Option<&'a crate::proxy::bypass::NoProxyTranslation>,
}

#[derive(Serialize)]
struct JsonProxy {
    url: Option<String>,
    source: String,
    /// Where the choice came from and why, as the text report says it.
    why: String,
}

#[derive(Serialize)]
struct JsonError<'a> {
    kind: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonLink<'a> {
    certificate: &'a CertInfo,
    source: &'static str,
    location: Option<String>,
}

#[derive(Serialize)]
struct JsonTarget<'a> {
    target: String,
    proxy: Option<JsonProxy>,
    status: &'static str,
    error: Option<JsonError<'a>>,
    tls_version: Option<&'a str>,
    presented_chain: Vec<&'a CertInfo>,
    root_sha256: Option<&'a str>,
    top_issuer: Option<&'a str>,
    notes: Vec<&'a str>,
    proxy_tls_unverified: Option<&'a str>,
    /// The proxy answered 407: the schemes it offered, what trust-proxy supports, advice.
    proxy_auth: Option<crate::discover::proxy_auth::AuthJson<'a>>,
}

#[derive(Serialize)]
struct JsonRoot<'a> {
    certificate: &'a CertInfo,
    pem: String,
    found_by: crate::analyze::chain::FoundBy,
    found_at: Option<String>,
    provenance: Provenance,
    in_os_store: bool,
    seen_on: Vec<String>,
    path: Vec<JsonLink<'a>>,
    lint: &'a [Finding],
}

#[derive(Serialize)]
struct JsonSelfSigned<'a> {
    certificate: &'a CertInfo,
    pem: String,
    shape: SelfSignedShape,
    provenance: Provenance,
    in_os_store: bool,
    seen_on: Vec<String>,
    names_not_covered: Vec<String>,
    lint: &'a [Finding],
    /// Only for the end-entity shape: which clients accept it as a trust anchor.
    clients: &'static [ClientSupport],
}

#[derive(Serialize)]
struct JsonUnresolved<'a> {
    top_subject: &'a str,
    top_issuer: &'a str,
    top_certificate: &'a CertInfo,
    vendor: Option<&'a str>,
    seen_on: Vec<String>,
    reason: &'a str,
    advice: &'a str,
}

fn source_parts(s: &LinkSource) -> (&'static str, Option<String>) {
    match s {
        LinkSource::Presented => ("presented", None),
        LinkSource::OsStore => ("os_store", None),
        LinkSource::Aia { url } => ("aia", Some(url.clone())),
        LinkSource::CaFile { path } => ("ca_file", Some(path.display().to_string())),
        LinkSource::VendorHint { location, .. } => ("vendor_hint", Some(location.clone())),
    }
}

fn status_name(s: &TargetStatus) -> &'static str {
    match s {
        TargetStatus::Intercepted(_) => "intercepted",
        TargetStatus::NotIntercepted => "not_intercepted",
        TargetStatus::PublicButInvalid { .. } => "public_but_invalid",
        TargetStatus::SelfSigned { .. } => "self_signed",
        TargetStatus::Error { .. } => "error",
    }
}

fn json_target(t: &TargetResult) -> JsonTarget<'_> {
    let (error, root_sha256, top_issuer, notes) = match &t.status {
        TargetStatus::Error { kind, message } => (
            Some(JsonError {
                kind,
                message: message.as_str(),
            }),
            None,
            None,
            Vec::new(),
        ),
        TargetStatus::Intercepted(i) => (
            None,
            i.root().map(|r| r.cert.sha256()),
            i.top().filter(|_| !i.root_found).map(|t| t.issuer_name()),
            i.notes.iter().map(String::as_str).collect(),
        ),
        TargetStatus::PublicButInvalid { reason } => (None, None, None, vec![reason.as_str()]),
        TargetStatus::NotIntercepted => (None, None, None, Vec::new()),
        TargetStatus::SelfSigned { cert, .. } => (None, Some(cert.sha256()), None, Vec::new()),
    };
    JsonTarget {
        target: t.target.to_string(),
        proxy: t.proxy.as_ref().map(|p| JsonProxy {
            url: p.endpoint.as_ref().map(|e| e.display_url()),
            source: p.source.to_string(),
            why: p.explain(),
        }),
        status: status_name(&t.status),
        error,
        tls_version: t.tls_version.as_deref(),
        presented_chain: t.presented.iter().map(|c| &c.info).collect(),
        root_sha256,
        top_issuer,
        notes,
        proxy_tls_unverified: t.proxy_tls_unverified.as_deref(),
        proxy_auth: t.proxy_auth.as_ref().map(|a| a.json()),
    }
}

fn json_root(r: &RootFinding) -> JsonRoot<'_> {
    let (_, found_at) = source_parts(&r.source);
    JsonRoot {
        certificate: &r.root.info,
        pem: r.root.to_pem(),
        found_by: r.found_by,
        found_at,
        provenance: r.provenance,
        in_os_store: r.in_os_store,
        seen_on: r.seen_on.iter().map(|t| t.to_string()).collect(),
        path: r
            .intermediates
            .iter()
            .map(|(c, s)| {
                let (source, location) = source_parts(s);
                JsonLink {
                    certificate: &c.info,
                    source,
                    location,
                }
            })
            .collect(),
        lint: &r.lint,
    }
}

pub fn to_json(result: &DiscoverResult, exported_to: Option<String>) -> String {
    let report = JsonReport {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "trust-proxy",
            version: env!("CARGO_PKG_VERSION"),
        },
        command: "discover",
        outcome: result.outcome,
        exit_code: result.outcome.exit_code(),
        public_roots: &result.public_roots,
        os_store: &result.os_store,
        targets: result.targets.iter().map(json_target).collect(),
        roots: result.roots.iter().map(json_root).collect(),
        self_signed: result
            .self_signed
            .iter()
            .map(|s| JsonSelfSigned {
                certificate: &s.cert.info,
                pem: s.cert.to_pem(),
                shape: s.shape,
                provenance: s.provenance,
                in_os_store: s.in_os_store,
                seen_on: s.seen_on.iter().map(|t| t.to_string()).collect(),
                names_not_covered: s.names_not_covered.iter().map(|t| t.to_string()).collect(),
                lint: &s.lint,
                clients: match s.shape {
                    SelfSignedShape::Ca => &[],
                    SelfSignedShape::EndEntity => END_ENTITY_ANCHOR_CLIENTS,
                },
            })
            .collect(),
        unresolved: result
            .unresolved
            .iter()
            .map(|u| JsonUnresolved {
                top_subject: &u.top.info.subject,
                top_issuer: &u.top.info.issuer,
                top_certificate: &u.top.info,
                vendor: u.vendor,
                seen_on: u.seen_on.iter().map(|t| t.to_string()).collect(),
                reason: &u.reason,
                advice: &u.advice,
            })
            .collect(),
        exported_to,
        no_proxy: result.no_proxy.as_ref(),
    };
    crate::terminal_text::to_json_pretty(&report)
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// The human report.
pub fn to_text(result: &DiscoverResult, exported_to: Option<&str>) -> String {
    let mut out = String::new();
    let headline = match result.outcome {
        Outcome::Intercepted => "TLS interception found; root CA extracted.",
        Outcome::NotIntercepted => "No TLS interception observed.",
        Outcome::RootNotFound => "TLS interception found, but its root CA could not be found.",
        Outcome::NetworkFailure => "No target could be probed.",
        Outcome::SelfSigned => "The host presents a self-signed certificate: not interception.",
    };
    out.push_str(&format!("trust-proxy discover: {headline}\n\n"));
    out.push_str(&targets_text(result));
    out.push_str(&crate::discover::proxy_auth::summary_text(
        result.targets.iter().filter_map(|t| t.proxy_auth.as_ref()),
    ));
    out.push_str(&failures_text(result));
    let intercepted = result
        .targets
        .iter()
        .filter(|t| matches!(t.status, TargetStatus::Intercepted(_)))
        .count();
    let clean = result
        .targets
        .iter()
        .filter(|t| {
            matches!(
                t.status,
                TargetStatus::NotIntercepted | TargetStatus::PublicButInvalid { .. }
            )
        })
        .count();
    if intercepted > 0 && clean > 0 {
        out.push_str(&format!(
            "\n{clean} target(s) were not intercepted: the proxy bypasses them (a bypass list), or they go direct.\n"
        ));
    }
    if result.roots.len() > 1 {
        out.push_str(&format!(
            "\n{} different interception roots were seen (several regions, tenants or products intercept).\n",
            result.roots.len()
        ));
    }
    for (n, r) in result.roots.iter().enumerate() {
        out.push_str(&root_text(
            r,
            n + 1,
            result.roots.len(),
            result.targets.len(),
        ));
    }
    for service in &result.self_signed {
        out.push_str(&self_signed_text(service));
    }
    for u in &result.unresolved {
        let notes: Vec<&String> = result
            .targets
            .iter()
            .filter(|t| u.seen_on.contains(&t.target))
            .filter_map(|t| match &t.status {
                TargetStatus::Intercepted(i) => Some(&i.notes),
                _ => None,
            })
            .flatten()
            .collect();
        out.push_str(&format!(
            "\nRoot NOT found for {} target(s) ({}):\n  Chain top   {}\n  Issuer      {}\n  Why         {}\n  What to do  {}\n",
            u.seen_on.len(),
            u.seen_on.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", "),
            printable(&u.top.info.subject),
            printable(&u.top.info.issuer),
            // Whole sentences of trust-proxy's own: the bound of `printable` would cut the advice.
            escaped(&u.reason),
            escaped(&u.advice),
        ));
        let mut shown: Vec<&String> = Vec::new();
        for note in notes {
            if !shown.contains(&note) {
                out.push_str(&format!("  Also        {}\n", printable(note)));
                shown.push(note);
            }
        }
    }
    if let Some(no_proxy) = &result.no_proxy {
        out.push_str("\nNO_PROXY for the environment snippets:\n");
        for line in no_proxy.describe() {
            out.push_str(&format!("  {}\n", escaped(&line)));
        }
    }
    out.push_str(&format!(
        "\nPublic reference roots: {}\nOS trust store: {}\n",
        result.public_roots, result.os_store
    ));
    if let Some(path) = exported_to {
        out.push_str(&format!("Root CA written to {path} (PEM).\n"));
    }
    out.push_str(&next_text(result));
    for_terminal(&out)
}

/// What to run after this report, for the outcomes that leave a next step.
fn next_text(result: &DiscoverResult) -> String {
    let fingerprints: Vec<&str> = result
        .roots
        .iter()
        .map(|r| r.root.sha256())
        .chain(result.self_signed.iter().map(|s| s.cert.sha256()))
        .collect();
    match result.outcome {
        Outcome::Intercepted | Outcome::SelfSigned => {
            let pins: Vec<String> = fingerprints
                .iter()
                .map(|fp| format!("--fingerprint {fp}"))
                .collect();
            let who = if result.outcome == Outcome::Intercepted {
                "your IT department"
            } else {
                "the service's owner"
            };
            format!(
                "\nNext, once the SHA-256 fingerprint matches the one {who} publishes: install with the options of this run plus the pin:\n  trust-proxy install {}\n",
                pins.join(" ")
            )
        }
        Outcome::NotIntercepted => {
            let broken = result
                .targets
                .iter()
                .any(|t| matches!(t.status, TargetStatus::PublicButInvalid { .. }));
            let server_side = if broken {
                " A certificate that ends at a public root but does not verify is the server's to fix (renew it, send the whole chain): no CA installed here changes it."
            } else {
                ""
            };
            format!("\nNext: nothing to install for these targets: they chain to the public roots.{server_side} If a tool fails on another host, probe that one: trust-proxy discover --target HOST.\n")
        }
        Outcome::RootNotFound | Outcome::NetworkFailure => String::new(),
    }
}

/// One line of advice per kind of failure among the targets, under the targets.
fn failures_text(result: &DiscoverResult) -> String {
    let mut advice: Vec<&str> = Vec::new();
    for t in &result.targets {
        let TargetStatus::Error { kind, .. } = &t.status else {
            continue;
        };
        let through_proxy = t.proxy.as_ref().is_some_and(|p| p.endpoint.is_some());
        let line = match (*kind, through_proxy) {
            ("timeout", _) => "A slow network or proxy may need a longer --timeout SECS (the default is 10).",
            ("connect" | "dns", true) => "The proxy could not be reached: check its address (the line under each target says where it came from), give another with --proxy URL, or go direct with --no-proxy.",
            ("connect" | "dns", false) => "A target could not be reached directly: if this network needs a proxy, give it with --proxy URL or HTTPS_PROXY (`trust-proxy proxy --url https://HOST/` shows which proxy a URL gets and why).",
            ("proxy_refused", _) => "The proxy refused to tunnel to a target: its rules may block that host or port. Probe a host it allows (--target HOST), or ask whoever runs the proxy.",
            ("tls_alert" | "tls", _) => "A server refused the TLS handshake: the interception root can be found on another host (--target HOST).",
            ("not_tls" | "proxy_protocol", _) => "Something other than a TLS server or an HTTP proxy answered: check the port of the target, and that the proxy URL names an HTTP proxy (http:// or https://).",
            _ => continue,
        };
        if !advice.contains(&line) {
            advice.push(line);
        }
    }
    if advice.is_empty() {
        return String::new();
    }
    let mut out = "\nWhat to do:\n".to_string();
    for line in advice {
        out.push_str(&format!("  {line}\n"));
    }
    out
}

/// One row per target: its status and what was found, then the route it took.
fn targets_text(result: &DiscoverResult) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Targets ({}, probed in parallel):\n",
        result.targets.len()
    ));
    let width = result
        .targets
        .iter()
        .map(|t| t.target.to_string().len())
        .max()
        .unwrap_or(0);
    for t in &result.targets {
        let route = t
            .proxy
            .as_ref()
            .map(|p| p.explain())
            .unwrap_or_else(|| "proxy not determined".to_string());
        let (status, detail) = match &t.status {
            TargetStatus::Intercepted(i) => (
                "intercepted",
                match i.root() {
                    Some(r) => format!("root {}", short_fp(r.cert.sha256())),
                    None => format!(
                        "root not found (top issuer {})",
                        printable(i.top().map_or("", |t| t.issuer_name()))
                    ),
                },
            ),
            TargetStatus::NotIntercepted => {
                ("not intercepted", "chains to the public roots".to_string())
            }
            TargetStatus::PublicButInvalid { reason } => (
                "not intercepted",
                format!(
                    "ends at a public root but does not verify: {}",
                    crate::cli::words::tls_errors_in(&printable(reason))
                ),
            ),
            // The 407's whole message, with what to do, follows the targets once.
            // (A target whose login was withheld keeps its own short reason.)
            TargetStatus::Error { .. }
                if t.proxy_auth.as_ref().is_some_and(|a| {
                    a.credentials != crate::discover::proxy_auth::CredentialsSent::Withheld
                }) =>
            {
                (
                    "error",
                    "the proxy wants a login (407): see \"Proxy authentication\" below".to_string(),
                )
            }
            TargetStatus::Error { message, .. } => (
                "error",
                crate::cli::words::tls_errors_in(&printable(message)),
            ),
            TargetStatus::SelfSigned { cert, .. } => (
                "self-signed",
                format!("not interception: {}", short_fp(cert.sha256())),
            ),
        };
        out.push_str(&format!(
            "  {:<width$}  {:<15}  {detail}\n  {:<width$}  {:<15}  {route}{}\n",
            t.target.to_string(),
            status,
            "",
            "",
            t.tls_version
                .as_deref()
                .map(|v| format!(", {}", crate::cli::words::tls_version(v)))
                .unwrap_or_default(),
        ));
        if let Some(why) = &t.proxy_tls_unverified {
            out.push_str(&format!(
                "  {:<width$}  {:<15}  note: the https proxy's own certificate did not verify ({})\n",
                "",
                "",
                printable(why)
            ));
        }
    }
    out
}

fn short_fp(fp: &str) -> String {
    format!("{}…", &fp[..fp.len().min(23)])
}

fn root_text(r: &RootFinding, n: usize, of: usize, targets: usize) -> String {
    let i = &r.root.info;
    let mut s = String::new();
    s.push_str(&format!(
        "\nInterception root {n} of {of}, seen on {} of {targets} target(s): {}\n",
        r.seen_on.len(),
        r.seen_on
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    if r.seen_on.len() > 1 {
        s.push_str("  (the same root on several targets: a consistent interception proxy, not a one-off)\n");
    }
    s.push_str(&cert_text(i));
    s.push_str(&format!(
        "  Found by         {}\n",
        printable(&r.source.describe())
    ));
    let from = crate::cli::words::came_from(r.provenance);
    let provenance = match r.provenance {
        Provenance::OsStore => format!("{from}: the OS already trusts it (IT pushed it); tools that ignore the OS store still need a bundle"),
        Provenance::UserFile | Provenance::VendorFile => from.to_string(),
        Provenance::Network => format!("{from}. NETWORK ONLY: anyone on this network path could have sent it; it is neither in the OS trust store nor from a file you gave. Compare the SHA-256 fingerprint with the one your IT department publishes before trusting it."),
    };
    s.push_str(&format!("  Came from        {provenance}\n"));
    s.push_str(&format!(
        "  Path             {}",
        printable(&r.sample_leaf.info.subject)
    ));
    for (c, src) in r.intermediates.iter().rev() {
        s.push_str(&format!(
            " <- {} ({})",
            printable(&c.info.subject),
            printable(&src.describe())
        ));
    }
    s.push_str(" <- root\n");
    for (c, src) in r.intermediates.iter() {
        s.push_str(&format!(
            "  Intermediate ({})\n",
            printable(&src.describe())
        ));
        s.push_str(&indent(&cert_text(&c.info)));
    }
    let errors = r
        .lint
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    if !r.lint.is_empty() {
        s.push_str("  Lint\n");
        for f in &r.lint {
            let level = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            // trust-proxy's own sentence (the bound of `printable` cut it mid-sentence).
            s.push_str(&format!(
                "    {level:<7} {}: {}\n",
                f.code,
                escaped(&f.message)
            ));
            if !f.clients.is_empty() {
                s.push_str(&format!("            fails in: {}\n", f.clients.join("; ")));
            }
        }
        if errors > 0 {
            s.push_str("    These clients will keep failing even after the CA is installed; only re-issuing\n    the CA (or the proxy's leaf template) fixes it. Tell the team that runs the proxy.\n");
        }
    }
    s
}

fn self_signed_text(service: &SelfSignedService) -> String {
    let targets = |list: &[crate::discover::target::Target]| {
        list.iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let shape = match service.shape {
        SelfSignedShape::Ca => {
            "a self-signed CA certificate (CA:TRUE, as `openssl req -x509` makes)"
        }
        SelfSignedShape::EndEntity => "a self-signed end-entity certificate (CA:FALSE)",
    };
    let mut s = format!(
        "\nThe host presents a self-signed certificate: not interception ({}).\n  It is {shape}.\n",
        targets(&service.seen_on)
    );
    s.push_str(&cert_text(&service.cert.info));
    s.push_str(&format!(
        "  Names (SAN)      {}\n",
        crate::install::validate::san_names(&service.cert).join(", ")
    ));
    let from = crate::cli::words::came_from(service.provenance);
    let provenance = match service.provenance {
        Provenance::OsStore => format!("{from}: the OS already trusts it"),
        Provenance::UserFile | Provenance::VendorFile => from.to_string(),
        Provenance::Network => format!("{from}. NETWORK ONLY: compare the SHA-256 fingerprint with the one the service's owner publishes before trusting it (install needs --fingerprint, or your 'yes' at the terminal)"),
    };
    s.push_str(&format!("  Came from        {provenance}\n"));
    if !service.names_not_covered.is_empty() {
        s.push_str(&format!(
            "  Name mismatch    the names it is valid for (its subjectAltName) do not include {}: clients refuse it there even when trusted,\n                   and install refuses an end-entity certificate for a host it does not name\n",
            targets(&service.names_not_covered)
        ));
    }
    if service.seen_on.len() > 1 {
        s.push_str("  (one self-signed certificate on several targets: a captive portal or a device answering for\n   every name looks like this; a service normally presents it for its own names only)\n");
    }
    for f in &service.lint {
        s.push_str(&format!(
            "  Lint             {}: {}\n",
            f.code,
            escaped(&f.message)
        ));
        // What the finding means for the person: the clients that will refuse it.
        if !f.clients.is_empty() {
            s.push_str(&format!(
                "                   fails in: {}\n",
                f.clients.join("; ")
            ));
        }
    }
    if service.shape == SelfSignedShape::Ca {
        s.push_str(&format!(
            "  Clients          {}\n",
            crate::install::validate::CA_AS_SERVER_CERT
        ));
    }
    if service.shape == SelfSignedShape::EndEntity {
        s.push_str("  As a trust anchor, for the names it holds (install refuses it for a host it does not name):\n");
        for c in END_ENTITY_ANCHOR_CLIENTS {
            s.push_str(&format!(
                "    {:<9} {} ({})\n",
                if c.accepts { "accepts" } else { "REJECTS" },
                c.client,
                c.evidence
            ));
        }
    }
    s.push_str("  Better: issue the service's certificate from a small private CA and trust that CA once;\n  every client accepts a CA root, and the service can renew without anyone re-trusting it.\n");
    s
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

fn cert_text(i: &CertInfo) -> String {
    let issuer = if i.self_signed {
        "(self-signed)".to_string()
    } else {
        printable(&i.issuer)
    };
    let ca = match (i.is_ca, i.basic_constraints_critical) {
        (true, Some(true)) => "yes (basicConstraints critical)".to_string(),
        (true, _) => "yes (basicConstraints NOT critical)".to_string(),
        (false, None) => "no basicConstraints".to_string(),
        (false, Some(_)) => "no".to_string(),
    };
    let path_len = i
        .path_len
        .map(|p| format!(", path length {p}"))
        .unwrap_or_default();
    let nc = match &i.name_constraints {
        Some(nc) => format!(
            "permitted [{}], excluded [{}]",
            printable(&nc.permitted.join(", ")),
            printable(&nc.excluded.join(", "))
        ),
        None if i.is_ca || i.version == 1 => "none (it can sign for any name)".to_string(),
        None => "none (not a CA: it signs no other certificate)".to_string(),
    };
    format!(
        "  Subject          {}\n  Issuer           {issuer}\n  Serial           {}\n  Valid            {} to {}\n  SHA-256          {}\n  SHA-1 thumbprint {}\n  Key              {} {}\n  Signature        {}\n  CA               {ca}{path_len}\n  Key usage        {}\n  Name constraints {nc}\n",
        printable(&i.subject),
        i.serial,
        i.not_before,
        i.not_after,
        i.sha256_fingerprint,
        i.sha1_thumbprint,
        i.key.kind,
        i.key.bits,
        i.signature_algorithm,
        if i.key_usage.is_empty() { "(none)".to_string() } else { i.key_usage.join(", ") },
    )
}
