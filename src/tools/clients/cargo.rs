//! cargo: `cargo generate-lockfile` in a throwaway package whose one dependency makes cargo
//! fetch from the sparse index (https://index.crates.io/ by default), through libcurl with
//! cargo's own trust (`[http] cainfo`, `CARGO_HTTP_CAINFO`, else libcurl's default).

use super::{Env, Recipe, Site};

pub const CARGO: &[&str] = &["cargo"];

const REGISTRY: &str = "trust-proxy-probe";

pub fn cargo(site: &Site) -> Recipe {
    let manifest_head = "[package]\nname = \"trust-proxy-verify-probe\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\n";
    let (dependency, url, mut args) = match site {
        Site::Default => (
            "cfg-if = \"*\"\n".to_string(),
            "https://index.crates.io/cf/g-/cfg-if".to_string(),
            Vec::new(),
        ),
        Site::Custom(_) => {
            let index = site.url("", "/");
            (
                format!("trust-proxy-verify-probe-dep = {{ version = \"*\", registry = \"{REGISTRY}\" }}\n"),
                format!("{index}config.json"),
                vec![
                    "--config".to_string(),
                    format!("registries.{REGISTRY}.index=\"sparse+{index}\""),
                ],
            )
        }
    };
    let mut all = vec![
        "generate-lockfile".to_string(),
        // A certificate error is not worth retrying.
        "--config".to_string(),
        "net.retry=0".to_string(),
    ];
    all.append(&mut args);
    Recipe {
        args: all.into_iter().map(Into::into).collect(),
        files: vec![
            (
                "Cargo.toml",
                format!("{manifest_head}{dependency}").into_bytes(),
            ),
            ("src/lib.rs", Vec::new()),
        ],
        env: vec![("CARGO_TERM_COLOR".into(), "never".into())],
        url,
    }
}

pub fn trust(env: &Env) -> String {
    env.first_set(&["CARGO_HTTP_CAINFO"])
        .map(|(k, v)| format!("{k}={v} (replaces libcurl's default)"))
        .unwrap_or_else(|| {
            "`[http] cainfo` in cargo's config if set, else libcurl's default bundle".to_string()
        })
}
