//! Analyze: parse certificates, build the path from what a peer presented to a root, classify
//! it (public, private, who made it) and lint it. Functions of their inputs, except that path
//! building may fetch a missing issuer through the `discover` fetcher it is handed.

pub mod certinfo;
pub mod certload;
pub mod chain;
pub mod classify;
pub mod lint;
