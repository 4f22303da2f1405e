//! Windows backend: `CopyFileExW` with a progress routine, `SetFileInformationByHandle` for real
//! (non-sparse) allocation, `GetDriveTypeW` / `GetVolumeInformationW` for drive kinds, and
//! `GetDiskFreeSpaceExW` / `GetFileInformationByHandle` for free space and file identity.
//!
//! Every path handed to a Win32 call goes through [`to_wide_long`], which makes it absolute and
//! gives it the `\\?\` (or `\\?\UNC\`) prefix, so paths longer than `MAX_PATH` (260) work without
//! the process-wide long-path opt-in. Positional I/O, temp creation and times use std, which
//! already handles long paths itself.

use std::any::Any;
use std::ffi::{OsString, c_void};
use std::fs::{File, OpenOptions};
use std::io;
use std::ops::ControlFlow;
use std::os::windows::ffi::{OsStrExt, OsStringExt};
use std::os::windows::fs::{FileExt, FileTimesExt, MetadataExt, OpenOptionsExt};
use std::os::windows::io::AsRawHandle;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use windows_sys::Win32::Foundation::{
    ERROR_ACCESS_DENIED, ERROR_CALL_NOT_IMPLEMENTED, ERROR_INVALID_FUNCTION, ERROR_LOCK_VIOLATION,
    ERROR_NOT_SUPPORTED, ERROR_REQUEST_ABORTED, ERROR_SHARING_VIOLATION, FILETIME, GENERIC_READ,
    GENERIC_WRITE, HANDLE, MAX_PATH,
};
use windows_sys::Win32::Storage::FileSystem::{
    BY_HANDLE_FILE_INFORMATION, COPY_FILE_FAIL_IF_EXISTS, COPYPROGRESSROUTINE_PROGRESS,
    CopyFileExW, FILE_ALLOCATION_INFO, FILE_ATTRIBUTE_ARCHIVE, FILE_ATTRIBUTE_HIDDEN,
    FILE_ATTRIBUTE_NORMAL, FILE_ATTRIBUTE_NOT_CONTENT_INDEXED, FILE_ATTRIBUTE_OFFLINE,
    FILE_ATTRIBUTE_READONLY, FILE_ATTRIBUTE_REPARSE_POINT, FILE_ATTRIBUTE_SYSTEM,
    FILE_ATTRIBUTE_TEMPORARY, FILE_BASIC_INFO, FILE_FLAG_BACKUP_SEMANTICS, FILE_FLAG_NO_BUFFERING,
    FILE_FLAG_OPEN_REPARSE_POINT, FILE_INFO_BY_HANDLE_CLASS, FILE_READ_ATTRIBUTES,
    FILE_SHARE_DELETE, FILE_SHARE_READ, FILE_SHARE_WRITE, FILE_STANDARD_INFO,
    FILE_WRITE_ATTRIBUTES, FileAllocationInfo, FileBasicInfo, FileStandardInfo,
    GetDiskFreeSpaceExW, GetDriveTypeW, GetFileAttributesW, GetFileInformationByHandle,
    GetFileInformationByHandleEx, GetVolumeInformationW, GetVolumePathNameW,
    INVALID_FILE_ATTRIBUTES, LPPROGRESS_ROUTINE_CALLBACK_REASON, PROGRESS_CANCEL,
    PROGRESS_CONTINUE, SetFileAttributesW, SetFileInformationByHandle, SetFileTime, WRITE_DAC,
};
use windows_sys::Win32::System::WindowsProgramming::{
    DRIVE_CDROM, DRIVE_FIXED, DRIVE_RAMDISK, DRIVE_REMOTE, DRIVE_REMOVABLE,
};

pub use crate::windows_dir::{Dir, is_link_in_path};

use crate::{
    CopyMethod, DriveInfo, DriveKind, FileIdentity, KernelCopy, Progress, ReadBack, Times,
    TimesApplied,
};

const BACKSLASH: u16 = b'\\' as u16;
const SLASH: u16 = b'/' as u16;

// ---------------------------------------------------------------------------------------------
// Wide-string helpers
// ---------------------------------------------------------------------------------------------

/// UTF-16 of `s` without a terminator.
fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

/// Adds the verbatim prefix to an absolute path (UTF-16, no terminator): `C:\x` → `\\?\C:\x`,
/// `\\server\share\x` → `\\?\UNC\server\share\x`. Paths that already are verbatim (`\\?\`),
/// device (`\\.\`) or NT (`\??\`) paths are returned unchanged. A verbatim path is passed to the
/// filesystem without normalisation, so forward slashes are turned into backslashes here.
fn long_form(abs: &[u16]) -> Vec<u16> {
    let starts = |p: &str| abs.len() >= p.len() && abs[..p.len()] == wide(p)[..];
    if starts(r"\\?\") || starts(r"\\.\") || starts(r"\??\") {
        return abs.to_vec();
    }
    let fixed: Vec<u16> = abs
        .iter()
        .map(|&c| if c == SLASH { BACKSLASH } else { c })
        .collect();
    if fixed.len() >= 2 && fixed[0] == BACKSLASH && fixed[1] == BACKSLASH {
        let mut out = wide(r"\\?\UNC\");
        out.extend_from_slice(&fixed[2..]);
        out
    } else {
        let mut out = wide(r"\\?\");
        out.extend_from_slice(&fixed);
        out
    }
}

/// `path` as a NUL-terminated UTF-16 string that Win32 accepts whatever its length: made absolute
/// (`GetFullPathNameW` through `std::path::absolute`, which also resolves `.`/`..` and turns `/`
/// into `\`) and given the `\\?\` or `\\?\UNC\` prefix.
pub(crate) fn to_wide_long(path: &Path) -> io::Result<Vec<u16>> {
    let abs = std::path::absolute(path)?;
    let units: Vec<u16> = abs.as_os_str().encode_wide().collect();
    if units.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "path contains a NUL character",
        ));
    }
    let mut out = long_form(&units);
    out.push(0);
    Ok(out)
}

/// Drops the verbatim prefix of a short path such as a volume root (`\\?\C:\` → `C:\`,
/// `\\?\UNC\srv\share\` → `\\srv\share\`) for the few calls that are documented with plain roots
/// (`GetDriveTypeW`, `GetVolumeInformationW`). Roots are far below `MAX_PATH`, so nothing is lost.
fn strip_verbatim(w: &[u16]) -> Vec<u16> {
    let unc = wide(r"\\?\UNC\");
    let verbatim = wide(r"\\?\");
    if w.len() >= unc.len() && w[..unc.len()].eq_ignore_ascii_case_u16(&unc) {
        let mut out = wide(r"\\");
        out.extend_from_slice(&w[unc.len()..]);
        out
    } else if w.len() >= verbatim.len() + 2
        && w[..verbatim.len()] == verbatim[..]
        && w[verbatim.len() + 1] == u16::from(b':')
    {
        w[verbatim.len()..].to_vec()
    } else {
        w.to_vec()
    }
}

/// ASCII-case-insensitive comparison of UTF-16 slices (for `UNC` vs `unc`).
trait EqIgnoreAsciiCaseU16 {
    fn eq_ignore_ascii_case_u16(&self, other: &[u16]) -> bool;
}

impl EqIgnoreAsciiCaseU16 for [u16] {
    fn eq_ignore_ascii_case_u16(&self, other: &[u16]) -> bool {
        let lower = |c: u16| {
            if (0x41..=0x5A).contains(&c) {
                c + 0x20
            } else {
                c
            }
        };
        self.len() == other.len() && self.iter().zip(other).all(|(&a, &b)| lower(a) == lower(b))
    }
}

/// The UTF-16 in `buf` up to its first NUL (or all of it).
fn until_nul(buf: &[u16]) -> &[u16] {
    let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
    &buf[..end]
}

fn with_nul(mut w: Vec<u16>) -> Vec<u16> {
    w.push(0);
    w
}

fn handle(file: &File) -> HANDLE {
    file.as_raw_handle()
}

// ---------------------------------------------------------------------------------------------
// Drive kind
// ---------------------------------------------------------------------------------------------

/// Maps a `GetDriveTypeW` result to a drive kind. A USB hard disk reports `DRIVE_FIXED` (only
/// sticks and card readers report `DRIVE_REMOVABLE`); that is Windows' own view and we keep it.
pub(crate) fn classify_drive_type(drive_type: u32) -> DriveKind {
    match drive_type {
        DRIVE_FIXED => DriveKind::LocalFixed,
        DRIVE_REMOVABLE => DriveKind::Removable,
        DRIVE_REMOTE => DriveKind::NetworkUnc,
        DRIVE_CDROM => DriveKind::Cdrom,
        DRIVE_RAMDISK => DriveKind::Ramdisk,
        // DRIVE_UNKNOWN, DRIVE_NO_ROOT_DIR, anything newer.
        _ => DriveKind::Unknown,
    }
}

/// The root of the volume holding `resolved` (an existing, canonical path), with a trailing
/// backslash and without the verbatim prefix: `C:\`, `\\server\share\`, or a mount folder such as
/// `C:\mnt\disk\`.
fn volume_root(resolved: &Path) -> io::Result<Vec<u16>> {
    let path = to_wide_long(resolved)?;
    let mut buf = vec![0u16; path.len().max(MAX_PATH as usize) + 8];
    // SAFETY: `path` is NUL-terminated; `buf` is writable for the length we pass.
    let ok = unsafe { GetVolumePathNameW(path.as_ptr(), buf.as_mut_ptr(), buf.len() as u32) };
    if ok != 0 {
        return Ok(strip_verbatim(until_nul(&buf)));
    }
    // Fall back to the lexical root: the drive letter or the `\\server\share\` of the path.
    let p = strip_verbatim(until_nul(&path));
    let is_unc = p.len() >= 2 && p[0] == BACKSLASH && p[1] == BACKSLASH;
    let mut root = Vec::new();
    let mut seps = 0;
    for &c in &p {
        root.push(c);
        if c == BACKSLASH {
            seps += 1;
            if (is_unc && seps == 4) || (!is_unc && seps == 1) {
                return Ok(root);
            }
        }
    }
    if root.last() != Some(&BACKSLASH) {
        root.push(BACKSLASH);
    }
    Ok(root)
}

/// The filesystem name of the volume at `root` (`NTFS`, `ReFS`, `FAT32`, `exFAT`, `CDFS`, …).
fn volume_fs_type(root: &[u16]) -> Option<String> {
    let root = with_nul(root.to_vec());
    let mut name = [0u16; MAX_PATH as usize + 1];
    // SAFETY: `root` is NUL-terminated; the optional out-parameters are null (not wanted); `name`
    // is writable for the length we pass.
    let ok = unsafe {
        GetVolumeInformationW(
            root.as_ptr(),
            std::ptr::null_mut(),
            0,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            name.as_mut_ptr(),
            name.len() as u32,
        )
    };
    if ok == 0 {
        return None;
    }
    Some(
        OsString::from_wide(until_nul(&name))
            .to_string_lossy()
            .into_owned(),
    )
}

/// Where a path lives: its volume's kind (`GetDriveTypeW`, or NETWORK_UNC for any UNC path) and
/// filesystem name (`GetVolumeInformationW`). A symlinked path is judged by its target (seed A.9);
/// a path that does not exist yet by its nearest existing ancestor.
pub fn drive_info(path: &Path) -> io::Result<DriveInfo> {
    // std's canonicalize returns a `\\?\C:\…` or `\\?\UNC\…` path with links resolved; a
    // mapped network drive comes back as its `\\?\UNC\server\share` target.
    let resolved = crate::nearest_existing(path)?;
    let is_unc = crate::is_unc_path(path) || crate::is_unc_path(&resolved);
    if is_unc && !crate::is_unc_path(&resolved) {
        // A share none of whose ancestors could be opened: nearest_existing fell back to the
        // current directory, whose volume says nothing about the share.
        return Ok(DriveInfo {
            kind: DriveKind::NetworkUnc,
            fs_type: String::new(),
            resolved,
            is_unc,
        });
    }
    let root = volume_root(&resolved)?;
    let fs_type = volume_fs_type(&root).unwrap_or_default();
    let kind = if is_unc {
        DriveKind::NetworkUnc
    } else {
        let root_z = with_nul(root);
        // SAFETY: `root_z` is a NUL-terminated root path with a trailing backslash.
        classify_drive_type(unsafe { GetDriveTypeW(root_z.as_ptr()) })
    };
    Ok(DriveInfo {
        kind,
        fs_type,
        resolved,
        is_unc,
    })
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

/// Creates `path`, which must not exist, open for reading and writing. Windows has no per-file
/// mode: the file gets the ACL inherited from its directory.
pub fn create_temp(path: &Path) -> io::Result<File> {
    // CREATE_NEW fails on any existing name, a planted symlink or junction included. WRITE_DAC
    // (which the file's creator holds) lets the source's ACL go on it (`copy_acl`).
    // (std wants `write` before it creates; `access_mode` then names the rights asked for.)
    OpenOptions::new()
        .write(true)
        .access_mode(GENERIC_READ | GENERIC_WRITE | WRITE_DAC)
        .create_new(true)
        .open(path)
}

/// Opens `path` for reading (with `flags`, e.g. FILE_FLAG_NO_BUFFERING) so that reads through
/// the handle leave the file's last-access time alone — Windows' counterpart of Linux's
/// `O_NOATIME`. SetFileTime documents it: a last-access time of 0xFFFFFFFF_FFFFFFFF "prevents
/// file operations using the given handle from modifying the last access time". That needs
/// FILE_WRITE_ATTRIBUTES on the handle, which a read-only medium or a share's ACL may refuse;
/// then the file is opened for reading only, and reads may touch the access time (NTFS updates
/// it, when its last-access tracking is on, at most once an hour).
pub(crate) fn open_for_reading(path: &Path, flags: u32) -> io::Result<File> {
    let open = |access: u32| {
        OpenOptions::new()
            .access_mode(access)
            .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)
            .custom_flags(flags)
            .open(path)
    };
    let Ok(file) = open(GENERIC_READ | FILE_WRITE_ATTRIBUTES) else {
        // Whatever refused the attribute access, a plain read open gives the error that counts.
        return open(GENERIC_READ);
    };
    let keep = FILETIME {
        dwLowDateTime: u32::MAX,
        dwHighDateTime: u32::MAX,
    };
    // SAFETY: valid handle opened with FILE_WRITE_ATTRIBUTES; `keep` outlives the call; the
    // other two times are optional (null: unchanged). Best effort: a failure only means reads
    // may update the access time, as they would on a plain handle.
    let _ = unsafe { SetFileTime(handle(&file), std::ptr::null(), &keep, std::ptr::null()) };
    Ok(file)
}

/// Opens a copy source for reading through a handle that leaves its last-access time alone, so
/// copying does not even change the source's access time (I1). No FIFO lives among Windows
/// files, so nothing can block the open.
pub fn open_source(path: &Path) -> io::Result<File> {
    open_for_reading(path, 0)
}

/// Opens a file we wrote (a temp) for its verify read-back through a handle whose last-access
/// time is pinned, so the times applied before the verify survive it.
pub fn open_readback(path: &Path) -> io::Result<File> {
    open_for_reading(path, 0)
}

/// Opens a file with FILE_FLAG_NO_BUFFERING for reads that bypass the system cache, for a
/// verify that must read the medium; always `Some` here. Reads on the handle must use an
/// [`AlignedBuf`](crate::AlignedBuf), offsets and lengths that are multiples of
/// [`DIRECT_ALIGN`](crate::DIRECT_ALIGN) (the last read may return fewer bytes).
pub fn open_direct(path: &Path) -> io::Result<Option<File>> {
    // Unbuffered reads need sector-aligned buffers, offsets and lengths; DIRECT_ALIGN (4 KiB) is
    // a multiple of every sector size Windows supports (512 B, 4 KiB). The handle shares read,
    // write and delete like std's default ones, so the open never fails on our own temp's other
    // handle, and leaves the access time alone like `open_readback`.
    open_for_reading(path, FILE_FLAG_NO_BUFFERING).map(Some)
}

/// Deletes a file of ours (a temp), clearing FILE_ATTRIBUTE_READONLY first when that is what
/// refuses the delete. std's `remove_file` retries a read-only file with POSIX delete semantics,
/// which only NTFS (Windows 10 1809 and later) has: FAT, exFAT and Wine refuse it.
pub fn remove_temp(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            let w = to_wide_long(path)?;
            // SAFETY: `w` is NUL-terminated.
            let attrs = unsafe { GetFileAttributesW(w.as_ptr()) };
            if attrs == INVALID_FILE_ATTRIBUTES || attrs & FILE_ATTRIBUTE_READONLY == 0 {
                return Err(e);
            }
            clear_readonly(&w)?;
            std::fs::remove_file(path)
        }
        r => r,
    }
}

/// What the progress routine shares with [`kernel_copy`] through `lpData`. A `&mut dyn FnMut` is
/// a fat pointer and cannot travel through a `void*` itself, so `lpData` points at this local,
/// which holds it.
struct CopyCtx<'a> {
    progress: &'a mut dyn FnMut(u64) -> ControlFlow<()>,
    /// The last value reported to `progress`, if any.
    reported: Option<u64>,
    /// `progress` returned `Break` and we answered `PROGRESS_CANCEL`.
    cancelled: bool,
    /// `progress` panicked; resumed once `CopyFileExW` has returned (a panic must not unwind
    /// through the system frames of `CopyFileExW`).
    panic: Option<Box<dyn Any + Send>>,
}

/// The `LPPROGRESS_ROUTINE` handed to `CopyFileExW`. Called on the copying thread, after each
/// chunk and at every stream switch, with the bytes transferred so far.
unsafe extern "system" fn copy_progress(
    _total_file_size: i64,
    total_bytes_transferred: i64,
    _stream_size: i64,
    _stream_bytes_transferred: i64,
    _stream_number: u32,
    _reason: LPPROGRESS_ROUTINE_CALLBACK_REASON,
    _source: HANDLE,
    _destination: HANDLE,
    data: *const c_void,
) -> COPYPROGRESSROUTINE_PROGRESS {
    // SAFETY: `data` is the `&mut CopyCtx` that `kernel_copy` passed to `CopyFileExW`; it lives
    // on `kernel_copy`'s stack for the whole call, `CopyFileExW` calls this routine synchronously
    // on the same thread, and `kernel_copy` does not touch the context until the call returns, so
    // this is the only live reference.
    let ctx = unsafe { &mut *(data as *mut CopyCtx<'_>) };
    if ctx.cancelled || ctx.panic.is_some() {
        return PROGRESS_CANCEL;
    }
    let done = u64::try_from(total_bytes_transferred).unwrap_or(0);
    match catch_unwind(AssertUnwindSafe(|| (ctx.progress)(done))) {
        Ok(ControlFlow::Continue(())) => {
            ctx.reported = Some(done);
            PROGRESS_CONTINUE
        }
        Ok(ControlFlow::Break(())) => {
            ctx.cancelled = true;
            PROGRESS_CANCEL
        }
        Err(payload) => {
            ctx.panic = Some(payload);
            PROGRESS_CANCEL
        }
    }
}

/// The attributes `SetFileAttributesW` accepts (its documentation lists them); the others
/// (compressed, encrypted, sparse, reparse point …) cannot be passed back.
pub(crate) const SETTABLE_ATTRIBUTES: u32 = FILE_ATTRIBUTE_ARCHIVE
    | FILE_ATTRIBUTE_HIDDEN
    | FILE_ATTRIBUTE_NOT_CONTENT_INDEXED
    | FILE_ATTRIBUTE_OFFLINE
    | FILE_ATTRIBUTE_READONLY
    | FILE_ATTRIBUTE_SYSTEM
    | FILE_ATTRIBUTE_TEMPORARY;

/// Clears FILE_ATTRIBUTE_READONLY on `path` (NUL-terminated long form), which `CopyFileExW`
/// copied from a read-only source: the engine must be able to open, write and rename the copy.
fn clear_readonly(path: &[u16]) -> io::Result<()> {
    // SAFETY: `path` is NUL-terminated.
    let attrs = unsafe { GetFileAttributesW(path.as_ptr()) };
    if attrs == INVALID_FILE_ATTRIBUTES {
        return Err(io::Error::last_os_error());
    }
    if attrs & FILE_ATTRIBUTE_READONLY == 0 {
        return Ok(());
    }
    let mut keep = attrs & SETTABLE_ATTRIBUTES & !FILE_ATTRIBUTE_READONLY;
    if keep == 0 {
        keep = FILE_ATTRIBUTE_NORMAL;
    }
    // SAFETY: `path` is NUL-terminated.
    if unsafe { SetFileAttributesW(path.as_ptr(), keep) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Copies all of `src_path` into a new file `name` in `dir` (which must not exist) with
/// `CopyFileExW`, whose progress routine reports in steps of its own choosing and carries our
/// cancel. (`CopyFileExW` clones by itself where the volume can: `try_clone` changes nothing.)
#[allow(clippy::too_many_arguments)]
pub fn kernel_copy(
    _src: &File,
    src_path: &Path,
    dir: &Dir,
    name: &std::ffi::OsStr,
    _len: u64,
    _chunk: u64,
    _try_clone: bool,
    progress: Progress<'_>,
) -> io::Result<KernelCopy> {
    // CopyFileExW works on paths, not handles: it copies whatever `src_path` names now (the
    // caller verifies the result), in chunks of its own choosing (about 1 MiB on local disks),
    // calling the progress routine after each one. `chunk` cannot be imposed on it. The
    // destination is a path too: `dir` holds its folder and every folder above, so that path
    // cannot be redirected by a link swapped in above the new file, and COPY_FILE_FAIL_IF_EXISTS
    // refuses a link planted at the name itself.
    let from = to_wide_long(src_path)?;
    let dst = dir.entry_path(name)?;
    let to = to_wide_long(&dst)?;
    let mut ctx = CopyCtx {
        progress,
        reported: None,
        cancelled: false,
        panic: None,
    };

    // SAFETY: both paths are NUL-terminated; `copy_progress` matches LPPROGRESS_ROUTINE;
    // `lpData` points at `ctx`, which outlives the call and is accessed only by `copy_progress`
    // while the call runs (see there); a null `pbCancel` is allowed.
    let ok = unsafe {
        CopyFileExW(
            from.as_ptr(),
            to.as_ptr(),
            Some(copy_progress),
            (&raw mut ctx).cast::<c_void>().cast_const(),
            std::ptr::null_mut(),
            COPY_FILE_FAIL_IF_EXISTS,
        )
    };
    let copy_err = (ok == 0).then(io::Error::last_os_error);

    if let Some(payload) = ctx.panic.take() {
        resume_unwind(payload);
    }
    if let Some(e) = copy_err {
        // We answered PROGRESS_CANCEL: CopyFileExW fails with ERROR_REQUEST_ABORTED and has
        // already deleted the partial destination (a caller that deletes it finds nothing).
        // Whatever it reports after our cancel, the caller asked to stop. ERROR_REQUEST_ABORTED
        // without our cancel (another party aborted the copy) stays an error.
        if ctx.cancelled {
            debug_assert_eq!(e.raw_os_error(), Some(ERROR_REQUEST_ABORTED as i32), "{e}");
            return Ok(KernelCopy::Cancelled);
        }
        return Err(e);
    }

    clear_readonly(&to)?;
    // Opened as itself (FILE_FLAG_OPEN_REPARSE_POINT): if the copy was replaced by a link in
    // the meantime, that link is refused, never followed.
    let reopen = |access: u32| {
        OpenOptions::new()
            .access_mode(access)
            .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
            .open(&dst)
    };
    // WRITE_DAC for the source's ACL (`copy_acl`); where it is refused, the copy goes on without.
    let file = reopen(GENERIC_READ | GENERIC_WRITE | WRITE_DAC)
        .or_else(|_| reopen(GENERIC_READ | GENERIC_WRITE))?;
    if file.metadata()?.file_attributes() & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
        return Err(io::Error::from_raw_os_error(
            windows_sys::Win32::Foundation::ERROR_CANT_RESOLVE_FILENAME as i32,
        ));
    }
    let bytes = file.metadata()?.len();
    // The routine is not guaranteed a call that reports the final count (an empty file, an
    // implementation without progress callbacks): report it, and honour a cancel there too.
    if ctx.reported != Some(bytes) && (ctx.progress)(bytes).is_break() {
        return Ok(KernelCopy::Cancelled);
    }
    Ok(KernelCopy::Copied {
        file,
        method: CopyMethod::CopyFileEx,
        bytes,
    })
}

/// An in-kernel copy of one byte range: Windows has none between two open files
/// (FSCTL_DUPLICATE_EXTENTS_TO_FILE is ReFS block cloning only), so always `Ok(None)` (use
/// [`read_at`](crate::read_at) / [`write_all_at`](crate::write_all_at)).
pub fn copy_range(src: &File, dst: &File, offset: u64, len: u64) -> io::Result<Option<u64>> {
    let _ = (src, dst, offset, len);
    Ok(None)
}

/// Reserves real clusters for `len` bytes (`SetFileInformationByHandle(FileAllocationInfo)`) and
/// sets the file's length to exactly `len`. Never creates a sparse file: `Ok(false)` when the
/// filesystem cannot allocate ahead (the caller fails with `COPY_E_PREALLOC`).
pub fn preallocate(file: &File, len: u64) -> io::Result<bool> {
    let size = i64::try_from(len)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "length exceeds i64::MAX"))?;
    let info = FILE_ALLOCATION_INFO {
        AllocationSize: size,
    };
    // SAFETY: `info` is a FILE_ALLOCATION_INFO and the size passed is its size.
    let r = unsafe { set_info(file, FileAllocationInfo, &info) };
    match r {
        Ok(()) => {
            // Clusters are reserved; now move the end of file (SetFileInformationByHandle with
            // FileEndOfFileInfo). The file is never marked sparse, so the range is backed by
            // those clusters. NTFS keeps the valid-data length at the old end and returns zeros
            // past it; a write beyond it zero-fills the gap first, which costs time but never
            // space.
            file.set_len(len)?;
            Ok(true)
        }
        Err(e) if e.raw_os_error() == Some(ERROR_CALL_NOT_IMPLEMENTED as i32) => {
            // The Win32 layer itself lacks the information class (Wine 8 answers
            // ERROR_CALL_NOT_IMPLEMENTED; real Windows implements it on every filesystem it
            // ships). Moving the end of file is still a real allocation there: on NTFS, FAT and
            // exFAT, extending a file that is not marked sparse with SetEndOfFile allocates its
            // clusters (and fails with ERROR_DISK_FULL when they are not free); only a sparse
            // file gets a hole.
            let old_len = file.metadata()?.len();
            file.set_len(len)?;
            // That is the filesystem's promise, not ours, so check it: the allocation size is
            // what the volume really reserved (under Wine, the host's st_blocks; Linux's
            // ftruncate leaves a hole). Where it falls short, write the zeros ourselves: the
            // blocks are then truly allocated, and a full volume fails here, not mid-copy.
            if len > old_len && allocation_size(file)? < len {
                zero_fill(file, old_len, len)?;
            }
            Ok(true)
        }
        Err(e)
            if [ERROR_INVALID_FUNCTION, ERROR_NOT_SUPPORTED]
                .iter()
                .any(|&c| e.raw_os_error() == Some(c as i32)) =>
        {
            // The filesystem cannot allocate ahead (a third-party or network filesystem).
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// `SetFileInformationByHandle(file, class, info)`.
///
/// # Safety
/// `T` must be the structure that `class` documents.
pub(crate) unsafe fn set_info<T>(
    file: &File,
    class: FILE_INFO_BY_HANDLE_CLASS,
    info: &T,
) -> io::Result<()> {
    // SAFETY: valid handle; `info` points at a live `T` of the size passed, which the caller
    // guarantees is the structure `class` expects. The call only reads it.
    let ok = unsafe {
        SetFileInformationByHandle(
            handle(file),
            class,
            (info as *const T).cast::<c_void>(),
            size_of::<T>() as u32,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Bytes the volume has allocated to `file` (FILE_STANDARD_INFO.AllocationSize).
fn allocation_size(file: &File) -> io::Result<u64> {
    let mut info = FILE_STANDARD_INFO::default();
    // SAFETY: valid handle; `info` is a FILE_STANDARD_INFO, as FileStandardInfo requires, and
    // writable for the size passed.
    let ok = unsafe {
        GetFileInformationByHandleEx(
            handle(file),
            FileStandardInfo,
            (&raw mut info).cast::<c_void>(),
            size_of::<FILE_STANDARD_INFO>() as u32,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(u64::try_from(info.AllocationSize).unwrap_or(0))
}

/// Writes zeros over `[from, to)` of `file`.
fn zero_fill(file: &File, from: u64, to: u64) -> io::Result<()> {
    const STEP: u64 = 1 << 20;
    let zeros = vec![0u8; STEP.min(to.saturating_sub(from)) as usize];
    let mut off = from;
    while off < to {
        let n = STEP.min(to - off) as usize;
        crate::write_all_at(file, &zeros[..n], off)?;
        off += n as u64;
    }
    Ok(())
}

/// One positional read (`ReadFile` with an OVERLAPPED offset).
pub(crate) fn read_at_once(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    // ReadFile with an OVERLAPPED offset. On a synchronous handle it also moves the file pointer,
    // but all our I/O is positional, and the I/O manager serialises calls on one handle, so each
    // call reads at its own offset.
    file.seek_read(buf, offset)
}

/// One positional write (`WriteFile` with an OVERLAPPED offset).
pub(crate) fn write_at_once(file: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
    file.seek_write(buf, offset)
}

/// Makes the entries of a directory durable: nothing to do on Windows (see below), so a no-op.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    let _ = dir;
    // Nothing to do: NTFS (and ReFS) journal metadata, so a completed rename survives a crash
    // without a flush of the directory. FlushFileBuffers on a directory would also need a handle
    // opened with FILE_FLAG_BACKUP_SEMANTICS and write access, which ordinary users often lack.
    Ok(())
}

/// Evicts a file's cached pages: Windows has no such call, so [`ReadBack::Cache`]; a read from the
/// device goes through [`open_direct`] instead.
pub fn drop_cache(file: &File, len: u64) -> io::Result<ReadBack> {
    let _ = (file, len);
    // Windows has no call to evict one file's pages from the system cache. A read-back from the
    // device goes through a separate FILE_FLAG_NO_BUFFERING handle instead (`open_direct`, used
    // by the hash verify); a read through this handle, or a memory map, sees the cache, and is
    // honestly reported as such.
    Ok(ReadBack::Cache)
}

/// Bytes waiting to be written to disk: not known here (no filesystem-wide sync is batched on
/// this OS either).
pub fn dirty_bytes() -> Option<u64> {
    None
}

/// Bytes available to the current user on the volume that holds `path` (`GetDiskFreeSpaceExW`,
/// which honours quotas), asked of its nearest existing directory.
pub fn free_space(path: &Path) -> io::Result<u64> {
    // GetDiskFreeSpaceExW wants a directory: take the nearest existing one, walking up the
    // absolute path. No canonicalisation is needed, the call follows links and mount points.
    let abs = std::path::absolute(path)?;
    let mut dir: &Path = &abs;
    loop {
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => break,
            Ok(_) => {} // a file: its directory
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        dir = dir.parent().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "no existing directory above the path",
            )
        })?;
    }
    let mut w = to_wide_long(dir)?;
    w.pop(); // the NUL
    // A UNC name must end with a backslash (and any directory may).
    if w.last() != Some(&BACKSLASH) {
        w.push(BACKSLASH);
    }
    w.push(0);
    let mut avail = 0u64;
    // SAFETY: `w` is NUL-terminated; `avail` is a valid out-parameter and the other two are
    // optional (null).
    let ok = unsafe {
        GetDiskFreeSpaceExW(
            w.as_ptr(),
            &mut avail,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(avail)
}

/// (volume, file) identity of an open file: the volume serial number and the file index
/// (`GetFileInformationByHandle`).
pub fn file_identity(file: &File) -> io::Result<FileIdentity> {
    // SAFETY: BY_HANDLE_FILE_INFORMATION is plain data; all-zero is a valid value.
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: valid handle and out-parameter.
    if unsafe { GetFileInformationByHandle(handle(file), &mut info) } == 0 {
        return Err(io::Error::last_os_error());
    }
    // The 64-bit index is unique per volume on NTFS; ReFS has 128-bit ids whose low 64 bits are
    // reported here, which is unique in practice.
    Ok(FileIdentity {
        volume: u64::from(info.dwVolumeSerialNumber),
        file: (u64::from(info.nFileIndexHigh) << 32) | u64::from(info.nFileIndexLow),
    })
}

/// Applies `times` to an open file, the creation time included (`SetFileTime` through std, with
/// 100 ns resolution).
pub fn set_times(file: &File, times: &Times) -> io::Result<TimesApplied> {
    let mut ft = crate::common::std_file_times(times);
    if let Some(c) = times.created {
        ft = ft.set_created(c);
    }
    // SetFileTime with 100 ns resolution; the handle needs FILE_WRITE_ATTRIBUTES (write access).
    file.set_times(ft)?;
    Ok(TimesApplied { created: true })
}

/// The attributes [`copy_attributes`] carries over. READONLY is left to std's
/// `set_permissions`; the others (SYSTEM, OFFLINE, TEMPORARY …) describe how the source is
/// stored or used, not what the user marked.
const COPIED_ATTRIBUTES: u32 = FILE_ATTRIBUTE_HIDDEN
    | FILE_ATTRIBUTE_SYSTEM
    | FILE_ATTRIBUTE_ARCHIVE
    | FILE_ATTRIBUTE_NOT_CONTENT_INDEXED;

/// Copies the source's hidden, system, archive and not-content-indexed attributes onto `dst`
/// (open for writing) through `SetFileInformationByHandle(FileBasicInfo)`, leaving its times
/// alone. READONLY is a permission: std's `set_permissions` applies it.
pub fn copy_attributes(src_meta: &std::fs::Metadata, dst: &File) -> io::Result<()> {
    let want = src_meta.file_attributes() & COPIED_ATTRIBUTES;
    let have = dst.metadata()?.file_attributes();
    if have & COPIED_ATTRIBUTES == want {
        return Ok(());
    }
    let mut attrs = (have & SETTABLE_ATTRIBUTES & !COPIED_ATTRIBUTES) | want;
    if attrs == 0 {
        // Zero means "leave the attributes alone" to FileBasicInfo; NORMAL means "none".
        attrs = FILE_ATTRIBUTE_NORMAL;
    }
    // Times of zero are left unchanged, so the times applied before survive.
    let info = FILE_BASIC_INFO {
        FileAttributes: attrs,
        ..FILE_BASIC_INFO::default()
    };
    // SAFETY: `info` is a FILE_BASIC_INFO, the structure FileBasicInfo expects.
    unsafe { set_info(dst, FileBasicInfo, &info) }
}

/// A short, plain-words cause for an OS error whose code alone says little to a user (a sharing
/// violation, a lock violation, access denied), to put in an error message; `None` when
/// Windows' own text is as good.
pub fn describe_os_error(e: &io::Error) -> Option<&'static str> {
    let code = u32::try_from(e.raw_os_error()?).ok()?;
    match code {
        ERROR_SHARING_VIOLATION => Some("the file is open in another program (sharing violation)"),
        ERROR_LOCK_VIOLATION => {
            Some("part of the file is locked by another program (lock violation)")
        }
        // Also what replacing or deleting a file that is open elsewhere answers.
        ERROR_ACCESS_DENIED => {
            Some("access denied (read-only, protected, or in use by another program)")
        }
        _ => None,
    }
}

/// Whether another program has `path` open, so that deleting or replacing it may fail: an open
/// of our own that shares nothing
/// (share mode 0) fails with ERROR_SHARING_VIOLATION while any other handle reads, writes or
/// deletes it. DELETE access is what a delete needs anyway; where the ACL refuses it, read
/// access asks the same question. The link itself is checked, never its target
/// (FILE_FLAG_OPEN_REPARSE_POINT), and a folder can be opened (FILE_FLAG_BACKUP_SEMANTICS). The
/// handle is closed at once, so the answer is a snapshot: the delete still reports a file that
/// was opened after it. `Err` when the path cannot be opened for another reason.
pub fn in_use(path: &Path) -> io::Result<bool> {
    use windows_sys::Win32::Storage::FileSystem::DELETE;
    let open = |access: u32| {
        OpenOptions::new()
            .access_mode(access)
            .share_mode(0)
            .custom_flags(FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT)
            .open(path)
    };
    let result = match open(DELETE) {
        Err(e) if e.raw_os_error() == Some(ERROR_ACCESS_DENIED as i32) => open(GENERIC_READ),
        other => other,
    };
    match result {
        Ok(_) => Ok(false),
        Err(e) if e.raw_os_error() == Some(ERROR_SHARING_VIOLATION as i32) => Ok(true),
        Err(e) => Err(e),
    }
}

/// Applies `times` to a directory, through a handle opened with FILE_FLAG_BACKUP_SEMANTICS (what
/// a directory handle needs) and write access (what `SetFileTime` needs).
pub fn set_dir_times(dir: &Path, times: &Times) -> io::Result<TimesApplied> {
    let f = OpenOptions::new()
        .write(true)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS)
        .open(dir)?;
    set_times(&f, times)
}

/// Sets a symbolic link's own times: not done on Windows yet, so `Ok(false)`.
pub fn set_symlink_times(
    link: &Path,
    accessed: SystemTime,
    modified: SystemTime,
) -> io::Result<bool> {
    let _ = (link, accessed, modified);
    Ok(false)
}

/// Creates a symbolic link at `link` pointing to `target` (stored as given, so relative links
/// stay relative), of the kind `target_is_dir` says: Windows links are either file or directory
/// links. Creating one needs Developer Mode or the SeCreateSymbolicLink privilege.
pub fn create_symlink(target: &Path, link: &Path, target_is_dir: bool) -> io::Result<()> {
    if target_is_dir {
        std::os::windows::fs::symlink_dir(target, link)
    } else {
        std::os::windows::fs::symlink_file(target, link)
    }
}

/// Flushes a whole volume in one call: `FlushFileBuffers` on a volume handle needs
/// administrator rights, so `Ok(false)` and the caller fsyncs file by file.
pub fn sync_filesystem(path: &Path) -> io::Result<bool> {
    let _ = path;
    Ok(false)
}

/// Paces write-back during a copy: Windows has no call that starts write-back of a range
/// without waiting, so a data sync of the whole file (`offset` and `len` are ignored).
pub fn start_writeback(file: &File, offset: u64, len: u64) -> io::Result<()> {
    let _ = (offset, len);
    file.sync_data()
}

/// Waits for the write-back of a range: no range call here, so `Ok(false)` without waiting
/// (the caller reads the range after the final fsync instead).
pub fn wait_writeback(file: &File, offset: u64, len: u64) -> io::Result<bool> {
    let _ = (file, offset, len);
    Ok(false)
}

/// (volume, file) identity from metadata in hand: std's Windows metadata exposes no file index on
/// stable Rust, so `None` (use [`file_identity`]).
pub fn identity_from_metadata(m: &std::fs::Metadata) -> Option<FileIdentity> {
    let _ = m;
    None
}

/// (volume, file) identity of whatever `path` names now (following symlinks), through an open
/// handle. Used to notice a source that was replaced (renamed over) while it was being copied,
/// and to compare roots. The handle asks for attributes only, which never conflicts with another
/// program's share mode, and has FILE_FLAG_BACKUP_SEMANTICS, without which a folder cannot be
/// opened at all.
pub fn path_identity(path: &Path) -> io::Result<FileIdentity> {
    let f = OpenOptions::new()
        .access_mode(FILE_READ_ATTRIBUTES)
        .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS)
        .open(path)?;
    file_identity(&f)
}

/// A path as bytes for storage (the run journal), losslessly: its UTF-16 code units,
/// little-endian, so even an unpaired surrogate comes back as the same name.
pub fn path_to_bytes(p: &Path) -> Vec<u8> {
    p.as_os_str()
        .encode_wide()
        .flat_map(u16::to_le_bytes)
        .collect()
}

/// The inverse of [`path_to_bytes`].
pub fn path_from_bytes(b: &[u8]) -> PathBuf {
    let wide: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    PathBuf::from(OsString::from_wide(&wide))
}

/// The permission bits the scan records and compares: Windows has only "read-only", 1 when set
/// and 0 otherwise.
pub fn mode_bits(m: &std::fs::Metadata) -> u32 {
    u32::from(m.permissions().readonly())
}

/// Whether the process `pid` is running: it can be opened and has not exited.
pub fn process_alive(pid: u32) -> bool {
    use windows_sys::Win32::System::Threading::{
        GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
    };
    const STILL_ACTIVE: u32 = 259;
    // SAFETY: plain Win32 calls on a handle we own and close.
    unsafe {
        let h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
        if h.is_null() {
            // Access denied means it exists (another user's); anything else, that it is gone.
            return std::io::Error::last_os_error().raw_os_error() == Some(5);
        }
        let mut code = 0u32;
        let ok = GetExitCodeProcess(h, &mut code) != 0;
        windows_sys::Win32::Foundation::CloseHandle(h);
        !ok || code == STILL_ACTIVE
    }
}

/// The data extents of a file: not read on Windows yet (`FSCTL_QUERY_ALLOCATED_RANGES`), so the
/// whole file is data and its holes are copied as zeros (with the `sparse_source` notice).
pub fn data_extents(file: &File, len: u64) -> io::Result<Option<Vec<(u64, u64)>>> {
    let _ = (file, len);
    Ok(None)
}

/// Bytes a file takes on its disk: its length (allocated ranges are not read yet).
pub fn allocated_size(m: &std::fs::Metadata) -> u64 {
    m.len()
}

/// Whether this process runs elevated: keeping owners (security descriptors) on Windows is not
/// done yet, so the answer only decides the `auto` default, which stays off.
pub fn is_root() -> bool {
    false
}

/// Windows owners are security identifiers, not numeric ids: none here (security descriptors
/// are not copied yet, and the summary says so when asked).
pub fn owner_of(m: &std::fs::Metadata) -> Option<(u32, u32)> {
    let _ = m;
    None
}

/// How many names the item of `m` has: std reads the link count only from an open handle
/// (unstable), so a scan sees one and hard links are not kept on Windows yet.
pub fn link_count(m: &std::fs::Metadata) -> u64 {
    let _ = m;
    1
}

/// Numeric owners do not exist on Windows: unsupported.
pub fn set_owner(file: &File, uid: u32, gid: u32) -> io::Result<()> {
    let _ = (file, uid, gid);
    Err(io::ErrorKind::Unsupported.into())
}

/// Windows has no extended attributes in the POSIX sense (alternate data streams are not copied
/// yet): none.
pub fn xattrs(file: &File) -> io::Result<Vec<(std::ffi::OsString, Vec<u8>)>> {
    let _ = file;
    Ok(Vec::new())
}

/// The explicit entries of the source's discretionary ACL (who may do what), and whether it
/// inherits from its folder, onto `dst` (open with `WRITE_DAC`, as our temps are). A source
/// whose DACL is all inherited needs nothing: its copy inherits from its own new folder, as a
/// file created there does (robocopy `/SEC` does the same). Owner and SACL are not copied (they
/// need the restore and security privileges).
pub fn copy_acl(src: &File, dst: &File) -> io::Result<()> {
    use windows_sys::Win32::Foundation::{HLOCAL, LocalFree};
    use windows_sys::Win32::Security::Authorization::{
        GetSecurityInfo, SE_FILE_OBJECT, SetSecurityInfo,
    };
    use windows_sys::Win32::Security::{
        ACE_HEADER, ACL, DACL_SECURITY_INFORMATION, GetAce, GetSecurityDescriptorControl,
        INHERITED_ACE, PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR,
        SE_DACL_PROTECTED, UNPROTECTED_DACL_SECURITY_INFORMATION,
    };
    let mut dacl: *mut ACL = std::ptr::null_mut();
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: a valid handle; the out-pointers are valid; `sd` is freed below with LocalFree.
    let r = unsafe {
        GetSecurityInfo(
            src.as_raw_handle() as HANDLE,
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut dacl,
            std::ptr::null_mut(),
            &mut sd,
        )
    };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r as i32));
    }
    struct Freed(PSECURITY_DESCRIPTOR);
    impl Drop for Freed {
        fn drop(&mut self) {
            // SAFETY: allocated by GetSecurityInfo, freed once.
            unsafe { LocalFree(self.0 as HLOCAL) };
        }
    }
    let _sd = Freed(sd);
    let (mut control, mut revision) = (0u16, 0u32);
    // SAFETY: `sd` is the descriptor GetSecurityInfo returned.
    unsafe { GetSecurityDescriptorControl(sd, &mut control, &mut revision) };
    let protected = control & SE_DACL_PROTECTED != 0;
    if dacl.is_null() {
        // A NULL DACL (everyone may do everything) is rare and copied as what inheritance gives.
        return Ok(());
    }
    // SAFETY: `dacl` points into `sd`, alive until `_sd` drops.
    let count = unsafe { (*dacl).AceCount };
    let explicit = (0..u32::from(count)).any(|i| {
        let mut ace: *mut c_void = std::ptr::null_mut();
        // SAFETY: `i` < AceCount; GetAce returns a pointer into the ACL.
        let got = unsafe { GetAce(dacl, i, &mut ace) } != 0;
        // SAFETY: every ACE starts with an ACE_HEADER.
        got && !ace.is_null()
            && unsafe { (*ace.cast::<ACE_HEADER>()).AceFlags } & (INHERITED_ACE as u8) == 0
    });
    if !protected && !explicit {
        return Ok(());
    }
    let inherit = if protected {
        PROTECTED_DACL_SECURITY_INFORMATION
    } else {
        // Inherited entries of `dacl` are dropped; the new folder's are inherited instead.
        UNPROTECTED_DACL_SECURITY_INFORMATION
    };
    // SAFETY: a valid handle and an ACL alive until `_sd` drops.
    let r = unsafe {
        SetSecurityInfo(
            dst.as_raw_handle() as HANDLE,
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION | inherit,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            dacl,
            std::ptr::null(),
        )
    };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r as i32));
    }
    Ok(())
}

/// The alternate data streams of `src` (`file:name`) onto the file `name` in `dir` (ours, a
/// temp): Windows' counterpart of extended attributes. CopyFileExW copies them itself; the
/// chunked strategies need this. Returns how many were copied; none where the filesystem (or
/// Wine) has no streams.
pub fn copy_streams(src: &Path, dir: &Dir, name: &std::ffi::OsStr) -> io::Result<u64> {
    use std::os::windows::ffi::OsStringExt;
    use windows_sys::Win32::Foundation::{
        ERROR_HANDLE_EOF, ERROR_INVALID_PARAMETER, INVALID_HANDLE_VALUE,
    };
    use windows_sys::Win32::Storage::FileSystem::{
        FindClose, FindFirstStreamW, FindNextStreamW, FindStreamInfoStandard,
        WIN32_FIND_STREAM_DATA,
    };
    let from = to_wide_long(src)?;
    let mut data = WIN32_FIND_STREAM_DATA::default();
    // SAFETY: NUL-terminated path; `data` is the structure FindStreamInfoStandard fills.
    let h = unsafe {
        FindFirstStreamW(
            from.as_ptr(),
            FindStreamInfoStandard,
            (&raw mut data).cast::<c_void>(),
            0,
        )
    };
    if h == INVALID_HANDLE_VALUE {
        let e = io::Error::last_os_error();
        let code = e.raw_os_error().and_then(|c| u32::try_from(c).ok());
        return match code {
            Some(
                ERROR_HANDLE_EOF
                | ERROR_CALL_NOT_IMPLEMENTED
                | ERROR_INVALID_FUNCTION
                | ERROR_NOT_SUPPORTED
                | ERROR_INVALID_PARAMETER,
            ) => Ok(0),
            _ => Err(e),
        };
    }
    struct Found(HANDLE);
    impl Drop for Found {
        fn drop(&mut self) {
            // SAFETY: a find handle of FindFirstStreamW, closed once.
            unsafe { FindClose(self.0) };
        }
    }
    let found = Found(h);
    // Names come as `:name:$DATA`; the unnamed `::$DATA` is the file's content.
    let mut names = Vec::new();
    loop {
        let len = data.cStreamName.iter().position(|&c| c == 0).unwrap_or(0);
        let full = &data.cStreamName[..len];
        let suffix = wide(":$DATA");
        if full.len() > suffix.len() + 1 && full.ends_with(&suffix) {
            names.push(OsString::from_wide(&full[..full.len() - suffix.len()]));
        }
        // SAFETY: a live find handle and the same structure.
        if unsafe { FindNextStreamW(found.0, (&raw mut data).cast::<c_void>()) } == 0 {
            break;
        }
    }
    drop(found);
    let target = dir.entry_path(name)?;
    for stream in &names {
        let (mut s, mut t) = (src.as_os_str().to_owned(), target.as_os_str().to_owned());
        s.push(stream);
        t.push(stream);
        let mut from = File::open(&s)?;
        let mut to = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&t)?;
        io::copy(&mut from, &mut to)?;
    }
    Ok(names.len() as u64)
}

/// See [`xattrs`]: no.
pub fn xattrs_supported(file: &File) -> bool {
    let _ = file;
    false
}

/// See [`xattrs`]: none.
pub fn xattrs_at(path: &Path) -> io::Result<Vec<(std::ffi::OsString, Vec<u8>)>> {
    let _ = path;
    Ok(Vec::new())
}

/// See [`xattrs`]: unsupported.
pub fn set_xattr(file: &File, name: &std::ffi::OsStr, value: &[u8]) -> io::Result<()> {
    let _ = (file, name, value);
    Err(io::ErrorKind::Unsupported.into())
}

/// See [`xattrs`]: unsupported.
pub fn remove_xattr(file: &File, name: &std::ffi::OsStr) -> io::Result<()> {
    let _ = (file, name);
    Err(io::ErrorKind::Unsupported.into())
}

pub use crate::linux_only::{
    FILE_FLAGS, LOCKING_FLAGS, file_flags, read_files_direct, set_file_flags,
};

/// ACLs: the explicit entries of a file's DACL ([`copy_acl`]); extended attributes: alternate
/// data streams ([`copy_streams`]). Neither owners nor holes are carried over yet.
pub const KEEPS: crate::Keeps = crate::Keeps {
    owner: false,
    xattrs: true,
    acls: true,
    holes: false,
    flags: false,
};

/// The bits [`mode_bits`] reports and [`set_file_mode`] sets: the read-only attribute only.
pub const MODE_BITS: u32 = 1;

/// The read-only attribute (bit 0 of `mode`) onto an open file.
pub fn set_file_mode(file: &File, mode: u32) -> io::Result<()> {
    let mut p = file.metadata()?.permissions();
    p.set_readonly(mode & 1 != 0);
    file.set_permissions(p)
}

/// (volume, file) identity of what `path` names itself — a link's or junction's own
/// (`FILE_FLAG_OPEN_REPARSE_POINT`), not its target's. Used to check that a path still leads to
/// an item found beneath a root before the item is handed to a path-only API (the trash).
pub fn path_identity_nofollow(path: &Path) -> io::Result<FileIdentity> {
    let f = OpenOptions::new()
        .access_mode(FILE_READ_ATTRIBUTES)
        .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT)
        .open(path)?;
    file_identity(&f)
}

/// What a Win32 error says about a name the filesystem will not take: `ERROR_INVALID_NAME`
/// (`:` `?` `*` … in a name), `ERROR_FILENAME_EXCED_RANGE`, and `ERROR_NOT_SUPPORTED` /
/// `ERROR_INVALID_FUNCTION` (a redirector or filesystem without the operation).
pub fn name_problem(e: &io::Error) -> Option<crate::NameProblem> {
    const ERROR_INVALID_FUNCTION: i32 = 1;
    const ERROR_NOT_SUPPORTED: i32 = 50;
    const ERROR_INVALID_NAME: i32 = 123;
    const ERROR_BAD_PATHNAME: i32 = 161;
    const ERROR_FILENAME_EXCED_RANGE: i32 = 206;
    match e.raw_os_error()? {
        ERROR_INVALID_NAME | ERROR_BAD_PATHNAME => Some(crate::NameProblem::Refused),
        ERROR_FILENAME_EXCED_RANGE => Some(crate::NameProblem::TooLong),
        ERROR_NOT_SUPPORTED | ERROR_INVALID_FUNCTION => Some(crate::NameProblem::Unsupported),
        _ => None,
    }
}

/// Whether a file has holes: not checked on Windows yet, so false.
pub fn is_sparse(m: &std::fs::Metadata) -> bool {
    let _ = m;
    false
}

/// Advice for a memory map read once from start to end: memmap2 has no advice call on Windows,
/// so nothing to do.
pub(crate) fn advise_sequential(map: &memmap2::Mmap) {
    let _ = map;
}

#[cfg(test)]
mod tests {
    use super::*;
    use windows_sys::Win32::System::WindowsProgramming::{DRIVE_NO_ROOT_DIR, DRIVE_UNKNOWN};

    /// Lossy display of a UTF-16 path up to its NUL.
    fn s(w: &[u16]) -> String {
        OsString::from_wide(until_nul(w))
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn drive_types_map_to_kinds() {
        assert_eq!(classify_drive_type(DRIVE_FIXED), DriveKind::LocalFixed);
        assert_eq!(classify_drive_type(DRIVE_REMOVABLE), DriveKind::Removable);
        assert_eq!(classify_drive_type(DRIVE_REMOTE), DriveKind::NetworkUnc);
        assert_eq!(classify_drive_type(DRIVE_CDROM), DriveKind::Cdrom);
        assert_eq!(classify_drive_type(DRIVE_RAMDISK), DriveKind::Ramdisk);
        assert_eq!(classify_drive_type(DRIVE_UNKNOWN), DriveKind::Unknown);
        assert_eq!(classify_drive_type(DRIVE_NO_ROOT_DIR), DriveKind::Unknown);
        assert_eq!(classify_drive_type(99), DriveKind::Unknown);
    }

    #[test]
    fn long_form_adds_the_right_prefix() {
        let lf = |p: &str| s(&long_form(&wide(p)));
        assert_eq!(lf(r"C:\dir\f.txt"), r"\\?\C:\dir\f.txt");
        assert_eq!(lf("C:/dir/f.txt"), r"\\?\C:\dir\f.txt");
        assert_eq!(lf(r"\\server\share\f"), r"\\?\UNC\server\share\f");
        assert_eq!(lf("//server/share/f"), r"\\?\UNC\server\share\f");
        assert_eq!(lf(r"\\?\C:\x"), r"\\?\C:\x");
        assert_eq!(lf(r"\\?\UNC\srv\sh\x"), r"\\?\UNC\srv\sh\x");
        assert_eq!(lf(r"\\.\PhysicalDrive0"), r"\\.\PhysicalDrive0");
    }

    #[test]
    fn strip_verbatim_gives_plain_roots() {
        let sv = |p: &str| s(&strip_verbatim(&wide(p)));
        assert_eq!(sv(r"\\?\C:\"), r"C:\");
        assert_eq!(sv(r"\\?\UNC\srv\share\"), r"\\srv\share\");
        assert_eq!(sv(r"\\?\unc\srv\share\"), r"\\srv\share\");
        assert_eq!(sv(r"C:\"), r"C:\");
        // A volume GUID path has no plain form: left as it is.
        assert_eq!(sv(r"\\?\Volume{1234}\"), r"\\?\Volume{1234}\");
    }

    #[test]
    fn to_wide_long_is_absolute_prefixed_and_terminated() {
        let w = to_wide_long(Path::new(r"rel\x.txt")).unwrap();
        assert_eq!(w.last(), Some(&0));
        let text = s(&w);
        assert!(text.starts_with(r"\\?\"), "{text}");
        assert!(text.ends_with(r"\rel\x.txt"), "{text}");
        assert!(Path::new(&text[4..]).is_absolute(), "{text}");

        let unc = s(&to_wide_long(Path::new(r"\\server\share\a\..\b")).unwrap());
        assert_eq!(unc, r"\\?\UNC\server\share\b");

        let long = format!(r"C:\{}\f", "d".repeat(300));
        let w = to_wide_long(Path::new(&long)).unwrap();
        assert_eq!(s(&w), format!(r"\\?\{long}"));

        assert!(to_wide_long(Path::new("a\0b")).is_err());
    }

    #[test]
    fn long_paths_work_end_to_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut deep = dir.path().to_path_buf();
        for i in 0..4 {
            deep.push(format!("{i}{}", "x".repeat(90)));
        }
        assert!(deep.as_os_str().len() > 300);
        std::fs::create_dir_all(&deep).unwrap();

        let src_path = deep.join("src.bin");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&src_path, &data).unwrap();
        let src = File::open(&src_path).unwrap();
        let dst = deep.join("dst.bin");
        let dir = Dir::open(&deep).unwrap();
        let name = std::ffi::OsStr::new("dst.bin");
        let mut cb = |_n: u64| ControlFlow::Continue(());
        match kernel_copy(
            &src,
            &src_path,
            &dir,
            name,
            data.len() as u64,
            1 << 20,
            true,
            &mut cb,
        )
        .unwrap()
        {
            KernelCopy::Copied { bytes, method, .. } => {
                assert_eq!(bytes, data.len() as u64);
                assert_eq!(method, CopyMethod::CopyFileEx);
            }
            KernelCopy::Cancelled => panic!("not cancelled"),
        }
        assert_eq!(std::fs::read(&dst).unwrap(), data);

        assert!(free_space(&deep.join("not/yet")).unwrap() > 0);
        assert!(free_space(&dst).unwrap() > 0);
    }

    /// drive_info resolves through std's canonicalize. Left out under Wine by name
    /// (scripts/test-windows.sh): Wine 8's GetFinalPathNameByHandleW cannot return paths over
    /// MAX_PATH (ERROR_MORE_DATA); real Windows can.
    #[test]
    fn drive_info_resolves_a_path_longer_than_max_path() {
        let dir = tempfile::tempdir().unwrap();
        let mut deep = dir.path().to_path_buf();
        for i in 0..12 {
            deep.push(format!("a-rather-long-folder-name-number-{i:02}"));
        }
        std::fs::create_dir_all(&deep).unwrap();
        let canonical = deep.canonicalize().unwrap();
        let info = drive_info(&deep.join("not/yet")).unwrap();
        assert_eq!(info.resolved, canonical);
        assert!(!info.is_unc);
    }

    /// Left out under Wine by name (scripts/test-windows.sh): Wine 8's CopyFileExW never calls
    /// the progress routine; kernel_copy still reports the final count after the copy, which
    /// the shared test checks.
    #[test]
    fn copy_file_ex_calls_the_progress_routine() {
        let dir = tempfile::tempdir().unwrap();
        let src_path = dir.path().join("src");
        let data = vec![7u8; 3 << 20];
        std::fs::write(&src_path, &data).unwrap();
        let src = File::open(&src_path).unwrap();
        let mut calls = Vec::new();
        let mut cb = |n: u64| {
            calls.push(n);
            ControlFlow::Continue(())
        };
        let out = kernel_copy(
            &src,
            &src_path,
            &Dir::open(dir.path()).unwrap(),
            std::ffi::OsStr::new("dst"),
            3 << 20,
            1 << 20,
            true,
            &mut cb,
        );
        assert!(matches!(out.unwrap(), KernelCopy::Copied { .. }));
        // At least the stream switch (0) and the end, in order, ending at the full length.
        assert!(calls.len() >= 2, "{calls:?}");
        assert!(calls.windows(2).all(|w| w[0] <= w[1]), "{calls:?}");
        assert_eq!(*calls.last().unwrap(), 3 << 20);
    }

    #[test]
    fn an_unreachable_share_is_network_without_a_borrowed_fs_type() {
        // Windows may answer "network path not found" as an error instead; never a local kind.
        if let Ok(info) = drive_info(Path::new(r"\\nonexistent-host.invalid\share\f")) {
            assert_eq!(info.kind, DriveKind::NetworkUnc);
            assert!(info.is_unc);
            assert_eq!(info.fs_type, "");
        }
    }

    #[test]
    fn preallocation_is_real_never_a_hole() {
        let dir = tempfile::tempdir().unwrap();
        let f = crate::create_temp(&dir.path().join("p")).unwrap();
        let len = 3 * 1024 * 1024 + 5;
        assert!(preallocate(&f, len).unwrap());
        assert_eq!(f.metadata().unwrap().len(), len);
        // Whether the volume took FileAllocationInfo or the SetEndOfFile fallback ran (Wine),
        // the blocks are allocated: no sparse file.
        assert!(allocation_size(&f).unwrap() >= len);
        let mut buf = vec![1u8; 4096];
        assert_eq!(crate::read_at(&f, &mut buf, len - 4096).unwrap(), 4096);
        assert!(buf.iter().all(|&b| b == 0));
    }

    #[test]
    fn copy_attributes_copies_hidden_and_archive_and_leaves_times_alone() {
        use std::os::windows::fs::{MetadataExt, OpenOptionsExt};
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        drop(
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .attributes(FILE_ATTRIBUTE_HIDDEN)
                .open(&src)
                .unwrap(),
        );
        let src_meta = std::fs::metadata(&src).unwrap();
        assert_ne!(src_meta.file_attributes() & FILE_ATTRIBUTE_HIDDEN, 0);

        let dst = dir.path().join("dst");
        let f = crate::create_temp(&dst).unwrap();
        let when =
            std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_500_000_000);
        f.set_modified(when).unwrap();
        copy_attributes(&src_meta, &f).unwrap();
        let m = f.metadata().unwrap();
        assert_eq!(
            m.file_attributes() & COPIED_ATTRIBUTES,
            src_meta.file_attributes() & COPIED_ATTRIBUTES
        );
        assert_eq!(m.modified().unwrap(), when);

        // And back: a plain source clears HIDDEN on the copy.
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"").unwrap();
        let plain_meta = std::fs::metadata(&plain).unwrap();
        copy_attributes(&plain_meta, &f).unwrap();
        assert_eq!(
            f.metadata().unwrap().file_attributes() & FILE_ATTRIBUTE_HIDDEN,
            0
        );
    }

    #[test]
    fn os_errors_that_name_another_program_or_read_only_are_described() {
        let d = |code: u32| describe_os_error(&io::Error::from_raw_os_error(code as i32));
        assert!(
            d(ERROR_SHARING_VIOLATION)
                .unwrap()
                .contains("open in another program")
        );
        assert!(d(ERROR_LOCK_VIOLATION).unwrap().contains("locked"));
        assert!(d(ERROR_ACCESS_DENIED).unwrap().contains("read-only"));
        assert_eq!(d(ERROR_NOT_SUPPORTED), None);
        assert_eq!(describe_os_error(&io::Error::other("no code")), None);
    }

    #[test]
    fn open_direct_gives_an_unbuffered_handle() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d");
        let data: Vec<u8> = (0..3 * crate::DIRECT_ALIGN + 100)
            .map(|i| (i % 249) as u8)
            .collect();
        std::fs::write(&p, &data).unwrap();
        let f = crate::open_direct(&p)
            .unwrap()
            .expect("Windows reads unbuffered");
        let mut buf = crate::AlignedBuf::new(4 * crate::DIRECT_ALIGN);
        assert_eq!(crate::read_direct_at(&f, &mut buf, 0).unwrap(), data.len());
        assert_eq!(&buf[..data.len()], &data[..]);
    }

    /// Only a handle that really bypasses the cache refuses a length that is not a multiple of
    /// the sector size. Left out under Wine by name (scripts/test-windows.sh): Wine reads
    /// through the host's page cache whatever the flag says.
    #[test]
    fn an_unaligned_unbuffered_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("u");
        std::fs::write(&p, vec![1u8; 3 * crate::DIRECT_ALIGN]).unwrap();
        let f = crate::open_direct(&p)
            .unwrap()
            .expect("Windows reads unbuffered");
        let mut buf = crate::AlignedBuf::new(crate::DIRECT_ALIGN);
        match crate::read_direct_at(&f, &mut buf[..100], 0) {
            Ok(n) => panic!("an unaligned unbuffered read of 100 bytes returned {n}"),
            Err(e) => assert_eq!(e.raw_os_error(), Some(87), "ERROR_INVALID_PARAMETER: {e}"),
        }
    }

    #[test]
    fn a_read_only_temp_can_be_removed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ro");
        std::fs::write(&p, b"x").unwrap();
        let mut perm = std::fs::metadata(&p).unwrap().permissions();
        perm.set_readonly(true);
        std::fs::set_permissions(&p, perm).unwrap();
        crate::remove_temp(&p).unwrap();
        assert!(!p.exists());
        assert_eq!(
            crate::remove_temp(&p).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn reading_back_leaves_the_access_time_alone() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t");
        std::fs::write(&p, vec![3u8; 3 * crate::DIRECT_ALIGN]).unwrap();
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
        let f = OpenOptions::new().write(true).open(&p).unwrap();
        f.set_times(
            std::fs::FileTimes::new()
                .set_accessed(old)
                .set_modified(old),
        )
        .unwrap();
        drop(f);
        let mut buf = crate::AlignedBuf::new(4 * crate::DIRECT_ALIGN);
        let f = crate::open_readback(&p).unwrap();
        crate::read_at(&f, &mut buf, 0).unwrap();
        drop(f);
        let f = crate::open_direct(&p).unwrap().unwrap();
        crate::read_direct_at(&f, &mut buf, 0).unwrap();
        drop(f);
        let f = crate::open_source(&p).unwrap();
        crate::read_at(&f, &mut buf, 0).unwrap();
        drop(f);
        // Left out under Wine by name (scripts/test-windows.sh): Wine accepts the pinned access
        // time but reads go to the host's kernel, which updates atime by its own rules.
        let accessed = std::fs::metadata(&p).unwrap().accessed().unwrap();
        assert_eq!(accessed, old);
    }

    #[test]
    fn temp_dir_volume_is_classified() {
        let dir = tempfile::tempdir().unwrap();
        let info = drive_info(dir.path()).unwrap();
        assert_eq!(info.resolved, dir.path().canonicalize().unwrap());
        assert_ne!(info.kind, DriveKind::NetworkUnc, "{info:?}");
    }

    #[test]
    fn a_file_held_open_without_sharing_is_in_use() {
        use std::os::windows::fs::OpenOptionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("held.txt");
        std::fs::write(&p, "x").unwrap();
        assert!(!in_use(&p).unwrap());
        let held = OpenOptions::new()
            .read(true)
            .share_mode(0)
            .open(&p)
            .unwrap();
        assert!(in_use(&p).unwrap());
        // A folder is opened too (backup semantics), and nobody holds this one.
        assert!(!in_use(dir.path()).unwrap());
        drop(held);
        assert!(!in_use(&p).unwrap());
        // A reader that shares everything still has it open.
        let shared = File::open(&p).unwrap();
        assert!(in_use(&p).unwrap());
        drop(shared);
        assert!(in_use(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn mode_bits_are_the_read_only_flag_and_nothing_is_sparse() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m");
        std::fs::write(&p, b"x").unwrap();
        let m = std::fs::metadata(&p).unwrap();
        assert_eq!((mode_bits(&m), is_sparse(&m)), (0, false));
        let mut perm = m.permissions();
        perm.set_readonly(true);
        std::fs::set_permissions(&p, perm).unwrap();
        assert_eq!(mode_bits(&std::fs::metadata(&p).unwrap()), 1);
    }

    #[test]
    fn a_name_with_an_unpaired_surrogate_round_trips_through_bytes() {
        let name = OsString::from_wide(&[0x61, 0xD800, 0x62]);
        let p = Path::new(&name);
        assert_eq!(path_from_bytes(&path_to_bytes(p)), p);
    }
}
