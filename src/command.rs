//! Runs a parsed command: reads the files, environment and OS store it names, calls the library,
//! renders the report. Errors are typed; main.rs turns them into messages and exit codes.

use crate::certinfo::Cert;
use crate::certload;
use crate::chain::CaFileCert;
use crate::classify::PublicRoots;
use crate::cli::DiscoverArgs;
use crate::discover::{self, DiscoverConfig, DiscoverResult};
use crate::proxy::{ProxyEndpoint, ProxySettings};
use crate::report;
use crate::target::{Target, DEFAULT_TARGETS};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The user asked for something invalid: exit 2.
    #[error("{0}")]
    Usage(String),
    /// A local operation failed after the work was done: exit 1.
    #[error("{0}")]
    Local(String),
}

/// What main prints and the exit code it returns.
pub struct Rendered {
    pub stdout: String,
    pub exit_code: i32,
    /// Non-fatal problems worth a line on stderr.
    pub warnings: Vec<String>,
}

pub fn run_discover(args: &DiscoverArgs) -> Result<Rendered, CommandError> {
    let mut warnings = Vec::new();
    let config = build_config(args, &mut warnings)?;
    let result = discover::discover(&config);
    let exported = match &args.export {
        Some(path) => Some(export_roots(&result, path)?),
        None => None,
    };
    let stdout = if args.json {
        report::to_json(&result, exported.clone())
    } else {
        report::to_text(&result, exported.as_deref())
    };
    Ok(Rendered {
        stdout,
        exit_code: result.outcome.exit_code(),
        warnings,
    })
}

fn build_config(
    args: &DiscoverArgs,
    warnings: &mut Vec<String>,
) -> Result<DiscoverConfig, CommandError> {
    let usage = CommandError::Usage;
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 600.0) {
        return Err(usage(
            "--timeout must be between 0 and 600 seconds".to_string(),
        ));
    }
    let targets: Vec<Target> = if args.targets.is_empty() {
        DEFAULT_TARGETS
            .iter()
            .filter_map(|t| Target::parse(t).ok())
            .collect()
    } else {
        let mut v: Vec<Target> = Vec::new();
        for t in &args.targets {
            let t = Target::parse(t).map_err(|e| usage(e.to_string()))?;
            if !v.contains(&t) {
                v.push(t);
            }
        }
        v
    };
    let mut proxy = ProxySettings::from_env(|k| std::env::var(k).ok());
    proxy.no_proxy_flag = args.no_proxy;
    if let Some(url) = &args.proxy {
        proxy.flag = Some(ProxyEndpoint::parse(url).map_err(|e| usage(e.to_string()))?);
    }
    let mut ca_files = Vec::new();
    for path in &args.ca_files {
        for cert in read_certs(path, "--ca-file")? {
            ca_files.push(CaFileCert {
                path: path.clone(),
                cert,
            });
        }
    }
    let public = match &args.public_roots {
        Some(path) => {
            let certs = read_certs(path, "--public-roots")?;
            PublicRoots::from_certs(&certs, &path.display().to_string())
                .map_err(|e| usage(e.to_string()))?
        }
        None => PublicRoots::mozilla(),
    };
    let (os_roots, os_store) = match load_os_roots() {
        Ok(v) => v,
        Err(e) => {
            warnings.push(format!(
                "the OS trust store could not be read ({e}); roots already trusted by the OS will not be recognised"
            ));
            (Vec::new(), format!("unreadable: {e}"))
        }
    };
    Ok(DiscoverConfig {
        targets,
        proxy,
        ca_files,
        public,
        os_roots,
        os_store,
        timeout: Duration::from_secs_f64(args.timeout),
        read_file: Box::new(|p| read_small_file(Path::new(p))),
    })
}

/// Vendor hint files are small PEM files; anything large is not what we look for.
fn read_small_file(path: &Path) -> Option<Vec<u8>> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > 1024 * 1024 {
        return None;
    }
    std::fs::read(path).ok()
}

fn read_certs(path: &Path, flag: &str) -> Result<Vec<Cert>, CommandError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| CommandError::Usage(format!("{flag} {}: {e}", path.display())))?;
    if meta.len() > 64 * 1024 * 1024 {
        return Err(CommandError::Usage(format!(
            "{flag} {}: larger than 64 MiB, not a certificate file",
            path.display()
        )));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| CommandError::Usage(format!("{flag} {}: {e}", path.display())))?;
    certload::load_certs(&bytes)
        .map_err(|e| CommandError::Usage(format!("{flag} {}: {e}", path.display())))
}

fn load_os_roots() -> Result<(Vec<Cert>, String), String> {
    let ders = trust_proxy_platform::os_roots().map_err(|e| e.to_string())?;
    let description = trust_proxy_platform::os_store(trust_proxy_platform::Scope::System)
        .map(|s| s.describe())
        .unwrap_or_else(|_| "the OS trust store".to_string());
    let certs: Vec<Cert> = ders
        .iter()
        .filter_map(|d| Cert::parse(d.as_ref()).ok())
        .collect();
    Ok((
        certs.clone(),
        format!("{description} ({} roots)", certs.len()),
    ))
}

fn export_roots(result: &DiscoverResult, path: &Path) -> Result<String, CommandError> {
    if result.roots.is_empty() {
        return Err(CommandError::Local(format!(
            "--export {}: no interception root was found, nothing written",
            path.display()
        )));
    }
    let mut pem = String::new();
    for r in &result.roots {
        pem.push_str(&format!(
            "# {}\n# SHA-256 {}\n",
            crate::tunnel::printable(&r.root.info.subject),
            r.root.sha256()
        ));
        pem.push_str(&r.root.to_pem());
    }
    trust_proxy_platform::fs_safe::write_atomic(path, pem.as_bytes(), 0o644)
        .map_err(|e| CommandError::Local(format!("--export {}: {e}", path.display())))?;
    Ok(path.display().to_string())
}
