use clap::Parser;
use std::io::Write;
use std::process::ExitCode;
use trust_proxy::cli::args::{Cli, Command};
use trust_proxy::cli::command;
use trust_proxy::cli::configure_tools;
use trust_proxy::terminal_text::for_terminal;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.command {
        Command::Discover(args) => command::run_discover(args),
        Command::Install(args) => configure_tools::run_install(args),
        Command::Uninstall(args) => command::run_uninstall(args),
        Command::Status(args) => command::run_status(args),
        Command::Env(args) => command::run_env(args),
        Command::Refresh(args) => command::run_refresh(args),
        Command::ConfigureTools(args) => configure_tools::run_configure_tools(args),
        Command::Verify(args) => trust_proxy::cli::verify::run_verify(args),
        Command::Doctor(args) => trust_proxy::cli::doctor::run_doctor(args),
        Command::Proxy(args) => trust_proxy::cli::proxy::run_proxy(args),
        Command::Export(args) => trust_proxy::cli::export::run_export(args),
    };
    match outcome {
        Ok(rendered) => {
            for w in &rendered.warnings {
                eprintln!("trust-proxy: warning: {}", for_terminal(w));
            }
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = out.write_all(rendered.stdout.as_bytes());
            let _ = out.write_all(b"\n");
            ExitCode::from(rendered.exit_code as u8)
        }
        Err(e) => {
            eprintln!("trust-proxy: error: {}", for_terminal(&e.to_string()));
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
