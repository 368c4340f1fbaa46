//! A PAC file's host rules as NO_PROXY (`bypass::from_pac`): kept only where the real PAC
//! engine, asked for sample hosts with a resolver that resolves nothing, answers DIRECT. The
//! corpus files in tests/data/pac, shadowed and carved-out rules, DNS- and clock-dependent
//! answers, and hostile files that must still end within the check's bound.

use std::path::Path;
use std::time::{Duration, Instant};
use trust_proxy::proxy::bypass::{from_pac, pac_check, NoProxyTranslation};

fn corpus(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/pac")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The note (kept) or reason (left out) of the entry shown as `rule`.
fn note<'a>(t: &'a NoProxyTranslation, rule: &str) -> (&'a Option<String>, &'a str) {
    let entry = t
        .entries
        .iter()
        .find(|e| e.entry == rule)
        .unwrap_or_else(|| panic!("no entry {rule:?} in {:#?}", t.entries));
    (&entry.no_proxy, entry.note.as_str())
}

#[test]
fn enterprise_pac_keeps_its_internal_zones() {
    let t = from_pac(
        "http://wpad.corp.example/wpad.dat",
        &corpus("enterprise.pac"),
    );
    assert_eq!(
        t.value().as_deref(),
        Some(".corp.example,.corp-lab.example,intranet.corp.example"),
        "{:#?}",
        t.entries
    );
    let (value, why) = note(&t, "dnsDomainIs(host, \".corp.example\")");
    assert_eq!(value.as_deref(), Some(".corp.example"));
    assert!(
        why.starts_with("approximate (checked with sample hosts)"),
        "{why}"
    );
    // The zone's apex is decided by dnsResolve: the reason says so, not DIRECT.
    assert!(why.contains("corp.example depends on DNS"), "{why}");
    let (value, why) = note(&t, "localHostOrDomainIs(host, \"intranet.corp.example\")");
    assert_eq!(value.as_deref(), Some("intranet.corp.example"));
    assert!(
        why.starts_with("approximate (checked with sample hosts)"),
        "{why}"
    );
    // The cloud suites go to the cloud proxy only after a lookup: left out, DNS named.
    let (value, why) = note(&t, "shExpMatch(host, \"*.office365.example\")");
    assert_eq!(value, &None);
    assert!(why.contains("depends on DNS"), "{why}");
    // Rules that are not a literal domain stay listed as before.
    let (value, why) = note(&t, "shExpMatch(host, \"teams.*.example\")");
    assert_eq!(
        (value, why),
        (
            &None,
            "a PAC shExpMatch rule: not expressible in NO_PROXY, left out"
        )
    );
    assert_eq!(
        note(&t, "isInNet(ip, \"10.0.0.0\", \"255.0.0.0\")").0,
        &None
    );
    assert_eq!(
        note(&t, "shExpMatch(url, \"https://*.salesforce.example/*\")").0,
        &None
    );
}

#[test]
fn site_pac_keeps_the_zone_before_its_address_rules() {
    let t = from_pac("pac", &corpus("site.pac"));
    assert_eq!(
        t.value().as_deref(),
        Some(".corp.example"),
        "{:#?}",
        t.entries
    );
    // The apex reaches myIpAddress(): counted as depending on the network, not checked.
    let (_, why) = note(&t, "dnsDomainIs(host, \".corp.example\")");
    assert!(why.contains("depends on DNS"), "{why}");
}

#[test]
fn branch_pac_with_a_level_limit_keeps_nothing() {
    // `.branch.example` is DIRECT only for names two levels deep; deeper ones ask DNS.
    let t = from_pac("pac", &corpus("bypass.pac"));
    assert_eq!(t.value(), None, "{:#?}", t.entries);
    let (_, why) = note(&t, "dnsDomainIs(host, \".branch.example\")");
    assert!(
        why.contains("trust-proxy-sample.trust-proxy-sample.branch.example depends on DNS"),
        "{why}"
    );
}

#[test]
fn files_without_host_rules_give_no_no_proxy() {
    for name in ["schedule.pac", "ipv6_ex.pac"] {
        let t = from_pac(name, &corpus(name));
        assert_eq!(t.value(), None, "{name}: {:#?}", t.entries);
        assert!(t.entries.iter().all(|e| e.no_proxy.is_none()));
    }
}

#[test]
fn the_generated_large_pac_is_checked_within_the_bound() {
    let started = Instant::now();
    let t = from_pac("pac", &corpus("enterprise_large.pac"));
    let took = started.elapsed();
    assert!(
        took < pac_check::CHECK_TIME + Duration::from_secs(2),
        "{took:?}"
    );
    let value = t.value().unwrap_or_default();
    assert!(value.starts_with(".a0000.example"), "{value}");
    assert!(t.entries.len() <= trust_proxy::proxy::bypass::MAX_PAC_RULES + 1);
    println!("enterprise_large.pac: {took:?}, NO_PROXY={value}");
}

#[test]
fn a_rule_shadowed_by_an_earlier_proxy_return_is_not_kept() {
    let pac = r#"function FindProxyForURL(url, host) {
    if (dnsDomainIs(host, ".shadowed.example")) return "PROXY p.example:8080";
    if (shExpMatch(host, "*.open.example")) return "DIRECT";
    if (dnsDomainIs(host, ".shadowed.example")) return "DIRECT";
    if (shExpMatch(host, "*.late.example")) return "DIRECT";
    return "PROXY p.example:8080";
}"#;
    // The second dnsDomainIs reads the same as the first: one entry, and it is not DIRECT.
    let t = from_pac("pac", pac);
    assert_eq!(
        t.value().as_deref(),
        Some(".open.example,.late.example"),
        "{:#?}",
        t.entries
    );
    let (value, why) = note(&t, "dnsDomainIs(host, \".shadowed.example\")");
    assert_eq!(value, &None);
    assert!(
        why.contains("trust-proxy-sample.shadowed.example gets \"PROXY p.example:8080\""),
        "{why}"
    );
}

#[test]
fn a_carve_out_under_a_direct_zone_leaves_the_zone_out() {
    let pac = r#"function FindProxyForURL(url, host) {
    if (localHostOrDomainIs(host, "secure.corp.example")) return "PROXY audit.example:3128";
    if (dnsDomainIs(host, ".corp.example")) return "DIRECT";
    if (shExpMatch(host, "wiki.corp.example")) return "DIRECT";
    return "PROXY p.example:8080";
}"#;
    let t = from_pac("pac", pac);
    let (value, why) = note(&t, "dnsDomainIs(host, \".corp.example\")");
    assert_eq!(value, &None, "{why}");
    assert!(
        why.contains("secure.corp.example gets \"PROXY audit.example:3128\""),
        "{why}"
    );
    // An exact host whose subdomains also go DIRECT (through the zone rule) is kept.
    assert_eq!(
        note(&t, "shExpMatch(host, \"wiki.corp.example\")")
            .0
            .as_deref(),
        Some("wiki.corp.example")
    );
    // An exact host whose subdomains do not is left out: NO_PROXY would exempt them too.
    let exact = r#"function FindProxyForURL(url, host) {
    if (host == "git.corp.example" || localHostOrDomainIs(host, "git.corp.example")) return "DIRECT";
    return "PROXY p.example:8080";
}"#;
    let t = from_pac("pac", exact);
    let (value, why) = note(&t, "localHostOrDomainIs(host, \"git.corp.example\")");
    assert_eq!(value, &None);
    assert!(
        why.starts_with("NO_PROXY git.corp.example would also exempt its subdomains"),
        "{why}"
    );
}

#[test]
fn dns_and_clock_dependent_answers_are_left_out_with_the_reason() {
    let pac = r#"function FindProxyForURL(url, host) {
    if (dnsDomainIs(host, ".vpn.example") && isResolvable("intranet-check.corp.example")) return "DIRECT";
    if (dnsDomainIs(host, ".daytime.example") && timeRange(0, 23)) return "DIRECT";
    if (isInNet(dnsResolve(host), "10.0.0.0", "255.0.0.0")) return "DIRECT";
    return "PROXY p.example:8080";
}"#;
    let t = from_pac("pac", pac);
    assert_eq!(t.value(), None, "{:#?}", t.entries);
    let (_, why) = note(&t, "dnsDomainIs(host, \".vpn.example\")");
    assert!(why.contains("depends on DNS"), "{why}");
    let (_, why) = note(&t, "dnsDomainIs(host, \".daytime.example\")");
    assert!(why.contains("depends on the date or time"), "{why}");
}

#[test]
fn hostile_pac_files_end_within_the_bound() {
    let rules: String = (0..60)
        .map(|i| format!("dnsDomainIs(host, \".h{i}.example\") || "))
        .collect();
    let cases = [
        (
            "endless loop per call",
            format!("function FindProxyForURL(url, host) {{ if ({rules} true) {{ while (true) {{}} }} return \"DIRECT\"; }}"),
        ),
        (
            "endless loop at load",
            format!("while (true) {{}}\nfunction FindProxyForURL(url, host) {{ if ({rules} false) return \"DIRECT\"; }}"),
        ),
        (
            "endless allocation per call",
            format!("function FindProxyForURL(url, host) {{ var kept = []; if ({rules} true) {{ for (var i = 0; ; i++) kept.push({{ text: \"PROXY a:1;\".repeat(6500) + i }}); }} return \"DIRECT\"; }}"),
        ),
        (
            "throws",
            format!("function FindProxyForURL(url, host) {{ if ({rules} true) throw new Error('\\x1b[2J'); }}"),
        ),
        ("syntax error", format!("function FindProxyForURL(url, host) {{ if ({rules} ) }}")),
    ];
    for (name, pac) in cases {
        let started = Instant::now();
        let t = from_pac("pac", &pac);
        let took = started.elapsed();
        assert!(
            took < pac_check::CHECK_TIME + Duration::from_secs(2),
            "{name}: {took:?}"
        );
        assert_eq!(t.value(), None, "{name}: {:#?}", t.entries);
        assert!(
            t.entries.len() <= trust_proxy::proxy::bypass::MAX_PAC_RULES + 1,
            "{name}"
        );
        assert!(
            t.entries.iter().all(|e| !e.note.contains('\u{1b}')),
            "{name}: {:#?}",
            t.entries
        );
        println!("{name}: {took:?}; first: {}", t.entries[0].note);
    }
    // Every file of the hostile corpus, too.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pac/hostile");
    for file in std::fs::read_dir(&dir).unwrap() {
        let path = file.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let started = Instant::now();
        let t = from_pac("pac", &text);
        assert!(
            started.elapsed() < pac_check::CHECK_TIME + Duration::from_secs(2),
            "{}",
            path.display()
        );
        assert!(t.entries.len() <= trust_proxy::proxy::bypass::MAX_PAC_RULES + 1);
    }
}
