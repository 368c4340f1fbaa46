//! Running the store tools (`certutil`, `keytool`) the optional stores drive: a cleared
//! environment, so nothing the caller's shell set (`NSS_DEFAULT_DB_TYPE`, `JAVA_TOOL_OPTIONS`,
//! a proxy password) reaches them, and English messages, which the stores read.

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::StoreError;

const TOOL_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Runs `program args`, feeding `stdin` when given; the output, whatever the exit status.
pub(crate) fn run(
    program: &Path,
    args: &[&OsStr],
    envs: &[(&str, &OsStr)],
    stdin: Option<&[u8]>,
) -> Result<Output, StoreError> {
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .env("PATH", TOOL_PATH)
        .env("LANG", "C")
        .env("LC_ALL", "C")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in envs {
        command.env(name, value);
    }
    let failed = |e: std::io::Error| StoreError::Refresh {
        command: command_line(program, args),
        detail: e.to_string(),
    };
    let mut child = command.spawn().map_err(failed)?;
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A tool that exits early closes the pipe: its exit status says why.
        let _ = pipe.write_all(bytes);
    }
    child.wait_with_output().map_err(failed)
}

/// `program args...` for messages.
pub(crate) fn command_line(program: &Path, args: &[&OsStr]) -> String {
    std::iter::once(program.as_os_str())
        .chain(args.iter().copied())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The error for a run that did not succeed: its status and the last line it printed.
pub(crate) fn failure(program: &Path, args: &[&OsStr], output: &Output) -> StoreError {
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_owned();
    StoreError::Refresh {
        command: command_line(program, args),
        detail: format!("{}: {last}", output.status),
    }
}

/// The first of `names` that is a file in one of `dirs`.
pub(crate) fn find_in(dirs: &[&Path], names: &[&str]) -> Option<std::path::PathBuf> {
    dirs.iter()
        .flat_map(|d| names.iter().map(move |n| d.join(n)))
        .find(|p| p.is_file())
}
