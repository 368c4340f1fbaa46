//! Windows: create the directory with [`super::SYSTEM_DIR_SDDL`], check its owner, repair its DACL.

use std::path::Path;
use std::{mem, ptr};

use windows_sys::Win32::Foundation::{
    GetLastError, LocalFree, ERROR_ALREADY_EXISTS, ERROR_SUCCESS,
};
use windows_sys::Win32::Security::Authorization::{
    ConvertSidToStringSidW, ConvertStringSecurityDescriptorToSecurityDescriptorW,
    GetNamedSecurityInfoW, SetNamedSecurityInfoW, SDDL_REVISION_1, SE_FILE_OBJECT,
};
use windows_sys::Win32::Security::{
    GetSecurityDescriptorControl, GetSecurityDescriptorDacl, IsWellKnownSid, LookupAccountSidW,
    WinBuiltinAdministratorsSid, WinLocalSystemSid, ACL, DACL_SECURITY_INFORMATION,
    OWNER_SECURITY_INFORMATION, PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, PSID,
    SECURITY_ATTRIBUTES, SE_DACL_PROTECTED,
};
use windows_sys::Win32::Storage::FileSystem::CreateDirectoryW;

use super::SYSTEM_DIR_SDDL;
use crate::fs_safe;
use crate::win_str::{last_err, os_err, wide};
use crate::StoreError;

/// A security descriptor the system allocated with LocalAlloc, freed on drop.
pub(crate) struct LocalSd(pub(crate) PSECURITY_DESCRIPTOR);

impl Drop for LocalSd {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: allocated by the API that filled it in, freed once, here.
            unsafe { LocalFree(self.0) };
        }
    }
}

pub(super) fn secure_system_dir(path: &Path) -> Result<(), StoreError> {
    let shown = path.display().to_string();
    // The parent (normally %ProgramData%) keeps its own ACL; fs_safe refuses links on the way.
    if let Some(parent) = path.parent() {
        fs_safe::create_dir_all(parent, 0o755)?;
    }
    refuse_link(path)?;
    let path_w = wide(path)?;
    let wanted = parse_sddl(SYSTEM_DIR_SDDL)?;

    let attributes = SECURITY_ATTRIBUTES {
        nLength: mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: wanted.0,
        bInheritHandle: 0,
    };
    // SAFETY: path_w is NUL-terminated; the descriptor stays alive until `wanted` drops.
    let created = unsafe { CreateDirectoryW(path_w.as_ptr(), &attributes) } != 0;
    if !created {
        // SAFETY: reads the calling thread's last error right after the failed call.
        let code = unsafe { GetLastError() };
        if code != ERROR_ALREADY_EXISTS {
            return Err(os_err(
                format!("create {shown} (needs an elevated administrator)"),
                code,
            ));
        }
    }
    // Checked again after creation: a junction swapped in meanwhile must not be followed.
    refuse_link(path)?;

    let mut owner: PSID = ptr::null_mut();
    let mut dacl: *mut ACL = ptr::null_mut();
    let mut sd: PSECURITY_DESCRIPTOR = ptr::null_mut();
    // SAFETY: the out-pointers point into `sd`, which we free with LocalFree via LocalSd.
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
        return Err(os_err(format!("read the security of {shown}"), rc));
    }
    let current = LocalSd(sd);

    // SAFETY: `owner` points into `current`, alive for these calls.
    let trusted_owner = !owner.is_null()
        && unsafe {
            IsWellKnownSid(owner, WinLocalSystemSid) != 0
                || IsWellKnownSid(owner, WinBuiltinAdministratorsSid) != 0
        };
    if !trusted_owner {
        let owner = account_name(owner);
        let message = if created {
            // Checked even for a directory we just created: an OS that ignored the requested
            // descriptor (wine does) has not protected it either. The empty directory goes.
            let _ = std::fs::remove_dir(path);
            format!(
                "created with owner Administrators requested, but the system reports {owner}: \
                 it did not apply the security descriptor, so the directory is not protected"
            )
        } else {
            format!(
                "owned by {owner}, expected SYSTEM or Administrators: someone else created it; \
                 check its contents, then delete it and run again"
            )
        };
        return Err(StoreError::Platform {
            what: shown,
            message,
        });
    }

    if !created && !dacl_is(&current, dacl, &wanted)? {
        let wanted_dacl = dacl_of(&wanted)?;
        // SAFETY: path_w is NUL-terminated; wanted_dacl points into `wanted`, alive here.
        let rc = unsafe {
            SetNamedSecurityInfoW(
                path_w.as_ptr(),
                SE_FILE_OBJECT,
                DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                ptr::null_mut(),
                ptr::null_mut(),
                wanted_dacl,
                ptr::null(),
            )
        };
        if rc != ERROR_SUCCESS {
            return Err(os_err(format!("set the DACL of {shown}"), rc));
        }
    }
    Ok(())
}

fn refuse_link(path: &Path) -> Result<(), StoreError> {
    match std::fs::symlink_metadata(path) {
        // std reports symlinks and junctions (name-surrogate reparse points) as links.
        Ok(m) if m.file_type().is_symlink() => Err(StoreError::Symlink { path: path.into() }),
        Ok(m) if !m.is_dir() => Err(StoreError::Platform {
            what: path.display().to_string(),
            message: "exists and is not a directory".into(),
        }),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::Io {
            op: "stat",
            path: path.into(),
            source: e,
        }),
    }
}

pub(crate) fn parse_sddl(sddl: &str) -> Result<LocalSd, StoreError> {
    let text = wide(sddl)?;
    let mut sd: PSECURITY_DESCRIPTOR = ptr::null_mut();
    // SAFETY: text is NUL-terminated; the result is LocalAlloc'd and owned by LocalSd.
    let ok = unsafe {
        ConvertStringSecurityDescriptorToSecurityDescriptorW(
            text.as_ptr(),
            SDDL_REVISION_1,
            &mut sd,
            ptr::null_mut(),
        )
    };
    if ok == 0 {
        return Err(last_err(format!("parse SDDL {sddl}")));
    }
    Ok(LocalSd(sd))
}

fn dacl_of(sd: &LocalSd) -> Result<*mut ACL, StoreError> {
    let mut present = 0;
    let mut defaulted = 0;
    let mut dacl: *mut ACL = ptr::null_mut();
    // SAFETY: sd.0 is a valid descriptor; the DACL pointer points into it.
    let ok = unsafe { GetSecurityDescriptorDacl(sd.0, &mut present, &mut dacl, &mut defaulted) };
    if ok == 0 || present == 0 || dacl.is_null() {
        return Err(last_err("read the DACL of the wanted descriptor"));
    }
    Ok(dacl)
}

/// Whether `current` is protected and its DACL holds exactly the ACEs of `wanted`, in order.
fn dacl_is(current: &LocalSd, dacl: *const ACL, wanted: &LocalSd) -> Result<bool, StoreError> {
    let mut control: u16 = 0;
    let mut revision: u32 = 0;
    // SAFETY: current.0 is the descriptor GetNamedSecurityInfoW returned.
    if unsafe { GetSecurityDescriptorControl(current.0, &mut control, &mut revision) } == 0 {
        return Err(last_err("read the security descriptor control"));
    }
    if control & SE_DACL_PROTECTED == 0 {
        return Ok(false);
    }
    let want = dacl_of(wanted)?;
    // SAFETY: both pointers are null or point at ACLs inside descriptors alive for this call.
    Ok(unsafe { ace_bytes(dacl) }.is_some_and(|a| unsafe { ace_bytes(want) } == Some(a)))
}

/// The ACEs of an ACL as bytes (without the header, whose size field may count unused slack).
///
/// # Safety
/// `acl` is null or points at a valid ACL of `AclSize` bytes that outlives `'a`.
unsafe fn ace_bytes<'a>(acl: *const ACL) -> Option<&'a [u8]> {
    if acl.is_null() {
        return None;
    }
    // SAFETY: per the contract, `acl` is readable for its header and AclSize bytes.
    let (count, all) = unsafe {
        let header = &*acl;
        let all = std::slice::from_raw_parts(acl.cast::<u8>(), usize::from(header.AclSize));
        (header.AceCount, all)
    };
    let start = mem::size_of::<ACL>();
    let mut end = start;
    for _ in 0..count {
        // Every ACE starts with ACE_HEADER { type: u8, flags: u8, size: u16 }.
        let size = all.get(end + 2..end + 4)?;
        let size = usize::from(u16::from_le_bytes([size[0], size[1]]));
        if size < 4 {
            return None;
        }
        end = end.checked_add(size)?;
    }
    all.get(start..end)
}

/// `DOMAIN\name (S-1-...)`, or whatever part of that Windows can tell, for the refusal message.
pub(crate) fn account_name(sid: PSID) -> String {
    if sid.is_null() {
        return "nobody (no owner)".into();
    }
    let mut text = String::new();
    let mut name = [0u16; 256];
    let mut domain = [0u16; 256];
    let (mut name_len, mut domain_len) = (name.len() as u32, domain.len() as u32);
    let mut kind = 0;
    // SAFETY: buffers and their lengths in UTF-16 units are passed together.
    let ok = unsafe {
        LookupAccountSidW(
            ptr::null(),
            sid,
            name.as_mut_ptr(),
            &mut name_len,
            domain.as_mut_ptr(),
            &mut domain_len,
            &mut kind,
        )
    };
    if ok != 0 {
        let part =
            |buf: &[u16], len: u32| String::from_utf16_lossy(&buf[..(len as usize).min(buf.len())]);
        text = format!("{}\\{} ", part(&domain, domain_len), part(&name, name_len));
    }
    let mut sid_text: *mut u16 = ptr::null_mut();
    // SAFETY: sid is valid; the string is LocalAlloc'd and freed below.
    if unsafe { ConvertSidToStringSidW(sid, &mut sid_text) } != 0 && !sid_text.is_null() {
        // SAFETY: ConvertSidToStringSidW returns a NUL-terminated string.
        let len = (0..)
            .take_while(|&i| unsafe { *sid_text.add(i) } != 0)
            .count();
        // SAFETY: `len` units before the NUL are readable.
        let units = unsafe { std::slice::from_raw_parts(sid_text, len) };
        text.push_str(&format!("({})", String::from_utf16_lossy(units)));
        // SAFETY: freed once, after its last use.
        unsafe { LocalFree(sid_text.cast()) };
    }
    if text.is_empty() {
        "an unknown account".into()
    } else {
        text.trim_end().to_owned()
    }
}
