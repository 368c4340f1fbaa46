//! The machine-readable contract, checked against real output: every command's `--json` (and
//! every error under `--json`) validates against `schema/trust-proxy.schema.json`, `changed`
//! says exactly whether a run changed something (first run true, second run false), and the
//! exit-code table in README, `--help`, the man page and the schema matches `ExitStatus`.
//!
//! The commands run as a script runs them: the real binary, a temporary HOME, the testkit's
//! intercepting proxy on loopback. Tool configuration refuses root, so when the tests run as
//! root (CI) every command runs as `nobody` through setpriv, in a HOME that `nobody` owns.
//!
//! `TRUST_PROXY_JSON_SAMPLES=DIR` also writes each validated output to DIR (README's examples).
#![cfg(target_os = "linux")]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use trust_proxy::exit_status::ExitStatus;
use trust_proxy_testkit::{Ca, InterceptingProxy, ProxyHandle};

const BIN: &str = env!("CARGO_BIN_EXE_trust-proxy");
const NOBODY: u32 = 65534;

fn schema_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/trust-proxy.schema.json")
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(schema_path()).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    if let Err(e) = jsonschema::meta::validate(&schema) {
        panic!("the schema is not a valid JSON Schema: {e}");
    }
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

/// A temporary HOME owned by whoever the commands run as, and a place for other files.
struct Sandbox {
    dir: tempfile::TempDir,
    home: PathBuf,
    validator: jsonschema::Validator,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir(&home).unwrap();
        set_mode(dir.path(), 0o755);
        Sandbox {
            dir,
            home,
            validator: validator(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A file the commands can read.
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap();
        set_mode(&path, 0o644);
        path
    }

    fn run(&self, args: &[&str]) -> Run {
        if is_root() {
            std::os::unix::fs::chown(&self.home, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        let mut c = if is_root() {
            let mut c = Command::new("/usr/bin/setpriv");
            c.args([
                &format!("--reuid={NOBODY}"),
                &format!("--regid={NOBODY}"),
                "--clear-groups",
                "--",
                BIN,
            ]);
            c
        } else {
            Command::new(BIN)
        };
        for var in trust_proxy_testkit::cli::INHERITED_SETTINGS {
            c.env_remove(var);
        }
        c.env("GSETTINGS_BACKEND", "memory")
            .env("HOME", &self.home)
            .env("XDG_DATA_HOME", self.home.join("data"))
            .env("SHELL", "/bin/bash")
            // No developer tool of this machine: configure-tools and verify see only these.
            .env("PATH", "/nonexistent")
            .stdin(std::process::Stdio::null())
            .args(args);
        let (code, stdout, stderr) = trust_proxy_testkit::cli::output_text(&mut c).unwrap();
        Run {
            code,
            stdout,
            stderr,
        }
    }

    /// Runs a `--json` command, checks stdout is one object valid against the schema whose
    /// `exit_code` is the process's, and returns it.
    fn json(&self, sample: &str, args: &[&str]) -> (i32, Value) {
        let run = self.run(args);
        let value: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: stdout is not one JSON object ({e}):\n{}\nstderr:\n{}",
                run.stdout, run.stderr
            )
        });
        let errors: Vec<String> = self
            .validator
            .iter_errors(&value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{args:?}: the output does not match the schema:\n  {}\n{}",
            errors.join("\n  "),
            run.stdout
        );
        assert_eq!(value["exit_code"], run.code, "{args:?}: {}", run.stdout);
        assert_eq!(value["ok"], run.code == 0, "{args:?}");
        if let Some(dir) = std::env::var_os("TRUST_PROXY_JSON_SAMPLES") {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(Path::new(&dir).join(format!("{sample}.json")), &run.stdout).unwrap();
        }
        (run.code, value)
    }
}

fn is_root() -> bool {
    trust_proxy_platform::is_elevated()
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// An intercepting proxy on loopback that signs with a fresh root and sends it along.
fn intercepting_proxy(name: &str) -> (Arc<Ca>, ProxyHandle) {
    InterceptingProxy::with_fresh_root(name).unwrap()
}

fn fingerprint(der: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, der);
    d.as_ref().iter().map(|b| format!("{b:02X}")).collect()
}

#[test]
fn every_command_validates_and_changed_is_true_only_when_something_changed() {
    let sandbox = Sandbox::new();
    let (root, proxy) = intercepting_proxy("JSON Contract Root");
    let url = proxy.url();
    let pin = fingerprint(&root.cert_der());
    let probe = ["--target", "pypi.org", "--proxy", url.as_str()];
    let install: Vec<&str> = [
        "install",
        "--scope",
        "user",
        "--fingerprint",
        pin.as_str(),
        "--json",
    ]
    .into_iter()
    .chain(probe)
    .collect();
    let export = sandbox.home.join("root.pem");
    let export = export.to_str().unwrap();

    // discover: `changed` follows the --export file.
    let discover: Vec<&str> = ["discover", "--json"].into_iter().chain(probe).collect();
    let (code, v) = sandbox.json("discover", &discover);
    assert_eq!((code, &v["changed"]), (0, &Value::Bool(false)), "{v}");
    let with_export: Vec<&str> = discover
        .iter()
        .copied()
        .chain(["--export", export])
        .collect();
    let (_, v) = sandbox.json("discover-export", &with_export);
    assert_eq!(v["changed"], true, "the first export writes the file");
    let (_, v) = sandbox.json("discover-export-again", &with_export);
    assert_eq!(v["changed"], false, "the same roots again: nothing written");

    // export: the pinned root as a macOS profile; the same bytes again change nothing.
    let profile = sandbox.home.join("root.mobileconfig");
    let export_args: Vec<&str> = ["export", "--format", "mobileconfig", "--json"]
        .into_iter()
        .chain(["--ca-file", export, "--fingerprint", pin.as_str()])
        .chain(["--output", profile.to_str().unwrap()])
        .collect();
    let (code, v) = sandbox.json("export", &export_args);
    assert_eq!((code, &v["changed"]), (0, &Value::Bool(true)), "{v}");
    let (code, v) = sandbox.json("export-again", &export_args);
    assert_eq!((code, &v["changed"]), (0, &Value::Bool(false)), "{v}");

    // install: dry run (would change), first run (changed), second run (unchanged).
    let dry: Vec<&str> = install.iter().copied().chain(["--dry-run"]).collect();
    let (code, v) = sandbox.json("install-dry-run", &dry);
    assert_eq!(code, 0);
    assert_eq!(
        (&v["dry_run"], &v["changed"]),
        (&Value::Bool(true), &Value::Bool(true))
    );
    assert!(!sandbox.home.join("data").exists(), "a dry run wrote files");
    let (code, v) = sandbox.json("install", &install);
    assert_eq!((code, &v["changed"]), (0, &Value::Bool(true)), "{v}");
    assert_eq!(v["dry_run"], false);
    let (code, v) = sandbox.json("install-again", &install);
    assert_eq!((code, &v["changed"]), (0, &Value::Bool(false)), "{v}");
    let (_, v) = sandbox.json("install-dry-run-again", &dry);
    assert_eq!(v["changed"], false, "nothing would change");

    // The read-only commands never change anything.
    let (code, v) = sandbox.json("status", &["status", "--scope", "user", "--json"]);
    assert_eq!((code, &v["changed"]), (0, &Value::Bool(false)));
    assert_eq!(v["healthy"], true);
    let (code, v) = sandbox.json(
        "env",
        &["env", "--scope", "user", "--shell", "bash", "--json"],
    );
    assert_eq!((code, &v["changed"]), (0, &Value::Bool(false)));
    let variables = v["variables"].as_array().unwrap();
    assert!(
        variables.iter().any(|x| x["name"] == "SSL_CERT_FILE"),
        "{v}"
    );
    let (_, v) = sandbox.json(
        "doctor",
        &["doctor", "--no-probe", "--scope", "user", "--json"],
    );
    assert_eq!(v["changed"], false);
    let verify: Vec<&str> = ["verify", "--json", "--tools", "curl", "--timeout", "5"]
        .into_iter()
        .chain(["--target", "pypi.org", "--proxy", url.as_str()])
        .collect();
    let (code, v) = sandbox.json("verify", &verify);
    assert_eq!(code, ExitStatus::NothingChecked.code(), "no curl on PATH");
    assert_eq!(v["changed"], false);
    let pac = sandbox.write(
        "proxy.pac",
        b"function FindProxyForURL(url, host) { return \"PROXY 127.0.0.1:9; DIRECT\"; }",
    );
    let (code, v) = sandbox.json(
        "proxy",
        &[
            "proxy",
            "--pac",
            pac.to_str().unwrap(),
            "--url",
            "https://pypi.org/",
            "--no-connect",
            "--json",
        ],
    );
    assert_eq!((code, &v["changed"]), (0, &Value::Bool(false)));
    let (code, v) = sandbox.json("config show", &["config", "show", "--json"]);
    assert_eq!((code, &v["changed"]), (0, &Value::Bool(false)), "{v}");
    assert_eq!(v["settings"]["scope"]["source"]["kind"], "default", "{v}");

    // refresh: nothing to do; then with the bundle gone, it writes it once.
    let refresh = ["refresh", "--scope", "user", "--json"];
    let (code, v) = sandbox.json("refresh-unchanged", &refresh);
    assert_eq!((code, &v["changed"]), (0, &Value::Bool(false)), "{v}");
    std::fs::remove_file(sandbox.home.join("data/trust-proxy/ca-bundle.pem")).unwrap();
    let (_, v) = sandbox.json("refresh", &refresh);
    assert_eq!(v["changed"], true, "{v}");
    let (_, v) = sandbox.json("refresh-again", &refresh);
    assert_eq!(v["changed"], false, "{v}");

    // configure-tools: the shell start-up files get the snippet once.
    let (code, v) = sandbox.json("configure-tools", &["configure-tools", "--json"]);
    assert_eq!((code, &v["changed"]), (0, &Value::Bool(true)), "{v}");
    let (_, v) = sandbox.json("configure-tools-again", &["configure-tools", "--json"]);
    assert_eq!(v["changed"], false, "{v}");
    let undo = ["configure-tools", "--undo", "--json"];
    let (_, v) = sandbox.json("configure-tools-undo", &undo);
    assert_eq!(v["changed"], true, "{v}");
    let (_, v) = sandbox.json("configure-tools-undo-again", &undo);
    assert_eq!(v["changed"], false, "{v}");

    // install --configure-tools: changed when either part changed.
    let with_tools: Vec<&str> = install
        .iter()
        .copied()
        .chain(["--configure-tools"])
        .collect();
    let (_, v) = sandbox.json("install-configure-tools", &with_tools);
    assert_eq!(v["changed"], true, "the tools were configured again: {v}");
    assert_eq!(v["configure_tools"]["changed"], true);
    let (_, v) = sandbox.json("install-configure-tools-again", &with_tools);
    assert_eq!(v["changed"], false, "{v}");

    // uninstall: dry run, first run, second run.
    let uninstall = ["uninstall", "--scope", "user", "--json"];
    let (_, v) = sandbox.json(
        "uninstall-dry-run",
        &["uninstall", "--scope", "user", "--dry-run", "--json"],
    );
    assert_eq!(
        (&v["dry_run"], &v["changed"]),
        (&Value::Bool(true), &Value::Bool(true))
    );
    let (code, v) = sandbox.json("uninstall", &uninstall);
    assert_eq!((code, &v["changed"]), (0, &Value::Bool(true)), "{v}");
    assert!(!sandbox.home.join("data/trust-proxy").exists());
    let (code, v) = sandbox.json("uninstall-again", &uninstall);
    assert_eq!((code, &v["changed"]), (0, &Value::Bool(false)), "{v}");
}

#[test]
fn errors_under_json_are_one_object_on_stdout() {
    let sandbox = Sandbox::new();
    let (_root, proxy) = intercepting_proxy("JSON Contract Error Root");
    let url = proxy.url();
    let cases: [(&str, Vec<&str>, ExitStatus); 5] = [
        (
            "error-clap",
            vec!["install", "--fingerprnt", "AB", "--json"],
            ExitStatus::Usage,
        ),
        (
            "error-usage",
            vec!["discover", "--target", "bad host", "--json"],
            ExitStatus::Usage,
        ),
        (
            "error-wrong-pin",
            vec![
                "install",
                "--scope",
                "user",
                "--target",
                "pypi.org",
                "--proxy",
                url.as_str(),
                "--fingerprint",
                "00000000000000000000000000000000000000000000000000000000000000AA",
                "--json",
            ],
            ExitStatus::Refused,
        ),
        (
            "error-nothing-installed",
            vec!["env", "--scope", "user", "--json"],
            ExitStatus::LocalError,
        ),
        (
            "error-not-privileged",
            vec!["uninstall", "--scope", "system", "--json"],
            ExitStatus::NotPrivileged,
        ),
    ];
    for (sample, args, status) in cases {
        let (code, v) = sandbox.json(sample, &args);
        assert_eq!(code, status.code(), "{args:?}: {v}");
        assert_eq!(v["error"]["kind"], status.name(), "{v}");
        assert_eq!(v["changed"], false);
        let message = v["error"]["message"].as_str().unwrap();
        assert!(!message.is_empty());
        if sample == "error-wrong-pin" {
            // The playbook's log shows this: it must name what was found.
            assert!(message.contains("fingerprint"), "{message}");
        }
        // The same message a person sees on stderr.
        let run = sandbox.run(&args);
        assert!(
            run.stderr.contains(message),
            "{message:?} not in {}",
            run.stderr
        );
    }
    // Without --json an error prints nothing on stdout, as before.
    let run = sandbox.run(&["env", "--scope", "user"]);
    assert_eq!((run.code, run.stdout.as_str()), (1, ""));
}

/// The exit codes in README's table, in `--help`'s "Exit codes" block, in the man page and in
/// the schema's `exit_code` enum are exactly [`ExitStatus::ALL`].
#[test]
fn the_exit_code_table_matches_the_code() {
    let expected: Vec<i32> = ExitStatus::ALL.iter().map(|s| s.code()).collect();

    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme
        .split("\n### Exit codes\n")
        .nth(1)
        .expect("README has a \"### Exit codes\" section");
    let table: Vec<i32> = section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.trim_start_matches('|').split('|').next())
        .filter_map(|cell| cell.trim().parse().ok())
        .collect();
    assert_eq!(table, expected, "README's exit-code table");

    let help = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert_eq!(help_codes(&help), expected, "--help:\n{help}");

    let mut man = Vec::new();
    clap_mangen::Man::new(trust_proxy::cli::help_text::command())
        .render(&mut man)
        .unwrap();
    let man = String::from_utf8(man).unwrap();
    assert_eq!(help_codes(&man), expected, "the man page");

    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path()).unwrap()).unwrap();
    let in_schema: Vec<i32> = schema["$defs"]["exit_code"]["enum"]
        .as_array()
        .expect("$defs.exit_code.enum")
        .iter()
        .filter_map(|c| c.as_i64())
        .map(|c| c as i32)
        .collect();
    assert_eq!(in_schema, expected, "the schema's exit codes");
    let kinds: Vec<&str> = schema["$defs"]["error"]["properties"]["kind"]["enum"]
        .as_array()
        .expect("$defs.error.properties.kind.enum")
        .iter()
        .filter_map(|k| k.as_str())
        .collect();
    let names: Vec<&str> = ExitStatus::ALL
        .iter()
        .filter(|s| **s != ExitStatus::Success)
        .map(|s| s.name())
        .collect();
    assert_eq!(kinds, names, "the schema's error kinds");
}

/// The codes of an "Exit codes:" block: lines that start with a number after the heading.
fn help_codes(text: &str) -> Vec<i32> {
    let block = text
        .split("Exit codes:")
        .nth(1)
        .expect("an \"Exit codes:\" block");
    block
        .lines()
        .filter_map(|l| {
            let l = l.trim_start_matches(['\\', '&', '.']).trim_start();
            let number: String = l.chars().take_while(char::is_ascii_digit).collect();
            let rest = &l[number.len()..];
            (rest.starts_with("  ") || rest.starts_with("\\ \\ "))
                .then(|| number.parse().ok())
                .flatten()
        })
        .collect()
}
