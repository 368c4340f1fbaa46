use std::io::Write;
use std::process::ExitCode;
use trust_proxy::cli::args::{Command, ConfigCommand};
use trust_proxy::cli::command;
use trust_proxy::cli::configure_tools;
use trust_proxy::cli::json_contract;
use trust_proxy::cli::{help_text, progress, style};
use trust_proxy::terminal_text::for_terminal;

fn main() -> ExitCode {
    if std::env::args_os().len() <= 1 {
        // No command is a usage error (exit 2, as clap's), said as where to start.
        eprintln!("{}", help_text::START_HERE);
        return ExitCode::from(2);
    }
    let (mut cli, matches) = json_contract::parse_args();
    progress::set_quiet(cli.quiet);
    let effective = match trust_proxy::cli::config::Environment::of_process(|environment| {
        trust_proxy::cli::config::apply(&mut cli, &matches, environment)
    }) {
        Ok(effective) => effective,
        Err(e) => {
            if let Some(json) =
                json_contract::early_error_json(&cli.command, e.exit_code(), &e.to_string())
            {
                let _ = writeln!(std::io::stdout().lock(), "{json}");
            }
            style::print_error(&for_terminal(&e.to_string()));
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    // Every command's notes are printed whether it succeeds or fails: a refusal keeps the notes
    // gathered before it (the scope note, the proxy notes).
    let outcome: Result<_, command::Failure> = match &cli.command {
        Command::Discover(args) => command::run_discover(args),
        Command::Install(args) => configure_tools::run_install(args),
        Command::Uninstall(args) => command::run_uninstall(args).map_err(Into::into),
        Command::Status(args) => command::run_status(args).map_err(Into::into),
        Command::Env(args) => command::run_env(args).map_err(Into::into),
        Command::Refresh(args) => command::run_refresh(args).map_err(Into::into),
        Command::ConfigureTools(args) => {
            configure_tools::run_configure_tools(args).map_err(Into::into)
        }
        Command::Verify(args) => trust_proxy::cli::verify::run_verify(args).map_err(Into::into),
        Command::Doctor(args) => trust_proxy::cli::doctor::run_doctor(args),
        Command::Proxy(args) => trust_proxy::cli::proxy::run_proxy(args).map_err(Into::into),
        Command::Config(ConfigCommand::Show(args)) => Ok(
            trust_proxy::cli::config_show::run_config_show(args, &effective),
        ),
        Command::Export(args) => trust_proxy::cli::export::run_export(args),
    };
    match outcome {
        Ok(rendered) => {
            let rendered = json_contract::seal(&cli.command, rendered);
            for w in &rendered.warnings {
                style::print_warning(&for_terminal(w));
            }
            if style::is_human(&cli.command) {
                style::print_human(&rendered.stdout);
                return ExitCode::from(rendered.exit_code as u8);
            }
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = out.write_all(rendered.stdout.as_bytes());
            let _ = out.write_all(b"\n");
            ExitCode::from(rendered.exit_code as u8)
        }
        Err(command::Failure { error, warnings }) => {
            if let Some(json) = json_contract::error_json(&cli.command, &error, &warnings) {
                let _ = writeln!(std::io::stdout().lock(), "{json}");
            }
            for w in &warnings {
                style::print_warning(&for_terminal(w));
            }
            style::print_error(&for_terminal(&error.to_string()));
            ExitCode::from(error.exit_code() as u8)
        }
    }
}
