//! `trust-proxy verify` with the real clients of this machine against the testkit's
//! intercepting proxy on loopback (hermetic: the target is `localhost` on a closed port, so a
//! client that ignored the proxy would be refused locally, never reach out).
//!
//! - real clients (python3, curl, openssl) fail before the proxy's CA is trusted and pass once
//!   `SSL_CERT_FILE` (curl: `CURL_CA_BUNDLE`, which takes precedence when set) names a bundle
//!   holding it; and pass with nothing in the environment once a user-scope install wrote its
//!   snippet, which verify reads as a new login shell would;
//! - a client hanging past its deadline is killed with what it started and reported timed out;
//! - exit codes: 0, 9, 12 (nothing checkable), 2 (usage);
//! - the failure parser against the real outputs each tool printed here against this proxy
//!   (`tests/data/verify/*.txt`, made by `record_real_client_outputs`, see its comment).
//!
//! Tools missing here make a test say SKIPPED and pass, unless TRUST_PROXY_REQUIRE_TOOLS=1
//! (scripts/test-all.sh), where they fail it. The tests that run clients are Unix-only (their
//! bundles and fake clients are Unix files); the parser test runs everywhere.
#![cfg_attr(not(unix), allow(dead_code, unused_imports))]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use trust_proxy::process::Ended;
use trust_proxy::tools::clients::classify::{classify, Status};
use trust_proxy::tools::clients::find_on_path;
use trust_proxy::tools::clients::{self, ClientId, Env, Site};
use trust_proxy_testkit::{
    mint_fixed, mint_from, Ca, CaOptions, HttpReply, InterceptingProxy, Minted, ProxyConfig,
    ProxyHandle,
};

const BIN: &str = env!("CARGO_BIN_EXE_trust-proxy");

/// The variables passed through from the test's own environment: what the tools need to start
/// (pyenv shims, rustup), nothing about trust.
const PASS_THROUGH: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LANG",
    "PYENV_ROOT",
    "PYENV_VERSION",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "CARGO_HOME",
    "JAVA_HOME",
    "TMPDIR",
];

struct Lab {
    ca: Arc<Ca>,
    proxy: ProxyHandle,
    dir: tempfile::TempDir,
    /// The system bundle plus the proxy's CA.
    bundle: PathBuf,
    ca_file: PathBuf,
    /// `localhost:PORT` on a port nothing listens on.
    target: String,
}

fn start_lab(ca: Ca) -> Lab {
    let ca = Arc::new(ca);
    let proxy = InterceptingProxy::start(
        ProxyConfig::new(mint_from(ca.clone(), vec![ca.cert_der()]))
            .answer_inside(HttpReply::status(404)),
    )
    .unwrap();
    lab_around(ca, proxy)
}

fn lab_around(ca: Arc<Ca>, proxy: ProxyHandle) -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("proxy-ca.pem");
    std::fs::write(&ca_file, ca.cert_pem()).unwrap();
    let mut bundle = std::fs::read("/etc/ssl/certs/ca-certificates.crt").unwrap_or_default();
    bundle.extend_from_slice(ca.cert_pem().as_bytes());
    let bundle_path = dir.path().join("bundle.pem");
    std::fs::write(&bundle_path, bundle).unwrap();
    Lab {
        ca,
        proxy,
        bundle: bundle_path,
        ca_file,
        target: format!("localhost:{}", closed_port()),
        dir,
    }
}

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn require(tools: &[&str]) -> bool {
    let path = std::env::var_os("PATH");
    let missing: Vec<&&str> = tools
        .iter()
        .filter(|t| find_on_path(t, path.as_deref()).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("TRUST_PROXY_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("missing on PATH: {missing:?}");
    }
    eprintln!("SKIPPED: missing on PATH: {missing:?}");
    false
}

/// The base environment: tools can start, no trust variables, no trust-proxy installation
/// (XDG_DATA_HOME in `data`).
fn base_env(data: &Path) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = PASS_THROUGH
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
        .collect();
    env.push(("XDG_DATA_HOME".into(), data.display().to_string()));
    env
}

struct Outcome {
    code: i32,
    json: Value,
    elapsed: Duration,
}

fn verify(args: &[&str], env: &[(String, String)]) -> Outcome {
    let start = Instant::now();
    let out = Command::new(BIN)
        .arg("verify")
        .arg("--json")
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let elapsed = start.elapsed();
    let text = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    Outcome {
        code: out.status.code().unwrap_or(-1),
        json,
        elapsed,
    }
}

fn statuses(json: &Value) -> BTreeMap<String, String> {
    json["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["client"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn client<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client"] == name)
        .unwrap_or_else(|| panic!("{name} not in {json}"))
}

#[cfg(unix)]
#[test]
fn python_curl_and_openssl_fail_before_trust_and_pass_with_the_proxy_ca_in_their_bundle() {
    if !require(&["python3", "curl", "openssl"]) {
        return;
    }
    let lab = start_lab(Ca::new_root("Verify Test Proxy CA"));
    let data = lab.dir.path().join("data");
    let proxy = lab.proxy.url();
    let args = [
        "--tools",
        "python,curl,openssl",
        "--proxy",
        proxy.as_str(),
        "--target",
        lab.target.as_str(),
        "--timeout",
        "60",
    ];

    let before = verify(&args, &base_env(&data));
    let want_rejected: BTreeMap<String, String> = ["curl", "openssl", "python"]
        .iter()
        .map(|c| (c.to_string(), "certificate_rejected".to_string()))
        .collect();
    assert_eq!(statuses(&before.json), want_rejected, "{:#}", before.json);
    assert_eq!(before.code, 9);
    for name in ["curl", "openssl", "python"] {
        let c = client(&before.json, name);
        assert_eq!(c["passed"], false);
        assert!(
            c["fix"].as_str().unwrap().contains("trust-proxy install"),
            "{c:#}"
        );
    }
    assert!(client(&before.json, "curl")["reason"]
        .as_str()
        .unwrap()
        .contains("SSL certificate problem"));

    let mut env = base_env(&data);
    let bundle = lab.bundle.display().to_string();
    env.push(("SSL_CERT_FILE".into(), bundle.clone()));
    let after = verify(&args, &env);
    let want_works: BTreeMap<String, String> = ["curl", "openssl", "python"]
        .iter()
        .map(|c| (c.to_string(), "works".to_string()))
        .collect();
    assert_eq!(statuses(&after.json), want_works, "{:#}", after.json);
    assert_eq!(after.code, 0);
    assert_eq!(client(&after.json, "python")["http_status"], 404);
    assert_eq!(client(&after.json, "curl")["http_status"], 404);
    assert!(client(&after.json, "python")["trust"]
        .as_str()
        .unwrap()
        .contains(&format!("SSL_CERT_FILE={bundle}")));
    // Every request went through the proxy: 3 before, 3 after.
    assert!(lab.proxy.wait_idle(Duration::from_secs(5)));
    assert_eq!(lab.proxy.connect_count(), 6);
}

#[cfg(unix)]
#[test]
fn curl_takes_curl_ca_bundle_over_ssl_cert_file() {
    if !require(&["curl"]) {
        return;
    }
    let lab = start_lab(Ca::new_root("Verify Test Proxy CA"));
    let data = lab.dir.path().join("data");
    let proxy = lab.proxy.url();
    let args = [
        "--tools",
        "curl",
        "--proxy",
        proxy.as_str(),
        "--target",
        lab.target.as_str(),
    ];
    // What this machine's own environment does: CURL_CA_BUNDLE names the system bundle, so
    // SSL_CERT_FILE alone does not reach curl.
    let mut env = base_env(&data);
    env.push(("SSL_CERT_FILE".into(), lab.bundle.display().to_string()));
    env.push((
        "CURL_CA_BUNDLE".into(),
        "/etc/ssl/certs/ca-certificates.crt".into(),
    ));
    let out = verify(&args, &env);
    assert_eq!(
        client(&out.json, "curl")["status"],
        "certificate_rejected",
        "{:#}",
        out.json
    );
    assert!(client(&out.json, "curl")["trust"]
        .as_str()
        .unwrap()
        .starts_with("CURL_CA_BUNDLE="));
}

#[cfg(unix)]
#[test]
fn a_user_scope_install_is_what_verify_gives_the_clients() {
    if !require(&["python3", "curl", "openssl"]) {
        return;
    }
    let lab = start_lab(Ca::new_root("Verify Installed Proxy CA"));
    let data = lab.dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // A home of its own: whatever a user-scope install writes (now or once it also writes
    // start-up files) stays in the test's directory. pyenv's shims still find their root.
    let home = lab.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let real_home = std::env::var("HOME").unwrap_or_default();
    let mut env = base_env(&data);
    if !env.iter().any(|(k, _)| k == "PYENV_ROOT") {
        env.push(("PYENV_ROOT".into(), format!("{real_home}/.pyenv")));
    }
    env.retain(|(k, _)| k != "HOME");
    env.push(("HOME".into(), home.display().to_string()));
    let ca_der = lab.ca.cert_der();
    let fingerprint = trust_proxy::analyze::certinfo::Cert::parse(&ca_der)
        .unwrap()
        .sha256()
        .to_string();
    let install = Command::new(BIN)
        .args(["install", "--scope", "user", "--ca-file"])
        .arg(&lab.ca_file)
        .args(["--fingerprint", &fingerprint, "--proxy", &lab.proxy.url()])
        .args(["--target", &lab.target, "--json"])
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(
        install.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&install.stdout),
        String::from_utf8_lossy(&install.stderr)
    );
    // No --proxy, no trust variable: the snippet brings both.
    let out = verify(
        &[
            "--tools",
            "python,curl,openssl",
            "--target",
            lab.target.as_str(),
            "--timeout",
            "60",
        ],
        &env,
    );
    assert_eq!(out.json["environment"]["installation"], "user");
    assert!(out.json["proxy"]
        .as_str()
        .unwrap()
        .contains(&lab.proxy.url()));
    for name in ["curl", "openssl", "python"] {
        assert_eq!(client(&out.json, name)["status"], "works", "{:#}", out.json);
    }
    assert_eq!(out.code, 0);

    // A tool whose own setting shadows the snippet (an npmrc `cafile` naming a bundle without
    // the CA, as this machine's /etc/npmrc does): the fix is configuring that tool.
    if find_on_path("npm", std::env::var_os("PATH").as_deref()).is_some() {
        let mut shadowed = env.clone();
        shadowed.push((
            "NPM_CONFIG_CAFILE".into(),
            "/etc/ssl/certs/ca-certificates.crt".into(),
        ));
        let out = verify(
            &["--tools", "npm", "--target", lab.target.as_str()],
            &shadowed,
        );
        let npm = client(&out.json, "npm");
        assert_eq!(npm["status"], "certificate_rejected", "{npm:#}");
        assert_eq!(npm["fix"], "trust-proxy configure-tools --tools npm");
        assert_eq!(out.code, 9);
    }
}

#[cfg(unix)]
#[test]
fn workarounds_in_the_environment_or_config_files_do_not_make_a_client_pass() {
    if !require(&["node", "npm", "git", "curl"]) {
        return;
    }
    let lab = start_lab(Ca::new_root("Verify Test Proxy CA"));
    let data = lab.dir.path().join("data");
    let curl_home = lab.dir.path().join("curlhome");
    std::fs::create_dir_all(&curl_home).unwrap();
    std::fs::write(curl_home.join(".curlrc"), "insecure\n").unwrap();
    let npmrc = lab.dir.path().join("npmrc");
    std::fs::write(&npmrc, "strict-ssl=false\n").unwrap();
    let mut env = base_env(&data);
    for (k, v) in [
        ("NODE_TLS_REJECT_UNAUTHORIZED", "0"),
        ("GIT_SSL_NO_VERIFY", "1"),
        ("GIT_CONFIG_COUNT", "1"),
        ("GIT_CONFIG_KEY_0", "http.sslVerify"),
        ("GIT_CONFIG_VALUE_0", "false"),
        ("NPM_CONFIG_STRICT_SSL", "false"),
        ("NPM_CONFIG_USERCONFIG", npmrc.to_str().unwrap()),
        ("CURL_HOME", curl_home.to_str().unwrap()),
    ] {
        env.push((k.to_string(), v.to_string()));
    }
    let proxy = lab.proxy.url();
    let out = verify(
        &[
            "--tools",
            "node,npm,git,curl",
            "--proxy",
            proxy.as_str(),
            "--target",
            lab.target.as_str(),
            "--timeout",
            "60",
        ],
        &env,
    );
    let want: BTreeMap<String, String> = ["curl", "git", "node", "npm"]
        .iter()
        .map(|c| (c.to_string(), "certificate_rejected".to_string()))
        .collect();
    assert_eq!(statuses(&out.json), want, "{:#}", out.json);
    assert_eq!(out.code, 9);
    let removed: Vec<&str> = out.json["environment"]["removed_insecure"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for name in [
        "NODE_TLS_REJECT_UNAUTHORIZED",
        "GIT_SSL_NO_VERIFY",
        "NPM_CONFIG_STRICT_SSL",
    ] {
        assert!(removed.contains(&name), "{removed:?}");
    }
}

#[cfg(unix)]
#[test]
fn a_client_hanging_past_its_deadline_is_killed_with_its_children_and_reported_timed_out() {
    use std::os::unix::fs::PermissionsExt;
    let lab = start_lab(Ca::new_root("Verify Test Proxy CA"));
    let bin = lab.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let pids = lab.dir.path().join("pids");
    // An "openssl" that never ends, with a child of its own holding the output pipe.
    let fake = bin.join("openssl");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\n/bin/sleep 60 &\necho $$ $! > {}\necho started\nwait\n",
            pids.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = lab.dir.path().join("data");
    let mut env = base_env(&data);
    env.retain(|(k, _)| k != "PATH");
    env.push(("PATH".into(), bin.display().to_string()));
    let proxy = lab.proxy.url();
    let out = verify(
        &[
            "--tools",
            "openssl",
            "--proxy",
            proxy.as_str(),
            "--target",
            lab.target.as_str(),
            "--timeout",
            "1",
        ],
        &env,
    );
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
    let c = client(&out.json, "openssl");
    assert_eq!(c["status"], "timed_out", "{:#}", out.json);
    assert!(c["reason"].as_str().unwrap().contains("killed"), "{c:#}");
    assert_eq!(out.code, 9);
    let recorded = std::fs::read_to_string(&pids).unwrap();
    for pid in recorded.split_whitespace() {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Gone, or a zombie waiting for its reaper: not running.
        assert!(
            stat.is_empty() || stat.split_whitespace().nth(2) == Some("Z"),
            "{pid} still runs: {stat}"
        );
    }
}

#[cfg(unix)]
#[test]
fn exit_codes_say_passed_failed_or_nothing_checkable() {
    use std::os::unix::fs::PermissionsExt;
    let lab = start_lab(Ca::new_root("Verify Test Proxy CA"));
    let data = lab.dir.path().join("data");
    let empty = lab.dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let mut env = base_env(&data);
    env.retain(|(k, _)| k != "PATH");
    env.push(("PATH".into(), empty.display().to_string()));
    let proxy = lab.proxy.url();
    let args = ["--proxy", proxy.as_str(), "--target", lab.target.as_str()];

    // No client on PATH at all.
    let none = verify(&args, &env);
    assert_eq!(none.code, 12, "{:#}", none.json);
    assert_eq!(none.json["checked"], 0);
    assert_eq!(none.json["not_found"].as_array().unwrap().len(), 12);

    // A python3 without the library asked for: not available, not a failure.
    let fake = empty.join("python3");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho \"TP-NOT-INSTALLED No module named 'requests'\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut with_tools = args.to_vec();
    with_tools.extend(["--tools", "requests"]);
    let absent = verify(&with_tools, &env);
    assert_eq!(absent.code, 12, "{:#}", absent.json);
    assert_eq!(client(&absent.json, "requests")["status"], "not_available");

    // A python3 that says nothing useful: could not tell, which is not a pass.
    std::fs::write(&fake, "#!/bin/sh\necho 'something else' >&2\nexit 3\n").unwrap();
    let unknown = verify(&with_tools, &env);
    assert_eq!(unknown.code, 9, "{:#}", unknown.json);
    assert_eq!(
        client(&unknown.json, "requests")["status"],
        "could_not_tell"
    );

    for bad in [
        &["--timeout", "0"][..],
        &["--target", "http://x"][..],
        &["--tools", "nosuch"][..],
    ] {
        let status = Command::new(BIN)
            .arg("verify")
            .args(bad)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap()
            .status;
        assert_eq!(status.code(), Some(2), "{bad:?}");
    }
}

// ---- recorded outputs ----

/// The status each recorded case must classify as.
fn expected(case: &str) -> Status {
    match case {
        "untrusted" => Status::CertificateRejected,
        "trusted" => Status::Works,
        "strict" => Status::StrictX509,
        "wrongname" => Status::NameMismatch,
        "refused" | "unreachable" => Status::Unreachable,
        // The server (or the proxy) answered with something the tool could not use.
        "answered" => Status::Works,
        other => panic!("unknown case {other}"),
    }
}

struct Recording {
    name: String,
    client: ClientId,
    case: String,
    ended: Ended,
    stdout: String,
    stderr: String,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/verify")
}

fn parse_recording(name: &str, text: &str) -> Recording {
    let header = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}: ")))
            .unwrap_or_else(|| panic!("{name}: no {key}"))
            .to_string()
    };
    let client = ClientId::ALL
        .into_iter()
        .find(|c| c.as_str() == header("client"))
        .unwrap();
    let ended = match header("exit").as_str() {
        "timeout" => Ended::TimedOut,
        "signal" => Ended::Signalled,
        n => Ended::Exited(n.parse().unwrap()),
    };
    let (_, rest) = text.split_once("\n--- stdout\n").unwrap();
    let (stdout, stderr) = rest.split_once("\n--- stderr\n").unwrap();
    Recording {
        name: name.to_string(),
        client,
        case: header("case"),
        ended,
        stdout: stdout.to_string(),
        stderr: stderr.to_string(),
    }
}

fn recordings() -> Vec<Recording> {
    let mut out: Vec<Recording> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            parse_recording(&name, &std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[test]
fn every_recorded_real_output_is_classified_as_what_happened() {
    let recs = recordings();
    let mut wrong = Vec::new();
    for r in &recs {
        let verdict = classify(r.client, &r.ended, &r.stdout, &r.stderr);
        if verdict.status != expected(&r.case) {
            wrong.push(format!(
                "{}: {:?}, want {:?} ({:?})",
                r.name,
                verdict.status,
                expected(&r.case),
                verdict.evidence
            ));
        }
        if verdict.status != Status::Works {
            let evidence = verdict.evidence.unwrap_or_default();
            assert!(
                !evidence.is_empty() && evidence.chars().count() <= 202,
                "{}: evidence {evidence:?}",
                r.name
            );
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Every client has a real failure and a real pass on record.
    for c in ClientId::ALL {
        for case in ["untrusted", "trusted"] {
            assert!(
                recs.iter().any(|r| r.client == c && r.case == case),
                "no {case} recording for {}",
                c.as_str()
            );
        }
    }
}

/// Makes the recordings in tests/data/verify/ with the real tools of this machine (not a test:
/// `cargo test --test verify_clients record_real_client_outputs -- --ignored`). Which clients:
/// `TP_RECORD_CLIENTS=a,b` (default all found); which python3 for `strict`:
/// `TP_RECORD_STRICT_PYTHON_DIR` (a directory holding a Python >= 3.13 `python3`). The PATH
/// decides which programs answer (put a venv's bin first for httpx or uv).
#[test]
#[ignore]
fn record_real_client_outputs() {
    let only: Option<Vec<String>> = std::env::var("TP_RECORD_CLIENTS")
        .ok()
        .map(|v| v.split(',').map(str::to_string).collect());
    let wanted = |c: ClientId| {
        only.as_ref()
            .is_none_or(|o| o.iter().any(|n| n == c.as_str()))
    };
    let good = start_lab(Ca::new_root("Verify Recording Proxy CA"));
    let strict = start_lab(Ca::new_root_with(
        "Verify Recording Legacy CA",
        &CaOptions::default().bc_not_critical(),
    ));
    let other_name = {
        let ca = Arc::new(Ca::new_root("Verify Recording Misnaming CA"));
        let leaf = ca.issue_leaf("other.invalid", None);
        let proxy = InterceptingProxy::start(
            ProxyConfig::new(mint_fixed(Minted::new(&leaf, &[ca.cert_der()])))
                .answer_inside(HttpReply::status(404)),
        )
        .unwrap();
        lab_around(ca, proxy)
    };
    let dir = fixtures_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let refused_proxy = format!("http://127.0.0.1:{}", closed_port());
    for c in ClientId::ALL.into_iter().filter(|c| wanted(*c)) {
        let cases: Vec<(&str, &Lab, String)> = vec![
            ("untrusted", &good, good.proxy.url()),
            ("trusted", &good, good.proxy.url()),
            ("wrongname", &other_name, other_name.proxy.url()),
            ("refused", &good, refused_proxy.clone()),
            ("strict", &strict, strict.proxy.url()),
        ];
        for (case, lab, proxy) in cases {
            let mut env: Vec<(String, String)> = base_env(&good.dir.path().join("data"));
            if case == "strict" {
                if c != ClientId::Python {
                    continue;
                }
                let Ok(py) = std::env::var("TP_RECORD_STRICT_PYTHON_DIR") else {
                    continue;
                };
                for (k, v) in env.iter_mut() {
                    if k == "PATH" {
                        *v = format!("{py}:{v}");
                    }
                }
            }
            if case != "untrusted" {
                env.extend(trust_for(c, lab));
            }
            for name in ["HTTPS_PROXY", "https_proxy"] {
                env.push((name.into(), proxy.clone()));
            }
            let env = Env {
                vars: env.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
            };
            let site =
                Site::Custom(trust_proxy::discover::target::Target::parse(&lab.target).unwrap());
            let Some((program, recipe, finished)) =
                clients::probe(c, &site, &env, Duration::from_secs(60)).unwrap()
            else {
                eprintln!("{}: not on PATH", c.as_str());
                break;
            };
            let exit = match finished.ended {
                Ended::Exited(n) => n.to_string(),
                Ended::Signalled => "signal".to_string(),
                Ended::TimedOut => "timeout".to_string(),
            };
            let text = format!(
                "# A real run, recorded by tests/verify_clients.rs record_real_client_outputs against the testkit proxy.\nclient: {}\ncase: {case}\nprogram: {}\nurl: {}\nexit: {exit}\n--- stdout\n{}\n--- stderr\n{}",
                c.as_str(),
                program.display(),
                recipe.url,
                finished.stdout,
                finished.stderr
            );
            let file = dir.join(format!("{}-{case}.txt", c.as_str()));
            std::fs::write(&file, text).unwrap();
            eprintln!("{}: {exit}", file.display());
        }
    }
}

/// The variable (or setting) each client takes its roots from, naming the lab's bundle.
fn trust_for(c: ClientId, lab: &Lab) -> Vec<(String, String)> {
    let bundle = lab.bundle.display().to_string();
    let var = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
    match c {
        ClientId::Python | ClientId::Httpx | ClientId::Uv | ClientId::Openssl => {
            var("SSL_CERT_FILE", &bundle)
        }
        ClientId::Requests => var("REQUESTS_CA_BUNDLE", &bundle),
        ClientId::Pip => var("PIP_CERT", &bundle),
        ClientId::Curl => var("CURL_CA_BUNDLE", &bundle),
        ClientId::Git => var("GIT_SSL_CAINFO", &bundle),
        ClientId::Node => var("NODE_EXTRA_CA_CERTS", &lab.ca_file.display().to_string()),
        // This machine's /etc/npmrc (from no package) names the system bundle as `cafile`, which replaces Node's roots
        // and NODE_EXTRA_CA_CERTS: only npm's own setting reaches it.
        ClientId::Npm => var("NPM_CONFIG_CAFILE", &bundle),
        ClientId::Cargo => var("CARGO_HTTP_CAINFO", &bundle),
        ClientId::Java => var(
            "JAVA_TOOL_OPTIONS",
            &format!(
                "-Djavax.net.ssl.trustStore={} -Djavax.net.ssl.trustStorePassword=changeit",
                java_truststore(lab).display()
            ),
        ),
    }
}

/// A PKCS#12 truststore holding the lab's CA, made once with the JDK's keytool.
fn java_truststore(lab: &Lab) -> PathBuf {
    let store = lab.dir.path().join("truststore.p12");
    if !store.exists() {
        let keytool = find_on_path("keytool", std::env::var_os("PATH").as_deref()).unwrap();
        let ok = Command::new(keytool)
            .args(["-importcert", "-noprompt", "-storetype", "PKCS12"])
            .arg("-keystore")
            .arg(&store)
            .args(["-storepass", "changeit", "-alias", "proxy", "-file"])
            .arg(&lab.ca_file)
            .status()
            .unwrap();
        assert!(ok.success());
    }
    store
}
