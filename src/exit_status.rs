//! Every exit status trust-proxy returns, in one place. README's table, `--help` (and so the man
//! page) list them; `tests/json_contract.rs` checks both against [`ExitStatus::ALL`], and the JSON
//! Schema's `exit_code` enumerates the same numbers.

/// A process exit status with a documented meaning. Scripts and fleet tools branch on these
/// numbers: a variant's number never changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExitStatus {
    /// Done: discover found what it looked for, install is in place, nothing wrong found.
    Success = 0,
    /// A local operation failed (a file, a step rolled back, status: something drifted).
    LocalError = 1,
    /// Bad usage: an option, a URL, a file argument or a fingerprint that cannot be used.
    Usage = 2,
    /// No interception observed (install: nothing to install without `--ca-file`).
    NotIntercepted = 3,
    /// Interception found, but its root CA could not be found.
    RootNotFound = 4,
    /// Proxy or network failure: no target could be probed.
    NetworkFailure = 5,
    /// Trust not established: pin mismatch, no terminal and no pin, declined.
    Refused = 6,
    /// The CA itself is not acceptable (not a CA, not a root, expired, MD5).
    Unacceptable = 7,
    /// Not privileged enough for the requested scope.
    NotPrivileged = 8,
    /// Installed, but verification through the proxy failed; verify: a client failed.
    VerificationFailed = 9,
    /// doctor: warnings only.
    DoctorWarnings = 10,
    /// doctor: errors.
    DoctorErrors = 11,
    /// verify: no client could be checked.
    NothingChecked = 12,
}

impl ExitStatus {
    /// Every status, in numeric order.
    pub const ALL: [ExitStatus; 13] = [
        ExitStatus::Success,
        ExitStatus::LocalError,
        ExitStatus::Usage,
        ExitStatus::NotIntercepted,
        ExitStatus::RootNotFound,
        ExitStatus::NetworkFailure,
        ExitStatus::Refused,
        ExitStatus::Unacceptable,
        ExitStatus::NotPrivileged,
        ExitStatus::VerificationFailed,
        ExitStatus::DoctorWarnings,
        ExitStatus::DoctorErrors,
        ExitStatus::NothingChecked,
    ];

    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The status's name in JSON (`error.kind`).
    pub const fn name(self) -> &'static str {
        match self {
            ExitStatus::Success => "success",
            ExitStatus::LocalError => "local_error",
            ExitStatus::Usage => "usage",
            ExitStatus::NotIntercepted => "not_intercepted",
            ExitStatus::RootNotFound => "root_not_found",
            ExitStatus::NetworkFailure => "network_failure",
            ExitStatus::Refused => "refused",
            ExitStatus::Unacceptable => "unacceptable",
            ExitStatus::NotPrivileged => "not_privileged",
            ExitStatus::VerificationFailed => "verification_failed",
            ExitStatus::DoctorWarnings => "doctor_warnings",
            ExitStatus::DoctorErrors => "doctor_errors",
            ExitStatus::NothingChecked => "nothing_checked",
        }
    }

    /// The status a number stands for, when it is one of ours.
    pub fn from_code(code: i32) -> Option<ExitStatus> {
        ExitStatus::ALL.into_iter().find(|s| s.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::ExitStatus;

    #[test]
    fn numbers_are_dense_and_round_trip() {
        for (index, status) in ExitStatus::ALL.into_iter().enumerate() {
            assert_eq!(status.code(), index as i32, "{status:?}");
            assert_eq!(ExitStatus::from_code(status.code()), Some(status));
        }
        assert_eq!(ExitStatus::from_code(13), None);
    }
}
