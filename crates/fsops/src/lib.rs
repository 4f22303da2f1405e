//! OS primitives for FolderCompareSync — the one crate with `unsafe` and `cfg(target_os)`.
//!
//! Every backend (`linux`, `windows`, `macos`, with `unix` helpers shared by the Unix ones and
//! `fallback` for anything else) exports the same list of functions with identical signatures;
//! this file picks one and re-exports it. A backend answers "not supported here" as a value
//! (`Ok(false)`, `None`, [`ReadBack::Cache`]) so the engine can choose a fallback, and reserves
//! `Err` for real failures.
//!
//! The function list:
//! * [`drive_info`] — what kind of volume a path lives on (LOCAL_FIXED, NETWORK_UNC, …).
//! * [`create_temp`] — a new, private (0600) file that must not exist yet.
//! * [`kernel_copy`] — the OS's fastest whole-file copy (FICLONE / `copy_file_range` / `CopyFileExW`
//!   / `fclonefileat`), with progress and cancel between bounded chunks.
//! * [`copy_range`] — an in-kernel copy of one byte range between two open files, when the OS can.
//! * [`preallocate`] — reserve real blocks for the whole length (never sparse).
//! * [`read_at`] / [`write_all_at`] — positional I/O that does not move a shared cursor.
//! * [`sync_dir`] — make a rename in a directory durable.
//! * [`drop_cache`] — evict a file's pages so the next read comes from the medium.
//! * [`free_space`] — bytes available to this user on the volume holding a path.
//! * [`file_identity`] — (volume, file) identity of an open file.
//! * [`set_times`] — access, modified and (where the OS can) creation time.
//! * [`copy_attributes`] — the attributes a user sets that permissions do not carry (Windows:
//!   hidden, archive).
//! * [`MappedWindow`] — a read-only memory map of one window of a file.
//! * [`in_use`] — whether another program holds a file open (Windows sharing), before a delete.
//! * [`path_to_bytes`] / [`path_from_bytes`] — a path stored losslessly (the run journal).

use std::fs::File;
use std::io;
use std::ops::{ControlFlow, Deref};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

#[cfg(unix)]
mod unix;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as backend;

#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
use macos as backend;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as backend;

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
mod fallback;
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
use fallback as backend;

/// The kind of volume a path lives on, as the seed defines them (seed 000 A.9).
///
/// The strategy selector only cares whether both ends are local; the finer kinds are reported in
/// the `Decision:` line so a user can see why a strategy was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DriveKind {
    /// A fixed local disk (ext4, xfs, btrfs, NTFS, APFS … on a non-removable device).
    LocalFixed,
    /// A removable device (USB stick, SD card): treated as unknown-speed, copied STAGED.
    Removable,
    /// A network share (NFS, SMB/CIFS, sshfs, 9p, Ceph, a UNC path or a mapped network drive).
    NetworkUnc,
    /// An optical disc (iso9660, udf).
    Cdrom,
    /// A RAM-backed filesystem (tmpfs, ramfs, a RAM disk). Local, but fsync and read-back from the
    /// medium are meaningless there.
    Ramdisk,
    /// Anything we cannot classify. Copied STAGED, the safe default.
    Unknown,
}

impl DriveKind {
    /// The seed's spelling, used in `Decision:` lines and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            DriveKind::LocalFixed => "LOCAL_FIXED",
            DriveKind::Removable => "REMOVABLE",
            DriveKind::NetworkUnc => "NETWORK_UNC",
            DriveKind::Cdrom => "CDROM",
            DriveKind::Ramdisk => "RAMDISK",
            DriveKind::Unknown => "UNKNOWN",
        }
    }

    /// Whether the strategy selector may treat this end as local (seed A.2 rules 2 and 3).
    /// A RAM disk is local: it is on this machine and as fast as memory.
    pub fn is_local(self) -> bool {
        matches!(self, DriveKind::LocalFixed | DriveKind::Ramdisk)
    }
}

impl std::fmt::Display for DriveKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What [`drive_info`] learned about the volume of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriveInfo {
    pub kind: DriveKind,
    /// The filesystem type as the OS names it (`ext4`, `fuse.sshfs`, `NTFS`, …), or empty.
    pub fs_type: String,
    /// The path that was actually judged: symlinks resolved, and for a path that does not exist
    /// yet, its nearest existing ancestor.
    pub resolved: PathBuf,
    /// Whether the path is a UNC path (`\\server\share`, `\\?\UNC\…`). Always false off Windows.
    pub is_unc: bool,
}

/// Which OS mechanism actually copied the bytes, reported in the `Perf:` line as `method=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyMethod {
    /// A reflink clone: the destination shares the source's extents (btrfs, xfs, APFS).
    Clone,
    /// Linux `copy_file_range`: the kernel moves the data without a round trip through user space.
    CopyFileRange,
    /// Windows `CopyFileExW`.
    CopyFileEx,
    /// macOS `fcopyfile`.
    Fcopyfile,
    /// Plain buffered read + write (the fallback, and what STAGED uses on purpose).
    ReadWrite,
}

impl CopyMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            CopyMethod::Clone => "clone",
            CopyMethod::CopyFileRange => "copy_file_range",
            CopyMethod::CopyFileEx => "copy_file_ex",
            CopyMethod::Fcopyfile => "fcopyfile",
            CopyMethod::ReadWrite => "read_write",
        }
    }
}

/// The result of [`kernel_copy`].
#[derive(Debug)]
pub enum KernelCopy {
    /// The whole source was copied into a newly created destination, returned open for writing
    /// (so the caller can fsync it and set its times).
    Copied {
        file: File,
        method: CopyMethod,
        bytes: u64,
    },
    /// The progress callback asked to stop. The partial destination may still exist (Windows'
    /// `CopyFileExW` deletes it itself): the caller deletes it and ignores `NotFound`.
    Cancelled,
}

/// A progress callback: receives the bytes copied so far and says whether to go on.
pub type Progress<'a> = &'a mut dyn FnMut(u64) -> ControlFlow<()>;

/// How a read-back can bypass the page cache for one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadBack {
    /// The cached pages were dropped; the next read comes from the medium.
    Device,
    /// The OS or filesystem cannot drop them (tmpfs, Windows without an aligned unbuffered
    /// handle): the read-back sees the page cache.
    Cache,
}

/// (volume, file) identity of an open file: equal identities mean the same file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileIdentity {
    pub volume: u64,
    pub file: u64,
}

/// Times to apply to a file. `None` leaves a time as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct Times {
    pub accessed: Option<SystemTime>,
    pub modified: Option<SystemTime>,
    pub created: Option<SystemTime>,
}

/// Which of the requested times were applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimesApplied {
    /// False when a creation time was requested but this OS cannot set one (Linux): reported to
    /// the user, never faked.
    pub created: bool,
}

/// Where a path lives: its volume's kind and filesystem type. A symlinked path is judged by its
/// target (seed A.9); a path that does not exist yet by its nearest existing ancestor.
pub fn drive_info(path: &Path) -> io::Result<DriveInfo> {
    backend::drive_info(path)
}

/// Creates `path`, which must not exist, readable and writable by its owner only, open for
/// reading and writing.
pub fn create_temp(path: &Path) -> io::Result<File> {
    backend::create_temp(path)
}

/// Copies all of `src` (open, `len` bytes) into a new file at `dst` (which must not exist) with the
/// OS's fastest mechanism, calling `progress` at least every `chunk` bytes where the OS lets us
/// choose (Linux); `CopyFileExW` reports in its own steps and `fcopyfile` only at the end. On Linux: FICLONE when
/// the filesystem can share extents, else `copy_file_range` in chunks of at most `chunk`, else
/// read/write (on EXDEV, EOPNOTSUPP, or a call that makes no progress). On Windows: `CopyFileExW`
/// with a progress routine. On macOS: `fclonefileat`, else `fcopyfile`.
pub fn kernel_copy(
    src: &File,
    src_path: &Path,
    dst: &Path,
    len: u64,
    chunk: u64,
    progress: Progress<'_>,
) -> io::Result<KernelCopy> {
    backend::kernel_copy(src, src_path, dst, len, chunk, progress)
}

/// Copies `len` bytes at `offset` from `src` to the same offset in `dst` inside the kernel.
/// `Ok(None)` means the OS cannot do it for these files: use [`read_at`] / [`write_all_at`].
/// `Ok(Some(n))` with `n < len` means the source ended early.
pub fn copy_range(src: &File, dst: &File, offset: u64, len: u64) -> io::Result<Option<u64>> {
    backend::copy_range(src, dst, offset, len)
}

/// Reserves real blocks for `len` bytes and sets the file's length to exactly `len`. Never
/// creates a sparse file: `Ok(false)` when the filesystem cannot allocate (the caller fails with
/// `COPY_E_PREALLOC` rather than writing into a hole that may later find the disk full).
pub fn preallocate(file: &File, len: u64) -> io::Result<bool> {
    backend::preallocate(file, len)
}

/// Reads into `buf` at `offset`, retrying on interruption, until `buf` is full or the file ends.
/// Returns the number of bytes read (short only at end of file).
pub fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match backend::read_at_once(file, &mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// [`read_at`] for a handle from [`open_direct`]: `buf` (an [`AlignedBuf`] slice whose length is
/// a multiple of [`DIRECT_ALIGN`]) is filled from `offset` (a multiple too) until it is full or
/// the file ends. Unlike [`read_at`], it never continues at the unaligned offset a short read at
/// the end of the file leaves: Windows fails such a read on an unbuffered handle with
/// ERROR_INVALID_PARAMETER instead of returning 0.
pub fn read_direct_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    read_direct_with(buf, offset, |b, off| backend::read_at_once(file, b, off))
}

fn read_direct_with(
    buf: &mut [u8],
    offset: u64,
    mut read_once: impl FnMut(&mut [u8], u64) -> io::Result<usize>,
) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match read_once(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => {
                done += n;
                // A read that ends off a block boundary stopped at the end of the file.
                if !done.is_multiple_of(DIRECT_ALIGN) {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Writes all of `buf` at `offset`, retrying on short writes and interruption.
pub fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        match backend::write_at_once(file, &buf[done..], offset + done as u64) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "write returned 0")),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The read/write copy every backend falls back to: from `off` until `len` or the source's end,
/// through a buffer of at most `step` bytes, calling `progress` after each write. `None` when
/// cancelled; a short count when the source ended early (the caller checks it).
#[allow(dead_code)] // every backend uses it, but not on every target
pub(crate) fn copy_read_write(
    src: &File,
    dst: &File,
    mut off: u64,
    len: u64,
    step: usize,
    progress: Progress<'_>,
) -> io::Result<Option<u64>> {
    let mut buf = vec![0u8; step.max(1).min(len.saturating_sub(off).max(1) as usize)];
    while off < len {
        let want = ((len - off) as usize).min(buf.len());
        let n = read_at(src, &mut buf[..want], off)?;
        if n == 0 {
            break;
        }
        write_all_at(dst, &buf[..n], off)?;
        off += n as u64;
        if progress(off).is_break() {
            return Ok(None);
        }
    }
    Ok(Some(off))
}

/// Makes the entries of directory `dir` durable (fsync on the directory). A no-op where the OS
/// has no such call (Windows: NTFS journals renames itself).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    backend::sync_dir(dir)
}

/// Evicts `file`'s cached pages (after it has been fsynced) so the next read comes from the
/// medium. Returns [`ReadBack::Cache`] when the OS or filesystem cannot do that.
pub fn drop_cache(file: &File) -> io::Result<ReadBack> {
    backend::drop_cache(file)
}

/// Bytes available to the current user on the volume that holds `path` (an existing path).
pub fn free_space(path: &Path) -> io::Result<u64> {
    backend::free_space(path)
}

/// (volume, file) identity of an open file.
pub fn file_identity(file: &File) -> io::Result<FileIdentity> {
    backend::file_identity(file)
}

/// Applies `times` to an open file. Access and modified times go through std's `File::set_times`
/// (nanoseconds where the filesystem stores them); creation time through `FileTimesExt::set_created`
/// on Windows and macOS. On Linux a requested creation time is reported as not applied.
pub fn set_times(file: &File, times: &Times) -> io::Result<TimesApplied> {
    backend::set_times(file, times)
}

/// Copies the source's user-visible attributes that permissions do not carry onto `dst` (open
/// for writing), leaving its times alone. On Windows: FILE_ATTRIBUTE_HIDDEN and
/// FILE_ATTRIBUTE_ARCHIVE, through `SetFileInformationByHandle(FileBasicInfo)` (READONLY is a
/// permission: std's `set_permissions` applies it). Elsewhere there is nothing to copy: a no-op.
pub fn copy_attributes(src_meta: &std::fs::Metadata, dst: &File) -> io::Result<()> {
    backend::copy_attributes(src_meta, dst)
}

/// A short, plain-words cause for an OS error whose code alone says little to a user (Windows:
/// a sharing violation, a lock violation, access denied), to put in an error message. `None`
/// when the OS's own text is as good (and always off Windows).
pub fn describe_os_error(e: &io::Error) -> Option<&'static str> {
    #[cfg(windows)]
    {
        windows::describe_os_error(e)
    }
    #[cfg(not(windows))]
    {
        let _ = e;
        None
    }
}

/// A read-only memory map of `len` bytes at `offset` of a file.
///
/// Only map files that no one else truncates while the map lives (our own temp files): reading a
/// mapped page past a shrunken end raises SIGBUS on Unix. The engine therefore maps the
/// destination temp it owns, and reads the source with [`read_at`].
#[derive(Debug)]
pub struct MappedWindow {
    map: memmap2::Mmap,
}

impl MappedWindow {
    /// Maps `len` bytes at `offset` (`offset` must be a multiple of the page size; every window
    /// size the engine accepts is a multiple of 64 KiB, which is).
    pub fn map(file: &File, offset: u64, len: usize) -> io::Result<MappedWindow> {
        // SAFETY: the caller maps only files it owns and that nobody truncates while mapped (see
        // the type's docs); memmap2 validates offset and length against the OS's rules.
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(offset)
                .len(len)
                .map(file)?
        };
        #[cfg(unix)]
        {
            // A sequential one-pass read: ask for aggressive read-ahead. Advisory only.
            let _ = map.advise(memmap2::Advice::Sequential);
        }
        Ok(MappedWindow { map })
    }
}

impl Deref for MappedWindow {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map
    }
}

/// Opens a copy source for reading. On Unix with `O_NONBLOCK`, so that a FIFO swapped in for a
/// regular file after it was checked can never block the open (the caller checks the opened
/// file's type before reading), and with `O_NOATIME` (Linux) or a handle that does not update
/// the last-access time (Windows) where permitted, so that copying does not even change the
/// source's access time (I1).
pub fn open_source(path: &Path) -> io::Result<File> {
    open_for_reading(path, true)
}

/// Opens a file we wrote (a temp) for its verify read-back, without updating its access time
/// (Linux `O_NOATIME`; on Windows a handle whose last-access time is pinned with SetFileTime),
/// so the times applied before the verify survive it.
pub fn open_readback(path: &Path) -> io::Result<File> {
    open_for_reading(path, false)
}

fn open_for_reading(path: &Path, nonblock: bool) -> io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let base = libc::O_CLOEXEC | if nonblock { libc::O_NONBLOCK } else { 0 };
        #[cfg(target_os = "linux")]
        {
            // O_NOATIME is refused (EPERM) on files we neither own nor may override as root.
            let r = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(base | libc::O_NOATIME)
                .open(path);
            match r {
                Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
                r => return r,
            }
        }
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(base)
            .open(path)
    }
    #[cfg(windows)]
    {
        let _ = nonblock; // No FIFO lives among Windows files: nothing can block the open.
        windows::open_for_reading(path, 0)
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = nonblock;
        File::open(path)
    }
}

/// Deletes a file of ours (a temp), even one that already carries the source's read-only
/// attribute: Windows refuses to delete a read-only file, so the attribute is cleared first when
/// that is the reason. Elsewhere `std::fs::remove_file`.
pub fn remove_temp(path: &Path) -> io::Result<()> {
    #[cfg(windows)]
    {
        windows::remove_file(path)
    }
    #[cfg(not(windows))]
    {
        std::fs::remove_file(path)
    }
}

/// Opens a file for reads that bypass the page cache (Linux `O_DIRECT`, Windows
/// `FILE_FLAG_NO_BUFFERING`), for a verify that must read the medium. `Ok(None)` where the OS or
/// filesystem cannot (tmpfs refuses `O_DIRECT` with `EINVAL`; macOS uses [`drop_cache`]
/// instead). Reads on the handle must use an [`AlignedBuf`], offsets that are multiples of
/// [`DIRECT_ALIGN`], and lengths that are too (the last read may return fewer bytes, at the end
/// of the file).
pub fn open_direct(path: &Path) -> io::Result<Option<File>> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        for noatime in [libc::O_NOATIME, 0] {
            let r = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_DIRECT | libc::O_CLOEXEC | noatime)
                .open(path);
            match r {
                Ok(f) => return Ok(Some(f)),
                Err(e) if e.raw_os_error() == Some(libc::EPERM) => continue,
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }
    #[cfg(windows)]
    {
        // Unbuffered reads need sector-aligned buffers, offsets and lengths; DIRECT_ALIGN (4 KiB)
        // is a multiple of every sector size Windows supports (512 B, 4 KiB). The handle shares
        // read, write and delete like std's default ones, so the open never fails on our own
        // temp's other handle, and leaves the access time alone like `open_readback`.
        windows::open_for_reading(
            path,
            windows_sys::Win32::Storage::FileSystem::FILE_FLAG_NO_BUFFERING,
        )
        .map(Some)
    }
    #[cfg(not(any(target_os = "linux", windows)))]
    {
        let _ = path;
        Ok(None)
    }
}

/// Alignment of buffers, offsets and lengths for [`open_direct`] reads: 4 KiB covers the logical
/// block size of every common device (512 B or 4 KiB).
pub const DIRECT_ALIGN: usize = 4096;

/// A zeroed heap buffer aligned to [`DIRECT_ALIGN`], as unbuffered I/O requires.
pub struct AlignedBuf {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
}

// SAFETY: AlignedBuf owns its allocation exclusively, like a Vec<u8>.
unsafe impl Send for AlignedBuf {}
// SAFETY: shared access only hands out `&[u8]`.
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// `len` is rounded up to a multiple of [`DIRECT_ALIGN`] (at least one block).
    pub fn new(len: usize) -> AlignedBuf {
        let len = len.max(1).div_ceil(DIRECT_ALIGN) * DIRECT_ALIGN;
        let layout = std::alloc::Layout::from_size_align(len, DIRECT_ALIGN).expect("valid layout");
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        let ptr =
            std::ptr::NonNull::new(ptr).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        AlignedBuf { ptr, len }
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: ptr is valid for len initialised (zeroed) bytes for our lifetime.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl std::ops::DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above, and &mut self guarantees exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        let layout =
            std::alloc::Layout::from_size_align(self.len, DIRECT_ALIGN).expect("valid layout");
        // SAFETY: allocated in `new` with this very layout.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), layout) }
    }
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlignedBuf")
            .field("len", &self.len)
            .finish()
    }
}

/// Creates a symbolic link at `link` pointing to `target` (the target is stored as given, so
/// relative links stay relative). On Windows the link kind (file or directory) follows
/// `target_is_dir`; creating links there needs Developer Mode or the privilege.
pub fn create_symlink(target: &Path, link: &Path, target_is_dir: bool) -> io::Result<()> {
    #[cfg(unix)]
    {
        let _ = target_is_dir;
        std::os::unix::fs::symlink(target, link)
    }
    #[cfg(windows)]
    {
        if target_is_dir {
            std::os::windows::fs::symlink_dir(target, link)
        } else {
            std::os::windows::fs::symlink_file(target, link)
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = (target, link, target_is_dir);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "symbolic links are not supported here",
        ))
    }
}

/// Sets the access and modified times of a symbolic link itself, not of what it points to.
/// `Ok(false)` where the OS cannot.
pub fn set_symlink_times(
    link: &Path,
    accessed: SystemTime,
    modified: SystemTime,
) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        fn ts(t: SystemTime) -> libc::timespec {
            let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
            libc::timespec {
                tv_sec: d.as_secs() as libc::time_t,
                tv_nsec: d.subsec_nanos() as _,
            }
        }
        let c = std::ffi::CString::new(link.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
        let times = [ts(accessed), ts(modified)];
        // SAFETY: valid C string and a two-element timespec array, as utimensat(2) requires.
        let rc = unsafe {
            libc::utimensat(
                libc::AT_FDCWD,
                c.as_ptr(),
                times.as_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(true)
    }
    #[cfg(not(unix))]
    {
        let _ = (link, accessed, modified);
        Ok(false)
    }
}

/// Applies `times` to a directory (opened the way the OS requires for that).
pub fn set_dir_times(dir: &Path, times: &Times) -> io::Result<TimesApplied> {
    #[cfg(windows)]
    let f = {
        use std::os::windows::fs::OpenOptionsExt;
        // A directory handle needs FILE_FLAG_BACKUP_SEMANTICS; write access for the times.
        std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(0x0200_0000)
            .open(dir)?
    };
    #[cfg(not(windows))]
    let f = File::open(dir)?;
    set_times(&f, times)
}

/// Flushes every dirty page and inode of the filesystem holding `path` in one call (Linux
/// `syncfs`), instead of one fsync per file. `Ok(false)` where the OS has no such call: the
/// caller then fsyncs file by file.
pub fn sync_filesystem(path: &Path) -> io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let f = File::open(path)?;
        // SAFETY: valid fd.
        if unsafe { libc::syncfs(f.as_raw_fd()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(true)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        Ok(false)
    }
}

/// (volume, file) identity from metadata already in hand, where the OS puts it there (Unix);
/// `None` elsewhere (use [`file_identity`]).
pub fn identity_from_metadata(m: &std::fs::Metadata) -> Option<FileIdentity> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some(FileIdentity {
            volume: m.dev(),
            file: m.ino(),
        })
    }
    #[cfg(not(unix))]
    {
        let _ = m;
        None
    }
}

/// Whether names in directory `dir` are matched case-insensitively (NTFS, APFS, exFAT and FAT by
/// default, a Samba share …): probes with a short-lived file of our own. `Ok(false)` when the
/// directory is not writable (nothing will be copied there anyway).
pub fn is_case_insensitive(dir: &Path) -> io::Result<bool> {
    let lower = dir.join(format!(".fcs-case-probe-{}.fcs.tmp", std::process::id()));
    let upper = dir.join(format!(".FCS-CASE-PROBE-{}.FCS.TMP", std::process::id()));
    match create_temp(&lower) {
        Ok(_) => {}
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
            ) =>
        {
            return Ok(false);
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let folded = std::fs::symlink_metadata(&upper).is_ok();
    let _ = std::fs::remove_file(&lower);
    Ok(folded)
}

/// (volume, file) identity of whatever `path` names now (following symlinks). Used to notice a
/// source that was replaced (renamed over) while it was being copied.
pub fn path_identity(path: &Path) -> io::Result<FileIdentity> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path)?;
        Ok(FileIdentity {
            volume: m.dev(),
            file: m.ino(),
        })
    }
    #[cfg(not(unix))]
    {
        file_identity(&File::open(path)?)
    }
}

/// Starts write-back of `len` bytes at `offset` without waiting for it (Linux
/// `sync_file_range(SYNC_FILE_RANGE_WRITE)`), so the device works while we go on reading and
/// hashing, and dirty pages never pile up. Elsewhere a data sync. Durability still comes from the
/// final fsync; this only paces the writes.
pub fn start_writeback(file: &File, offset: u64, len: u64) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: valid fd; the kernel validates the range.
        let rc = unsafe {
            libc::sync_file_range(
                file.as_raw_fd(),
                offset as libc::off64_t,
                len as libc::off64_t,
                libc::SYNC_FILE_RANGE_WRITE,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (offset, len);
        file.sync_data()
    }
}

/// Whether `path` is a Windows UNC path (`\\server\share\…`, `\\?\UNC\server\…`). Pure string
/// test, the same on every OS so it can be unit-tested anywhere.
pub fn is_unc_path(path: &Path) -> bool {
    let s = path.as_os_str().to_string_lossy();
    let s = s.replace('/', "\\");
    if let Some(rest) = s.strip_prefix(r"\\?\") {
        return rest.len() >= 4 && rest[..4].eq_ignore_ascii_case("UNC\\");
    }
    if s.starts_with(r"\\.\") {
        return false; // a device path, not a share
    }
    s.starts_with(r"\\") && s.len() > 2 && !s[2..].starts_with('\\')
}

/// The nearest existing ancestor of `path` (itself when it exists), canonicalized so symlinks are
/// resolved. Used to judge the volume of a target that does not exist yet.
pub fn nearest_existing(path: &Path) -> io::Result<PathBuf> {
    let mut cur = path;
    loop {
        match std::fs::canonicalize(cur) {
            Ok(p) => return Ok(p),
            Err(e) if e.kind() == io::ErrorKind::NotFound => match cur.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => cur = parent,
                // A relative path whose first component is missing lives in the current
                // directory; an absolute one with no existing ancestor (an unreachable share)
                // must not be judged by the current directory's volume.
                _ if path.is_relative() => return std::fs::canonicalize("."),
                _ => return Err(e),
            },
            Err(e) => return Err(e),
        }
    }
}

/// A path as bytes for storage (the run journal), losslessly — even a name that is not valid
/// Unicode comes back as the same OS name. Unix: the raw bytes; Windows: UTF-16LE code units.
pub fn path_to_bytes(p: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        p.as_os_str().as_bytes().to_vec()
    }
    #[cfg(windows)]
    {
        use std::os::windows::ffi::OsStrExt;
        p.as_os_str()
            .encode_wide()
            .flat_map(u16::to_le_bytes)
            .collect()
    }
    #[cfg(not(any(unix, windows)))]
    {
        p.to_string_lossy().as_bytes().to_vec()
    }
}

/// The inverse of [`path_to_bytes`].
pub fn path_from_bytes(b: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(b))
    }
    #[cfg(windows)]
    {
        use std::os::windows::ffi::OsStringExt;
        let wide: Vec<u16> = b
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        PathBuf::from(std::ffi::OsString::from_wide(&wide))
    }
    #[cfg(not(any(unix, windows)))]
    {
        PathBuf::from(String::from_utf8_lossy(b).into_owned())
    }
}

/// Whether another program has `path` open, so that deleting or replacing it may fail (Windows:
/// a share-nothing open answers ERROR_SHARING_VIOLATION). `Ok(false)` where the OS has no
/// such notion (Unix deletes an open file without complaint). `Err` when the path cannot be
/// opened for another reason (missing, access denied).
pub fn in_use(path: &Path) -> io::Result<bool> {
    #[cfg(windows)]
    {
        windows::in_use(path)
    }
    #[cfg(not(windows))]
    {
        let _ = path;
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unc_paths_are_recognised() {
        assert!(is_unc_path(Path::new(r"\\server\share\dir\f.txt")));
        assert!(is_unc_path(Path::new(r"\\?\UNC\server\share\f.txt")));
        assert!(is_unc_path(Path::new("//server/share")));
        assert!(!is_unc_path(Path::new(r"\\?\C:\dir\f.txt")));
        assert!(!is_unc_path(Path::new(r"\\.\PhysicalDrive0")));
        assert!(!is_unc_path(Path::new(r"C:\dir")));
        assert!(!is_unc_path(Path::new("/home/u/f")));
    }

    #[test]
    fn drive_kind_spellings_follow_the_seed() {
        assert_eq!(DriveKind::LocalFixed.to_string(), "LOCAL_FIXED");
        assert_eq!(DriveKind::NetworkUnc.to_string(), "NETWORK_UNC");
        assert!(DriveKind::Ramdisk.is_local());
        assert!(!DriveKind::Removable.is_local());
        assert!(!DriveKind::Unknown.is_local());
    }

    #[test]
    fn nearest_existing_walks_up_to_a_real_directory() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/c.txt");
        assert_eq!(
            nearest_existing(&p).unwrap(),
            dir.path().canonicalize().unwrap()
        );
    }

    #[test]
    fn create_temp_refuses_an_existing_file_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t");
        let f = create_temp(&p).unwrap();
        drop(f);
        assert_eq!(
            create_temp(&p).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn kernel_copy_copies_and_reports_progress_and_cancels() {
        let dir = tempfile::tempdir().unwrap();
        let src_path = dir.path().join("src");
        let data: Vec<u8> = (0..3 * 1024 * 1024u32)
            .map(|i| (i * 7 + i / 977) as u8)
            .collect();
        std::fs::write(&src_path, &data).unwrap();
        let src = File::open(&src_path).unwrap();

        let dst = dir.path().join("dst");
        let mut calls = Vec::new();
        let mut cb = |n: u64| {
            calls.push(n);
            ControlFlow::Continue(())
        };
        match kernel_copy(&src, &src_path, &dst, data.len() as u64, 1 << 20, &mut cb).unwrap() {
            KernelCopy::Copied { bytes, .. } => assert_eq!(bytes, data.len() as u64),
            KernelCopy::Cancelled => panic!("not cancelled"),
        }
        assert_eq!(std::fs::read(&dst).unwrap(), data);
        assert_eq!(*calls.last().unwrap(), data.len() as u64);

        let dst2 = dir.path().join("dst2");
        let mut stop = |_n: u64| ControlFlow::Break(());
        let out = kernel_copy(
            &src,
            &src_path,
            &dst2,
            data.len() as u64,
            1 << 20,
            &mut stop,
        );
        assert!(matches!(out.unwrap(), KernelCopy::Cancelled));
    }

    #[test]
    fn this_machine_temp_dir_is_classified() {
        let dir = tempfile::tempdir().unwrap();
        let info = drive_info(&dir.path().join("not/yet/there")).unwrap();
        assert!(!info.fs_type.is_empty());
        assert_eq!(info.resolved, dir.path().canonicalize().unwrap());
    }

    /// Every backend: the copy of a read-only source is writable (we finish it: times, verify
    /// hooks), and a second copy onto the same name fails instead of overwriting.
    #[test]
    fn copy_of_a_read_only_source_is_writable() {
        let dir = tempfile::tempdir().unwrap();
        let src_path = dir.path().join("ro");
        std::fs::write(&src_path, b"read only").unwrap();
        let mut perm = std::fs::metadata(&src_path).unwrap().permissions();
        perm.set_readonly(true);
        std::fs::set_permissions(&src_path, perm).unwrap();

        let src = File::open(&src_path).unwrap();
        let dst = dir.path().join("copy");
        let mut cb = |_n: u64| ControlFlow::Continue(());
        let KernelCopy::Copied { file, .. } =
            kernel_copy(&src, &src_path, &dst, 9, 1 << 20, &mut cb).unwrap()
        else {
            panic!("not cancelled")
        };
        write_all_at(&file, b"W", 0).unwrap();
        drop(file);
        assert_eq!(std::fs::read(&dst).unwrap(), b"Wead only");
        assert!(!std::fs::metadata(&dst).unwrap().permissions().readonly());
        let again = kernel_copy(&src, &src_path, &dst, 9, 1 << 20, &mut cb);
        assert_eq!(again.unwrap_err().kind(), io::ErrorKind::AlreadyExists);
    }

    #[test]
    fn preallocate_sets_exact_length() {
        let dir = tempfile::tempdir().unwrap();
        let f = create_temp(&dir.path().join("p")).unwrap();
        assert!(preallocate(&f, 5 * 65536 + 3).unwrap());
        assert_eq!(f.metadata().unwrap().len(), 5 * 65536 + 3);
    }

    #[test]
    fn positional_io_round_trips_and_reads_short_at_eof() {
        let dir = tempfile::tempdir().unwrap();
        let f = create_temp(&dir.path().join("io")).unwrap();
        write_all_at(&f, b"hello world", 3).unwrap();
        let mut buf = [0u8; 32];
        let n = read_at(&f, &mut buf, 3).unwrap();
        assert_eq!(&buf[..n], b"hello world");
    }

    #[test]
    fn identity_distinguishes_files_and_matches_reopen() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), b"a").unwrap();
        std::fs::write(dir.path().join("b"), b"b").unwrap();
        let a1 = file_identity(&File::open(dir.path().join("a")).unwrap()).unwrap();
        let a2 = file_identity(&File::open(dir.path().join("a")).unwrap()).unwrap();
        let b = file_identity(&File::open(dir.path().join("b")).unwrap()).unwrap();
        assert_eq!(a1, a2);
        assert_ne!(a1, b);
    }

    #[test]
    fn set_times_applies_modified_time() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t");
        std::fs::write(&p, b"x").unwrap();
        let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        let when = SystemTime::UNIX_EPOCH + std::time::Duration::new(1_600_000_000, 123_456_700);
        let applied = set_times(
            &f,
            &Times {
                accessed: Some(when),
                modified: Some(when),
                created: Some(when),
            },
        )
        .unwrap();
        drop(f);
        assert_eq!(std::fs::metadata(&p).unwrap().modified().unwrap(), when);
        if cfg!(any(windows, target_os = "macos")) {
            assert!(applied.created);
        }
    }

    #[test]
    fn direct_reads_return_the_file_through_an_aligned_buffer() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d");
        let data: Vec<u8> = (0..3 * DIRECT_ALIGN + 123)
            .map(|i| (i % 253) as u8)
            .collect();
        std::fs::write(&p, &data).unwrap();
        let mut buf = AlignedBuf::new(2 * DIRECT_ALIGN);
        assert_eq!(buf.as_ptr() as usize % DIRECT_ALIGN, 0);
        let f = match open_direct(&p).unwrap() {
            Some(f) => f,
            None => return, // this filesystem has no unbuffered reads
        };
        let mut got = Vec::new();
        let mut off = 0u64;
        loop {
            let n = read_direct_at(&f, &mut buf, off).unwrap();
            got.extend_from_slice(&buf[..n]);
            off += n as u64;
            if n < buf.len() {
                break;
            }
        }
        assert_eq!(got, data);
    }

    #[test]
    fn direct_reads_never_continue_at_an_unaligned_offset() {
        // A file of 3 blocks + 123 bytes read the way Windows serves an unbuffered handle: any
        // offset or length off a block boundary is ERROR_INVALID_PARAMETER, even at the end;
        // like a device, at most two blocks come back per call.
        const BLOCK: u64 = DIRECT_ALIGN as u64;
        let size = 3 * BLOCK + 123;
        let windows_like = |reads: &mut Vec<u64>, b: &mut [u8], off: u64| {
            reads.push(off);
            if !off.is_multiple_of(BLOCK) || !(b.len() as u64).is_multiple_of(BLOCK) {
                return Err(io::Error::from_raw_os_error(87));
            }
            let n = (b.len() as u64)
                .min(size.saturating_sub(off))
                .min(2 * BLOCK);
            b[..n as usize].fill(7);
            Ok(n as usize)
        };
        let mut reads = Vec::new();
        let mut buf = vec![0u8; 8 * DIRECT_ALIGN];
        let n = read_direct_with(&mut buf, 0, |b, off| windows_like(&mut reads, b, off));
        assert_eq!(n.unwrap() as u64, size);
        assert_eq!(reads, vec![0, 2 * BLOCK]);
        // At the end exactly: one read, which returns 0.
        let mut reads = Vec::new();
        let mut buf = vec![0u8; DIRECT_ALIGN];
        let n = read_direct_with(&mut buf, 4 * BLOCK, |b, off| {
            windows_like(&mut reads, b, off)
        });
        assert_eq!((n.unwrap(), reads.len()), (0, 1));
    }

    #[test]
    fn case_sensitivity_is_probed_and_the_probe_removed() {
        let dir = tempfile::tempdir().unwrap();
        let insensitive = is_case_insensitive(dir.path()).unwrap();
        assert_eq!(
            insensitive,
            cfg!(any(windows, target_os = "macos")) && insensitive
        );
        if cfg!(target_os = "linux") {
            assert!(!insensitive, "ext4/tmpfs temp dirs are case-sensitive");
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn free_space_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        assert!(free_space(dir.path()).unwrap() > 0);
    }

    #[test]
    fn an_open_file_is_in_use_only_on_windows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("open.txt");
        std::fs::write(&p, "x").unwrap();
        let f = File::open(&p).unwrap();
        assert_eq!(in_use(&p).unwrap(), cfg!(windows));
        drop(f);
        assert!(!in_use(&p).unwrap());
    }
}
