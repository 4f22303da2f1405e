//! The run journal and the target lock (seed 002, DESIGN.md §8).
//!
//! One SQLite database per job (kind + source root + target root) in the local data folder —
//! never on the target, which may be a network share where WAL does not work. WAL with
//! `synchronous=FULL`: a committed transaction survives a power cut.
//!
//! Write-ahead rule: the whole plan (every action, in execution order, with its sequence number)
//! is journaled in one transaction before the first filesystem step. A file's temp name carries
//! the run's tag and the action's sequence number (`.<name>.<tag>-s<seq>.fcs.tmp`), so the
//! journal knows every temp the run can create without a write per file. Results are journaled
//! in batches, each only after the files it records are durable (file and directory fsynced):
//! the journal never claims more than the disk holds (I3). A move deletes a source only after
//! the batch that records its copy as committed is itself committed.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{Code, Error, IoResultExt};
use crate::settings::Settings;
use crate::stamp::SourceStamp;
use crate::tree::{ActionKind, Plan};

pub use crate::tree::lock::TargetLock;

/// What kind of run a journal records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    /// `fcs sync`: the target made like the source.
    Sync,
    /// `fcs copy`: the source copied into the target.
    Copy,
    /// `fcs move`: copied, verified, then the sources deleted.
    Move,
}

impl RunKind {
    /// The name as the journal stores it and the CLI prints it (`sync`, `copy`, `move`).
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Sync => "sync",
            RunKind::Copy => "copy",
            RunKind::Move => "move",
        }
    }
    fn parse(s: &str) -> Option<RunKind> {
        Some(match s {
            "sync" => RunKind::Sync,
            "copy" => RunKind::Copy,
            "move" => RunKind::Move,
            _ => return None,
        })
    }
}

/// A journaled item's state. Files go planned → committed (→ source-deleted for a move), or
/// failed; the other actions are idempotent and simply redone by a resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemState {
    Planned,
    Committed,
    SourceDeleted,
    Failed,
}

impl ItemState {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Planned => "planned",
            ItemState::Committed => "committed",
            ItemState::SourceDeleted => "source-deleted",
            ItemState::Failed => "failed",
        }
    }
    fn parse(s: &str) -> ItemState {
        match s {
            "committed" => ItemState::Committed,
            "source-deleted" => ItemState::SourceDeleted,
            "failed" => ItemState::Failed,
            _ => ItemState::Planned,
        }
    }
}

/// One result to journal.
#[derive(Debug, Clone)]
pub(crate) struct ItemUpdate {
    pub seq: usize,
    pub state: ItemState,
    pub hash: Option<String>,
    pub strategy: Option<String>,
    pub method: Option<String>,
    pub verified: bool,
    pub ms: u64,
    pub error: Option<String>,
    pub stamp: Option<SourceStamp>,
}

impl ItemUpdate {
    pub fn new(seq: usize, state: ItemState) -> ItemUpdate {
        ItemUpdate {
            seq,
            state,
            hash: None,
            strategy: None,
            method: None,
            verified: false,
            ms: 0,
            error: None,
            stamp: None,
        }
    }
}

/// A journaled action.
#[derive(Debug, Clone)]
pub(crate) struct StoredItem {
    pub seq: usize,
    pub kind: ActionKind,
    pub rel: PathBuf,
    pub size: u64,
    pub state: ItemState,
    #[allow(
        dead_code,
        reason = "journaled with the commit; no step decides on it yet"
    )]
    pub stamp: Option<SourceStamp>,
    /// A rename's old name.
    pub from: Option<PathBuf>,
}

/// An unfinished run, as the journal holds it.
#[derive(Debug, Clone)]
pub(crate) struct StoredRun {
    pub id: i64,
    pub kind: RunKind,
    pub source: PathBuf,
    pub target: PathBuf,
    pub settings: Settings,
    pub tag: String,
    pub started: String,
    #[allow(
        dead_code,
        reason = "journaled for the record; no step decides on it yet"
    )]
    pub pid: u32,
    pub items: Vec<StoredItem>,
}

impl StoredRun {
    /// The plan of the run, in its original order (the sequence numbers are the indexes).
    pub fn plan(&self) -> Plan {
        // Journals written before type-conflict deletes had a kind of their own recorded them
        // as deletes at the very start of the plan.
        let leading = self
            .items
            .iter()
            .take_while(|i| i.kind == ActionKind::Delete)
            .count();
        let conflicts = if leading < self.items.len() {
            leading
        } else {
            0
        };
        Plan {
            source_root: self.source.clone(),
            target_root: self.target.clone(),
            direction: crate::tree::Direction::LeftToRight,
            actions: self
                .items
                .iter()
                .map(|i| crate::tree::Action {
                    kind: if i.seq < conflicts {
                        ActionKind::DeleteConflict
                    } else {
                        i.kind
                    },
                    rel: i.rel.clone(),
                    from: i.from.clone(),
                    size: i.size,
                    reason: "resumed".into(),
                })
                .collect(),
            skipped: vec![],
            capabilities: Default::default(),
        }
    }
}

/// The run journal of one job.
#[derive(Debug)]
pub struct Journal {
    conn: Mutex<Connection>,
    path: PathBuf,
    run: Option<i64>,
    /// Test hook: the `record` calls from this one on fail like a full disk would.
    #[cfg(feature = "test-hooks")]
    pub(crate) fail_records_from: Option<usize>,
    #[cfg(feature = "test-hooks")]
    records: std::sync::atomic::AtomicUsize,
}

static DATA_DIR: std::sync::RwLock<Option<PathBuf>> = std::sync::RwLock::new(None);

/// Makes [`data_dir`] answer `dir` for the rest of the process (an embedding program, or tests
/// that must not touch the user's journals).
pub fn set_data_dir(dir: PathBuf) {
    *DATA_DIR.write().unwrap_or_else(|e| e.into_inner()) = Some(dir);
}

/// The folder holding journals, locks and logs: the one set by [`set_data_dir`], else
/// `FCS_DATA_DIR` if set (portable installs, tests), else the platform's local data folder
/// (`~/.local/share/fcs`, `%LOCALAPPDATA%\fcs`, …).
pub fn data_dir() -> Option<PathBuf> {
    if let Some(d) = DATA_DIR.read().unwrap_or_else(|e| e.into_inner()).clone() {
        return Some(d);
    }
    match std::env::var_os("FCS_DATA_DIR") {
        Some(d) if !d.is_empty() => Some(PathBuf::from(d)),
        _ => dirs::data_local_dir().map(|d| d.join("fcs")),
    }
}

/// A short stable key for a path (or several), for file names.
pub(crate) fn key(parts: &[&[u8]]) -> String {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().to_hex()[..16].to_string()
}

fn jerr(code: Code, path: &Path, what: &str, e: rusqlite::Error) -> Error {
    Error::new(code, path, format!("{what}: {e}"))
}

pub(crate) fn now_text() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

impl Journal {
    /// The folder of job journals.
    pub(crate) fn default_dir() -> Option<PathBuf> {
        data_dir().map(|d| d.join("journal"))
    }

    /// The journal file of a job.
    pub fn job_path(dir: &Path, kind: RunKind, source: &Path, target: &Path) -> PathBuf {
        let k = key(&[
            kind.as_str().as_bytes(),
            &fsops::path_to_bytes(source),
            &fsops::path_to_bytes(target),
        ]);
        dir.join(format!("{}-{k}.sqlite", kind.as_str()))
    }

    /// Opens (creating it and its folder if needed) a journal database.
    pub(crate) fn open(path: &Path) -> Result<Journal, Error> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).or_code(
                Code::JournalOpen,
                dir,
                "cannot create the journal folder",
            )?;
        }
        let open = |p: &Path| -> rusqlite::Result<Connection> {
            let c = Connection::open(p)?;
            c.busy_timeout(std::time::Duration::from_secs(10))?;
            let mode: String = c.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(rusqlite::Error::InvalidParameterName(format!(
                    "the journal cannot use WAL here (mode {mode})"
                )));
            }
            c.execute_batch(
                "PRAGMA synchronous=FULL;
                 CREATE TABLE IF NOT EXISTS run(
                    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, source BLOB NOT NULL,
                    target BLOB NOT NULL, settings TEXT NOT NULL, tag TEXT NOT NULL,
                    state TEXT NOT NULL, pid INTEGER, started TEXT, finished TEXT);
                 CREATE TABLE IF NOT EXISTS item(
                    run INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
                    rel BLOB NOT NULL, size INTEGER NOT NULL, state TEXT NOT NULL,
                    hash TEXT, strategy TEXT, method TEXT, verified INTEGER, ms INTEGER,
                    error TEXT, src_size INTEGER, src_mtime_ns TEXT, src_vol INTEGER,
                    src_file INTEGER, rel_from BLOB, PRIMARY KEY(run, seq)) WITHOUT ROWID;",
            )?;
            // Journals written before renames were planned lack the rename's old name.
            let has_from = c
                .prepare("SELECT 1 FROM pragma_table_info('item') WHERE name = 'rel_from'")?
                .exists([])?;
            if !has_from {
                c.execute_batch("ALTER TABLE item ADD COLUMN rel_from BLOB")?;
            }
            Ok(c)
        };
        let conn = open(path)
            .map_err(|e| jerr(Code::JournalOpen, path, "cannot open the run journal", e))?;
        Ok(Journal {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            run: None,
            #[cfg(feature = "test-hooks")]
            fail_records_from: None,
            #[cfg(feature = "test-hooks")]
            records: Default::default(),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The newest run of this job that did not finish, with its items.
    pub(crate) fn unfinished(&self) -> Result<Option<StoredRun>, Error> {
        let c = self.conn();
        let e = |e| {
            jerr(
                Code::JournalOpen,
                &self.path,
                "cannot read the run journal",
                e,
            )
        };
        let row = c
            .query_row(
                "SELECT id, kind, source, target, settings, tag, started, pid FROM run
                 WHERE state = 'running' ORDER BY id DESC LIMIT 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, Option<String>>(6)?,
                        r.get::<_, Option<i64>>(7)?,
                    ))
                },
            )
            .optional()
            .map_err(e)?;
        let Some((id, kind, source, target, settings, tag, started, pid)) = row else {
            return Ok(None);
        };
        let bad = |what: &str| {
            Error::new(
                Code::JournalOpen,
                &self.path,
                format!("the run journal is damaged ({what}); delete it to start over"),
            )
        };
        let kind = RunKind::parse(&kind).ok_or_else(|| bad("run kind"))?;
        let settings: Settings = serde_json::from_str(&settings).map_err(|_| bad("settings"))?;
        let mut st = c
            .prepare(
                "SELECT seq, kind, rel, size, state, src_size, src_mtime_ns, src_vol, src_file,
                        rel_from
                 FROM item WHERE run = ?1 ORDER BY seq",
            )
            .map_err(e)?;
        let items = st
            .query_map([id], |r| {
                let kind: String = r.get(1)?;
                let stamp = match r.get::<_, Option<i64>>(5)? {
                    Some(size) => Some(SourceStamp {
                        size: size as u64,
                        mtime_ns: r
                            .get::<_, Option<String>>(6)?
                            .and_then(|t| t.parse().ok())
                            .unwrap_or(-1),
                        identity: match (r.get::<_, Option<i64>>(7)?, r.get::<_, Option<i64>>(8)?) {
                            (Some(v), Some(f)) => Some((v as u64, f as u64)),
                            _ => None,
                        },
                    }),
                    None => None,
                };
                Ok(StoredItem {
                    seq: r.get::<_, i64>(0)? as usize,
                    kind: parse_kind(&kind),
                    rel: fsops::path_from_bytes(&r.get::<_, Vec<u8>>(2)?),
                    size: r.get::<_, i64>(3)? as u64,
                    state: ItemState::parse(&r.get::<_, String>(4)?),
                    stamp,
                    from: r
                        .get::<_, Option<Vec<u8>>>(9)?
                        .map(|b| fsops::path_from_bytes(&b)),
                })
            })
            .map_err(e)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(e)?;
        Ok(Some(StoredRun {
            id,
            kind,
            source: fsops::path_from_bytes(&source),
            target: fsops::path_from_bytes(&target),
            settings,
            tag,
            started: started.unwrap_or_default(),
            pid: pid.unwrap_or(0) as u32,
            items,
        }))
    }

    /// Journals a new run and its whole plan in one transaction — before anything is written.
    /// Finished runs' items are dropped first (see the comment inside).
    pub(crate) fn begin(
        &mut self,
        kind: RunKind,
        settings: &Settings,
        tag: &str,
        plan: &Plan,
    ) -> Result<(), Error> {
        let werr = |e| {
            jerr(
                Code::JournalWrite,
                &self.path,
                "cannot write the run journal",
                e,
            )
        };
        let settings = serde_json::to_string(settings).unwrap_or_default();
        let mut c = self.conn();
        let tx = c.transaction().map_err(werr)?;
        // Only an unfinished run is ever read back (to resume it): the items of finished runs
        // go when the next run starts, and of the finished runs themselves the last
        // KEEP_FINISHED_RUNS rows stay. A journal is then as large as its largest recent plan,
        // not the sum of every plan it ever held (a million-file first sync: 88 MiB).
        tx.execute(
            "DELETE FROM item WHERE run IN (SELECT id FROM run WHERE state != 'running')",
            [],
        )
        .map_err(werr)?;
        tx.execute(
            "DELETE FROM run WHERE state != 'running' AND id NOT IN
             (SELECT id FROM run ORDER BY id DESC LIMIT ?1)",
            params![KEEP_FINISHED_RUNS],
        )
        .map_err(werr)?;
        tx.execute(
            "INSERT INTO run(kind, source, target, settings, tag, state, pid, started)
             VALUES (?1, ?2, ?3, ?4, ?5, 'running', ?6, ?7)",
            params![
                kind.as_str(),
                fsops::path_to_bytes(&plan.source_root),
                fsops::path_to_bytes(&plan.target_root),
                settings,
                tag,
                std::process::id(),
                now_text()
            ],
        )
        .map_err(werr)?;
        let run = tx.last_insert_rowid();
        {
            let mut st = tx
                .prepare(
                    "INSERT INTO item(run, seq, kind, rel, size, state, rel_from)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'planned', ?6)",
                )
                .map_err(werr)?;
            for (seq, a) in plan.actions.iter().enumerate() {
                st.execute(params![
                    run,
                    seq as i64,
                    a.kind.as_str(),
                    fsops::path_to_bytes(&a.rel),
                    a.size as i64,
                    a.from.as_deref().map(fsops::path_to_bytes)
                ])
                .map_err(werr)?;
            }
        }
        tx.commit().map_err(werr)?;
        drop(c);
        self.run = Some(run);
        Ok(())
    }

    /// Continues an unfinished run (resume): later updates go to it.
    pub(crate) fn continue_run(&mut self, run: &StoredRun) -> Result<(), Error> {
        self.conn()
            .execute(
                "UPDATE run SET pid = ?1 WHERE id = ?2",
                params![std::process::id(), run.id],
            )
            .map_err(|e| {
                jerr(
                    Code::JournalWrite,
                    &self.path,
                    "cannot write the run journal",
                    e,
                )
            })?;
        self.run = Some(run.id);
        Ok(())
    }

    /// Journals a batch of results in one transaction (one fsync of the WAL).
    pub(crate) fn record(&self, updates: &[ItemUpdate]) -> Result<(), Error> {
        let Some(run) = self.run else { return Ok(()) };
        if updates.is_empty() {
            return Ok(());
        }
        #[cfg(feature = "test-hooks")]
        {
            let n = self
                .records
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if self.fail_records_from.is_some_and(|from| n >= from) {
                return Err(Error::new(
                    Code::JournalWrite,
                    &self.path,
                    "cannot write the run journal: database or disk is full (test hook)",
                ));
            }
        }
        let werr = |e| {
            jerr(
                Code::JournalWrite,
                &self.path,
                "cannot write the run journal",
                e,
            )
        };
        let mut c = self.conn();
        let tx = c.transaction().map_err(werr)?;
        {
            let mut st = tx
                .prepare(
                    "UPDATE item SET state = ?3,
                        hash = COALESCE(?4, hash), strategy = COALESCE(?5, strategy),
                        method = COALESCE(?6, method), verified = ?7, ms = ?8, error = ?9,
                        src_size = COALESCE(?10, src_size),
                        src_mtime_ns = COALESCE(?11, src_mtime_ns),
                        src_vol = COALESCE(?12, src_vol), src_file = COALESCE(?13, src_file)
                     WHERE run = ?1 AND seq = ?2",
                )
                .map_err(werr)?;
            for u in updates {
                let s = u.stamp;
                st.execute(params![
                    run,
                    u.seq as i64,
                    u.state.as_str(),
                    u.hash,
                    u.strategy,
                    u.method,
                    u.verified,
                    u.ms as i64,
                    u.error,
                    s.map(|s| s.size as i64),
                    s.map(|s| s.mtime_ns.to_string()),
                    s.and_then(|s| s.identity).map(|i| i.0 as i64),
                    s.and_then(|s| s.identity).map(|i| i.1 as i64),
                ])
                .map_err(werr)?;
            }
        }
        tx.commit().map_err(werr)
    }

    /// Marks the run finished: `done`, `failed` (it ran to its end; the next sync retries its
    /// failed files from a fresh comparison) or `cancelled` (it stays resumable, like a run
    /// that crashed).
    pub(crate) fn finish(&self, state: &str) -> Result<(), Error> {
        let Some(run) = self.run else { return Ok(()) };
        self.close_run(run, state)
    }

    /// Marks the run `run` of this journal finished (see [`Journal::finish`]).
    pub(crate) fn close_run(&self, run: i64, state: &str) -> Result<(), Error> {
        let db_state = if state == "cancelled" {
            "running"
        } else {
            state
        };
        self.conn()
            .execute(
                "UPDATE run SET state = ?1, finished = ?2 WHERE id = ?3",
                params![db_state, now_text(), run],
            )
            .map(|_| ())
            .map_err(|e| {
                jerr(
                    Code::JournalWrite,
                    &self.path,
                    "cannot write the run journal",
                    e,
                )
            })
    }

    /// The tags of every unfinished run in the journals of `dir`: their temps belong to a run
    /// that a resume will finish, so a sweep leaves them alone.
    pub(crate) fn unfinished_tags(dir: &Path) -> Vec<String> {
        let mut tags = Vec::new();
        for (_, run) in Journal::list_unfinished(dir) {
            tags.push(run.tag);
        }
        tags
    }

    /// Every unfinished run in the journals of `dir`, with its journal's path.
    pub(crate) fn list_unfinished(dir: &Path) -> Vec<(PathBuf, StoredRun)> {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return vec![];
        };
        let mut out = Vec::new();
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "sqlite")
                && let Ok(j) = Journal::open(&p)
                && let Ok(Some(run)) = j.unfinished()
            {
                out.push((p, run));
            }
        }
        out.sort_by(|a, b| a.1.started.cmp(&b.1.started));
        out
    }
}

fn parse_kind(s: &str) -> ActionKind {
    ActionKind::parse(s).unwrap_or(ActionKind::SetDirTimes)
}

/// Rows of finished runs kept in a journal (their items are not: see [`Journal::begin`]).
const KEEP_FINISHED_RUNS: i64 = 100;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{Action, Direction};

    fn plan(root: &Path) -> Plan {
        Plan {
            source_root: root.join("src"),
            target_root: root.join("dst"),
            direction: Direction::LeftToRight,
            actions: vec![
                Action::new(ActionKind::Mkdir, "d".into(), 0, ""),
                Action::new(ActionKind::Copy, "d/f".into(), 5, ""),
            ],
            skipped: vec![],
            capabilities: Default::default(),
        }
    }

    #[test]
    fn a_run_survives_reopening_and_a_cancelled_one_stays_open() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("j.sqlite");
        let mut j = Journal::open(&path).unwrap();
        let settings = Settings {
            workers: 3,
            ..Settings::default()
        };
        j.begin(RunKind::Move, &settings, "abcd", &plan(d.path()))
            .unwrap();
        let mut u = ItemUpdate::new(1, ItemState::Committed);
        u.hash = Some("00ff".into());
        u.stamp = Some(SourceStamp {
            size: 5,
            mtime_ns: 1_700_000_000_123_456_789,
            identity: Some((1, 2)),
        });
        j.record(&[u]).unwrap();
        j.finish("cancelled").unwrap();
        drop(j);

        let j = Journal::open(&path).unwrap();
        let run = j
            .unfinished()
            .unwrap()
            .expect("a cancelled run stays resumable");
        assert_eq!(run.kind, RunKind::Move);
        assert_eq!(run.tag, "abcd");
        assert_eq!(run.settings.workers, 3);
        assert_eq!(run.items.len(), 2);
        assert_eq!(run.items[0].state, ItemState::Planned);
        assert_eq!(run.items[1].state, ItemState::Committed);
        assert_eq!(
            run.items[1].stamp.unwrap().mtime_ns,
            1_700_000_000_123_456_789
        );
        assert_eq!(run.plan().actions[1].rel, Path::new("d/f"));
        let mut j = j;
        j.continue_run(&run).unwrap();
        j.finish("failed").unwrap();
        assert!(
            j.unfinished().unwrap().is_none(),
            "a run that ran to its end is closed"
        );
        assert!(Journal::list_unfinished(d.path()).is_empty());
    }

    /// A journal holds the items of the run in progress only: those of finished runs go when
    /// the next run starts, so it does not grow with every run of the same job.
    #[test]
    fn finished_runs_leave_no_items_behind() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("j.sqlite");
        let mut j = Journal::open(&path).unwrap();
        for tag in ["r1", "r2", "r3"] {
            j.begin(RunKind::Sync, &Settings::default(), tag, &plan(d.path()))
                .unwrap();
            j.finish("done").unwrap();
        }
        let c = j.conn();
        let items: i64 = c
            .query_row("SELECT count(*) FROM item", [], |r| r.get(0))
            .unwrap();
        let runs: i64 = c
            .query_row("SELECT count(*) FROM run", [], |r| r.get(0))
            .unwrap();
        assert_eq!(items, 2, "only the last run's two items");
        assert_eq!(
            runs, 3,
            "the runs themselves are kept (up to {KEEP_FINISHED_RUNS})"
        );
    }

    #[test]
    fn a_second_run_on_the_same_target_is_refused_and_names_the_holder() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("target");
        let first = TargetLock::acquire_in(d.path(), &target).unwrap();
        let e = TargetLock::acquire_in(d.path(), &target).unwrap_err();
        assert_eq!(e.code, Code::JournalLocked);
        assert!(
            e.to_string()
                .contains(&format!("pid={}", std::process::id())),
            "{e}"
        );
        assert!(TargetLock::acquire_in(d.path(), &d.path().join("other")).is_ok());
        drop(first);
        TargetLock::acquire_in(d.path(), &target).expect("released with its holder");
    }

    #[cfg(unix)]
    #[test]
    fn paths_that_are_not_unicode_round_trip() {
        use std::os::unix::ffi::OsStrExt;
        let p = Path::new(std::ffi::OsStr::from_bytes(b"caf\xe9/x"));
        assert_eq!(fsops::path_from_bytes(&fsops::path_to_bytes(p)), p);
    }
}
