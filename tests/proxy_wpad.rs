//! WPAD end to end: a resolv.conf search list walked up to the registrable domain, names
//! answered by an injected resolver (every name it knows is a loopback address), and real HTTP
//! servers on loopback serving `wpad.dat` (or a captive-portal page). The production path is the
//! same code with the system resolver; the namespace lab runs it against a real DNS server.
//! Linux: a second loopback address (127.0.0.2) answers without configuration only there.
#![cfg(target_os = "linux")]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use trust_proxy::discover::proxy::ProxySource;
use trust_proxy::discover::target::Target;
use trust_proxy::proxy::gnome::GnomeProxy;
use trust_proxy::proxy::pac::Resolver as NameResolver;
use trust_proxy::proxy::resolve::{Resolver, Sources};
use trust_proxy::proxy::wpad::{self, DhcpSource, Via, WpadLimits, WpadSetup};
use trust_proxy_testkit::{HttpReply, HttpServer, HttpServerHandle};

/// Names to addresses, remembering every name asked.
struct MapResolver {
    names: HashMap<String, IpAddr>,
    asked: Mutex<Vec<String>>,
}

impl NameResolver for MapResolver {
    fn lookup(&self, host: &str, _timeout: Duration) -> Vec<IpAddr> {
        self.asked.lock().unwrap().push(host.to_string());
        self.names.get(host).copied().into_iter().collect()
    }

    fn local_addresses(&self) -> Vec<IpAddr> {
        Vec::new()
    }
}

const SECOND_LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// The corporate network: `wpad.example.co.uk` serves a PAC file on 127.0.0.1, the name one
/// level down a captive-portal page on 127.0.0.2 (same port), and `wpad.co.uk`, above the
/// registrable domain, would serve an attacker's PAC file if anyone asked it.
struct Network {
    pac_server: HttpServerHandle,
    portal: HttpServerHandle,
    resolver: Arc<MapResolver>,
    resolv_conf: tempfile::NamedTempFile,
}

fn pac_text(proxy: SocketAddr) -> String {
    format!(
        "function FindProxyForURL(url, host) {{\n  if (dnsDomainIs(host, \".example.co.uk\")) return \"DIRECT\";\n  if (shExpMatch(host, \"*.test\")) return \"PROXY {proxy}; DIRECT\";\n  if (isInNet(host, \"10.0.0.0\", \"255.0.0.0\")) return \"DIRECT\";\n  return \"PROXY {proxy}; DIRECT\";\n}}\n"
    )
}

fn network(search: &str) -> Network {
    // The "proxy" the PAC names is the PAC server itself: it accepts the failover's connect.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let proxy = SocketAddr::from(([127, 0, 0, 1], port));
    let pac_server = HttpServer::start_on(
        proxy,
        HashMap::from([(
            "/wpad.dat".to_string(),
            HttpReply::ok("application/x-ns-proxy-autoconfig", pac_text(proxy)),
        )]),
    )
    .unwrap();
    let portal = HttpServer::start_on(
        SocketAddr::new(SECOND_LOOPBACK, port),
        HashMap::from([(
            "/wpad.dat".to_string(),
            HttpReply::ok("text/html", "<html>Sign in to the guest Wi-Fi</html>"),
        )]),
    )
    .unwrap();
    let resolver = Arc::new(MapResolver {
        names: HashMap::from([
            ("wpad.eng.example.co.uk".to_string(), SECOND_LOOPBACK),
            (
                "wpad.example.co.uk".to_string(),
                IpAddr::V4(Ipv4Addr::LOCALHOST),
            ),
            ("wpad.co.uk".to_string(), IpAddr::V4(Ipv4Addr::LOCALHOST)),
        ]),
        asked: Mutex::new(Vec::new()),
    });
    let resolv_conf = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        resolv_conf.path(),
        format!("# written by NetworkManager\nnameserver 10.0.0.53\n{search}\noptions edns0\n"),
    )
    .unwrap();
    Network {
        pac_server,
        portal,
        resolver,
        resolv_conf,
    }
}

impl Network {
    fn port(&self) -> u16 {
        self.pac_server.addr().port()
    }

    fn setup(&self, dhcp: Option<String>) -> WpadSetup {
        WpadSetup {
            resolv_conf: self.resolv_conf.path().to_path_buf(),
            search_domains: None,
            resolver: self.resolver.clone(),
            port: self.port(),
            dhcp: DhcpSource::Given(dhcp),
            limits: WpadLimits::default(),
        }
    }

    fn asked(&self) -> Vec<String> {
        self.resolver.asked.lock().unwrap().clone()
    }

    fn sources(&self, dhcp: Option<String>) -> Sources {
        Sources {
            gnome: Some(GnomeProxy::Auto {
                autoconfig_url: String::new(),
            }),
            wpad: self.setup(dhcp),
            connect_timeout: Some(Duration::from_secs(2)),
            ..Sources::default()
        }
    }
}

#[test]
fn dns_walk_finds_wpad_dat_below_the_public_suffix() {
    let net = network("search a.eng.example.co.uk");
    let found = wpad::auto_detect(&net.setup(None));
    assert_eq!(
        net.asked(),
        [
            "wpad.a.eng.example.co.uk",
            "wpad.eng.example.co.uk",
            "wpad.example.co.uk"
        ],
        "wpad.co.uk is above the registrable domain and must never be asked"
    );
    let hit = found.found.as_ref().expect("the PAC file is found");
    assert_eq!(hit.via, Via::Dns);
    assert_eq!(hit.name, "wpad.example.co.uk");
    assert_eq!(
        hit.url,
        format!("http://wpad.example.co.uk:{}/wpad.dat", net.port())
    );
    assert!(hit.pac.text.contains("FindProxyForURL"));
    let tried: Vec<(&str, bool)> = found
        .tried
        .iter()
        .map(|t| (t.name.as_str(), t.answered))
        .collect();
    assert_eq!(
        tried,
        [
            ("wpad.a.eng.example.co.uk", false),
            ("wpad.eng.example.co.uk", false),
            ("wpad.example.co.uk", true)
        ]
    );
    assert_eq!(found.tried[0].detail, "does not resolve");
    assert!(
        found.tried[1].detail.contains("not a PAC file"),
        "{:?}",
        found.tried[1]
    );
    // The request went to the address the walk resolved, for the name that answered.
    let heads = net.pac_server.requests();
    assert!(
        heads
            .iter()
            .any(|h| h.contains(&format!("Host: wpad.example.co.uk:{}", net.port()))),
        "{heads:?}"
    );
    assert_eq!(net.portal.request_count(), 1);
    let summary = found.summary();
    assert!(
        summary.starts_with("found by WPAD (DNS): wpad.example.co.uk answered; tried wpad.a.eng.example.co.uk (does not resolve)"),
        "{summary}"
    );
}

#[test]
fn search_domains_the_os_keeps_elsewhere_replace_resolv_conf() {
    // Windows: the registry's DNS suffixes, not a resolv.conf.
    let net = network("search other.example.org");
    let setup = WpadSetup {
        search_domains: Some(vec!["eng.example.co.uk".to_string()]),
        ..net.setup(None)
    };
    let found = wpad::auto_detect(&setup);
    assert_eq!(
        net.asked(),
        ["wpad.eng.example.co.uk", "wpad.example.co.uk"]
    );
    assert!(found.found.is_some(), "{}", found.summary());
}

#[test]
fn a_pac_found_by_wpad_is_network_provided() {
    let net = network("domain a.eng.example.co.uk");
    let resolver = Resolver::new(net.sources(None));
    let decision = resolver.resolve("https://pypi.test/").unwrap();
    let endpoint = decision.choice.endpoint.clone().expect("the PAC's proxy");
    assert_eq!(
        (endpoint.host.as_str(), endpoint.port),
        ("127.0.0.1", net.port())
    );
    assert!(endpoint.credentials.is_none());
    assert_eq!(decision.choice.source.to_string(), "pac:wpad");
    assert!(decision.choice.network_provided());
    assert!(
        decision.choice.snippet_endpoint().is_none(),
        "not in snippets without --allow-proxy"
    );
    let why = decision.choice.explain();
    assert!(
        why.contains("found by WPAD (the OS proxy settings say auto-detect)"),
        "{why}"
    );
    assert!(why.contains("wpad.example.co.uk answered"), "{why}");
    assert!(
        why.contains("tried wpad.a.eng.example.co.uk (does not resolve)"),
        "{why}"
    );
    assert!(why.contains("not written into snippets"), "{why}");

    // Allowed by --allow-proxy: into the snippets, and NO_PROXY says what the PAC's rules give.
    // (No connect check here: DIRECT for the second URL would reach outside loopback.)
    let mut sources = net.sources(None);
    sources.allow = vec![Target::parse(&format!("127.0.0.1:{}", net.port())).unwrap()];
    sources.connect_timeout = None;
    let resolver = Resolver::new(sources);
    let decision = resolver.resolve("https://pypi.test/").unwrap();
    assert!(decision.choice.snippet_endpoint().is_some());
    // The walk is not run again for the next URL.
    let asked = net.asked().len();
    let inside = resolver.resolve("https://git.example.co.uk/").unwrap();
    assert!(inside.choice.endpoint.is_none(), "{:?}", inside.choice);
    assert_eq!(net.asked().len(), asked);
    let no_proxy = resolver.no_proxy_for(&decision.choice).unwrap();
    // The DIRECT zone is checked with the engine (its apex reaches isInNet, i.e. DNS).
    assert_eq!(no_proxy.value().as_deref(), Some(".example.co.uk"));
    let entries: Vec<&str> = no_proxy.entries.iter().map(|e| e.entry.as_str()).collect();
    assert_eq!(
        entries,
        [
            "dnsDomainIs(host, \".example.co.uk\")",
            "shExpMatch(host, \"*.test\")",
            "isInNet(host, \"10.0.0.0\", \"255.0.0.0\")"
        ]
    );
    assert!(no_proxy.entries[2]
        .note
        .contains("isInNet rule: not expressible"));
}

#[test]
fn dhcp_comes_before_dns_and_a_failed_one_falls_back() {
    let net = network("search eng.example.co.uk");
    let dhcp_url = format!("http://127.0.0.1:{}/wpad.dat", net.port());
    let found = wpad::auto_detect(&net.setup(Some(dhcp_url.clone())));
    let hit = found.found.unwrap();
    assert_eq!((hit.via, hit.url.as_str()), (Via::Dhcp, dhcp_url.as_str()));
    assert!(
        net.asked().is_empty(),
        "DNS is not asked: {:?}",
        net.asked()
    );

    let missing = format!("http://127.0.0.1:{}/nothing.pac", net.port());
    let found = wpad::auto_detect(&net.setup(Some(missing)));
    assert_eq!(found.tried[0].name, "DHCP option 252");
    assert!(!found.tried[0].answered);
    assert!(
        found.tried[0].detail.contains("404"),
        "{:?}",
        found.tried[0]
    );
    assert_eq!(found.found.unwrap().name, "wpad.example.co.uk");
}

#[test]
fn nothing_found_means_direct_with_every_name_tried() {
    let net = network("search corp.example.net other.example.net co.uk lab.other.co.uk");
    let resolver = Resolver::new(net.sources(None));
    let decision = resolver.resolve("https://pypi.test/").unwrap();
    // wpad.co.uk resolves (to a PAC file): whoever owns it must never be asked.
    assert!(
        !net.asked().iter().any(|n| n == "wpad.co.uk"),
        "{:?}",
        net.asked()
    );
    assert!(decision.choice.endpoint.is_none());
    match &decision.choice.source {
        ProxySource::Pac {
            from,
            location,
            why,
            ..
        } => {
            assert_eq!((from.as_str(), location.as_str()), ("wpad", ""));
            assert!(why.contains("WPAD found no PAC file; tried wpad.corp.example.net (does not resolve), wpad.example.net (does not resolve), wpad.other.example.net (does not resolve), wpad.lab.other.co.uk (does not resolve), wpad.other.co.uk (does not resolve)"), "{why}");
            assert!(why.contains("co.uk has no registrable domain"), "{why}");
            assert!(why.contains("direct, as browsers do"), "{why}");
            assert!(!why.contains("could not be used"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(resolver.discovery().map(|d| d.tried.len()), Some(5));
}
