//! trust-proxy: find the root CA of a TLS-intercepting proxy, with proof, and trust it properly.
//!
//! Data flows one way: proxy choice -> probe -> chain analysis -> report (and, later, confirm ->
//! plan -> apply -> verify).

pub mod certinfo;
pub mod certload;
pub mod deadline;
pub mod proxy;
pub mod target;
