use clap::Parser;
use std::io::Write;
use std::process::ExitCode;
use trust_proxy::cli::{Cli, Command};
use trust_proxy::command::{self, CommandError};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.command {
        Command::Discover(args) => command::run_discover(args),
    };
    match outcome {
        Ok(rendered) => {
            for w in &rendered.warnings {
                eprintln!("trust-proxy: warning: {w}");
            }
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = out.write_all(rendered.stdout.as_bytes());
            let _ = out.write_all(b"\n");
            ExitCode::from(rendered.exit_code as u8)
        }
        Err(e) => {
            eprintln!("trust-proxy: error: {e}");
            ExitCode::from(match e {
                CommandError::Usage(_) => 2,
                CommandError::Local(_) => 1,
            })
        }
    }
}
