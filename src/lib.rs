//! trust-proxy: find the root CA of a TLS-intercepting proxy, with proof, and trust it properly.
//!
//! Data flows one way: discover (proxy choice -> probe -> chain analysis -> report), then
//! install (decide -> validate -> plan -> apply -> verify), with the state file recording what
//! was applied so uninstall reverses exactly that.

pub mod apply;
pub mod bundle;
pub mod certinfo;
pub mod certload;
pub mod chain;
pub mod classify;
pub mod cli;
pub mod command;
pub mod deadline;
pub mod decide;
pub mod discover;
pub mod envsnippet;
pub mod fetch;
pub mod hints;
pub mod install;
pub mod install_report;
pub mod layout;
pub mod lint;
pub mod plan;
pub mod probe;
pub mod proxy;
pub mod report;
pub mod state;
pub mod status;
pub mod target;
pub mod terminal_text;
pub mod tunnel;
pub mod validate;
pub mod verify;
