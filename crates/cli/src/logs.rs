//! Run logs: where a tree run writes its log (`<data dir>/logs/<command>-<UTC>-<pid>.log`), how
//! many are kept (`log_keep_runs`, `log_keep_bytes`: the oldest go when a run starts), and
//! `fcs logs`, which lists the recent runs and shows one.

use std::path::{Path, PathBuf};

use clap::Args;
use engine::{Error, runlog};

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

/// Where a tree run's log goes by default (`FCS_DATA_DIR` overrides the data folder), after the
/// oldest logs beyond the kept number and size are deleted. `None` when there is no such folder.
pub(crate) fn default_path(common: &Common, command: &str) -> Option<PathBuf> {
    // The settings that bound the logs: the user's file, --config and --set.
    let s = build_settings(common, &[]).unwrap_or_default();
    runlog::new_path(command, &s)
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
    let Some(dir) = runlog::folder() else {
        err!("error: no data folder on this system: no run logs");
        return Ok(EXIT_ERROR);
    };
    let runs = runlog::runs(&dir);
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
