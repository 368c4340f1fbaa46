//! README's examples are the help's examples, and every example runs: each command's long help
//! ends with its own examples (then, for the trust flows, the flows people come for), README's
//! "Examples" section holds each block verbatim, and every example command line parses with the
//! parser main uses, flags and values included.

use clap::FromArgMatches;
use trust_proxy::cli::args::Cli;
use trust_proxy::cli::help_text::{self, COMMAND_EXAMPLES, FLOWS};

fn run(args: &[&str]) -> std::process::Output {
    trust_proxy_testkit::cli::clean_command(env!("CARGO_BIN_EXE_trust-proxy"))
        .args(args)
        .output()
        .unwrap()
}

fn help(args: &[&str]) -> String {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Every command's path on the command line ("" for the top level, "config show"), from the
/// command main parses with, so a command added later is checked without being listed here.
fn command_paths() -> Vec<String> {
    fn walk(command: &clap::Command, path: &str, out: &mut Vec<String>) {
        out.push(path.to_string());
        for sub in command.get_subcommands() {
            let sub_path = format!("{path} {}", sub.get_name());
            walk(sub, sub_path.trim_start(), out);
        }
    }
    let mut paths = Vec::new();
    walk(&help_text::command(), "", &mut paths);
    paths
}

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

#[test]
fn every_long_help_ends_with_its_examples_and_readme_holds_them() {
    let paths = command_paths();
    assert!(paths.len() >= 14, "{paths:?}");
    for path in &paths {
        let ending = help_text::examples_ending(path)
            .unwrap_or_else(|| panic!("`{path}` has no examples in help_text::COMMAND_EXAMPLES"));
        let mut args: Vec<&str> = path.split_whitespace().collect();
        args.push("--help");
        let long = help(&args);
        assert!(
            long.trim_end().ends_with(&format!("\n\n{ending}")),
            "`trust-proxy {path} --help` does not end with its examples:\n{long}"
        );
        args.pop();
        args.push("-h");
        let short = help(&args);
        assert!(!short.contains("Examples:\n"), "`{path} -h` stays short");
    }
    let readme = readme();
    let blocks = std::iter::once(FLOWS).chain(COMMAND_EXAMPLES.iter().map(|(_, block)| *block));
    for block in blocks {
        assert!(
            readme.contains(&format!("\n```\n{block}\n```\n")),
            "README does not hold this block of the help verbatim:\n{block}"
        );
    }
}

/// The command lines of an examples block (indented four spaces; the two-space lines say why):
/// continuation lines joined, `sudo` and `eval "$(...)"` taken off, a pipe ends the command.
/// Every command line must run trust-proxy.
fn example_command_lines(block: &str) -> Vec<Vec<String>> {
    let joined = block.replace("\\\n", " ");
    let mut lines = Vec::new();
    for line in joined.lines().filter(|l| l.starts_with("    ")) {
        let line = line.trim();
        let line = line.strip_prefix("sudo ").unwrap_or(line);
        let line = line.strip_prefix("eval \"$(").unwrap_or(line);
        let rest = line
            .strip_prefix("trust-proxy")
            .filter(|rest| rest.is_empty() || rest.starts_with(' '))
            .unwrap_or_else(|| panic!("an example that does not run trust-proxy: {line}"));
        let rest = rest.split(['|', ')']).next().unwrap_or_default();
        let words: Vec<String> = rest.split_whitespace().map(str::to_string).collect();
        assert!(
            words.iter().all(|w| !w.contains(['"', '\'', '$', '`'])),
            "quoting or expansion in an example this test splits on spaces: {line}"
        );
        lines.push(words);
    }
    lines
}

/// The parser main uses (help_text::command, as json_contract::parse_args), then the typed
/// arguments: an unknown flag, a bad value or a missing required option fails here.
fn parses(words: &[String]) -> Result<(), String> {
    let matches = help_text::command()
        .try_get_matches_from(std::iter::once("trust-proxy".to_string()).chain(words.to_vec()))
        .map_err(|e| e.to_string())?;
    Cli::from_arg_matches(&matches).map_err(|e| e.to_string())?;
    Ok(())
}

#[test]
fn every_example_parses_and_fits_its_command() {
    let mut checked = 0;
    for path in command_paths() {
        let Some(ending) = help_text::examples_ending(&path) else {
            continue;
        };
        for words in example_command_lines(&ending) {
            if let Err(error) = parses(&words) {
                panic!(
                    "`trust-proxy {}` (in `{path} --help`) does not parse:\n{error}",
                    words.join(" ")
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} example command lines found");

    for (path, block) in COMMAND_EXAMPLES {
        let lines = example_command_lines(block);
        assert!(
            (2..=5).contains(&lines.len()),
            "`{path}`: {} examples, not 2 to 5",
            lines.len()
        );
        let command: Vec<&str> = path.split_whitespace().collect();
        for words in lines {
            assert!(
                words.starts_with(&command.iter().map(|w| w.to_string()).collect::<Vec<_>>())
                    || (command == ["config"] && words.starts_with(&["config".to_string()])),
                "`{path}`'s examples run another command: trust-proxy {}",
                words.join(" ")
            );
        }
    }
}

#[test]
fn the_check_rejects_a_wrong_flag_and_value() {
    let words = |line: &str| -> Vec<String> { line.split_whitespace().map(String::from).collect() };
    assert!(parses(&words("export --format pem --output x.pem")).is_ok());
    assert!(parses(&words("export --format pem -o x.pem")).is_err());
    assert!(parses(&words("export --format pdf --output x.pem")).is_err());
    assert!(parses(&words("verify --tools pip,nonsense")).is_err());
}

#[test]
fn bare_command_says_where_to_start() {
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("Start here"), "{err}");
    assert!(err.contains("  trust-proxy discover\n"), "{err}");
    assert!(out.stdout.is_empty());
}

/// The man pages, generated as packaging generates them (examples/gen-assets.rs), end with the
/// same examples as `--help`.
#[test]
fn the_man_pages_hold_the_same_examples() {
    let dir = tempfile::tempdir().unwrap();
    clap_mangen::generate_to(help_text::command(), dir.path()).unwrap();
    for path in command_paths() {
        let page_name = format!("trust-proxy {path}").trim_end().replace(' ', "-");
        let roff = std::fs::read_to_string(dir.path().join(format!("{page_name}.1")))
            .unwrap_or_else(|e| panic!("no man page {page_name}.1: {e}"));
        // The roff escapes the examples use: a hyphen, a backslash, an apostrophe.
        let text = roff
            .replace("\\*(Aq", "'")
            .replace("\\-", "-")
            .replace("\\\\", "\\");
        let ending = help_text::examples_ending(&path).unwrap();
        assert!(
            text.contains(&ending),
            "{page_name}.1 does not hold the examples of `trust-proxy {path} --help`:\n{roff}"
        );
    }
}
