//! Proxy sources: where the proxy a URL goes through comes from, before discover reaches
//! anything. Each source is one file; [`resolve`] asks them in the documented order and says
//! why. `cli` resolves every target up front and hands discover the result, so discover never
//! reads OS settings or runs a script itself. Calls `discover` only for its bounded network
//! primitives (name resolution, TCP, the HTTP reader) and `terminal_text`.
//!
//! Today: [`env`], [`wsl`] (`WSL_PAC_URL`), [`gnome`] (read as sudo's invoking user through
//! [`invoking_user`] when elevated), [`etc_environment`], [`pac`] (PAC files evaluated in a
//! sandboxed engine), [`wpad`] with [`dhcp_wpad`] (auto-detection), and [`bypass`] (`NO_PROXY`
//! for the snippets from the deciding source's bypass list). KDE, macOS and Windows follow as
//! further files here (issue 9).

pub mod bypass;
pub mod confirm;
pub mod dhcp_wpad;
pub mod env;
pub mod etc_environment;
pub mod gnome;
pub mod invoking_user;
pub mod keyring;
pub mod pac;
pub mod resolve;
pub mod wpad;
pub mod wsl;
