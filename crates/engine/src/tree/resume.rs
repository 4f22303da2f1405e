//! Finishing an interrupted run from its journal, and sweeping temps that no run will finish.
//!
//! A resume never trusts what the journal does not say: the run's temps are deleted (a temp is
//! never adopted on faith), and every file the journal does not call committed is checked by
//! hash if its target exists — an interrupted run may have renamed it into place without
//! journaling it, or not. Then the plan continues. Resuming twice, or crashing during a resume,
//! is harmless: every step is idempotent and journaled the same way as in the first attempt.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::summary::Summary;
use crate::temp::{is_temp_name, parse_temp_name};
use crate::tree::execute::{Dirs, Prior};
use crate::tree::journal::{ItemState, RunKind, StoredRun};
use crate::tree::plan::ActionKind;

/// What a resume did.
#[derive(Debug, Clone)]
pub struct Resumed {
    /// The interrupted run's kind.
    pub kind: RunKind,
    /// Its source root.
    pub source: PathBuf,
    /// Its target root.
    pub target: PathBuf,
    /// When it started (UTC, RFC 3339).
    pub started: String,
    /// Its temps deleted before it continued.
    pub temps_removed: u64,
    /// What the resume did.
    pub summary: Summary,
}

/// What the interrupted `run` already did, per action: a copy is finished once committed, a
/// move once its source is gone too; every other file is checked by hash before it is copied
/// again.
pub(crate) fn priors(run: &StoredRun) -> Vec<Prior> {
    let is_move = run.kind == RunKind::Move;
    run.items
        .iter()
        .map(|i| {
            if !i.kind.is_file() {
                return Prior::Fresh;
            }
            match i.state {
                ItemState::SourceDeleted => Prior::Done,
                ItemState::Committed if !is_move => Prior::Done,
                ItemState::Committed => Prior::CommittedSourceKept,
                _ => Prior::Unconfirmed,
            }
        })
        .collect()
}

/// Deletes our temp files (and `.fcs-replaced` folders) found by a scan of `root` whose run tag
/// is not in `keep` (the tags of unfinished runs, which a resume will deal with), each through
/// its folder beneath the root. Returns how many went.
pub(crate) fn sweep_temps(root: &Path, temps: &[PathBuf], keep: &[String]) -> u64 {
    let Ok(dirs) = Dirs::open(root) else {
        return 0;
    };
    let mut n = 0;
    for t in temps {
        let Ok(rel) = t.strip_prefix(root) else {
            continue;
        };
        // A temp of an unfinished run (a resume deals with it) or of a live process (a copy
        // running right now) stays.
        let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if parse_temp_name(name).is_some() && !crate::temp::is_dead(name, keep) {
            continue;
        }
        if let Ok((dir, name)) = dirs.parent_of(rel)
            && remove_temp(&dir, name)
        {
            n += 1;
        }
    }
    n
}

/// A temp file is deleted; a `.fcs-replaced` folder (the replaced version of a file, on its way
/// to the trash) goes to the trash, never deleted for good — by path, once its identity shows
/// the path still leads to the folder found in `dir`.
fn remove_temp(dir: &fsops::Dir, name: &OsStr) -> bool {
    match dir.stat(name) {
        Ok(st) if st.kind == fsops::EntryType::Dir => {
            let path = dir.path().join(name);
            fsops::path_identity_nofollow(&path).ok() == Some(st.identity)
                && trash::delete(&path).is_ok()
        }
        Ok(_) => dir.remove_temp(name).is_ok(),
        Err(_) => false,
    }
}

/// Deletes the temps of `run` in every folder it copied into — finished files included: the
/// second name of a replaced file (`.fcs-replaced.…`, on its way to the trash) can outlive a
/// crash next to a file the journal already calls committed.
pub(crate) fn sweep_run_temps(run: &StoredRun) -> u64 {
    let Ok(dirs) = Dirs::open(&run.target) else {
        return 0;
    };
    let folders: BTreeSet<&Path> = run
        .items
        .iter()
        .filter(|i| {
            !matches!(
                i.kind,
                ActionKind::Delete | ActionKind::DeleteConflict | ActionKind::SetDirTimes
            )
        })
        .map(|i| i.rel.parent().unwrap_or(Path::new("")))
        .collect();
    let mut n = 0;
    for rel in folders {
        let Ok(dir) = dirs.get(rel) else { continue };
        let Ok(names) = dir.entries() else { continue };
        for name in names {
            let Some(s) = name.to_str() else { continue };
            if is_temp_name(s)
                && parse_temp_name(s).is_some_and(|(tag, _)| tag == run.tag)
                && remove_temp(&dir, &name)
            {
                n += 1;
            }
        }
    }
    n
}
