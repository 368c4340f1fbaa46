//! Running one client: a child process in its own directory, with its output bounded and a
//! deadline after which it (and whatever it started) is killed, not waited for.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What each of stdout and stderr keeps; the rest is read and dropped so the child never blocks
/// on a full pipe.
pub const OUTPUT_LIMIT: usize = 64 * 1024;

/// After the child is gone, how long its output readers may take to reach end of file. A
/// grandchild that left the process group and kept the pipe open is not waited for longer.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// One command to run.
#[derive(Debug, Clone)]
pub struct Spawn {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub dir: PathBuf,
    /// The child's whole environment (nothing else is inherited).
    pub env: Vec<(OsString, OsString)>,
    pub timeout: Duration,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Exited with this code.
    Exited(i32),
    /// Killed by a signal it did not ask for (or no code was reported).
    Signalled,
    /// Still running at the deadline: killed.
    TimedOut,
}

#[derive(Debug, Clone)]
pub struct Finished {
    pub ended: Ended,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("could not start {}: {source}", program.display())]
    Start {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("waiting for {}: {source}", program.display())]
    Wait {
        program: PathBuf,
        source: std::io::Error,
    },
}

/// Runs `spawn` to completion or to its deadline, whichever comes first.
pub fn run_bounded(spawn: &Spawn) -> Result<Finished, RunError> {
    let start = Instant::now();
    let mut command = Command::new(&spawn.program);
    command
        .args(&spawn.args)
        .current_dir(&spawn.dir)
        .env_clear()
        .envs(spawn.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own process group, so the deadline kills what it started too (git's remote helper,
    // npm's node, the JVM's children), not only the direct child.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn().map_err(|source| RunError::Start {
        program: spawn.program.clone(),
        source,
    })?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = start.checked_add(spawn.timeout).unwrap_or(start);
    let ended = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.code().map_or(Ended::Signalled, Ended::Exited),
            Ok(None) => {}
            Err(source) => {
                kill_group(&mut child);
                return Err(RunError::Wait {
                    program: spawn.program.clone(),
                    source,
                });
            }
        }
        if Instant::now() >= deadline {
            kill_group(&mut child);
            break Ended::TimedOut;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = start.elapsed();
    let until = Instant::now()
        .checked_add(DRAIN_GRACE)
        .unwrap_or_else(Instant::now);
    Ok(Finished {
        ended,
        stdout: collect(stdout, until),
        stderr: collect(stderr, until),
        elapsed,
    })
}

/// Reads a pipe on its own thread, keeping the first [`OUTPUT_LIMIT`] bytes.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    if let Some(mut pipe) = pipe {
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            let mut buf = [0u8; 8192];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let room = OUTPUT_LIMIT.saturating_sub(kept.len());
                        kept.extend_from_slice(buf.get(..n.min(room)).unwrap_or_default());
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = tx.send(kept);
        });
    }
    rx
}

fn collect(rx: mpsc::Receiver<Vec<u8>>, until: Instant) -> String {
    let wait = until.saturating_duration_since(Instant::now());
    let bytes = rx.recv_timeout(wait).unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn kill_group(child: &mut Child) {
    #[cfg(unix)]
    signal_group(child);
    let _ = child.kill();
    let _ = child.wait();
}

/// SIGKILL to the child's process group (its id, as `process_group(0)` made it). Only while the
/// child is not yet reaped: its zombie keeps that id from being reused by another group.
#[cfg(unix)]
fn signal_group(child: &Child) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        if pid > 0 {
            // SAFETY: kill(2) with a negative pid signals that process group; no memory is shared.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
}

/// A program on `path` (the child's PATH), as a shell would find it.
pub fn find_on_path(name: &str, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    let path = path?;
    for dir in std::env::split_paths(path) {
        if dir.as_os_str().is_empty() || !dir.is_absolute() {
            // A relative PATH entry would resolve against the child's throwaway directory.
            continue;
        }
        for candidate in candidates(&dir, name) {
            if is_executable(&candidate) {
                return Some(candidate);
            }
        }
    }
    None
}

fn candidates(dir: &Path, name: &str) -> Vec<PathBuf> {
    if cfg!(windows) {
        [".exe", ".cmd", ".bat", ".com"]
            .iter()
            .map(|ext| dir.join(format!("{name}{ext}")))
            .collect()
    } else {
        vec![dir.join(name)]
    }
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}
