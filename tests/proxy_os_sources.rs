//! KDE's proxy settings through the real binary: a recorded `kioslaverc` in a temporary
//! XDG_CONFIG_HOME (the machine's own settings are neither read nor changed), the intercepting
//! proxy it names found with no flag and no environment variable, and where KDE stands against
//! GNOME (read through the real `gsettings` with a keyfile backend in the same directory).
//! macOS is type-checked only and Windows runs under wine (scripts/wine-proxy-settings.sh).
#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use trust_proxy_testkit::*;

fn bin(dir: &Path, desktop: &str) -> Command {
    let mut c = trust_proxy_testkit::cli::clean_command(env!("CARGO_BIN_EXE_trust-proxy"));
    c.env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_CONFIG_DIRS", dir.join("xdg"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CURRENT_DESKTOP", desktop)
        .env("GSETTINGS_BACKEND", "keyfile")
        .env_remove("GSETTINGS_SCHEMA_DIR");
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    trust_proxy_testkit::cli::output_text(c).unwrap()
}

fn kioslaverc(dir: &Path, body: &str) {
    let config = dir.join("config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("kioslaverc"), body).unwrap();
}

/// `proxy --json --no-connect` for one URL: (source, chosen host:port or "direct", reason).
fn decide(c: &mut Command, url: &str) -> (String, String, String) {
    let (code, out, err) = run(c.args(["proxy", "--json", "--no-connect", "--url", url]));
    assert_eq!(code, 0, "{err}\n{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let u = &v["urls"][0];
    let chosen = match u["chosen"]["kind"].as_str() {
        Some("direct") => "direct".to_string(),
        _ => format!(
            "{}:{}",
            u["chosen"]["host"].as_str().unwrap_or("?"),
            u["chosen"]["port"]
        ),
    };
    (
        u["source"].as_str().unwrap_or_default().to_string(),
        chosen,
        u["reason"].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn kde_manual_settings_find_the_interception() {
    let root = Arc::new(Ca::new_root("Corp KDE Root"));
    let proxy = InterceptingProxy::start(ProxyConfig::new(mint_from(
        root.clone(),
        vec![root.cert_der()],
    )))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // As Plasma's System Settings writes it: the port after a space.
    kioslaverc(
        dir.path(),
        &format!(
            "[Proxy Settings]\nNoProxyFor=.corp,localhost\nProxyType=1\nReversedException=false\nhttpsProxy=http://127.0.0.1 {}\n",
            proxy.addr().port()
        ),
    );
    let (code, out, err) =
        run(bin(dir.path(), "KDE").args(["discover", "--json", "--target", "pypi.org"]));
    assert_eq!(code, 0, "{err}\n{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["outcome"], "intercepted", "{v}");
    assert_eq!(v["targets"][0]["proxy"]["source"], "os:kde", "{v}");
    let why = v["targets"][0]["proxy"]["why"].as_str().unwrap();
    assert!(why.contains("KDE proxy settings (kioslaverc)"), "{why}");

    let (source, chosen, reason) = decide(&mut bin(dir.path(), "KDE"), "https://git.corp/");
    assert_eq!(
        (source.as_str(), chosen.as_str()),
        ("no_proxy_os:kde", "direct")
    );
    assert!(reason.contains("\".corp\""), "{reason}");
}

#[test]
fn kde_is_asked_before_gnome_only_on_a_kde_desktop() {
    let dir = tempfile::tempdir().unwrap();
    kioslaverc(
        dir.path(),
        "[Proxy Settings]\nProxyType=1\nhttpsProxy=kde-proxy.example:3128\n",
    );
    let gsettings = |key: &str, schema: &str, value: &str| {
        let mut c = Command::new("gsettings");
        c.args(["set", schema, key, value])
            .env("GSETTINGS_BACKEND", "keyfile")
            .env("XDG_CONFIG_HOME", dir.path().join("config"));
        let out = c.output().expect("gsettings (scripts/install-deps.sh)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    gsettings("mode", "org.gnome.system.proxy", "manual");
    gsettings(
        "host",
        "org.gnome.system.proxy.https",
        "gnome-proxy.example",
    );
    gsettings("port", "org.gnome.system.proxy.https", "8080");

    let (source, chosen, _) = decide(&mut bin(dir.path(), "GNOME"), "https://pypi.org/");
    assert_eq!(
        (source.as_str(), chosen.as_str()),
        ("os:gnome", "gnome-proxy.example:8080")
    );
    let (source, chosen, _) = decide(&mut bin(dir.path(), "KDE"), "https://pypi.org/");
    assert_eq!(
        (source.as_str(), chosen.as_str()),
        ("os:kde", "kde-proxy.example:3128")
    );

    // GNOME with nothing set: KDE's file decides on any desktop.
    gsettings("mode", "org.gnome.system.proxy", "none");
    let (source, _, _) = decide(&mut bin(dir.path(), "GNOME"), "https://pypi.org/");
    assert_eq!(source, "os:kde");

    // KDE in WPAD mode asks for auto-discovery, which is reported; nothing else decides.
    kioslaverc(dir.path(), "[Proxy Settings]\nProxyType=3\n");
    let (source, chosen, reason) = decide(&mut bin(dir.path(), "KDE"), "https://pypi.org/");
    assert_eq!((source.as_str(), chosen.as_str()), ("none", "direct"));
    assert!(reason.contains("auto-discovery (WPAD)"), "{reason}");

    // An unreadable setting is a warning, and the run goes on.
    kioslaverc(dir.path(), "[Proxy Settings]\nProxyType=7\n");
    let (code, out, err) =
        run(bin(dir.path(), "KDE").args(["proxy", "--no-connect", "--url", "https://pypi.org/"]));
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(
        format!("{out}{err}").contains("the KDE proxy settings are ignored"),
        "{out}\n{err}"
    );
}
