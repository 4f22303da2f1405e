//! Commit: the source's times and permissions go onto the temp, then the temp is made durable,
//! verified (see `readback`) and renamed over the target in one atomic step, and the directory is
//! made durable. A replaced file can be kept on the way, for the trash.
//!
//! Metadata policy (seed A.10): modified/access times and permissions are applied to the temp
//! *before* the rename, so a failure there (`FINALIZE_E_METADATA`) still leaves the target
//! untouched: we treat it as a failure, not a warning, because a copy whose times differ would be
//! copied again by every later sync. Creation time is applied where the OS can set it (Windows,
//! macOS); on Linux it is reported as a notice, never faked.

use std::ffi::{OsStr, OsString};
use std::fs::{File, Metadata};
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::{Copier, FileReport, Job, PendingFile, Prepared};
use crate::error::{Code, Error, IoResultExt};
use crate::events::{Event, Notice, Perf};
use crate::strategy::VerifyMode;
use crate::temp;

impl Copier {
    /// Hands a pending copy its bytes as a batch read them back from the medium after making
    /// them durable (see `PendingFile::batch_read_back`): its commit compares these with the
    /// source instead of reading the copy again.
    pub fn set_read_back(&self, file: &mut PendingFile, bytes: Box<[u8]>) {
        #[cfg(feature = "test-hooks")]
        let mut bytes = bytes;
        // The byte flip of `flip_byte_before_verify`, as the medium would have returned it.
        #[cfg(feature = "test-hooks")]
        if let Some(b) = self
            .hooks
            .flip_byte_before_verify
            .and_then(|off| bytes.get_mut(off as usize))
        {
            *b ^= 0xFF;
        }
        file.0.read_back = Some(bytes);
    }

    /// Makes the temp durable (unless the caller already synced the whole filesystem), verifies
    /// it, renames it over the target and (unless deferred) fsyncs the directory.
    pub(super) fn finish(
        &self,
        p: Prepared,
        synced: bool,
        sync_dir: bool,
    ) -> Result<FileReport, Error> {
        let Prepared {
            mut job,
            tmp_file,
            mut guard,
            strategy,
            bytes,
            method,
            src_digest,
            dst_digest,
            read_back,
            windows,
            flushes,
            copy_ms,
            started,
        } = p;
        let (src, dst, size) = (job.src.clone(), job.dst.clone(), job.size);
        let (src, dst) = (src.as_path(), dst.as_path());
        if !synced
            && let Err(e) = tmp_file.sync_all().or_code(
                Code::FinalizeFsync,
                &job.tmp,
                "fsync of the temp file failed",
            )
        {
            // I7: a failed fsync is never retried and trusted. The temp is discarded.
            drop(tmp_file);
            return Err(guard.discard(e));
        }

        #[cfg(feature = "test-hooks")]
        if let Some(off) = self.hooks.flip_byte_before_verify
            && dst_digest.is_none()
            && read_back.is_none()
        {
            flip_byte(&tmp_file, off);
        }

        // --- verify -----------------------------------------------------------------------------
        let t_verify = Instant::now();
        let verified = job.decision.verify != VerifyMode::None;
        if verified
            && let Err(e) = match &read_back {
                Some(copy) => self.verify_compare_bytes(&job, copy),
                None => self.verify_copy(
                    &mut job,
                    &tmp_file,
                    src_digest.as_deref(),
                    dst_digest.as_deref(),
                ),
            }
        {
            drop(tmp_file);
            return Err(guard.discard(e));
        }
        let verify_ms = if verified {
            t_verify.elapsed().as_millis() as u64
        } else {
            0
        };

        // --- commit -----------------------------------------------------------------------------
        // Close our handle first: Windows cannot rename a file that is open without share-delete.
        drop(tmp_file);
        if job.replaces && self.settings.keeps_flags() {
            unlock(&job);
        }
        // A replaced file is kept for the trash. Where preflight found no file, the rename must
        // not replace one that appeared since without keeping it too: it refuses to replace
        // (one call), and only then is the newcomer kept and replaced.
        let mut kept = None;
        let renamed = if self.trash_replaced && !job.replaces {
            match job.dir.rename_noreplace(&job.tmp_name, &job.name) {
                Ok(true) => Ok(()),
                Ok(false) => {
                    kept = self.keep_replaced(&mut job);
                    job.dir.rename(&job.tmp_name, &job.dir, &job.name)
                }
                Err(e) => Err(e),
            }
        } else {
            if self.trash_replaced {
                kept = self.keep_replaced(&mut job);
            }
            job.dir.rename(&job.tmp_name, &job.dir, &job.name)
        };
        if let Err(e) = renamed {
            if let Some((keep_name, keep)) = kept {
                let _ = keep.remove_file(&job.name);
                drop(keep);
                let _ = job.dir.remove_dir(&keep_name);
            }
            if let Some(err) = super::preflight::name_error(&e, dst) {
                return Err(guard.discard(err));
            }
            // A folder that appeared at a name preflight did not look at (`Target::absent`):
            // the same error as when preflight sees it.
            if job
                .dir
                .stat(&job.name)
                .is_ok_and(|st| st.kind == fsops::EntryType::Dir)
            {
                return Err(guard.discard(Error::new(
                    Code::PreflightTargetDir,
                    dst,
                    "the target is a directory (it appeared after the scan)",
                )));
            }
            let message = match fsops::describe_os_error(&e) {
                Some(cause) => format!("cannot replace the target with the verified copy: {cause}"),
                None => "cannot replace the target with the verified copy".to_string(),
            };
            return Err(guard.discard(Error::io(Code::FinalizeRename, dst, message, e)));
        }
        guard.armed = false;
        // Some filesystems away from this machine's disks rewrite a file's times when it is
        // renamed (fusefat stamps the rename's time; seen on removable and FUSE targets, which
        // are copied STAGED): the times go on again under the final name. One more call per
        // file where files are copied one request at a time anyway.
        if strategy == crate::strategy::Strategy::Staged
            && let Some((a, m)) = job.times
        {
            let _ = job.dir.set_symlink_times(&job.name, a, m);
        }
        if let Some((keep_name, keep)) = kept {
            self.trash_kept(&mut job, &keep_name, keep);
        }
        if job.flags != 0 {
            let set = job
                .dir
                .open_file(&job.name)
                .and_then(|f| fsops::set_file_flags(&f, job.flags));
            if let Err(e) = set {
                self.lost.note(crate::meta::MetaKind::Flags, &e);
            }
        }
        if sync_dir {
            job.dir.sync().or_code(
                Code::FinalizeDirSync,
                job.dir.path(),
                "fsync of the target directory failed after the rename",
            )?;
        }

        let perf = Perf {
            bytes,
            elapsed_ms: started.elapsed().as_millis() as u64,
            copy_ms,
            verify_ms,
            windows,
            flushes,
            strategy,
            verify: job.decision.verify.as_str(),
            method,
        };
        Ok(FileReport {
            src: src.to_path_buf(),
            dst: dst.to_path_buf(),
            size,
            strategy,
            decision: job.decision,
            verified,
            digest: src_digest,
            perf,
            notices: job.notices,
        })
    }

    pub(super) fn apply_metadata(
        &self,
        job: &mut Job,
        tmp: &File,
        src_meta: &Metadata,
    ) -> Result<(), Error> {
        let s = &self.settings;
        if s.preserve_times {
            let created = src_meta.created().ok();
            let times = fsops::Times {
                accessed: src_meta.accessed().ok(),
                modified: src_meta.modified().ok(),
                created,
            };
            let applied = fsops::set_times(tmp, &times).or_code(
                Code::FinalizeMetadata,
                &job.tmp,
                "cannot set the copy's times",
            )?;
            if let (Some(a), Some(m)) = (times.accessed, times.modified) {
                job.times = Some((a, m));
            }
            if created.is_some() && !applied.created {
                let n = Notice {
                    kind: crate::events::NoticeKind::CreatedTimeNotPreserved,
                    message: "this OS cannot set a file's creation time; the copy's is the time of the copy".into(),
                };
                if !self.created_notice_sent.swap(true, Ordering::Relaxed) {
                    self.reporter.report(&Event::Notice {
                        id: job.id,
                        path: job.dst.clone(),
                        notice: n.clone(),
                    });
                }
                job.notices.push(n);
            }
        }
        // Alternate data streams (Windows' extended attributes; none elsewhere).
        if s.preserve_xattrs
            && let Err(e) = fsops::copy_streams(&job.src, &job.dir, &job.tmp_name)
        {
            self.lost.note(crate::meta::MetaKind::Xattrs, &e);
        }
        // File flags go on after the rename (an immutable temp cannot be renamed).
        if s.keeps_flags() {
            job.flags = fsops::file_flags(job.src_file()).unwrap_or(0);
        }
        // Owner, mode, extended attributes and ACLs (see `meta`): only the mode is an error
        // here; what the target refuses of the rest is counted and said once per run.
        let cleared = crate::meta::apply(src_meta, job.src_file(), tmp, s, &self.lost).or_code(
            Code::FinalizeMetadata,
            &job.tmp,
            "cannot set the copy's permissions",
        )?;
        if cleared != 0 {
            self.notice(
                job,
                crate::events::NoticeKind::SetuidStripped,
                format!(
                    "the setuid, setgid or sticky bit ({cleared:o}) is not kept: the copy has another owner than the source"
                ),
            );
        }
        if s.preserve_permissions {
            fsops::copy_attributes(src_meta, tmp).or_code(
                Code::FinalizeMetadata,
                &job.tmp,
                "cannot set the copy's attributes",
            )?;
        }
        Ok(())
    }

    /// Before a verified copy replaces an existing file: a second name (hard link) for the old
    /// file in a private folder next to it, so the rename stays atomic (the target path always
    /// holds the complete old or new file) and the old version can go to the trash afterwards
    /// under its own name. `None` (with a notice) where the filesystem has no hard links.
    fn keep_replaced(&self, job: &mut Job) -> Option<(OsString, fsops::Dir)> {
        match job.dir.stat(&job.name) {
            Ok(st) if st.kind == fsops::EntryType::File => {}
            _ => return None,
        }
        let keep_name = temp::replaced_dir_name(&self.run_id);
        let linked = job.dir.create_dir(&keep_name).and_then(|()| {
            let keep = job.dir.child(&keep_name)?;
            job.dir.hard_link(&job.name, &keep, &job.name)?;
            Ok(keep)
        });
        match linked {
            Ok(keep) => Some((keep_name, keep)),
            Err(e) => {
                let _ = job.dir.remove_dir(&keep_name);
                self.notice(job, crate::events::NoticeKind::ReplacedNotTrashed, format!("the replaced version cannot be kept for the trash here ({e}); it is replaced without a copy in the trash"));
                None
            }
        }
    }

    /// Moves the replaced version kept by [`Copier::keep_replaced`] to the trash. If the trash
    /// refuses, it stays where it is (never deleted silently) and a notice names it.
    ///
    /// The trash is reached by path (the desktop's trash is a folder of its own, chosen per
    /// volume by the `trash` crate): the path is used only while it still names the file kept
    /// in our private folder, checked by identity just before.
    fn trash_kept(&self, job: &mut Job, keep_name: &OsStr, keep: fsops::Dir) {
        let old = job.dir.path().join(keep_name).join(&job.name);
        let same = match (keep.stat(&job.name), fsops::path_identity_nofollow(&old)) {
            (Ok(st), Ok(id)) => st.identity == id,
            _ => false,
        };
        // Closed before the trash moves its content and the folder is removed (Windows
        // refuses both while the folder is held open).
        drop(keep);
        let trashed = if same {
            trash::delete(&old).map_err(|e| e.to_string())
        } else {
            Err("its folder changed during the run".into())
        };
        match trashed {
            Ok(()) => {
                let _ = job.dir.remove_dir(keep_name);
            }
            Err(e) => self.notice(
                job,
                crate::events::NoticeKind::ReplacedNotTrashed,
                format!("the replaced version could not be moved to the trash ({e}); it was kept at '{}'", old.display()),
            ),
        }
    }
}

/// Clears the immutable and append-only flags of the file a copy replaces (kept flags only: the
/// copy brings the source's back), or neither its rename over it nor its trash link would work.
fn unlock(job: &Job) {
    if let Ok(f) = job.dir.open_file(&job.name)
        && let Ok(flags) = fsops::file_flags(&f)
        && flags & fsops::LOCKING_FLAGS != 0
    {
        let _ = fsops::set_file_flags(&f, flags & !fsops::LOCKING_FLAGS);
    }
}

#[cfg(feature = "test-hooks")]
pub(super) fn flip_byte(f: &File, off: u64) {
    let mut b = [0u8; 1];
    if fsops::read_at(f, &mut b, off).unwrap_or(0) == 1 {
        b[0] ^= 0xFF;
        fsops::write_all_at(f, &b, off).expect("test hook: flip byte");
        f.sync_all().expect("test hook: fsync after flip");
    }
}
