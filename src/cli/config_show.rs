//! `trust-proxy config show`: the effective configuration, each value with its source (flag,
//! env VAR, file:line, default), the files looked at, and what an elevated run ignored.

use crate::cli::args::ConfigShowArgs;
use crate::cli::command::Rendered;
use crate::config::{ConfigScope, Effective, ProxyChoice, Setting, Source};
use crate::discover::target::DEFAULT_TARGETS;
use crate::install::decide::Pin;
use crate::terminal_text::to_json_pretty;
use serde_json::{json, Value};

/// One row: key, value as text, value as JSON, source.
struct Row {
    key: &'static str,
    text: String,
    json: Value,
    source: Source,
}

fn rows(effective: &Effective) -> Vec<Row> {
    let v = &effective.values;
    let mut out = Vec::new();
    let mut push = |key, text: String, json: Value, source: Option<&Source>| {
        out.push(Row {
            key,
            text,
            json,
            source: source.cloned().unwrap_or(Source::Default),
        })
    };
    let pins = |s: &Setting<Vec<Pin>>| s.value.iter().map(Pin::display).collect::<Vec<_>>();
    match &v.fingerprints {
        Some(s) => push(
            "fingerprints",
            pins(s).join(", "),
            json!(pins(s)),
            Some(&s.source),
        ),
        None => push(
            "fingerprints",
            "none: a CA not in the OS store needs a person's confirmation".to_string(),
            json!([]),
            None,
        ),
    }
    let (text, value) = match v.proxy.as_ref().map(|s| &s.value) {
        Some(ProxyChoice::Url(u)) => (u.clone(), json!({"kind": "url", "value": u})),
        Some(ProxyChoice::Pac(p)) => (format!("PAC {p}"), json!({"kind": "pac", "value": p})),
        Some(ProxyChoice::Direct) => ("direct (--no-proxy)".to_string(), json!({"kind": "direct"})),
        None => (
            "per target: HTTPS_PROXY & co., the OS settings, their PAC file, else direct"
                .to_string(),
            json!({"kind": "resolved"}),
        ),
    };
    push("proxy", text, value, v.proxy.as_ref().map(|s| &s.source));
    let list = |s: &Option<Setting<Vec<String>>>, default: &[&str]| -> (String, Value) {
        match s {
            Some(s) => (s.value.join(", "), json!(s.value)),
            None if default.is_empty() => ("none".to_string(), json!([])),
            None => (default.join(", "), json!(default)),
        }
    };
    let (text, value) = list(&v.allow_proxy, &[]);
    push(
        "allow_proxy",
        text,
        value,
        v.allow_proxy.as_ref().map(|s| &s.source),
    );
    let (text, value) = list(&v.targets, DEFAULT_TARGETS);
    push(
        "targets",
        text,
        value,
        v.targets.as_ref().map(|s| &s.source),
    );
    let timeout = v.timeout.as_ref().map(|s| s.value).unwrap_or(10.0);
    push(
        "timeout",
        format!("{timeout} s"),
        json!(timeout),
        v.timeout.as_ref().map(|s| &s.source),
    );
    match &v.public_roots {
        Some(s) => push(
            "public_roots",
            s.value.display().to_string(),
            json!(s.value),
            Some(&s.source),
        ),
        None => push(
            "public_roots",
            "Mozilla's roots (built in)".to_string(),
            Value::Null,
            None,
        ),
    }
    let default_scope = if trust_proxy_platform::is_elevated() {
        ConfigScope::System
    } else {
        ConfigScope::User
    };
    let scope = v.scope.as_ref().map(|s| s.value).unwrap_or(default_scope);
    let scope_name = match scope {
        ConfigScope::System => "system",
        ConfigScope::User => "user",
    };
    push(
        "scope",
        scope_name.to_string(),
        json!(scope_name),
        v.scope.as_ref().map(|s| &s.source),
    );
    match &v.tools {
        Some(s) => {
            let names: Vec<String> = s
                .value
                .iter()
                .filter_map(clap::ValueEnum::to_possible_value)
                .map(|p| p.get_name().to_string())
                .collect();
            push("tools", names.join(", "), json!(names), Some(&s.source));
        }
        None => push(
            "tools",
            "every tool trust-proxy knows".to_string(),
            json!([]),
            None,
        ),
    }
    out
}

fn source_json(source: &Source) -> Value {
    match source {
        Source::Flag => json!({"kind": "flag"}),
        Source::Env(var) => json!({"kind": "env", "var": var}),
        Source::File { path, line } => json!({"kind": "file", "path": path, "line": line}),
        Source::Default => json!({"kind": "default"}),
    }
}

pub fn run_config_show(args: &ConfigShowArgs, effective: &Effective) -> Rendered {
    let rows = rows(effective);
    let rules = if effective.system_rules {
        "system"
    } else {
        "user"
    };
    let stdout = if args.json {
        let settings: serde_json::Map<String, Value> = rows
            .iter()
            .map(|r| {
                (
                    r.key.to_string(),
                    json!({"value": r.json, "source": source_json(&r.source), "from": r.source.to_string()}),
                )
            })
            .collect();
        let ceiling = effective.ceiling.as_ref().map(|c| {
            json!({
                "fingerprints": c.value.iter().map(Pin::display).collect::<Vec<_>>(),
                "source": source_json(&c.source),
                "from": c.source.to_string(),
            })
        });
        to_json_pretty(&json!({
            "schema_version": 1,
            "command": "config show",
            "rules": rules,
            "files": effective.files,
            "settings": settings,
            "ceiling": ceiling,
            "ignored_env": effective.ignored_env,
        }))
        .unwrap_or_default()
    } else {
        let mut text = if effective.system_rules {
            "Effective configuration (elevated or system scope: flags > system file; the environment and the user file are not read)\n".to_string()
        } else {
            "Effective configuration (flags > TRUST_PROXY_* environment > user file > system file)\n"
                .to_string()
        };
        text.push_str("\nFiles:\n");
        for f in &effective.files {
            text.push_str(&format!(
                "  {:<19} {}: {}\n",
                f.role,
                f.path.display(),
                f.status
            ));
        }
        text.push('\n');
        for r in &rows {
            text.push_str(&format!(
                "  {:<13} {}\n  {:<13}   from {}\n",
                r.key, r.text, "", r.source
            ));
        }
        if let Some(c) = &effective.ceiling {
            text.push_str(&format!(
                "\nPins allowed on this machine (the system file's fingerprints, {}): other configuration may narrow them, never add one.\n",
                c.source
            ));
        }
        if !effective.ignored_env.is_empty() {
            text.push_str(&format!(
                "\nNot read in this run (elevated or system scope): ${}\n",
                effective.ignored_env.join(", $")
            ));
        }
        crate::terminal_text::for_terminal(text.trim_end())
    };
    Rendered {
        stdout,
        exit_code: 0,
        warnings: Vec::new(),
    }
}
