//! `verify`: the real clients on this machine (python3, requests, httpx, pip, uv, curl, git,
//! node, npm, cargo, openssl, java), each making one real HTTPS request through the proxy with
//! only the trust it is configured with, in parallel, each with a deadline; then, per client,
//! works or fails with the tool's own words and the command that fixes it.
//!
//! Nothing here weakens verification: the probes pass no insecure flag, force verification on
//! where a config file could have turned it off (`git -c http.sslVerify=true`, `npm
//! --strict-ssl=true`, `curl --no-insecure`), and the variables that turn it off are removed
//! from the children's environment ([`INSECURE_VARIABLES`]). A 404 from the server is a pass:
//! it came over a verified connection.

pub mod cargo;
pub mod classify;
pub mod java;
pub mod native;
pub mod node;
pub mod python;

use crate::discover::proxy::{ProxyScheme, ProxySettings};
use crate::discover::target::Target;
use crate::process::{self as run, ChildEnv, Ended, Spawn};
use classify::{Status, Verdict};
use serde::Serialize;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Every client `verify` knows, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ClientId {
    /// python3's `ssl` default context with urllib.
    Python,
    Requests,
    Httpx,
    Pip,
    Uv,
    Curl,
    Git,
    Node,
    Npm,
    Cargo,
    Openssl,
    Java,
}

impl ClientId {
    pub const ALL: [ClientId; 12] = [
        ClientId::Python,
        ClientId::Requests,
        ClientId::Httpx,
        ClientId::Pip,
        ClientId::Uv,
        ClientId::Curl,
        ClientId::Git,
        ClientId::Node,
        ClientId::Npm,
        ClientId::Cargo,
        ClientId::Openssl,
        ClientId::Java,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClientId::Python => "python",
            ClientId::Requests => "requests",
            ClientId::Httpx => "httpx",
            ClientId::Pip => "pip",
            ClientId::Uv => "uv",
            ClientId::Curl => "curl",
            ClientId::Git => "git",
            ClientId::Node => "node",
            ClientId::Npm => "npm",
            ClientId::Cargo => "cargo",
            ClientId::Openssl => "openssl",
            ClientId::Java => "java",
        }
    }

    /// What the report calls it.
    pub fn title(self) -> &'static str {
        match self {
            ClientId::Python => "python3 (ssl default context, urllib)",
            ClientId::Requests => "requests (python3)",
            ClientId::Httpx => "httpx (python3)",
            ClientId::Pip => "pip (index versions)",
            ClientId::Uv => "uv (pip compile)",
            ClientId::Curl => "curl",
            ClientId::Git => "git (ls-remote)",
            ClientId::Node => "node (https.get)",
            ClientId::Npm => "npm (view)",
            ClientId::Cargo => "cargo (generate-lockfile, sparse index)",
            ClientId::Openssl => "openssl (s_client)",
            ClientId::Java => "java (HttpsURLConnection)",
        }
    }

    /// The programs that run it, looked up on the child's PATH in this order.
    pub fn programs(self) -> &'static [&'static str] {
        match self {
            ClientId::Python | ClientId::Requests | ClientId::Httpx => python::PYTHON,
            ClientId::Pip => python::PIP,
            ClientId::Uv => python::UV,
            ClientId::Curl => native::CURL,
            ClientId::Git => native::GIT,
            ClientId::Node => node::NODE,
            ClientId::Npm => node::NPM,
            ClientId::Cargo => cargo::CARGO,
            ClientId::Openssl => native::OPENSSL,
            ClientId::Java => java::JAVA,
        }
    }
}

/// Variables that switch verification off, or make a client trust a host blindly. A child never
/// sees them: a pass must come from trust, not from a workaround (`doctor` reports them).
pub const INSECURE_VARIABLES: &[&str] = &[
    "NODE_TLS_REJECT_UNAUTHORIZED",
    "PYTHONHTTPSVERIFY",
    "GIT_SSL_NO_VERIFY",
    "UV_INSECURE_HOST",
    "PIP_TRUSTED_HOST",
    "NPM_CONFIG_STRICT_SSL",
    "npm_config_strict_ssl",
];

/// Where a client sends its request: its own ecosystem's public host, or a `--target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Site {
    Default,
    Custom(Target),
}

impl Site {
    /// `default` for [`Site::Default`], else `https://HOST[:PORT]` + `path`.
    pub fn url(&self, default: &str, path: &str) -> String {
        match self {
            Site::Default => default.to_string(),
            Site::Custom(t) => {
                let authority = if t.port == 443 {
                    match t.ip() {
                        Some(std::net::IpAddr::V6(_)) => format!("[{}]", t.host),
                        _ => t.host.clone(),
                    }
                } else {
                    t.authority()
                };
                format!("https://{authority}{path}")
            }
        }
    }

    pub fn host_port(&self, default_host: &str) -> (String, u16) {
        match self {
            Site::Default => (default_host.to_string(), 443),
            Site::Custom(t) => (t.host.clone(), t.port),
        }
    }

    /// The host the request goes to, for the proxy choice (`NO_PROXY`).
    fn target(&self, url: &str) -> Option<Target> {
        match self {
            Site::Custom(t) => Some(t.clone()),
            Site::Default => Target::parse(url).ok(),
        }
    }
}

/// The children's environment, as a login shell would have it.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub vars: Vec<(OsString, OsString)>,
}

impl Env {
    pub fn get(&self, name: &str) -> Option<String> {
        self.vars
            .iter()
            .rev()
            .find(|(k, _)| k == OsStr::new(name))
            .and_then(|(_, v)| v.to_str().map(str::to_string))
            .filter(|v| !v.is_empty())
    }

    /// The first of `names` that is set and not empty, with its value.
    pub fn first_set(&self, names: &[&str]) -> Option<(String, String)> {
        names
            .iter()
            .find_map(|n| self.get(n).map(|v| (n.to_string(), v)))
    }

    /// Sets (or replaces) a variable.
    pub fn set(&mut self, name: &str, value: impl Into<OsString>) {
        self.remove(name);
        self.vars.push((name.into(), value.into()));
    }

    pub fn remove(&mut self, name: &str) {
        self.vars.retain(|(k, _)| k != OsStr::new(name));
    }

    fn path(&self) -> Option<OsString> {
        self.vars
            .iter()
            .rev()
            .find(|(k, _)| {
                k == OsStr::new("PATH") || (cfg!(windows) && k.eq_ignore_ascii_case("PATH"))
            })
            .map(|(_, v)| v.clone())
    }
}

/// What one client is asked to run: arguments, files it needs in its directory, variables
/// added for it, and the URL it fetches (for the report).
#[derive(Debug, Clone)]
pub struct Recipe {
    pub args: Vec<OsString>,
    pub files: Vec<(&'static str, Vec<u8>)>,
    pub env: Vec<(String, String)>,
    pub url: String,
}

/// What the fixes may name.
#[derive(Debug, Clone, Default)]
pub struct FixContext {
    /// A trust-proxy installation was found (its variables are in the children's environment).
    pub installed: bool,
    /// The installed CA file (root + intermediates), for the Java import command.
    pub proxy_ca: Option<PathBuf>,
    /// The installed CAs' SHA-256 fingerprints, for commands that re-run install.
    pub fingerprints: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct VerifyConfig {
    pub clients: Vec<ClientId>,
    /// Empty: each client's own default host.
    pub targets: Vec<Target>,
    pub env: Env,
    /// Per client.
    pub timeout: Duration,
    pub fix: FixContext,
}

/// One client's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct ClientResult {
    pub client: ClientId,
    pub title: &'static str,
    /// Where the program was found; `None`: not on PATH (not counted).
    pub program: Option<PathBuf>,
    /// The version the probe reported (python, requests, httpx, node, java).
    pub version: Option<String>,
    pub url: String,
    pub status: Status,
    pub passed: bool,
    pub http_status: Option<u16>,
    /// The tool's own line that decided the status, as it printed it.
    pub reason: Option<String>,
    /// The exact command (or step) that fixes it; `None` when it works.
    pub fix: Option<String>,
    /// Which setting the client took its roots from, read from its environment.
    pub trust: String,
    /// The command run (no credentials in it).
    pub command: String,
    pub seconds: f64,
}

impl ClientResult {
    pub fn found(&self) -> bool {
        self.program.is_some()
    }
    pub fn counted(&self) -> bool {
        self.found() && self.status.checked()
    }
}

/// Runs every client of `config` found on the PATH in `config.env`, all at once, each in a
/// fresh directory with its own deadline, and returns their outcomes in report order.
pub fn verify_clients(config: &VerifyConfig) -> Vec<ClientResult> {
    verify_clients_observed(config, &|_| {})
}

/// [`verify_clients`], calling `finished` from each check's thread as it ends (progress at a
/// terminal; the library prints nothing itself).
pub fn verify_clients_observed(
    config: &VerifyConfig,
    finished: &(dyn Fn(&ClientResult) + Sync),
) -> Vec<ClientResult> {
    let sites: Vec<Site> = if config.targets.is_empty() {
        vec![Site::Default]
    } else {
        config.targets.iter().cloned().map(Site::Custom).collect()
    };
    let jobs: Vec<(ClientId, Site)> = config
        .clients
        .iter()
        .flat_map(|c| sites.iter().map(move |s| (*c, s.clone())))
        .collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|(client, site)| {
                scope.spawn(move || {
                    let result = check_one(*client, site, config);
                    finished(&result);
                    result
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(&jobs)
            .map(|(h, (client, site))| {
                h.join().unwrap_or_else(|_| {
                    internal_failure(*client, site, "the check's thread failed")
                })
            })
            .collect()
    })
}

fn internal_failure(client: ClientId, site: &Site, why: &str) -> ClientResult {
    ClientResult {
        client,
        title: client.title(),
        program: None,
        version: None,
        url: site.url("", "/"),
        status: Status::CouldNotTell,
        passed: false,
        http_status: None,
        reason: Some(why.to_string()),
        fix: None,
        trust: String::new(),
        command: String::new(),
        seconds: 0.0,
    }
}

/// One client's raw run: the program found, what it was asked, and what it printed. `Ok(None)`:
/// the program is not on the PATH of `env`.
pub fn probe(
    client: ClientId,
    site: &Site,
    env: &Env,
    timeout: Duration,
) -> Result<Option<(PathBuf, Recipe, run::Finished)>, String> {
    let path = env.path();
    let Some(program) = client
        .programs()
        .iter()
        .find_map(|name| find_on_path(name, path.as_deref()))
    else {
        return Ok(None);
    };
    let recipe = recipe(client, site, env, timeout.as_secs_f64())?;
    let finished = run_recipe(&program, &recipe, env, timeout)?;
    Ok(Some((program, recipe, finished)))
}

fn check_one(client: ClientId, site: &Site, config: &VerifyConfig) -> ClientResult {
    let mut result = internal_failure(client, site, "");
    result.trust = trust(client, &config.env);
    if let Ok(recipe) = recipe(client, site, &config.env, config.timeout.as_secs_f64()) {
        result.url = recipe.url.clone();
        result.command = command_line(client.programs().first().copied().unwrap_or(""), &recipe);
    }
    match probe(client, site, &config.env, config.timeout) {
        Ok(None) => {
            result.status = Status::NotAvailable;
            result.reason = Some("not found on PATH".to_string());
        }
        Err(why) => {
            let path = config.env.path();
            result.program = client
                .programs()
                .iter()
                .find_map(|name| find_on_path(name, path.as_deref()));
            result.reason = Some(why);
            result.fix = Some(format!("run it yourself to see: {}", result.command));
        }
        Ok(Some((program, recipe, finished))) => {
            // The name actually found (pip3 where there is no pip).
            if let Some(name) = program.file_stem().and_then(|n| n.to_str()) {
                result.command = command_line(name, &recipe);
            }
            result.program = Some(program);
            result.seconds = finished.elapsed.as_secs_f64();
            result.version = finished
                .stdout
                .lines()
                .find_map(|l| l.trim().strip_prefix("TP-VERSION "))
                .map(|v| v.trim().to_string());
            let verdict =
                classify::classify(client, &finished.ended, &finished.stdout, &finished.stderr);
            apply_verdict(&mut result, verdict, &finished.ended, config);
        }
    }
    result
}

fn apply_verdict(
    result: &mut ClientResult,
    verdict: Verdict,
    ended: &Ended,
    config: &VerifyConfig,
) {
    result.status = verdict.status;
    result.passed = verdict.status.passed();
    result.http_status = verdict.http_status;
    result.reason = match verdict.status {
        Status::TimedOut => Some(format!(
            "no result within {} s: killed{}",
            config.timeout.as_secs_f64(),
            verdict
                .evidence
                .map(|e| format!(" (last line: {e})"))
                .unwrap_or_default()
        )),
        Status::CouldNotTell if verdict.evidence.is_none() => Some(match ended {
            Ended::Exited(code) => format!("exited with {code} and printed nothing"),
            _ => "ended without printing anything".to_string(),
        }),
        Status::NotAvailable => verdict.evidence.map(|e| {
            e.trim_start_matches(classify::NOT_INSTALLED_MARKER)
                .trim()
                .to_string()
        }),
        _ => verdict.evidence,
    };
    result.fix = fix(result, &config.fix, config.timeout);
}

fn recipe(client: ClientId, site: &Site, env: &Env, timeout: f64) -> Result<Recipe, String> {
    Ok(match client {
        ClientId::Python => python::urllib(site, timeout),
        ClientId::Requests => python::requests(site, timeout),
        ClientId::Httpx => python::httpx(site, timeout),
        ClientId::Pip => python::pip(site, timeout),
        ClientId::Uv => python::uv(site),
        ClientId::Curl => native::curl(site, timeout),
        ClientId::Git => native::git(site),
        ClientId::Npm => node::npm(site, timeout),
        ClientId::Cargo => cargo::cargo(site),
        ClientId::Node => {
            let proxy = explicit_proxy(site, "https://registry.npmjs.org/", env)?;
            node::node(site, proxy.map(|p| p.full_url))
        }
        ClientId::Openssl => {
            let proxy = explicit_proxy(site, "https://static.crates.io/", env)?;
            native::openssl(site, proxy.as_ref().map(|p| &p.endpoint))
        }
        ClientId::Java => {
            let proxy = explicit_proxy(site, "https://pypi.org/simple/pip/", env)?;
            java::java(
                site,
                timeout,
                proxy.map(|p| (p.endpoint.host, p.endpoint.port)),
            )
        }
    })
}

struct Explicit {
    endpoint: crate::discover::proxy::ProxyEndpoint,
    /// With credentials, for the child's environment only.
    full_url: String,
}

/// The proxy for a client that does not read the proxy variables itself (node, openssl, java):
/// chosen from the same variables, with `NO_PROXY`, as discover chooses.
fn explicit_proxy(site: &Site, default_url: &str, env: &Env) -> Result<Option<Explicit>, String> {
    let Some(target) = site.target(default_url) else {
        return Ok(None);
    };
    let settings = ProxySettings::from_env(|k| env.get(k));
    let choice = settings.choose(&target).map_err(|e| e.to_string())?;
    let Some(endpoint) = choice.endpoint else {
        return Ok(None);
    };
    if endpoint.scheme == ProxyScheme::Https {
        return Err(format!(
            "an https:// proxy ({}) cannot be given to this probe; the clients that read HTTPS_PROXY themselves are checked",
            endpoint.display_url()
        ));
    }
    let full_url = match &endpoint.credentials {
        Some(c) => {
            let enc = |s: &str| {
                percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
                    .to_string()
            };
            format!(
                "http://{}:{}@{}",
                enc(&c.user),
                enc(&c.password),
                endpoint.address().authority()
            )
        }
        None => endpoint.env_url(),
    };
    Ok(Some(Explicit { endpoint, full_url }))
}

fn trust(client: ClientId, env: &Env) -> String {
    match client {
        ClientId::Python | ClientId::Requests | ClientId::Httpx | ClientId::Pip | ClientId::Uv => {
            python::trust(client, env)
        }
        ClientId::Node | ClientId::Npm => node::trust(client, env),
        ClientId::Cargo => cargo::trust(env),
        ClientId::Java => java::trust(env),
        ClientId::Curl | ClientId::Git | ClientId::Openssl => native::trust(client, env),
    }
}

fn command_line(program: &str, recipe: &Recipe) -> String {
    let mut parts = vec![program.to_string()];
    parts.extend(recipe.args.iter().map(|a| {
        let a = a.to_string_lossy();
        if a.is_empty() || a.contains([' ', '"', '\'', '%', '{', '}']) {
            format!("'{}'", a.replace('\'', "'\\''"))
        } else {
            a.into_owned()
        }
    }));
    parts.join(" ")
}

/// A client program on the child's PATH.
pub fn find_on_path(name: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    let extensions = run::executable_extensions(cfg!(windows), None);
    run::find_on_path(name, path?, &extensions)
}

/// Writes the recipe's files into a fresh directory and runs it there.
fn run_recipe(
    program: &Path,
    recipe: &Recipe,
    env: &Env,
    timeout: Duration,
) -> Result<run::Finished, String> {
    let dir = WorkDir::new().map_err(|e| format!("could not make a directory to run in: {e}"))?;
    for (name, bytes) in &recipe.files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        trust_proxy_platform::fs_safe::write_atomic(&path, bytes, 0o600)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let mut vars = env.vars.clone();
    for (k, v) in &recipe.env {
        vars.retain(|(name, _)| name != OsStr::new(k));
        vars.push((k.into(), v.into()));
    }
    run::run_bounded(&Spawn {
        program: program.to_path_buf(),
        args: recipe.args.clone(),
        dir: Some(dir.path().to_path_buf()),
        env: ChildEnv::Only(vars),
        timeout,
        output_limit: run::OUTPUT_LIMIT,
    })
    .map_err(|e| e.to_string())
}

/// A fresh directory only this user can write into, removed afterwards: a client's files
/// (`Fetch.java`, `Cargo.toml`) must not be swappable by someone else before it runs them.
struct WorkDir {
    path: PathBuf,
    _guard: Box<dyn AsRef<Path> + Send>,
}

impl WorkDir {
    fn new() -> Result<WorkDir, String> {
        #[cfg(unix)]
        let guard: Box<dyn AsRef<Path> + Send> = {
            // Elevated, $TMPDIR may be a user's: a root-owned sticky parent instead (its real
            // path: macOS's /tmp is a symlink, which the ownership check refuses).
            let privileged = trust_proxy_platform::is_elevated();
            let parent = if cfg!(target_os = "macos") {
                "/private/tmp"
            } else {
                "/tmp"
            };
            Box::new(
                trust_proxy_platform::private_dir::private_dir(Path::new(parent), privileged)
                    .map_err(|e| e.to_string())?,
            )
        };
        #[cfg(not(unix))]
        let guard: Box<dyn AsRef<Path> + Send> = Box::new(PortableDir::new()?);
        // The real path: on macOS the temporary directory sits behind a symlink, which the
        // symlink-refusing writes would reject.
        let path = std::fs::canonicalize(guard.as_ref().as_ref()).map_err(|e| e.to_string())?;
        Ok(WorkDir {
            path,
            _guard: guard,
        })
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

/// Windows: a new directory under the user's temporary directory, created (never reused) and
/// removed on drop.
#[cfg(not(unix))]
struct PortableDir(PathBuf);

#[cfg(not(unix))]
impl PortableDir {
    fn new() -> Result<PortableDir, String> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "trust-proxy-verify-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(PortableDir(path))
    }
}

#[cfg(not(unix))]
impl AsRef<Path> for PortableDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

#[cfg(not(unix))]
impl Drop for PortableDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The tool names `trust-proxy configure-tools --tools` takes for the clients it configures.
fn configurable(client: ClientId) -> Option<&'static str> {
    match client {
        ClientId::Pip => Some("pip"),
        ClientId::Uv => Some("uv"),
        ClientId::Curl => Some("curl"),
        ClientId::Git => Some("git"),
        ClientId::Node => Some("node"),
        ClientId::Npm => Some("npm"),
        ClientId::Cargo => Some("cargo"),
        _ => None,
    }
}

/// The command that fixes a failure, for this client and what is installed.
fn fix(result: &ClientResult, ctx: &FixContext, timeout: Duration) -> Option<String> {
    let install = "trust-proxy discover (check the fingerprint with IT), then trust-proxy install --fingerprint SHA256";
    match result.status {
        Status::Works | Status::NotAvailable => None,
        Status::StrictX509 => Some(
            "ask IT (whoever runs the proxy) to re-issue the CA: Python >= 3.13 checks it with VERIFY_X509_STRICT (critical basicConstraints, keyUsage, subject and authority key identifiers); no trust setting fixes this, and turning the check off is not a fix".to_string(),
        ),
        Status::CertificateRejected => Some(if !ctx.installed {
            install.to_string()
        } else if let Some(tool) = configurable(result.client) {
            format!("trust-proxy configure-tools --tools {tool}")
        } else if result.client == ClientId::Java {
            let pins: String = if ctx.fingerprints.is_empty() {
                " --fingerprint SHA256".to_string()
            } else {
                ctx.fingerprints
                    .iter()
                    .map(|f| format!(" --fingerprint {f}"))
                    .collect()
            };
            let ca = ctx
                .proxy_ca
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "proxy-ca.pem".to_string());
            format!("sudo trust-proxy install --scope system --java{pins} (each JDK's keystore), or by hand: keytool -importcert -cacerts -noprompt -alias trust-proxy -file {ca}")
        } else {
            // Its variables were in the environment and it still failed: the installed CA is
            // not the one the proxy signs with now (a rotation), or the bundle lost it.
            format!("trust-proxy status (is the bundle intact?); if it is, the proxy now signs with another CA: {install}")
        }),
        Status::NameMismatch => Some(
            "not a trust problem: the certificate is not for this host; tell the proxy's administrators (or check --target)".to_string(),
        ),
        Status::Unreachable => Some(
            "not a trust problem: the request did not reach a TLS handshake; check the proxy (--proxy URL or HTTPS_PROXY) and the network".to_string(),
        ),
        Status::TimedOut => Some(format!(
            "check that the proxy answers from here, or give it longer: --timeout {}",
            (timeout.as_secs_f64() * 2.0).ceil()
        )),
        Status::CouldNotTell => Some(format!("run it yourself to see: {}", result.command)),
    }
}
