//! The names of our temp files: hidden, recognisably ours, short (Windows MAX_PATH), and carrying
//! the run's tag, so a scan can skip them, a sweep can tell one run's temps from another's, and a
//! journaled run knows every temp it can leave behind.
//!
//! ```text
//! .<first 24 bytes of the name>.<run>-<n>.fcs.tmp      a file's temp (counter n, this process)
//! .<first 24 bytes of the name>.<tag>-s<seq>.fcs.tmp   action seq of a journaled run
//! .fcs-replaced.<run>-<n>.fcs.tmp/                     a replaced file on its way to the trash
//! ```

use std::ffi::{OsStr, OsString};
use std::sync::atomic::{AtomicU64, Ordering};

/// Numbers this process's temps, so two copies into one directory never share a name.
static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

/// A fresh temp name, next to the target named `dst`: `.<name>.<run>-<n>.fcs.tmp`.
pub(crate) fn temp_name(dst: &OsStr, run_id: &str) -> OsString {
    let n = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
    format!(".{}.{run_id}-{n}.fcs.tmp", short_name(dst)).into()
}

/// The temp name of action `seq` of a journaled run: `.<name>.<tag>-s<seq>.fcs.tmp`.
pub(crate) fn seq_temp_name(dst: &OsStr, tag: &str, seq: usize) -> OsString {
    format!(".{}.{tag}-s{seq}.fcs.tmp", short_name(dst)).into()
}

/// A fresh private folder's name that keeps a replaced file until it is in the trash:
/// `.fcs-replaced.<run>-<n>.fcs.tmp`.
pub(crate) fn replaced_dir_name(run_id: &str) -> OsString {
    let n = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
    format!(".fcs-replaced.{run_id}-{n}.fcs.tmp").into()
}

/// The run tag and (for a journaled run's file) the action's sequence number in a temp name.
pub fn parse_temp_name(name: &str) -> Option<(&str, Option<usize>)> {
    let core = name.strip_suffix(".fcs.tmp")?;
    let (head, n) = core.rsplit_once('-')?;
    let tag = head.rsplit_once('.')?.1;
    Some((tag, n.strip_prefix('s').and_then(|n| n.parse().ok())))
}

/// Whether a temp file name is one of ours (for sweeps and for tests).
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".fcs.tmp")
}

/// At most the first 24 bytes of the target's name, cut at a character boundary.
fn short_name(dst: &OsStr) -> String {
    let name = dst.to_string_lossy();
    let mut short: String = String::new();
    for c in name.chars() {
        if short.len() + c.len_utf8() > 24 {
            break;
        }
        short.push(c);
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_short_hidden_and_recognisable() {
        let long = "x".repeat(255);
        let p = temp_name(OsStr::new(&long), "0123abcd");
        let name = p.to_str().unwrap();
        assert!(name.len() < 60, "{name}");
        assert!(is_temp_name(name));
        assert!(!is_temp_name("report.tmp"));
        let p = temp_name(OsStr::new("ééééééééééééééé.txt"), "r");
        assert!(p.to_str().unwrap().len() < 60);
    }

    #[test]
    fn every_kind_of_temp_name_gives_back_its_run_tag() {
        let name = |p: OsString| p.to_str().unwrap().to_string();
        let dst = OsStr::new("a.b-c.txt");
        let t = name(temp_name(dst, "run1"));
        assert_eq!(parse_temp_name(&t), Some(("run1", None)));
        let t = name(seq_temp_name(dst, "run2", 7));
        assert_eq!(parse_temp_name(&t), Some(("run2", Some(7))));
        let t = name(replaced_dir_name("run3"));
        assert!(is_temp_name(&t));
        assert_eq!(parse_temp_name(&t), Some(("run3", None)));
    }
}
