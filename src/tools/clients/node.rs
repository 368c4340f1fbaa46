//! Node's `https.get` and npm. Node itself never reads `HTTPS_PROXY`, so its probe tunnels
//! through the proxy chosen for it; npm reads the proxy variables itself.

use super::{Env, Recipe, Site};

const HTTPS_GET: &str = include_str!("scripts/node_https.js");

pub const NODE: &[&str] = &["node"];
pub const NPM: &[&str] = &["npm"];

pub fn node(site: &Site, proxy_url: Option<String>) -> Recipe {
    let url = site.url("https://registry.npmjs.org/", "/");
    Recipe {
        args: vec!["verify_https.js".into(), url.clone().into()],
        files: vec![("verify_https.js", HTTPS_GET.as_bytes().to_vec())],
        // In the environment, not on the command line: the URL may carry proxy credentials.
        env: proxy_url
            .map(|p| vec![("TP_VERIFY_PROXY".to_string(), p)])
            .unwrap_or_default(),
        url,
    }
}

/// `npm view npm version`: one registry document, with npm's own trust (`cafile` in an npmrc
/// replaces Node's roots and NODE_EXTRA_CA_CERTS).
pub fn npm(site: &Site, timeout: f64) -> Recipe {
    let registry = site.url("https://registry.npmjs.org/", "/");
    let url = format!("{registry}npm");
    let millis = format!("--fetch-timeout={}", (timeout * 1000.0).round());
    Recipe {
        args: [
            "view",
            "npm",
            "version",
            "--registry",
            &registry,
            // Overrides a `strict-ssl=false` in any npmrc: only verified trust counts.
            "--strict-ssl=true",
            "--fetch-retries=0",
            &millis,
            "--no-update-notifier",
        ]
        .iter()
        .map(|a| a.into())
        .collect(),
        files: Vec::new(),
        env: Vec::new(),
        url,
    }
}

pub fn trust(client: super::ClientId, env: &Env) -> String {
    let mut parts = Vec::new();
    if client == super::ClientId::Npm {
        match env.first_set(&["NPM_CONFIG_CAFILE", "npm_config_cafile"]) {
            Some((k, v)) => return format!("{k}={v} (replaces Node's roots and NODE_EXTRA_CA_CERTS)"),
            None => parts.push(
                "`cafile` in an npmrc if set (replaces everything below, NODE_EXTRA_CA_CERTS included), else".to_string(),
            ),
        }
    }
    parts.push("Node's bundled Mozilla roots".to_string());
    if let Some((k, v)) = env.first_set(&["NODE_EXTRA_CA_CERTS"]) {
        parts.push(format!("+ {k}={v} (adds)"));
    }
    let options = env.get("NODE_OPTIONS").unwrap_or_default();
    if env.get("NODE_USE_SYSTEM_CA").is_some_and(|v| v == "1")
        || options.contains("--use-system-ca")
    {
        parts.push("+ the OS store (--use-system-ca)".to_string());
    }
    parts.join(" ")
}
