//! A tree run — sync, copy, move, or the resume of an interrupted one — from its roots and
//! settings to its summary, in the one order every front end gets:
//!
//! ```text
//! Run::new(kind, source, target, &settings)   roots, settings, criteria, filter, options
//!   .prepare(reporter, cancel)?  -> Prepared  roots checked, target locked, an interrupted run
//!                                             of the same job finished, stale temps found,
//!                                             both trees scanned and compared, the plan built
//! prepared.plan()                             what `--dry-run` prints; a front end may narrow it
//!                                             (`select`, `select_deletes`)
//! prepared.execute()?  -> Summary             plan journaled, temps swept, target created,
//!                                             executed, manifest written, journal closed
//! ```
//!
//! A plan is always made after the resume that precedes it: the resume changes the target, so a
//! comparison made before it (a front end's, passed with [`Run::comparison`]) is used only when
//! there was nothing to resume.
//!
//! ```no_run
//! use std::sync::Arc;
//! use engine::{CancelToken, NullReporter, Settings};
//! use engine::tree::{Run, RunKind};
//!
//! let run = Run::new(RunKind::Sync, "photos", "/mnt/backup/photos", &Settings::default())
//!     .delete(true);
//! let prepared = run.prepare(Arc::new(NullReporter), CancelToken::new())?;
//! println!("{} actions", prepared.plan().actions.len());
//! let summary = prepared.execute()?;
//! println!("copied {}, failed {}", summary.copied, summary.failed);
//! # Ok::<(), engine::Error>(())
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::copy::Copier;
use crate::error::{Code, Error};
use crate::events::{CancelToken, Event, Notice, Reporter};
use crate::remote::{self, Store, Url};
use crate::settings::{DeleteMode, Settings, Sparse};
use crate::summary::Summary;
use crate::tree::compare::{CompareIssue, Comparison, Criteria};
use crate::tree::execute::{ExecOptions, execute};
use crate::tree::filter::Filter;
use crate::tree::job::Job;
use crate::tree::journal::{Journal, RunKind, StoredRun};
use crate::tree::names::Twins;
use crate::tree::plan::{Direction, Plan, PlanOptions};
use crate::tree::resume::Resumed;
use crate::tree::scan::ScanIssue;
use crate::tree::{
    check_roots, compare_remote, compare_trees, probe, remote_criteria, resolve_target, threads,
};

/// Where a run starts from.
#[derive(Debug)]
enum Start {
    /// Two roots: compare them and plan.
    Roots {
        kind: RunKind,
        source: PathBuf,
        target: PathBuf,
    },
    /// An interrupted run's journal (`fcs resume`): its own plan, finished.
    Journal(Option<PathBuf>),
}

/// A tree run before it starts: what to run and how. See the module docs.
#[derive(Debug)]
pub struct Run {
    start: Start,
    settings: Settings,
    criteria: Criteria,
    filter: Filter,
    delete: bool,
    force: bool,
    update: bool,
    dry_run: bool,
    journaled: bool,
    manifest: Option<PathBuf>,
    comparison: Option<Arc<Comparison>>,
    /// Test hook: the journal's result writes from this one on fail like a full disk's.
    #[cfg(feature = "test-hooks")]
    journal_fails_from: Option<usize>,
    /// Test hook: other programs' unwritten bytes as each batch sync sees them.
    #[cfg(feature = "test-hooks")]
    others_dirty: Option<u64>,
    /// Test hook: each copy's byte at this offset is flipped before its verify.
    #[cfg(feature = "test-hooks")]
    flip_byte: Option<u64>,
}

impl Run {
    /// A `kind` run making `target` hold `source`'s version of every differing item. `target`
    /// may not exist yet (it is created once the run is journaled). A move forces
    /// `verify_policy=all` and refuses `durability=none` (checked by [`Run::prepare`]).
    pub fn new(
        kind: RunKind,
        source: impl Into<PathBuf>,
        target: impl Into<PathBuf>,
        settings: &Settings,
    ) -> Run {
        Run {
            start: Start::Roots {
                kind,
                source: source.into(),
                target: target.into(),
            },
            settings: settings.clone(),
            criteria: Criteria::default(),
            filter: Filter::default(),
            delete: false,
            force: false,
            update: false,
            dry_run: false,
            journaled: true,
            manifest: None,
            comparison: None,
            #[cfg(feature = "test-hooks")]
            journal_fails_from: None,
            #[cfg(feature = "test-hooks")]
            others_dirty: None,
            #[cfg(feature = "test-hooks")]
            flip_byte: None,
        }
    }

    /// Finishes the interrupted run recorded in `journal`, or — `None` — the one interrupted
    /// run in the data folder (`JOURNAL_E_NOTHING` when there is none, or several).
    pub fn resume(journal: Option<PathBuf>) -> Run {
        Run {
            start: Start::Journal(journal),
            ..Run::new(RunKind::Sync, "", "", &Settings::default())
        }
    }

    /// What decides that a file differs (default: existence, size, modified time).
    pub fn criteria(mut self, criteria: Criteria) -> Run {
        self.criteria = criteria;
        self
    }

    /// Which entries take part (the `follow_symlinks` setting applies on top).
    pub fn filter(mut self, filter: Filter) -> Run {
        self.filter = filter;
        self
    }

    /// Also delete target-only items, and replace items of another type (mirror).
    pub fn delete(mut self, on: bool) -> Run {
        self.delete = on;
        self
    }

    /// Skip the mass-deletion guard (`max_delete`).
    pub fn force(mut self, on: bool) -> Run {
        self.force = on;
        self
    }

    /// Never replace a target file that is newer than the source (rsync `-u`, robocopy `/XO`):
    /// such files are left alone and listed among the skipped items.
    pub fn update(mut self, on: bool) -> Run {
        self.update = on;
        self
    }

    /// Plan only: no lock, no resume, nothing written; [`Prepared::execute`] does nothing.
    pub fn dry_run(mut self, on: bool) -> Run {
        self.dry_run = on;
        self
    }

    /// Whether the run's own plan is journaled (default). Without it the run still holds the
    /// target's lock and still finishes an interrupted run first, but a cancel or crash leaves
    /// nothing to resume — for a front end's list of deletions, which must never be finished
    /// later by surprise.
    pub fn journaled(mut self, on: bool) -> Run {
        self.journaled = on;
        self
    }

    /// Write the hashes of the files copied (or found identical) to this manifest.
    pub fn manifest(mut self, path: Option<PathBuf>) -> Run {
        self.manifest = path;
        self
    }

    /// A comparison of the same two roots the front end already made (and showed): the plan is
    /// built from it instead of scanning again — unless a resume changed the target first.
    pub fn comparison(mut self, cmp: Arc<Comparison>) -> Run {
        self.comparison = Some(cmp);
        self
    }

    /// Test hook: the journal's result writes from the `n`-th on fail like a full disk's.
    #[cfg(feature = "test-hooks")]
    pub fn journal_fails_from(mut self, n: usize) -> Run {
        self.journal_fails_from = Some(n);
        self
    }

    /// Test hook: each batch sync sees `n` bytes of other programs' unwritten data (as if
    /// `/proc/meminfo` said so).
    #[cfg(feature = "test-hooks")]
    pub fn others_dirty(mut self, n: u64) -> Run {
        self.others_dirty = Some(n);
        self
    }

    /// Test hook: the byte at `off` of every copy (that long) is flipped after the copy is
    /// durable and before its verify reads it back.
    #[cfg(feature = "test-hooks")]
    pub fn flip_byte_before_verify(mut self, off: u64) -> Run {
        self.flip_byte = Some(off);
        self
    }

    /// Checks the roots, locks the target, finishes an interrupted run of the same job, then
    /// scans, compares and plans. `Err` means nothing was written (the resume aside, whose own
    /// result is in [`Prepared::resumed`]).
    pub fn prepare(
        self,
        reporter: Arc<dyn Reporter>,
        cancel: CancelToken,
    ) -> Result<Prepared, Error> {
        match &self.start {
            Start::Journal(journal) => {
                let journal = journal.clone();
                self.prepare_resume(journal.as_deref(), reporter, cancel)
            }
            Start::Roots {
                kind,
                source,
                target,
            } => {
                let (kind, source, target) = (*kind, source.clone(), target.clone());
                match (Url::parse(&source), Url::parse(&target)) {
                    (Some(from), Some(to)) => {
                        from?;
                        to?;
                        Err(Error::new(
                            Code::RemoteUnsupported,
                            &source,
                            "one end must be a local folder: fcs copies between a folder and s3:// or sftp://, not from one remote location to another",
                        ))
                    }
                    (Some(url), None) => {
                        self.prepare_download(kind, url?, &target, reporter, cancel)
                    }
                    (None, Some(url)) => self.prepare_remote(kind, &source, url?, reporter, cancel),
                    (None, None) => self.prepare_roots(kind, &source, &target, reporter, cancel),
                }
            }
        }
    }

    fn prepare_roots(
        mut self,
        kind: RunKind,
        source: &Path,
        target: &Path,
        reporter: Arc<dyn Reporter>,
        cancel: CancelToken,
    ) -> Result<Prepared, Error> {
        if kind == RunKind::Move {
            self.settings = self.settings.for_move()?;
        }
        let (src, dst) = check_roots(source, target, true)?;
        let threads = threads(&self.settings, &dst);
        let mut prepared = Prepared {
            kind,
            settings: Settings::default(),
            threads,
            reporter: reporter.clone(),
            cancel: cancel.clone(),
            job: None,
            journaled: self.journaled,
            dry_run: self.dry_run,
            resumed: None,
            to_resume: None,
            plan: Plan::empty(&src, &dst),
            scan_issues: Vec::new(),
            compare_issues: Vec::new(),
            twins: Vec::new(),
            target_temps: Vec::new(),
            manifest: self.manifest.clone(),
            finished: false,
            cancelled: false,
            remote: None,
            remote_target: Vec::new(),
            from_remote: false,
        };
        // A real run: the target is ours alone (lock), and an interrupted run of the same job
        // is finished before anything new is compared.
        let mut comparison = self.comparison.take();
        if !self.dry_run {
            let mut job = Job::open(kind, &src, &dst)?;
            if let Some(run) = job.interrupted()? {
                report_resuming(&*reporter, &run, true);
                let r = job.resume(&run, threads, reporter.clone(), cancel.clone())?;
                // A move the resume finished has no source left to compare.
                prepared.cancelled = r.summary.cancelled;
                prepared.finished = r.summary.cancelled || (kind == RunKind::Move && !src.exists());
                prepared.resumed = Some(r);
                comparison = None;
            }
            #[cfg(feature = "test-hooks")]
            job.fail_journal_from(self.journal_fails_from);
            #[cfg(feature = "test-hooks")]
            job.set_others_dirty(self.others_dirty);
            #[cfg(feature = "test-hooks")]
            job.set_flip_byte(self.flip_byte);
            prepared.job = Some(job);
            if prepared.finished {
                return Ok(prepared);
            }
        }
        // The target's own rules, once per run: a real run probes with a file of its own (and
        // puts the folder's times back), a dry run judges by what is there.
        let caps = probe::probe(
            &existing_folder(&dst),
            &format!("p{:x}", std::process::id()),
            !self.dry_run,
        );
        reporter.report(&Event::TargetProbed {
            path: dst.clone(),
            capabilities: caps,
        });
        for notice in probe::fit(&caps, &mut self.settings, &mut self.criteria) {
            reporter.report(&Event::Notice {
                id: 0,
                path: dst.clone(),
                notice,
            });
        }
        prepared.settings = self.settings.clone();
        let cmp = match comparison {
            // The front end's comparison, if it was made the way this run compares.
            Some(c)
                if same_roots(&c, &src, &dst)
                    && c.criteria == self.criteria
                    && c.tolerance == self.settings.timestamp_tolerance =>
            {
                c
            }
            _ => Arc::new({
                let filter = self
                    .filter
                    .clone()
                    .with_follow_symlinks(self.settings.follow_symlinks);
                compare_trees(
                    &src,
                    &dst,
                    &filter,
                    self.criteria,
                    self.settings.timestamp_tolerance,
                    threads,
                    &*reporter,
                    &cancel,
                )
            }),
        };
        if cmp.cancelled {
            prepared.finished = true;
            prepared.cancelled = true;
            return Ok(prepared);
        }
        nested_roots(&cmp)?;
        let direction = if same_path(&cmp.left.root, &src) {
            Direction::LeftToRight
        } else {
            Direction::RightToLeft
        };
        let opts = PlanOptions {
            direction,
            delete: self.delete,
            force: self.force,
            max_delete: self.settings.max_delete,
            target_folds_names: caps.case_insensitive || caps.normalization_insensitive,
            update: self.update,
            hard_links: self.settings.preserve_hardlinks,
            target_hard_links: caps.hard_links,
        };
        let mut plan = if kind == RunKind::Move {
            Plan::build_move(&cmp, &opts)?
        } else {
            Plan::build(&cmp, &opts)?
        };
        plan.capabilities = caps;
        // The job, the journal and the messages speak of the canonical roots.
        plan.source_root = src;
        plan.target_root = dst;
        // What the run needs of the comparison; the comparison itself (every entry of both
        // trees) is dropped before the run executes, unless the front end still holds it.
        let (src_scan, dst_scan) = match direction {
            Direction::LeftToRight => (&cmp.left, &cmp.right),
            Direction::RightToLeft => (&cmp.right, &cmp.left),
        };
        prepared.target_temps = dst_scan.temps.clone();
        prepared.scan_issues = src_scan.issues.clone();
        prepared.scan_issues.extend_from_slice(&dst_scan.issues);
        prepared.compare_issues = cmp.issues.clone();
        prepared.twins = cmp.twins.clone();
        prepared.plan = plan;
        // Freeing every entry of both trees took 30 ms of a no-change re-sync of 300,000 files
        // (a thirtieth of it): another thread does it while the run goes on.
        drop_elsewhere(cmp);
        Ok(prepared)
    }

    fn prepare_resume(
        self,
        journal: Option<&Path>,
        reporter: Arc<dyn Reporter>,
        cancel: CancelToken,
    ) -> Result<Prepared, Error> {
        let (job, run) = Job::open_interrupted(journal)?;
        let (from, to) = (Url::parse(&run.source), Url::parse(&run.target));
        if from.is_some() || to.is_some() {
            // A run with remote storage at either end resumes by a fresh comparison narrowed
            // to what it had planned.
            drop(job);
            let planned: std::collections::HashSet<PathBuf> =
                run.items.iter().map(|i| i.rel.clone()).collect();
            let fresh = Run {
                delete: run
                    .items
                    .iter()
                    .any(|i| i.kind == crate::tree::ActionKind::Delete),
                dry_run: self.dry_run,
                ..Run::new(run.kind, &run.source, &run.target, &run.settings)
            };
            let mut prepared = match (from, to) {
                (Some(url), _) => {
                    fresh.prepare_download(run.kind, url?, &run.target, reporter, cancel)?
                }
                (None, Some(url)) => {
                    fresh.prepare_remote(run.kind, &run.source, url?, reporter, cancel)?
                }
                (None, None) => unreachable!("one end is remote"),
            };
            prepared.plan.actions.retain(|a| planned.contains(&a.rel));
            prepared.plan.skipped.retain(|s| planned.contains(&s.rel));
            return Ok(prepared);
        }
        let threads = threads(&run.settings, &run.target);
        Ok(Prepared {
            kind: run.kind,
            settings: run.settings.clone(),
            threads,
            reporter,
            cancel,
            job: Some(job),
            journaled: true,
            dry_run: self.dry_run,
            resumed: None,
            plan: run.plan(),
            to_resume: Some(run),
            scan_issues: Vec::new(),
            compare_issues: Vec::new(),
            twins: Vec::new(),
            target_temps: Vec::new(),
            manifest: None,
            finished: false,
            cancelled: false,
            remote: None,
            remote_target: Vec::new(),
            from_remote: false,
        })
    }

    /// A run onto remote storage: the source scanned, the location listed (the objects'
    /// metadata read where the sizes agree), compared and planned as a local run is. What an
    /// object store cannot hold is left out of the comparison (permissions, owners, created
    /// times, attributes); what it cannot do is refused before anything is written.
    fn prepare_remote(
        mut self,
        kind: RunKind,
        source: &Path,
        url: Url,
        reporter: Arc<dyn Reporter>,
        cancel: CancelToken,
    ) -> Result<Prepared, Error> {
        let unsupported = |what: &str| Err(Error::new(Code::RemoteUnsupported, source, what));
        if kind == RunKind::Move {
            self.settings = self.settings.for_move()?;
        }
        if self.delete && self.settings.delete_mode == DeleteMode::Trash {
            return unsupported(
                "object storage has no trash, so --delete would delete for good: run with --delete-mode permanent (and turn on the bucket's versioning to keep old versions)",
            );
        }
        if self.manifest.is_some() {
            return unsupported("--manifest is not written for remote targets yet");
        }
        let src = std::fs::canonicalize(source)
            .ok()
            .filter(|p| p.is_dir())
            .ok_or_else(|| {
                Error::new(
                    Code::PlanRoots,
                    source,
                    format!("'{}' is not an existing folder", source.display()),
                )
            })?;
        self.criteria = remote_criteria(self.criteria);
        let store: Arc<dyn Store> = Arc::from(remote::open(&url, &self.settings)?);
        let threads = match self.settings.workers {
            0 => 16,
            n => n as usize,
        };
        let target = PathBuf::from(url.to_string());
        // A real run: the location is this machine's alone (lock), and the job is journaled.
        // An interrupted run of it is finished by this one: a fresh comparison, where what it
        // stored compares equal and is skipped.
        let job = if self.dry_run {
            None
        } else {
            let job = Job::open(kind, &src, &target)?;
            if let Some(run) = job.interrupted()? {
                reporter.report(&Event::Notice {
                    id: 0,
                    path: target.clone(),
                    notice: Notice {
                        kind: crate::events::NoticeKind::Resume,
                        message: format!(
                            "an interrupted {} run to this location (started {}) is finished by this one: what it stored compares equal and is skipped, the rest is sent again",
                            run.kind.as_str(),
                            run.started
                        ),
                    },
                });
            }
            Some(job)
        };
        let filter = self
            .filter
            .clone()
            .with_follow_symlinks(self.settings.follow_symlinks);
        let mut prepared = Prepared {
            kind,
            settings: self.settings.clone(),
            threads,
            reporter: reporter.clone(),
            cancel: cancel.clone(),
            job,
            journaled: true,
            dry_run: self.dry_run,
            resumed: None,
            to_resume: None,
            plan: Plan::empty(&src, &target),
            scan_issues: Vec::new(),
            compare_issues: Vec::new(),
            twins: Vec::new(),
            target_temps: Vec::new(),
            manifest: None,
            finished: false,
            cancelled: false,
            remote: Some(store.clone()),
            remote_target: Vec::new(),
            from_remote: false,
        };
        let cmp = compare_remote(
            &src,
            &*store,
            false,
            &filter,
            self.criteria,
            self.settings.timestamp_tolerance,
            threads,
            &*reporter,
            &cancel,
        )?;
        if cmp.cancelled {
            prepared.finished = true;
            prepared.cancelled = true;
            return Ok(prepared);
        }
        let opts = PlanOptions {
            direction: Direction::LeftToRight,
            delete: self.delete,
            force: self.force,
            max_delete: self.settings.max_delete,
            target_folds_names: false,
            update: self.update,
            hard_links: false,
            target_hard_links: false,
        };
        let mut plan = Plan::build(&cmp, &opts)?;
        plan.source_root = src;
        plan.target_root = target;
        prepared.scan_issues = cmp.left.issues.clone();
        prepared.compare_issues = cmp.issues.clone();
        prepared.remote_target = cmp
            .right
            .entries
            .iter()
            .map(|e| (e.rel.to_path_buf(), e.kind))
            .collect();
        prepared.plan = plan;
        Ok(prepared)
    }
}

impl Run {
    /// A download: remote storage as the source, a local folder as the target. The folder is
    /// scanned and the location listed and compared as a run onto that store compares them
    /// (the folder on the left), then planned right to left; each copy is a download with the
    /// guarantees of a local copy (`copy::download`): a temp beside the file, the stored hash
    /// checked, read back from the medium, renamed. The target's own rules (probed) apply as in
    /// any local run: names a case-insensitive folder would merge, links in the way.
    fn prepare_download(
        mut self,
        kind: RunKind,
        url: Url,
        target: &Path,
        reporter: Arc<dyn Reporter>,
        cancel: CancelToken,
    ) -> Result<Prepared, Error> {
        let source = PathBuf::from(url.to_string());
        let unsupported = |what: &str| Err(Error::new(Code::RemoteUnsupported, &source, what));
        if kind == RunKind::Move {
            return unsupported(
                "a move from remote storage is not supported yet: sync it, check it with fcs verify, then delete it on the server",
            );
        }
        let dst = resolve_target(target)?;
        let store: Arc<dyn Store> = Arc::from(remote::open(&url, &self.settings)?);
        let threads = match self.settings.workers {
            0 => 16,
            n => n as usize,
        };
        // A real run: the folder is ours alone (lock), and the job is journaled. An interrupted
        // download of it is finished by this one: a fresh comparison, where what it committed
        // compares equal and is skipped; its temps are swept.
        let job = if self.dry_run {
            None
        } else {
            let mut job = Job::open(kind, &source, &dst)?;
            if let Some(run) = job.interrupted()? {
                reporter.report(&Event::Notice {
                    id: 0,
                    path: dst.clone(),
                    notice: Notice {
                        kind: crate::events::NoticeKind::Resume,
                        message: format!(
                            "an interrupted download to this folder (started {}) is finished by this one: what it committed compares equal and is skipped, the rest is read again",
                            run.started
                        ),
                    },
                });
                job.close_interrupted()?;
            }
            Some(job)
        };
        let caps = probe::probe(
            &existing_folder(&dst),
            &format!("p{:x}", std::process::id()),
            !self.dry_run,
        );
        reporter.report(&Event::TargetProbed {
            path: dst.clone(),
            capabilities: caps,
        });
        self.criteria = remote_criteria(self.criteria);
        for notice in probe::fit(&caps, &mut self.settings, &mut self.criteria) {
            reporter.report(&Event::Notice {
                id: 0,
                path: dst.clone(),
                notice,
            });
        }
        let filter = self
            .filter
            .clone()
            .with_follow_symlinks(self.settings.follow_symlinks);
        let mut prepared = Prepared {
            kind,
            settings: self.settings.clone(),
            threads,
            reporter: reporter.clone(),
            cancel: cancel.clone(),
            job,
            journaled: true,
            dry_run: self.dry_run,
            resumed: None,
            to_resume: None,
            plan: Plan::empty(&source, &dst),
            scan_issues: Vec::new(),
            compare_issues: Vec::new(),
            twins: Vec::new(),
            target_temps: Vec::new(),
            manifest: self.manifest.clone(),
            finished: false,
            cancelled: false,
            remote: None,
            remote_target: Vec::new(),
            from_remote: true,
        };
        let cmp = compare_remote(
            &dst,
            &*store,
            false,
            &filter,
            self.criteria,
            self.settings.timestamp_tolerance,
            threads,
            &*reporter,
            &cancel,
        )?;
        if cmp.cancelled {
            prepared.finished = true;
            prepared.cancelled = true;
            return Ok(prepared);
        }
        if cmp.right.entries.is_empty() {
            // Nothing there: a mistyped prefix (an object store has no folders to be missing),
            // or one object named as a folder. Said, never run (with --delete it would empty
            // the local folder).
            let object = matches!(store.meta(""), Ok(Some(_)));
            return Err(if object {
                Error::new(
                    Code::RemoteUnsupported,
                    &source,
                    "this is one object, not a folder of them: download its folder (fcs sync s3://…/FOLDER DIR --include NAME)",
                )
            } else {
                Error::new(
                    Code::RemoteNotFound,
                    &source,
                    "nothing is stored under this location: check the bucket (or server folder) and the path",
                )
            });
        }
        let opts = PlanOptions {
            direction: Direction::RightToLeft,
            delete: self.delete,
            force: self.force,
            max_delete: self.settings.max_delete,
            target_folds_names: caps.case_insensitive || caps.normalization_insensitive,
            update: self.update,
            hard_links: false,
            target_hard_links: false,
        };
        let mut plan = Plan::build(&cmp, &opts)?;
        plan.capabilities = caps;
        plan.source_root = source;
        plan.target_root = dst;
        // A link on the server (SFTP) is not followed: nothing is written where it points.
        let (links, actions): (Vec<_>, Vec<_>) = std::mem::take(&mut plan.actions)
            .into_iter()
            .partition(|a| a.kind == crate::tree::ActionKind::Symlink);
        plan.actions = actions;
        plan.skipped.extend(links.into_iter().map(|a| crate::tree::Skip {
            rel: a.rel,
            reason: "a symbolic link on the server is not downloaded (fcs reads files and folders from remote storage)".into(),
            code: None,
        }));
        let times: HashMap<PathBuf, std::time::SystemTime> = cmp
            .right
            .entries
            .iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    crate::tree::EntryKind::File | crate::tree::EntryKind::Dir
                )
            })
            .filter_map(|e| Some((e.rel.to_path_buf(), e.modified?)))
            .collect();
        if let Some(job) = prepared.job.as_mut() {
            job.set_remote_source(store, Arc::new(times));
        }
        prepared.target_temps = cmp.left.temps.clone();
        prepared.scan_issues = cmp.left.issues.clone();
        prepared.compare_issues = cmp.issues.clone();
        prepared.twins = cmp.twins.clone();
        prepared.plan = plan;
        Ok(prepared)
    }
}

/// A run compared and planned, holding its target's lock: inspect or narrow the plan, then
/// [`Prepared::execute`] it.
pub struct Prepared {
    kind: RunKind,
    settings: Settings,
    threads: usize,
    reporter: Arc<dyn Reporter>,
    cancel: CancelToken,
    job: Option<Job>,
    journaled: bool,
    dry_run: bool,
    resumed: Option<Resumed>,
    /// `Run::resume`: the interrupted run that `execute` finishes.
    to_resume: Option<StoredRun>,
    plan: Plan,
    scan_issues: Vec<ScanIssue>,
    compare_issues: Vec<CompareIssue>,
    twins: Vec<Twins>,
    /// Our temps found by the target's scan; those no unfinished run will finish are swept.
    target_temps: Vec<PathBuf>,
    manifest: Option<PathBuf>,
    /// Nothing is left to execute: the resume (or the scan) was cancelled, or the resume
    /// finished the whole job.
    finished: bool,
    /// Cancelled while preparing.
    cancelled: bool,
    /// The target, when it is remote storage.
    remote: Option<Arc<dyn Store>>,
    /// What its listing found (to delete a folder whole, and folders as folders).
    remote_target: Vec<(PathBuf, crate::tree::EntryKind)>,
    /// A download: the source is remote storage.
    from_remote: bool,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("kind", &self.kind)
            .field("plan", &self.plan)
            .field("resumed", &self.resumed)
            .finish_non_exhaustive()
    }
}

impl Prepared {
    /// The kind of run (for `Run::resume`, the interrupted run's).
    pub fn kind(&self) -> RunKind {
        self.kind
    }

    /// The plan [`Prepared::execute`] runs (for `Run::resume`, the interrupted run's, whose
    /// finished actions are skipped).
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The interrupted run of the same job that `prepare` finished first, if there was one.
    pub fn resumed(&self) -> Option<&Resumed> {
        self.resumed.as_ref()
    }

    /// Whether nothing is left to execute: the resume finished the whole job (a move whose
    /// source is gone), or the run was cancelled while preparing.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Whether the run was cancelled while preparing (during the resume or the scan).
    pub fn is_cancelled(&self) -> bool {
        self.cancelled
    }

    /// Problems of the scans of both roots (warnings included: see [`ScanIssue::is_warning`]).
    pub fn scan_issues(&self) -> &[ScanIssue] {
        &self.scan_issues
    }

    /// File pairs whose content could not be compared (unreadable).
    pub fn compare_issues(&self) -> &[CompareIssue] {
        &self.compare_issues
    }

    /// The metadata this run keeps on its target, by name (`-v`, the log): what the settings
    /// ask for, less what this platform cannot carry and the permissions the probed target
    /// cannot hold. What the target refuses beyond that is said at the end (`metadata_not_kept`).
    pub fn metadata_kept(&self) -> Vec<&'static str> {
        if self.remote.is_some() || self.from_remote {
            // An object keeps its bytes, the modified time (rclone's metadata) and our hash.
            return if self.settings.preserve_times {
                vec!["times"]
            } else {
                Vec::new()
            };
        }
        let (s, caps, can) = (&self.settings, &self.plan.capabilities, fsops::KEEPS);
        [
            ("times", s.preserve_times),
            ("permissions", s.preserve_permissions && caps.permissions),
            ("owner", can.owner && s.keeps_owner()),
            ("xattrs", can.xattrs && s.preserve_xattrs),
            ("acls", can.acls && s.preserve_acls),
            ("holes", can.holes && s.sparse != Sparse::Never),
            ("flags", s.keeps_flags()),
            (
                "hard links",
                s.preserve_hardlinks && caps.hard_links && self.kind != RunKind::Move,
            ),
        ]
        .into_iter()
        .filter_map(|(name, kept)| kept.then_some(name))
        .collect()
    }

    /// Names that a case-insensitive or normalising filesystem would merge.
    pub fn twins(&self) -> &[Twins] {
        &self.twins
    }

    /// Whether a scan or compare problem must make the run end in an error (exit 2), whatever
    /// the execution does.
    pub fn has_errors(&self) -> bool {
        self.scan_issues.iter().any(|i| !i.is_warning()) || !self.compare_issues.is_empty()
    }

    /// Narrows the plan to the copies of `items` (see [`Plan::select`]).
    pub fn select(&mut self, items: &[PathBuf]) {
        self.plan.select(items);
    }

    /// Narrows the plan to the copies of `items` and the deletes of `deletes` (see
    /// [`Plan::narrow`]).
    pub fn narrow(&mut self, items: &[PathBuf], deletes: &[PathBuf]) {
        self.plan.narrow(items, deletes);
    }

    /// Narrows the plan to the deletes of `items` (see [`Plan::select_deletes`]).
    pub fn select_deletes(&mut self, items: &[PathBuf]) {
        self.plan.select_deletes(items);
    }

    /// Runs the plan. Per-item failures are in the summary; `Err` means the run could not start
    /// (the journal, the target folder, the manifest) and nothing of the plan was written. A
    /// dry run, or a run with nothing left after its resume, returns an empty summary.
    pub fn execute(mut self) -> Result<Summary, Error> {
        if self.dry_run || self.finished {
            return Ok(Summary {
                cancelled: self.is_cancelled(),
                ..Summary::default()
            });
        }
        if let Some(store) = &self.remote {
            let target = remote::run::Target {
                store: &**store,
                listing: &self.remote_target,
                settings: &self.settings,
                threads: self.threads,
                journal: None,
                move_sources: false,
            };
            return match self.job.as_mut() {
                Some(job) => job.run_remote(&self.plan, &target, &*self.reporter, &self.cancel),
                None => Ok(remote::run::execute(
                    &self.plan,
                    &target,
                    &*self.reporter,
                    &self.cancel,
                )),
            };
        }
        let Some(mut job) = self.job.take() else {
            return Ok(Summary::default());
        };
        if let Some(run) = self.to_resume.take() {
            report_resuming(&*self.reporter, &run, false);
            let r = job.resume(&run, self.threads, self.reporter.clone(), self.cancel)?;
            return Ok(r.summary);
        }
        if self.journaled {
            return job.run(
                &self.plan,
                self.settings,
                self.threads,
                self.reporter,
                self.cancel,
                self.manifest.as_deref(),
                &self.target_temps,
            );
        }
        let delete_mode = self.settings.delete_mode;
        let files = !self.settings.follow_symlinks;
        let copier = Copier::new(self.settings, self.reporter, self.cancel)
            .with_trash_replaced(delete_mode == DeleteMode::Trash)
            .with_sources_are_files(files);
        Ok(execute(
            &self.plan,
            &copier,
            &ExecOptions::new(self.threads, delete_mode),
        ))
    }
}

/// Drops `value` on a thread of its own (on this one if none can be started).
fn drop_elsewhere<T: Send + 'static>(value: T) {
    let _ = std::thread::Builder::new()
        .name("fcs-free".into())
        .spawn(move || drop(value));
}

/// A run-level notice: an interrupted run is finished (first, when `first`).
fn report_resuming(reporter: &dyn Reporter, run: &StoredRun, first: bool) {
    let message = if first {
        format!(
            "an interrupted {} run of this folder (started {}) is finished first",
            run.kind.as_str(),
            run.started
        )
    } else {
        format!(
            "resuming the {} run '{}' → '{}' started {}",
            run.kind.as_str(),
            run.source.display(),
            run.target.display(),
            run.started
        )
    };
    reporter.report(&Event::Notice {
        id: 0,
        path: run.target.clone(),
        notice: Notice {
            kind: crate::events::NoticeKind::Resume,
            message,
        },
    });
}

/// One root reached again inside the other (a bind mount, a hard-linked folder): a run would
/// copy a tree into itself, or a mirror delete the source through its second path.
pub(crate) fn nested_roots(cmp: &Comparison) -> Result<(), Error> {
    let inside = |scan: &crate::tree::Scan, other: &Path| {
        scan.nested.first().map(|p| {
            Error::new(
                Code::PlanRoots,
                p,
                format!(
                    "'{}' is the folder '{}' again (a second path to it, such as a bind mount): one root is inside the other",
                    p.display(),
                    other.display()
                ),
            )
        })
    };
    match inside(&cmp.right, &cmp.left.root).or_else(|| inside(&cmp.left, &cmp.right.root)) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// `p`, or the nearest folder above it that exists (a target not created yet lives on its
/// parent's filesystem).
fn existing_folder(p: &Path) -> PathBuf {
    p.ancestors()
        .find(|a| a.is_dir())
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

fn same_path(a: &Path, b: &Path) -> bool {
    a == b || std::fs::canonicalize(a).is_ok_and(|a| a == b)
}

/// Whether `cmp` compared the roots `a` and `b` (canonical), either way round.
fn same_roots(cmp: &Comparison, a: &Path, b: &Path) -> bool {
    let (l, r) = (&cmp.left.root, &cmp.right.root);
    (same_path(l, a) && same_path(r, b)) || (same_path(l, b) && same_path(r, a))
}

/// The target of `fcs copy SRC DST` / `fcs move SRC DST` for a folder: `cp -r` / `mv`
/// semantics — into an existing folder under the source's name, else the folder itself. The
/// exception: DST itself is the target of an interrupted run of this command (the run created
/// it), so running the command again continues that run instead of copying into it.
pub fn copy_target(kind: RunKind, src: &Path, dst: &Path) -> PathBuf {
    match src.file_name() {
        Some(name) if dst.is_dir() && !interrupted_into(kind, src, dst) => dst.join(name),
        _ => dst.to_path_buf(),
    }
}

/// Whether an unfinished `kind` run from `src` to `dst` itself is in the journal.
fn interrupted_into(kind: RunKind, src: &Path, dst: &Path) -> bool {
    let (Ok(src), Ok(dst), Some(dir)) = (
        std::fs::canonicalize(src),
        std::fs::canonicalize(dst),
        Journal::default_dir(),
    ) else {
        return false;
    };
    let path = Journal::job_path(&dir, kind, &src, &dst);
    path.exists()
        && Journal::open(&path)
            .and_then(|j| j.unfinished())
            .is_ok_and(|r| r.is_some())
}

/// The journal of an interrupted tree move from `src`, when `src` no longer exists (the move
/// had moved all of it): running the same command again finishes that run.
pub fn interrupted_move_of(src: &Path) -> Option<PathBuf> {
    if std::fs::symlink_metadata(src).is_ok() {
        return None;
    }
    let abs = std::path::absolute(src).ok()?;
    let dir = Journal::default_dir()?;
    Journal::list_unfinished(&dir)
        .into_iter()
        .find(|(_, r)| r.kind == RunKind::Move && r.source == abs)
        .map(|(p, _)| p)
}
