//! Progress on stderr while targets are probed or clients checked: one line per target as it
//! finishes, with the time since the start, under a spinner counting what is done.
//!
//! Shown only when stderr is a terminal and neither `--json` nor `--quiet` was given: a log or a
//! script reading stderr gets nothing from it. The lines come from the library's per-target
//! completion callbacks (`discover_observed`, `verify_clients_observed`), never from a timer
//! guessing.

use crate::cli::style::{stderr_colour, ALARM, CAUTION, GOOD};
use crate::discover::{TargetResult, TargetStatus};
use crate::terminal_text::printable;
use crate::tools::clients::classify::Status;
use crate::tools::clients::ClientResult;
use anstyle::Style;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static QUIET: AtomicBool = AtomicBool::new(false);

/// `--quiet`: no progress, whatever stderr is.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Progress for one batch of parallel work.
pub struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    colour: bool,
}

impl Progress {
    /// A spinner saying `what`, for `total` items; hidden unless stderr is a terminal and
    /// `json` and `--quiet` are off.
    pub fn start(what: &str, total: usize, json: bool) -> Progress {
        let shown = !json && !QUIET.load(Ordering::Relaxed) && std::io::stderr().is_terminal();
        let bar = shown.then(|| {
            let bar = ProgressBar::with_draw_target(
                Some(u64::try_from(total).unwrap_or(u64::MAX)),
                ProgressDrawTarget::stderr(),
            );
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} {msg} {pos}/{len} done, {elapsed}")
            {
                bar.set_style(style);
            }
            bar.set_message(what.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            started: Instant::now(),
            colour: stderr_colour(),
        }
    }

    /// A line for one finished item: its name, what came of it, seconds since the start.
    fn done(&self, name: &str, outcome: &str, style: Style) {
        let Some(bar) = &self.bar else {
            return;
        };
        let outcome = if self.colour {
            format!("{style}{outcome}{style:#}")
        } else {
            outcome.to_string()
        };
        bar.inc(1);
        bar.println(format!(
            "  {name}  {outcome}  ({:.1} s)",
            self.started.elapsed().as_secs_f64()
        ));
    }

    /// For `discover_observed`: the target and its status in the report's words.
    pub fn target_done(&self, t: &TargetResult) {
        let (outcome, style) = match &t.status {
            TargetStatus::Intercepted(i) if i.root_found => ("intercepted", CAUTION),
            TargetStatus::Intercepted(_) => ("intercepted, root not found", ALARM),
            TargetStatus::NotIntercepted | TargetStatus::PublicButInvalid { .. } => {
                ("not intercepted", GOOD)
            }
            TargetStatus::SelfSigned { .. } => ("self-signed", CAUTION),
            TargetStatus::Error { .. } => ("error", ALARM),
        };
        self.done(&printable(&t.target.to_string()), outcome, style);
    }

    /// For `verify_clients_observed`: the client, its host and whether it works.
    pub fn client_done(&self, r: &ClientResult) {
        let style = match r.status {
            _ if r.passed => GOOD,
            Status::NotAvailable => Style::new(),
            Status::CouldNotTell => CAUTION,
            _ => ALARM,
        };
        let outcome = if r.passed { "works" } else { r.status.label() };
        self.done(
            &format!("{} {}", r.title, printable(&r.url)),
            outcome,
            style,
        );
    }

    /// Removes the spinner (before the report, or before a question at the terminal).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
