//! What the tests of `fcs` on real targets share: a test's folder with its own data folder,
//! running `fcs` there, and reading what it printed and left behind.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use testkit::{TempDir, tempdir};
pub(crate) use testkit::{p, stderr};

pub(crate) use crate::util::fcs_in;

pub(crate) const MIB: u64 = 1 << 20;

/// Image size of the filesystems: room for the default `free_space_margin` (64 MiB) and more.
pub(crate) const IMAGE: u64 = 256 * MIB;

/// A test's folder: `data` holds the journals, locks, logs and trash of its runs.
pub(crate) struct Env {
    dir: TempDir,
}

impl Env {
    pub(crate) fn new() -> Env {
        Env {
            dir: tempdir().unwrap(),
        }
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub(crate) fn data(&self) -> PathBuf {
        self.path("data")
    }

    pub(crate) fn fcs(&self) -> Command {
        fcs_in(&self.data())
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.fcs().args(args).output().expect("fcs runs")
    }
}

/// The NDJSON events of a `--json` run (every line must be one JSON object).
pub(crate) fn events(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

/// The summary of the `run_finished` event.
#[track_caller]
pub(crate) fn summary(o: &Output) -> Value {
    events(o)
        .into_iter()
        .find(|e| e["event"] == "run_finished")
        .map(|e| e["summary"].clone())
        .unwrap_or_else(|| panic!("no run_finished event; stderr: {}", stderr(o)))
}

/// `(path, code)` of every failed item of a summary.
pub(crate) fn failures(summary: &Value) -> Vec<(String, String)> {
    summary["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["path"].as_str().unwrap_or_default().to_string(),
                        e["code"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[track_caller]
pub(crate) fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        stderr(o)
    );
}

/// The names in `dir`, sorted.
pub(crate) fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Our temp files anywhere below `root`.
pub(crate) fn temps_below(root: &Path) -> Vec<PathBuf> {
    let mut out = testkit::temp_files(root);
    if let Ok(rd) = std::fs::read_dir(root) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                out.extend(temps_below(&e.path()));
            }
        }
    }
    out
}

#[track_caller]
pub(crate) fn assert_no_temps_below(root: &Path) {
    let left = temps_below(root);
    assert!(left.is_empty(), "temp files left behind: {left:?}");
}

/// One entry of a [`snapshot`]: path, kind, bytes (of a file) or target (of a link).
pub(crate) type Entry = (PathBuf, String, Vec<u8>);
pub(crate) type Snapshot = Vec<Entry>;

/// Everything below `root` — files with their bytes, folders, links with their targets — to
/// prove a folder was not touched.
pub(crate) fn snapshot(root: &Path) -> Snapshot {
    pub(crate) fn walk(root: &Path, dir: &Path, out: &mut Snapshot) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let path = e.path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            let t = e.file_type().unwrap();
            if t.is_symlink() {
                let to = std::fs::read_link(&path).unwrap();
                out.push((rel, "link".into(), to.into_os_string().into_encoded_bytes()));
            } else if t.is_dir() {
                out.push((rel, "dir".into(), Vec::new()));
                walk(root, &path, out);
            } else {
                out.push((rel, "file".into(), std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

#[track_caller]
pub(crate) fn assert_untouched(root: &Path, before: &[Entry], when: &str) {
    let now = snapshot(root);
    if now != before {
        let names = |s: &[Entry]| {
            s.iter()
                .map(|(p, k, b)| format!("{} ({k}, {} bytes)", p.display(), b.len()))
                .collect::<Vec<_>>()
        };
        panic!(
            "{when}: {} changed.\nbefore: {:?}\nnow:    {:?}",
            root.display(),
            names(before),
            names(&now)
        );
    }
}

/// A time with a sub-second fraction, like `touch -d '2024-01-02 03:04:05.678901234'`.
pub(crate) fn fine_time(extra_secs: u64, nanos: u32) -> SystemTime {
    UNIX_EPOCH + Duration::new(1_704_164_645 + extra_secs, nanos)
}

pub(crate) fn set_mtime(path: &Path, t: SystemTime) {
    let f = std::fs::File::open(path).unwrap();
    f.set_times(std::fs::FileTimes::new().set_modified(t).set_accessed(t))
        .unwrap_or_else(|e| panic!("cannot set the times of {}: {e}", path.display()));
}

pub(crate) fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}
