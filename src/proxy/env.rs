//! The first source after the flags: the process environment, read the way curl reads it
//! (`HTTPS_PROXY`, `https_proxy`, `ALL_PROXY`, `all_proxy`, first set wins; `NO_PROXY` or
//! `no_proxy` as the bypass list). The parsing and matching live in `discover::proxy`, which
//! `verify` and the tool clients also use on an environment they build themselves.

use crate::discover::proxy::ProxySettings;

/// The environment as seen through `get`, so tests hand in a map instead of mutating the process.
pub fn read(get: impl Fn(&str) -> Option<String>) -> ProxySettings {
    ProxySettings::from_env(get)
}

/// This process's environment.
pub fn from_process() -> ProxySettings {
    read(|name| std::env::var(name).ok())
}
