//! git's settings, read through the real `git config` so that every file git reads counts as git
//! counts it: system, global (`GIT_CONFIG_GLOBAL` too), the repository of the current directory,
//! `include`/`includeIf` files, per-URL `http.<url>.*` sections and `GIT_CONFIG_*` variables.
//! `--show-origin` says which file holds each value, so the fix names it.

use super::bundles::{self, Kind, Use};
use super::{sh_quote, Collector, Finding, Input, Severity};
use crate::process::{self, Ended, Spawn};
use crate::tools::ToolId;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// `git config` answers at once; an include pointing at a FIFO must not hang doctor.
const GIT_DEADLINE: Duration = Duration::from_secs(10);

/// Every `http.*` value of a very large config still fits.
const GIT_OUTPUT_LIMIT: usize = 16 * 1024 * 1024;

/// One value as git reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Value {
    scope: String,
    /// `file:PATH`, `command line:`, ...
    origin: String,
    key: String,
    value: String,
}

pub fn check(git: &Path, input: &Input<'_>, out: &mut Collector) {
    match config_values(git, "bool", r"^http\.(.+\.)?sslverify$") {
        Ok(values) => ssl_verify(&values, input, out),
        Err(why) => out.push(unreadable(why)),
    }
    match config_values(git, "path", r"^http\.(.+\.)?sslcainfo$") {
        Ok(values) => ca_info(&values, input, out),
        Err(why) => out.push(unreadable(why)),
    }
}

fn unreadable(why: String) -> Finding {
    Finding {
        id: "git_config_unreadable",
        severity: Severity::Warning,
        tool: Some(ToolId::Git),
        location: "git config".to_string(),
        setting: String::new(),
        message: format!(
            "git's settings could not be read, so its TLS settings were not checked: {why}"
        ),
        fix: "run `git config --list --show-origin` and fix what it complains about".to_string(),
    }
}

/// Last value per key wins, as git applies them.
fn effective(values: &[Value]) -> BTreeMap<&str, &Value> {
    let mut last = BTreeMap::new();
    for v in values {
        last.insert(v.key.as_str(), v);
    }
    last
}

fn ssl_verify(values: &[Value], input: &Input<'_>, out: &mut Collector) {
    for (key, last) in effective(values) {
        if last.value != "false" {
            continue;
        }
        // Every place that says false: removing only the last could uncover an earlier one.
        let places: Vec<&Value> = values
            .iter()
            .filter(|v| v.key == key && v.value == "false")
            .collect();
        let fixes: Vec<String> = places.iter().map(|v| unset_command(v)).collect();
        let what = match key
            .strip_prefix("http.")
            .and_then(|k| k.strip_suffix(".sslverify"))
        {
            Some(url) => format!("git accepts any certificate from {url}"),
            None => "git accepts any certificate for every HTTPS remote".to_string(),
        };
        out.push(Finding {
            id: "insecure_git_config",
            severity: Severity::Error,
            tool: Some(ToolId::Git),
            location: places
                .iter()
                .map(|v| origin_text(v))
                .collect::<Vec<_>>()
                .join(", "),
            setting: format!("{key}=false"),
            message: format!("{what}; {}", super::verification_off(input)),
            fix: fixes.join(" && "),
        });
    }
}

fn ca_info(values: &[Value], input: &Input<'_>, out: &mut Collector) {
    for (key, last) in effective(values) {
        if last.value.is_empty() {
            continue;
        }
        out.configured.insert(ToolId::Git);
        let setting = bundles::Setting {
            tool: Some(ToolId::Git),
            location: origin_text(last),
            setting: format!("{key}={}", last.value),
            remove: unset_command(last),
            kind: Kind::File,
            usage: Use::Replaces,
            ctx: input.ctx,
            suggested_bundle: input.suggested_bundle.as_deref(),
        };
        bundles::check(&last.value, &setting, out);
    }
}

fn origin_text(v: &Value) -> String {
    match v.origin.strip_prefix("file:") {
        Some(path) => format!("{path} (git {} config)", v.scope),
        None => format!(
            "{} (git {} config)",
            v.origin.trim_end_matches(':'),
            v.scope
        ),
    }
}

/// The command that removes `v` where git found it.
fn unset_command(v: &Value) -> String {
    match v.origin.strip_prefix("file:") {
        Some(path) => format!(
            "git config --file {} --unset-all {}",
            sh_quote(path),
            sh_quote(&v.key)
        ),
        None if v.scope == "command" => format!(
            "unset GIT_CONFIG_PARAMETERS GIT_CONFIG_COUNT (they set {} for every git command)",
            v.key
        ),
        None => format!("remove {} where {} sets it", v.key, v.origin),
    }
}

/// `git config --get-regexp` with scopes and origins; an empty list when nothing matches.
fn config_values(git: &Path, value_type: &str, pattern: &str) -> Result<Vec<Value>, String> {
    let type_arg = format!("--type={value_type}");
    let args = [
        "config",
        "--includes",
        "--show-scope",
        "--show-origin",
        "--null",
        &type_arg,
        "--get-regexp",
        pattern,
    ];
    let mut spawn = Spawn::new(git, &args, GIT_DEADLINE);
    spawn.output_limit = GIT_OUTPUT_LIMIT;
    let finished = process::run_bounded(&spawn).map_err(|e| e.to_string())?;
    match finished.ended {
        Ended::Exited(0) => Ok(parse(&finished.stdout)),
        // 1: no key matched.
        Ended::Exited(1) => Ok(Vec::new()),
        Ended::TimedOut => Err(format!(
            "git config did not answer within {} s",
            GIT_DEADLINE.as_secs()
        )),
        _ => Err(finished.stderr.trim().to_string()),
    }
}

/// `scope NUL origin NUL key LF value NUL`, repeated.
fn parse(text: &str) -> Vec<Value> {
    let mut fields = text.split('\0');
    let mut values = Vec::new();
    while let (Some(scope), Some(origin), Some(key_value)) =
        (fields.next(), fields.next(), fields.next())
    {
        let (key, value) = key_value.split_once('\n').unwrap_or((key_value, ""));
        values.push(Value {
            scope: scope.to_string(),
            origin: origin.to_string(),
            key: key.to_string(),
            value: value.to_string(),
        });
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scoped_null_separated_output() {
        let raw = "global\0file:/h/.gitconfig\0http.sslverify\nfalse\0command\0command line:\0http.https://x y/.sslverify\ntrue\0";
        let v = parse(raw);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].origin, "file:/h/.gitconfig");
        assert_eq!(
            (v[0].key.as_str(), v[0].value.as_str()),
            ("http.sslverify", "false")
        );
        assert_eq!(v[1].key, "http.https://x y/.sslverify");
        assert_eq!(
            unset_command(&v[0]),
            "git config --file /h/.gitconfig --unset-all http.sslverify"
        );
    }
}
