//! Windows: the login environment in the registry, announced with `WM_SETTINGCHANGE`.
//!
//! Windows builds each new logon's environment from `HKLM\...\Session Manager\Environment` and
//! `HKCU\Environment`; Explorer (which starts GUI programs) rebuilds its own copy when it gets
//! `WM_SETTINGCHANGE` with "Environment", so programs started afterwards see the change.
//!
//! Values are written as REG_SZ. When one replaces a REG_EXPAND_SZ value (`%USERPROFILE%\...`),
//! the text it replaced is kept under `Software\trust-proxy\ExpandableEnvironment` of the same
//! hive, and setting that exact text again (what uninstall does with the recorded previous
//! value) writes it back as REG_EXPAND_SZ: the interface carries text only, the type survives
//! here.

use std::ptr;
use std::sync::Mutex;

use windows_sys::Win32::Foundation::{ERROR_FILE_NOT_FOUND, ERROR_MORE_DATA, ERROR_SUCCESS};
use windows_sys::Win32::System::Registry::{
    RegCloseKey, RegCreateKeyExW, RegDeleteValueW, RegGetValueW, RegOpenKeyExW, RegSetValueExW,
    HKEY, HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE, KEY_QUERY_VALUE, KEY_SET_VALUE, REG_EXPAND_SZ,
    REG_OPTION_NON_VOLATILE, REG_SZ, RRF_NOEXPAND, RRF_RT_REG_EXPAND_SZ, RRF_RT_REG_SZ,
};
use windows_sys::Win32::UI::WindowsAndMessaging::{
    SendMessageTimeoutW, HWND_BROADCAST, SMTO_ABORTIFHUNG, WM_SETTINGCHANGE,
};

use super::{validate_name, validate_var, PersistentEnv};
use crate::win_str::{os_err, wide};
use crate::{Scope, StoreError};

const USER_KEY: &str = "Environment";
const SYSTEM_KEY: &str = "SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Environment";
/// Beside HKCU's or HKLM's `Software`: writable by whoever may write the environment key itself.
const EXPANDABLE_MEMO_KEY: &str = "Software\\trust-proxy\\ExpandableEnvironment";
/// Per window, as the documentation of `SendMessageTimeout` says; hung windows are skipped.
const BROADCAST_TIMEOUT_MS: u32 = 5000;

#[derive(Debug)]
pub struct RegistryEnv {
    scope: Scope,
    warnings: Mutex<Vec<String>>,
}

/// An open registry key, closed on drop.
struct Key(HKEY);

impl Drop for Key {
    fn drop(&mut self) {
        // SAFETY: the handle came from RegCreateKeyExW and is closed exactly once, here.
        unsafe { RegCloseKey(self.0) };
    }
}

impl RegistryEnv {
    pub fn new(scope: Scope) -> RegistryEnv {
        RegistryEnv {
            scope,
            warnings: Mutex::new(Vec::new()),
        }
    }

    fn root_and_path(&self) -> (HKEY, &'static str, &'static str) {
        match self.scope {
            Scope::User => (HKEY_CURRENT_USER, "HKCU", USER_KEY),
            Scope::System => (HKEY_LOCAL_MACHINE, "HKLM", SYSTEM_KEY),
        }
    }

    /// Opened for reading and writing: both keys exist on every installation, and creating them
    /// if absent (a fresh wine prefix) does no harm. Writing HKLM needs an administrator.
    fn open(&self) -> Result<Key, StoreError> {
        let (_, _, path) = self.root_and_path();
        self.open_path(path)
    }

    /// The key holding the REG_EXPAND_SZ texts this backend replaced (see the module docs);
    /// `None` while it does not exist, so that a machine where nothing was expandable is left
    /// without it.
    fn open_memo(&self, create: bool) -> Result<Option<Key>, StoreError> {
        if create {
            return self.open_path(EXPANDABLE_MEMO_KEY).map(Some);
        }
        let (root, hive, _) = self.root_and_path();
        let path_w = wide(EXPANDABLE_MEMO_KEY)?;
        let mut key: HKEY = ptr::null_mut();
        // SAFETY: path_w is NUL-terminated and outlives the call; key receives the handle.
        let rc = unsafe {
            RegOpenKeyExW(
                root,
                path_w.as_ptr(),
                0,
                KEY_QUERY_VALUE | KEY_SET_VALUE,
                &mut key,
            )
        };
        match rc {
            ERROR_SUCCESS => Ok(Some(Key(key))),
            ERROR_FILE_NOT_FOUND => Ok(None),
            rc => Err(os_err(format!("open {hive}\\{EXPANDABLE_MEMO_KEY}"), rc)),
        }
    }

    fn open_path(&self, path: &str) -> Result<Key, StoreError> {
        let (root, hive, _) = self.root_and_path();
        let path_w = wide(path)?;
        let mut key: HKEY = ptr::null_mut();
        // SAFETY: path_w is NUL-terminated and outlives the call; key receives the handle.
        let rc = unsafe {
            RegCreateKeyExW(
                root,
                path_w.as_ptr(),
                0,
                ptr::null(),
                REG_OPTION_NON_VOLATILE,
                KEY_QUERY_VALUE | KEY_SET_VALUE,
                ptr::null(),
                &mut key,
                ptr::null_mut(),
            )
        };
        if rc != ERROR_SUCCESS {
            return Err(os_err(format!("open {hive}\\{path}"), rc));
        }
        Ok(Key(key))
    }

    fn write(&self, key: &Key, name: &str, value: &str, kind: u32) -> Result<(), StoreError> {
        let name_w = wide(name)?;
        let value_w = wide(value)?;
        let bytes = u32::try_from(value_w.len() * 2).map_err(|_| StoreError::Platform {
            what: format!("environment variable {name}"),
            message: "value too long".into(),
        })?;
        // SAFETY: value_w holds `bytes` bytes including the terminating NUL, as REG_SZ and
        // REG_EXPAND_SZ need.
        let rc = unsafe {
            RegSetValueExW(
                key.0,
                name_w.as_ptr(),
                0,
                kind,
                value_w.as_ptr().cast(),
                bytes,
            )
        };
        if rc != ERROR_SUCCESS {
            return Err(os_err(format!("set {name} in {}", self.describe()), rc));
        }
        Ok(())
    }

    /// Deletes a value; true if there was one.
    fn delete(&self, key: &Key, name: &str, place: &str) -> Result<bool, StoreError> {
        let name_w = wide(name)?;
        // SAFETY: name_w is NUL-terminated and outlives the call.
        match unsafe { RegDeleteValueW(key.0, name_w.as_ptr()) } {
            ERROR_SUCCESS => Ok(true),
            ERROR_FILE_NOT_FOUND => Ok(false),
            rc => Err(os_err(format!("delete {name} from {place}"), rc)),
        }
    }

    fn memo_place(&self) -> String {
        let (_, hive, _) = self.root_and_path();
        format!("{hive}\\{EXPANDABLE_MEMO_KEY}")
    }

    /// The value and its registry type, unexpanded; `None` if absent.
    fn read(&self, key: &Key, name: &str) -> Result<Option<(u32, String)>, StoreError> {
        let name_w = wide(name)?;
        let flags = RRF_RT_REG_SZ | RRF_RT_REG_EXPAND_SZ | RRF_NOEXPAND;
        let what = || format!("read {name} from {}", self.describe());
        // The value can grow between the size query and the read; a few tries settle it.
        for _ in 0..4 {
            let mut bytes: u32 = 0;
            let mut kind: u32 = 0;
            // SAFETY: a null data pointer asks only for the size, written to `bytes`.
            let rc = unsafe {
                RegGetValueW(
                    key.0,
                    ptr::null(),
                    name_w.as_ptr(),
                    flags,
                    &mut kind,
                    ptr::null_mut(),
                    &mut bytes,
                )
            };
            match rc {
                ERROR_SUCCESS => {}
                ERROR_FILE_NOT_FOUND => return Ok(None),
                rc => return Err(os_err(what(), rc)),
            }
            let mut buf = vec![0u16; (bytes as usize).div_ceil(2) + 1];
            let mut len = (buf.len() * 2) as u32;
            // SAFETY: buf holds `len` bytes; RegGetValueW writes at most that and NUL-terminates.
            let rc = unsafe {
                RegGetValueW(
                    key.0,
                    ptr::null(),
                    name_w.as_ptr(),
                    flags,
                    &mut kind,
                    buf.as_mut_ptr().cast(),
                    &mut len,
                )
            };
            match rc {
                ERROR_SUCCESS => {
                    buf.truncate(len as usize / 2);
                    while buf.last() == Some(&0) {
                        buf.pop();
                    }
                    let text = String::from_utf16(&buf).map_err(|e| StoreError::Platform {
                        what: what(),
                        message: e.to_string(),
                    })?;
                    return Ok(Some((kind, text)));
                }
                ERROR_FILE_NOT_FOUND => return Ok(None),
                ERROR_MORE_DATA => continue,
                rc => return Err(os_err(what(), rc)),
            }
        }
        Err(StoreError::Platform {
            what: what(),
            message: "value kept changing size while being read".into(),
        })
    }

    /// Tells top-level windows (Explorer above all) to reload the environment. Failure is a
    /// warning, not an error: the values are saved and every later logon sees them.
    fn broadcast(&self) {
        // Built here rather than with `wide` because this constant cannot contain NUL.
        let area: Vec<u16> = "Environment".encode_utf16().chain([0]).collect();
        let mut result: usize = 0;
        // SAFETY: lParam points at a NUL-terminated UTF-16 string that outlives the call, as
        // WM_SETTINGCHANGE expects; wParam must be 0 when an application sends it.
        let ok = unsafe {
            SendMessageTimeoutW(
                HWND_BROADCAST,
                WM_SETTINGCHANGE,
                0,
                area.as_ptr() as isize,
                SMTO_ABORTIFHUNG,
                BROADCAST_TIMEOUT_MS,
                &mut result,
            )
        };
        if ok == 0 {
            let e = std::io::Error::last_os_error();
            self.warn(format!(
                "broadcasting WM_SETTINGCHANGE failed ({e}): programs started from Explorer \
                 see the change after the next sign-in"
            ));
        }
    }

    fn warn(&self, message: String) {
        let mut w = self.warnings.lock().unwrap_or_else(|p| p.into_inner());
        w.push(message);
    }

    fn clear_warnings(&self) {
        self.warnings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

impl PersistentEnv for RegistryEnv {
    fn describe(&self) -> String {
        let (_, hive, path) = self.root_and_path();
        format!("{hive}\\{path}")
    }

    fn get(&self, name: &str) -> Result<Option<String>, StoreError> {
        validate_name(name)?;
        let key = self.open()?;
        Ok(self.read(&key, name)?.map(|(_, v)| v))
    }

    fn set(&self, vars: &[(String, String)]) -> Result<(), StoreError> {
        self.clear_warnings();
        for (name, value) in vars {
            validate_var(name, value)?;
        }
        let key = self.open()?;
        let mut memo = self.open_memo(false)?;
        let mut changed = false;
        for (name, value) in vars {
            let current = self.read(&key, name)?;
            let remembered = match &memo {
                Some(m) => self.read(m, name)?.map(|(_, text)| text),
                None => None,
            };
            if let (Some(m), Some(text)) = (&memo, &remembered) {
                if text == value {
                    // Putting back the text a REG_EXPAND_SZ held before: with its type.
                    if !matches!(&current, Some((REG_EXPAND_SZ, v)) if v == value) {
                        self.write(&key, name, value, REG_EXPAND_SZ)?;
                        changed = true;
                    }
                    self.delete(m, name, &self.memo_place())?;
                    continue;
                }
            }
            match &current {
                Some((REG_SZ, v)) if v == value => continue,
                // Without `%` the two types mean the same: leave the user's value as it is.
                Some((REG_EXPAND_SZ, v)) if v == value && !value.contains('%') => continue,
                // Remember only the first replaced text: that is what uninstall restores.
                Some((REG_EXPAND_SZ, v)) if v != value && remembered.is_none() => {
                    if memo.is_none() {
                        memo = self.open_memo(true)?;
                    }
                    if let Some(m) = &memo {
                        self.write(m, name, v, REG_SZ)?;
                    }
                }
                _ => {}
            }
            // REG_SZ: the values are literal paths and URLs, and a `%` in one must stay a `%`.
            self.write(&key, name, value, REG_SZ)?;
            changed = true;
        }
        if changed {
            self.broadcast();
        }
        Ok(())
    }

    fn unset(&self, names: &[String]) -> Result<(), StoreError> {
        self.clear_warnings();
        for name in names {
            validate_name(name)?;
        }
        let key = self.open()?;
        let memo = self.open_memo(false)?;
        let mut changed = false;
        for name in names {
            changed |= self.delete(&key, name, &self.describe())?;
            if let Some(m) = &memo {
                // Nothing left whose type could be restored.
                self.delete(m, name, &self.memo_place())?;
            }
        }
        if changed {
            self.broadcast();
        }
        Ok(())
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
