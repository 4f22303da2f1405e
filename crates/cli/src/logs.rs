//! Run logs: where a tree run writes its log (`<data dir>/logs/<command>-<UTC>-<pid>.log`), how
//! many are kept (`log_keep_runs`, `log_keep_bytes`: the oldest go when a run starts), and
//! `fcs logs`, which lists the recent runs and shows one.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use clap::Args;
use engine::Error;

use crate::{Common, EXIT_ERROR, EXIT_OK, build_settings};

#[derive(Debug, Args)]
pub(crate) struct LogsArgs {
    /// How many of the most recent runs to list.
    #[arg(short = 'n', long, default_value_t = 20)]
    count: usize,
    /// Print the whole log of the N-th most recent run (1: the last one).
    #[arg(long, value_name = "N")]
    show: Option<usize>,
}

/// The logs folder in the data folder (created), if there is one.
fn folder() -> Option<PathBuf> {
    let dir = engine::journal::data_dir()?.join("logs");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

/// A run log of ours: `<command>-<stamp>-<pid>.log`, a command of letters.
fn is_run_log(name: &str) -> bool {
    name.strip_suffix(".log")
        .and_then(|n| n.split_once('-'))
        .is_some_and(|(cmd, rest)| {
            !cmd.is_empty() && cmd.bytes().all(|b| b.is_ascii_lowercase()) && rest.contains('T')
        })
}

/// Our run logs in `dir`, newest first, with their sizes.
fn runs(dir: &Path) -> Vec<(PathBuf, SystemTime, u64)> {
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
fn rotate(dir: &Path, keep_runs: u32, keep_bytes: u64) {
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

/// Where a tree run's log goes by default (`FCS_DATA_DIR` overrides the data folder), after the
/// oldest logs beyond the kept number and size are deleted. `None` when there is no such folder.
pub(crate) fn default_path(common: &Common, command: &str) -> Option<PathBuf> {
    let dir = folder()?;
    // The settings that bound the logs: the user's file, --config and --set.
    let s = build_settings(common, &[]).unwrap_or_default();
    rotate(&dir, s.log_keep_runs, s.log_keep_bytes);
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now())
        .to_string()
        .replace(':', "");
    Some(dir.join(format!("{command}-{stamp}-{}.log", std::process::id())))
}

/// The last line of a log that says how its run ended.
fn outcome(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .rev()
        .find_map(|l| l.split_once("run finished: ").map(|(_, r)| r.to_string()))
        .unwrap_or_else(|| "did not finish (interrupted: `fcs resume` finishes it)".into())
}

/// `fcs logs`: the recent runs, newest first (when, command, how it ended, the log), or one
/// run's whole log.
pub(crate) fn logs(args: &LogsArgs) -> Result<u8, Error> {
    let Some(dir) = folder() else {
        err!("error: no data folder on this system: no run logs");
        return Ok(EXIT_ERROR);
    };
    let runs = runs(&dir);
    if let Some(n) = args.show {
        let Some((path, ..)) = n.checked_sub(1).and_then(|k| runs.get(k)) else {
            err!("error: there are {} run logs; no run {n}", runs.len());
            return Ok(EXIT_ERROR);
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(engine::Code::ConfigFile, path, "cannot read the log", e))?;
        out!("{}", text.trim_end());
        return Ok(EXIT_OK);
    }
    if runs.is_empty() {
        out!("no run logs in {}", dir.display());
    }
    for (k, (path, when, _)) in runs.iter().take(args.count).enumerate() {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let command = name.split('-').next().unwrap_or("");
        out!(
            "{:>3}  {}  {:<7} {}\n     {}",
            k + 1,
            humantime::format_rfc3339_seconds(*when),
            command,
            outcome(path),
            path.display()
        );
    }
    Ok(EXIT_OK)
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
