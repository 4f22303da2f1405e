//! A file's discretionary ACL as SDDL text (`D:P(A;;FR;;;WD)`), set and read back: what a test
//! of ACL copies on Windows compares.

use std::ffi::c_void;
use std::os::windows::fs::OpenOptionsExt;
use std::os::windows::io::AsRawHandle;
use std::path::Path;

use windows_sys::Win32::Foundation::{HLOCAL, LocalFree};
use windows_sys::Win32::Security::Authorization::{
    ConvertSecurityDescriptorToStringSecurityDescriptorW,
    ConvertStringSecurityDescriptorToSecurityDescriptorW, GetSecurityInfo, SDDL_REVISION_1,
    SE_FILE_OBJECT, SetSecurityInfo,
};
use windows_sys::Win32::Security::{
    ACL, DACL_SECURITY_INFORMATION, GetSecurityDescriptorDacl, PROTECTED_DACL_SECURITY_INFORMATION,
    PSECURITY_DESCRIPTOR,
};
use windows_sys::Win32::Storage::FileSystem::{READ_CONTROL, WRITE_DAC};

/// Makes the DACL of `path` the one of `sddl` (e.g. `D:P(A;;FA;;;WD)`), protected from
/// inheritance.
#[track_caller]
pub fn set_dacl(path: &Path, sddl: &str) {
    let f = std::fs::OpenOptions::new()
        .access_mode(WRITE_DAC | READ_CONTROL)
        .open(path)
        .unwrap_or_else(|e| panic!("open {} for WRITE_DAC: {e}", path.display()));
    let text: Vec<u16> = sddl.encode_utf16().chain([0]).collect();
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: NUL-terminated text; `sd` is freed with LocalFree below.
    let ok = unsafe {
        ConvertStringSecurityDescriptorToSecurityDescriptorW(
            text.as_ptr(),
            SDDL_REVISION_1,
            &mut sd,
            std::ptr::null_mut(),
        )
    };
    assert_ne!(
        ok,
        0,
        "bad SDDL {sddl}: {}",
        std::io::Error::last_os_error()
    );
    let (mut present, mut defaulted) = (0, 0);
    let mut dacl: *mut ACL = std::ptr::null_mut();
    // SAFETY: `sd` is a valid descriptor; the out-pointers are valid.
    unsafe { GetSecurityDescriptorDacl(sd, &mut present, &mut dacl, &mut defaulted) };
    // SAFETY: a valid handle and an ACL inside `sd`.
    let r = unsafe {
        SetSecurityInfo(
            f.as_raw_handle(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            dacl,
            std::ptr::null(),
        )
    };
    // SAFETY: allocated by the conversion above, freed once.
    unsafe { LocalFree(sd as HLOCAL) };
    assert_eq!(r, 0, "SetSecurityInfo on {}: error {r}", path.display());
}

/// The DACL of `path` as SDDL text.
#[track_caller]
pub fn dacl(path: &Path) -> String {
    let f = std::fs::OpenOptions::new()
        .access_mode(READ_CONTROL)
        .open(path)
        .unwrap_or_else(|e| panic!("open {} for READ_CONTROL: {e}", path.display()));
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: a valid handle; `sd` is freed below.
    let r = unsafe {
        GetSecurityInfo(
            f.as_raw_handle(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut sd,
        )
    };
    assert_eq!(r, 0, "GetSecurityInfo on {}: error {r}", path.display());
    let mut text: *mut u16 = std::ptr::null_mut();
    let mut len = 0u32;
    // SAFETY: a valid descriptor; `text` is freed below.
    let ok = unsafe {
        ConvertSecurityDescriptorToStringSecurityDescriptorW(
            sd,
            SDDL_REVISION_1,
            DACL_SECURITY_INFORMATION,
            &mut text,
            &mut len,
        )
    };
    assert_ne!(ok, 0, "{}", std::io::Error::last_os_error());
    // SAFETY: `text` holds `len` UTF-16 units (with the terminator).
    let s = String::from_utf16_lossy(unsafe {
        std::slice::from_raw_parts(text, (len as usize).saturating_sub(1))
    });
    // SAFETY: both allocated by the calls above, freed once.
    unsafe {
        LocalFree(text.cast::<c_void>() as HLOCAL);
        LocalFree(sd as HLOCAL);
    }
    s.trim_end_matches('\0').to_string()
}
