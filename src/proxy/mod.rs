//! Proxy sources: where the proxy a URL goes through comes from, before discover reaches
//! anything. Each source is one file; [`resolve`] asks them in the documented order and says
//! why. `cli` resolves every target up front and hands discover the result, so discover never
//! reads OS settings or runs a script itself. Calls `discover` only for its bounded network
//! primitives (name resolution, TCP, the HTTP reader) and `terminal_text`.
//!
//! Today: [`env`], [`gnome`], [`etc_environment`], [`pac`] (PAC files evaluated in a sandboxed
//! engine). KDE, macOS, Windows and WPAD follow as further files here (issue 9).

pub mod confirm;
pub mod env;
pub mod etc_environment;
pub mod gnome;
pub mod keyring;
pub mod pac;
pub mod resolve;
