//! Writes the man page and the shell completions of trust-proxy, generated from its clap
//! definitions, into the directory given (the packaging scripts use `target/assets`):
//!
//! ```sh
//! cargo run --example gen-assets -- target/assets
//! ```
//!
//! An example rather than a build.rs: only packaging needs these files, and a build script would
//! run on every build of the crate.

use clap_complete::Shell;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const SHELLS: [Shell; 4] = [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::PowerShell];

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(out_dir), None) = (args.next(), args.next()) else {
        eprintln!("usage: gen-assets OUTDIR");
        return ExitCode::from(2);
    };
    match generate(Path::new(&out_dir)) {
        Ok(written) => {
            for path in written {
                println!("{}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("gen-assets: {err}");
            ExitCode::FAILURE
        }
    }
}

fn generate(out_dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out_dir)?;
    // help_text's command: the pages end with the same examples as `--help`.
    let mut command = trust_proxy::cli::help_text::command();
    let binary_name = command.get_name().to_owned();
    let mut written = Vec::new();

    // One page per command, as the SUBCOMMANDS section of the main page refers to them.
    clap_mangen::generate_to(command.clone(), out_dir)?;
    for entry in std::fs::read_dir(out_dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "1") {
            written.push(path);
        }
    }

    for shell in SHELLS {
        written.push(clap_complete::generate_to(
            shell,
            &mut command,
            &binary_name,
            out_dir,
        )?);
    }
    Ok(written)
}
