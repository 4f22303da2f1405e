//! A download: a file of remote storage copied into a local folder with the guarantees of a local
//! copy. Its bytes are read in ranged requests into a temp beside the target and hashed as they
//! are written; where fcs stored a BLAKE3 with the object when it uploaded it, the bytes must
//! match it (corruption on the server or on the way is refused, not copied); the object's modified
//! time goes on the temp. From there it is any copy's tail (`commit`): the temp made durable, read
//! back from the medium and held to the digest, then renamed over the target.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime};

use fsops::DriveKind;

use super::{Copier, Job, NEXT_ID, PendingFile, Prepared, Target, TempGuard, cancelled_copy};
use crate::error::{Code, Error, IoResultExt};
use crate::events::{Event, Phase};
use crate::hash::select_hasher;
use crate::remote::Store;
use crate::settings::HashAlgo;
use crate::strategy::{Decision, ReadBackMode, Strategy, VerifyMode};
use crate::temp;

/// One request of a download at most this long: a worker holds one such buffer, and many
/// workers run at once (latency is hidden by files in flight, not by huge requests).
const REQUEST: u64 = 8 << 20;

/// The object a download reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RemoteFile<'a> {
    /// Its path relative to both roots.
    pub rel: &'a Path,
    /// Its length in the listing the plan was made from.
    pub size: u64,
    /// Its modified time in that listing (rclone's metadata where it was read, else the
    /// server's time), for an object whose own metadata carries none.
    pub listed: Option<SystemTime>,
}

impl Copier {
    /// [`Copier::prepare_file_at`] for a file of `store`: the object copied into its temp in
    /// `target`'s folder, hashed, its time set; not yet durable, verified or committed.
    pub(crate) fn prepare_download_at(
        &self,
        store: &dyn Store,
        file: RemoteFile<'_>,
        target: &Target,
        seq: Option<usize>,
    ) -> Result<PendingFile, Error> {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let src = store.url().display_path(file.rel);
        match self.download(id, store, file, &src, target, seq) {
            Ok(p) => Ok(PendingFile(Box::new(p))),
            Err(e) => {
                self.report_finished(id, &src, &target.path(), Err(&e));
                Err(e)
            }
        }
    }

    fn download(
        &self,
        id: u64,
        store: &dyn Store,
        file: RemoteFile<'_>,
        src: &Path,
        target: &Target,
        seq: Option<usize>,
    ) -> Result<Prepared, Error> {
        let started = Instant::now();
        let s = &self.settings;
        let dst = target.path();
        let size = file.size;
        self.reporter.report(&Event::FileStarted {
            id,
            src: src.to_path_buf(),
            dst: dst.clone(),
            size,
        });
        let failed = |what: String| Error::new(Code::RemoteDownload, src, what);
        let key = store.url().rel_key(file.rel)?;

        // --- the existing target ----------------------------------------------------------------
        let there = target.dir.stat(&target.name);
        if there
            .as_ref()
            .is_ok_and(|st| st.kind == fsops::EntryType::Dir)
        {
            return Err(Error::new(
                Code::PreflightTargetDir,
                &dst,
                "the target is a directory",
            ));
        }
        let replaces = there.is_ok_and(|st| st.kind == fsops::EntryType::File);

        // --- decision, free space, temp ---------------------------------------------------------
        let caps = store.capabilities();
        let dst_dir = target.dir.path();
        let dst_kind = self
            .drive_info_cached(dst_dir, true)
            .map(|(k, _)| k)
            .unwrap_or(DriveKind::Unknown);
        let mut decision =
            Decision::new(s, Strategy::Staged, DriveKind::NetworkUnc, dst_kind, size);
        decision.src_kind = caps.drive_kind;
        let chunk = s.staged_chunk.clamp(64 << 10, REQUEST).min(size.max(1));
        decision.chunk = Some(chunk);
        if decision.read_back == ReadBackMode::Device && dst_kind == DriveKind::Ramdisk {
            decision.read_back = ReadBackMode::Cache;
        }
        let need = size.saturating_add(s.free_space_margin);
        if let Ok(free) = self.reserve_space(dst_dir, need, size)
            && free < need
            && (dst_kind.is_local() || dst_kind == DriveKind::Removable)
        {
            return Err(Error::new(
                Code::CopyNoSpace,
                dst_dir,
                format!("needs {need} bytes (size + free_space_margin) but {free} are free"),
            ));
        }
        let tmp_name = match seq {
            Some(seq) => temp::seq_temp_name(&target.name, &self.run_id, seq),
            None => self.temp_for(&target.name),
        };
        let mut job = Job {
            id,
            src: src.to_path_buf(),
            dst: dst.clone(),
            dir: target.dir.clone(),
            name: target.name.clone(),
            src_file: None,
            src_volume: 0,
            size,
            tmp: dst_dir.join(&tmp_name),
            tmp_name,
            times: None,
            extents: None,
            replaces,
            flags: 0,
            decision,
            notices: Vec::new(),
        };
        let tmp_file = self.create_temp(&job)?;
        let mut guard = TempGuard {
            dir: job.dir.clone(),
            name: job.tmp_name.clone(),
            armed: true,
        };
        self.emit_decision(&job);

        // --- the bytes --------------------------------------------------------------------------
        let t_copy = Instant::now();
        // What the store keeps beside the bytes (the modified time, the hash fcs stored): from
        // the first read's answer where it says it (S3), else asked (SFTP keeps nothing beyond
        // the listing's time, and answers at once).
        let mut meta = None;
        let hashing = job.decision.verify == VerifyMode::Hash;
        let mut hasher = select_hasher(s.hash, hashing, s.hash_threads);
        let mut chunks = 0u64;
        let mut off = 0u64;
        let copied = (|| {
            while off < size {
                if self.cancel.is_cancelled() {
                    return Err(cancelled_copy(&dst));
                }
                let end = (off + chunk).min(size);
                let read =
                    |e: Error| failed(format!("the read at offset {off} failed: {}", e.message));
                let data = if off == 0 {
                    let (data, m) = store.read_with_meta(&key, off..end).map_err(read)?;
                    meta = m;
                    data
                } else {
                    store.read(&key, off..end).map_err(read)?
                };
                if data.len() as u64 != end - off {
                    return Err(failed(format!(
                        "the object changed on the server while it was read: it ended at {} bytes, the listing said {size}",
                        off + data.len() as u64
                    )));
                }
                fsops::write_all_at(&tmp_file, &data, off).or_code_with(
                    Code::CopyWrite,
                    &job.tmp,
                    || format!("write failed at offset {off} ({off} bytes written)"),
                )?;
                if let Some(h) = hasher.as_mut() {
                    h.update(&data);
                }
                off = end;
                chunks += 1;
                if self.progress(id, Phase::Copy, off, size).is_break() {
                    return Err(cancelled_copy(&dst));
                }
            }
            Ok(())
        })();
        if let Err(e) = copied {
            drop(tmp_file);
            return Err(guard.discard(e));
        }
        let meta = match meta {
            Some(m) => m,
            None => match store.meta(&key) {
                Ok(m) => m.unwrap_or_default(),
                Err(e) => {
                    drop(tmp_file);
                    return Err(guard.discard(failed(format!(
                        "cannot read the object's metadata: {}",
                        e.message
                    ))));
                }
            },
        };
        let modified = meta.modified.or(file.listed);
        let digest = hasher.map(|h| h.finalize_hex());
        // The hash fcs stored when it uploaded the object: what was sent then must be what
        // arrived now (BLAKE3 only; with hash=sha256 the read-back still checks the local copy).
        if let (Some(stored), Some(got), HashAlgo::Blake3) = (&meta.blake3, &digest, s.hash)
            && !stored.eq_ignore_ascii_case(got)
        {
            drop(tmp_file);
            return Err(guard.discard(failed(format!(
                "the bytes received do not match the BLAKE3 stored with the object ({stored}); got {got}"
            ))));
        }
        let copy_ms = t_copy.elapsed().as_millis() as u64;

        // --- the object's time on the temp (the compare relies on it) ---------------------------
        if s.preserve_times
            && let Some(m) = modified
        {
            let times = fsops::Times {
                accessed: Some(m),
                modified: Some(m),
                created: None,
            };
            if let Err(e) = fsops::set_times(&tmp_file, &times).or_code(
                Code::FinalizeMetadata,
                &job.tmp,
                "cannot set the copy's times",
            ) {
                drop(tmp_file);
                return Err(guard.discard(e));
            }
            job.times = Some((m, m));
        }
        Ok(Prepared {
            job,
            tmp_file,
            guard,
            strategy: Strategy::Staged,
            bytes: size,
            method: fsops::CopyMethod::ReadWrite,
            src_digest: digest,
            windows: chunks,
            flushes: 1,
            copy_ms,
            started,
        })
    }
}
