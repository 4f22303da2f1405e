//! Preflight: everything checked before a byte is written (DESIGN.md §4). The source is a
//! regular file we can open and identify; the target's folder exists and the target is neither a
//! directory nor the source itself; UNC paths follow `unc_policy`; the size is within
//! `max_file_size`; the strategy is chosen from the drive kinds of both ends; and the target's
//! volume has room for the file plus `free_space_margin`. Any refusal here leaves nothing behind.
//!
//! After the copy, `check_source_unchanged` holds the source to what preflight saw.

use std::fs::{File, Metadata};
use std::path::{Path, PathBuf};

use fsops::{DriveKind, FileIdentity};

use super::{Copier, Job, parent_dir};
use crate::error::{Code, Error, IoResultExt};
use crate::events::{Event, Notice};
use crate::settings::UncPolicy;
use crate::strategy::{Decision, ReadBackMode, Strategy, select};
use crate::temp;

/// What preflight settled for one file: the job for the copy, and what the source looked like
/// when it was opened.
pub(super) struct Preflight {
    pub(super) job: Job,
    pub(super) src_meta: Metadata,
    pub(super) src_identity: FileIdentity,
    pub(super) dst_dir: PathBuf,
    pub(super) strategy: Strategy,
}

impl Copier {
    /// Opens the source, checks both ends, selects the strategy and names the temp; emits
    /// `FileStarted` and the notices found on the way.
    pub(super) fn preflight(
        &self,
        id: u64,
        src: &Path,
        dst: &Path,
        seq: Option<usize>,
    ) -> Result<Preflight, Error> {
        let s = &self.settings;

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

        // --- target directory and existing target ----------------------------------------------
        let dst_dir = parent_dir(dst);
        match std::fs::metadata(&dst_dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Error::new(
                    Code::PreflightTargetDir,
                    &dst_dir,
                    "the target's parent is not a directory",
                ));
            }
            Err(e) => {
                return Err(Error::io(
                    Code::PreflightTargetDir,
                    &dst_dir,
                    "the target directory is not accessible",
                    e,
                ));
            }
        }
        match std::fs::symlink_metadata(dst) {
            Ok(m) if m.is_dir() => {
                return Err(Error::new(
                    Code::PreflightTargetDir,
                    dst,
                    "the target is a directory",
                ));
            }
            Ok(_) => {
                if fsops::path_identity(dst).ok() == Some(src_identity) {
                    return Err(Error::new(
                        Code::PreflightSameFile,
                        dst,
                        "source and target are the same file",
                    ));
                }
            }
            Err(_) => {}
        }

        // --- drive kinds, UNC policy, size cap --------------------------------------------------
        let mut notices = Vec::new();
        let mut kind_of = |p: &Path, is_dir: bool| match self.drive_info_cached(p, is_dir) {
            Ok(k) => k,
            Err(e) => {
                notices.push(Notice {
                    kind: "drive_kind_unknown",
                    message: format!(
                        "cannot tell the drive kind of '{}' ({e}); treated as UNKNOWN",
                        p.display()
                    ),
                });
                (DriveKind::Unknown, fsops::is_unc_path(p))
            }
        };
        let (mut src_kind, src_unc) = kind_of(src, false);
        let (mut dst_kind, dst_unc) = kind_of(&dst_dir, true);
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
        let tmp = match seq {
            Some(seq) => temp::seq_temp_path(&parent_dir(dst), dst, &self.run_id, seq),
            None => self.temp_for(dst),
        };
        let mut job = Job {
            id,
            src: src.to_path_buf(),
            dst: dst.to_path_buf(),
            src_file,
            size,
            tmp,
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
                "read_back_cache",
                "verify_read=device is not possible on this filesystem; the verify reads the page cache".into(),
            );
        }

        if s.sparse_file_warning && fsops::is_sparse(&src_meta) {
            self.notice(
                &mut job,
                "sparse_source",
                "the source is sparse; its holes are copied as data".into(),
            );
        }

        // --- free space -------------------------------------------------------------------------
        let need = size.saturating_add(s.free_space_margin);
        match fsops::free_space(&dst_dir) {
            Ok(free) if free < need => {
                let msg =
                    format!("needs {need} bytes (size + free_space_margin) but {free} are free");
                if dst_kind.is_local() || dst_kind == DriveKind::Removable {
                    return Err(Error::new(Code::CopyNoSpace, &dst_dir, msg));
                }
                // Network free-space figures are often wrong (quotas, thin pools): attempt, warn.
                self.notice(&mut job, "low_space", msg);
            }
            Ok(_) => {}
            Err(e) => self.notice(
                &mut job,
                "free_space_unknown",
                format!("cannot read free space ({e})"),
            ),
        }
        Ok(Preflight {
            job,
            src_meta,
            src_identity,
            dst_dir,
            strategy,
        })
    }

    /// The drive kind (and UNC-ness) of a path, cached per directory: a tree run asks for the
    /// same few directories thousands of times, and each uncached answer reads
    /// `/proc/self/mountinfo` and resolves every path component. A symlink is judged by its
    /// target (seed A.9), so it is never answered from its directory's entry.
    fn drive_info_cached(&self, p: &Path, is_dir: bool) -> std::io::Result<(DriveKind, bool)> {
        let is_link = !is_dir
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

    /// Creates the temp (0600, in the target's folder) for the strategies that write it
    /// themselves.
    pub(super) fn create_temp(&self, job: &Job) -> Result<File, Error> {
        fsops::create_temp(&job.tmp).or_code(
            Code::CopyTempCreate,
            &job.tmp,
            "cannot create the temp file in the target directory",
        )
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
        let after = job.src_file.metadata().or_code(
            Code::CopyRead,
            &job.src,
            "cannot re-read the source's metadata",
        )?;
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
