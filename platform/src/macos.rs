//! macOS: certificates with trust settings in the user and admin domains, over the system ones.
//!
//! Reading uses the Security framework. Writing goes through `/usr/bin/security`, as mkcert does,
//! because the crate's `set_trust_settings_always` trusts for every purpose and restricting the
//! entry to SSL and basic X.509 would need the raw -sys API.

use std::collections::HashSet;
use std::io::Write;
use std::process::{Command, Stdio};

use security_framework::certificate::SecCertificate;
use security_framework::trust_settings::{Domain, TrustSettings, TrustSettingsForCertificate};

use crate::{
    hex_upper, sanitize_name, sha1_thumbprint, to_pem, CertificateDer, Change, Scope, StoreError,
    TrustStore,
};

const SECURITY: &str = "/usr/bin/security";
const SYSTEM_KEYCHAIN: &str = "/Library/Keychains/System.keychain";

#[derive(Debug, Clone, Copy)]
pub struct MacStore {
    scope: Scope,
}

impl MacStore {
    pub fn new(scope: Scope) -> MacStore {
        MacStore { scope }
    }

    /// Highest precedence first: user settings override admin ones, which override the system's.
    fn domains(&self) -> &'static [Domain] {
        match self.scope {
            Scope::User => &[Domain::User, Domain::Admin, Domain::System],
            Scope::System => &[Domain::Admin, Domain::System],
        }
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

    /// Runs `security` with the certificate in a private temporary PEM file.
    fn security(
        &self,
        args: &[&str],
        cert: &CertificateDer<'_>,
        name: &str,
    ) -> Result<(), StoreError> {
        let mut file = tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .suffix(".pem")
            .tempfile()
            .map_err(|e| StoreError::Os {
                what: "create temporary file".into(),
                source: e,
            })?;
        file.write_all(to_pem(cert).as_bytes())
            .and_then(|()| file.flush())
            .map_err(|e| StoreError::Os {
                what: "write temporary file".into(),
                source: e,
            })?;
        let command = format!("{SECURITY} {}", args.join(" "));
        let output = Command::new(SECURITY)
            .args(args)
            .arg(file.path())
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
        let mut decided = HashSet::new();
        let mut trusted = Vec::new();
        for &domain in self.domains() {
            let settings = TrustSettings::new(domain);
            let iter = settings
                .iter()
                .map_err(|e| platform("read trust settings", e))?;
            for cert in iter {
                let der = cert.to_der();
                if decided.contains(&der) {
                    continue;
                }
                // An empty settings array means "always trust as root" (Apple's documented default).
                let verdict = match settings.tls_trust_settings_for_certificate(&cert) {
                    Ok(v) => v.unwrap_or(TrustSettingsForCertificate::TrustRoot),
                    // Undecidable here; a lower-precedence domain may still decide it.
                    Err(_) => continue,
                };
                decided.insert(der.clone());
                if matches!(
                    verdict,
                    TrustSettingsForCertificate::TrustRoot
                        | TrustSettingsForCertificate::TrustAsRoot
                ) {
                    trusted.push(CertificateDer::from(der));
                }
            }
        }
        Ok(trusted)
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
        let mut args = vec![
            "add-trusted-cert",
            "-r",
            "trustRoot",
            "-p",
            "ssl",
            "-p",
            "basic",
        ];
        if self.scope == Scope::System {
            args.extend(["-d", "-k", SYSTEM_KEYCHAIN]);
        }
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
        delete.args(["delete-certificate", "-Z", &thumb]);
        if self.scope == Scope::System {
            delete.arg(SYSTEM_KEYCHAIN);
        }
        let _tidy = delete.stdin(Stdio::null()).output();
        Ok(Change::Removed)
    }
}
