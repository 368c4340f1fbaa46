//! The child processes trust-proxy starts (version commands, verify's clients, `git config`,
//! `gsettings`, Homebrew's postinstall): found on a PATH as a shell would, absolute entries only,
//! and run with their output bounded and a deadline after which they (and whatever they started)
//! are killed, not waited for. One place, so every caller gets the same guarantees.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What each of stdout and stderr keeps unless the caller says otherwise; the rest is read and
/// dropped so the child never blocks on a full pipe.
pub const OUTPUT_LIMIT: usize = 64 * 1024;

/// After the child is gone, how long its output readers may take to reach end of file. A
/// grandchild that left the process group and kept the pipe open is not waited for longer.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// One command to run.
#[derive(Debug, Clone)]
pub struct Spawn {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Where it runs; `None`: this process's directory.
    pub dir: Option<PathBuf>,
    pub env: ChildEnv,
    pub timeout: Duration,
    /// Bytes kept of each of stdout and stderr.
    pub output_limit: usize,
}

/// The child's environment.
#[derive(Debug, Clone)]
pub enum ChildEnv {
    /// Exactly these variables, nothing inherited (a client run as the person's login would).
    Only(Vec<(OsString, OsString)>),
    /// This process's environment with these set on top.
    Inherit(Vec<(OsString, OsString)>),
}

impl Spawn {
    /// `program args`, inheriting this process's environment and directory, keeping
    /// [`OUTPUT_LIMIT`] of each stream.
    pub fn new(program: impl Into<PathBuf>, args: &[&str], timeout: Duration) -> Spawn {
        Spawn {
            program: program.into(),
            args: args.iter().map(OsString::from).collect(),
            dir: None,
            env: ChildEnv::Inherit(Vec::new()),
            timeout,
            output_limit: OUTPUT_LIMIT,
        }
    }
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

/// Output is text (lossily decoded): every caller parses text.
#[derive(Debug, Clone)]
pub struct Finished {
    pub ended: Ended,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Finished {
    /// The first non-blank line it printed, stderr first: what a failure message should quote.
    pub fn first_line(&self) -> &str {
        self.stderr
            .lines()
            .chain(self.stdout.lines())
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default()
    }
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
    command.args(&spawn.args);
    if let Some(dir) = &spawn.dir {
        command.current_dir(dir);
    }
    let vars = match &spawn.env {
        ChildEnv::Only(vars) => {
            command.env_clear();
            vars
        }
        ChildEnv::Inherit(vars) => vars,
    };
    command
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own process group, so the deadline kills what it started too (git's remote helper,
    // npm's node, the JVM's children), not only the direct child.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = spawn_retrying(&mut command).map_err(|source| RunError::Start {
        program: spawn.program.clone(),
        source,
    })?;
    let stdout = drain(child.stdout.take(), spawn.output_limit);
    let stderr = drain(child.stderr.take(), spawn.output_limit);
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

/// Retries briefly while the program is "text file busy": a script just written is still open
/// for writing in any process forked meanwhile, until that process execs.
fn spawn_retrying(command: &mut Command) -> std::io::Result<Child> {
    for _ in 0..20 {
        match command.spawn() {
            Err(e) if text_file_busy(&e) => std::thread::sleep(Duration::from_millis(10)),
            other => return other,
        }
    }
    command.spawn()
}

fn text_file_busy(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(libc::ETXTBSY)
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

/// Reads a pipe on its own thread, keeping the first `limit` bytes.
fn drain<R: Read + Send + 'static>(pipe: Option<R>, limit: usize) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    if let Some(mut pipe) = pipe {
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            let mut buf = [0u8; 8192];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let room = limit.saturating_sub(kept.len());
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

/// `program` on `path` (a PATH value) as a shell would find it, with each of `extensions`
/// appended (`[""]` on Unix; see [`executable_extensions`]). Absolute entries only: an empty or
/// relative entry means the current directory, where anyone's checkout could plant a `pip`.
pub fn find_on_path(program: &str, path: &OsStr, extensions: &[String]) -> Option<PathBuf> {
    find_in_dirs(program, std::env::split_paths(path), extensions)
}

/// [`find_on_path`] over directories already split.
pub fn find_in_dirs(
    program: &str,
    dirs: impl IntoIterator<Item = PathBuf>,
    extensions: &[String],
) -> Option<PathBuf> {
    dirs.into_iter()
        .filter(|dir| dir.is_absolute())
        .find_map(|dir| {
            extensions.iter().find_map(|ext| {
                let candidate = dir.join(format!("{program}{ext}"));
                is_executable(&candidate).then_some(candidate)
            })
        })
}

/// What a shell appends to a command name: nothing on Unix; on Windows each of PATHEXT's
/// extensions (`pathext`: its value, when set).
pub fn executable_extensions(windows: bool, pathext: Option<&str>) -> Vec<String> {
    if !windows {
        return vec![String::new()];
    }
    pathext
        .unwrap_or(".COM;.EXE;.BAT;.CMD")
        .split(';')
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect()
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
