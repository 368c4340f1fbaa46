//! A proxy password in the kernel keyring for one test's duration, shared by the tests that
//! read it through trust-proxy (tests/proxy_auth_keyring.rs, tests/secrets.rs).

/// The entry (service `trust-proxy`), invalidated on drop, pass or fail.
pub struct StoredPassword(keyring_core::Entry);

impl StoredPassword {
    pub fn new(account: &str, password: &str) -> StoredPassword {
        // A fresh anonymous session keyring for this test process (the runs inherit it): the
        // one a container or CI runner hands down may not be writable, and this one is gone
        // with the process.
        const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
        // SAFETY: keyctl(JOIN_SESSION_KEYRING, NULL) takes no pointer other than the null name.
        let joined = unsafe {
            libc::syscall(
                libc::SYS_keyctl,
                KEYCTL_JOIN_SESSION_KEYRING,
                std::ptr::null::<libc::c_char>(),
            )
        };
        assert!(joined >= 0, "{}", std::io::Error::last_os_error());
        let store: std::sync::Arc<keyring_core::CredentialStore> =
            linux_keyutils_keyring_store::Store::new().unwrap();
        let entry = keyring_core::Entry::new_in_store(&store, "trust-proxy", account).unwrap();
        entry.set_password(password).unwrap();
        StoredPassword(entry)
    }
}

impl Drop for StoredPassword {
    fn drop(&mut self) {
        let _ = self.0.delete_credential();
    }
}
