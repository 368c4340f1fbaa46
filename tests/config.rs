//! The configuration file (README "Configuration"): precedence per layer, what a system-scope
//! run ignores, the system pins as a ceiling, the ownership rules, errors naming file:line:key,
//! `config show`'s provenance, and the two documented flows run with the binary.
//!
//! The resolution is driven in-process through `cli::config::apply` with the system file path,
//! the environment and "elevated" passed in: the shipped binary has no way to point it at another
//! system file. Ownership tests chown files to `nobody` and need root (which CI and the lab run
//! as); binary tests that need an unelevated run drop to `nobody` when run as root.
#![cfg(unix)]

use clap::{CommandFactory, FromArgMatches};
use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use trust_proxy::cli::args::{Cli, Command};
use trust_proxy::cli::config::{apply, Environment};
use trust_proxy::config::{ConfigError, Effective, Source};

const NOBODY: u32 = 65534;

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Runs the resolution for `args` as the binary would, with the given files and environment.
fn resolve(
    args: &[&str],
    system: &Path,
    user: Option<&Path>,
    env: &[(&str, &str)],
    elevated: bool,
) -> Result<(Cli, Effective), ConfigError> {
    let matches = Cli::command()
        .try_get_matches_from(std::iter::once("trust-proxy").chain(args.iter().copied()))
        .expect("arguments parse");
    let mut cli = Cli::from_arg_matches(&matches).expect("arguments convert");
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let get = |k: &str| env.get(k).cloned();
    let environment = Environment {
        system_file: system,
        user_file: user.map(Path::to_path_buf),
        env: &get,
        elevated,
    };
    apply(&mut cli, &matches, &environment).map(|e| (cli, e))
}

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    path.to_path_buf()
}

fn file_source(path: &Path, line: usize) -> Source {
    Source::File {
        path: path.to_path_buf(),
        line,
    }
}

fn discover_timeout(cli: &Cli) -> f64 {
    match &cli.command {
        Command::Discover(a) => a.probe.timeout,
        other => panic!("not discover: {other:?}"),
    }
}

fn install_pins(cli: &Cli) -> Vec<String> {
    match &cli.command {
        Command::Install(a) => a.fingerprints.clone(),
        other => panic!("not install: {other:?}"),
    }
}

fn pin(byte: &str) -> String {
    byte.repeat(32)
}

fn colon(byte: &str) -> String {
    vec![byte.to_ascii_uppercase(); 32].join(":")
}

#[test]
fn each_layer_overrides_the_one_below_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let system = write(
        &dir.path().join("system.toml"),
        "# fleet\ntimeout = 1\ntargets = [\"sys.example\"]\nallow_proxy = [\"proxy.corp:3128\"]\n",
    );
    let user = write(
        &dir.path().join("user.toml"),
        "\n\ntimeout = 2\ntargets = [\"user.example\"]\n",
    );
    let absent = dir.path().join("absent.toml");

    // System file alone.
    let (cli, e) = resolve(&["discover"], &system, Some(&absent), &[], false).unwrap();
    assert_eq!(discover_timeout(&cli), 1.0);
    assert_eq!(e.values.timeout.unwrap().source, file_source(&system, 2));

    // The user file over it; a list replaces, it does not merge; what the user file leaves
    // out still comes from the system file.
    let (cli, e) = resolve(&["discover"], &system, Some(&user), &[], false).unwrap();
    assert_eq!(discover_timeout(&cli), 2.0);
    assert_eq!(e.values.timeout.unwrap().source, file_source(&user, 3));
    let Command::Discover(a) = &cli.command else {
        panic!()
    };
    assert_eq!(a.probe.targets, ["user.example"]);
    assert_eq!(a.probe.allow_proxy, ["proxy.corp:3128"]);
    assert_eq!(
        e.values.allow_proxy.unwrap().source,
        file_source(&system, 4)
    );

    // The environment over both.
    let env = [("TRUST_PROXY_TIMEOUT", "3")];
    let (cli, e) = resolve(&["discover"], &system, Some(&user), &env, false).unwrap();
    assert_eq!(discover_timeout(&cli), 3.0);
    assert_eq!(
        e.values.timeout.unwrap().source,
        Source::Env("TRUST_PROXY_TIMEOUT")
    );

    // A flag over everything; clap's default (10) is not a flag.
    let (cli, e) = resolve(
        &["discover", "--timeout", "4"],
        &system,
        Some(&user),
        &env,
        false,
    )
    .unwrap();
    assert_eq!(discover_timeout(&cli), 4.0);
    assert_eq!(e.values.timeout.unwrap().source, Source::Flag);
    let (cli, _) = resolve(&["discover"], &absent, Some(&absent), &[], false).unwrap();
    assert_eq!(discover_timeout(&cli), 10.0);

    // --config replaces the user file (and TRUST_PROXY_CONFIG does when no flag names one).
    let named = write(&dir.path().join("named.toml"), "timeout = 5\n");
    let env_named = [("TRUST_PROXY_CONFIG", named.to_str().unwrap())];
    let (cli, _) = resolve(&["discover"], &system, Some(&user), &env_named, false).unwrap();
    assert_eq!(discover_timeout(&cli), 5.0);
    let (cli, e) = resolve(
        &["--config", user.to_str().unwrap(), "discover"],
        &system,
        Some(&absent),
        &env_named,
        false,
    )
    .unwrap();
    assert_eq!(discover_timeout(&cli), 2.0);
    assert!(
        e.files.iter().any(|f| f.role == "--config"),
        "{:?}",
        e.files
    );
}

#[test]
fn a_system_scope_or_elevated_run_reads_only_the_system_file_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let system = write(&dir.path().join("system.toml"), "timeout = 1\n");
    let user = write(
        &dir.path().join("user.toml"),
        "timeout = 2\nscope = \"user\"\n",
    );
    let named = write(&dir.path().join("named.toml"), "timeout = 5\n");
    let env = [
        ("TRUST_PROXY_TIMEOUT", "3"),
        ("TRUST_PROXY_CONFIG", named.to_str().unwrap()),
    ];
    for (args, elevated) in [
        (&["discover"][..], true),
        (&["install", "--scope", "system", "--dry-run"][..], false),
        (&["install", "--scope", "user", "--dry-run"][..], true),
    ] {
        let (cli, e) = resolve(args, &system, Some(&user), &env, elevated).unwrap();
        let timeout = match &cli.command {
            Command::Discover(a) => a.probe.timeout,
            Command::Install(a) => a.probe.timeout,
            _ => unreachable!(),
        };
        assert_eq!(timeout, 1.0, "{args:?} elevated={elevated}");
        assert!(e.system_rules);
        assert_eq!(
            e.ignored_env,
            ["TRUST_PROXY_CONFIG", "TRUST_PROXY_TIMEOUT"],
            "{args:?}"
        );
        let user_use = e.files.iter().find(|f| f.role == "user").unwrap();
        assert!(user_use.status.starts_with("not read"), "{user_use:?}");
    }
    // A --config flag is root's own choice, but only a file nobody else can change is taken.
    let (cli, _) = resolve(
        &["--config", named.to_str().unwrap(), "discover"],
        &system,
        Some(&user),
        &[],
        true,
    )
    .unwrap();
    assert_eq!(discover_timeout(&cli), 5.0);
    if is_root() {
        std::os::unix::fs::chown(&named, Some(NOBODY), None).unwrap();
        let err = resolve(
            &["--config", named.to_str().unwrap(), "discover"],
            &system,
            Some(&user),
            &[],
            true,
        )
        .unwrap_err();
        assert!(matches!(err, ConfigError::Unsafe { .. }), "{err}");
        assert_eq!(err.exit_code(), 2);
    }
}

#[test]
fn system_pins_are_a_ceiling_other_layers_may_only_narrow() {
    let dir = tempfile::tempdir().unwrap();
    let system = write(
        &dir.path().join("system.toml"),
        &format!(
            "fingerprints = [\n  \"{}\",\n  \"sha256:{}\",\n]\n",
            pin("aa"),
            pin("bb")
        ),
    );
    let narrow = write(
        &dir.path().join("narrow.toml"),
        &format!("fingerprints = [\"{}\"]\n", colon("bb")),
    );
    let wider = write(
        &dir.path().join("wider.toml"),
        &format!("\nfingerprints = [\"{}\", \"{}\"]\n", pin("aa"), pin("cc")),
    );

    // The system pins alone: install gets both.
    let (cli, e) = resolve(&["install"], &system, None, &[], false).unwrap();
    assert_eq!(install_pins(&cli), [colon("aa"), colon("bb")]);
    assert_eq!(e.ceiling.unwrap().source, file_source(&system, 1));

    // A subset from the user file: only that one.
    let (cli, _) = resolve(&["install"], &system, Some(&narrow), &[], false).unwrap();
    assert_eq!(install_pins(&cli), [colon("bb")]);

    // A pin outside the ceiling, from each layer: refused, naming the pin and who gave it.
    let err = resolve(&["install"], &system, Some(&wider), &[], false).unwrap_err();
    assert_eq!(err.exit_code(), 6);
    let msg = err.to_string();
    assert!(msg.contains(&colon("cc")), "{msg}");
    assert!(msg.contains(&format!("{}:2", wider.display())), "{msg}");
    assert!(msg.contains(&format!("{}:1", system.display())), "{msg}");
    // Commands that take no pins are not stopped by them.
    resolve(&["status"], &system, Some(&wider), &[], false).expect("status takes no pins");
    let env = [("TRUST_PROXY_FINGERPRINTS", &*pin("cc"))];
    let err = resolve(&["install"], &system, None, &env, false).unwrap_err();
    assert!(
        err.to_string().contains("env TRUST_PROXY_FINGERPRINTS"),
        "{err}"
    );
    for elevated in [false, true] {
        let err = resolve(
            &["install", "--fingerprint", &pin("cc")],
            &system,
            None,
            &[],
            elevated,
        )
        .unwrap_err();
        assert!(
            matches!(&err, ConfigError::AboveCeiling { given_by, .. } if given_by == "flag"),
            "{err}"
        );
    }
    // A flag inside the ceiling is the flag's choice.
    let (cli, _) = resolve(
        &["install", "--fingerprint", &pin("aa")],
        &system,
        Some(&narrow),
        &[],
        false,
    )
    .unwrap();
    assert_eq!(install_pins(&cli), [pin("aa")]);

    // Without system pins there is no ceiling.
    let no_pins = write(&dir.path().join("no-pins.toml"), "timeout = 3\n");
    let (cli, _) = resolve(&["install"], &no_pins, Some(&wider), &[], false).unwrap();
    assert_eq!(install_pins(&cli), [colon("aa"), colon("cc")]);
}

#[test]
fn a_system_file_others_can_change_is_refused() {
    if !is_root() {
        eprintln!("SKIPPED: chown to another user needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    std::fs::create_dir(&etc).unwrap();
    std::fs::set_permissions(&etc, std::fs::Permissions::from_mode(0o755)).unwrap();
    let system = write(&etc.join("config.toml"), "timeout = 1\n");
    let refused = |why: &str| {
        let err = resolve(&["discover"], &system, None, &[], true).unwrap_err();
        assert!(matches!(err, ConfigError::Unsafe { .. }), "{why}: {err}");
        assert!(err.to_string().contains("refused"), "{err}");
        assert_eq!(err.exit_code(), 2);
    };
    resolve(&["discover"], &system, None, &[], true).expect("root's 0644 file in a 0755 dir");

    std::os::unix::fs::chown(&system, Some(NOBODY), None).unwrap();
    refused("not root-owned");
    std::os::unix::fs::chown(&system, Some(0), None).unwrap();

    std::fs::set_permissions(&system, std::fs::Permissions::from_mode(0o664)).unwrap();
    refused("group-writable");
    std::fs::set_permissions(&system, std::fs::Permissions::from_mode(0o646)).unwrap();
    refused("world-writable");
    std::fs::set_permissions(&system, std::fs::Permissions::from_mode(0o644)).unwrap();

    std::fs::set_permissions(&etc, std::fs::Permissions::from_mode(0o775)).unwrap();
    refused("its directory group-writable");
    std::fs::set_permissions(&etc, std::fs::Permissions::from_mode(0o755)).unwrap();

    // A symlink is followed only where root alone could have planted it and into a file root
    // alone can change.
    let link = etc.join("link.toml");
    let theirs_dir = dir.path().join("theirs");
    std::fs::create_dir(&theirs_dir).unwrap();
    let theirs = write(&theirs_dir.join("config.toml"), "timeout = 9\n");
    std::os::unix::fs::chown(&theirs_dir, Some(NOBODY), None).unwrap();
    std::os::unix::fs::symlink(&theirs, &link).unwrap();
    let err = resolve(&["discover"], &link, None, &[], true).unwrap_err();
    assert!(matches!(err, ConfigError::Unsafe { .. }), "{err}");
    std::os::unix::fs::chown(&theirs_dir, Some(0), None).unwrap();
    std::fs::set_permissions(&theirs_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (cli, _) = resolve(&["discover"], &link, None, &[], true).expect("root's chain");
    assert_eq!(discover_timeout(&cli), 9.0);

    // The user file: the running user's (or root's), writable by nobody else.
    let user = write(&dir.path().join("user.toml"), "timeout = 2\n");
    let absent = dir.path().join("absent.toml");
    std::os::unix::fs::chown(&user, Some(NOBODY), None).unwrap();
    let err = resolve(&["discover"], &absent, Some(&user), &[], false).unwrap_err();
    assert!(matches!(err, ConfigError::Unsafe { .. }), "{err}");
    std::os::unix::fs::chown(&user, Some(0), None).unwrap();
    std::fs::set_permissions(&user, std::fs::Permissions::from_mode(0o666)).unwrap();
    let err = resolve(&["discover"], &absent, Some(&user), &[], false).unwrap_err();
    assert!(matches!(err, ConfigError::Unsafe { .. }), "{err}");
}

#[test]
fn unknown_keys_and_bad_values_name_the_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("absent.toml");
    let cases: [(&str, &str); 9] = [
        (
            "timeout = 3\n\ncolour = \"red\"\n",
            ":3: colour: unknown key",
        ),
        (
            "fingerprints = [\n  \"00\",\n]\n",
            ":2: fingerprints: --fingerprint \"00\" is not a SHA-256",
        ),
        (
            "timeout = \"ten\"\n",
            ":1: timeout: expected seconds, found a string",
        ),
        ("timeout = 0\n", ":1: timeout: 0 is not between 0 and 600"),
        ("scope = \"sytem\"\n", ":1: scope: \"sytem\" is not a scope"),
        (
            "\ntools = [\"pip\", \"pipx\"]\n",
            ":2: tools: \"pipx\" is not a tool",
        ),
        (
            "proxy = \"http://u:secret@proxy.corp:3128\"\n",
            ":1: proxy: carries credentials",
        ),
        (
            "proxy = \"http://p:1\"\npac = \"http://w/p.pac\"\n",
            ":2: pac: give either",
        ),
        (
            "[proxy]\nurl = \"x\"\n",
            ":1: proxy: expected a value, found a table",
        ),
    ];
    for (text, expected) in cases {
        let user = write(&dir.path().join("user.toml"), text);
        let err = resolve(&["discover"], &absent, Some(&user), &[], false).unwrap_err();
        let msg = err.to_string();
        assert_eq!(err.exit_code(), 2, "{msg}");
        assert!(
            msg.starts_with(&format!("{}{expected}", user.display())),
            "{text:?}: {msg}"
        );
    }
    let err = resolve(
        &["discover"],
        &absent,
        None,
        &[("TRUST_PROXY_TIMEOUT", "soon")],
        false,
    )
    .unwrap_err();
    assert!(
        err.to_string().starts_with("$TRUST_PROXY_TIMEOUT: "),
        "{err}"
    );
}

// ---- the binary ----

/// The binary, unelevated: as `nobody` when the tests run as root (an elevated run reads only
/// the system file), with HOME and the XDG config dir in `home`.
fn user_bin(home: &Path) -> std::process::Command {
    let mut c = trust_proxy_testkit::cli::clean_command(env!("CARGO_BIN_EXE_trust-proxy"));
    c.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .current_dir(home);
    if is_root() {
        std::os::unix::process::CommandExt::uid(&mut c, NOBODY);
        std::os::unix::process::CommandExt::gid(&mut c, NOBODY);
    }
    c
}

/// A HOME the unelevated binary owns, with `config` as its user file.
fn user_home(config: &str) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("config").join("trust-proxy");
    std::fs::create_dir_all(&dir).unwrap();
    write(&dir.join("config.toml"), config);
    if is_root() {
        for p in [
            home.path().to_path_buf(),
            home.path().join("config"),
            dir.clone(),
            dir.join("config.toml"),
        ] {
            std::os::unix::fs::chown(&p, Some(NOBODY), Some(NOBODY)).unwrap();
        }
    }
    home
}

fn run(c: &mut std::process::Command) -> (i32, String, String) {
    trust_proxy_testkit::cli::output_text(c).unwrap()
}

#[test]
fn config_show_says_where_each_value_came_from() {
    let home = user_home("# user\ntargets = [\"a.example\", \"b.example:8443\"]\ntimeout = 4\n");
    let (code, out, err) = run(user_bin(home.path())
        .args(["config", "show", "--json", "--scope", "user"])
        .env("TRUST_PROXY_TIMEOUT", "7"));
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let user_file = home.path().join("config/trust-proxy/config.toml");
    let s = &v["settings"];
    assert_eq!(v["rules"], "user");
    assert_eq!(s["targets"]["value"][1], "b.example:8443");
    assert_eq!(s["targets"]["source"]["kind"], "file");
    assert_eq!(s["targets"]["source"]["line"], 2);
    assert_eq!(
        s["targets"]["from"],
        format!("{}:2", user_file.display()).as_str()
    );
    assert_eq!(s["timeout"]["value"], 7.0);
    assert_eq!(s["timeout"]["from"], "env TRUST_PROXY_TIMEOUT");
    assert_eq!(s["scope"]["from"], "flag");
    assert_eq!(s["public_roots"]["from"], "default");
    assert!(v["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["role"] == "user" && f["status"] == "read"));

    // Human form: the same sources, one per value.
    let (code, out, _) = run(user_bin(home.path()).args(["config", "show"]));
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("from {}:3", user_file.display())),
        "{out}"
    );
    assert!(out.contains("from default"), "{out}");

    // Elevated, the same user file and variable are not read (and the output says so).
    if is_root() {
        let mut c = trust_proxy_testkit::cli::clean_command(env!("CARGO_BIN_EXE_trust-proxy"));
        c.env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("TRUST_PROXY_TIMEOUT", "7")
            .args(["config", "show", "--json"]);
        let (code, out, err) = run(&mut c);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["rules"], "system");
        assert_eq!(v["settings"]["timeout"]["from"], "default");
        assert_eq!(v["ignored_env"][0], "TRUST_PROXY_TIMEOUT");
    }
}

#[cfg(target_os = "linux")]
fn fingerprint(der: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, der);
    d.as_ref().iter().map(|b| format!("{b:02X}")).collect()
}

/// README's two flows: the user (who sees the proxy) exports the CA, root installs that file
/// with the pin; and off the network, a pinned --ca-file install (the pin from a config file).
#[cfg(target_os = "linux")]
#[test]
fn the_two_step_and_off_network_flows_work() {
    use std::sync::Arc;
    use trust_proxy_testkit::*;
    let root = Arc::new(Ca::new_root("Config Flow Root"));
    let proxy = InterceptingProxy::start(ProxyConfig::new(mint_from(
        root.clone(),
        vec![root.cert_der()],
    )))
    .unwrap();
    let fp = fingerprint(&root.cert_der());
    let home = user_home("timeout = 5\n");

    // Step 1, as the user: discover through the proxy and export the root.
    let (code, out, err) = run(user_bin(home.path()).args([
        "discover",
        "--proxy",
        &proxy.url(),
        "--target",
        "pypi.org",
        "--export",
        "ca.pem",
    ]));
    assert_eq!(code, 0, "{out}{err}");
    let exported = home.path().join("ca.pem");
    assert!(std::fs::read_to_string(&exported)
        .unwrap()
        .contains("BEGIN CERTIFICATE"));

    // Step 2, as root: install that file with the pin. A dry run: the machine's real trust
    // store is not this test's to change (the namespace lab installs for real).
    if is_root() {
        let mut c = trust_proxy_testkit::cli::clean_command(env!("CARGO_BIN_EXE_trust-proxy"));
        c.args(["install", "--scope", "system", "--ca-file"])
            .arg(&exported)
            .args([
                "--fingerprint",
                &fp,
                "--no-proxy",
                "--target",
                "127.0.0.1:9",
            ])
            .args(["--timeout", "2", "--dry-run", "--json"]);
        let (code, out, err) = run(&mut c);
        assert_eq!(code, 0, "{out}{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["outcome"], "dry_run", "{out}");
        assert_eq!(v["installed"][0]["decision"], "pinned", "{out}");
    }

    // Off the network (imaging time): nothing answers, the pin comes from the user file.
    std::fs::write(
        home.path().join("config/trust-proxy/config.toml"),
        format!("fingerprints = [\"{fp}\"]\ntargets = [\"127.0.0.1:9\"]\ntimeout = 2\n"),
    )
    .unwrap();
    let (code, out, err) = run(user_bin(home.path())
        .args(["install", "--scope", "user", "--no-proxy", "--ca-file"])
        .arg(&exported)
        .arg("--json"));
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["outcome"], "changed", "{out}");
    assert_eq!(v["installed"][0]["decision"], "pinned", "{out}");
    assert_eq!(v["verification"]["status"], "not_applicable", "{out}");
}

#[test]
fn each_command_takes_the_keys_that_apply_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("absent.toml");
    let user = write(
        &dir.path().join("user.toml"),
        &format!(
            "scope = \"system\"\ntools = [\"pip\", \"git\"]\nproxy = \"http://proxy.corp:3128\"\nfingerprints = [\"{}\"]\n",
            pin("aa")
        ),
    );
    let run = |args: &[&str]| resolve(args, &absent, Some(&user), &[], false).unwrap().0;
    use trust_proxy::cli::args::ScopeArg;
    use trust_proxy::tools::ToolId;
    match run(&["install", "--configure-tools"]).command {
        Command::Install(a) => {
            assert_eq!(a.scope.scope, Some(ScopeArg::System));
            assert_eq!(a.configure_tools, Some(vec![ToolId::Pip, ToolId::Git]));
            assert_eq!(a.probe.proxy.as_deref(), Some("http://proxy.corp:3128"));
            assert_eq!(a.fingerprints, [colon("aa")]);
        }
        other => panic!("{other:?}"),
    }
    // `tools` does not turn --configure-tools on, and a flag's list wins.
    match run(&["install"]).command {
        Command::Install(a) => assert_eq!(a.configure_tools, None),
        other => panic!("{other:?}"),
    }
    match run(&["install", "--configure-tools=uv", "--scope", "user"]).command {
        Command::Install(a) => {
            assert_eq!(a.configure_tools, Some(vec![ToolId::Uv]));
            assert_eq!(a.scope.scope, Some(ScopeArg::User));
        }
        other => panic!("{other:?}"),
    }
    // Uninstall takes the scope, never the pins (plain uninstall removes everything).
    match run(&["uninstall"]).command {
        Command::Uninstall(a) => {
            assert_eq!(a.scope.scope, Some(ScopeArg::System));
            assert!(a.fingerprints.is_empty());
        }
        other => panic!("{other:?}"),
    }
    match run(&["status"]).command {
        Command::Status(a) => assert_eq!(a.scope, Some(ScopeArg::System)),
        other => panic!("{other:?}"),
    }
    match run(&["configure-tools"]).command {
        Command::ConfigureTools(a) => assert_eq!(a.tools, [ToolId::Pip, ToolId::Git]),
        other => panic!("{other:?}"),
    }
    match run(&["verify"]).command {
        Command::Verify(a) => assert_eq!(a.proxy.as_deref(), Some("http://proxy.corp:3128")),
        other => panic!("{other:?}"),
    }
    // A proxy flag decides the whole proxy choice: the configured URL is not added to --no-proxy.
    match run(&["discover", "--no-proxy"]).command {
        Command::Discover(a) => {
            assert!(a.probe.no_proxy);
            assert_eq!(a.probe.proxy, None);
        }
        other => panic!("{other:?}"),
    }
}
