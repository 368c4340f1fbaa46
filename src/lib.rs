//! trust-proxy: find the root CA of a TLS-intercepting proxy, with proof, and trust it properly.
//!
//! Data flows one way: [`discover`] (proxy choice -> probe -> fetch -> fold), [`analyze`] (parse,
//! path building, classification, lint), then [`install`] (decide -> validate -> plan -> apply ->
//! verify), with the state file recording what was applied so uninstall reverses exactly that.
//! [`cli`] is the edge that drives them; [`terminal_text`] is the one leaf every stage shares.
//! ARCHITECTURE.md has the map and the invariants.

pub mod analyze;
pub mod cli;
pub mod config;
pub mod discover;
pub mod exit_status;
pub mod export;
pub mod install;
pub mod process;
pub mod proxy;
pub mod terminal_text;
pub mod tools;
