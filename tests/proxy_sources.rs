//! Where the proxy comes from when nobody passed one: GNOME's settings read through the real
//! `gsettings` (a keyfile backend in a temporary XDG_CONFIG_HOME, so the machine's own settings
//! are neither read nor changed), a PAC file served on loopback, and the order of the sources.
#![cfg(target_os = "linux")]

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use trust_proxy_testkit::*;

/// A private GNOME settings store: gsettings and trust-proxy both see only this directory.
struct Gnome {
    dir: tempfile::TempDir,
}

impl Gnome {
    fn new() -> Gnome {
        Gnome {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn apply(&self, c: &mut Command) {
        c.env("GSETTINGS_BACKEND", "keyfile")
            .env("XDG_CONFIG_HOME", self.dir.path())
            .env_remove("GSETTINGS_SCHEMA_DIR");
    }

    fn set(&self, schema: &str, key: &str, value: &str) {
        let mut c = Command::new("gsettings");
        c.args(["set", schema, key, value]);
        self.apply(&mut c);
        let out = c.output().expect(
            "gsettings is needed (libglib2.0-bin, gsettings-desktop-schemas: scripts/install-deps.sh)",
        );
        assert!(
            out.status.success(),
            "gsettings set {schema} {key}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn manual(&self, host: &str, port: u16) {
        self.set("org.gnome.system.proxy", "mode", "manual");
        self.set("org.gnome.system.proxy.https", "host", host);
        self.set("org.gnome.system.proxy.https", "port", &port.to_string());
    }

    fn auto(&self, pac_url: &str) {
        self.set("org.gnome.system.proxy", "mode", "auto");
        self.set("org.gnome.system.proxy", "autoconfig-url", pac_url);
    }
}

fn bin(gnome: &Gnome, home: &Path) -> Command {
    let mut c = trust_proxy_testkit::cli::clean_command(env!("CARGO_BIN_EXE_trust-proxy"));
    gnome.apply(&mut c);
    c.env("HOME", home).env("XDG_DATA_HOME", home.join("data"));
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    trust_proxy_testkit::cli::output_text(c).unwrap()
}

fn corp_proxy() -> (Arc<Ca>, ProxyHandle) {
    InterceptingProxy::with_fresh_root("Corp Sources Root").unwrap()
}

/// A PAC file on loopback naming `proxy` first, then a dead proxy, then DIRECT.
fn pac_server(proxy: &ProxyHandle) -> HttpServerHandle {
    let pac = format!(
        "function FindProxyForURL(url, host) {{\n  if (dnsDomainIs(host, \".corp\")) return \"DIRECT\";\n  return \"PROXY {}; PROXY 127.0.0.1:1; DIRECT\";\n}}\n",
        proxy.addr()
    );
    HttpServer::start(HashMap::from([(
        "/proxy.pac".to_string(),
        HttpReply::ok("application/x-ns-proxy-autoconfig", pac),
    )]))
    .unwrap()
}

fn discover_json(c: &mut Command, extra: &[&str]) -> serde_json::Value {
    let (code, out, err) = run(c
        .args(["discover", "--json", "--target", "pypi.org"])
        .args(extra));
    assert_eq!(code, 0, "{err}\n{out}");
    serde_json::from_str(&out).unwrap()
}

/// A port nothing listens on: a proxy there never answers.
fn dead_proxy() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

#[test]
fn gnome_manual_mode_finds_the_interception() {
    let (_root, proxy) = corp_proxy();
    let home = tempfile::tempdir().unwrap();
    let gnome = Gnome::new();
    gnome.manual("127.0.0.1", proxy.addr().port());
    let v = discover_json(&mut bin(&gnome, home.path()), &[]);
    assert_eq!(v["outcome"], "intercepted", "{v}");
    assert_eq!(v["targets"][0]["proxy"]["source"], "os:gnome");
    let why = v["targets"][0]["proxy"]["why"].as_str().unwrap();
    assert!(why.contains("GNOME proxy settings, manual mode"), "{why}");

    let (code, out, err) = run(bin(&gnome, home.path()).args(["discover", "--target", "pypi.org"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("(from the GNOME proxy settings, manual mode)"),
        "{out}"
    );

    // ignore-hosts exempts a host: it goes direct.
    gnome.set(
        "org.gnome.system.proxy",
        "ignore-hosts",
        "['localhost', 'pypi.org']",
    );
    let (_, out, _) = run(bin(&gnome, home.path()).args([
        "discover",
        "--json",
        "--target",
        "pypi.org",
        "--timeout",
        "2",
    ]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["targets"][0]["proxy"]["source"], "no_proxy_os:gnome",
        "{v}"
    );
}

#[test]
fn gnome_auto_mode_pac_on_loopback_finds_the_interception() {
    let (_root, proxy) = corp_proxy();
    let pac = pac_server(&proxy);
    let home = tempfile::tempdir().unwrap();
    let gnome = Gnome::new();
    gnome.auto(&format!("{}/proxy.pac", pac.url()));
    let v = discover_json(&mut bin(&gnome, home.path()), &[]);
    assert_eq!(v["outcome"], "intercepted", "{v}");
    let p = &v["targets"][0]["proxy"];
    assert_eq!(p["source"], "pac:gnome");
    assert_eq!(p["url"], format!("http://{}", proxy.addr()));
    let why = p["why"].as_str().unwrap();
    assert!(
        why.contains("proxy.pac from the GNOME proxy settings (auto mode)"),
        "{why}"
    );
    assert!(why.contains("not written into snippets"), "{why}");

    // The proxy command resolves the same way without --pac.
    let (code, out, err) = run(bin(&gnome, home.path()).args([
        "proxy",
        "--json",
        "--url",
        "https://pypi.org/",
        "--url",
        "https://git.corp/",
        "--no-connect",
    ]));
    assert_eq!(code, 0, "{err}\n{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["urls"][0]["source"], "pac:gnome");
    assert_eq!(v["urls"][0]["chosen"]["port"], proxy.addr().port());
    assert_eq!(v["urls"][1]["chosen"]["kind"], "direct");
}

#[test]
fn a_flag_beats_the_environment_which_beats_gnome() {
    let (_root, proxy) = corp_proxy();
    let home = tempfile::tempdir().unwrap();
    let gnome = Gnome::new();
    let dead = dead_proxy();
    let dead_port: u16 = dead.rsplit(':').next().unwrap().parse().unwrap();
    gnome.manual("127.0.0.1", dead_port);

    let v = discover_json(
        bin(&gnome, home.path()).env("HTTPS_PROXY", proxy.url()),
        &[],
    );
    assert_eq!(v["targets"][0]["proxy"]["source"], "env:HTTPS_PROXY", "{v}");

    let v = discover_json(
        bin(&gnome, home.path()).env("HTTPS_PROXY", &dead),
        &["--proxy", &proxy.url()],
    );
    assert_eq!(v["targets"][0]["proxy"]["source"], "flag", "{v}");

    // And GNOME, with nothing above it, is what is used (here: the dead proxy, an error).
    let (code, out, _) = run(bin(&gnome, home.path()).args([
        "discover",
        "--json",
        "--target",
        "pypi.org",
        "--timeout",
        "2",
    ]));
    assert_ne!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["targets"][0]["proxy"]["source"], "os:gnome", "{v}");
}

#[test]
fn a_pac_learned_proxy_stays_out_of_the_snippets_unless_allowed() {
    let (root, proxy) = corp_proxy();
    let pac = pac_server(&proxy);
    let gnome = Gnome::new();
    gnome.auto(&format!("{}/proxy.pac", pac.url()));
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), root.cert_pem()).unwrap();
    let pin = {
        let d = ring::digest::digest(&ring::digest::SHA256, &root.cert_der());
        d.as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let allowed = proxy.addr().to_string();
    for allow in [None, Some(allowed.as_str())] {
        let home = tempfile::tempdir().unwrap();
        let mut install = bin(&gnome, home.path());
        install
            .args([
                "install",
                "--scope",
                "user",
                "--target",
                "pypi.org",
                "--ca-file",
            ])
            .arg(ca.path())
            .args(["--fingerprint", &pin, "--json"]);
        if let Some(a) = allow {
            install.args(["--allow-proxy", a]);
        }
        let (code, out, err) = run(&mut install);
        assert_eq!(code, 0, "{err}\n{out}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["discover"]["outcome"], "intercepted", "{v}");
        let (code, env, err) = run(bin(&gnome, home.path()).args(["env", "--shell", "bash"]));
        assert_eq!(code, 0, "{err}");
        assert!(env.contains("SSL_CERT_FILE"), "{env}");
        match allow {
            None => assert!(!env.contains("PROXY"), "{env}"),
            Some(a) => assert!(
                env.contains(&format!("HTTPS_PROXY='http://{a}'"))
                    || env.contains(&format!("http://{a}")),
                "{env}"
            ),
        }
    }
}

#[test]
fn a_pac_flag_fails_over_to_the_choice_that_answers_and_beats_the_environment() {
    let (_root, proxy) = corp_proxy();
    let dead = dead_proxy();
    let pac = format!(
        "function FindProxyForURL(url, host) {{ return \"PROXY {}; PROXY {}\"; }}\n",
        dead.trim_start_matches("http://"),
        proxy.addr()
    );
    let dir = tempfile::tempdir().unwrap();
    let pac_path = dir.path().join("corp.pac");
    std::fs::write(&pac_path, pac).unwrap();
    let gnome = Gnome::new();
    let v = discover_json(
        bin(&gnome, dir.path()).env("HTTPS_PROXY", &dead),
        &["--pac", pac_path.to_str().unwrap()],
    );
    let p = &v["targets"][0]["proxy"];
    assert_eq!(p["source"], "pac:flag", "{v}");
    assert_eq!(p["url"], format!("http://{}", proxy.addr()));
    let why = p["why"].as_str().unwrap();
    assert!(
        why.contains("answered after the earlier choices did not"),
        "{why}"
    );
}

/// A `gsettings` that hangs (a stuck D-Bus) or floods its output costs the run its deadline or
/// its output cap, then the GNOME source is ignored with a warning; the run goes on direct.
#[test]
fn a_hung_or_flooding_gsettings_is_ignored_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let fake_bin = home.path().join("bin");
    std::fs::create_dir_all(&fake_bin).unwrap();
    let path = format!("{}:/usr/bin:/bin", fake_bin.display());
    for (script, expected) in [
        ("exec sleep 30\n", "gsettings did not answer within 3 s"),
        (
            "exec head -c 1000000 /dev/zero | tr '\\0' x\n",
            "gsettings printed 262144 bytes or more",
        ),
    ] {
        let fake = fake_bin.join("gsettings");
        std::fs::write(&fake, format!("#!/bin/sh\n{script}")).unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let started = std::time::Instant::now();
        let (_, _, err) = run(trust_proxy_testkit::cli::clean_command(env!(
            "CARGO_BIN_EXE_trust-proxy"
        ))
        .env("HOME", home.path())
        .env("PATH", &path)
        .env_remove("GSETTINGS_BACKEND")
        .args(["proxy", "--url", "https://pypi.org/", "--no-connect"]));
        let took = started.elapsed();
        assert!(
            err.contains(&format!("the GNOME proxy settings are ignored: {expected}")),
            "{err}"
        );
        assert!(took < std::time::Duration::from_secs(10), "{took:?}");
    }
}
