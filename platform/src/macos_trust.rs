//! What a macOS trust-settings array says about TLS server trust, as Apple documents
//! `SecTrustSettingsCopyTrustSettings`: each entry is a usage constraint (a policy, optionally an
//! application, a policy string such as a host name, key usages, allowed errors) with a result.
//!
//! Kept free of the Security framework so the rules are unit-tested on every OS; `macos.rs`
//! turns the framework's dictionaries into [`UsageConstraint`]s. What the tool writes
//! (`add_trusted_cert_args`) sits here too, beside how it is read back.

/// `kSecTrustSettingsResult*` values (SecTrustSettings.h).
const RESULT_TRUST_ROOT: i64 = 1;
const RESULT_TRUST_AS_ROOT: i64 = 2;
const RESULT_DENY: i64 = 3;

/// The `kSecTrustSettingsPolicy` of one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PolicyConstraint {
    /// No policy key: the entry applies to every policy.
    Any,
    /// The SSL policy (`kSecPolicyAppleSSL`).
    Ssl,
    /// Any other policy (basic X.509, S/MIME, code signing, ...), or one that could not be read.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UsageConstraint {
    pub(crate) policy: PolicyConstraint,
    /// The entry holds only for one application (`kSecTrustSettingsApplication`) or one policy
    /// string (`kSecTrustSettingsPolicyString`, for SSL a host name): not for TLS in general.
    pub(crate) narrowed: bool,
    /// `kSecTrustSettingsResult`; absent means `kSecTrustSettingsResultTrustRoot`.
    pub(crate) result: Option<i64>,
}

/// The settings of one domain for TLS server authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TlsVerdict {
    /// A TLS trust anchor.
    Trusted,
    /// Explicitly distrusted: never a root to write anywhere.
    Denied,
    /// Nothing here about TLS in general; a lower-precedence domain decides.
    Silent,
}

/// The first entry that applies to TLS decides, in array order as Apple evaluates them.
/// An empty array means "always trust as root" (SecTrustSettings.h). A deny narrowed to one
/// application still counts as a deny: the tool must never widen it into a file every program
/// reads.
pub(crate) fn tls_verdict(constraints: &[UsageConstraint]) -> TlsVerdict {
    if constraints.is_empty() {
        return TlsVerdict::Trusted;
    }
    for c in constraints {
        if c.policy == PolicyConstraint::Other {
            continue;
        }
        match c.result.unwrap_or(RESULT_TRUST_ROOT) {
            RESULT_DENY => return TlsVerdict::Denied,
            RESULT_TRUST_ROOT | RESULT_TRUST_AS_ROOT if !c.narrowed => return TlsVerdict::Trusted,
            // Unspecified, Invalid, or a trust that holds only for one application or host.
            _ => continue,
        }
    }
    TlsVerdict::Silent
}

/// Settings of several domains, highest precedence first (user, admin, system): the first
/// domain that says something about TLS decides. `None` is a domain with no settings for the
/// certificate.
pub(crate) fn combined_verdict<'a>(
    domains: impl IntoIterator<Item = Option<&'a [UsageConstraint]>>,
) -> TlsVerdict {
    domains
        .into_iter()
        .flatten()
        .map(tls_verdict)
        .find(|v| *v != TlsVerdict::Silent)
        .unwrap_or(TlsVerdict::Silent)
}

/// `security add-trusted-cert` arguments (the PEM path follows). SSL policy only: `-p basic`
/// would add the basic X.509 policy, under which a program evaluating a certificate for any
/// purpose other than a TLS server (S/MIME, code, a generic chain check) accepts the root too.
/// `-d` writes the admin domain, into the System keychain.
pub(crate) fn add_trusted_cert_args(system: bool, system_keychain: &str) -> Vec<&str> {
    let mut args = vec!["add-trusted-cert", "-r", "trustRoot", "-p", "ssl"];
    if system {
        args.extend(["-d", "-k", system_keychain]);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(policy: PolicyConstraint, result: Option<i64>) -> UsageConstraint {
        UsageConstraint {
            policy,
            narrowed: false,
            result,
        }
    }

    #[test]
    fn the_added_root_is_trusted_for_the_ssl_policy_only() {
        for system in [false, true] {
            let args = add_trusted_cert_args(system, "/K");
            let policies: Vec<&str> = args
                .windows(2)
                .filter(|w| w[0] == "-p")
                .map(|w| w[1])
                .collect();
            assert_eq!(policies, ["ssl"], "{args:?}");
            assert_eq!(args.contains(&"-d"), system);
        }
    }

    #[test]
    fn an_entry_for_another_policy_only_is_not_a_tls_root() {
        // What `security add-trusted-cert -p basic` or `-p codeSign` leaves.
        let basic_only = [entry(PolicyConstraint::Other, Some(RESULT_TRUST_ROOT))];
        assert_eq!(tls_verdict(&basic_only), TlsVerdict::Silent);
        assert_eq!(
            combined_verdict([Some(&basic_only[..]), None]),
            TlsVerdict::Silent
        );
    }

    #[test]
    fn empty_settings_and_unconstrained_entries_trust() {
        assert_eq!(tls_verdict(&[]), TlsVerdict::Trusted);
        assert_eq!(
            tls_verdict(&[entry(PolicyConstraint::Any, None)]),
            TlsVerdict::Trusted
        );
        let ssl_and_basic = [
            entry(PolicyConstraint::Other, Some(RESULT_TRUST_ROOT)),
            entry(PolicyConstraint::Ssl, Some(RESULT_TRUST_AS_ROOT)),
        ];
        assert_eq!(tls_verdict(&ssl_and_basic), TlsVerdict::Trusted);
    }

    #[test]
    fn deny_wins_in_order_and_narrowed_trust_does_not_count() {
        let deny = [
            entry(PolicyConstraint::Ssl, Some(RESULT_DENY)),
            entry(PolicyConstraint::Any, None),
        ];
        assert_eq!(tls_verdict(&deny), TlsVerdict::Denied);
        let one_host = [UsageConstraint {
            policy: PolicyConstraint::Ssl,
            narrowed: true,
            result: Some(RESULT_TRUST_ROOT),
        }];
        assert_eq!(tls_verdict(&one_host), TlsVerdict::Silent);
        let unspecified = [entry(PolicyConstraint::Ssl, Some(4))];
        assert_eq!(tls_verdict(&unspecified), TlsVerdict::Silent);
    }

    #[test]
    fn the_user_domain_overrides_admin_only_when_it_speaks_of_tls() {
        let user_deny = [entry(PolicyConstraint::Ssl, Some(RESULT_DENY))];
        let user_other = [entry(PolicyConstraint::Other, Some(RESULT_DENY))];
        let admin_trust: [UsageConstraint; 0] = [];
        assert_eq!(
            combined_verdict([Some(&user_deny[..]), Some(&admin_trust[..])]),
            TlsVerdict::Denied
        );
        assert_eq!(
            combined_verdict([Some(&user_other[..]), Some(&admin_trust[..])]),
            TlsVerdict::Trusted
        );
        assert_eq!(combined_verdict([None, None]), TlsVerdict::Silent);
    }
}
