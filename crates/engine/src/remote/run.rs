//! A tree run onto a [`Store`]: its listing made a [`Scan`] (so compare and plan are the local
//! ones), and the plan's copies executed as uploads — STAGED, hashed while read, verified by
//! reading the object back — with the events and summary of a local run.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use super::{Meta, ObjectKind, Store};
use crate::error::{Code, Error};
use crate::events::{CancelToken, Event, Notice, NoticeKind, Outcome, Perf, Phase, Reporter};
use crate::settings::{DeleteMode, HashAlgo, Settings};
use crate::strategy::{Decision, ReadBackMode, Strategy, VerifyMode};
use crate::summary::Summary;
use crate::tree::journal::{ItemState, ItemUpdate, Journal};
use crate::tree::{ActionKind, Entry, EntryKind, Plan, Scan, path_order};

/// The listing of `store` as the scan of a folder: its objects as files (with the modified
/// time kept in their metadata where it matters) and the folders their keys imply; beside it,
/// the BLAKE3 stored with those objects whose metadata was read.
///
/// An object's metadata costs a request of its own (a listing does not carry it), so it is
/// fetched — `threads` at once — only for objects whose size equals the source file's of the
/// same name (`source`): those whose size differs are copied whatever their time.
pub(crate) fn list_as_scan(
    store: &dyn Store,
    source: Option<&Scan>,
    threads: usize,
    cancel: &CancelToken,
) -> Result<(Scan, HashMap<PathBuf, String>), Error> {
    let objects = store.list(cancel)?;
    let times: std::collections::HashMap<PathBuf, SystemTime> = objects
        .iter()
        .filter(|o| o.kind == ObjectKind::Folder)
        .map(|o| (PathBuf::from(&o.rel), o.stored))
        .collect();
    let mut entries = Vec::with_capacity(objects.len());
    let mut folders: HashSet<PathBuf> = HashSet::new();
    for o in objects {
        let rel = PathBuf::from(&o.rel);
        let mut parent = rel.parent();
        while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
            if !folders.insert(p.to_path_buf()) {
                break;
            }
            parent = p.parent();
        }
        match o.kind {
            ObjectKind::File => entries.push(entry(rel, EntryKind::File, o.size, Some(o.stored))),
            ObjectKind::Link => entries.push(entry(rel, EntryKind::Symlink, 0, Some(o.stored))),
            ObjectKind::Folder => {
                folders.insert(rel);
            }
        }
    }
    // A key that is also a folder of other keys ("a" and "a/b"): the folder wins, as it does
    // when such a bucket is mounted; the object is left alone.
    entries.retain(|e| !folders.contains(&*e.rel));
    entries.extend(folders.into_iter().map(|f| {
        let t = times.get(&f).copied();
        entry(f, EntryKind::Dir, 0, t)
    }));
    entries.sort_by(|a, b| path_order(&a.rel, &b.rel));

    let mut hashes = HashMap::new();
    if let Some(src) = source {
        let wanted: Vec<usize> = {
            let mut i = 0;
            let mut out = Vec::new();
            for (n, e) in entries.iter().enumerate() {
                if e.kind != EntryKind::File {
                    continue;
                }
                while i < src.entries.len()
                    && path_order(&src.entries[i].rel, &e.rel) == std::cmp::Ordering::Less
                {
                    i += 1;
                }
                if let Some(s) = src.entries.get(i)
                    && s.rel == e.rel
                    && s.kind == EntryKind::File
                    && s.size == e.size
                {
                    out.push(n);
                }
            }
            out
        };
        let next = AtomicUsize::new(0);
        let found: Mutex<Vec<(usize, Option<Meta>)>> = Mutex::new(Vec::new());
        let failed: Mutex<Option<Error>> = Mutex::new(None);
        std::thread::scope(|s| {
            for _ in 0..threads.clamp(1, 64).min(wanted.len().max(1)) {
                s.spawn(|| {
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&n) = wanted.get(k) else { break };
                        if cancel.is_cancelled() {
                            break;
                        }
                        let rel = entries[n].rel.to_string_lossy().replace('\\', "/");
                        match store.meta(&rel) {
                            Ok(m) => found.lock().unwrap_or_else(|e| e.into_inner()).push((n, m)),
                            Err(e) => {
                                failed
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .get_or_insert(e);
                                break;
                            }
                        }
                    }
                });
            }
        });
        if let Some(e) = failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(e);
        }
        for (n, m) in found.into_inner().unwrap_or_else(|e| e.into_inner()) {
            let Some(m) = m else { continue };
            if m.modified.is_some() {
                entries[n].modified = m.modified;
            }
            if let Some(h) = m.blake3 {
                hashes.insert(entries[n].rel.to_path_buf(), h);
            }
        }
    }
    let scan = Scan {
        root: PathBuf::from(store.url().to_string()),
        entries,
        cancelled: cancel.is_cancelled(),
        ..Scan::default()
    };
    Ok((scan, hashes))
}

fn entry(rel: PathBuf, kind: EntryKind, size: u64, modified: Option<SystemTime>) -> Entry {
    Entry {
        rel: rel.into_boxed_path(),
        kind,
        size,
        modified,
        created: None,
        mode: 0,
        uid: 0,
        gid: 0,
        more: None,
    }
}

/// Where and how a plan runs onto remote storage.
#[derive(Clone, Copy)]
pub(crate) struct Target<'a> {
    pub store: &'a dyn Store,
    /// What the store's listing held (to delete a folder whole, and folders as folders).
    pub listing: &'a [(PathBuf, EntryKind)],
    pub settings: &'a Settings,
    /// Files in flight.
    pub threads: usize,
    /// The job's journal: every file's result is recorded (in batches; at once before a
    /// move deletes its source).
    pub journal: Option<&'a Journal>,
    /// A move: each source file is deleted once its object is committed, verified and
    /// journaled, then the source folders left empty.
    pub move_sources: bool,
}

/// Results waiting for the journal: written when this many are waiting, or this long after
/// the last write (one transaction, one fsync each).
const JOURNAL_BATCH: usize = 64;
const JOURNAL_EVERY: Duration = Duration::from_millis(500);

/// What the workers of one run share.
struct Ctx<'a> {
    store: &'a dyn Store,
    plan: &'a Plan,
    settings: &'a Settings,
    reporter: &'a dyn Reporter,
    cancel: &'a CancelToken,
    journal: Option<&'a Journal>,
    move_sources: bool,
    /// Results not journaled yet, and when the journal was last written.
    unjournaled: Mutex<(Vec<ItemUpdate>, Instant)>,
    /// The journal failed: the run stops (it stays resumable).
    stopped: AtomicBool,
    ids: AtomicU64,
    src_kind: &'static str,
    sum: Mutex<Summary>,
}

/// Runs `plan` (made against [`list_as_scan`]'s listing) onto `target.store`: `threads`
/// files at once. Per-file failures are in the summary; the run goes on with the other files.
pub(crate) fn execute(
    plan: &Plan,
    target: &Target<'_>,
    reporter: &dyn Reporter,
    cancel: &CancelToken,
) -> Summary {
    let Target {
        store,
        listing,
        settings,
        threads,
        journal,
        move_sources,
    } = *target;
    let started = Instant::now();
    let ctx = Ctx {
        store,
        plan,
        settings,
        reporter,
        cancel,
        journal,
        move_sources,
        unjournaled: Mutex::new((Vec::new(), Instant::now())),
        stopped: AtomicBool::new(false),
        ids: AtomicU64::new(1),
        src_kind: fsops::drive_info(&plan.source_root)
            .map(|i| i.kind.as_str())
            .unwrap_or("UNKNOWN"),
        sum: Mutex::new(Summary::default()),
    };
    {
        let mut sum = ctx.sum();
        sum.skipped = plan.skipped.len() as u64;
        // Refusals that are errors (a link in the target's way, two source names that one
        // target name would hold) count as failed, as in a local run.
        for s in plan.skipped.iter() {
            if let Some(code) = s.code {
                let path = match code {
                    Code::TreeSymlinkInPath => store.url().display_path(&s.rel),
                    _ => plan.source_root.join(&s.rel),
                };
                sum.fail(&Error::new(code, &path, s.reason.clone()));
            }
        }
    }
    let (files, bytes) = plan.copy_totals();
    reporter.report(&Event::RunStarted {
        actions: plan.actions.len() as u64,
        files,
        bytes,
    });
    let notice = |message: String| {
        reporter.report(&Event::Notice {
            id: 0,
            path: plan.target_root.clone(),
            notice: Notice {
                kind: NoticeKind::MetadataNotKept,
                message,
            },
        })
    };
    match store.sweep() {
        Ok(0) => {}
        Ok(n) => reporter.report(&Event::Notice {
            id: 0,
            path: plan.target_root.clone(),
            notice: Notice {
                kind: NoticeKind::TempsSwept,
                message: format!(
                    "{n} unfinished upload{} an interrupted run left here {} aborted",
                    if n == 1 { "" } else { "s" },
                    if n == 1 { "was" } else { "were" }
                ),
            },
        }),
        Err(e) => ctx.fail(&e),
    }

    let of = |k: ActionKind| plan.actions.iter().filter(move |a| a.kind == k);
    // A target object where the source has a folder goes first, so the folder's keys can be
    // written (a bucket holds "a" and "a/b" side by side, but no folder could).
    let caps = store.capabilities();
    let folder_set: HashSet<&Path> = listing
        .iter()
        .filter(|(_, k)| *k == EntryKind::Dir)
        .map(|(p, _)| p.as_path())
        .collect();
    for a in of(ActionKind::DeleteConflict) {
        // The whole item: a folder's files and links, then its folders deepest first.
        let mut below: Vec<&(PathBuf, EntryKind)> = listing
            .iter()
            .filter(|(p, _)| p.starts_with(&a.rel))
            .collect();
        below.sort_by_key(|(p, k)| {
            (
                *k == EntryKind::Dir,
                std::cmp::Reverse(p.components().count()),
            )
        });
        for (p, k) in below {
            ctx.delete(p, *k == EntryKind::Dir);
        }
    }
    if caps.folders {
        for a in of(ActionKind::Mkdir) {
            let r = ctx.key(&a.rel).and_then(|k| store.mkdir(&k));
            match r {
                Ok(()) => ctx.sum().dirs_created += 1,
                Err(e) => ctx.fail(&e),
            }
        }
    }
    let copies: Vec<_> = plan
        .actions
        .iter()
        .enumerate()
        .filter(|(_, a)| matches!(a.kind, ActionKind::Copy | ActionKind::Replace))
        .collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, 256).min(copies.len().max(1)) {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some((seq, a)) = copies.get(k) else { break };
                    if ctx.halted() {
                        break;
                    }
                    ctx.upload(*seq, &a.rel, a.size);
                }
            });
        }
    });
    ctx.flush_journal();
    if move_sources && !ctx.halted() {
        ctx.remove_empty_source_folders();
    }
    let links = of(ActionKind::Symlink).count();
    if links > 0 {
        notice(format!(
            "{links} symbolic link{} not copied: remote targets take no links yet (follow_symlinks=true copies what they point to)",
            if links == 1 { " was" } else { "s were" }
        ));
        ctx.sum().skipped += links as u64;
    }
    if !ctx.halted() {
        // Files and links first, then folders, deepest first (each empty by then).
        let mut deletes: Vec<_> = of(ActionKind::Delete)
            .map(|a| (a.rel.as_path(), folder_set.contains(a.rel.as_path())))
            .collect();
        deletes.sort_by_key(|(p, dir)| (*dir, std::cmp::Reverse(p.components().count())));
        for (rel, dir) in deletes {
            if ctx.halted() {
                break;
            }
            ctx.delete(rel, dir);
        }
    }
    if caps.folders && settings.preserve_times && !ctx.halted() {
        for a in of(ActionKind::SetDirTimes) {
            let t = std::fs::metadata(plan.source_root.join(&a.rel)).and_then(|m| m.modified());
            let Ok(t) = t else { continue };
            if let Err(e) = ctx.key(&a.rel).and_then(|k| store.set_folder_time(&k, t)) {
                ctx.fail(&e);
            }
        }
    }
    let mut sum = ctx.sum.into_inner().unwrap_or_else(|e| e.into_inner());
    sum.cancelled |= cancel.is_cancelled();
    if ctx.stopped.load(Ordering::Relaxed) {
        sum.cancelled = true;
    }
    sum.elapsed_ms = started.elapsed().as_millis() as u64;
    reporter.report(&Event::RunFinished {
        summary: sum.clone(),
    });
    sum
}

impl Ctx<'_> {
    fn sum(&self) -> std::sync::MutexGuard<'_, Summary> {
        self.sum.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fail(&self, e: &Error) {
        self.sum().fail(e);
    }

    /// Cancelled, or stopped by a journal that cannot be written.
    fn halted(&self) -> bool {
        self.cancel.is_cancelled() || self.stopped.load(Ordering::Relaxed)
    }

    /// Journals `u`, in a batch with others unless `now` (a move's source goes only once its
    /// object's commit is on record). `false` when the journal failed: the run stops.
    fn journal(&self, u: ItemUpdate, now: bool) -> bool {
        let Some(j) = self.journal else { return true };
        let batch = {
            let mut w = self.unjournaled.lock().unwrap_or_else(|e| e.into_inner());
            w.0.push(u);
            if !now && w.0.len() < JOURNAL_BATCH && w.1.elapsed() < JOURNAL_EVERY {
                return true;
            }
            w.1 = Instant::now();
            std::mem::take(&mut w.0)
        };
        self.record(j, &batch)
    }

    fn flush_journal(&self) {
        let Some(j) = self.journal else { return };
        let batch =
            std::mem::take(&mut self.unjournaled.lock().unwrap_or_else(|e| e.into_inner()).0);
        self.record(j, &batch);
    }

    fn record(&self, j: &Journal, batch: &[ItemUpdate]) -> bool {
        match j.record(batch) {
            Ok(()) => true,
            Err(e) => {
                if !self.stopped.swap(true, Ordering::Relaxed) {
                    self.fail(&e);
                }
                false
            }
        }
    }

    /// A move: the source of an object committed, verified and journaled is deleted, if it is
    /// still the file that was sent (`sent`: its size and modified time before the upload).
    fn delete_source(&self, seq: usize, src: &Path, sent: (u64, Option<SystemTime>)) {
        let kept = |why: String| {
            Error::new(
                Code::MoveSourceKept,
                src,
                format!("the copy is in place, but the source was kept: {why}"),
            )
        };
        let now = std::fs::symlink_metadata(src);
        let result = match now {
            Ok(m) if m.is_file() && (m.len(), m.modified().ok()) == sent => {
                std::fs::remove_file(src).map_err(|e| kept(format!("it cannot be deleted ({e})")))
            }
            Ok(_) => Err(kept(
                "it changed after it was sent (size or modified time)".into(),
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(kept(format!("it cannot be read ({e})"))),
        };
        match result {
            Ok(()) => {
                self.sum().sources_deleted += 1;
                self.journal(ItemUpdate::new(seq, ItemState::SourceDeleted), false);
            }
            Err(e) => self.fail(&e),
        }
    }

    /// A move: the source's folders that the move emptied, deepest first (a folder still
    /// holding something — a file that failed, or was kept — stays, as `mv` leaves it).
    fn remove_empty_source_folders(&self) {
        let mut dirs: Vec<&Path> = self
            .plan
            .actions
            .iter()
            .filter(|a| a.kind == ActionKind::SetDirTimes || a.kind == ActionKind::Mkdir)
            .map(|a| a.rel.as_path())
            .filter(|r| !r.as_os_str().is_empty())
            .collect();
        dirs.sort_by_key(|r| std::cmp::Reverse(r.components().count()));
        dirs.dedup();
        for rel in dirs {
            // `remove_dir` removes only an empty folder, and never follows a link.
            let _ = std::fs::remove_dir(self.plan.source_root.join(rel));
        }
        let _ = std::fs::remove_dir(&self.plan.source_root);
    }

    fn key(&self, rel: &Path) -> Result<String, Error> {
        self.store.url().rel_key(rel)
    }

    fn delete(&self, rel: &Path, folder: bool) {
        let shown = self.store.url().display_path(rel);
        match self.key(rel).and_then(|k| self.store.delete(&k, folder)) {
            Ok(()) if folder && !self.store.capabilities().folders => {}
            Ok(()) => {
                self.reporter.report(&Event::Deleted {
                    path: shown,
                    mode: DeleteMode::Permanent,
                });
                self.sum().deleted += 1;
            }
            Err(e) => self.fail(&e),
        }
    }

    /// One file: read, hashed and sent in chunks, committed, read back and compared.
    fn upload(&self, seq: usize, rel: &Path, planned: u64) {
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        let src = self.plan.source_root.join(rel);
        let dst = self.store.url().display_path(rel);
        self.reporter.report(&Event::FileStarted {
            id,
            src: src.clone(),
            dst: dst.clone(),
            size: planned,
        });
        let mut decision = Decision::new(
            self.settings,
            Strategy::Staged,
            fsops::DriveKind::LocalFixed,
            fsops::DriveKind::NetworkUnc,
            planned,
        );
        decision.src_kind = self.src_kind;
        decision.dst_kind = self.store.capabilities().drive_kind;
        decision.chunk = Some(self.store.capabilities().part_size);
        decision.algo = decision.algo.map(|_| HashAlgo::Blake3);
        decision.read_back = if decision.verify == VerifyMode::None {
            ReadBackMode::NotApplicable
        } else {
            ReadBackMode::Device
        };
        self.reporter.report(&Event::Decision {
            id,
            line: decision.to_string(),
            decision: decision.clone(),
        });
        let started = Instant::now();
        let result = self.send(
            id,
            rel,
            &src,
            &dst,
            planned,
            decision.verify != VerifyMode::None,
        );
        let outcome = match &result {
            Ok(t) => Outcome::Committed {
                verified: t.verified,
            },
            Err(e) if e.is_cancelled() => Outcome::Cancelled { code: e.code },
            Err(e) => Outcome::Failed {
                code: e.code,
                message: e.to_string(),
            },
        };
        let perf = result.as_ref().ok().map(|t| Perf {
            bytes: t.bytes,
            elapsed_ms: started.elapsed().as_millis() as u64,
            copy_ms: t.copy_ms,
            verify_ms: t.verify_ms,
            windows: 0,
            flushes: 0,
            strategy: Strategy::Staged,
            verify: decision.verify.as_str(),
            method: fsops::CopyMethod::ReadWrite,
        });
        let perf_line = perf
            .as_ref()
            .filter(|_| self.settings.perf_log)
            .map(|p| p.to_string());
        self.reporter.report(&Event::FileFinished {
            id,
            src: src.clone(),
            dst,
            outcome,
            perf,
            perf_line,
        });
        let ms = started.elapsed().as_millis() as u64;
        let update = match &result {
            Ok(t) => ItemUpdate {
                hash: Some(t.hash.clone()),
                strategy: Some(Strategy::Staged.as_str().to_string()),
                method: Some(fsops::CopyMethod::ReadWrite.as_str().to_string()),
                verified: t.verified,
                ms,
                ..ItemUpdate::new(seq, ItemState::Committed)
            },
            Err(e) if e.is_cancelled() => ItemUpdate::new(seq, ItemState::Planned),
            Err(e) => ItemUpdate {
                error: Some(e.to_string()),
                ms,
                ..ItemUpdate::new(seq, ItemState::Failed)
            },
        };
        {
            let mut sum = self.sum();
            match &result {
                Ok(t) => {
                    sum.copied += 1;
                    sum.verified += t.verified as u64;
                    sum.bytes += t.bytes;
                    sum.staged += 1;
                }
                Err(e) if e.is_cancelled() => sum.cancelled = true,
                Err(e) => sum.fail(e),
            }
        }
        if update.state == ItemState::Planned {
            return;
        }
        let move_it = self.move_sources && update.state == ItemState::Committed;
        // A move deletes only what was verified, and only once the journal says it is stored.
        if self.journal(update, move_it)
            && move_it
            && let Ok(t) = &result
        {
            if t.verified {
                self.delete_source(seq, &src, t.stamp);
            } else {
                self.fail(&Error::new(
                    Code::MoveSourceKept,
                    &src,
                    "the copy is in place, but the source was kept: it was not verified (verify_policy)",
                ));
            }
        }
    }

    fn send(
        &self,
        id: u64,
        rel: &Path,
        src: &Path,
        dst: &Path,
        planned: u64,
        verify: bool,
    ) -> Result<Sent, Error> {
        let key = self.key(rel)?;
        let caps = self.store.capabilities();
        let open = || {
            File::open(src)
                .map_err(|e| Error::io(Code::PreflightSource, src, "cannot open the source", e))
        };
        let mut file = open()?;
        let stamp = |f: &File| {
            f.metadata()
                .map(|m| (m.len(), m.modified().ok()))
                .map_err(|e| Error::io(Code::CopyRead, src, "cannot read the source's metadata", e))
        };
        let before = stamp(&file)?;
        if before.0 != planned {
            return Err(changed(src));
        }
        let chunk = self.settings.staged_chunk.clamp(64 << 10, caps.part_size) as usize;
        let copy_started = Instant::now();
        // Below the store's multipart size a file goes in one request, read whole first. Above
        // it, it is streamed in parts; a store that keeps our hash beside the object (S3) names
        // it when the upload starts, so the hash is read first (as rclone reads its MD5). A
        // source that changes after that changes its size or time (checked before the commit),
        // and the read-back compares what was stored with this hash.
        let whole = planned < caps.multipart_threshold;
        let known = if !whole && caps.keeps_hash {
            Some(self.hash_file(&mut file, src, chunk)?)
        } else {
            None
        };
        let mut data = Vec::new();
        if whole {
            data.reserve_exact(planned as usize);
            (&mut file)
                .take(planned + 1)
                .read_to_end(&mut data)
                .map_err(|e| Error::io(Code::CopyRead, src, "cannot read the source", e))?;
            if data.len() as u64 != planned {
                return Err(changed(src));
            }
        }
        let early = match (&known, whole) {
            (Some(h), _) => Some(h.clone()),
            (None, true) => Some(blake3::hash(&data).to_hex().to_string()),
            (None, false) => None,
        };
        let meta = Meta {
            modified: if self.settings.preserve_times {
                before.1
            } else {
                None
            },
            blake3: early.clone(),
        };
        let mut up = self.store.upload(&key, planned, &meta)?;
        let hash = if whole {
            up.write(data)?;
            early.unwrap_or_default()
        } else {
            if known.is_some() {
                file = open()?;
            }
            // Hashed while sent, unless it was hashed already.
            let mut h = known.is_none().then(blake3::Hasher::new);
            let mut done = 0u64;
            // Read in whole parts, each buffer handed to the upload as it is (no copy).
            let part = caps.part_size;
            loop {
                if self.cancel.is_cancelled() {
                    up.abort();
                    return Err(Error::new(Code::CopyCancelled, src, "cancelled"));
                }
                let want = part.min(planned.saturating_sub(done).max(1));
                let mut buf = Vec::with_capacity(want as usize);
                let n = (&mut file)
                    .take(want)
                    .read_to_end(&mut buf)
                    .map_err(|e| Error::io(Code::CopyRead, src, "cannot read the source", e));
                let n = match n {
                    Ok(n) => n,
                    Err(e) => {
                        up.abort();
                        return Err(e);
                    }
                };
                if n == 0 {
                    break;
                }
                if let Some(h) = &mut h {
                    h.update(&buf);
                }
                up.write(buf)?;
                done += n as u64;
                self.progress(id, Phase::Copy, done, planned);
            }
            if done != planned {
                up.abort();
                return Err(changed(src));
            }
            match (known, h) {
                (Some(k), _) => k,
                (None, Some(h)) => h.finalize().to_hex().to_string(),
                (None, None) => String::new(),
            }
        };
        if stamp(&file)? != before || stamp(&open()?)? != before {
            up.abort();
            return Err(changed(src));
        }
        if self.cancel.is_cancelled() {
            up.abort();
            return Err(Error::new(Code::CopyCancelled, src, "cancelled"));
        }
        up.commit()?;
        if whole {
            self.progress(id, Phase::Copy, planned, planned);
        }
        let copy_ms = copy_started.elapsed().as_millis() as u64;
        let verify_started = Instant::now();
        if verify {
            self.read_back(id, &key, dst, planned, &hash)?;
        }
        Ok(Sent {
            bytes: planned,
            verified: verify,
            copy_ms,
            verify_ms: verify_started.elapsed().as_millis() as u64,
            hash,
            stamp: before,
        })
    }

    fn hash_file(&self, file: &mut File, src: &Path, chunk: usize) -> Result<String, Error> {
        let mut h = blake3::Hasher::new();
        let mut buf = vec![0u8; chunk];
        loop {
            if self.cancel.is_cancelled() {
                return Err(Error::new(Code::CopyCancelled, src, "cancelled"));
            }
            let n = read_full(file, &mut buf)
                .map_err(|e| Error::io(Code::CopyRead, src, "cannot read the source", e))?;
            if n == 0 {
                return Ok(h.finalize().to_hex().to_string());
            }
            h.update(&buf[..n]);
        }
    }

    /// The object read back from the server in parts, hashed, and compared with the source's
    /// hash. A mismatch deletes the object: what is under the name is not what was sent.
    fn read_back(
        &self,
        id: u64,
        key: &str,
        dst: &Path,
        size: u64,
        want: &str,
    ) -> Result<(), Error> {
        let part = self.store.capabilities().part_size;
        let streams = self.settings.remote_streams.max(1) as u64;
        let mut h = blake3::Hasher::new();
        let mut at = 0u64;
        // `remote_streams` ranges in flight (a round trip each), hashed in order.
        while at < size {
            if self.cancel.is_cancelled() {
                return Err(Error::new(
                    Code::VerifyCancelled,
                    dst,
                    "cancelled while verifying; the object is stored but not verified",
                ));
            }
            let ranges: Vec<_> = (0..streams)
                .map(|k| at + k * part)
                .take_while(|&s| s < size)
                .map(|s| s..(s + part).min(size))
                .collect();
            let got: Vec<Result<Vec<u8>, Error>> = if ranges.len() == 1 {
                vec![self.store.read(key, ranges[0].clone())]
            } else {
                std::thread::scope(|sc| {
                    let hs: Vec<_> = ranges
                        .iter()
                        .map(|r| sc.spawn(|| self.store.read(key, r.clone())))
                        .collect();
                    hs.into_iter()
                        .map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                        .collect()
                })
            };
            for (r, bytes) in ranges.iter().zip(got) {
                let bytes = bytes?;
                if bytes.len() as u64 != r.end - r.start {
                    return Err(Error::new(
                        Code::VerifyHashMismatch,
                        dst,
                        format!(
                            "'{}' is shorter on the server than the file sent",
                            dst.display()
                        ),
                    ));
                }
                h.update(&bytes);
                at = r.end;
                self.progress(id, Phase::Verify, at, size);
            }
        }
        let got = h.finalize().to_hex();
        if got.as_str() != want {
            let _ = self.store.delete(key, false);
            return Err(Error::new(
                Code::VerifyHashMismatch,
                dst,
                format!(
                    "'{}' read back from the server has BLAKE3 {got}, the file sent {want}; the object was deleted",
                    dst.display()
                ),
            ));
        }
        Ok(())
    }

    fn progress(&self, id: u64, phase: Phase, done: u64, total: u64) {
        self.reporter.report(&Event::Progress {
            id,
            phase,
            done,
            total,
        });
    }
}

/// What one upload did.
struct Sent {
    bytes: u64,
    verified: bool,
    copy_ms: u64,
    verify_ms: u64,
    /// The file's BLAKE3 (hex).
    hash: String,
    /// The source's size and modified time before it was read.
    stamp: (u64, Option<SystemTime>),
}

fn changed(src: &Path) -> Error {
    Error::new(
        Code::CopySourceChanged,
        src,
        format!(
            "'{}' changed while it was uploaded; nothing was stored under its name",
            src.display()
        ),
    )
}

/// Reads until `buf` is full or the file ends.
fn read_full(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
