//! `trust-proxy doctor` as a person runs it, in a temporary home: the environment cleared but for
//! what each test plants, the real git (its system file off with GIT_CONFIG_NOSYSTEM, its global
//! file the temporary home's), `--scope user` so the machine's own files and installation stay
//! out. One test per planted setting, each checking the finding and its fix.
#![cfg(unix)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use trust_proxy::analyze::certload;
use trust_proxy::discover::Provenance;
use trust_proxy::install::decide::Decision;
use trust_proxy::install::state::{InstalledCa, State};
use trust_proxy_testkit::{Ca, CaOptions};

struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    /// A home whose PATH holds only `git` (the real one), so no other tool is "present".
    fn new() -> Home {
        let home = Home {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(home.bin()).unwrap();
        let git = real_program("git");
        std::os::unix::fs::symlink(git, home.bin().join("git")).unwrap();
        home
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn bin(&self) -> PathBuf {
        self.root().join("bin")
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A program on PATH that only has to exist (doctor never runs it).
    fn fake_program(&self, name: &str) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.bin().join(name);
        std::fs::write(&path, "#!/bin/sh\nexit 1\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn command(&self, env: &[(&str, &str)], args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_trust-proxy"));
        c.env_clear()
            .env("HOME", self.root())
            .env("PATH", self.bin())
            .env("XDG_DATA_HOME", self.path("data"))
            .env("XDG_CONFIG_HOME", self.path(".config"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .current_dir(self.root())
            .stdin(Stdio::null())
            .arg("doctor")
            .args(["--scope", "user"])
            .args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        c
    }

    /// The human report: exit code and stdout.
    fn text(&self, env: &[(&str, &str)], args: &[&str]) -> (i32, String) {
        let (code, out, err) =
            trust_proxy_testkit::cli::output_text(&mut self.command(env, args)).unwrap();
        assert!(err.is_empty() || code != -1, "{err}");
        (code, out)
    }

    /// The JSON report: exit code and findings.
    fn json(&self, env: &[(&str, &str)], args: &[&str]) -> (i32, Vec<Value>) {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let (code, out, err) =
            trust_proxy_testkit::cli::output_text(&mut self.command(env, &all)).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["command"], "doctor");
        assert_eq!(v["exit_code"], code, "{out}");
        (code, v["findings"].as_array().unwrap().clone())
    }

    /// A user-scope installation of `ca` (as install records it), not in an OS store.
    fn install_state(&self, ca: &Ca) {
        let pem = ca.cert_pem();
        let cert = certload::load_certs(pem.as_bytes()).unwrap().remove(0);
        let mut state = State::empty("user");
        state.cas.push(InstalledCa {
            sha256: cert.sha256().to_string(),
            subject: cert.info.subject.clone(),
            pem,
            extra_pem: vec![],
            decision: Decision::Pinned,
            provenance: Provenance::UserFile,
            added_to_os_store: false,
            in_os_store: false,
            store_name: "test".into(),
            service_targets: vec![],
        });
        let path = self.path("data/trust-proxy/state.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, state.to_bytes().unwrap()).unwrap();
    }

    /// A complete bundle: Mozilla's roots (what the public-roots check counts) and `extra`.
    fn full_bundle(&self, rel: &str, extra: &[&Ca]) -> PathBuf {
        let mut pem: String = trust_proxy::install::bundle::mozilla_roots()
            .iter()
            .map(|c| c.to_pem())
            .collect();
        for ca in extra {
            pem.push_str(&ca.cert_pem());
        }
        self.write(rel, &pem)
    }
}

fn real_program(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} is needed on PATH for these tests"))
}

fn sha256_of(ca: &Ca) -> String {
    certload::load_certs(ca.cert_pem().as_bytes()).unwrap()[0]
        .sha256()
        .to_string()
}

/// The finding with `id` whose setting contains `setting`; fails listing what was found.
fn find<'a>(findings: &'a [Value], id: &str, setting: &str) -> &'a Value {
    findings
        .iter()
        .find(|f| f["id"] == id && f["setting"].as_str().unwrap_or("").contains(setting))
        .unwrap_or_else(|| {
            panic!(
                "no {id} finding for {setting:?} in {}",
                serde_json::to_string_pretty(findings).unwrap()
            )
        })
}

fn ids(findings: &[Value]) -> Vec<&str> {
    findings.iter().map(|f| f["id"].as_str().unwrap()).collect()
}

/// Plants `files` and `env`, and expects the finding, its fix, and the exit code; the human
/// report says the same.
fn planted(
    files: &[(&str, &str)],
    env: &[(&str, &str)],
    id: &str,
    setting: &str,
    fix: &str,
    exit: i32,
) {
    let home = Home::new();
    for (rel, text) in files {
        home.write(rel, text);
    }
    let (code, findings) = home.json(env, &["--no-probe"]);
    let f = find(&findings, id, setting);
    let root = home.root().display().to_string();
    let want_fix = fix.replace("$HOME", &root);
    assert!(
        f["fix"].as_str().unwrap().contains(&want_fix),
        "fix {:?} lacks {want_fix:?}",
        f["fix"]
    );
    assert_eq!(code, exit, "{findings:?}");
    assert_eq!(findings.len(), 1, "only the planted setting: {findings:?}");
    let (text_code, text) = home.text(env, &["--no-probe"]);
    assert_eq!(text_code, exit);
    assert!(text.contains(id) && text.contains(&want_fix), "{text}");
}

macro_rules! planted {
    ($name:ident, files: [$(($rel:expr, $text:expr)),* $(,)?], env: [$(($k:expr, $v:expr)),* $(,)?],
     $id:expr, $setting:expr, fix: $fix:expr, exit: $exit:expr) => {
        #[test]
        fn $name() {
            planted(&[$(($rel, $text)),*], &[$(($k, $v)),*], $id, $setting, $fix, $exit);
        }
    };
}

// --- the environment ---------------------------------------------------------------------------

planted!(env_node_tls_reject_unauthorized_with_its_bashrc_line,
    files: [(".bashrc", "alias ll='ls -l'\nexport NODE_TLS_REJECT_UNAUTHORIZED=0\n")],
    env: [("NODE_TLS_REJECT_UNAUTHORIZED", "0")],
    "insecure_env_var", "NODE_TLS_REJECT_UNAUTHORIZED=0",
    fix: "~/.bashrc:2: export NODE_TLS_REJECT_UNAUTHORIZED=0", exit: 11);
planted!(env_python_https_verify,
    files: [], env: [("PYTHONHTTPSVERIFY", "0")],
    "insecure_env_var", "PYTHONHTTPSVERIFY=0", fix: "unset PYTHONHTTPSVERIFY", exit: 11);
planted!(env_git_ssl_no_verify_even_empty,
    files: [], env: [("GIT_SSL_NO_VERIFY", "")],
    "insecure_env_var", "GIT_SSL_NO_VERIFY=", fix: "unset GIT_SSL_NO_VERIFY", exit: 11);
planted!(env_uv_insecure_host,
    files: [(".config/fish/conf.d/uv.fish", "set -gx UV_INSECURE_HOST pypi.org\n")],
    env: [("UV_INSECURE_HOST", "pypi.org")],
    "insecure_env_var", "UV_INSECURE_HOST=pypi.org",
    fix: "~/.config/fish/conf.d/uv.fish:1: set -gx UV_INSECURE_HOST pypi.org", exit: 11);
planted!(env_azure_cli_disable_connection_verification,
    files: [], env: [("AZURE_CLI_DISABLE_CONNECTION_VERIFICATION", "1")],
    "insecure_env_var", "AZURE_CLI_DISABLE_CONNECTION_VERIFICATION=1",
    fix: "unset AZURE_CLI_DISABLE_CONNECTION_VERIFICATION", exit: 11);
planted!(env_npm_strict_ssl_any_case,
    files: [], env: [("NPM_CONFIG_STRICT_SSL", "false")],
    "insecure_env_var", "NPM_CONFIG_STRICT_SSL=false", fix: "unset NPM_CONFIG_STRICT_SSL", exit: 11);
planted!(env_pip_trusted_host,
    files: [], env: [("PIP_TRUSTED_HOST", "pypi.org files.pythonhosted.org")],
    "insecure_env_var", "PIP_TRUSTED_HOST=pypi.org", fix: "unset PIP_TRUSTED_HOST", exit: 11);
planted!(env_conda_ssl_verify_false,
    files: [], env: [("CONDA_SSL_VERIFY", "false")],
    "insecure_env_var", "CONDA_SSL_VERIFY=false", fix: "unset CONDA_SSL_VERIFY", exit: 11);
planted!(env_yarn_strict_ssl_off,
    files: [], env: [("YARN_ENABLE_STRICT_SSL", "false")],
    "insecure_env_var", "YARN_ENABLE_STRICT_SSL=false", fix: "unset YARN_ENABLE_STRICT_SSL", exit: 11);
planted!(env_gcloud_disable_ssl_validation,
    files: [], env: [("CLOUDSDK_AUTH_DISABLE_SSL_VALIDATION", "true")],
    "insecure_env_var", "CLOUDSDK_AUTH_DISABLE_SSL_VALIDATION=true",
    fix: "unset CLOUDSDK_AUTH_DISABLE_SSL_VALIDATION", exit: 11);
planted!(env_goinsecure,
    files: [], env: [("GOINSECURE", "*.corp.example")],
    "insecure_env_var", "GOINSECURE=*.corp.example", fix: "unset GOINSECURE", exit: 11);
planted!(env_cargo_check_revoke_is_a_warning,
    files: [], env: [("CARGO_HTTP_CHECK_REVOKE", "false")],
    "revocation_check_off", "CARGO_HTTP_CHECK_REVOKE=false", fix: "unset CARGO_HTTP_CHECK_REVOKE", exit: 10);

// --- git, read by the real git -----------------------------------------------------------------

planted!(git_ssl_verify_false_in_the_global_file,
    files: [(".gitconfig", "[user]\n\tname = A\n[http]\n\tsslVerify = false\n")], env: [],
    "insecure_git_config", "http.sslverify=false",
    fix: "git config --file $HOME/.gitconfig --unset-all http.sslverify", exit: 11);
planted!(git_ssl_verify_off_per_url_in_an_included_file,
    files: [(".gitconfig", "[include]\n\tpath = git-extra.inc\n"),
            ("git-extra.inc", "[http \"https://corp.example/\"]\n\tsslVerify = no\n")],
    env: [],
    "insecure_git_config", "http.https://corp.example/.sslverify=false",
    fix: "git config --file $HOME/git-extra.inc --unset-all http.https://corp.example/.sslverify", exit: 11);
planted!(git_ssl_verify_false_from_git_config_variables,
    files: [],
    env: [("GIT_CONFIG_COUNT", "1"), ("GIT_CONFIG_KEY_0", "http.sslVerify"), ("GIT_CONFIG_VALUE_0", "false")],
    "insecure_git_config", "http.sslverify=false",
    fix: "unset GIT_CONFIG_PARAMETERS GIT_CONFIG_COUNT", exit: 11);

// --- tools' config files -----------------------------------------------------------------------

planted!(npm_strict_ssl_false,
    files: [(".npmrc", "registry=https://registry.npmjs.org/\nstrict-ssl=false\n")], env: [],
    "insecure_config_setting", "strict-ssl=false",
    fix: "remove line 2 of ~/.npmrc: strict-ssl=false", exit: 11);
planted!(pip_trusted_host_over_continuation_lines,
    files: [(".config/pip/pip.conf", "[global]\ntimeout = 60\ntrusted-host = pypi.org\n    files.pythonhosted.org\n")],
    env: [],
    "insecure_config_setting", "trusted-host = pypi.org",
    fix: "remove line 3 of ~/.config/pip/pip.conf: trusted-host = pypi.org (and its continuation lines)", exit: 11);
planted!(pip_trusted_host_in_the_legacy_file,
    files: [(".pip/pip.conf", "[install]\ntrusted_host: pypi.org\n")], env: [],
    "insecure_config_setting", "trusted_host: pypi.org",
    fix: "remove line 2 of ~/.pip/pip.conf", exit: 11);
planted!(conda_ssl_verify_false,
    files: [(".condarc", "channels:\n  - conda-forge\nssl_verify: false\n")], env: [],
    "insecure_config_setting", "ssl_verify: false",
    fix: "remove line 3 of ~/.condarc: ssl_verify: false", exit: 11);
planted!(curl_insecure_long_form,
    files: [(".curlrc", "--silent\n--insecure\n")], env: [],
    "insecure_config_setting", "--insecure",
    fix: "remove line 2 of ~/.curlrc: --insecure", exit: 11);
planted!(curl_insecure_short_form,
    files: [(".curlrc", "# speed\n-k\n")], env: [],
    "insecure_config_setting", "-k", fix: "remove line 2 of ~/.curlrc: -k", exit: 11);
planted!(curl_insecure_bare_word,
    files: [(".curlrc", "insecure\n")], env: [],
    "insecure_config_setting", "insecure", fix: "remove line 1 of ~/.curlrc: insecure", exit: 11);
planted!(uv_allow_insecure_host,
    files: [(".config/uv/uv.toml", "native-tls = false\nallow-insecure-host = [\"pypi.org\"]\n")], env: [],
    "insecure_config_setting", "allow-insecure-host",
    fix: "remove line 2 of ~/.config/uv/uv.toml", exit: 11);
planted!(cargo_check_revoke_false_not_set_by_trust_proxy,
    files: [(".cargo/config.toml", "[net]\nretry = 3\n[http]\ncheck-revoke = false\n")], env: [],
    "revocation_check_off", "check-revoke = false",
    fix: "remove line 4 of ~/.cargo/config.toml: check-revoke = false", exit: 10);
planted!(yarn_berry_enable_strict_ssl_false,
    files: [(".yarnrc.yml", "nodeLinker: node-modules\nenableStrictSsl: false\n")], env: [],
    "insecure_config_setting", "enableStrictSsl: false",
    fix: "remove line 2 of ~/.yarnrc.yml", exit: 11);
planted!(yarn_berry_strict_ssl_off_for_one_host,
    files: [(".yarnrc.yml", "networkSettings:\n  \"*.corp.example\":\n    enableStrictSsl: false\n")], env: [],
    "insecure_config_setting", "enableStrictSsl: false",
    fix: "remove line 3 of ~/.yarnrc.yml", exit: 11);
planted!(yarn_classic_strict_ssl_false,
    files: [(".yarnrc", "strict-ssl false\n")], env: [],
    "insecure_config_setting", "strict-ssl false",
    fix: "remove line 1 of ~/.yarnrc: strict-ssl false", exit: 11);
planted!(wget_check_certificate_off,
    files: [(".wgetrc", "tries = 3\ncheck_certificate = off\n")], env: [],
    "insecure_config_setting", "check_certificate = off",
    fix: "remove line 2 of ~/.wgetrc: check_certificate = off", exit: 11);
planted!(wget_check_certificate_quiet,
    files: [(".wgetrc", "Check-Certificate=quiet\n")], env: [],
    "insecure_config_setting", "Check-Certificate=quiet",
    fix: "remove line 1 of ~/.wgetrc: Check-Certificate=quiet", exit: 11);
planted!(gcloud_disable_ssl_validation,
    files: [(".config/gcloud/configurations/config_default", "[core]\nproject = p\n[auth]\ndisable_ssl_validation = True\n")],
    env: [],
    "insecure_config_setting", "disable_ssl_validation = True",
    fix: "remove line 4 of ~/.config/gcloud/configurations/config_default", exit: 11);

// --- the rest ----------------------------------------------------------------------------------

#[test]
fn clean_setup_is_silent() {
    let home = Home::new();
    let corp = Ca::new_root("Doctor Clean Corp Root");
    let bundle = home.full_bundle("bundle.pem", &[&corp]);
    let bundle = bundle.to_str().unwrap();
    let ca_only = home.write("corp.pem", &corp.cert_pem());
    // Ordinary settings, and trust settings done right.
    home.write(
        ".gitconfig",
        &format!("[user]\n\tname = A\n[http]\n\tsslVerify = true\n\tsslCAInfo = {bundle}\n"),
    );
    home.write(
        ".npmrc",
        &format!("registry=https://registry.npmjs.org/\nstrict-ssl=true\ncafile={bundle}\n"),
    );
    home.write(
        ".config/pip/pip.conf",
        &format!("[global]\ncert = {bundle}\n"),
    );
    home.write(
        ".curlrc",
        &format!("--silent\n--no-insecure\ncacert = \"{bundle}\"\n"),
    );
    home.write(".condarc", "ssl_verify: truststore\n");
    home.write(
        ".cargo/config.toml",
        &format!("[http]\ncainfo = \"{bundle}\"\ncheck-revoke = true\n"),
    );
    home.write(".bashrc", "# export NODE_TLS_REJECT_UNAUTHORIZED=0\n");
    let env = [
        ("SSL_CERT_FILE", bundle),
        ("NODE_EXTRA_CA_CERTS", ca_only.to_str().unwrap()),
        ("NODE_TLS_REJECT_UNAUTHORIZED", "1"),
        ("npm_config_strict_ssl", "FALSE"),
    ];
    let (code, findings) = home.json(&env, &["--no-probe"]);
    assert_eq!(findings, Vec::<Value>::new());
    assert_eq!(code, 0);
    let (code, text) = home.text(&env, &["--no-probe"]);
    assert_eq!(code, 0);
    assert!(
        text.starts_with("trust-proxy doctor: no problems found."),
        "{text}"
    );
}

#[test]
fn exit_codes_follow_the_worst_severity() {
    let home = Home::new();
    let cargo = home.write(".cargo/config.toml", "[http]\ncheck-revoke = false\n");
    let (code, findings) = home.json(&[], &["--no-probe"]);
    assert_eq!((code, ids(&findings)), (10, vec!["revocation_check_off"]));

    // Recorded by trust-proxy's tools step: expected, an info line, exit 0.
    let record = format!(
        "[{{\"file\": {}, \"setting\": \"http.check-revoke\", \"tool\": \"cargo\"}}]",
        serde_json::to_string(&cargo).unwrap()
    );
    home.write("data/trust-proxy/tools.json", &record);
    let (code, findings) = home.json(&[], &["--no-probe"]);
    assert_eq!(
        (code, ids(&findings)),
        (0, vec!["revocation_check_off_expected"])
    );
    assert_eq!(findings[0]["severity"], "info");

    // A record cannot excuse a workaround: strict-ssl stays an error, listed first.
    home.write(
        "data/trust-proxy/tools.json",
        &format!(
            "[{{\"file\": {}, \"setting\": \"strict-ssl\"}}]",
            serde_json::to_string(&home.path(".npmrc")).unwrap()
        ),
    );
    home.write(".npmrc", "strict-ssl=false\n");
    let (code, findings) = home.json(&[], &["--no-probe"]);
    assert_eq!(code, 11);
    assert_eq!(
        ids(&findings),
        vec!["insecure_config_setting", "revocation_check_off"]
    );
    assert_eq!(findings[0]["severity"], "error");
    assert_eq!(findings[1]["severity"], "warning");
}

#[test]
fn bundle_variable_at_a_missing_file() {
    let home = Home::new();
    home.write(".profile", "export SSL_CERT_FILE=/opt/gone/ca-bundle.pem\n");
    let env = [
        ("SSL_CERT_FILE", "/opt/gone/ca-bundle.pem"),
        ("REQUESTS_CA_BUNDLE", "/opt/gone/other.pem"),
    ];
    let (code, findings) = home.json(&env, &["--no-probe"]);
    assert_eq!(code, 11);
    let f = find(
        &findings,
        "bundle_missing",
        "SSL_CERT_FILE=/opt/gone/ca-bundle.pem",
    );
    assert_eq!(f["severity"], "error");
    assert!(f["message"].as_str().unwrap().contains("uv >= 0.12"), "{f}");
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("~/.profile:1: export SSL_CERT_FILE=/opt/gone/ca-bundle.pem"),
        "{f}"
    );
    find(
        &findings,
        "bundle_missing",
        "REQUESTS_CA_BUNDLE=/opt/gone/other.pem",
    );
    assert_eq!(findings.len(), 2, "{findings:?}");
}

#[test]
fn a_cafile_holding_only_one_ca() {
    let home = Home::new();
    let corp = Ca::new_root("Doctor Single Corp Root");
    let ca = home.write("corp-ca.pem", &corp.cert_pem());
    home.write(".npmrc", &format!("cafile={}\n", ca.display()));
    let (code, findings) = home.json(&[], &["--no-probe"]);
    assert_eq!(code, 11);
    let f = find(&findings, "bundle_single_ca", "cafile=");
    assert_eq!(f["tool"], "npm");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("Doctor Single Corp Root"),
        "{f}"
    );
    assert!(
        f["fix"].as_str().unwrap().contains(&format!(
            "remove line 1 of ~/.npmrc: cafile={}",
            ca.display()
        )),
        "{f}"
    );
    assert_eq!(findings.len(), 1, "{findings:?}");
}

#[test]
fn a_ca_only_bundle_lacking_public_roots() {
    let home = Home::new();
    let corp = Ca::new_root("Doctor Corp Root A");
    let other = Ca::new_root("Doctor Corp Root B");
    let both = home.write("corp-cas.pem", &(corp.cert_pem() + &other.cert_pem()));
    let both = both.to_str().unwrap();
    // NODE_EXTRA_CA_CERTS adds to Node's roots: the CAs alone are right there.
    let env = [("REQUESTS_CA_BUNDLE", both), ("NODE_EXTRA_CA_CERTS", both)];
    let (code, findings) = home.json(&env, &["--no-probe"]);
    assert_eq!(code, 11);
    let f = find(
        &findings,
        "bundle_without_public_roots",
        "REQUESTS_CA_BUNDLE=",
    );
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("none of Mozilla's public roots"),
        "{f}"
    );
    assert_eq!(findings.len(), 1, "{findings:?}");
}

#[test]
fn an_expired_installed_ca() {
    let home = Home::new();
    let expired = Ca::new_root_with("Doctor Expired Root", &CaOptions::default().expired());
    home.install_state(&expired);
    let (code, findings) = home.json(&[], &["--no-probe"]);
    assert_eq!(code, 11);
    let f = find(&findings, "ca_expired", "Doctor Expired Root");
    assert!(
        f["fix"].as_str().unwrap().contains(&format!(
            "trust-proxy uninstall --scope user --fingerprint {}",
            sha256_of(&expired)
        )),
        "{f}"
    );
    // git is on PATH and names no CA file: also said, as a warning.
    find(&findings, "tool_not_configured", "");
}

#[test]
fn tools_present_but_not_configured() {
    let home = Home::new();
    let corp = Ca::new_root("Doctor Tools Root");
    home.install_state(&corp);
    home.fake_program("curl");
    home.fake_program("npm");
    let (code, findings) = home.json(&[], &["--no-probe"]);
    assert_eq!(code, 10);
    let mut fixes: Vec<&str> = findings
        .iter()
        .filter(|f| f["id"] == "tool_not_configured")
        .map(|f| f["fix"].as_str().unwrap())
        .collect();
    fixes.sort();
    assert_eq!(
        fixes,
        vec![
            "trust-proxy configure-tools --tools curl",
            "trust-proxy configure-tools --tools git",
            "trust-proxy configure-tools --tools npm",
        ]
    );
    let bundle = home.full_bundle("bundle.pem", &[&corp]);
    home.write(".curlrc", &format!("cacert = {}\n", bundle.display()));
    home.write(".npmrc", &format!("cafile={}\n", bundle.display()));
    home.write(
        ".gitconfig",
        &format!("[http]\n\tsslCAInfo = {}\n", bundle.display()),
    );
    let (code, findings) = home.json(&[], &["--no-probe"]);
    assert_eq!((code, findings.len()), (0, 0), "{findings:?}");
}

#[test]
fn the_proxy_now_uses_another_root() {
    use std::sync::Arc;
    use trust_proxy_testkit::{mint_from, InterceptingProxy, ProxyConfig};

    let home = Home::new();
    let old = Ca::new_root("Doctor Old Root");
    let new = Arc::new(Ca::new_root("Doctor New Root"));
    let proxy = InterceptingProxy::start(ProxyConfig::new(mint_from(
        new.clone(),
        vec![new.cert_der()],
    )))
    .unwrap();
    let url = proxy.url();
    let probe = [
        "--proxy",
        url.as_str(),
        "--target",
        "pypi.org",
        "--timeout",
        "5",
    ];
    // Tools configured, so the rotation is the only finding.
    home.write(
        ".gitconfig",
        "[http]\n\tsslCAInfo = /etc/ssl/certs/ca-certificates.crt\n",
    );

    home.install_state(&old);
    let (code, findings) = home.json(&[], &probe);
    assert_eq!(code, 11, "{findings:?}");
    let f = find(&findings, "ca_rotated", "Doctor New Root");
    assert!(
        f["fix"].as_str().unwrap().contains(&format!(
            "trust-proxy install --scope user --fingerprint {}",
            sha256_of(&new)
        )),
        "{f}"
    );

    home.install_state(&new);
    let (code, findings) = home.json(&[], &probe);
    assert_eq!((code, findings.len()), (0, 0), "{findings:?}");
}

#[test]
fn text_read_from_the_environment_and_files_is_escaped() {
    let home = Home::new();
    let hostile = "evil\u{1b}]0;owned\u{7}\u{202e}host";
    home.write(
        ".npmrc",
        &format!("strict-ssl=false ; {hostile}\ncafile=/nope/{hostile}\n"),
    );
    let env = [("UV_INSECURE_HOST", hostile)];
    let (code, text) = home.text(&env, &["--no-probe"]);
    assert_eq!(code, 11);
    for raw in ['\u{1b}', '\u{7}', '\u{202e}'] {
        assert!(!text.contains(raw), "raw {raw:?} in {text}");
    }
    assert!(
        text.contains("UV_INSECURE_HOST=evil\\x1b]0;owned\\x07\\u{202e}host"),
        "{text}"
    );
    let (_, findings) = home.json(&env, &["--no-probe"]);
    find(&findings, "insecure_env_var", hostile);
}
