//! Preflight: everything checked before a byte is written (DESIGN.md §4). The source is a
//! regular file we can open and identify; the target's folder exists and the target is neither a
//! directory nor the source itself; UNC paths follow `unc_policy`; the size is within
//! `max_file_size`; the strategy is chosen from the drive kinds of both ends; and the target's
//! volume has room for the file plus `free_space_margin`. Any refusal here leaves nothing behind.
//!
//! After the copy, `check_source_unchanged` holds the source to what preflight saw.

use std::fs::{File, Metadata};
use std::path::Path;

use fsops::{DriveKind, FileIdentity};

use super::{Copier, Job, Target, parent_dir};
use crate::error::{Code, Error, IoResultExt};
use crate::events::{Event, Notice};
use crate::settings::{Sparse, UncPolicy};
use crate::strategy::{Decision, ReadBackMode, Strategy, select};

/// What preflight settled for one file: the job for the copy, and what the source looked like
/// when it was opened.
pub(super) struct Preflight {
    pub(super) job: Job,
    pub(super) src_meta: Metadata,
    pub(super) src_identity: FileIdentity,
    pub(super) strategy: Strategy,
}

impl Copier {
    /// Opens the source, checks both ends, selects the strategy and names the temp; emits
    /// `FileStarted` and the notices found on the way.
    pub(super) fn preflight(
        &self,
        id: u64,
        src: &Path,
        target: &Target,
        seq: Option<usize>,
    ) -> Result<Preflight, Error> {
        let s = &self.settings;
        let dst = &target.path();

        // --- source ---------------------------------------------------------------------------
        let src_file = fsops::open_source(src).or_code(
            Code::PreflightSource,
            src,
            "cannot open the source",
        )?;
        let src_meta = src_file.metadata().or_code(
            Code::PreflightSource,
            src,
            "cannot read the source's metadata",
        )?;
        if !src_meta.is_file() {
            return Err(Error::new(
                Code::PreflightSource,
                src,
                "the source is not a regular file",
            ));
        }
        let size = src_meta.len();
        self.reporter.report(&Event::FileStarted {
            id,
            src: src.into(),
            dst: dst.into(),
            size,
        });
        let src_identity = match fsops::identity_from_metadata(&src_meta) {
            Some(id) => id,
            None => fsops::file_identity(&src_file).or_code(
                Code::PreflightSource,
                src,
                "cannot identify the source",
            )?,
        };

        // --- the existing target, in its open folder ---------------------------------------------
        let dst_dir = target.dir.path();
        let there = if target.absent {
            Err(std::io::ErrorKind::NotFound.into())
        } else {
            target.dir.stat(&target.name)
        };
        let replaces = there
            .as_ref()
            .is_ok_and(|st| st.kind == fsops::EntryType::File);
        match there {
            Ok(st) if st.kind == fsops::EntryType::Dir => {
                return Err(Error::new(
                    Code::PreflightTargetDir,
                    dst,
                    "the target is a directory",
                ));
            }
            Ok(st) if st.identity == src_identity => {
                return Err(Error::new(
                    Code::PreflightSameFile,
                    dst,
                    "source and target are the same file",
                ));
            }
            _ => {}
        }

        // --- drive kinds, UNC policy, size cap --------------------------------------------------
        let mut notices = Vec::new();
        let mut kind_of = |p: &Path, is_dir: bool| match self.drive_info_cached(p, is_dir) {
            Ok(k) => k,
            Err(e) => {
                notices.push(Notice {
                    kind: crate::events::NoticeKind::DriveKindUnknown,
                    message: format!(
                        "cannot tell the drive kind of '{}' ({e}); treated as UNKNOWN",
                        p.display()
                    ),
                });
                (DriveKind::Unknown, fsops::is_unc_path(p))
            }
        };
        let (mut src_kind, src_unc) = kind_of(src, false);
        let (mut dst_kind, dst_unc) = kind_of(dst_dir, true);
        #[cfg(feature = "test-hooks")]
        if let Some(k) = self.hooks.force_dst_kind {
            dst_kind = k;
        }
        if src_unc || dst_unc {
            match s.unc_policy {
                UncPolicy::Reject => {
                    let p = if src_unc { src } else { dst };
                    return Err(Error::new(
                        Code::PreflightUnc,
                        p,
                        "UNC paths are rejected (unc_policy=reject)",
                    ));
                }
                UncPolicy::Staged => {
                    if src_unc {
                        src_kind = DriveKind::NetworkUnc;
                    }
                    if dst_unc {
                        dst_kind = DriveKind::NetworkUnc;
                    }
                }
            }
        }
        if s.max_file_size > 0 && size > s.max_file_size {
            return Err(Error::new(
                Code::PreflightTooLarge,
                src,
                format!(
                    "the source is {size} bytes, above max_file_size={}",
                    s.max_file_size
                ),
            ));
        }

        let strategy = select(s, src_kind, dst_kind, size);
        let mut decision = Decision::new(s, strategy, src_kind, dst_kind, size);
        let tmp_name = self.temp_name(target, seq);
        let mut job = Job {
            id,
            src: src.to_path_buf(),
            dst: dst.to_path_buf(),
            dir: target.dir.clone(),
            name: target.name.clone(),
            src_file: Some(src_file),
            src_volume: volume_of(&src_meta),
            size,
            tmp: dst_dir.join(&tmp_name),
            tmp_name,
            times: None,
            extents: None,
            replaces,
            flags: 0,
            decision: decision.clone(),
            notices,
        };
        for n in std::mem::take(&mut job.notices) {
            self.notice(&mut job, n.kind, n.message);
        }

        // A read-back from the medium is impossible where the medium *is* the cache (tmpfs).
        if decision.read_back == ReadBackMode::Device && dst_kind == DriveKind::Ramdisk {
            decision.read_back = ReadBackMode::Cache;
            job.decision = decision.clone();
            self.notice(
                &mut job,
                crate::events::NoticeKind::ReadBackCache,
                "verify_read=device is not possible on this filesystem; the verify reads the page cache".into(),
            );
        }

        // A sparse source keeps its holes (only its data is copied); `sparse=always` makes
        // holes of zero runs in any source.
        let sparse = fsops::is_sparse(&src_meta);
        job.extents = match s.sparse {
            Sparse::Never => None,
            Sparse::Auto if !sparse => None,
            Sparse::Auto => fsops::data_extents(job.src_file(), size).ok().flatten(),
            Sparse::Always => Some(
                fsops::data_extents(job.src_file(), size)
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| vec![(0, size)]),
            ),
        };
        if job.extents.is_some() {
            // Only the data is written: nothing is reserved for the holes.
            job.decision.prealloc = crate::strategy::Prealloc::NotApplicable;
        }
        if sparse && job.extents.is_none() && s.sparse_file_warning {
            self.notice(
                &mut job,
                crate::events::NoticeKind::SparseSource,
                "the source is sparse; its holes are copied as data".into(),
            );
        }

        // --- free space -------------------------------------------------------------------------
        // A sparse copy takes what the source takes on its disk, not its length.
        let takes = match &job.extents {
            Some(_) => fsops::allocated_size(&src_meta).min(size),
            None => size,
        };
        let need = takes.saturating_add(s.free_space_margin);
        match self.reserve_space(dst_dir, need, takes) {
            Ok(free) if free < need => {
                let msg =
                    format!("needs {need} bytes (size + free_space_margin) but {free} are free");
                if dst_kind.is_local() || dst_kind == DriveKind::Removable {
                    return Err(Error::new(Code::CopyNoSpace, dst_dir, msg));
                }
                // Network free-space figures are often wrong (quotas, thin pools): attempt, warn.
                self.notice(&mut job, crate::events::NoticeKind::LowSpace, msg);
            }
            Ok(_) => {}
            Err(e) => self.notice(
                &mut job,
                crate::events::NoticeKind::FreeSpaceUnknown,
                format!("cannot read free space ({e})"),
            ),
        }
        Ok(Preflight {
            job,
            src_meta,
            src_identity,
            strategy,
        })
    }

    /// Books `takes` bytes in `dir` when `need` (`takes` + margin) fit, and returns the free
    /// bytes it judged by. The OS is asked once per folder, and again only when the book says a
    /// file does not fit: a tree run of thousands of files asks a few times, not once per file.
    /// (Another program filling the disk meanwhile is caught by the write itself:
    /// `COPY_E_WRITE`, the temp deleted, the target untouched.)
    pub(super) fn reserve_space(&self, dir: &Path, need: u64, takes: u64) -> std::io::Result<u64> {
        let mut book = self.space.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(free) = book.get_mut(dir)
            && *free >= need
        {
            let judged = *free;
            *free -= takes;
            return Ok(judged);
        }
        let free = fsops::free_space(dir)?;
        book.insert(
            dir.to_path_buf(),
            if free >= need { free - takes } else { free },
        );
        Ok(free)
    }

    /// The drive kind (and UNC-ness) of a path, cached per directory: a tree run asks for the
    /// same few directories thousands of times, and each uncached answer reads
    /// `/proc/self/mountinfo` and resolves every path component. A symlink is judged by its
    /// target (seed A.9), so it is never answered from its directory's entry.
    pub(super) fn drive_info_cached(
        &self,
        p: &Path,
        is_dir: bool,
    ) -> std::io::Result<(DriveKind, bool)> {
        let is_link = !is_dir
            && !self.sources_are_files
            && std::fs::symlink_metadata(p)
                .map(|m| m.file_type().is_symlink())
                .unwrap_or(false);
        let key = if is_dir || is_link {
            p.to_path_buf()
        } else {
            parent_dir(p)
        };
        if !is_link
            && let Some(k) = self
                .drive_cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&key)
        {
            return Ok(*k);
        }
        let info = fsops::drive_info(p)?;
        let k = (info.kind, info.is_unc || fsops::is_unc_path(p));
        if !is_link {
            self.drive_cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key, k);
        }
        Ok(k)
    }

    /// Creates the temp (0600, in the target's open folder) for the strategies that write it
    /// themselves.
    pub(super) fn create_temp(&self, job: &Job) -> Result<File, Error> {
        job.dir
            .create_temp(&job.tmp_name)
            .map_err(|e| temp_create_error(e, job))
    }

    /// The source must be the same file, with the same size and modified time, as when we opened
    /// it — else what we copied may be a torn mix of two versions.
    pub(super) fn check_source_unchanged(
        &self,
        job: &Job,
        before: &Metadata,
        identity: FileIdentity,
        copied: u64,
    ) -> Result<(), Error> {
        let changed = |what: String| Error::new(Code::CopySourceChanged, &job.src, what);
        if copied != job.size {
            return Err(changed(format!(
                "copied {copied} bytes but the source had {} when opened",
                job.size
            )));
        }
        // One look at the path answers both questions where metadata carries the file's
        // identity (Unix): the path still names the file we copied, and then its size and time
        // are that file's own. Elsewhere the open file and the path are asked separately.
        let by_path = match std::fs::metadata(&job.src) {
            Ok(m) if fsops::identity_from_metadata(&m) == Some(identity) => Some(m),
            Ok(m) if fsops::identity_from_metadata(&m).is_some() => {
                return Err(changed(
                    "the source path now names a different file (replaced during the copy)".into(),
                ));
            }
            Ok(_) => None,
            Err(e) => {
                return Err(Error::io(
                    Code::CopySourceChanged,
                    &job.src,
                    "the source disappeared during the copy",
                    e,
                ));
            }
        };
        let after = match &by_path {
            Some(m) => m.clone(),
            None => job.src_file().metadata().or_code(
                Code::CopyRead,
                &job.src,
                "cannot re-read the source's metadata",
            )?,
        };
        if after.len() != job.size {
            return Err(changed(format!(
                "the source's size changed from {} to {} during the copy",
                job.size,
                after.len()
            )));
        }
        if after.modified().ok() != before.modified().ok() {
            return Err(changed("the source was modified during the copy".into()));
        }
        if by_path.is_some() {
            return Ok(());
        }
        match fsops::path_identity(&job.src) {
            Ok(id) if id == identity => Ok(()),
            Ok(_) => Err(changed(
                "the source path now names a different file (replaced during the copy)".into(),
            )),
            Err(e) => Err(Error::io(
                Code::CopySourceChanged,
                &job.src,
                "the source disappeared during the copy",
                e,
            )),
        }
    }
}

/// The source's volume as a number for the per-run caches (device number; 0 where std does not
/// say, which only makes the caches coarser).
fn volume_of(meta: &Metadata) -> u64 {
    #[cfg(unix)]
    {
        std::os::unix::fs::MetadataExt::dev(meta)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        0
    }
}

/// The temp could not be created next to the target: the name is the usual cause on foreign
/// filesystems, and each cause gets its own code and advice, about the user's file (the temp's
/// name carries the target's).
pub(super) fn temp_create_error(e: std::io::Error, job: &Job) -> Error {
    if let Some(err) = name_error(&e, &job.dst) {
        return err;
    }
    if refuses_only_this_name(&job.dir, &job.tmp_name) {
        return Error::new(Code::CopyNameRefused, &job.dst, format!("{REFUSED} ({e})"));
    }
    Error::io(
        Code::CopyTempCreate,
        &job.tmp,
        "cannot create the temp file in the target directory",
        e,
    )
}

/// Whether the folder takes a plain name where it refused `name`: then the name is what it
/// refuses. (Each filesystem says so its own way — exfat-fuse answers ENOENT, fusefat EPERM —
/// so a second, harmless attempt is the one reliable test.)
pub(super) fn refuses_only_this_name(dir: &fsops::Dir, name: &std::ffi::OsStr) -> bool {
    // One name per attempt: workers refused at the same moment probe side by side, and a
    // shared name would make one of them fail on the other's probe.
    static ATTEMPT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = ATTEMPT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let plain = std::ffi::OsString::from(format!(
        ".fcs-name-probe.{}-{n}.fcs.tmp",
        std::process::id()
    ));
    if plain == name {
        return false;
    }
    match dir.create_temp(&plain) {
        Ok(_) => {
            let _ = dir.remove_temp(&plain);
            true
        }
        Err(_) => false,
    }
}

const REFUSED: &str = "the target's filesystem refuses this name (FAT, exFAT and NTFS forbid \\ / : * ? \" < > |, control characters and a trailing dot or space)";

/// An error that names its real cause for the file `dst`, where one is recognisable: a name the
/// target's filesystem refuses (`:` or `?` on exFAT, NTFS, FAT: EINVAL; bytes that are not
/// valid in its encoding: EILSEQ), a name too long for it, an operation a FUSE filesystem does
/// not implement (ENOSYS, EOPNOTSUPP), a symbolic link where a folder is needed.
pub(crate) fn name_error(e: &std::io::Error, dst: &Path) -> Option<Error> {
    let (code, what) = if fsops::is_link_in_path(e) {
        (
            Code::TreeSymlinkInPath,
            "a symbolic link stands where a folder is needed on the way to this item; nothing was written through it",
        )
    } else {
        match fsops::name_problem(e)? {
            fsops::NameProblem::Refused => (Code::CopyNameRefused, REFUSED),
            fsops::NameProblem::TooLong => (
                Code::CopyNameTooLong,
                "the name (or the whole path) is too long for the target's filesystem",
            ),
            fsops::NameProblem::Unsupported => (
                Code::CopyUnsupported,
                "the target's filesystem does not implement this operation (a FUSE or network filesystem)",
            ),
        }
    };
    Some(Error::new(code, dst, format!("{what} ({e})")))
}
