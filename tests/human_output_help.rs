//! What a person sees when they ask for help or get the command wrong: `trust-proxy help`, `-h`,
//! a command that does not exist and a misspelled one each lead somewhere useful (where to
//! start, the examples). Snapshots, so a wording change is a reviewed diff.

// Shared with human_output.rs; the probe helpers there are not needed for help.
#[path = "support/human.rs"]
#[allow(dead_code)]
mod human;
use human::{bin, outcome, snapshot};

fn run(args: &[&str]) -> String {
    let home = tempfile::tempdir().unwrap();
    outcome(home.path(), bin(home.path()).args(args))
}

#[test]
fn help_command_prints_the_long_help_with_the_flows() {
    snapshot!("help_command", run(&["help"]));
}

#[test]
fn short_help_ends_with_where_to_start() {
    snapshot!("help_short", run(&["-h"]));
}

#[test]
fn unknown_command_says_where_to_start() {
    snapshot!("help_unknown_command", run(&["frobnicate"]));
}

#[test]
fn misspelled_command_names_the_near_ones_and_where_to_start() {
    snapshot!("help_misspelled_command", run(&["instal"]));
}
