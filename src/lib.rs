//! trust-proxy: find the root CA of a TLS-intercepting proxy, with proof, and trust it properly.
//!
//! Data flows one way: proxy choice -> probe -> chain analysis -> report (and, later, confirm ->
//! plan -> apply -> verify).

pub mod certinfo;
pub mod certload;
pub mod chain;
pub mod classify;
pub mod cli;
pub mod command;
pub mod deadline;
pub mod discover;
pub mod fetch;
pub mod hints;
pub mod lint;
pub mod probe;
pub mod proxy;
pub mod report;
pub mod target;
pub mod tunnel;
