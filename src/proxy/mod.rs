//! Proxy sources: where the proxy a URL goes through comes from, before discover reaches
//! anything. Each source is one file producing typed choices with the reason for them;
//! `cli` asks the sources and hands discover the result, so discover never reads OS settings
//! or runs a script itself. Calls `discover` only for its bounded network primitives (name
//! resolution, TCP, the HTTP reader) and `terminal_text`.
//!
//! Today: [`pac`], PAC files evaluated in a sandboxed engine. The environment, OS settings and
//! WPAD follow as further files here (issue 9).

pub mod pac;
