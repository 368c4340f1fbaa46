//! The edge: command-line syntax, one runner per command, rendering of human and JSON output and
//! the exit code each outcome maps to. Calls every stage; no stage calls it. Errors travel up as
//! values: only `main.rs` turns them into a message and an exit status.

pub mod args;
pub mod command;
pub mod config;
pub mod config_show;
pub mod configure_tools;
pub mod doctor;
pub mod export;
pub mod install_report;
pub mod json_contract;
pub mod proxy;
pub mod report;
pub mod stores;
pub mod verify;
// Issue 11: how human output looks at a terminal, progress, help examples.
pub mod help_text;
pub mod progress;
pub mod style;
pub mod words;
