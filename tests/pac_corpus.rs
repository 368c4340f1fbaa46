//! PAC files as enterprises write them, each with the answer expected per URL, and hostile PAC
//! files that must end in a clear typed error within the engine's bounds. Name resolution is a
//! table: nothing here touches the network.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use trust_proxy::proxy::pac::{
    ChoiceError, Clock, PacChoice, PacEngine, PacError, PacLimits, Resolver, Stage,
};

/// Answers from a fixed table; counts lookups so caching can be checked.
struct TableResolver {
    names: HashMap<String, Vec<IpAddr>>,
    local: Vec<IpAddr>,
    lookups: std::sync::Mutex<Vec<String>>,
}

impl TableResolver {
    fn new(names: &[(&str, &[&str])], local: &[&str]) -> Arc<TableResolver> {
        let ip = |s: &&str| s.parse::<IpAddr>().unwrap();
        Arc::new(TableResolver {
            names: names
                .iter()
                .map(|(n, a)| (n.to_string(), a.iter().map(ip).collect()))
                .collect(),
            local: local.iter().map(ip).collect(),
            lookups: Default::default(),
        })
    }
}

impl Resolver for TableResolver {
    fn lookup(&self, host: &str, _timeout: Duration) -> Vec<IpAddr> {
        self.lookups.lock().unwrap().push(host.to_string());
        self.names.get(host).cloned().unwrap_or_default()
    }
    fn local_addresses(&self) -> Vec<IpAddr> {
        self.local.clone()
    }
}

struct FixedClock(SystemTime);
impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.0
    }
}

fn pac(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/pac")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn load(name: &str, resolver: Arc<TableResolver>) -> PacEngine {
    PacEngine::load(&pac(name), resolver, PacLimits::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Each URL's raw answer, compared as the parsed choice list's text.
fn check(engine: &PacEngine, name: &str, table: &[(&str, &str)]) {
    for (url, expected) in table {
        let decision = engine
            .decide(url)
            .unwrap_or_else(|e| panic!("{name} {url}: {e}"));
        let got: Vec<String> = decision.choices.iter().map(|c| c.to_string()).collect();
        assert_eq!(got.join("; "), *expected, "{name}: {url}");
    }
}

fn corp_resolver() -> Arc<TableResolver> {
    TableResolver::new(
        &[
            ("wiki.corp.example", &["10.20.0.5"]),
            ("git.internal-app.example", &["10.30.1.1"]),
            ("build.partner-vpn.example", &["172.18.4.4"]),
            ("nas.home.example", &["192.168.1.10"]),
            ("pypi.org", &["151.101.0.223"]),
            ("files.pythonhosted.org", &["151.101.1.63"]),
            ("crates.io", &["108.138.64.1"]),
            ("mail.office365.example", &["52.96.0.1"]),
            ("teams.eu.example", &["52.113.0.1"]),
            ("ftp.vendor.example", &["203.0.113.7"]),
            ("loopback.example", &["127.0.0.1"]),
        ],
        &["10.1.4.20"],
    )
}

const MAIN: &str = "PROXY proxy1.corp.example:8080; PROXY proxy2.corp.example:8080; DIRECT";

#[test]
fn enterprise_internal_ranges_bypasses_and_proxies() {
    let engine = load("enterprise.pac", corp_resolver());
    check(
        &engine,
        "enterprise.pac",
        &[
            ("https://pypi.org/simple/", MAIN),
            ("https://files.pythonhosted.org/packages/x.whl", MAIN),
            ("https://crates.io/", MAIN),
            ("https://intranet/", "DIRECT"),
            ("https://wiki.corp.example/page", "DIRECT"),
            ("http://CI.Corp-Lab.example:8080/job", "DIRECT"),
            ("https://git.internal-app.example/", "DIRECT"),
            ("https://build.partner-vpn.example/", "DIRECT"),
            ("http://nas.home.example/", "DIRECT"),
            ("http://10.9.8.7/status", "DIRECT"),
            ("http://172.31.255.255/", "DIRECT"),
            ("http://172.32.0.1/", MAIN),
            ("http://[::1]:8080/", MAIN),
            ("https://loopback.example/", "DIRECT"),
            ("https://unknown-name.example/", MAIN),
            (
                "https://mail.office365.example/owa",
                "HTTPS cloudproxy.corp.example:443; PROXY proxy1.corp.example:8080",
            ),
            (
                "https://teams.eu.example/",
                "HTTPS cloudproxy.corp.example:443; PROXY proxy1.corp.example:8080",
            ),
            // https URLs are cut to the origin before the script sees them, so a path rule on
            // an https URL still matches on "/".
            (
                "https://login.salesforce.example/secret/path?q=1",
                "HTTPS cloudproxy.corp.example:443; PROXY proxy1.corp.example:8080",
            ),
            (
                "ftp://ftp.vendor.example/pub/",
                "SOCKS5 socks.corp.example:1080",
            ),
        ],
    );
}

#[test]
fn bypass_lists_tables_and_levels() {
    let resolver = TableResolver::new(
        &[
            ("pypi.org", &["151.101.0.223"]),
            ("www.partner.example", &["198.51.100.1"]),
        ],
        &["10.1.4.20"],
    );
    let engine = load("bypass.pac", resolver.clone());
    let both = "PROXY branchproxy.example:3128; PROXY backup.example:3128";
    check(
        &engine,
        "bypass.pac",
        &[
            ("http://download.windowsupdate.example/x.cab", "DIRECT"),
            ("http://update.vendor.example/", "DIRECT"),
            ("http://10.1.2.3/", "DIRECT"),
            ("http://printer.local/", "DIRECT"),
            ("http://pki.corp1.example/crl", "DIRECT"),
            (
                "http://pki.corp12.example/crl",
                "PROXY branchproxy.example:3128",
            ),
            ("https://www.partner.example/", "DIRECT"),
            ("https://a.b.supplier.example/", "DIRECT"),
            ("http://nas.branch.example/", "DIRECT"),
            (
                "http://x.nas.branch.example/",
                "PROXY branchproxy.example:3128",
            ),
            ("https://pypi.org/", both),
            ("https://PyPI.org/", both),
            (
                "https://unresolvable.example/",
                "PROXY branchproxy.example:3128",
            ),
        ],
    );
    // pypi.org was asked twice (two URLs) but looked up once.
    let lookups = resolver.lookups.lock().unwrap().clone();
    assert_eq!(
        lookups.iter().filter(|h| *h == "pypi.org").count(),
        1,
        "{lookups:?}"
    );
}

#[test]
fn microsoft_ex_entry_point_and_helpers() {
    let resolver = TableResolver::new(
        &[
            ("v6only.example", &["2001:db8:5::1"]),
            ("dual.example", &["198.51.100.7", "2001:db8:6::1"]),
            ("ula.example", &["fd12:3456::1"]),
            ("v4only.example", &["198.51.100.8"]),
            ("ten.example", &["10.4.4.4"]),
        ],
        &["2001:db8:100::20", "10.1.4.20"],
    );
    let engine = load("ipv6_ex.pac", resolver);
    assert_eq!(engine.entry_point(), "FindProxyForURLEx");
    check(
        &engine,
        "ipv6_ex.pac",
        &[
            (
                "https://v6only.example/",
                "PROXY v6proxy.example:8080; DIRECT",
            ),
            (
                "https://dual.example/",
                "PROXY v6proxy.example:8080; DIRECT",
            ),
            ("https://ula.example/", "DIRECT"),
            ("https://ten.example/", "DIRECT"),
            ("https://v4only.example/", "PROXY mgmt.example:3128"),
            ("https://nowhere.example/", "PROXY v6proxy.example:8080"),
        ],
    );
    // Off the management network, the same v4-only host takes the v4 proxy.
    let elsewhere = TableResolver::new(&[("v4only.example", &["198.51.100.8"])], &["10.9.9.9"]);
    let engine = load("ipv6_ex.pac", elsewhere);
    check(
        &engine,
        "ipv6_ex.pac (elsewhere)",
        &[(
            "https://v4only.example/",
            "PROXY v4proxy.example:8080; DIRECT",
        )],
    );
}

#[test]
fn site_by_own_address() {
    for (me, expected) in [
        ("10.1.4.20", "PROXY proxy.london.corp.example:8080; DIRECT"),
        ("10.2.200.1", "PROXY proxy.tokyo.corp.example:8080; DIRECT"),
        ("172.20.9.9", "PROXY proxy.hq.corp.example:8080"),
        ("192.0.2.50", "DIRECT"),
    ] {
        let engine = load("site.pac", TableResolver::new(&[], &[me]));
        check(
            &engine,
            &format!("site.pac as {me}"),
            &[
                ("https://pypi.org/", expected),
                ("https://wiki.corp.example/", "DIRECT"),
            ],
        );
    }
    // Without any IPv4 address the helpers fall back to 127.0.0.1, which no site rule covers.
    let engine = load("site.pac", TableResolver::new(&[], &["2001:db8::1"]));
    check(
        &engine,
        "site.pac v6 only",
        &[("https://pypi.org/", "DIRECT")],
    );
}

/// `YYYY-MM-DDTHH:MM:SSZ` as a time (days from the civil calendar, proleptic Gregorian).
fn at(rfc3339: &str) -> SystemTime {
    let n = |range: std::ops::Range<usize>| rfc3339[range].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19);
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap())
}

#[test]
fn schedule_by_day_date_and_time() {
    for (now, expected) in [
        // 2026-12-02 is a Wednesday.
        ("2026-12-02T10:00:00Z", "PROXY main.example:8080"),
        ("2026-12-02T02:00:00Z", "PROXY backup.example:8080"),
        ("2026-12-02T03:30:59Z", "PROXY backup.example:8080"),
        ("2026-12-02T03:31:00Z", "PROXY main.example:8080"),
        ("2026-12-05T10:00:00Z", "PROXY weekend.example:8080"),
        ("2026-12-06T23:59:59Z", "PROXY weekend.example:8080"),
        ("2026-12-04T18:00:00Z", "PROXY friday-evening.example:8080"),
        ("2026-12-04T16:59:59Z", "PROXY main.example:8080"),
        ("2026-12-24T00:00:00Z", "PROXY freeze.example:8080"),
        ("2026-12-31T23:59:59Z", "PROXY freeze.example:8080"),
        ("2027-01-01T10:00:00Z", "PROXY main.example:8080"),
        // 2026-07-15 is a Wednesday.
        ("2026-07-15T10:00:00Z", "PROXY summer.example:8080"),
        ("2026-08-31T10:00:00Z", "PROXY summer.example:8080"),
        ("2026-09-01T10:00:00Z", "PROXY main.example:8080"),
    ] {
        let engine = PacEngine::load_with_clock(
            &pac("schedule.pac"),
            TableResolver::new(&[], &["10.0.0.1"]),
            Arc::new(FixedClock(at(now))),
            PacLimits::default(),
        )
        .unwrap();
        check(
            &engine,
            &format!("schedule.pac at {now}"),
            &[("https://pypi.org/", expected)],
        );
    }
}

#[test]
fn clock_helpers_wrap_and_reject_nonsense() {
    let script = r#"
        var cases = [
            weekdayRange("FRI", "MON", "GMT"), weekdayRange("TUE", "THU", "GMT"),
            weekdayRange("SUN", "GMT"), weekdayRange("XYZ", "GMT"),
            timeRange(22, 6, "GMT"), timeRange(7, 21, "GMT"), timeRange(23, "GMT"),
            timeRange(23, 59, 0, 0, 30, 0, "GMT"), timeRange(1, 2, 3, "GMT"),
            dateRange("DEC", "FEB", "GMT"), dateRange("MAR", "NOV", "GMT"),
            dateRange(2026, 2027, "GMT"), dateRange(2027, 2026, "GMT"),
            dateRange(31, "GMT"), dateRange(1, "JAN", 2027, 31, "DEC", 2027, "GMT"),
            dateRange(27, "DEC", 2026, 3, "JAN", 2027, "GMT"), dateRange(1, "BOGUS", "GMT")
        ];
        function FindProxyForURL(url, host) {
            return "PROXY r:" + (1 + parseInt(cases.map(Number).join(""), 2));
        }
    "#;
    // Sunday 2026-12-27 23:59:10 UTC.
    let engine = PacEngine::load_with_clock(
        script,
        TableResolver::new(&[], &[]),
        Arc::new(FixedClock(at("2026-12-27T23:59:10Z"))),
        PacLimits::default(),
    )
    .unwrap();
    let raw = engine.find_proxy("https://x/", "x").unwrap();
    let bits = u32::from_str_radix("10101011010100010", 2).unwrap() + 1;
    assert_eq!(raw, format!("PROXY r:{bits}"), "see the case list");
}

#[test]
fn large_generated_file() {
    let text = pac("enterprise_large.pac");
    assert!(text.len() > 90_000, "{} bytes", text.len());
    let engine = load(
        "enterprise_large.pac",
        TableResolver::new(&[], &["10.1.4.20"]),
    );
    check(
        &engine,
        "enterprise_large.pac",
        &[
            ("https://www.a0000.example/", "DIRECT"),
            ("https://deep.www.a0777.example/", "DIRECT"),
            ("https://www.a1199.example/", "DIRECT"),
            ("https://www.a1200.example/", MAIN),
            (
                "https://img.cdn0000.example/",
                "PROXY cdnproxy.corp.example:8080; DIRECT",
            ),
            (
                "https://img.cdn0799.example/",
                "PROXY cdnproxy.corp.example:8080; DIRECT",
            ),
            ("https://cdn0799.example/", MAIN),
            (
                "https://api.region07.example/",
                "PROXY proxy-r07.corp.example:3128",
            ),
            ("https://api.region40.example/", MAIN),
            ("http://10.2.3.4/", "DIRECT"),
            ("http://8.8.8.8/", MAIN),
            ("https://intranet/", "DIRECT"),
            ("https://pypi.org/", MAIN),
        ],
    );
}

#[test]
fn results_that_cannot_be_read_are_errors() {
    let engine = load("hostile/bad_result.pac", TableResolver::new(&[], &[]));
    for (url, matches) in [
        (
            "https://quic.example/",
            (|e: &PacError| matches!(e, PacError::Result(ChoiceError::UnknownKeyword { .. })))
                as fn(&PacError) -> bool,
        ),
        ("https://noport.example/", |e| {
            matches!(e, PacError::Result(ChoiceError::Malformed { .. }))
        }),
        ("https://escape.example/", |e| {
            matches!(e, PacError::Result(ChoiceError::Malformed { .. }))
                && !e.to_string().contains('\u{1b}')
        }),
        ("https://empty.example/", |e| {
            matches!(e, PacError::Result(ChoiceError::Empty))
        }),
    ] {
        let err = engine.decide(url).unwrap_err();
        assert!(matches(&err), "{url}: {err:?}");
    }
}

/// Runs a hostile file and returns the error with how long it took, load and call together.
fn hostile(name: &str, limits: PacLimits) -> (PacError, Duration) {
    let started = Instant::now();
    let result = PacEngine::load(
        &pac(&format!("hostile/{name}")),
        TableResolver::new(&[], &[]),
        limits,
    )
    .and_then(|engine| engine.decide("https://pypi.org/simple/"));
    let elapsed = started.elapsed();
    match result {
        Ok(d) => panic!("{name}: expected an error, got {:?}", d.raw),
        Err(e) => (e, elapsed),
    }
}

/// Generous for a loaded 2-core machine; the point is "ends near the bound", not speed.
const MARGIN: Duration = Duration::from_secs(2);

#[test]
fn endless_loops_stop_at_the_time_bound() {
    let limits = PacLimits::default();
    let (err, took) = hostile("endless_loop.pac", limits);
    assert_eq!(
        err,
        PacError::Timeout {
            stage: Stage::Call,
            bound: limits.call_time
        }
    );
    assert!(took >= limits.call_time, "{took:?}");
    assert!(took < limits.call_time + MARGIN, "{took:?}");

    let (err, took) = hostile("endless_loop_at_load.pac", limits);
    assert_eq!(
        err,
        PacError::Timeout {
            stage: Stage::Load,
            bound: limits.load_time
        }
    );
    assert!(took < limits.load_time + MARGIN, "{took:?}");
}

/// A loop of heavy native calls reaches the interrupt poll rarely: it must still end at the
/// time bound, not ten thousand calls later.
#[test]
fn a_loop_of_heavy_native_calls_stops_at_the_time_bound() {
    let limits = PacLimits::default();
    let (err, took) = hostile("native_heavy_loop.pac", limits);
    assert_eq!(
        err,
        PacError::Timeout {
            stage: Stage::Call,
            bound: limits.call_time
        }
    );
    assert!(took < limits.call_time + MARGIN, "{took:?}");
}

#[test]
fn endless_allocation_stops_at_the_memory_cap() {
    let limits = PacLimits::default();
    let (err, took) = hostile("endless_allocation.pac", limits);
    assert_eq!(
        err,
        PacError::MemoryLimit {
            stage: Stage::Call,
            cap: limits.memory_bytes
        }
    );
    assert!(took < limits.call_time + MARGIN, "{took:?}");
}

#[test]
fn deep_recursion_stops_at_the_stack_cap() {
    let limits = PacLimits::default();
    let (err, took) = hostile("deep_recursion.pac", limits);
    assert_eq!(
        err,
        PacError::StackOverflow {
            stage: Stage::Call,
            cap: limits.stack_bytes
        }
    );
    assert!(took < limits.call_time + MARGIN, "{took:?}");
}

#[test]
fn broken_files_say_what_is_wrong() {
    let limits = PacLimits::default();
    let (err, _) = hostile("throws.pac", limits);
    match &err {
        PacError::Threw { stage, message } => {
            assert_eq!(*stage, Stage::Call);
            assert!(
                message.starts_with("TypeError: proxy table unavailable"),
                "{message}"
            );
            assert!(message.contains("pypi.org"), "{message}");
            assert!(
                !message.contains('\u{1b}') && !message.contains('\u{7}'),
                "{message:?}"
            );
        }
        other => panic!("{other:?}"),
    }

    let (err, _) = hostile("syntax_error.pac", limits);
    assert!(matches!(err, PacError::Syntax { .. }), "{err:?}");

    let (err, _) = hostile("no_function.pac", limits);
    assert_eq!(err, PacError::NoFunction);

    let (err, took) = hostile("huge_string.pac", limits);
    assert!(
        matches!(err, PacError::ResultTooLong { len, max } if len >= 8 * 1024 * 1024 && max == limits.max_result_bytes),
        "{err:?}"
    );
    assert!(took < limits.call_time + MARGIN, "{took:?}");
}

#[test]
fn only_strings_are_results() {
    let engine = load("hostile/non_string.pac", TableResolver::new(&[], &[]));
    for (host, kind) in [
        ("null.example", "null"),
        ("object.example", "object"),
        ("number.example", "int"),
    ] {
        let err = engine.decide(&format!("https://{host}/")).unwrap_err();
        assert_eq!(
            err,
            PacError::NotAString {
                kind: kind.to_string()
            },
            "{host}"
        );
    }
}

#[test]
fn no_code_generation() {
    let engine = load("hostile/code_generation.pac", TableResolver::new(&[], &[]));
    for host in ["eval.example", "function.example", "constructor.example"] {
        let err = engine.decide(&format!("https://{host}/")).unwrap_err();
        assert!(
            matches!(&err, PacError::Threw { message, .. } if message.contains("code generation is disabled")),
            "{host}: {err:?}"
        );
    }
}

#[test]
fn the_engine_answers_again_after_a_timeout() {
    // A script that loops only for one host: the next call gets a fresh time budget.
    let script = r#"function FindProxyForURL(url, host) {
        if (host == "slow.example") { for (;;) {} }
        // Long enough that the engine polls its interrupt handler at least once.
        for (var i = 0; i < 300000; i++) {}
        return "PROXY fine.example:1";
    }"#;
    let limits = PacLimits {
        call_time: Duration::from_millis(500),
        ..PacLimits::default()
    };
    let engine = PacEngine::load(script, TableResolver::new(&[], &[]), limits).unwrap();
    assert!(matches!(
        engine.decide("https://slow.example/"),
        Err(PacError::Timeout { .. })
    ));
    let again = engine.decide("https://pypi.org/").unwrap();
    assert_eq!(
        again.choices,
        vec![PacChoice::Http {
            host: "fine.example".into(),
            port: 1
        }]
    );
}

/// A resolver that never answers: each lookup waits out the time it is given.
struct BlackHoleResolver {
    waits: std::sync::Mutex<Vec<Duration>>,
}

impl Resolver for BlackHoleResolver {
    fn lookup(&self, _host: &str, timeout: Duration) -> Vec<IpAddr> {
        self.waits.lock().unwrap().push(timeout);
        std::thread::sleep(timeout.min(Duration::from_secs(5)));
        Vec::new()
    }
    fn local_addresses(&self) -> Vec<IpAddr> {
        Vec::new()
    }
}

#[test]
fn slow_name_lookups_stay_within_the_call_bound() {
    let script = r#"function FindProxyForURL(url, host) {
        for (var i = 0; i < 50; i++) {
            if (isResolvable("h" + i + ".example")) return "DIRECT";
        }
        return "PROXY fallback.example:8080";
    }"#;
    let limits = PacLimits::default();
    let resolver = Arc::new(BlackHoleResolver {
        waits: Default::default(),
    });
    let engine = PacEngine::load(script, resolver.clone(), limits).unwrap();
    let started = Instant::now();
    let outcome = engine.decide("https://pypi.org/");
    let took = started.elapsed();
    assert!(took < limits.call_time + MARGIN, "{took:?} {outcome:?}");
    // The call either finished with what it had or was stopped at its bound; never 50 waits.
    assert!(
        matches!(&outcome, Ok(d) if d.raw == "PROXY fallback.example:8080")
            || matches!(outcome, Err(PacError::Timeout { .. })),
        "{outcome:?}"
    );
    let waits = resolver.waits.lock().unwrap().clone();
    assert!(waits.len() <= 3, "{waits:?}");
    assert!(
        waits.iter().all(|w| *w <= limits.dns_lookup_time),
        "{waits:?}"
    );
}

#[test]
fn huge_inputs_to_native_helpers_are_refused() {
    let limits = PacLimits {
        call_time: Duration::from_secs(5),
        ..PacLimits::default()
    };
    let engine = PacEngine::load(
        &pac("hostile/huge_lists.pac"),
        TableResolver::new(&[], &[]),
        limits,
    )
    .unwrap();
    for (host, helper) in [
        ("sort.example", "sortIpAddressList"),
        ("net.example", "isInNetEx"),
        ("match.example", "shExpMatch"),
    ] {
        let started = Instant::now();
        let err = engine.decide(&format!("https://{host}/")).unwrap_err();
        assert!(
            matches!(&err, PacError::Threw { message, .. } if message.starts_with(&format!("RangeError: {helper}"))),
            "{host}: {err:?}"
        );
        assert!(
            started.elapsed() < limits.call_time,
            "{host}: {:?}",
            started.elapsed()
        );
    }
}
