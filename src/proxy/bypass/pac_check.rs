//! A PAC file's host rules as `NO_PROXY` entries, kept only where the PAC engine itself agrees.
//!
//! Candidates come from the literal arguments of `dnsDomainIs(host, "X")`,
//! `shExpMatch(host, "*.X")` / `shExpMatch(host, "X")` and `localHostOrDomainIs(host, "X")`,
//! read from the text (reading proves nothing: the call may sit under a condition, or be
//! shadowed by an earlier `return "PROXY ..."`). Each candidate is then asked of the real engine
//! (`pac.rs`, same sandbox and limits) for `https://` URLs of sample hosts: a made-up subdomain,
//! the domain itself, and every other literal domain of the file that lies under it (a carve-out
//! such as `secure.corp.example` sent to a proxy). It is kept only when they answer `DIRECT`.
//!
//! **No DNS during the check.** The engine gets a resolver that resolves nothing and notes that
//! it was asked; an answer reached after a lookup (`isInNet(dnsResolve(host), ...)`,
//! `isResolvable`, `myIpAddress`) or after reading the clock (`timeRange`, ...) is not
//! trusted, since it could differ on the real network or at another hour. A fresh engine per
//! candidate keeps the engine's lookup cache from hiding a lookup; once any lookup happened in
//! an engine, every later sample of it counts as depending on DNS.
//!
//! **Bounds.** At most [`MAX_CHECKED`] candidates, [`MAX_SAMPLES`] hosts each, all within
//! [`CHECK_TIME`]; each load and call also within the engine's own bounds. A file that does not
//! load leaves every candidate out with the reason.

use crate::proxy::pac::{Clock, PacEngine, PacLimits, Resolver};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Candidates checked from one file; the rest are listed as not checked.
pub const MAX_CHECKED: usize = 40;

/// Hosts asked per candidate (the made-up subdomain, the domain, carve-outs).
pub const MAX_SAMPLES: usize = 8;

/// The whole check, every load and call of every candidate.
pub const CHECK_TIME: Duration = Duration::from_secs(3);

/// The label of the made-up subdomain: no real host is named that.
const SAMPLE_LABEL: &str = "trust-proxy-sample";

/// What a rule's literal says about hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The subdomains of the domain (`dnsDomainIs(host, ".X")`, `shExpMatch(host, "*.X")`).
    Subdomains,
    /// The domain and its subdomains (`dnsDomainIs(host, "X")`, which matches any name ending
    /// in X).
    DomainAndSubdomains,
    /// That one host (`shExpMatch(host, "X")`, `localHostOrDomainIs(host, "X")`).
    Host,
}

/// One `helper(host, "literal")` call whose literal names a domain or host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The call as written (white space collapsed).
    pub rule: String,
    /// Lower case, no leading dot or `*.`.
    pub domain: String,
    pub reach: Reach,
}

/// What the check made of one candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// `NO_PROXY` entry and the note saying how close it is.
    Kept {
        no_proxy: String,
        note: String,
    },
    LeftOut(String),
}

/// The candidate a call is, if its helper and literal make one: `name` is the helper, `args`
/// the text between its parentheses.
pub fn candidate(rule: &str, name: &str, args: &str) -> Option<Candidate> {
    let (first, literal) = args.split_once(',')?;
    let first = first.trim();
    if first.is_empty()
        || !first
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return None;
    }
    if first == "url" {
        return None;
    }
    let literal = literal.trim();
    let quote = literal.chars().next().filter(|q| *q == '"' || *q == '\'')?;
    let inner = literal.strip_prefix(quote)?.strip_suffix(quote)?;
    if inner.contains(['"', '\'', '\\']) {
        return None;
    }
    let lower = inner.to_ascii_lowercase();
    let (domain, reach) = match name {
        "dnsDomainIs" => match lower.strip_prefix('.') {
            Some(domain) => (domain.to_string(), Reach::Subdomains),
            None => (lower, Reach::DomainAndSubdomains),
        },
        "shExpMatch" => match lower.strip_prefix("*.") {
            Some(domain) => (domain.to_string(), Reach::Subdomains),
            None => (lower, Reach::Host),
        },
        "localHostOrDomainIs" => (lower, Reach::Host),
        _ => return None,
    };
    // A name with two labels at least: a single label or a wildcard left is no domain to list.
    let is_name = domain.contains('.') && super::is_hostname(&domain);
    is_name.then(|| Candidate {
        rule: rule.to_string(),
        domain,
        reach,
    })
}

/// Resolves nothing, and remembers that it was asked.
#[derive(Default)]
struct NoLookups {
    asked: AtomicBool,
}

impl Resolver for NoLookups {
    fn lookup(&self, _host: &str, _timeout: Duration) -> Vec<IpAddr> {
        self.asked.store(true, Ordering::SeqCst);
        Vec::new()
    }

    fn local_addresses(&self) -> Vec<IpAddr> {
        self.asked.store(true, Ordering::SeqCst);
        Vec::new()
    }
}

/// The real time, and a note that it was read.
#[derive(Default)]
struct WatchedClock {
    read: AtomicBool,
}

impl Clock for WatchedClock {
    fn now(&self) -> SystemTime {
        self.read.store(true, Ordering::SeqCst);
        SystemTime::now()
    }
}

/// How one sample host was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Direct,
    /// The PAC result, exactly.
    Other(String),
    DependsOnDns,
    DependsOnTime,
    Failed(String),
    /// The check's time ran out before this host was asked.
    NotAsked,
}

impl Answer {
    fn describe(&self, host: &str) -> String {
        match self {
            Answer::Direct => format!("{host} goes DIRECT"),
            Answer::Other(raw) => format!(
                "{host} gets {:?} from the PAC file",
                crate::terminal_text::printable(raw)
            ),
            Answer::DependsOnDns => format!(
                "the answer for {host} depends on DNS (isInNet, dnsResolve, isResolvable or myIpAddress), which this check does not ask"
            ),
            Answer::DependsOnTime => format!(
                "the answer for {host} depends on the date or time (weekdayRange, dateRange, timeRange)"
            ),
            Answer::Failed(why) => format!("the PAC file failed for {host}: {why}"),
            Answer::NotAsked => format!(
                "{host} was not asked: the check's bound of {} s ran out",
                CHECK_TIME.as_secs()
            ),
        }
    }
}

/// Checks `candidates` against the PAC `text`; `others` are every candidate domain of the file
/// (for carve-outs). One verdict per candidate, in order.
pub fn check(text: &str, candidates: &[Candidate]) -> Vec<Verdict> {
    let started = Instant::now();
    let deadline = started.checked_add(CHECK_TIME).unwrap_or(started);
    let all_domains: Vec<&str> = candidates.iter().map(|c| c.domain.as_str()).collect();
    let mut load_error: Option<String> = None;
    let mut verdicts = Vec::with_capacity(candidates.len());
    for (index, candidate) in candidates.iter().enumerate() {
        let left = CHECK_TIME.saturating_sub(started.elapsed());
        if let Some(why) = &load_error {
            verdicts.push(Verdict::LeftOut(format!(
                "not checked: the PAC file did not load ({why})"
            )));
            continue;
        }
        if index >= MAX_CHECKED {
            verdicts.push(Verdict::LeftOut(format!(
                "not checked: only the first {MAX_CHECKED} host rules are"
            )));
            continue;
        }
        if left.is_zero() {
            verdicts.push(Verdict::LeftOut(format!(
                "not checked: the check's bound of {} s ran out",
                CHECK_TIME.as_secs()
            )));
            continue;
        }
        match check_one(text, candidate, &all_domains, deadline) {
            Ok(verdict) => verdicts.push(verdict),
            Err(why) => {
                verdicts.push(Verdict::LeftOut(format!(
                    "not checked: the PAC file did not load ({why})"
                )));
                load_error = Some(why);
            }
        }
    }
    verdicts
}

/// The hosts asked for `candidate`, in this order: made-up subdomains one and two levels deep
/// (the question every reach shares; the second catches `dnsDomainLevels` limits), the file's
/// other literals under the domain, and last the domain itself, whose answer most often needs
/// DNS (a lookup makes every later sample of the engine count as depending on DNS).
fn samples(candidate: &Candidate, all_domains: &[&str]) -> Vec<String> {
    let domain = &candidate.domain;
    let mut hosts = vec![
        format!("{SAMPLE_LABEL}.{domain}"),
        format!("{SAMPLE_LABEL}.{SAMPLE_LABEL}.{domain}"),
    ];
    let suffix = format!(".{domain}");
    for other in all_domains {
        if hosts.len() >= MAX_SAMPLES.saturating_sub(1) {
            break;
        }
        if other.ends_with(&suffix) && !hosts.iter().any(|h| h == other) {
            hosts.push((*other).to_string());
        }
    }
    hosts.push(domain.clone());
    hosts
}

/// How many of [`samples`]' hosts are made-up subdomains.
const SUBDOMAIN_SAMPLES: usize = 2;

/// `Err`: the file did not load (the same for every candidate). `deadline`: when the whole
/// check must be over; a sample is not asked after it.
fn check_one(
    text: &str,
    candidate: &Candidate,
    all_domains: &[&str],
    deadline: Instant,
) -> Result<Verdict, String> {
    let resolver = Arc::new(NoLookups::default());
    let clock = Arc::new(WatchedClock::default());
    let defaults = PacLimits::default();
    let left = deadline.saturating_duration_since(Instant::now());
    let limits = PacLimits {
        load_time: defaults.load_time.min(left),
        call_time: defaults.call_time.min(left),
        ..defaults
    };
    let engine = PacEngine::load_with_clock(text, resolver.clone(), clock.clone(), limits)
        .map_err(|e| e.to_string())?;
    // What the top level did is the same for every URL; a lookup there taints every answer.
    let dns_at_load = resolver.asked.load(Ordering::SeqCst);
    clock.read.store(false, Ordering::SeqCst);
    let ask = |host: &str| -> Answer {
        if Instant::now() >= deadline {
            return Answer::NotAsked;
        }
        match engine.decide(&format!("https://{host}/")) {
            Err(e) => Answer::Failed(e.to_string()),
            // Once a lookup happened in this engine its cache may answer later ones silently.
            Ok(_) if dns_at_load || resolver.asked.load(Ordering::SeqCst) => Answer::DependsOnDns,
            Ok(_) if clock.read.load(Ordering::SeqCst) => Answer::DependsOnTime,
            Ok(decision) if decision.raw.trim().eq_ignore_ascii_case("DIRECT") => Answer::Direct,
            Ok(decision) => Answer::Other(decision.raw),
        }
    };
    let domain = &candidate.domain;
    let hosts = samples(candidate, all_domains);
    let (itself, others) = match hosts.split_last() {
        Some((itself, others)) => (itself.as_str(), others),
        None => (domain.as_str(), hosts.as_slice()),
    };
    let (subdomains, carve_outs) = others.split_at(SUBDOMAIN_SAMPLES.min(others.len()));
    for host in subdomains {
        let answer = ask(host);
        if answer != Answer::Direct {
            let why = answer.describe(host);
            return Ok(Verdict::LeftOut(match candidate.reach {
                Reach::Host => {
                    format!("NO_PROXY {domain} would also exempt its subdomains, and {why}")
                }
                _ => why,
            }));
        }
    }
    let carved: Vec<String> = carve_outs
        .iter()
        .filter_map(|host| {
            let answer = ask(host);
            (answer != Answer::Direct).then(|| answer.describe(host))
        })
        .collect();
    if !carved.is_empty() {
        return Ok(Verdict::LeftOut(format!(
            "NO_PROXY cannot carve hosts out of {domain}: {}",
            carved.join("; ")
        )));
    }
    let answer = ask(itself);
    Ok(match answer {
        Answer::Direct => Verdict::Kept {
            no_proxy: domain.clone(),
            note: format!(
                "approximate (checked with sample hosts): {domain} and its subdomains go DIRECT under the PAC file"
            ),
        },
        _ if candidate.reach == Reach::Subdomains => Verdict::Kept {
            no_proxy: format!(".{domain}"),
            note: format!(
                "approximate (checked with sample hosts): its subdomains go DIRECT, but {}; Go exempts only the subdomains, curl and Python also {domain} itself",
                answer.describe(itself)
            ),
        },
        _ => Verdict::LeftOut(answer.describe(itself)),
    })
}
