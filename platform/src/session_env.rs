//! Environment variables that GUI programs, scheduled tasks and services see, not only shells.
//!
//! Shell snippets reach terminals only. Windows keeps the login environment in the registry
//! (`HKCU\Environment`, `HKLM\...\Session Manager\Environment`); macOS has no such file, so a
//! LaunchAgent runs `launchctl setenv` at every login. Linux needs nothing here: the install step
//! writes `/etc/profile.d` and `/etc/environment` itself.

use crate::{Scope, StoreError};

pub mod plist;

#[cfg(target_os = "macos")]
mod macos;
#[cfg(windows)]
mod windows;

#[cfg(target_os = "macos")]
pub use macos::LaunchAgentEnv;
#[cfg(windows)]
pub use windows::RegistryEnv;

/// Variables that persist across logins for one scope.
pub trait PersistentEnv {
    /// Where the variables live, for humans (registry key, plist path).
    fn describe(&self) -> String;
    /// The persisted value, unexpanded; `None` when the variable is not set there.
    fn get(&self, name: &str) -> Result<Option<String>, StoreError>;
    /// Sets every pair, leaving other variables alone. Idempotent: values already as requested
    /// are not rewritten, and running programs are told only when something changed.
    fn set(&self, vars: &[(String, String)]) -> Result<(), StoreError>;
    /// Removes the names; names that are not set are not an error.
    fn unset(&self, names: &[String]) -> Result<(), StoreError>;
    /// What the last `set`/`unset` could not do although the values were saved (a broadcast
    /// that failed, a session that could not be updated now): they then apply from the next
    /// login. Kept apart from errors so that a caller does not roll back saved values for it.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The persistent environment for `scope` on this OS; `None` where the OS needs none (Linux and
/// anything else: login shells and PAM read the files the install step writes).
pub fn persistent_env(scope: Scope) -> Result<Option<Box<dyn PersistentEnv>>, StoreError> {
    #[cfg(windows)]
    {
        Ok(Some(Box::new(windows::RegistryEnv::new(scope))))
    }
    #[cfg(target_os = "macos")]
    {
        Ok(Some(Box::new(macos::LaunchAgentEnv::new(scope)?)))
    }
    #[cfg(not(any(windows, target_os = "macos")))]
    {
        let _ = scope;
        Ok(None)
    }
}

/// Rejects what no OS can store as one variable: an empty name, `=` in a name (it ends the name
/// in every environment block), NUL anywhere (it ends the C string).
pub fn validate_var(name: &str, value: &str) -> Result<(), StoreError> {
    validate_name(name)?;
    if value.contains('\0') {
        return Err(invalid(name, "value contains NUL"));
    }
    Ok(())
}

pub fn validate_name(name: &str) -> Result<(), StoreError> {
    if name.is_empty() {
        return Err(invalid(name, "empty name"));
    }
    if name.contains(['=', '\0']) {
        return Err(invalid(name, "name contains '=' or NUL"));
    }
    Ok(())
}

fn invalid(name: &str, message: &str) -> StoreError {
    StoreError::Platform {
        what: format!("environment variable {name:?}"),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_are_checked() {
        assert!(validate_var("SSL_CERT_FILE", "C:\\ProgramData\\trust-proxy\\ca.pem").is_ok());
        assert!(validate_var("X", "").is_ok());
        assert!(validate_var("", "v").is_err());
        assert!(validate_var("A=B", "v").is_err());
        assert!(validate_var("A\0", "v").is_err());
        assert!(validate_var("A", "v\0w").is_err());
    }

    #[cfg(not(any(windows, target_os = "macos")))]
    #[test]
    fn none_where_the_os_needs_nothing() {
        assert!(matches!(persistent_env(Scope::User), Ok(None)));
        assert!(matches!(persistent_env(Scope::System), Ok(None)));
    }
}
