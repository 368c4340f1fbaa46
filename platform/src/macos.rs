//! macOS: certificates with trust settings in the user and admin domains, over the system ones.
//!
//! Reading uses the Security framework: each domain's trust-settings array is evaluated for TLS
//! server trust by `macos_trust`, so a certificate trusted only for another policy (code signing,
//! basic X.509) is not a TLS root, and a deny is reported by [`distrusted`].
//! Writing goes through `/usr/bin/security`, as mkcert does, because the crate's
//! `set_trust_settings_always` trusts for every purpose; `add-trusted-cert -p ssl` trusts for
//! the SSL policy only.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use core_foundation::array::CFArray;
use core_foundation::base::{CFType, TCFType};
use core_foundation::dictionary::CFDictionary;
use core_foundation::number::CFNumber;
use core_foundation::string::CFString;
use core_foundation_sys::dictionary::CFDictionaryRef;
use core_foundation_sys::string::CFStringRef;
use security_framework::certificate::SecCertificate;
use security_framework::policy::SecPolicy;
use security_framework::trust_settings::{Domain, TrustSettings};
use security_framework_sys::base::{errSecItemNotFound, errSecNoTrustSettings, SecPolicyRef};
use security_framework_sys::certificate::kSecPolicyAppleSSL;
use security_framework_sys::trust_settings::SecTrustSettingsCopyTrustSettings;

use crate::macos_trust::{
    add_trusted_cert_args, combined_verdict, PolicyConstraint, TlsVerdict, UsageConstraint,
};
use crate::{
    hex_upper, sanitize_name, sha1_thumbprint, to_pem, CertificateDer, Change, Scope, StoreError,
    TrustStore,
};

const SECURITY: &str = "/usr/bin/security";
const SYSTEM_KEYCHAIN: &str = "/Library/Keychains/System.keychain";
/// Root-owned and sticky: a directory root creates here cannot be renamed or replaced by
/// another user, unlike `$TMPDIR`, which `sudo -E` keeps pointing into the invoking user's home.
const SYSTEM_TEMP_PARENT: &str = "/private/var/tmp";

#[link(name = "Security", kind = "framework")]
extern "C" {
    // SecPolicy.h: the properties of a policy, among them its OID under kSecPolicyOid.
    fn SecPolicyCopyProperties(policy: SecPolicyRef) -> CFDictionaryRef;
    static kSecPolicyOid: CFStringRef;
}

/// Highest precedence first: user settings override admin ones, which override the system's.
/// The system scope ignores the user domain: one administrator's own trust is not the machine's.
fn domains(scope: Scope) -> &'static [Domain] {
    match scope {
        Scope::User => &[Domain::User, Domain::Admin, Domain::System],
        Scope::System => &[Domain::Admin, Domain::System],
    }
}

/// The usage constraints of `cert` in `domain`, `None` when the domain has no settings for it.
fn usage_constraints(
    cert: &SecCertificate,
    domain: Domain,
) -> Result<Option<Vec<UsageConstraint>>, StoreError> {
    let mut array_ptr = std::ptr::null();
    // SAFETY: the certificate reference is valid for the call; on success the array is returned
    // under the create rule and owned by the CFArray below.
    let status = unsafe {
        SecTrustSettingsCopyTrustSettings(cert.as_concrete_TypeRef(), domain.into(), &mut array_ptr)
    };
    match status {
        0 => {}
        code if code == errSecItemNotFound || code == errSecNoTrustSettings => return Ok(None),
        code => {
            return Err(platform(
                "read trust settings",
                security_framework::base::Error::from_code(code),
            ))
        }
    }
    if array_ptr.is_null() {
        return Ok(Some(Vec::new()));
    }
    // SAFETY: a non-null array just returned under the create rule.
    let array: CFArray<CFType> = unsafe { CFArray::wrap_under_create_rule(array_ptr) };
    Ok(Some(
        array
            .iter()
            .map(|item| match item.downcast::<CFDictionary>() {
                Some(dict) => constraint_of(&dict),
                // Not what the documentation promises; never let it count as trust.
                None => UsageConstraint {
                    policy: PolicyConstraint::Other,
                    narrowed: true,
                    result: None,
                },
            })
            .collect(),
    ))
}

fn value(dict: &CFDictionary, key: &'static str) -> Option<CFType> {
    let key = CFString::from_static_string(key);
    dict.find(key.as_CFTypeRef().cast()).map(|v| {
        // SAFETY: a dictionary value is a CF object, retained here under the get rule.
        unsafe { CFType::wrap_under_get_rule(*v) }
    })
}

fn constraint_of(dict: &CFDictionary) -> UsageConstraint {
    let policy = match value(dict, "kSecTrustSettingsPolicy") {
        None => PolicyConstraint::Any,
        Some(v) => match v.downcast::<SecPolicy>() {
            Some(p) if is_ssl_policy(&p) => PolicyConstraint::Ssl,
            _ => PolicyConstraint::Other,
        },
    };
    let narrowed = value(dict, "kSecTrustSettingsApplication").is_some()
        || value(dict, "kSecTrustSettingsPolicyString").is_some();
    // A result that is present but unreadable must not fall back to the TrustRoot default.
    let result = value(dict, "kSecTrustSettingsResult").map(|v| {
        v.downcast::<CFNumber>()
            .and_then(|n| n.to_i64())
            .unwrap_or(0)
    });
    UsageConstraint {
        policy,
        narrowed,
        result,
    }
}

fn is_ssl_policy(policy: &SecPolicy) -> bool {
    // SAFETY: the policy is valid for the call; the dictionary comes back under the create rule.
    let props = unsafe { SecPolicyCopyProperties(policy.as_concrete_TypeRef()) };
    if props.is_null() {
        return false;
    }
    // SAFETY: non-null, returned under the create rule, owned from here on.
    let props: CFDictionary = unsafe { CFDictionary::wrap_under_create_rule(props) };
    // SAFETY: framework constants, valid for the life of the process.
    let (oid_key, ssl) = unsafe {
        (
            CFString::wrap_under_get_rule(kSecPolicyOid),
            CFString::wrap_under_get_rule(kSecPolicyAppleSSL),
        )
    };
    props
        .find(oid_key.as_CFTypeRef().cast())
        .map(|v| {
            // SAFETY: a dictionary value, retained under the get rule.
            unsafe { CFType::wrap_under_get_rule(*v) }
        })
        .and_then(|v| v.downcast::<CFString>())
        .is_some_and(|oid| oid == ssl)
}

/// Every certificate with trust settings in the scope's domains and what they add up to for TLS.
fn verdicts(scope: Scope) -> Result<Vec<(Vec<u8>, TlsVerdict)>, StoreError> {
    let mut order: Vec<(Vec<u8>, SecCertificate)> = Vec::new();
    let mut per_domain: Vec<HashMap<Vec<u8>, Vec<UsageConstraint>>> = Vec::new();
    for &domain in domains(scope) {
        let iter = TrustSettings::new(domain)
            .iter()
            .map_err(|e| platform("read trust settings", e))?;
        let mut found = HashMap::new();
        for cert in iter {
            let der = cert.to_der();
            if let Some(constraints) = usage_constraints(&cert, domain)? {
                found.insert(der.clone(), constraints);
            }
            if !order.iter().any(|(d, _)| *d == der) {
                order.push((der, cert));
            }
        }
        per_domain.push(found);
    }
    Ok(order
        .into_iter()
        .map(|(der, _)| {
            let verdict =
                combined_verdict(per_domain.iter().map(|m| m.get(&der).map(Vec::as_slice)));
            (der, verdict)
        })
        .collect())
}

/// The roots TLS trusts for `scope` (no user domain for the system scope).
pub fn trusted_roots(scope: Scope) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    Ok(verdicts(scope)?
        .into_iter()
        .filter(|(_, v)| *v == TlsVerdict::Trusted)
        .map(|(der, _)| CertificateDer::from(der))
        .collect())
}

/// Certificates whose trust settings deny them for TLS in the scope's domains.
pub fn distrusted(scope: Scope) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    Ok(verdicts(scope)?
        .into_iter()
        .filter(|(_, v)| *v == TlsVerdict::Denied)
        .map(|(der, _)| CertificateDer::from(der))
        .collect())
}

#[derive(Debug, Clone, Copy)]
pub struct MacStore {
    scope: Scope,
}

impl MacStore {
    pub fn new(scope: Scope) -> MacStore {
        MacStore { scope }
    }

    fn write_domain(&self) -> Domain {
        match self.scope {
            Scope::User => Domain::User,
            Scope::System => Domain::Admin,
        }
    }

    fn has_settings_in(&self, domain: Domain, cert: &[u8]) -> Result<bool, StoreError> {
        let mut iter = TrustSettings::new(domain)
            .iter()
            .map_err(|e| platform("read trust settings", e))?;
        Ok(iter.any(|c| c.to_der() == cert))
    }

    /// Runs `security` with the certificate in a PEM file inside a fresh private directory.
    fn security(
        &self,
        args: &[&str],
        cert: &CertificateDer<'_>,
        name: &str,
    ) -> Result<(), StoreError> {
        // `$TMPDIR` may be a user's when running as root (`sudo -E`).
        let privileged = self.scope == Scope::System || rustix::process::geteuid().is_root();
        let dir = crate::private_dir::private_dir(Path::new(SYSTEM_TEMP_PARENT), privileged)?;
        let path = dir.path().join(format!("{name}.pem"));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| StoreError::Io {
                op: "create",
                path: path.clone(),
                source: e,
            })?;
        file.write_all(to_pem(cert).as_bytes())
            .and_then(|()| file.flush())
            .map_err(|e| StoreError::Io {
                op: "write",
                path: path.clone(),
                source: e,
            })?;
        drop(file);
        let command = format!("{SECURITY} {}", args.join(" "));
        let output = Command::new(SECURITY)
            .args(args)
            .arg(&path)
            .env_remove(crate::PROXY_PASSWORD_VAR)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| StoreError::Os {
                what: command.clone(),
                source: e,
            })?;
        if output.status.success() {
            return Ok(());
        }
        Err(StoreError::Platform {
            what: command,
            message: format!(
                "{}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        })
    }
}

fn platform(what: &str, e: security_framework::base::Error) -> StoreError {
    StoreError::Platform {
        what: what.into(),
        message: e.to_string(),
    }
}

impl TrustStore for MacStore {
    fn describe(&self) -> String {
        match self.scope {
            Scope::User => "macOS trust settings (user, admin and system domains)".into(),
            Scope::System => format!("macOS admin trust settings ({SYSTEM_KEYCHAIN})"),
        }
    }

    fn list(&self) -> Result<Vec<CertificateDer<'static>>, StoreError> {
        trusted_roots(self.scope)
    }

    fn contains(&self, cert: &CertificateDer<'_>) -> Result<bool, StoreError> {
        Ok(self.list()?.iter().any(|c| c.as_ref() == cert.as_ref()))
    }

    fn add(&self, cert: &CertificateDer<'_>, name: &str) -> Result<Change, StoreError> {
        let name = sanitize_name(name)?;
        SecCertificate::from_der(cert.as_ref()).map_err(|e| platform("decode certificate", e))?;
        if self.contains(cert)? {
            return Ok(Change::Unchanged);
        }
        let args = add_trusted_cert_args(self.scope == Scope::System, SYSTEM_KEYCHAIN);
        self.security(&args, cert, &name)?;
        Ok(Change::Added)
    }

    fn remove(&self, cert: &CertificateDer<'_>, _name: &str) -> Result<Change, StoreError> {
        if !self.has_settings_in(self.write_domain(), cert.as_ref())? {
            return Ok(Change::Unchanged);
        }
        let mut args = vec!["remove-trusted-cert"];
        if self.scope == Scope::System {
            args.push("-d");
        }
        self.security(&args, cert, "remove")?;
        // The keychain item itself is harmless once its trust settings are gone; deleting it is
        // tidying, so a failure (e.g. it lives in another keychain) does not fail the removal.
        let thumb = hex_upper(&sha1_thumbprint(cert.as_ref()));
        let mut delete = Command::new(SECURITY);
        delete
            .args(["delete-certificate", "-Z", &thumb])
            .env_remove(crate::PROXY_PASSWORD_VAR);
        if self.scope == Scope::System {
            delete.arg(SYSTEM_KEYCHAIN);
        }
        let _tidy = delete.stdin(Stdio::null()).output();
        Ok(Change::Removed)
    }
}
