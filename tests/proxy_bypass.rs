//! The snippets' NO_PROXY comes from the bypass list of the source that chose the proxy, each
//! entry translated or said to be impossible: GNOME's ignore-hosts read through the real
//! gsettings (a keyfile backend in a temporary XDG_CONFIG_HOME), a real intercepting proxy on
//! loopback, and the real `install` and `env` commands in a temporary home.
#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use trust_proxy_testkit::*;

fn with_settings<'a>(c: &'a mut Command, config: &Path) -> &'a mut Command {
    c.env("GSETTINGS_BACKEND", "keyfile")
        .env("XDG_CONFIG_HOME", config)
        .env_remove("GSETTINGS_SCHEMA_DIR")
}

fn gsettings_set(config: &Path, schema: &str, key: &str, value: &str) {
    let mut c = Command::new("gsettings");
    c.args(["set", schema, key, value]);
    let out = with_settings(&mut c, config)
        .output()
        .expect("gsettings is needed (libglib2.0-bin, gsettings-desktop-schemas)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn trust_proxy(config: &Path, home: &Path, args: &[&str]) -> (i32, String, String) {
    let mut c = trust_proxy_testkit::cli::clean_command(env!("CARGO_BIN_EXE_trust-proxy"));
    with_settings(&mut c, config)
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .args(args);
    trust_proxy_testkit::cli::output_text(&mut c).unwrap()
}

#[test]
fn gnome_ignore_hosts_become_no_proxy_entry_by_entry() {
    let root = Arc::new(Ca::new_root("Corp Bypass Root"));
    let proxy = InterceptingProxy::start(ProxyConfig::new(mint_from(
        root.clone(),
        vec![root.cert_der()],
    )))
    .unwrap();
    let config = tempfile::tempdir().unwrap();
    let set =
        |schema: &str, key: &str, value: &str| gsettings_set(config.path(), schema, key, value);
    set("org.gnome.system.proxy", "mode", "manual");
    set("org.gnome.system.proxy.https", "host", "127.0.0.1");
    set(
        "org.gnome.system.proxy.https",
        "port",
        &proxy.addr().port().to_string(),
    );
    set(
        "org.gnome.system.proxy",
        "ignore-hosts",
        "['localhost', '*.corp.example', '<local>', '10.*', 'intra*']",
    );
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), root.cert_pem()).unwrap();
    let pin: String = ring::digest::digest(&ring::digest::SHA256, &root.cert_der())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let ca_path = ca.path().to_str().unwrap();
    let install = [
        "install",
        "--scope",
        "user",
        "--target",
        "pypi.org",
        "--ca-file",
        ca_path,
        "--fingerprint",
        &pin,
    ];

    let home = tempfile::tempdir().unwrap();
    let (code, out, err) = trust_proxy(
        config.path(),
        home.path(),
        &[&install[..], &["--json"]].concat(),
    );
    assert_eq!(code, 0, "{err}\n{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let no_proxy = &v["discover"]["no_proxy"];
    assert_eq!(
        no_proxy["from"], "the GNOME proxy settings' ignore-hosts",
        "{v}"
    );
    let entries: Vec<(String, serde_json::Value)> = no_proxy["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["entry"].as_str().unwrap().to_string(),
                e["no_proxy"].clone(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("localhost".to_string(), serde_json::json!("localhost")),
            (
                "*.corp.example".to_string(),
                serde_json::json!(".corp.example")
            ),
            ("<local>".to_string(), serde_json::Value::Null),
            ("10.*".to_string(), serde_json::json!("10.0.0.0/8")),
            ("intra*".to_string(), serde_json::Value::Null),
        ]
    );
    let (code, env, err) = trust_proxy(config.path(), home.path(), &["env", "--shell", "bash"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        env.contains("NO_PROXY='localhost,.corp.example,10.0.0.0/8'"),
        "{env}"
    );
    assert!(
        env.contains(&format!(
            "HTTPS_PROXY='http://127.0.0.1:{}'",
            proxy.addr().port()
        )),
        "{env}"
    );

    // The human report says what could not be expressed.
    let home = tempfile::tempdir().unwrap();
    let (code, out, err) = trust_proxy(config.path(), home.path(), &install);
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(out.contains("NO_PROXY=localhost,.corp.example,10.0.0.0/8 (from the GNOME proxy settings' ignore-hosts)"), "{out}");
    assert!(
        out.contains("\"<local>\" left out: means every host name without a dot"),
        "{out}"
    );
    assert!(out.contains("\"intra*\" left out"), "{out}");
}
