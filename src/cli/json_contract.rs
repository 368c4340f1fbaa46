//! The one machine-readable contract: every command's `--json` output, and every error under
//! `--json`, is one object on stdout that opens with the same envelope
//! (`schema/trust-proxy.schema.json`, README "JSON contract"):
//!
//! `schema_version`, `tool`, `command`, `ok` (exit code 0), `changed` (something on disk or in a
//! trust store changed; with `--dry-run`: would change), `dry_run`, `exit_code`, then the
//! command's own fields (an error's are `error: {kind, message}`).
//!
//! Each command renders its own fields; this module puts the envelope around them in one place,
//! so that a command cannot forget a field and automation never has to read stderr.

use crate::cli::args::{Cli, Command, ConfigCommand};
use crate::cli::command::{CommandError, Rendered};
use crate::exit_status::ExitStatus;
use crate::install::plan::Effect;
use crate::terminal_text::to_json_pretty;
use clap::{CommandFactory, FromArgMatches};
use serde_json::{Map, Value};

/// Bumped only when a field is removed or changes meaning; fields are added within a version.
pub const SCHEMA_VERSION: u32 = crate::cli::report::SCHEMA_VERSION;

/// The envelope's fields, in the order they open every object.
pub const ENVELOPE_FIELDS: [&str; 7] = [
    "schema_version",
    "tool",
    "command",
    "ok",
    "changed",
    "dry_run",
    "exit_code",
];

/// Whether `--json` was asked for.
pub fn wants_json(command: &Command) -> bool {
    match command {
        Command::Discover(a) => a.json,
        Command::Install(a) => a.scope.json,
        Command::Uninstall(a) => a.scope.json,
        Command::Status(a) => a.json,
        Command::Env(a) => a.json,
        Command::Refresh(a) => a.json,
        Command::ConfigureTools(a) => a.json,
        Command::Verify(a) => a.json,
        Command::Doctor(a) => a.json,
        Command::Proxy(a) => a.json,
        Command::Config(ConfigCommand::Show(a)) => a.json,
        Command::Export(a) => a.json,
    }
}

/// The name a command has on the command line and in `command`.
pub fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Discover(_) => "discover",
        Command::Install(_) => "install",
        Command::Uninstall(_) => "uninstall",
        Command::Status(_) => "status",
        Command::Env(_) => "env",
        Command::Refresh(_) => "refresh",
        Command::ConfigureTools(_) => "configure-tools",
        Command::Verify(_) => "verify",
        Command::Doctor(_) => "doctor",
        Command::Proxy(_) => "proxy",
        Command::Config(ConfigCommand::Show(_)) => "config show",
        Command::Export(_) => "export",
    }
}

/// Commands that may change the machine: their renderer must say whether it did. The others
/// only read, so `changed` is false by construction.
fn may_change(command: &Command) -> bool {
    matches!(
        command,
        Command::Discover(_)
            | Command::Install(_)
            | Command::Uninstall(_)
            | Command::Refresh(_)
            | Command::ConfigureTools(_)
            | Command::Export(_)
    )
}

fn dry_run_flag(command: &Command) -> bool {
    match command {
        Command::Install(a) => a.dry_run,
        Command::Uninstall(a) => a.dry_run,
        Command::ConfigureTools(a) => a.dry_run,
        _ => false,
    }
}

/// The parsed command line. A command line clap rejects is exit 2 as always; with `--json`
/// among the arguments the error is also one JSON object on stdout.
/// The matches come too: the configuration layer tells a typed flag from a clap default.
pub fn parse_args() -> (Cli, clap::ArgMatches) {
    // help_text's command: every --help ends with the examples.
    let parsed = crate::cli::help_text::command()
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches).map(|cli| (cli, matches)));
    match parsed {
        Ok(parsed) => parsed,
        Err(error) => {
            let error = crate::cli::help_text::with_where_to_start(error);
            // `--help` and `--version` are answers, not errors: clap prints them as usual.
            if error.use_stderr() && std::env::args_os().any(|a| a == "--json") {
                let args: Vec<String> = std::env::args_os()
                    .skip(1)
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect();
                println!("{}", usage_error_json(&args, &error.to_string()));
            }
            error.exit()
        }
    }
}

/// The JSON for a command line clap rejected: the subcommand when one was named.
pub fn usage_error_json(args: &[String], clap_message: &str) -> String {
    let cli = Cli::command();
    let named = args
        .iter()
        .find(|a| cli.get_subcommands().any(|s| s.get_name() == a.as_str()))
        .cloned();
    let message = clap_message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("invalid command line");
    let message = message.strip_prefix("error: ").unwrap_or(message);
    let mut object = envelope(
        named.map(Value::String).unwrap_or(Value::Null),
        ExitStatus::Usage.code(),
        false,
        false,
    );
    object.insert(
        "error".to_string(),
        error_value(ExitStatus::Usage, message, &[]),
    );
    render(&Value::Object(object))
}

/// A command's result under `--json`, inside the envelope. Without `--json` it is returned as it
/// came.
pub fn seal(command: &Command, mut rendered: Rendered) -> Rendered {
    if !wants_json(command) {
        return rendered;
    }
    match wrap(command, &rendered.stdout, rendered.exit_code) {
        Ok(json) => rendered.stdout = json,
        Err(why) => {
            rendered.exit_code = ExitStatus::LocalError.code();
            rendered.stdout = error_object(
                command,
                ExitStatus::LocalError,
                &format!(
                    "the {} report could not be encoded: {why}",
                    command_name(command)
                ),
                &rendered.warnings,
            );
        }
    }
    rendered
}

/// The JSON object for an error, with the notes printed before it, when `--json` was asked for.
pub fn error_json(command: &Command, error: &CommandError, warnings: &[String]) -> Option<String> {
    if !wants_json(command) {
        return None;
    }
    let status = ExitStatus::from_code(error.exit_code()).unwrap_or(ExitStatus::LocalError);
    Some(error_object(command, status, &error.to_string(), warnings))
}

/// The JSON object for an error found before the command ran (its configuration), when
/// `--json` was asked for.
pub fn early_error_json(command: &Command, exit_code: i32, message: &str) -> Option<String> {
    if !wants_json(command) {
        return None;
    }
    let status = ExitStatus::from_code(exit_code).unwrap_or(ExitStatus::LocalError);
    Some(error_object(command, status, message, &[]))
}

/// `json` (a command's JSON object) with `changed` set: for renderers that know it only after
/// rendering (discover's `--export`).
pub fn with_changed(json: String, changed: bool) -> String {
    match serde_json::from_str::<Value>(&json) {
        Ok(Value::Object(mut object)) => {
            object.insert("changed".to_string(), Value::Bool(changed));
            render(&Value::Object(object))
        }
        // Left as it is: `seal` reports a report that is not an object.
        _ => json,
    }
}

/// Whether steps with these effects changed anything: a file kept because the person modified
/// it was not touched, so a run that only keeps files reports `changed: false` (and a playbook
/// converges).
pub fn changed_by(effects: impl IntoIterator<Item = Effect>) -> bool {
    effects
        .into_iter()
        .any(|e| matches!(e, Effect::Create | Effect::Replace | Effect::Remove))
}

fn error_object(
    command: &Command,
    status: ExitStatus,
    message: &str,
    warnings: &[String],
) -> String {
    let mut object = envelope(
        Value::String(command_name(command).to_string()),
        status.code(),
        false,
        dry_run_flag(command),
    );
    object.insert("error".to_string(), error_value(status, message, warnings));
    render(&Value::Object(object))
}

fn error_value(status: ExitStatus, message: &str, warnings: &[String]) -> Value {
    let mut error = Map::new();
    error.insert("kind".to_string(), Value::String(status.name().to_string()));
    error.insert("message".to_string(), Value::String(message.to_string()));
    error.insert(
        "warnings".to_string(),
        Value::Array(warnings.iter().cloned().map(Value::String).collect()),
    );
    Value::Object(error)
}

fn envelope(command: Value, exit_code: i32, changed: bool, dry_run: bool) -> Map<String, Value> {
    let mut tool = Map::new();
    tool.insert("name".to_string(), Value::String("trust-proxy".to_string()));
    tool.insert(
        "version".to_string(),
        Value::String(env!("CARGO_PKG_VERSION").to_string()),
    );
    let mut object = Map::new();
    object.insert("schema_version".to_string(), Value::from(SCHEMA_VERSION));
    object.insert("tool".to_string(), Value::Object(tool));
    object.insert("command".to_string(), command);
    object.insert(
        "ok".to_string(),
        Value::Bool(exit_code == ExitStatus::Success.code()),
    );
    object.insert("changed".to_string(), Value::Bool(changed));
    object.insert("dry_run".to_string(), Value::Bool(dry_run));
    object.insert("exit_code".to_string(), Value::from(exit_code));
    object
}

fn wrap(command: &Command, json: &str, exit_code: i32) -> Result<String, String> {
    let Value::Object(fields) = serde_json::from_str::<Value>(json).map_err(|e| e.to_string())?
    else {
        return Err("not a JSON object".to_string());
    };
    let changed = match fields.get("changed") {
        Some(Value::Bool(changed)) => *changed,
        Some(_) => return Err("`changed` is not a boolean".to_string()),
        None if may_change(command) => {
            return Err("the report does not say whether anything changed".to_string())
        }
        None => false,
    };
    let dry_run = match fields.get("dry_run") {
        Some(Value::Bool(dry_run)) => *dry_run,
        _ => dry_run_flag(command),
    };
    // A renderer's own name wins (`configure-tools --undo`).
    let name = fields
        .get("command")
        .cloned()
        .unwrap_or_else(|| Value::String(command_name(command).to_string()));
    let mut object = envelope(name, exit_code, changed, dry_run);
    for (key, value) in fields {
        if !ENVELOPE_FIELDS.contains(&key.as_str()) {
            object.insert(key, value);
        }
    }
    Ok(render(&Value::Object(object)))
}

fn render(value: &Value) -> String {
    // A Value holds nothing serde_json cannot write; the fallback keeps stdout one JSON object.
    to_json_pretty(value).unwrap_or_else(|_| {
        format!(
            "{{\"schema_version\": {SCHEMA_VERSION}, \"ok\": false, \"exit_code\": {}}}",
            ExitStatus::LocalError.code()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::changed_by;
    use crate::install::plan::Effect;

    #[test]
    fn only_writes_and_removals_are_changes() {
        assert!(!changed_by([]));
        assert!(!changed_by([Effect::Unchanged, Effect::KeptModified]));
        for effect in [Effect::Create, Effect::Replace, Effect::Remove] {
            assert!(changed_by([Effect::Unchanged, effect]), "{effect:?}");
        }
    }
}
