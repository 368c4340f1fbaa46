//! The proxy password from the OS keyring, read only: service `trust-proxy`, account
//! `USER@HOST:PORT` (the proxy it is for, so a password stored for one proxy never goes to
//! another). trust-proxy never writes the keyring: the person stores the password with the OS's
//! own tool, which asks for it without echo and keeps it out of shell history.
//!
//! The store per OS: the macOS login Keychain, the Windows Credential Manager, and on Linux the
//! kernel keyring (keyutils), searched from the session keyring. GNOME Keyring and KWallet
//! (the Secret Service over D-Bus) are not read directly: a D-Bus client would add about a
//! megabyte and a C library or an async runtime to a binary kept small and static; `secret-tool
//! lookup` into `TRUST_PROXY_PROXY_PASSWORD` reaches them instead (README).

use crate::discover::target::Target;

pub const SERVICE: &str = "trust-proxy";

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("the OS keyring could not be opened: {0}")]
    Store(String),
    #[error(
        "the OS keyring entry {} (service {}) could not be read: {message}",
        crate::terminal_text::quoted(account),
        crate::terminal_text::quoted(SERVICE)
    )]
    Read { account: String, message: String },
}

/// The keyring account for `user` at `proxy`.
pub fn account(user: &str, proxy: &Target) -> String {
    format!("{user}@{proxy}")
}

/// A human name for the store on this OS, for messages.
pub fn store_name() -> &'static str {
    if cfg!(target_os = "macos") {
        "the login Keychain"
    } else if cfg!(windows) {
        "the Windows Credential Manager"
    } else if cfg!(target_os = "linux") {
        "the kernel keyring (keyutils)"
    } else {
        "no keyring on this OS"
    }
}

/// The stored password, `None` when there is no entry (or no keyring on this OS).
pub fn password(user: &str, proxy: &Target) -> Result<Option<String>, KeyringError> {
    let Some(store) = store()? else {
        return Ok(None);
    };
    let account = account(user, proxy);
    // The platform's error text may quote anything: escaped like peer text.
    let read_error = |message: String| KeyringError::Read {
        account: crate::terminal_text::printable(&account),
        message: crate::terminal_text::printable(&message),
    };
    let entry = keyring_core::Entry::new_in_store(&store, SERVICE, &account)
        .map_err(|e| read_error(e.to_string()))?;
    match entry.get_password() {
        Ok(password) => Ok(Some(password)),
        Err(keyring_core::Error::NoEntry) => Ok(None),
        // The message of a bad encoding quotes the bytes, which are the secret.
        Err(keyring_core::Error::BadEncoding(_)) => {
            Err(read_error("it is not valid UTF-8".to_string()))
        }
        Err(e) => Err(read_error(e.to_string())),
    }
}

type Store = std::sync::Arc<keyring_core::CredentialStore>;

fn store() -> Result<Option<Store>, KeyringError> {
    let opened: Option<keyring_core::Result<Store>> = {
        #[cfg(target_os = "linux")]
        {
            Some(linux_keyutils_keyring_store::Store::new().map(|s| s as Store))
        }
        #[cfg(target_os = "macos")]
        {
            Some(apple_native_keyring_store::keychain::Store::new().map(|s| s as Store))
        }
        #[cfg(windows)]
        {
            Some(windows_native_keyring_store::Store::new().map(|s| s as Store))
        }
        #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
        {
            None
        }
    };
    opened
        .transpose()
        .map_err(|e| KeyringError::Store(crate::terminal_text::printable(&e.to_string())))
}
