//! Tools' config files, read from where `tools::paths` says each lives: settings that turn
//! verification off, CA files they name (checked by `bundles`), and whether the tool has a trust
//! setting at all (for `installed`'s "present but not configured").

use super::bundles::{self, Kind, Use};
use super::env::npm_false;
use super::formats::{self, Entry};
use super::{read_text, shown, Collector, Finding, Input, Severity};
use crate::tools::{paths, Context, ToolId};
use std::path::{Path, PathBuf};

pub fn check(input: &Input<'_>, out: &mut Collector) {
    npm(input, out);
    pip(input, out);
    conda(input, out);
    curl(input, out);
    uv(input, out);
    cargo(input, out);
    yarn(input, out);
    wget(input, out);
    aws(input, out);
    gcloud(input, out);
}

/// "remove line N of FILE: TEXT": the exact line, so the person can find it.
fn remove_line(ctx: &Context, path: &Path, entry: &Entry) -> String {
    format!(
        "remove line {} of {}: {}",
        entry.line,
        shown(ctx, path),
        entry.text.trim()
    )
}

fn insecure(
    input: &Input<'_>,
    out: &mut Collector,
    tool: ToolId,
    path: &Path,
    entry: &Entry,
    what: &str,
) {
    out.push(Finding {
        id: "insecure_config_setting",
        severity: Severity::Error,
        tool: Some(tool),
        location: path.display().to_string(),
        setting: entry.text.trim().to_string(),
        message: format!("{what}; {}", super::verification_off(input)),
        fix: remove_line(input.ctx, path, entry),
    });
}

/// A CA file a config key names, checked like a variable's.
fn ca_setting(
    input: &Input<'_>,
    out: &mut Collector,
    tool: ToolId,
    path: &Path,
    entry: &Entry,
    kind: Kind,
    usage: Use,
) {
    let value = entry.value.trim();
    if value.is_empty() {
        return;
    }
    let named = expand_home(input.ctx, value);
    let setting = bundles::Setting {
        tool: Some(tool),
        location: path.display().to_string(),
        setting: entry.text.trim().to_string(),
        remove: remove_line(input.ctx, path, entry),
        kind,
        usage,
        ctx: input.ctx,
        suggested_bundle: input.suggested_bundle.as_deref(),
    };
    bundles::check(&named, &setting, out);
}

/// `~/x` as the tools that accept it read it.
fn expand_home(ctx: &Context, value: &str) -> String {
    match value.strip_prefix("~/") {
        Some(rest) => ctx.home.join(rest).display().to_string(),
        None => value.to_string(),
    }
}

fn is_false_word(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "false" | "no" | "off" | "0"
    )
}

fn npm(input: &Input<'_>, out: &mut Collector) {
    let path = paths::npmrc(input.ctx);
    let Some(text) = read_text(&path) else {
        return;
    };
    for entry in formats::npmrc(&text) {
        match entry.key.as_str() {
            "strict-ssl" if npm_false(&entry.value) => insecure(
                input,
                out,
                ToolId::Npm,
                &path,
                &entry,
                "npm (and pnpm, yarn 1, which read ~/.npmrc) accepts any registry certificate",
            ),
            "cafile" => {
                mark_npm_family(out);
                ca_setting(
                    input,
                    out,
                    ToolId::Npm,
                    &path,
                    &entry,
                    Kind::File,
                    Use::Replaces,
                );
            }
            "ca" if !entry.value.is_empty() && entry.value != "null" => mark_npm_family(out),
            _ => {}
        }
    }
}

/// npm's `.npmrc` trust settings are pnpm's (<= 10) and yarn 1's too.
fn mark_npm_family(out: &mut Collector) {
    out.configured
        .extend([ToolId::Npm, ToolId::Pnpm, ToolId::Yarn]);
}

fn pip(input: &Input<'_>, out: &mut Collector) {
    for path in paths::pip_config_files(input.ctx, input.system_files) {
        let Some(text) = read_text(&path) else {
            continue;
        };
        for entry in formats::configparser(&text) {
            match entry.key.as_str() {
                "trusted-host" if !entry.value.trim().is_empty() => {
                    let continued = entry.value.lines().count() > 1;
                    let mut entry = entry;
                    if continued {
                        entry.text = format!("{} (and its continuation lines)", entry.text.trim());
                    }
                    insecure(
                        input,
                        out,
                        ToolId::Pip,
                        &path,
                        &entry,
                        &format!(
                            "pip accepts any certificate (and plain HTTP) from {}",
                            entry
                                .value
                                .split_whitespace()
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
                "cert" => {
                    out.configured.insert(ToolId::Pip);
                    ca_setting(
                        input,
                        out,
                        ToolId::Pip,
                        &path,
                        &entry,
                        Kind::File,
                        Use::Replaces,
                    );
                }
                _ => {}
            }
        }
    }
}

fn conda(input: &Input<'_>, out: &mut Collector) {
    for path in paths::conda_config_files(input.ctx, input.system_files) {
        let Some(text) = read_text(&path) else {
            continue;
        };
        for entry in formats::yaml_scalars(&text) {
            if !entry.section.is_empty() || entry.key != "ssl_verify" {
                continue;
            }
            let lower = entry.value.to_ascii_lowercase();
            match lower.as_str() {
                "false" | "0" => insecure(
                    input,
                    out,
                    ToolId::Conda,
                    &path,
                    &entry,
                    "conda accepts any certificate",
                ),
                "true" => {}
                "truststore" => {
                    out.configured.insert(ToolId::Conda);
                }
                _ => {
                    out.configured.insert(ToolId::Conda);
                    ca_setting(
                        input,
                        out,
                        ToolId::Conda,
                        &path,
                        &entry,
                        Kind::FileOrDir,
                        Use::Replaces,
                    );
                }
            }
        }
    }
}

fn curl(input: &Input<'_>, out: &mut Collector) {
    let path = paths::curlrc(input.ctx);
    let Some(text) = read_text(&path) else {
        return;
    };
    // Later lines win: `no-insecure` after `insecure` turns it back on.
    let mut insecure_lines: Vec<Entry> = Vec::new();
    let mut proxy_insecure_lines: Vec<Entry> = Vec::new();
    for entry in formats::curlrc(&text) {
        let key = entry.key.as_str();
        match key {
            "insecure" => insecure_lines.push(entry),
            "no-insecure" => insecure_lines.clear(),
            "proxy-insecure" => proxy_insecure_lines.push(entry),
            "no-proxy-insecure" => proxy_insecure_lines.clear(),
            "cacert" => {
                out.configured.insert(ToolId::Curl);
                ca_setting(
                    input,
                    out,
                    ToolId::Curl,
                    &path,
                    &entry,
                    Kind::File,
                    Use::Replaces,
                );
            }
            "capath" => {
                out.configured.insert(ToolId::Curl);
                ca_setting(
                    input,
                    out,
                    ToolId::Curl,
                    &path,
                    &entry,
                    Kind::Dir,
                    Use::Replaces,
                );
            }
            "ca-native" => {
                out.configured.insert(ToolId::Curl);
            }
            _ if formats::curl_short_insecure(key) => insecure_lines.push(entry),
            _ => {}
        }
    }
    for entry in &insecure_lines {
        insecure(
            input,
            out,
            ToolId::Curl,
            &path,
            entry,
            "curl accepts any certificate",
        );
    }
    for entry in &proxy_insecure_lines {
        insecure(
            input,
            out,
            ToolId::Curl,
            &path,
            entry,
            "curl accepts any certificate from an HTTPS proxy",
        );
    }
}

/// A TOML file as a table, `None` when absent or not TOML (the tool reports that itself).
fn toml_table(path: &Path) -> Option<(String, toml::Table)> {
    let text = read_text(path)?;
    let table = text.parse::<toml::Table>().ok()?;
    Some((text, table))
}

/// The line that sets `key` (`key = ...`, `http.key = ...`), else the first one mentioning it (an
/// inline table), as an [`Entry`] for the fix text.
fn line_of(text: &str, key: &str, value: String) -> Entry {
    let assigns = |line: &str| {
        let t = line.trim_start();
        let t = t.strip_prefix("http.").unwrap_or(t);
        let t = t.strip_prefix('"').unwrap_or(t);
        t.strip_prefix(key)
            .is_some_and(|rest| rest.trim_start_matches('"').trim_start().starts_with('='))
    };
    let uncommented = |l: &&str| !l.trim_start().starts_with('#');
    let found = text
        .lines()
        .enumerate()
        .find(|(_, l)| uncommented(l) && assigns(l))
        .or_else(|| {
            text.lines()
                .enumerate()
                .find(|(_, l)| uncommented(l) && l.contains(key))
        });
    Entry {
        section: String::new(),
        key: key.to_string(),
        value,
        line: found.map(|(i, _)| i.saturating_add(1)).unwrap_or(0),
        text: found
            .map(|(_, l)| l.to_string())
            .unwrap_or_else(|| key.to_string()),
    }
}

fn uv(input: &Input<'_>, out: &mut Collector) {
    let mut files = vec![paths::uv_config(input.ctx)];
    if input.system_files && input.ctx.os != crate::tools::Os::Windows {
        files.insert(0, PathBuf::from("/etc/uv/uv.toml"));
    }
    for path in files {
        let Some((text, table)) = toml_table(&path) else {
            continue;
        };
        let top = table.get("allow-insecure-host");
        let in_pip = table
            .get("pip")
            .and_then(|p| p.as_table())
            .and_then(|p| p.get("allow-insecure-host"));
        for hosts in [top, in_pip].into_iter().flatten() {
            let listed: Vec<String> = match hosts {
                toml::Value::Array(items) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect(),
                toml::Value::String(one) => vec![one.clone()],
                _ => Vec::new(),
            };
            if listed.is_empty() {
                continue;
            }
            let entry = line_of(&text, "allow-insecure-host", listed.join(", "));
            insecure(
                input,
                out,
                ToolId::Uv,
                &path,
                &entry,
                &format!(
                    "uv skips certificate verification for {}",
                    listed.join(", ")
                ),
            );
        }
    }
}

fn cargo(input: &Input<'_>, out: &mut Collector) {
    let main = paths::cargo_config(input.ctx);
    // Cargo still reads the extension-less name beside it.
    let legacy = main.with_file_name("config");
    for path in [main, legacy] {
        let Some((text, table)) = toml_table(&path) else {
            continue;
        };
        let Some(http) = table.get("http").and_then(|h| h.as_table()) else {
            continue;
        };
        if http.get("check-revoke").and_then(|v| v.as_bool()) == Some(false) {
            let entry = line_of(&text, "check-revoke", "false".to_string());
            let recorded = input
                .recorded
                .iter()
                .any(|r| r.setting == "http.check-revoke" && same_file(&r.file, &path));
            out.push(if recorded {
                Finding {
                    id: "revocation_check_off_expected",
                    severity: Severity::Info,
                    tool: Some(ToolId::Cargo),
                    location: path.display().to_string(),
                    setting: entry.text.trim().to_string(),
                    message: "set by trust-proxy: the proxy mints certificates without revocation pointers, which Windows' schannel otherwise rejects (CRYPT_E_NO_REVOCATION_CHECK); verification stays on".to_string(),
                    fix: "nothing to do; `trust-proxy uninstall` restores the file".to_string(),
                }
            } else {
                Finding {
                    id: "revocation_check_off",
                    severity: Severity::Warning,
                    tool: Some(ToolId::Cargo),
                    location: path.display().to_string(),
                    setting: entry.text.trim().to_string(),
                    message: "cargo skips certificate revocation checks (Windows schannel; no effect elsewhere), and trust-proxy did not set it: a workaround left behind. trust-proxy configure-tools sets it only when the proxy mints certificates without revocation pointers".to_string(),
                    fix: remove_line(input.ctx, &path, &entry),
                }
            });
        }
        if let Some(cainfo) = http.get("cainfo").and_then(|v| v.as_str()) {
            out.configured.insert(ToolId::Cargo);
            let entry = line_of(&text, "cainfo", cainfo.to_string());
            ca_setting(
                input,
                out,
                ToolId::Cargo,
                &path,
                &entry,
                Kind::File,
                Use::Replaces,
            );
        }
    }
}

/// Two names for one file (a record may name it through a symlink or with `..`).
fn same_file(a: &Path, b: &Path) -> bool {
    a == b
        || match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
}

fn yarn(input: &Input<'_>, out: &mut Collector) {
    let classic = paths::yarnrc_classic(input.ctx);
    if let Some(text) = read_text(&classic) {
        for entry in formats::yarnrc_classic(&text) {
            match entry.key.as_str() {
                "strict-ssl" if is_false_word(&entry.value) => insecure(
                    input,
                    out,
                    ToolId::Yarn,
                    &classic,
                    &entry,
                    "yarn 1 accepts any registry certificate",
                ),
                "cafile" => {
                    out.configured.insert(ToolId::Yarn);
                    ca_setting(
                        input,
                        out,
                        ToolId::Yarn,
                        &classic,
                        &entry,
                        Kind::File,
                        Use::Replaces,
                    );
                }
                _ => {}
            }
        }
    }
    let berry = paths::yarnrc_berry(input.ctx);
    if let Some(text) = read_text(&berry) {
        for entry in formats::yaml_scalars(&text) {
            match entry.key.as_str() {
                "enableStrictSsl" | "strictSsl" if is_false_word(&entry.value) => {
                    let scope = if entry.section.is_empty() {
                        "every registry".to_string()
                    } else {
                        entry.section.clone()
                    };
                    insecure(
                        input,
                        out,
                        ToolId::Yarn,
                        &berry,
                        &entry,
                        &format!("yarn accepts any certificate for {scope}"),
                    );
                }
                "caFilePath" | "httpsCaFilePath" => {
                    out.configured.insert(ToolId::Yarn);
                    ca_setting(
                        input,
                        out,
                        ToolId::Yarn,
                        &berry,
                        &entry,
                        Kind::File,
                        Use::Replaces,
                    );
                }
                _ => {}
            }
        }
    }
}

fn wget(input: &Input<'_>, out: &mut Collector) {
    let mut files = Vec::new();
    if input.system_files && input.ctx.os != crate::tools::Os::Windows {
        files.extend(paths::wgetrc_system());
    }
    files.push(paths::wgetrc(input.ctx));
    for path in files {
        let Some(text) = read_text(&path) else {
            continue;
        };
        for entry in formats::wgetrc(&text) {
            match entry.key.as_str() {
                "checkcertificate" if wget_unchecked(&entry.value) => insecure(
                    input,
                    out,
                    ToolId::Wget,
                    &path,
                    &entry,
                    "wget accepts any certificate",
                ),
                // wget adds the file to OpenSSL's default locations, so a CA alone is right.
                "cacertificate" => {
                    out.configured.insert(ToolId::Wget);
                    ca_setting(
                        input,
                        out,
                        ToolId::Wget,
                        &path,
                        &entry,
                        Kind::File,
                        Use::Adds,
                    );
                }
                "cadirectory" => {
                    out.configured.insert(ToolId::Wget);
                    ca_setting(
                        input,
                        out,
                        ToolId::Wget,
                        &path,
                        &entry,
                        Kind::Dir,
                        Use::Adds,
                    );
                }
                _ => {}
            }
        }
    }
}

/// wget 1.21 reads `off`, `no`, `0` and `quiet` (which skips verification without a warning) as
/// not checking; it rejects `false` as invalid and stops (checked with GNU wget 1.21.3).
fn wget_unchecked(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "off" | "no" | "0" | "quiet"
    )
}

fn aws(input: &Input<'_>, out: &mut Collector) {
    let path = paths::aws_config(input.ctx);
    let Some(text) = read_text(&path) else {
        return;
    };
    for entry in formats::configparser(&text) {
        if entry.key == "ca-bundle" {
            out.configured.insert(ToolId::Aws);
            ca_setting(
                input,
                out,
                ToolId::Aws,
                &path,
                &entry,
                Kind::File,
                Use::Replaces,
            );
        }
    }
}

fn gcloud(input: &Input<'_>, out: &mut Collector) {
    let dir = paths::gcloud_config_dir(input.ctx);
    let active = read_text(&dir.join("active_config"))
        .map(|t| t.trim().to_string())
        .filter(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .unwrap_or_else(|| "default".to_string());
    let path = dir.join("configurations").join(format!("config_{active}"));
    let Some(text) = read_text(&path) else {
        return;
    };
    for entry in formats::configparser(&text) {
        match (entry.section.as_str(), entry.key.as_str()) {
            ("auth", "disable-ssl-validation")
                if matches!(
                    entry.value.to_ascii_lowercase().as_str(),
                    "true" | "1" | "yes" | "on"
                ) =>
            {
                insecure(
                    input,
                    out,
                    ToolId::Gcloud,
                    &path,
                    &entry,
                    "gcloud sends credentials without verifying certificates",
                )
            }
            ("core", "custom-ca-certs-file") => {
                out.configured.insert(ToolId::Gcloud);
                ca_setting(
                    input,
                    out,
                    ToolId::Gcloud,
                    &path,
                    &entry,
                    Kind::File,
                    Use::Replaces,
                );
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_that_sets_a_toml_key() {
        let text = "[http]\n# cainfo = \"/old\"\nproxy-cainfo = \"/p\"\ncainfo = \"/b\"\n";
        assert_eq!(line_of(text, "cainfo", String::new()).line, 4);
        let dotted = "http.check-revoke = false\n";
        assert_eq!(line_of(dotted, "check-revoke", String::new()).line, 1);
        let inline = "http = { check-revoke = false }\n";
        assert_eq!(line_of(inline, "check-revoke", String::new()).line, 1);
    }
}
