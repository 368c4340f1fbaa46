//! The one place configuration reaches the commands: the flags of the parsed command become the
//! top [`Layer`], [`config::resolve`] adds the environment and the files, and every value a flag
//! did not give is written back into the same argument structs the commands already take. No
//! command reads a configuration file itself.

use crate::cli::args::{Cli, Command, ConfigCommand, ProbeArgs, ScopeArg};
use crate::config::{
    self, ConfigError, ConfigScope, Effective, Inputs, Layer, ProxyChoice, Setting, Source,
};
use crate::install::decide::Pin;
use clap::parser::ValueSource;
use clap::ArgMatches;
use std::path::Path;

/// What a resolution needs besides the command line: the binary passes the real system file,
/// the process environment and whether it runs elevated; tests pass their own.
pub struct Environment<'a> {
    pub system_file: &'a Path,
    pub user_file: Option<std::path::PathBuf>,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub elevated: bool,
}

impl Environment<'_> {
    /// This process: the OS's system file, the `directories` user file, the real environment.
    pub fn of_process<R>(run: impl FnOnce(&Environment<'_>) -> R) -> R {
        let system_file = config::system_file_path();
        let env = |k: &str| std::env::var(k).ok();
        run(&Environment {
            system_file: &system_file,
            user_file: config::user_file_path(),
            env: &env,
            elevated: trust_proxy_platform::is_elevated(),
        })
    }
}

/// Resolves the configuration for `cli`'s command and fills in what the flags left unset.
/// `matches` tells a flag given on the command line from a clap default (`--timeout`).
pub fn apply(
    cli: &mut Cli,
    matches: &ArgMatches,
    environment: &Environment<'_>,
) -> Result<Effective, ConfigError> {
    let sub = matches.subcommand().map(|(_, m)| m);
    // `try_get_raw` first: `value_source` on an id the subcommand lacks is a debug assertion.
    let given = |id: &str| {
        sub.filter(|m| m.try_get_raw(id).is_ok())
            .and_then(|m| m.value_source(id))
            == Some(ValueSource::CommandLine)
    };
    let (flags, scope_flag) = flags_layer(&cli.command, &given)?;
    let inputs = Inputs {
        system_file: environment.system_file.to_path_buf(),
        user_file: environment.user_file.clone(),
        config_flag: cli.config.clone(),
        env: environment.env,
        system_rules: environment.elevated || scope_flag == Some(ScopeArg::System),
        enforce_ceiling: matches!(
            cli.command,
            Command::Install(_) | Command::Config(_) | Command::Export(_)
        ),
    };
    let effective = config::resolve(flags, &inputs)?;
    fill(&mut cli.command, &effective.values);
    Ok(effective)
}

fn flag<T>(value: T) -> Option<Setting<T>> {
    Some(Setting {
        value,
        source: Source::Flag,
    })
}

fn non_empty<T: Clone>(values: &[T]) -> Option<Setting<Vec<T>>> {
    (!values.is_empty())
        .then(|| flag(values.to_vec()))
        .flatten()
}

fn to_config_scope(scope: ScopeArg) -> ConfigScope {
    match scope {
        ScopeArg::System => ConfigScope::System,
        ScopeArg::User => ConfigScope::User,
    }
}

/// The command line's own values as the top layer, and the `--scope` flag.
fn flags_layer(
    command: &Command,
    given: &dyn Fn(&str) -> bool,
) -> Result<(Layer, Option<ScopeArg>), ConfigError> {
    let mut layer = Layer::default();
    let probe_flags = |layer: &mut Layer, probe: &ProbeArgs| {
        layer.proxy = if probe.no_proxy {
            flag(ProxyChoice::Direct)
        } else if let Some(url) = &probe.proxy {
            flag(ProxyChoice::Url(url.clone()))
        } else {
            probe.pac.clone().and_then(|p| flag(ProxyChoice::Pac(p)))
        };
        layer.allow_proxy = non_empty(&probe.allow_proxy);
        layer.targets = non_empty(&probe.targets);
        layer.timeout = given("timeout").then(|| flag(probe.timeout)).flatten();
        layer.public_roots = probe.public_roots.clone().and_then(flag);
    };
    let scope = match command {
        Command::Discover(a) => {
            probe_flags(&mut layer, &a.probe);
            None
        }
        Command::Doctor(a) => {
            probe_flags(&mut layer, &a.probe);
            None
        }
        Command::Install(a) => {
            probe_flags(&mut layer, &a.probe);
            let mut pins = Vec::new();
            for raw in &a.fingerprints {
                pins.push(Pin::parse(raw).map_err(|e| ConfigError::Flag(e.to_string()))?);
            }
            layer.fingerprints = non_empty(&pins);
            layer.tools = a.configure_tools.as_deref().and_then(non_empty);
            a.scope.scope
        }
        Command::Export(a) => {
            probe_flags(&mut layer, &a.probe);
            let mut pins = Vec::new();
            for raw in &a.fingerprints {
                pins.push(Pin::parse(raw).map_err(|e| ConfigError::Flag(e.to_string()))?);
            }
            layer.fingerprints = non_empty(&pins);
            None
        }
        Command::Verify(a) => {
            layer.proxy = a.proxy.clone().and_then(|u| flag(ProxyChoice::Url(u)));
            None
        }
        Command::ConfigureTools(a) => {
            layer.tools = non_empty(&a.tools);
            a.scope
        }
        Command::Uninstall(a) => a.scope.scope,
        Command::Status(a) | Command::Refresh(a) => a.scope,
        Command::Env(a) => a.scope,
        Command::Config(ConfigCommand::Show(a)) => a.scope,
        Command::Proxy(_) => None,
    };
    layer.scope = scope.and_then(|s| flag(to_config_scope(s)));
    Ok((layer, scope))
}

/// Writes every configured value a flag did not give into the command's arguments.
fn fill(command: &mut Command, values: &Layer) {
    let scope = unflagged(&values.scope).map(|s| match s {
        ConfigScope::System => ScopeArg::System,
        ConfigScope::User => ScopeArg::User,
    });
    let fill_probe = |probe: &mut ProbeArgs| {
        if let Some(p) = values.proxy.as_ref().filter(|s| s.source != Source::Flag) {
            match &p.value {
                ProxyChoice::Url(url) => probe.proxy = Some(url.clone()),
                ProxyChoice::Pac(pac) => probe.pac = Some(pac.clone()),
                ProxyChoice::Direct => probe.no_proxy = true,
            }
        }
        if let Some(a) = unflagged(&values.allow_proxy) {
            probe.allow_proxy = a.clone();
        }
        if let Some(t) = unflagged(&values.targets) {
            probe.targets = t.clone();
        }
        if let Some(t) = unflagged(&values.timeout) {
            probe.timeout = *t;
        }
        if let Some(p) = unflagged(&values.public_roots) {
            probe.public_roots = Some(p.clone());
        }
    };
    match command {
        Command::Discover(a) => fill_probe(&mut a.probe),
        Command::Doctor(a) => fill_probe(&mut a.probe),
        Command::Install(a) => {
            fill_probe(&mut a.probe);
            if let Some(pins) = unflagged(&values.fingerprints) {
                a.fingerprints = pins.iter().map(Pin::display).collect();
            }
            // `tools` picks which tools --configure-tools configures; it does not turn it on.
            if let (Some(selected), Some(tools)) =
                (a.configure_tools.as_mut(), unflagged(&values.tools))
            {
                if selected.is_empty() {
                    *selected = tools.clone();
                }
            }
            if a.scope.scope.is_none() {
                a.scope.scope = scope;
            }
        }
        Command::Export(a) => {
            fill_probe(&mut a.probe);
            if let Some(pins) = unflagged(&values.fingerprints) {
                a.fingerprints = pins.iter().map(Pin::display).collect();
            }
        }
        Command::Verify(a) => {
            if let Some(ProxyChoice::Url(url)) = unflagged(&values.proxy) {
                a.proxy = Some(url.clone());
            }
        }
        Command::ConfigureTools(a) => {
            if !a.undo && a.tools.is_empty() {
                if let Some(tools) = unflagged(&values.tools) {
                    a.tools = tools.clone();
                }
            }
        }
        Command::Uninstall(a) => {
            if a.scope.scope.is_none() {
                a.scope.scope = scope;
            }
        }
        Command::Status(a) | Command::Refresh(a) => {
            if a.scope.is_none() {
                a.scope = scope;
            }
        }
        Command::Env(a) => {
            if a.scope.is_none() {
                a.scope = scope;
            }
        }
        Command::Config(_) | Command::Proxy(_) => {}
    }
}

/// A value the configuration gave and no flag did.
fn unflagged<T>(setting: &Option<Setting<T>>) -> Option<&T> {
    setting
        .as_ref()
        .filter(|s| s.source != Source::Flag)
        .map(|s| &s.value)
}
