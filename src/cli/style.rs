//! How human output looks at a terminal: lines wrapped to its width, and colour on the few words
//! a person must not miss (NETWORK ONLY, failures, warnings).
//!
//! Applied by main after a command has rendered, so the renderers and the JSON stay plain text.
//! Colour goes through anstream, which drops it when the stream is not a terminal or `NO_COLOR`
//! is set, and keeps it for a pipe under `CLICOLOR_FORCE`. Wrapping happens only at a terminal:
//! a pipe's reader (grep, a log, a script) is better served by whole lines.

use crate::cli::args::Command;
use anstyle::{AnsiColor, Style};
use std::io::{IsTerminal, Write};

/// Failures and the network-only banner.
pub const ALARM: Style = AnsiColor::Red.on_default().bold();
/// Warnings and things kept aside.
pub const CAUTION: Style = AnsiColor::Yellow.on_default().bold();
/// Success words.
pub const GOOD: Style = AnsiColor::Green.on_default();

/// The words the renderers use for what went wrong, longest first so that `FAILS` is not read
/// as `FAIL` + `S`. Matched only as whole words, so a subject that merely contains them stays as
/// it is (it is shown escaped by the renderer anyway).
const MARKED: &[(&str, Style)] = &[
    ("VERIFICATION FAILED", ALARM),
    ("SOMETHING CHANGED", ALARM),
    ("NETWORK ONLY", ALARM),
    ("REJECTS", CAUTION),
    ("WARNING", CAUTION),
    ("MISSING", ALARM),
    ("CHANGED", CAUTION),
    ("UNKNOWN", CAUTION),
    ("ERROR", ALARM),
    ("FAILS", ALARM),
    ("FAIL", ALARM),
    ("KEPT", CAUTION),
];

/// Whether `command` prints text for people (wrapped and coloured) rather than JSON or a shell
/// snippet that must reach `eval` byte for byte.
pub fn is_human(command: &Command) -> bool {
    match command {
        Command::Discover(a) => !a.json,
        Command::Install(a) => !a.scope.json,
        Command::Uninstall(a) => !a.scope.json,
        Command::Status(a) | Command::Refresh(a) => !a.json,
        Command::ConfigureTools(a) => !a.json,
        Command::Verify(a) => !a.json,
        Command::Doctor(a) => !a.json,
        Command::Proxy(a) => !a.json,
        Command::Export(a) => !a.json,
        Command::Config(crate::cli::args::ConfigCommand::Show(a)) => !a.json,
        // A shell snippet for `eval`: byte for byte.
        Command::Env(_) => false,
    }
}

/// `text` with each marked word wrapped in its style.
pub fn mark(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while !rest.is_empty() {
        let at_word_start = out.chars().last().is_none_or(|c| !c.is_alphanumeric());
        if at_word_start {
            for (word, style) in MARKED {
                if let Some(after) = rest.strip_prefix(word) {
                    if after.chars().next().is_none_or(|c| !c.is_alphanumeric()) {
                        out.push_str(&format!("{style}{word}{style:#}"));
                        rest = after;
                        continue 'scan;
                    }
                }
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

/// Each line longer than `width` broken at spaces, continued under its value column: a line
/// `  Label      value ...` continues under `value`, any other under its own indentation plus
/// two. Words are never split: a fingerprint or a command broken across lines could not be
/// copied whole.
pub fn wrap(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for (n, line) in text.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        if textwrap::core::display_width(line) <= width {
            out.push_str(line);
            continue;
        }
        let column = hanging_indent(line, width);
        let indent = " ".repeat(column);
        let options = textwrap::Options::new(width)
            .subsequent_indent(&indent)
            .break_words(false)
            .word_splitter(textwrap::WordSplitter::NoHyphenation);
        let lines = textwrap::wrap(line, options);
        // A value that is one long word (a fingerprint, a path) stays beside its label and lets
        // the terminal fold it, rather than leaving the label alone on its line.
        let label_alone = lines
            .first()
            .is_some_and(|first| textwrap::core::display_width(first) <= column);
        if label_alone {
            out.push_str(line);
        } else {
            out.push_str(&lines.join("\n"));
        }
    }
    out
}

/// The column a wrapped line continues at.
fn hanging_indent(line: &str, width: usize) -> usize {
    let lead = line.len() - line.trim_start_matches(' ').len();
    let body = &line[lead..];
    // A label of a few words followed by a run of two or more spaces: the value's column.
    let value_column = body
        .find("  ")
        .filter(|&end| end > 0 && end <= 24)
        .map(|end| lead + end + body[end..].len() - body[end..].trim_start_matches(' ').len());
    let column = value_column.unwrap_or(lead + 2);
    // Under a third of the width is left for text: fall back to a plain hanging indent.
    if column > width * 2 / 3 {
        (lead + 2).min(width / 3)
    } else {
        column
    }
}

/// `text` wrapped to the width of the terminal `stream` is, or as it is for a pipe or file.
fn fit(stream: &impl IsTerminal, text: &str) -> String {
    if !stream.is_terminal() {
        return text.to_string();
    }
    match terminal_size::terminal_size() {
        Some((w, _)) => wrap(text, usize::from(w.0).max(20)),
        None => text.to_string(),
    }
}

/// Writes a command's human output to stdout: wrapped at a terminal, marked words coloured
/// where colour is wanted.
pub fn print_human(text: &str) {
    let stdout = std::io::stdout();
    let text = mark(&fit(&stdout, text));
    let mut out = anstream::AutoStream::auto(stdout.lock());
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = out.write_all(text.as_bytes());
    let _ = out.write_all(b"\n");
}

/// One `trust-proxy: warning: ...` line on stderr (`message` already escaped).
pub fn print_warning(message: &str) {
    print_stderr(CAUTION, "warning", message);
}

/// The `trust-proxy: error: ...` line on stderr (`message` already escaped).
pub fn print_error(message: &str) {
    print_stderr(ALARM, "error", message);
}

fn print_stderr(style: Style, label: &str, message: &str) {
    let stderr = std::io::stderr();
    let wrapped = fit(&stderr, &format!("trust-proxy: {label}: {message}"));
    // Only the label is coloured: the message may name a path or a command to copy.
    let prefix_len = "trust-proxy: ".len() + label.len();
    let (head, tail) = wrapped.split_at(prefix_len.min(wrapped.len()));
    let (program, label_text) = head.split_at("trust-proxy: ".len().min(head.len()));
    let mut err = anstream::AutoStream::auto(stderr.lock());
    let _ = writeln!(err, "{program}{style}{label_text}{style:#}{}", mark(tail));
}

/// The install question on stderr (`question` already escaped), wrapped and marked like the
/// report, without a final newline: the answer is typed after it.
pub fn print_question(question: &str) {
    let stderr = std::io::stderr();
    let text = mark(&fit(&stderr, question));
    let mut err = anstream::AutoStream::auto(stderr.lock());
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// Whether colour would reach stderr (progress lines are written by indicatif, not anstream).
pub fn stderr_colour() -> bool {
    anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every report for people is wrapped and coloured at a terminal; JSON and the `eval`
    /// snippet never are.
    #[test]
    fn human_reports_are_the_text_ones() {
        use clap::Parser;
        let human = |args: &[&str]| {
            let cli = crate::cli::args::Cli::try_parse_from(
                std::iter::once("trust-proxy").chain(args.iter().copied()),
            )
            .unwrap();
            is_human(&cli.command)
        };
        assert!(human(&["export", "--format", "pem", "--output", "x.pem"]));
        assert!(!human(&[
            "export", "--format", "pem", "--output", "x.pem", "--json"
        ]));
        assert!(human(&["config", "show"]));
        assert!(!human(&["config", "show", "--json"]));
        assert!(human(&["doctor"]));
        assert!(!human(&["env"]));
    }

    #[test]
    fn marks_whole_words_only() {
        let plain = "FAILS here, FAILURE there, NETWORK ONLY, xKEPT";
        let marked = mark(plain);
        assert!(marked.contains(&format!("{ALARM}FAILS{ALARM:#}")));
        assert!(marked.contains(&format!("{ALARM}NETWORK ONLY{ALARM:#}")));
        assert!(marked.contains("FAILURE there"));
        assert!(marked.contains("xKEPT"));
    }

    #[test]
    fn wraps_under_the_value_column_without_splitting_words() {
        let line = format!(
            "  Provenance       {} {}",
            "word ".repeat(20).trim_end(),
            "AB:".repeat(20)
        );
        let wrapped = wrap(&line, 60);
        for l in wrapped.lines() {
            assert!(l.len() <= 60 || !l.trim().contains(' '), "{l:?}");
        }
        for l in wrapped.lines().skip(1) {
            assert!(l.starts_with(&" ".repeat(19)), "{l:?}");
        }
        assert!(wrapped.contains(&"AB:".repeat(20)), "{wrapped}");
    }

    #[test]
    fn a_long_single_value_stays_beside_its_label() {
        let line = format!("  SHA-256          {}", "AB:".repeat(31) + "AB");
        assert_eq!(wrap(&line, 60), line);
    }
}
