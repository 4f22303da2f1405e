//! A journaled job (kind + source + target): the target's lock and the job's journal, the
//! resume of an interrupted run, and the run of a new plan — both through one execution tail
//! (execute with the journal, close the journal, finish the manifest).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use crate::copy::Copier;
use crate::error::{Code, Error};
use crate::events::{CancelToken, Event, Notice, Reporter};
use crate::manifest::{Manifest, algo_for};
use crate::remote::Store;
use crate::settings::{DeleteMode, Settings};
use crate::summary::Summary;
use crate::tree::execute::{ExecOptions, Prior, RemoteSource, execute};
use crate::tree::journal::{Journal, RunKind, StoredRun, TargetLock};
use crate::tree::plan::Plan;
use crate::tree::resume::{Resumed, priors, sweep_run_temps, sweep_temps};

/// The modified times a remote listing gave its files and folders, by path.
pub(crate) type ListedTimes = HashMap<PathBuf, SystemTime>;

/// One job holding its target's lock and its journal.
#[derive(Debug)]
pub(crate) struct Job {
    kind: RunKind,
    journal: Journal,
    lock: TargetLock,
    /// A download: the store the files come from and the times its listing gave them.
    remote_source: Option<(Arc<dyn Store>, Arc<ListedTimes>)>,
    /// Test hook: see [`crate::tree::Run::others_dirty`].
    #[cfg(feature = "test-hooks")]
    others_dirty: Option<u64>,
    /// Test hook: see [`crate::tree::Run::flip_byte_before_verify`].
    #[cfg(feature = "test-hooks")]
    flip_byte: Option<u64>,
}

impl Job {
    /// Locks `target` (one run at a time per target) and opens the job's journal in the data
    /// folder. Both roots canonical; `target` may not exist yet.
    pub fn open(kind: RunKind, source: &Path, target: &Path) -> Result<Job, Error> {
        let lock = TargetLock::acquire(target)?;
        let dir = Journal::default_dir().ok_or_else(|| {
            Error::new(
                Code::JournalOpen,
                target,
                "no local data folder for the journal (set FCS_DATA_DIR)",
            )
        })?;
        let journal = Journal::open(&Journal::job_path(&dir, kind, source, target))?;
        Ok(Job {
            kind,
            journal,
            lock,
            remote_source: None,
            #[cfg(feature = "test-hooks")]
            others_dirty: None,
            #[cfg(feature = "test-hooks")]
            flip_byte: None,
        })
    }

    /// The job of an interrupted run: the one in `journal`, or the only one in the data folder.
    /// Locks its target, then reads the run again under the lock (another resume may have
    /// finished it meanwhile: `JOURNAL_E_NOTHING`).
    pub fn open_interrupted(journal: Option<&Path>) -> Result<(Job, StoredRun), Error> {
        let candidates = match journal {
            Some(p) => Journal::open(p)?
                .unfinished()?
                .map(|r| vec![(p.to_path_buf(), r)])
                .unwrap_or_default(),
            None => Journal::default_dir()
                .map(|d| Journal::list_unfinished(&d))
                .unwrap_or_default(),
        };
        let nothing = || {
            Error::new(
                Code::JournalNothing,
                journal.unwrap_or(Path::new("")),
                "there is no interrupted run to resume",
            )
        };
        let (path, run) = match candidates.len() {
            0 => return Err(nothing()),
            1 => candidates.into_iter().next().ok_or_else(nothing)?,
            _ => {
                let list: Vec<String> = candidates
                    .iter()
                    .map(|(p, r)| {
                        format!(
                            "{} '{}' → '{}' (started {}): --journal {}",
                            r.kind.as_str(),
                            r.source.display(),
                            r.target.display(),
                            r.started,
                            p.display()
                        )
                    })
                    .collect();
                return Err(Error::new(
                    Code::JournalNothing,
                    Path::new(""),
                    format!(
                        "several interrupted runs; pick one:\n  {}",
                        list.join("\n  ")
                    ),
                ));
            }
        };
        let lock = TargetLock::acquire(&run.target)?;
        let journal = Journal::open(&path)?;
        let run = journal.unfinished()?.ok_or_else(|| {
            Error::new(
                Code::JournalNothing,
                &path,
                "the run was finished meanwhile: nothing to resume",
            )
        })?;
        Ok((
            Job {
                kind: run.kind,
                journal,
                lock,
                remote_source: None,
                #[cfg(feature = "test-hooks")]
                others_dirty: None,
                #[cfg(feature = "test-hooks")]
                flip_byte: None,
            },
            run,
        ))
    }

    /// Test hook: see [`crate::tree::Run::others_dirty`].
    #[cfg(feature = "test-hooks")]
    pub fn set_others_dirty(&mut self, n: Option<u64>) {
        self.others_dirty = n;
    }

    /// Test hook: see [`crate::tree::Run::flip_byte_before_verify`].
    #[cfg(feature = "test-hooks")]
    pub fn set_flip_byte(&mut self, off: Option<u64>) {
        self.flip_byte = off;
    }

    /// Test hook: see [`crate::tree::Run::journal_fails_from`].
    #[cfg(feature = "test-hooks")]
    pub fn fail_journal_from(&mut self, n: Option<usize>) {
        self.journal.fail_records_from = n;
    }

    /// An interrupted run of this job (killed, cancelled, or stopped by a journal failure).
    pub fn interrupted(&self) -> Result<Option<StoredRun>, Error> {
        self.journal.unfinished()
    }

    /// Finishes an interrupted run of this job (see [`crate::tree::resume`]).
    pub fn resume(
        &mut self,
        run: &StoredRun,
        workers: usize,
        reporter: Arc<dyn Reporter>,
        cancel: CancelToken,
    ) -> Result<Resumed, Error> {
        self.journal.continue_run(run)?;
        // A run interrupted right after it was journaled may not have created its target yet.
        create_target(&run.target)?;
        self.lock.claim_created()?;
        let temps_removed = sweep_run_temps(run);
        if temps_removed > 0 {
            report_swept(
                &*reporter,
                &run.target,
                temps_removed,
                "of the interrupted run",
            );
        }
        let copier = copier(run.settings.clone(), reporter, cancel).with_run_tag(&run.tag);
        let summary = self.execute(&run.plan(), &copier, workers, &priors(run), None);
        Ok(Resumed {
            kind: run.kind,
            source: run.source.clone(),
            target: run.target.clone(),
            started: run.started.clone(),
            temps_removed,
            summary,
        })
    }

    /// Runs `plan`: sweeps `target_temps` (our temps found by the target's scan) that no
    /// unfinished run will finish, journals the plan, creates the target folder, executes,
    /// writes the manifest and closes the journal. Per-file failures are in the summary; an
    /// `Err` means nothing was written.
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &mut self,
        plan: &Plan,
        settings: Settings,
        workers: usize,
        reporter: Arc<dyn Reporter>,
        cancel: CancelToken,
        manifest: Option<&Path>,
        target_temps: &[PathBuf],
    ) -> Result<Summary, Error> {
        let manifest = match manifest {
            Some(p) => Some(Manifest::create(p, algo_for(p, settings.hash))?),
            None => None,
        };
        if !target_temps.is_empty() {
            let keep = Journal::default_dir()
                .map(|d| Journal::unfinished_tags(&d))
                .unwrap_or_default();
            let swept = sweep_temps(&plan.target_root, target_temps, &keep);
            if swept > 0 {
                report_swept(
                    &*reporter,
                    &plan.target_root,
                    swept,
                    "left by an interrupted run",
                );
            }
        }
        #[allow(unused_mut)]
        let mut copier = copier(settings.clone(), reporter, cancel);
        #[cfg(feature = "test-hooks")]
        {
            copier.hooks.others_dirty = self.others_dirty;
            copier.hooks.flip_byte_before_verify = self.flip_byte;
        }
        self.journal
            .begin(self.kind, &settings, copier.run_tag(), plan)?;
        // The target folder is created only once the journal knows the run (write-ahead): a run
        // killed earlier leaves nothing behind, so running it again is the same job. A new
        // target is locked as a folder as soon as it exists; a run refused there has written
        // nothing, and is closed in its journal so nothing resumes it.
        create_target(&plan.target_root)?;
        if let Err(e) = self.lock.claim_created() {
            let _ = self.journal.finish("failed");
            return Err(e);
        }
        Ok(self.execute(plan, &copier, workers, &[], manifest.as_ref()))
    }

    /// Runs `plan` onto remote storage (see [`crate::remote::run`]): journals it, executes it
    /// and closes the journal. An interrupted run of this job is closed first: a remote run is
    /// finished by a fresh comparison (what it stored compares equal and is skipped, its
    /// leftovers are swept by the store), which `plan` is.
    pub fn run_remote(
        &mut self,
        plan: &Plan,
        remote: &crate::remote::run::Target<'_>,
        reporter: &dyn Reporter,
        cancel: &CancelToken,
    ) -> Result<Summary, Error> {
        self.close_interrupted()?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let tag = crate::temp::tag_for(std::process::id(), now.subsec_nanos());
        self.journal.begin(self.kind, remote.settings, &tag, plan)?;
        let remote = crate::remote::run::Target {
            journal: Some(&self.journal),
            move_sources: self.kind == RunKind::Move,
            ..*remote
        };
        let mut summary = crate::remote::run::execute(plan, &remote, reporter, cancel);
        if let Err(e) = self.journal.finish(summary.journal_state()) {
            summary.fail(&e);
        }
        Ok(summary)
    }

    /// A run with remote storage at either end is finished by a fresh comparison (what the
    /// interrupted run committed compares equal and is skipped), not by replaying its plan:
    /// the interrupted run is closed in the journal, so its temps are swept as any dead run's.
    pub fn close_interrupted(&mut self) -> Result<(), Error> {
        if let Some(old) = self.journal.unfinished()? {
            self.journal.close_run(old.id, "failed")?;
        }
        Ok(())
    }

    /// A download: its files are read from `store`; `times` are the modified times its
    /// listing gave them.
    pub fn set_remote_source(&mut self, store: Arc<dyn Store>, times: Arc<ListedTimes>) {
        self.remote_source = Some((store, times));
    }

    /// The tail every journaled execution shares: execute, close the journal, finish the
    /// manifest. A failure to close either is one more failed item.
    fn execute(
        &self,
        plan: &Plan,
        copier: &Copier,
        workers: usize,
        prior: &[Prior],
        manifest: Option<&Manifest>,
    ) -> Summary {
        let opts = ExecOptions {
            journal: Some(&self.journal),
            move_sources: self.kind == RunKind::Move,
            manifest,
            prior,
            remote_source: self
                .remote_source
                .as_ref()
                .map(|(store, times)| RemoteSource {
                    store: &**store,
                    times,
                }),
            ..ExecOptions::new(workers, copier.settings().delete_mode)
        };
        let mut summary = execute(plan, copier, &opts);
        if let Err(e) = self.journal.finish(summary.journal_state()) {
            summary.fail(&e);
        }
        if let Some(m) = manifest
            && let Err(e) = m.finish()
        {
            summary.fail(&e);
        }
        summary
    }
}

fn copier(settings: Settings, reporter: Arc<dyn Reporter>, cancel: CancelToken) -> Copier {
    let trash = settings.delete_mode == DeleteMode::Trash;
    let files = !settings.follow_symlinks;
    Copier::new(settings, reporter, cancel)
        .with_trash_replaced(trash)
        .with_sources_are_files(files)
}

fn create_target(target: &Path) -> Result<(), Error> {
    if target.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(target).map_err(|e| {
        Error::io(
            Code::TreeMkdir,
            target,
            "cannot create the target folder",
            e,
        )
    })
}

fn report_swept(reporter: &dyn Reporter, target: &Path, n: u64, whose: &str) {
    reporter.report(&Event::Notice {
        id: 0,
        path: target.to_path_buf(),
        notice: Notice {
            kind: crate::events::NoticeKind::TempsSwept,
            message: format!("removed {n} temp file(s) {whose}"),
        },
    });
}
