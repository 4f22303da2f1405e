//! OS primitives for FolderCompareSync — the one crate with `unsafe` and `cfg(target_os)`.
//!
//! Every backend (`linux`, `windows`, `macos`, with `unix` holding what the Unix ones share and
//! `fallback` for any other OS) exports the same list of functions with identical signatures;
//! this file picks one and re-exports it, beside the portable helpers of `common` and the types
//! they all share. A backend answers "not supported here" as a value (`Ok(false)`, `None`,
//! [`ReadBack::Cache`]) so the engine can choose a fallback, and reserves `Err` for real
//! failures.
//!
//! The backend's functions:
//! * [`drive_info`] — what kind of volume a path lives on (LOCAL_FIXED, NETWORK_UNC, …).
//! * [`create_temp`] — a new, private (0600) file that must not exist yet.
//! * [`kernel_copy`] — the OS's fastest whole-file copy (FICLONE / `copy_file_range` / `CopyFileExW`
//!   / `fclonefileat`), with progress and cancel between bounded chunks.
//! * [`copy_range`] — an in-kernel copy of one byte range between two open files, when the OS can.
//! * [`preallocate`] — reserve real blocks for the whole length (never sparse).
//! * [`open_source`] / [`open_readback`] / [`open_direct`] — open a source without blocking on a
//!   FIFO, a temp for its verify, or a file for reads that bypass the page cache, all without
//!   touching the access time where the OS lets us.
//! * [`sync_dir`] / [`sync_filesystem`] / [`start_writeback`] / [`wait_writeback`] — make a
//!   rename durable, flush a whole filesystem at once, start write-back early, wait for a range.
//! * [`drop_cache`] — evict a file's pages so the next read comes from the medium.
//! * [`read_files_direct`] — many small files read whole from the medium at once (io_uring).
//! * [`free_space`] — bytes available to this user on the volume holding a path.
//! * [`file_identity`] / [`path_identity`] / [`path_identity_nofollow`] /
//!   [`identity_from_metadata`] — (volume, file) identity.
//! * [`set_file_mode`] — permission bits onto an open file (Windows: the read-only attribute).
//! * [`owner_of`] / [`set_owner`] / [`is_root`] — numeric owners (Unix).
//! * [`data_extents`] / [`allocated_size`] — where a sparse file's data is, what it takes.
//! * [`xattrs`] / [`set_xattr`] / [`remove_xattr`] — extended attributes, POSIX ACLs among them
//!   on Linux (`system.posix_acl_*`).
//! * [`set_times`] / [`set_dir_times`] / [`set_symlink_times`] — access, modified and (where the
//!   OS can) creation time.
//! * [`copy_attributes`] — the attributes a user sets that permissions do not carry (Windows:
//!   hidden, archive).
//! * [`mode_bits`] / [`is_sparse`] — what the scan records of permissions, whether a file has holes.
//! * [`create_symlink`] / [`remove_temp`] / [`in_use`] — link, delete our temp, ask before a delete
//!   whether another program holds a file open (Windows sharing).
//! * [`describe_os_error`] — plain words for an OS error code that says little to a user.
//! * [`path_to_bytes`] / [`path_from_bytes`] — a path stored losslessly (the run journal).
//!
//! Beside them, the backend provides three crate-private primitives for `common`: one positional
//! read, one positional write, and read-ahead advice for a memory map.
//!
//! The portable helpers: [`read_at`] / [`write_all_at`] / [`read_direct_at`] (positional I/O that
//! does not move a shared cursor), [`AlignedBuf`] and [`DIRECT_ALIGN`] for unbuffered reads,
//! [`MappedWindow`] (a read-only map of one window of a file),
//! [`is_unc_path`] and [`nearest_existing`].

#![warn(missing_docs)]

use std::fs::File;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::SystemTime;

mod common;
#[cfg(not(target_os = "linux"))]
mod linux_only;
mod list;
#[cfg(test)]
mod tests;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
mod unix_dir;

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
mod windows_dir;
#[cfg(windows)]
use windows as backend;

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
mod fallback;
#[cfg(not(any(unix, windows)))]
mod portable_dir;
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
use fallback as backend;

/// Set once a filesystem refused `O_NOATIME` on a new temp: from then on every temp is read back
/// through a handle of its own (see [`temp_reads_keep_atime`]).
#[cfg(target_os = "linux")]
pub(crate) static NOATIME_REFUSED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Whether reading a temp made by [`Dir::create_temp`] (or [`crate::kernel_copy`]) through its
/// own handle leaves its access time alone: true on Linux, where temps are opened `O_NOATIME`
/// (unless a filesystem refused the flag); elsewhere the verify opens a handle of its own.
pub fn temp_reads_keep_atime() -> bool {
    #[cfg(target_os = "linux")]
    {
        !NOATIME_REFUSED.load(std::sync::atomic::Ordering::Relaxed)
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// How many descriptors this process may hold open, after raising its soft limit to its hard
/// limit (once per process; Unix). `None`: no such limit, or it cannot be read (Windows: a
/// process's handles are bounded by memory, not by a per-process count).
pub fn open_files_limit() -> Option<u64> {
    static LIMIT: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        #[cfg(unix)]
        {
            unix::raise_open_files_limit()
        }
        #[cfg(not(unix))]
        {
            None
        }
    })
}

pub use backend::{
    Dir, FILE_FLAGS, KEEPS, LOCKING_FLAGS, file_flags, is_link_in_path, name_problem,
    set_file_flags,
};
pub use backend::{
    MODE_BITS, allocated_size, copy_acl, copy_attributes, copy_range, copy_streams, create_symlink,
    create_temp, data_extents, describe_os_error, dirty_bytes, drive_info, drop_cache,
    file_identity, free_space, identity_from_metadata, in_use, is_root, is_sparse, kernel_copy,
    link_count, mode_bits, open_direct, open_readback, open_source, owner_of, path_from_bytes,
    path_identity, path_identity_nofollow, path_to_bytes, preallocate, process_alive,
    read_files_direct, remove_temp, remove_xattr, set_dir_times, set_file_mode, set_owner,
    set_symlink_times, set_times, set_xattr, start_writeback, sync_dir, sync_filesystem,
    wait_writeback, xattrs, xattrs_at, xattrs_supported,
};
pub use common::{
    AlignedBuf, DIRECT_ALIGN, MappedWindow, is_unc_path, nearest_existing, read_at, read_direct_at,
    write_all_at,
};
pub use list::{ListStat, Listed, list_dir};

/// Files up to this length are for [`read_files_direct`]; larger ones it hands back unread. It
/// bounds the read buffers of all the files in flight (up to 256 of them: 33 MiB, allocated as
/// the files need them), and a larger file is no longer bound by the cost of its requests.
pub const DIRECT_BATCH_MAX: u64 = 128 << 10;

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

impl std::fmt::Display for CopyMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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
    /// The kind of volume, which decides whether the strategy selector may treat it as local.
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
    /// Positional reads and writes of whole windows (DIRECT-LARGE where the kernel cannot copy
    /// between the two files).
    PreadPwrite,
    /// Only the data extents of a sparse source, its holes left unwritten.
    Extents,
}

impl CopyMethod {
    /// Every method, for the documentation check.
    pub const ALL: &'static [CopyMethod] = &[
        CopyMethod::Clone,
        CopyMethod::CopyFileRange,
        CopyMethod::CopyFileEx,
        CopyMethod::Fcopyfile,
        CopyMethod::ReadWrite,
        CopyMethod::PreadPwrite,
        CopyMethod::Extents,
    ];

    /// The stable spelling reported as `method=` in the `Perf:` line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            CopyMethod::Clone => "clone",
            CopyMethod::CopyFileRange => "copy_file_range",
            CopyMethod::CopyFileEx => "copy_file_ex",
            CopyMethod::Fcopyfile => "fcopyfile",
            CopyMethod::ReadWrite => "read_write",
            CopyMethod::PreadPwrite => "pread_pwrite",
            CopyMethod::Extents => "extents",
        }
    }
}

/// The result of [`kernel_copy`].
#[derive(Debug)]
pub enum KernelCopy {
    /// The whole source was copied into a newly created destination, returned open for writing
    /// (so the caller can fsync it and set its times).
    Copied {
        /// The destination, open for reading and writing.
        file: File,
        /// The mechanism that actually copied the bytes.
        method: CopyMethod,
        /// Bytes copied: short of the expected length when the source shrank (the caller
        /// checks it).
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
    /// The volume: a device number on Unix, a volume serial number on Windows.
    pub volume: u64,
    /// The file on that volume: an inode number on Unix, a file index on Windows.
    pub file: u64,
}

/// Times to apply to a file. `None` leaves a time as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct Times {
    /// The last-access time.
    pub accessed: Option<SystemTime>,
    /// The last-modification time, which the compare relies on.
    pub modified: Option<SystemTime>,
    /// The creation (birth) time, where the OS can set one.
    pub created: Option<SystemTime>,
}

/// What an entry is, as [`Dir::stat`] sees it (a link is never followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryType {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (or, on Windows, another reparse point).
    Symlink,
    /// A FIFO, socket or device.
    Other,
}

impl From<std::fs::FileType> for EntryType {
    /// What std's file type says (a link is a link: it comes from `symlink_metadata`).
    fn from(ft: std::fs::FileType) -> EntryType {
        if ft.is_symlink() {
            EntryType::Symlink
        } else if ft.is_dir() {
            EntryType::Dir
        } else if ft.is_file() {
            EntryType::File
        } else {
            EntryType::Other
        }
    }
}

/// Why a filesystem refused a name (see [`name_problem`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameProblem {
    /// The name has characters (or bytes) this filesystem does not allow.
    Refused,
    /// The name, or the whole path, is too long for it.
    TooLong,
    /// The filesystem does not implement the operation at all.
    Unsupported,
}

/// An entry's type, size, modified time, permission bits and identity, from one `lstat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryStat {
    /// What the entry is.
    pub kind: EntryType,
    /// Its length in bytes.
    pub len: u64,
    /// Its modified time in nanoseconds since the Unix epoch.
    pub mtime_ns: i128,
    /// Its permission bits (Unix), or 1 for read-only and 0 (Windows).
    pub mode: u32,
    /// Its (volume, file) identity.
    pub identity: FileIdentity,
}

/// Which of the requested times were applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimesApplied {
    /// False when a creation time was requested but this OS cannot set one (Linux): reported to
    /// the user, never faked.
    pub created: bool,
}

/// What this platform can carry over from a file besides its contents, times and permission
/// bits ([`KEEPS`]): what a run says it keeps (`-v`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keeps {
    /// Owner and group ([`set_owner`]).
    pub owner: bool,
    /// Extended attributes ([`xattrs`]).
    pub xattrs: bool,
    /// POSIX ACLs (as `system.posix_acl_*` attributes).
    pub acls: bool,
    /// The holes of sparse files ([`data_extents`]).
    pub holes: bool,
    /// File flags (`chattr`: immutable, append-only, no-dump…; [`file_flags`]).
    pub flags: bool,
}
