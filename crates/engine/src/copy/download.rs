//! A download: a file of remote storage copied into a local folder with the guarantees of a local
//! copy. Its bytes are read in ranged requests into a temp beside the target and hashed as they
//! are written; where fcs stored a BLAKE3 with the object when it uploaded it, the bytes must
//! match it (corruption on the server or on the way is refused, not copied); the object's modified
//! time goes on the temp. From there it is any copy's tail (`commit`): the temp made durable, read
//! back from the medium and held to the digest, then renamed over the target.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Instant, SystemTime};

use fsops::DriveKind;

use super::{Copier, Job, NEXT_ID, PendingFile, Prepared, Target, TempGuard, cancelled_copy};
use crate::error::{Code, Error, IoResultExt};
use crate::events::{Event, Phase};
use crate::hash::select_hasher;
use crate::remote::Store;
use crate::settings::HashAlgo;
use crate::strategy::{Decision, ReadBackMode, Strategy, VerifyMode};

/// One request of a download at most this long: many files are in flight at once, and a big
/// one holds up to twice `remote_streams` such buffers (latency is hidden by requests in
/// flight, not by huge requests).
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
        let tmp_name = self.temp_name(target, seq);
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
        let copied = (|| {
            // Each chunk, in order: checked, written, hashed, reported.
            let mut take = |off: u64, data: Result<Vec<u8>, Error>| -> Result<(), Error> {
                if self.cancel.is_cancelled() {
                    return Err(cancelled_copy(&dst));
                }
                let end = (off + chunk).min(size);
                let data = data.map_err(|e| {
                    failed(format!("the read at offset {off} failed: {}", e.message))
                })?;
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
                chunks += 1;
                if self.progress(id, Phase::Copy, end, size).is_break() {
                    return Err(cancelled_copy(&dst));
                }
                Ok(())
            };
            if size == 0 {
                return Ok(());
            }
            // The first chunk alone: its answer carries the object's metadata (S3).
            let first = store
                .read_with_meta(&key, 0..chunk.min(size))
                .map(|(data, m)| {
                    meta = m;
                    data
                });
            take(0, first)?;
            // The rest with `remote_streams` requests in flight: one request at a time would
            // leave a big object waiting on the round trip of every chunk.
            read_in_order(
                store,
                &key,
                chunk.min(size)..size,
                chunk,
                (s.remote_streams as usize).max(1),
                take,
            )
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
            dst_digest: None,
            read_back: None,
            windows: chunks,
            flushes: 1,
            copy_ms,
            started,
        })
    }
}

/// Reads `range` of the object `key` in `chunk`-sized requests, `streams` of them in flight, and
/// hands each answer to `take` in order of offset. At most twice `streams` chunks are held at
/// once; the first error `take` returns stops the reads.
fn read_in_order(
    store: &dyn Store,
    key: &str,
    range: Range<u64>,
    chunk: u64,
    streams: usize,
    mut take: impl FnMut(u64, Result<Vec<u8>, Error>) -> Result<(), Error>,
) -> Result<(), Error> {
    let n = (range.end - range.start).div_ceil(chunk);
    let at = |i: u64| range.start + i * chunk;
    if streams <= 1 || n <= 1 {
        for i in 0..n {
            let off = at(i);
            take(off, store.read(key, off..(off + chunk).min(range.end)))?;
        }
        return Ok(());
    }
    /// Answers waiting for their turn, and how many were taken.
    struct Shelf {
        ready: BTreeMap<u64, Result<Vec<u8>, Error>>,
        taken: u64,
        stop: bool,
    }
    let shelf = Mutex::new(Shelf {
        ready: BTreeMap::new(),
        taken: 0,
        stop: false,
    });
    let changed = Condvar::new();
    let next = AtomicU64::new(0);
    let ahead = 2 * streams as u64;
    let lock = || shelf.lock().unwrap_or_else(|e| e.into_inner());
    std::thread::scope(|s| {
        for _ in 0..streams.min(n as usize) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    {
                        let mut g = lock();
                        while !g.stop && i >= g.taken + ahead {
                            g = changed.wait(g).unwrap_or_else(|e| e.into_inner());
                        }
                        if g.stop {
                            break;
                        }
                    }
                    let off = at(i);
                    let r = store.read(key, off..(off + chunk).min(range.end));
                    lock().ready.insert(i, r);
                    changed.notify_all();
                }
            });
        }
        let result = (|| {
            for i in 0..n {
                let r = {
                    let mut g = lock();
                    loop {
                        if let Some(r) = g.ready.remove(&i) {
                            break r;
                        }
                        g = changed.wait(g).unwrap_or_else(|e| e.into_inner());
                    }
                };
                take(at(i), r)?;
                lock().taken = i + 1;
                changed.notify_all();
            }
            Ok(())
        })();
        if result.is_err() {
            lock().stop = true;
            changed.notify_all();
        }
        result
    })
}
