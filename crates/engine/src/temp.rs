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

/// A run's tag: a few bits of the clock, then the process id in clear (`3fa2c1p4711`), so a
/// later run can tell a temp of a live process from one a killed process left.
pub(crate) fn tag_for(pid: u32, nanos: u32) -> String {
    format!("{:06x}p{pid}", nanos & 0xff_ffff)
}

/// Whether the temp `name` can only be a leftover: no unfinished journaled run (`keep`) owns its
/// tag, and the process in its tag is gone (a tag without one is an older run's, long gone).
pub(crate) fn is_dead(name: &str, keep: &[String]) -> bool {
    let Some((tag, _)) = parse_temp_name(name) else {
        return false;
    };
    if keep.iter().any(|k| k == tag) {
        return false;
    }
    match tag
        .rsplit_once('p')
        .and_then(|(_, pid)| pid.parse::<u32>().ok())
    {
        Some(pid) => pid != std::process::id() && !fsops::process_alive(pid),
        None => true,
    }
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
    is_temp_bytes(name.as_bytes())
}

/// [`is_temp_name`] of a name as listed, checked on its bytes: a scan asks for every name, and
/// few are temps (ours are always UTF-8).
pub(crate) fn is_temp_os_name(name: &OsStr) -> bool {
    is_temp_bytes(name.as_encoded_bytes()) && name.to_str().is_some()
}

fn is_temp_bytes(name: &[u8]) -> bool {
    name.starts_with(b".") && name.ends_with(b".fcs.tmp")
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
    fn a_temp_of_a_live_process_is_never_dead() {
        let me = tag_for(std::process::id(), 12345);
        let live = temp_name(OsStr::new("a"), &me);
        assert!(!is_dead(live.to_str().unwrap(), &[]));
        let gone = temp_name(OsStr::new("a"), &tag_for(u32::MAX - 7, 1));
        assert!(is_dead(gone.to_str().unwrap(), &[]));
        let kept = tag_for(u32::MAX - 7, 2);
        let owned = seq_temp_name(OsStr::new("a"), &kept, 3);
        assert!(!is_dead(owned.to_str().unwrap(), &[kept]));
        assert!(is_dead(".a.0123abcd-4.fcs.tmp", &[]), "an older run's tag");
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
