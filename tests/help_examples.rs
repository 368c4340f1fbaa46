//! README's examples are the help's examples: the block every `--help` ends with is in README
//! verbatim, so a change to one without the other fails here.

const COMMANDS: &[&str] = &[
    "discover",
    "install",
    "uninstall",
    "status",
    "env",
    "refresh",
    "configure-tools",
    "verify",
    "doctor",
    "proxy",
];

fn help(args: &[&str]) -> String {
    let out = trust_proxy_testkit::cli::clean_command(env!("CARGO_BIN_EXE_trust-proxy"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// From the `Examples:` line to the end, as printed.
fn examples_block(help: &str) -> &str {
    let start = help
        .find("\nExamples:\n")
        .unwrap_or_else(|| panic!("no examples in:\n{help}"));
    help[start + 1..].trim_end()
}

#[test]
fn every_long_help_ends_with_the_readme_examples() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let top = help(&["--help"]);
    let block = examples_block(&top);
    assert!(
        readme.contains(&format!("```\n{block}\n```")),
        "README does not hold the examples `--help` prints:\n{block}"
    );
    for command in COMMANDS {
        let long = help(&[command, "--help"]);
        assert_eq!(examples_block(&long), block, "{command} --help");
        let short = help(&[command, "-h"]);
        assert!(!short.contains("\nExamples:\n"), "{command} -h stays short");
    }
}

#[test]
fn bare_command_says_where_to_start() {
    let out = trust_proxy_testkit::cli::clean_command(env!("CARGO_BIN_EXE_trust-proxy"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("Start here"), "{err}");
    assert!(err.contains("  trust-proxy discover\n"), "{err}");
    assert!(out.stdout.is_empty());
}

/// Every command the examples run exists and accepts those flags (parsed, not run: `--help`
/// after the flags makes clap check them and stop).
#[test]
fn the_examples_parse() {
    let top = help(&["--help"]);
    let block = examples_block(&top).replace("\\\n", " ");
    let mut checked = 0;
    for line in block.lines() {
        let line = line.trim();
        let Some(rest) = line
            .strip_prefix("sudo trust-proxy ")
            .or_else(|| line.strip_prefix("trust-proxy "))
        else {
            continue;
        };
        let mut args: Vec<&str> = rest.split_whitespace().collect();
        args.push("--help");
        help(&args);
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} example commands found");
}
