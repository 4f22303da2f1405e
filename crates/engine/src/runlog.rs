//! Run logs: where a run writes its log (`<data dir>/logs/<command>-<UTC>-<pid>.log`) and how
//! many are kept (`log_keep_runs`, `log_keep_bytes`: the oldest go when a run starts). Shared by
//! every front end, so `fcs logs` lists the CLI's, the GUI's and an embedding program's runs.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::settings::Settings;

/// The logs folder in the data folder (created), if there is one.
pub fn folder() -> Option<PathBuf> {
    let dir = crate::tree::journal::data_dir()?.join("logs");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

/// A run log of ours: `<command>-<stamp>-<pid>.log`, a command of letters.
pub fn is_run_log(name: &str) -> bool {
    name.strip_suffix(".log")
        .and_then(|n| n.split_once('-'))
        .is_some_and(|(cmd, rest)| {
            !cmd.is_empty() && cmd.bytes().all(|b| b.is_ascii_lowercase()) && rest.contains('T')
        })
}

/// Our run logs in `dir`, newest first, with their sizes.
pub fn runs(dir: &Path) -> Vec<(PathBuf, SystemTime, u64)> {
    let mut logs: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(is_run_log))
        .filter_map(|e| {
            let md = e.metadata().ok()?;
            Some((e.path(), md.modified().ok()?, md.len()))
        })
        .collect();
    logs.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
    logs
}

/// Deletes the oldest run logs in `dir` beyond `keep_runs - 1` (room for the one about to be
/// written) and beyond `keep_bytes` in all; 0 means no limit. Only our own log names are touched.
pub fn rotate(dir: &Path, keep_runs: u32, keep_bytes: u64) {
    let mut total = 0u64;
    for (k, (path, _, len)) in runs(dir).into_iter().enumerate() {
        total += len;
        let too_many = keep_runs > 0 && k + 1 >= keep_runs as usize;
        let too_big = keep_bytes > 0 && total > keep_bytes;
        if too_many || too_big {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A new run log's path for `command` (lowercase letters: `sync`, `copy`, …), after the oldest
/// logs beyond `settings`' kept number and size are deleted. `None` when there is no data folder.
pub fn new_path(command: &str, settings: &Settings) -> Option<PathBuf> {
    let dir = folder()?;
    rotate(&dir, settings.log_keep_runs, settings.log_keep_bytes);
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now())
        .to_string()
        .replace(':', "");
    Some(dir.join(format!("{command}-{stamp}-{}.log", std::process::id())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_log_names_are_run_logs() {
        assert!(is_run_log("sync-2026-12-01T001419Z-4660.log"));
        assert!(is_run_log("resume-2026-12-01T001419Z-1.log"));
        for other in [
            "notes.log",
            "sync.log",
            "Sync-2026T-1.log",
            "sync-2026-01-01.txt",
        ] {
            assert!(!is_run_log(other), "{other}");
        }
    }

    #[test]
    fn rotation_keeps_the_newest_by_count_and_size_and_nothing_else() {
        let d = tempfile::tempdir().unwrap();
        let t0 = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        for i in 0..6u64 {
            let p = d.path().join(format!("sync-2026-01-0{i}T000000Z-{i}.log"));
            std::fs::write(&p, vec![b'x'; 100]).unwrap();
            let f = std::fs::File::options().write(true).open(&p).unwrap();
            f.set_modified(t0 + std::time::Duration::from_secs(i))
                .unwrap();
        }
        std::fs::write(d.path().join("mine.log"), "keep").unwrap();
        rotate(d.path(), 4, 0);
        let left: Vec<_> = runs(d.path()).into_iter().map(|r| r.0).collect();
        assert_eq!(left.len(), 3, "{left:?}");
        assert!(left[0].ends_with("sync-2026-01-05T000000Z-5.log"));
        rotate(d.path(), 0, 250);
        assert_eq!(runs(d.path()).len(), 2);
        assert!(d.path().join("mine.log").exists());
    }
}
