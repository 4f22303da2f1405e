//! Finishing an interrupted run from its journal, and sweeping temps that no run will finish.
//!
//! A resume never trusts what the journal does not say: the run's temps are deleted (a temp is
//! never adopted on faith), and every file the journal does not call committed is checked by
//! hash if its target exists — an interrupted run may have renamed it into place without
//! journaling it, or not. Then the plan continues. Resuming twice, or crashing during a resume,
//! is harmless: every step is idempotent and journaled the same way as in the first attempt.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::copy::Copier;
use crate::error::Error;
use crate::events::{CancelToken, Reporter};
use crate::journal::{ItemState, Journal, RunKind, StoredRun};
use crate::manifest::Manifest;
use crate::temp::{is_temp_name, parse_temp_name};
use crate::tree::execute::{ExecOptions, Summary, execute_with};
use crate::tree::plan::ActionKind;

/// Deletes our temp files (and `.fcs-replaced` folders) found by a scan whose run tag is not in
/// `keep` (the tags of unfinished runs, which a resume will deal with). Returns how many went.
pub fn sweep_temps(temps: &[PathBuf], keep: &[String]) -> u64 {
    let mut n = 0;
    for t in temps {
        let name = t.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if let Some((tag, _)) = parse_temp_name(name)
            && keep.iter().any(|k| k == tag)
        {
            continue;
        }
        if remove_temp(t) {
            n += 1;
        }
    }
    n
}

/// A temp file is deleted; a `.fcs-replaced` folder (the replaced version of a file, on its way
/// to the trash) goes to the trash, never deleted for good.
fn remove_temp(t: &Path) -> bool {
    match std::fs::symlink_metadata(t) {
        Ok(m) if m.is_dir() => trash::delete(t).is_ok(),
        Ok(_) => fsops::remove_temp(t).is_ok(),
        Err(_) => false,
    }
}

/// Deletes the temps of `run` in every folder it copied into — finished files included: the
/// second name of a replaced file (`.fcs-replaced.…`, on its way to the trash) can outlive a
/// crash next to a file the journal already calls committed.
fn sweep_run_temps(run: &StoredRun) -> u64 {
    let dirs: BTreeSet<PathBuf> = run
        .items
        .iter()
        .filter(|i| !matches!(i.kind, ActionKind::Delete | ActionKind::SetDirTimes))
        .map(|i| run.target.join(i.rel.parent().unwrap_or(Path::new(""))))
        .collect();
    let mut n = 0;
    for d in dirs {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            if is_temp_name(name)
                && parse_temp_name(name).is_some_and(|(tag, _)| tag == run.tag)
                && remove_temp(&e.path())
            {
                n += 1;
            }
        }
    }
    n
}

/// What a resume did.
#[derive(Debug, Clone)]
pub struct Resumed {
    pub kind: RunKind,
    pub source: PathBuf,
    pub target: PathBuf,
    pub started: String,
    pub temps_removed: u64,
    pub summary: Summary,
}

/// Finishes the unfinished `run` recorded in `journal`. The caller holds the target's lock.
pub fn resume(
    journal: &mut Journal,
    run: &StoredRun,
    workers: usize,
    reporter: Arc<dyn Reporter>,
    cancel: CancelToken,
    manifest: Option<&Manifest>,
) -> Result<Resumed, Error> {
    journal.continue_run(run)?;
    // A run interrupted right after it was journaled may not have created its target yet.
    if !run.target.exists() {
        std::fs::create_dir_all(&run.target).map_err(|e| {
            Error::io(
                crate::error::Code::TreeMkdir,
                &run.target,
                "cannot create the target folder",
                e,
            )
        })?;
    }
    let plan = run.plan();
    let is_move = run.kind == RunKind::Move;
    let file_like = |k: ActionKind| {
        matches!(
            k,
            ActionKind::Copy | ActionKind::Replace | ActionKind::Check
        )
    };
    // A copy is finished once committed; a move once its source is gone too.
    let done: Vec<bool> = run
        .items
        .iter()
        .map(|i| {
            file_like(i.kind)
                && match i.state {
                    ItemState::SourceDeleted => true,
                    ItemState::Committed => !is_move,
                    _ => false,
                }
        })
        .collect();
    let not_done: Vec<bool> = run
        .items
        .iter()
        .map(|i| file_like(i.kind) && !done[i.seq])
        .collect();
    let temps_removed = sweep_run_temps(run);
    // Everything not finished is checked by hash before it is copied again.
    let check = not_done.clone();
    let committed: Vec<bool> = run
        .items
        .iter()
        .map(|i| i.state == ItemState::Committed)
        .collect();
    let settings = run.settings.clone();
    let delete_mode = settings.delete_mode;
    let copier = Copier::new(settings, reporter, cancel)
        .with_trash_replaced(delete_mode == crate::settings::DeleteMode::Trash)
        .with_run_tag(&run.tag);
    let opts = ExecOptions {
        journal: Some(journal),
        move_sources: is_move,
        manifest,
        done: Some(&done),
        check_existing: Some(&check),
        committed: Some(&committed),
        ..ExecOptions::new(workers, delete_mode)
    };
    let summary = execute_with(&plan, &copier, &opts);
    journal.finish(summary.journal_state())?;
    Ok(Resumed {
        kind: run.kind,
        source: run.source.clone(),
        target: run.target.clone(),
        started: run.started.clone(),
        temps_removed,
        summary,
    })
}
