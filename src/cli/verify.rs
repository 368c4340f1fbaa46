//! `trust-proxy verify`: builds the clients' environment (this one, plus what the installed env
//! snippet sets, as a new login shell would have it, plus `--proxy`, minus the variables that
//! switch verification off), runs every client (`tools::clients`), renders the outcome.

use crate::cli::args::VerifyArgs;
use crate::cli::command::{CommandError, Rendered};
use crate::cli::progress::Progress;
use crate::discover::proxy::{ProxyEndpoint, ProxySettings};
use crate::discover::target::Target;
use crate::install::layout::Layout;
use crate::terminal_text::{escaped, printable};
use crate::tools::clients::classify::Status;
use crate::tools::clients::{
    self, ClientId, ClientResult, Env, FixContext, VerifyConfig, INSECURE_VARIABLES,
};
use serde::Serialize;
use std::path::Path;
use std::time::Duration;
use trust_proxy_platform::Scope;

/// Exit status when no client could be checked at all.
pub const EXIT_NOTHING_CHECKED: i32 = crate::exit_status::ExitStatus::NothingChecked.code();
/// Exit status when a client failed (the one install uses for a failed verification).
pub const EXIT_FAILED: i32 = crate::exit_status::ExitStatus::VerificationFailed.code();

/// Where the children's trust variables came from.
#[derive(Debug, Clone, Serialize)]
pub struct EnvSource {
    /// "user" or "system": the installation whose snippet was applied; `None`: nothing
    /// installed, the current environment only.
    pub installation: Option<String>,
    /// The variables the snippet set (names; values are in each client's `trust`).
    pub snippet_variables: Vec<String>,
    /// Variables removed from the children's environment because they weaken verification.
    pub removed_insecure: Vec<String>,
    /// Installations that could not be read, and why.
    pub unreadable: Vec<String>,
}

#[derive(Debug, Serialize)]
struct VerifyReport<'a> {
    schema_version: u32,
    command: &'static str,
    exit_code: i32,
    proxy: String,
    environment: &'a EnvSource,
    timeout_seconds: f64,
    checked: usize,
    passed: usize,
    not_found: Vec<ClientId>,
    clients: Vec<&'a ClientResult>,
}

pub fn run_verify(args: &VerifyArgs) -> Result<Rendered, CommandError> {
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 600.0) {
        return Err(CommandError::Usage(
            "--timeout must be between 0 and 600 seconds".to_string(),
        ));
    }
    let mut targets: Vec<Target> = Vec::new();
    for t in &args.targets {
        let t = Target::parse(t).map_err(|e| CommandError::Usage(format!("--target {e}")))?;
        if !targets.contains(&t) {
            targets.push(t);
        }
    }
    let proxy_flag = match &args.proxy {
        Some(url) => {
            Some(ProxyEndpoint::parse(url).map_err(|e| CommandError::Usage(e.to_string()))?)
        }
        None => None,
    };
    let (env, source, fix) = child_environment(args.proxy.as_deref(), installed_variables());
    let clients = if args.tools.is_empty() {
        ClientId::ALL.to_vec()
    } else {
        let mut v = args.tools.clone();
        v.sort();
        v.dedup();
        v
    };
    let proxy = describe_proxy(&env, proxy_flag.as_ref(), targets.first());
    let config = VerifyConfig {
        clients,
        targets,
        env,
        timeout: Duration::from_secs_f64(args.timeout),
        fix,
    };
    let progress = Progress::start(
        "checking clients",
        config.clients.len() * config.targets.len().max(1),
        args.json,
    );
    let results = clients::verify_clients_observed(&config, &|r| progress.client_done(r));
    progress.finish();
    let exit_code = exit_code(&results);
    let stdout = if args.json {
        to_json(&results, &source, &proxy, args.timeout, exit_code)
    } else {
        to_text(&results, &source, &proxy)
    };
    Ok(Rendered {
        stdout,
        exit_code,
        warnings: source.unreadable.clone(),
    })
}

/// 0 when every client checked works, [`EXIT_FAILED`] when one does not,
/// [`EXIT_NOTHING_CHECKED`] when none could be checked.
pub fn exit_code(results: &[ClientResult]) -> i32 {
    let counted: Vec<&ClientResult> = results.iter().filter(|r| r.counted()).collect();
    if counted.is_empty() {
        EXIT_NOTHING_CHECKED
    } else if counted.iter().all(|r| r.passed) {
        0
    } else {
        EXIT_FAILED
    }
}

/// What an installation's snippet sets, and for which scope: the user's first (what their
/// shell sources last), else the system's.
pub struct Installed {
    pub scope: Option<Scope>,
    pub variables: Vec<(String, String)>,
    pub proxy_ca: Option<std::path::PathBuf>,
    pub fingerprints: Vec<String>,
    pub unreadable: Vec<String>,
}

fn installed_variables() -> Installed {
    let mut unreadable = Vec::new();
    for scope in [Scope::User, Scope::System] {
        #[cfg(target_os = "linux")]
        let os_bundle = (scope == Scope::System)
            .then(|| {
                trust_proxy_platform::linux::LinuxStore::detect("/")
                    .bundle_path()
                    .ok()
            })
            .flatten();
        #[cfg(not(target_os = "linux"))]
        let os_bundle = None;
        let Ok(layout) = Layout::new(scope, Path::new("/"), os_bundle) else {
            continue;
        };
        let name = crate::install::scope_name(&layout);
        match crate::install::load_state(&layout) {
            Ok(Some(state)) => {
                let effective = crate::install::effective_layout(&layout, &state);
                match crate::install::env_vars(&effective, &state) {
                    Ok(variables) => {
                        return Installed {
                            scope: Some(scope),
                            variables,
                            proxy_ca: Some(effective.proxy_ca()),
                            fingerprints: state.cas.iter().map(|c| c.sha256.clone()).collect(),
                            unreadable,
                        }
                    }
                    Err(e) => unreadable.push(format!("the {name}-scope installation: {e}")),
                }
            }
            Ok(None) => {}
            Err(e) => unreadable.push(format!("the {name}-scope installation: {e}")),
        }
    }
    Installed {
        scope: None,
        variables: Vec::new(),
        proxy_ca: None,
        fingerprints: Vec::new(),
        unreadable,
    }
}

/// This process's environment, with the installation's variables over it (as a login shell
/// that sources the snippet has them), `--proxy` over that, and the insecure variables removed.
pub fn child_environment(
    proxy_flag: Option<&str>,
    installed: Installed,
) -> (Env, EnvSource, FixContext) {
    let mut env = Env {
        vars: std::env::vars_os().collect(),
    };
    for (k, v) in &installed.variables {
        env.set(k, v);
    }
    if let Some(url) = proxy_flag {
        for name in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] {
            env.set(name, url);
        }
    }
    let mut removed = Vec::new();
    for name in INSECURE_VARIABLES {
        if env.get(name).is_some() {
            removed.push(name.to_string());
        }
        env.remove(name);
    }
    let source = EnvSource {
        installation: installed.scope.map(|s| match s {
            Scope::User => "user".to_string(),
            Scope::System => "system".to_string(),
        }),
        snippet_variables: installed.variables.iter().map(|(k, _)| k.clone()).collect(),
        removed_insecure: removed,
        unreadable: installed.unreadable,
    };
    let fix = FixContext {
        installed: installed.scope.is_some(),
        proxy_ca: installed.proxy_ca,
        fingerprints: installed.fingerprints,
    };
    (env, source, fix)
}

fn describe_proxy(env: &Env, flag: Option<&ProxyEndpoint>, first: Option<&Target>) -> String {
    if let Some(p) = flag {
        return format!("proxy {} (from --proxy)", p.display_url());
    }
    let settings = ProxySettings::from_env(|k| env.get(k));
    let target = first.cloned().unwrap_or(Target {
        host: "pypi.org".to_string(),
        port: 443,
    });
    match settings.choose(&target) {
        Ok(choice) => choice.explain(),
        Err(e) => format!("unusable proxy setting: {e}"),
    }
}

fn to_json(
    results: &[ClientResult],
    source: &EnvSource,
    proxy: &str,
    timeout: f64,
    exit_code: i32,
) -> String {
    let report = VerifyReport {
        schema_version: 1,
        command: "verify",
        exit_code,
        proxy: proxy.to_string(),
        environment: source,
        timeout_seconds: timeout,
        checked: results.iter().filter(|r| r.counted()).count(),
        passed: results.iter().filter(|r| r.counted() && r.passed).count(),
        not_found: results
            .iter()
            .filter(|r| !r.found())
            .map(|r| r.client)
            .collect(),
        clients: results.iter().filter(|r| r.found()).collect(),
    };
    crate::terminal_text::to_json_pretty(&report)
        .unwrap_or_else(|e| format!("{{\"error\": \"the report could not be encoded: {e}\"}}"))
}

fn to_text(results: &[ClientResult], source: &EnvSource, proxy: &str) -> String {
    let counted: Vec<&ClientResult> = results.iter().filter(|r| r.counted()).collect();
    let passed = counted.iter().filter(|r| r.passed).count();
    let mut out = String::new();
    let trust = match &source.installation {
        Some(scope) => format!(
            "the {scope}-scope installation's variables over this environment, as a new login shell has them ({})",
            source.snippet_variables.join(", ")
        ),
        None => "this environment only (nothing installed by trust-proxy)".to_string(),
    };
    let verdict = match counted.len() {
        0 => "no client checked".to_string(),
        1 => format!("{passed} of 1 client works"),
        n => format!("{passed} of {n} clients work"),
    };
    out.push_str(&format!(
        "trust-proxy verify: {verdict}; {}\ntrust: {}\n",
        escaped(proxy),
        escaped(&trust)
    ));
    for r in results.iter().filter(|r| r.found()) {
        let version = r
            .version
            .as_deref()
            .map(|v| format!(" [{}]", printable(v)))
            .unwrap_or_default();
        let answer = r
            .http_status
            .map(|s| format!(" -> HTTP {s}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "\n{:<8} {}{version}  {}{answer}  ({:.1} s)\n",
            match r.status {
                _ if r.passed => "works",
                Status::NotAvailable => "absent",
                Status::CouldNotTell => "UNKNOWN",
                _ => "FAILS",
            },
            r.title,
            printable(&r.url),
            r.seconds
        ));
        if !r.passed {
            out.push_str(&format!("         {}", r.status.what()));
            if let Some(reason) = &r.reason {
                out.push_str(&format!(": {}", printable(reason)));
            }
            out.push('\n');
        }
        if let Some(fix) = &r.fix {
            out.push_str(&format!("         fix: {}\n", escaped(fix)));
        }
        out.push_str(&format!("         trust: {}\n", escaped(&r.trust)));
    }
    let missing: Vec<&str> = results
        .iter()
        .filter(|r| !r.found())
        .map(|r| r.client.as_str())
        .collect();
    if !missing.is_empty() {
        out.push_str(&format!("\nnot found on PATH: {}\n", missing.join(", ")));
    }
    if !source.removed_insecure.is_empty() {
        out.push_str(&format!(
            "\nremoved from the clients' environment, because they switch verification off (`trust-proxy doctor` reports them): {}\n",
            source.removed_insecure.join(", ")
        ));
    }
    if counted.is_empty() {
        let unimportable: Vec<&str> = results
            .iter()
            .filter(|r| r.found() && !r.counted())
            .map(|r| r.client.as_str())
            .collect();
        out.push_str(&if unimportable.is_empty() {
            "\nno client could be checked: none of them is on PATH (verify runs the real tools: run it where the ones you use are installed, with that PATH)".to_string()
        } else {
            format!(
                "\nno client could be checked: python3 cannot import {}; install it for python3, or name other clients with --tools",
                unimportable.join(" or ")
            )
        });
    }
    out.trim_end().to_string()
}
