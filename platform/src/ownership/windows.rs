//! Windows: the owner and DACL of one file, read with GetNamedSecurityInfoW and set with
//! SetNamedSecurityInfoW. The directory's protected DACL (secure_dir) is inherited by the files
//! created in it, but their owner is whoever created them, and a file can be given another DACL
//! afterwards: each file is checked on its own.

use std::path::Path;
use std::{mem, ptr};

use windows_sys::Win32::Foundation::{CloseHandle, ERROR_SUCCESS, HANDLE};
use windows_sys::Win32::Security::Authorization::{
    GetNamedSecurityInfoW, SetNamedSecurityInfoW, SE_FILE_OBJECT,
};
use windows_sys::Win32::Security::{
    EqualSid, GetAce, GetSecurityDescriptorDacl, GetSecurityDescriptorOwner, GetTokenInformation,
    IsWellKnownSid, TokenUser, WinBuiltinAdministratorsSid, WinLocalSystemSid, ACCESS_ALLOWED_ACE,
    ACE_HEADER, ACL, DACL_SECURITY_INFORMATION, INHERIT_ONLY_ACE, OWNER_SECURITY_INFORMATION,
    PROTECTED_DACL_SECURITY_INFORMATION, PSID, TOKEN_QUERY, TOKEN_USER,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

use super::SYSTEM_FILE_SDDL;
use crate::secure_dir::windows::{account_name, parse_sddl, LocalSd};
use crate::win_str::{last_err, os_err, wide};
use crate::StoreError;

const ACCESS_ALLOWED: u8 = 0;
const ACCESS_DENIED: u8 = 1;
const SYSTEM_AUDIT: u8 = 2;
const SYSTEM_MANDATORY_LABEL: u8 = 0x11;

/// Rights that change a file or who may change it: FILE_WRITE_DATA, FILE_APPEND_DATA,
/// FILE_WRITE_EA, FILE_DELETE_CHILD, FILE_WRITE_ATTRIBUTES, DELETE, WRITE_DAC, WRITE_OWNER,
/// GENERIC_ALL, GENERIC_WRITE.
const WRITE_RIGHTS: u32 =
    0x2 | 0x4 | 0x10 | 0x40 | 0x100 | 0x1_0000 | 0x4_0000 | 0x8_0000 | 0x1000_0000 | 0x4000_0000;

const ADMINS: &str = "SYSTEM or Administrators";

pub(super) fn check_system_file(path: &Path) -> Result<(), StoreError> {
    judge_system(path, &Security::of(path)?)
}

fn judge_system(path: &Path, sd: &Security) -> Result<(), StoreError> {
    // SAFETY: the owner SID is null or points into `sd`, alive here.
    if !unsafe { is_admin(sd.owner) } {
        return Err(StoreError::WrongOwner {
            path: path.into(),
            owner: account_name(sd.owner),
            expected: ADMINS.into(),
        });
    }
    // SAFETY: every SID handed to the closure points into `sd`, alive here.
    sd.writers_must_be(path, ADMINS, |sid| unsafe { is_admin(sid) })
}

pub(super) fn secure_system_file(path: &Path) -> Result<(), StoreError> {
    let shown = path.display().to_string();
    refuse_link(path)?;
    let wanted = Security::from_sddl(SYSTEM_FILE_SDDL)?;
    if wanted.owner.is_null() || wanted.dacl.is_null() {
        return Err(StoreError::Platform {
            what: SYSTEM_FILE_SDDL.into(),
            message: "names no owner or no DACL".into(),
        });
    }
    let path_w = wide(path)?;
    // SAFETY: path_w is NUL-terminated; owner and DACL point into `wanted`, alive here. An
    // elevated administrator may make Administrators the owner (its token holds the group with
    // SE_GROUP_OWNER); anyone else gets an error, which is the right answer.
    let rc = unsafe {
        SetNamedSecurityInfoW(
            path_w.as_ptr(),
            SE_FILE_OBJECT,
            OWNER_SECURITY_INFORMATION
                | DACL_SECURITY_INFORMATION
                | PROTECTED_DACL_SECURITY_INFORMATION,
            wanted.owner,
            ptr::null_mut(),
            wanted.dacl,
            ptr::null(),
        )
    };
    if rc != ERROR_SUCCESS {
        return Err(os_err(format!("set the owner and DACL of {shown}"), rc));
    }
    check_system_file(path)
}

pub(super) fn check_user_file(path: &Path) -> Result<(), StoreError> {
    let me = CurrentUser::get()?;
    judge_user(path, &Security::of(path)?, me.sid())
}

/// The owner may also be Administrators: an elevated administrator's token makes that group
/// the owner of what it creates, in the administrator's own profile too.
fn judge_user(path: &Path, sd: &Security, user: PSID) -> Result<(), StoreError> {
    // SAFETY: both SIDs are valid for this call (the caller keeps `sd` and `user` alive).
    let owner_ok =
        !sd.owner.is_null() && unsafe { EqualSid(sd.owner, user) != 0 || is_admin(sd.owner) };
    if !owner_ok {
        return Err(StoreError::WrongOwner {
            path: path.into(),
            owner: account_name(sd.owner),
            expected: format!("{}, the user running (or {ADMINS})", account_name(user)),
        });
    }
    let allowed = format!("{} or {ADMINS}", account_name(user));
    // SAFETY: every SID handed to the closure points into `sd`; `user` is kept by the caller.
    sd.writers_must_be(path, &allowed, |sid| unsafe {
        EqualSid(sid, user) != 0 || is_admin(sid)
    })
}

/// # Safety
/// `sid` is null or a valid SID.
unsafe fn is_admin(sid: PSID) -> bool {
    // SAFETY: per the contract.
    !sid.is_null()
        && unsafe {
            IsWellKnownSid(sid, WinLocalSystemSid) != 0
                || IsWellKnownSid(sid, WinBuiltinAdministratorsSid) != 0
        }
}

/// The owner and DACL of a file; the pointers point into `_sd`.
struct Security {
    _sd: LocalSd,
    owner: PSID,
    dacl: *mut ACL,
}

impl Security {
    fn of(path: &Path) -> Result<Security, StoreError> {
        refuse_link(path)?;
        let path_w = wide(path)?;
        let (mut owner, mut dacl, mut sd) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
        // SAFETY: the out-pointers point into `sd`, which LocalSd frees.
        let rc = unsafe {
            GetNamedSecurityInfoW(
                path_w.as_ptr(),
                SE_FILE_OBJECT,
                OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                &mut owner,
                ptr::null_mut(),
                &mut dacl,
                ptr::null_mut(),
                &mut sd,
            )
        };
        if rc != ERROR_SUCCESS {
            return Err(os_err(
                format!("read the security of {}", path.display()),
                rc,
            ));
        }
        Ok(Security {
            _sd: LocalSd(sd),
            owner,
            dacl,
        })
    }

    /// The owner and DACL an SDDL string describes.
    fn from_sddl(sddl: &str) -> Result<Security, StoreError> {
        let sd = parse_sddl(sddl)?;
        let (mut owner, mut defaulted) = (ptr::null_mut(), 0);
        // SAFETY: sd.0 is a valid descriptor; the owner pointer points into it.
        if unsafe { GetSecurityDescriptorOwner(sd.0, &mut owner, &mut defaulted) } == 0 {
            return Err(last_err(format!("read the owner of {sddl}")));
        }
        let (mut present, mut dacl) = (0, ptr::null_mut::<ACL>());
        // SAFETY: as above, for the DACL (null when absent: no access control).
        if unsafe { GetSecurityDescriptorDacl(sd.0, &mut present, &mut dacl, &mut defaulted) } == 0
        {
            return Err(last_err(format!("read the DACL of {sddl}")));
        }
        Ok(Security {
            _sd: sd,
            owner,
            dacl: if present == 0 { ptr::null_mut() } else { dacl },
        })
    }

    /// Refuses unless every entry that grants a write right grants it to a SID `allowed` accepts.
    fn writers_must_be(
        &self,
        path: &Path,
        allowed_text: &str,
        allowed: impl Fn(PSID) -> bool,
    ) -> Result<(), StoreError> {
        let refuse = |who: String| StoreError::WritableBy {
            path: path.into(),
            who,
            allowed: allowed_text.into(),
        };
        if self.dacl.is_null() {
            return Err(refuse("everyone (the file has no DACL)".into()));
        }
        // SAFETY: a non-null DACL from GetNamedSecurityInfoW is a valid ACL inside `_sd`.
        let count = unsafe { (*self.dacl).AceCount };
        for index in 0..u32::from(count) {
            let mut ace: *mut core::ffi::c_void = ptr::null_mut();
            // SAFETY: index < AceCount; the ACE pointer points into the ACL.
            if unsafe { GetAce(self.dacl, index, &mut ace) } == 0 || ace.is_null() {
                return Err(last_err(format!("read the DACL of {}", path.display())));
            }
            // SAFETY: every ACE starts with an ACE_HEADER.
            let header = unsafe { *ace.cast::<ACE_HEADER>() };
            if u32::from(header.AceFlags) & INHERIT_ONLY_ACE != 0 {
                continue;
            }
            match header.AceType {
                ACCESS_DENIED | SYSTEM_AUDIT | SYSTEM_MANDATORY_LABEL => continue,
                ACCESS_ALLOWED => {}
                other => {
                    return Err(refuse(format!(
                        "an access entry of type {other} that trust-proxy does not judge"
                    )))
                }
            }
            if usize::from(header.AceSize) < mem::size_of::<ACCESS_ALLOWED_ACE>() {
                return Err(refuse("a malformed access entry".into()));
            }
            // SAFETY: an ACCESS_ALLOWED ACE of at least its own size; the SID starts at SidStart.
            let (mask, sid) = unsafe {
                let allowed_ace = ace.cast::<ACCESS_ALLOWED_ACE>();
                (
                    (*allowed_ace).Mask,
                    ptr::addr_of_mut!((*allowed_ace).SidStart).cast::<core::ffi::c_void>(),
                )
            };
            if mask & WRITE_RIGHTS != 0 && !allowed(sid) {
                return Err(refuse(account_name(sid)));
            }
        }
        Ok(())
    }
}

/// The user SID of the running process's token.
struct CurrentUser {
    buffer: Vec<u64>,
}

impl CurrentUser {
    fn get() -> Result<CurrentUser, StoreError> {
        let mut token: HANDLE = ptr::null_mut();
        // SAFETY: the pseudo handle needs no closing; the token handle is closed below.
        if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
            return Err(last_err("open the process token"));
        }
        // TOKEN_USER plus the SID it points at; u64 keeps the buffer aligned for the struct.
        let mut buffer = vec![0u64; 128];
        let mut needed = 0u32;
        let size = u32::try_from(buffer.len() * mem::size_of::<u64>()).unwrap_or(u32::MAX);
        // SAFETY: buffer and its size in bytes are passed together.
        let ok = unsafe {
            GetTokenInformation(
                token,
                TokenUser,
                buffer.as_mut_ptr().cast(),
                size,
                &mut needed,
            )
        };
        let error = (ok == 0).then(|| last_err("read the process token's user"));
        // SAFETY: opened above, closed once.
        unsafe { CloseHandle(token) };
        match error {
            Some(e) => Err(e),
            None => Ok(CurrentUser { buffer }),
        }
    }

    fn sid(&self) -> PSID {
        // SAFETY: GetTokenInformation filled the buffer with a TOKEN_USER whose SID pointer
        // points into the same buffer, alive as long as `self`.
        unsafe { (*self.buffer.as_ptr().cast::<TOKEN_USER>()).User.Sid }
    }
}

fn refuse_link(path: &Path) -> Result<(), StoreError> {
    match std::fs::symlink_metadata(path) {
        // std reports symlinks and junctions (name-surrogate reparse points) as links.
        Ok(m) if m.file_type().is_symlink() => Err(StoreError::Symlink { path: path.into() }),
        Ok(_) => Ok(()),
        Err(e) => Err(StoreError::Io {
            op: "stat",
            path: path.into(),
            source: e,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The judgement itself, on descriptors made from SDDL: wine keeps neither a new owner nor a
    /// new DACL on a file, so only these run the same on wine and on Windows.
    #[test]
    fn write_access_and_owner_are_judged() {
        let path = Path::new("C:\\ProgramData\\trust-proxy\\state.json");
        let system = |sddl: &str| judge_system(path, &Security::from_sddl(sddl).expect(sddl));
        system(SYSTEM_FILE_SDDL).expect("the descriptor trust-proxy sets");
        system("O:SYD:(A;;FA;;;SY)(A;;0x1200a9;;;WD)").expect("SYSTEM owner, others read");
        // An inherit-only entry grants nothing on the file; a deny entry never widens access.
        system("O:BAD:(A;OICIIO;FA;;;BU)(D;;FA;;;BU)(A;;FA;;;BA)").expect("inherit-only, deny");
        for (sddl, why) in [
            ("O:BAD:P(A;;FA;;;SY)(A;;FA;;;BU)", "Users full access"),
            ("O:BAD:(A;;0x2;;;AU)", "Authenticated Users write data"),
            ("O:BAD:(A;;0x40000;;;WD)", "Everyone WRITE_DAC"),
            ("O:BAD:(A;;GW;;;IU)", "Interactive GENERIC_WRITE"),
            ("O:BAD:(A;;0x10000;;;BU)", "Users DELETE"),
            ("O:BA", "no DACL at all: everyone"),
        ] {
            let err = system(sddl).expect_err(why);
            assert!(matches!(err, StoreError::WritableBy { .. }), "{why}: {err}");
        }
        let err = system("O:BUD:P(A;;FA;;;SY)").expect_err("owned by Users");
        assert!(matches!(err, StoreError::WrongOwner { .. }), "{err}");

        // The user scope: owned by the user; the user, SYSTEM and Administrators may write.
        let me = CurrentUser::get().expect("token");
        let user = |sddl: &str| judge_user(path, &Security::from_sddl(sddl).expect(sddl), me.sid());
        for other in ["BU", "S-1-5-21-1-2-3-1001"] {
            let err = user(&format!("O:{other}D:(A;;FA;;;SY)")).expect_err(other);
            assert!(
                matches!(err, StoreError::WrongOwner { .. }),
                "{other}: {err}"
            );
        }
        user("O:BAD:(A;;FA;;;SY)").expect("made by the user elevated");
        let sid = account_sid_text(me.sid());
        user(&format!(
            "O:{sid}D:(A;;FA;;;{sid})(A;;FA;;;SY)(A;;FA;;;BA)(A;;0x1200a9;;;BU)"
        ))
        .expect("the user's own file");
        let err = user(&format!("O:{sid}D:(A;;FA;;;{sid})(A;;FA;;;BU)")).expect_err("Users write");
        assert!(matches!(err, StoreError::WritableBy { .. }), "{err}");
    }

    /// `S-1-5-...` for an SDDL string.
    fn account_sid_text(sid: PSID) -> String {
        use windows_sys::Win32::Foundation::LocalFree;
        use windows_sys::Win32::Security::Authorization::ConvertSidToStringSidW;
        let mut text: *mut u16 = ptr::null_mut();
        // SAFETY: sid is valid; the string is LocalAlloc'd and freed below.
        assert_ne!(unsafe { ConvertSidToStringSidW(sid, &mut text) }, 0);
        // SAFETY: NUL-terminated result.
        let len = (0..).take_while(|&i| unsafe { *text.add(i) } != 0).count();
        // SAFETY: `len` units are readable.
        let out = String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(text, len) });
        // SAFETY: freed once.
        unsafe { LocalFree(text.cast()) };
        out
    }
}
