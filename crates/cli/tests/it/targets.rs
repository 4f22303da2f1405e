//! "Safe on every real target": `fcs` as a user runs it against the targets people have — exFAT
//! and FAT sticks, NTFS disks (case-sensitive and not), sshfs shares, bind mounts — and against a
//! target that changes under it (a folder swapped for a symlink mid-run), signals and closed
//! pipes. Each test states the behaviour it expects; see `testkit::mounts` for what each
//! filesystem does.
//!
//! Tests that need root and FUSE (or strace) are `#[ignore]`d with that reason;
//! `scripts/test.sh` runs them as root, where a missing tool fails the test.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant, UNIX_EPOCH};

use testkit::mounts::{Fs, Mount};
use testkit::{assert_content, stdout, tempdir, write_file};

use crate::harness::*;

/// Nested folders, an empty folder, an empty file, and files and folders whose modification
/// times have sub-second fractions (set last, folders after their contents).
fn nested_tree(root: &Path) {
    let files = [
        "top.txt",
        "zero",
        "a/one.bin",
        "a/b/two.bin",
        "a/b/c/three.txt",
        "x/y/four.bin",
    ];
    for (i, rel) in files.iter().enumerate() {
        let len = if *rel == "zero" { 0 } else { 1000 + 7919 * i };
        write_file(&root.join(rel), len, 100 + i as u64);
    }
    std::fs::create_dir_all(root.join("empty")).unwrap();
    for (i, rel) in files.iter().enumerate() {
        set_mtime(
            &root.join(rel),
            fine_time(i as u64, 678_901_234 - i as u32 * 1_111_111),
        );
    }
    for (i, rel) in ["a/b/c", "a/b", "a", "x/y", "x", "empty"]
        .iter()
        .enumerate()
    {
        set_mtime(
            &root.join(rel),
            fine_time(100 + i as u64, 123_456_789 + i as u32),
        );
    }
}

/// The strace the signal and lock tests drive `fcs` with; its absence is a failure.
fn need_strace() {
    testkit::require_tool("strace", "-V", "strace");
}

/// A child `fcs --json` whose stdout lines arrive on a channel, and whose stderr is collected.
pub(crate) struct Running {
    child: Child,
    lines: Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl Running {
    pub(crate) fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start fcs");
        let out = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines() {
                let Ok(l) = l else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Running {
            child,
            lines,
            stderr,
        }
    }

    /// Waits (up to `limit`) for a stdout line containing `needle`.
    #[track_caller]
    pub(crate) fn wait_for(&mut self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(needle) => return l,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    self.kill();
                    panic!("no {needle} line within {limit:?}");
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().unwrap();
                    panic!("fcs ended ({status}) before a {needle} line");
                }
            }
        }
    }

    pub(crate) fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// Waits up to `limit` for the exit; kills the process and panics when it does not come.
    #[track_caller]
    pub(crate) fn wait_exit(mut self, limit: Duration) -> (std::process::ExitStatus, String) {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                while self.lines.try_recv().is_ok() {}
                return (s, self.stderr.join().unwrap());
            }
            if Instant::now() > deadline {
                self.kill();
                panic!("fcs did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// The harness itself

type MakeMount<'a> = Box<dyn Fn() -> Mount + 'a>;

/// Every guard mounts a filesystem that works, and leaves no mount behind when dropped — also
/// when the test panics while it is mounted.
#[test]
#[ignore = "needs root and FUSE (scripts/test.sh runs ignored tests as root)"]
fn mount_guards_mount_and_leave_nothing_behind() {
    let remote = tempdir().unwrap();
    let makers: Vec<(&str, MakeMount)> = vec![
        ("exfat", Box::new(|| Mount::exfat(IMAGE))),
        ("fat", Box::new(|| Mount::fat(IMAGE))),
        ("ntfs", Box::new(|| Mount::ntfs(IMAGE))),
        (
            "ntfs_ignore_case",
            Box::new(|| Mount::ntfs_ignore_case(IMAGE)),
        ),
        ("sshfs", Box::new(|| Mount::sshfs(remote.path()))),
    ];
    for (name, make) in &makers {
        let m = make();
        let mnt = m.path().to_path_buf();
        assert!(testkit::mounts::is_mounted(&mnt), "{name}");
        let data = write_file(&mnt.join("dir/file.bin"), 100_000, 1);
        assert_content(&mnt.join("dir/file.bin"), &data);
        drop(m);
        assert!(!testkit::mounts::is_mounted(&mnt), "{name} still mounted");
        assert!(!mnt.exists(), "{name}: the mount point was not removed");
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let m = make();
            let mnt = m.path().to_path_buf();
            std::panic::panic_any(mnt);
        }))
        .unwrap_err();
        let mnt = panicked.downcast::<PathBuf>().unwrap();
        assert!(
            !testkit::mounts::is_mounted(&mnt),
            "{name} left mounted by a panic"
        );
    }
    assert_eq!(
        names(remote.path()),
        ["dir"],
        "sshfs wrote to its server folder"
    );
    let src = tempdir().unwrap();
    let dst = tempdir().unwrap();
    write_file(&src.path().join("f"), 3, 2);
    let b = Mount::bind(src.path(), dst.path());
    assert!(b.path().join("f").exists());
    drop(b);
    assert!(!dst.path().join("f").exists(), "the bind mount stayed");
    assert!(src.path().join("f").exists());
}

/// The properties `testkit::mounts` documents, probed again: if a driver update changes them,
/// this fails before the tests that rely on them.
#[test]
#[ignore = "needs root and FUSE (scripts/test.sh runs ignored tests as root)"]
fn filesystems_behave_as_documented() {
    let remote = tempdir().unwrap();
    let mounts = [
        Mount::exfat(IMAGE),
        Mount::fat(IMAGE),
        Mount::ntfs(IMAGE),
        Mount::ntfs_ignore_case(IMAGE),
        Mount::sshfs(remote.path()),
    ];
    for m in &mounts {
        let fs = m.fs();
        let d = m.path();
        std::fs::write(d.join("probe.txt"), b"x").unwrap();
        assert_eq!(
            d.join("PROBE.TXT").exists(),
            fs.case_insensitive(),
            "{fs:?} case"
        );
        let t = fine_time(0, 678_901_234);
        set_mtime(&d.join("probe.txt"), t);
        let got = std::fs::metadata(d.join("probe.txt"))
            .unwrap()
            .modified()
            .unwrap();
        let g = fs.mtime_granularity().as_nanos();
        let want = t.duration_since(UNIX_EPOCH).unwrap().as_nanos() / g * g;
        assert_eq!(
            got.duration_since(UNIX_EPOCH).unwrap().as_nanos(),
            want,
            "{fs:?} mtime granularity"
        );
        assert_eq!(
            std::os::unix::fs::symlink("probe.txt", d.join("link")).is_ok(),
            fs.symlinks(),
            "{fs:?} symlinks"
        );
        let windows_names = matches!(fs, Fs::Exfat | Fs::Fat | Fs::Ntfs | Fs::NtfsIgnoreCase);
        assert_eq!(
            std::fs::write(d.join("a:b.txt"), b"x").is_err(),
            windows_names,
            "{fs:?} illegal names"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// a) A re-sync writes nothing, whatever the timestamp granularity of the target.

fn resync_writes_nothing(m: &Mount) {
    let env = Env::new();
    let l = env.path("L");
    nested_tree(&l);
    let r = m.path().join("R");
    let o = env.run(&["sync", p(&l), p(&r), "--json"]);
    assert_exit(&o, 0);
    assert_eq!(summary(&o)["copied"], 6, "{}", stderr(&o));
    let o = env.run(&["sync", p(&l), p(&r), "--json"]);
    assert_exit(&o, 0);
    assert_eq!(
        summary(&o)["copied"],
        0,
        "the second run copied again on {:?}",
        m.fs()
    );
    let o = env.run(&["compare", p(&l), p(&r)]);
    assert_exit(&o, 0);
}

#[test]
#[ignore = "needs root and FUSE (scripts/test.sh runs ignored tests as root)"]
fn resync_writes_nothing_on_exfat() {
    resync_writes_nothing(&Mount::exfat(IMAGE));
}

#[test]
#[ignore = "needs root and FUSE (scripts/test.sh runs ignored tests as root)"]
fn resync_writes_nothing_on_fat() {
    resync_writes_nothing(&Mount::fat(IMAGE));
}

#[test]
#[ignore = "needs root and FUSE (scripts/test.sh runs ignored tests as root)"]
fn resync_writes_nothing_on_sshfs() {
    let remote = tempdir().unwrap();
    resync_writes_nothing(&Mount::sshfs(remote.path()));
}

// ---------------------------------------------------------------------------------------------
// b) Case-only and normalisation-only renames, and names that fold together.

/// `report.txt` → `Report.txt` and `Docs/` → `docs/` in the source, then a mirror: the target
/// holds exactly the new spellings with the right bytes — never nothing.
fn case_only_rename_loses_nothing(mut m: Mount) {
    let env = Env::new();
    let l = env.path("L");
    let report = write_file(&l.join("report.txt"), 5000, 1);
    let a = write_file(&l.join("Docs/a.txt"), 3000, 2);
    let b = write_file(&l.join("Docs/sub/b.txt"), 2000, 3);
    let r = m.path().join("R");
    let o = env.run(&["sync", p(&l), p(&r), "--json"]);
    assert_exit(&o, 0);
    std::fs::rename(l.join("report.txt"), l.join("Report.txt")).unwrap();
    std::fs::rename(l.join("Docs"), l.join("docs")).unwrap();
    let fs = m.fs();
    // The dry run (which judges the target from what is there) shows what the run will do.
    let o = env.run(&["sync", "--delete", "--dry-run", p(&l), p(&r), "--json"]);
    assert_exit(&o, 0);
    let plan = events(&o)
        .into_iter()
        .find(|e| e["event"] == "plan")
        .expect("a plan event");
    let actions = plan["plan"]["actions"].as_array().unwrap();
    assert!(
        actions
            .iter()
            .any(|a| a["kind"] == "rename" && a["rel"] == "Report.txt"),
        "{fs:?}: {actions:?}"
    );
    assert!(
        !actions
            .iter()
            .any(|a| a["kind"] == "delete" || a["kind"] == "copy"),
        "{fs:?}: {actions:?}"
    );
    let o = env.run(&[
        "sync",
        "--delete",
        "--delete-mode",
        "permanent",
        "--force",
        p(&l),
        p(&r),
        "--json",
    ]);
    let said = String::from_utf8_lossy(&o.stdout)
        .lines()
        .last()
        .map(str::to_owned);
    let top = m.stored_names(Path::new("R"));
    if fs == Fs::NtfsIgnoreCase {
        // lowntfs-3g with ignore_case lists every name in lower case: a folder's spelling on
        // disk is invisible through the mount, so only what can be seen is checked — the
        // file's new spelling (it was seen as different and renamed) and nothing lost.
        let lower: Vec<String> = top
            .iter()
            .map(|n| n.to_string_lossy().to_lowercase())
            .collect();
        assert_eq!(lower, ["docs", "report.txt"], "{fs:?}: {said:?}");
        assert!(top.iter().any(|n| n == "Report.txt"), "{fs:?}: {top:?}");
    } else {
        assert_eq!(
            top,
            ["Report.txt", "docs"],
            "{fs:?}: {said:?} {}",
            stderr(&o)
        );
        assert_eq!(
            m.stored_names(Path::new("R/docs")),
            ["a.txt", "sub"],
            "{fs:?}"
        );
    }
    assert_content(&r.join("Report.txt"), &report);
    assert_content(&r.join("docs/a.txt"), &a);
    assert_content(&r.join("docs/sub/b.txt"), &b);
    assert_exit(&o, 0);
    assert_no_temps_below(&r);
    // A rename the target folds into one item is not warned about as names it would merge
    // (with `--json` warnings go to the run's log).
    for log in std::fs::read_dir(env.data().join("logs")).unwrap() {
        let text = std::fs::read_to_string(log.unwrap().path()).unwrap();
        assert!(!text.contains("would merge"), "{fs:?}: {text}");
    }
}

#[test]
#[ignore = "needs root and FUSE (scripts/test.sh runs ignored tests as root)"]
fn case_only_rename_with_delete_loses_nothing_on_exfat() {
    case_only_rename_loses_nothing(Mount::exfat(IMAGE));
}

#[test]
#[ignore = "needs root and FUSE (scripts/test.sh runs ignored tests as root)"]
fn case_only_rename_with_delete_loses_nothing_on_fat() {
    case_only_rename_loses_nothing(Mount::fat(IMAGE));
}

#[test]
#[ignore = "needs root and FUSE (scripts/test.sh runs ignored tests as root)"]
fn case_only_rename_with_delete_loses_nothing_on_ntfs_ignore_case() {
    case_only_rename_loses_nothing(Mount::ntfs_ignore_case(IMAGE));
}

/// `é.txt` (NFC, one code point) renamed to `é.txt` (NFD, `e` + combining acute) and back: two
/// different names on these filesystems, so the mirror holds exactly the new one, with its
/// bytes. (fusefat stores no non-ASCII name at all, so FAT is not among them.)
fn normalisation_rename_loses_nothing(mut m: Mount) {
    let nfc = "\u{e9}.txt";
    let nfd = "e\u{301}.txt";
    let env = Env::new();
    let l = env.path("L");
    let data = write_file(&l.join(nfc), 4000, 4);
    let r = m.path().join("R");
    let o = env.run(&["sync", p(&l), p(&r)]);
    assert_exit(&o, 0);
    for (from, to) in [(nfc, nfd), (nfd, nfc)] {
        std::fs::rename(l.join(from), l.join(to)).unwrap();
        let o = env.run(&[
            "sync",
            "--delete",
            "--delete-mode",
            "permanent",
            "--force",
            p(&l),
            p(&r),
        ]);
        let stored = m.stored_names(Path::new("R"));
        assert_eq!(
            stored,
            [to],
            "{:?}, {from:?} → {to:?}: {}",
            m.fs(),
            stderr(&o)
        );
        assert_content(&r.join(to), &data);
        assert_exit(&o, 0);
    }
}

#[test]
#[ignore = "needs root and FUSE (scripts/test.sh runs ignored tests as root)"]
fn normalisation_only_rename_loses_nothing_on_exfat() {
    normalisation_rename_loses_nothing(Mount::exfat(IMAGE));
}

#[test]
#[ignore = "needs root and FUSE (scripts/test.sh runs ignored tests as root)"]
fn normalisation_only_rename_loses_nothing_on_ntfs_ignore_case() {
    normalisation_rename_loses_nothing(Mount::ntfs_ignore_case(IMAGE));
}

/// `a.txt` and `A.txt` in the source, one name on the target: neither may end up holding the
/// other's bytes, and the run says it could not do everything (exit 2).
fn folding_names_are_not_merged(mut m: Mount) {
    let env = Env::new();
    let l = env.path("L");
    let lower = write_file(&l.join("a.txt"), 1000, 5);
    let upper = write_file(&l.join("A.txt"), 1200, 6);
    let r = m.path().join("R");
    std::fs::create_dir(&r).unwrap();
    let o = env.run(&["sync", p(&l), p(&r), "--json"]);
    let stored = m.stored_names(Path::new("R"));
    assert!(stored.len() <= 1, "{stored:?}");
    for name in &stored {
        let want = if name == "a.txt" { &lower } else { &upper };
        assert_content(&r.join(name), want);
    }
    assert_exit(&o, 2);
    let failed = failures(&summary(&o));
    for name in ["/a.txt", "/A.txt"] {
        assert!(
            failed.iter().any(|(path, _)| path.ends_with(name)),
            "{:?}: {name} is not reported as failed: {failed:?}",
            m.fs()
        );
    }
    assert_no_temps_below(&r);
}

#[test]
#[ignore = "needs root and FUSE (scripts/test.sh runs ignored tests as root)"]
fn names_that_fold_together_are_not_merged_on_exfat() {
    folding_names_are_not_merged(Mount::exfat(IMAGE));
}

#[test]
#[ignore = "needs root and FUSE (scripts/test.sh runs ignored tests as root)"]
fn names_that_fold_together_are_not_merged_on_fat() {
    folding_names_are_not_merged(Mount::fat(IMAGE));
}

#[test]
#[ignore = "needs root and FUSE (scripts/test.sh runs ignored tests as root)"]
fn names_that_fold_together_are_not_merged_on_ntfs_ignore_case() {
    folding_names_are_not_merged(Mount::ntfs_ignore_case(IMAGE));
}

// ---------------------------------------------------------------------------------------------
// c) A name the target refuses fails alone.

fn illegal_names_fail_alone(mut m: Mount) {
    let env = Env::new();
    let l = env.path("L");
    let ok = write_file(&l.join("ok.txt"), 700, 7);
    write_file(&l.join("a:b.txt"), 800, 8);
    write_file(&l.join("q?.txt"), 900, 9);
    let r = m.path().join("R");
    std::fs::create_dir(&r).unwrap();
    let o = env.run(&["sync", p(&l), p(&r), "--json"]);
    assert_exit(&o, 2);
    assert_content(&r.join("ok.txt"), &ok);
    let mut failed = failures(&summary(&o));
    failed.sort();
    let fs = m.fs();
    assert_eq!(failed.len(), 2, "{fs:?}: {failed:?}");
    assert!(
        failed[0].0.ends_with("a:b.txt") && failed[1].0.ends_with("q?.txt"),
        "{fs:?}: {failed:?}"
    );
    for (path, code) in &failed {
        assert_eq!(code, "COPY_E_NAME_REFUSED", "{fs:?}: {path}");
    }
    assert_eq!(m.stored_names(Path::new("R")), ["ok.txt"], "{fs:?}");
    assert_no_temps_below(&r);
}

#[test]
#[ignore = "needs root and FUSE (scripts/test.sh runs ignored tests as root)"]
fn illegal_names_fail_alone_on_exfat() {
    illegal_names_fail_alone(Mount::exfat(IMAGE));
}

#[test]
#[ignore = "needs root and FUSE (scripts/test.sh runs ignored tests as root)"]
fn illegal_names_fail_alone_on_fat() {
    illegal_names_fail_alone(Mount::fat(IMAGE));
}

#[test]
#[ignore = "needs root and FUSE (scripts/test.sh runs ignored tests as root)"]
fn illegal_names_fail_alone_on_ntfs() {
    illegal_names_fail_alone(Mount::ntfs(IMAGE));
}

// ---------------------------------------------------------------------------------------------
// d) A symlink in the target's way is never written through.

/// `L/d/` is a folder with files; `R/d` is a symlink to OUTSIDE. Returns (env, L, R, OUTSIDE,
/// OUTSIDE's snapshot).
fn link_in_the_way() -> (Env, PathBuf, PathBuf, PathBuf, Snapshot) {
    let env = Env::new();
    let (l, r, outside) = (env.path("L"), env.path("R"), env.path("OUTSIDE"));
    write_file(&l.join("d/f1.txt"), 100, 10);
    write_file(&l.join("d/sub/f2.txt"), 200, 11);
    write_file(&l.join("other.txt"), 300, 12);
    write_file(&outside.join("keep.txt"), 50, 13);
    std::fs::create_dir(&r).unwrap();
    std::os::unix::fs::symlink(&outside, r.join("d")).unwrap();
    let before = snapshot(&outside);
    (env, l, r, outside, before)
}

#[track_caller]
fn assert_subtree_refused(o: &Output) {
    assert_exit(o, 2);
    let failed = failures(&summary(o));
    assert!(
        failed
            .iter()
            .any(|(path, code)| path.ends_with("/d") && code == "TREE_E_SYMLINK_IN_PATH"),
        "{failed:?}"
    );
}

#[test]
fn a_target_symlink_where_the_source_has_a_folder_is_not_written_through() {
    let (env, l, r, outside, before) = link_in_the_way();
    let o = env.run(&["sync", p(&l), p(&r), "--json"]);
    assert_untouched(&outside, &before, "sync");
    assert!(std::fs::symlink_metadata(r.join("d")).unwrap().is_symlink());
    assert_content(&r.join("other.txt"), &testkit::data(300, 12));
    assert_subtree_refused(&o);
}

#[test]
fn a_target_symlink_in_the_way_is_not_followed_with_follow_symlinks_either() {
    let (env, l, r, outside, before) = link_in_the_way();
    let o = env.run(&["sync", "--follow-symlinks", p(&l), p(&r), "--json"]);
    assert_untouched(&outside, &before, "sync --follow-symlinks");
    assert!(std::fs::symlink_metadata(r.join("d")).unwrap().is_symlink());
    assert_subtree_refused(&o);
}

/// With `--delete` the link itself is replaced by a real folder; what it pointed to is left alone.
#[test]
fn with_delete_a_target_symlink_in_the_way_is_replaced_by_a_folder() {
    let (env, l, r, outside, before) = link_in_the_way();
    let o = env.run(&["sync", "--delete", "--force", p(&l), p(&r), "--json"]);
    assert_untouched(&outside, &before, "sync --delete");
    let meta = std::fs::symlink_metadata(r.join("d")).unwrap();
    assert!(meta.is_dir() && !meta.is_symlink());
    assert_content(&r.join("d/f1.txt"), &testkit::data(100, 10));
    assert_content(&r.join("d/sub/f2.txt"), &testkit::data(200, 11));
    assert_exit(&o, 0);
}

/// A move skips the subtree behind the link and keeps its sources; the rest is moved.
#[test]
fn a_move_never_writes_through_a_target_symlink_and_keeps_those_sources() {
    let env = Env::new();
    let (l, into, outside) = (env.path("L"), env.path("R"), env.path("OUTSIDE"));
    write_file(&l.join("d/f1.txt"), 100, 10);
    write_file(&l.join("d/sub/f2.txt"), 200, 11);
    write_file(&l.join("other.txt"), 300, 12);
    write_file(&outside.join("keep.txt"), 50, 13);
    // `fcs move L R` with an existing R moves into R/L.
    let t = into.join("L");
    std::fs::create_dir_all(&t).unwrap();
    std::os::unix::fs::symlink(&outside, t.join("d")).unwrap();
    let before = snapshot(&outside);
    let o = env.run(&["move", p(&l), p(&into), "--json"]);
    assert_untouched(&outside, &before, "move");
    assert_content(&l.join("d/f1.txt"), &testkit::data(100, 10));
    assert_content(&l.join("d/sub/f2.txt"), &testkit::data(200, 11));
    assert_content(&t.join("other.txt"), &testkit::data(300, 12));
    assert!(!l.join("other.txt").exists(), "the rest is moved");
    assert!(std::fs::symlink_metadata(t.join("d")).unwrap().is_symlink());
    assert_subtree_refused(&o);
}

/// A source link synced as a link, then replaced in the source by a real folder: the next sync
/// must not put the folder's files where the old link points.
#[test]
fn a_source_link_later_replaced_by_a_folder_does_not_write_through_the_old_link() {
    let env = Env::new();
    let (l, r, x) = (env.path("L"), env.path("R"), env.path("X"));
    write_file(&x.join("x.txt"), 40, 14);
    write_file(&l.join("plain.txt"), 30, 15);
    std::os::unix::fs::symlink(&x, l.join("d")).unwrap();
    let o = env.run(&["sync", p(&l), p(&r)]);
    assert_exit(&o, 0);
    assert_eq!(
        std::fs::read_link(r.join("d")).unwrap(),
        x,
        "synced as a link"
    );
    let before = snapshot(&x);
    std::fs::remove_file(l.join("d")).unwrap();
    write_file(&l.join("d/new.txt"), 60, 16);
    write_file(&l.join("d/deeper/new2.txt"), 70, 17);
    let o = env.run(&["sync", p(&l), p(&r), "--json"]);
    assert_untouched(&x, &before, "second sync");
    assert_subtree_refused(&o);
}

// ---------------------------------------------------------------------------------------------
// e) The race: target folders swapped for symlinks while a run writes into them.

/// Swaps folders `T/dNN` for symlinks to `outside` (rename the folder away, link in its place,
/// then back) until stopped; restores every folder before it returns.
fn racer(t: PathBuf, outside: PathBuf, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut swaps = 0u64;
        let mut i = 0usize;
        while !stop.load(Ordering::Relaxed) {
            i = (i * 7 + 3) % 100;
            let real = t.join(format!("d{i:02}"));
            let away = t.join(format!(".d{i:02}.away"));
            let is_dir = std::fs::symlink_metadata(&real).is_ok_and(|m| m.is_dir());
            if !is_dir || std::fs::rename(&real, &away).is_err() {
                std::thread::yield_now();
                continue;
            }
            if std::os::unix::fs::symlink(&outside, &real).is_ok() {
                swaps += 1;
                std::thread::sleep(Duration::from_micros(200));
                let _ = std::fs::remove_file(&real);
            }
            restore(&real, &away);
        }
        swaps
    })
}

/// Puts `away` back at `real`; if something else appeared at `real` meanwhile, merges into it.
fn restore(real: &Path, away: &Path) {
    if std::fs::symlink_metadata(real).is_ok_and(|m| m.is_symlink()) {
        let _ = std::fs::remove_file(real);
    }
    if std::fs::rename(away, real).is_ok() {
        return;
    }
    let _ = std::fs::create_dir_all(real);
    for e in std::fs::read_dir(away).into_iter().flatten().flatten() {
        let to = real.join(e.file_name());
        if std::fs::symlink_metadata(&to).is_err() {
            let _ = std::fs::rename(e.path(), &to);
        } else if e.file_type().is_ok_and(|t| t.is_dir()) {
            restore(&to, &e.path());
        }
    }
    let _ = std::fs::remove_dir_all(away);
}

/// Whether `rel` below `root` is reached through folders only (no component is a symlink).
fn reached_without_links(root: &Path, rel: &Path) -> bool {
    let mut p = root.to_path_buf();
    rel.components().all(|c| {
        p.push(c);
        std::fs::symlink_metadata(&p).is_ok_and(|m| !m.is_symlink())
    })
}

/// About 3,000 small files in 100 folders.
fn many_small_files(root: &Path, seed: u64) -> Vec<(PathBuf, Vec<u8>)> {
    for i in 0..100u64 {
        for j in 0..30u64 {
            let len = 64 + ((i * 31 + j * 17) % 1500) as usize;
            write_file(
                &root.join(format!("d{i:02}/f{j:02}.bin")),
                len,
                seed + i * 100 + j,
            );
        }
    }
    testkit::tree_files(root)
}

fn race(command: &str) {
    let env = Env::new();
    let outside = env.path("OUTSIDE");
    // Names that a write through a link would hit, and some that it would add to.
    for j in 0..5u64 {
        write_file(&outside.join(format!("f{j:02}.bin")), 99, 9000 + j);
    }
    write_file(&outside.join("d00/f00.bin"), 99, 9100);
    let before = snapshot(&outside);
    let start = Instant::now();
    let mut runs = 0;
    let mut total_swaps = 0;
    while runs < 10 && (runs == 0 || start.elapsed() < Duration::from_secs(30)) {
        let base = env.path(&format!("run{runs}"));
        let (l, r) = (base.join("L"), base.join("R"));
        let source = many_small_files(&l, runs * 1_000_000);
        std::fs::create_dir_all(&r).unwrap();
        // `fcs move L R` into an existing R moves into R/L; a sync mirrors into R.
        let t = if command == "move" {
            r.join("L")
        } else {
            r.clone()
        };
        std::fs::create_dir_all(&t).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let swapper = racer(t.clone(), outside.clone(), stop.clone());
        let o = env.run(&[command, p(&l), p(&r), "-q"]);
        stop.store(true, Ordering::Relaxed);
        total_swaps += swapper.join().unwrap();
        assert_untouched(&outside, &before, &format!("{command} run {runs}"));
        assert!(
            matches!(o.status.code(), Some(0 | 2)),
            "run {runs}: {}",
            stderr(&o)
        );
        if command == "move" {
            for (rel, bytes) in &source {
                if l.join(rel).exists() {
                    continue;
                }
                assert!(
                    reached_without_links(&t, rel)
                        && std::fs::read(t.join(rel)).ok().as_ref() == Some(bytes),
                    "run {runs}: the source {} was deleted without its copy in place",
                    rel.display()
                );
            }
        }
        runs += 1;
    }
    assert!(
        total_swaps > 0,
        "the racer never swapped a folder: the test saw nothing"
    );
    eprintln!("{command}: {runs} runs, {total_swaps} swaps, OUTSIDE untouched");
}

#[test]
fn a_sync_never_writes_outside_the_target_while_folders_are_swapped_for_symlinks() {
    race("sync");
}

#[test]
fn a_move_never_writes_outside_the_target_while_folders_are_swapped_for_symlinks() {
    race("move");
}

// ---------------------------------------------------------------------------------------------
// f) Second paths to one folder, and two runs into one target.

/// The source bind-mounted inside its own target: a mirror would delete the source through the
/// second path. Refused before any write.
#[test]
#[ignore = "needs root (scripts/test.sh runs ignored tests as root)"]
fn a_source_bind_mounted_inside_its_target_is_refused() {
    let env = Env::new();
    let (l, r) = (env.path("L"), env.path("R"));
    write_file(&l.join("precious.txt"), 500, 20);
    write_file(&r.join("old.txt"), 400, 21);
    std::fs::create_dir(r.join("inner")).unwrap();
    let _bind = Mount::bind(&l, &r.join("inner"));
    let (l_before, r_before) = (snapshot(&l), snapshot(&r));
    for args in [
        vec!["sync", p(&l), p(&r)],
        vec![
            "sync",
            "--delete",
            "--delete-mode",
            "permanent",
            "--force",
            p(&l),
            p(&r),
        ],
    ] {
        let o = env.run(&args);
        assert_exit(&o, 2);
        assert!(
            stderr(&o).contains("PLAN_E_ROOTS"),
            "{args:?}: {}",
            stderr(&o)
        );
        assert_untouched(&l, &l_before, "source");
        assert_untouched(&r, &r_before, "target");
    }
}

/// The target bind-mounted inside the source, and one folder bind-mounted onto another.
#[test]
#[ignore = "needs root (scripts/test.sh runs ignored tests as root)"]
fn a_target_bind_mounted_inside_its_source_or_onto_it_is_refused() {
    let env = Env::new();
    let (l, r) = (env.path("L"), env.path("R"));
    write_file(&l.join("precious.txt"), 500, 22);
    write_file(&r.join("old.txt"), 400, 23);
    std::fs::create_dir(l.join("inner")).unwrap();
    let bind = Mount::bind(&r, &l.join("inner"));
    let (l_before, r_before) = (snapshot(&l), snapshot(&r));
    let o = env.run(&["sync", "--delete", "--force", p(&l), p(&r)]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("PLAN_E_ROOTS"), "{}", stderr(&o));
    assert_untouched(&l, &l_before, "source");
    assert_untouched(&r, &r_before, "target");
    drop(bind);
    let same = env.path("SAME");
    std::fs::create_dir(&same).unwrap();
    let _bind = Mount::bind(&r, &same);
    let o = env.run(&["sync", "--delete", "--force", p(&l), p(&same)]);
    assert_exit(&o, 0);
    let o = env.run(&["sync", "--delete", "--force", p(&same), p(&r)]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("PLAN_E_ROOTS"), "{}", stderr(&o));
}

/// A root given through a symlink that leads inside the other root is the same overlap.
#[test]
fn a_symlinked_root_that_leads_inside_the_other_is_refused() {
    let env = Env::new();
    let (l, r) = (env.path("L"), env.path("R"));
    write_file(&l.join("sub/precious.txt"), 500, 24);
    write_file(&r.join("old.txt"), 400, 25);
    let into_l = env.path("into-l");
    std::os::unix::fs::symlink(l.join("sub"), &into_l).unwrap();
    let into_r = env.path("into-r");
    std::os::unix::fs::symlink(&r, &into_r).unwrap();
    std::os::unix::fs::symlink(&l, r.join("back-to-l")).unwrap();
    let (l_before, r_before) = (snapshot(&l), snapshot(&r));
    for (a, b) in [
        (&l, &into_l),
        (&into_l, &l),
        (&l, &into_r.join("back-to-l")),
    ] {
        let o = env.run(&["sync", "--delete", "--force", p(a), p(b)]);
        assert_exit(&o, 2);
        assert!(stderr(&o).contains("PLAN_E_ROOTS"), "{}", stderr(&o));
        assert_untouched(&l, &l_before, "source");
        assert_untouched(&r, &r_before, "target");
    }
}

/// A first sync into `target`, kept slow by strace (every fsync delayed), with its own data
/// folder; returns once it holds its lock (it has announced its run).
fn slow_first_run(env: &Env, target: &Path) -> Running {
    need_strace();
    let l1 = env.path("L1");
    for i in 0..12 {
        write_file(&l1.join(format!("sub/f{i}.bin")), 5000, 30 + i);
    }
    let mut cmd = Command::new("strace");
    cmd.args([
        "-f",
        "-qq",
        "-o",
        "/dev/null",
        "-e",
        "inject=fsync,fdatasync:delay_enter=400000",
        env!("CARGO_BIN_EXE_fcs"),
        "sync",
        p(&l1),
        p(target),
        "--json",
    ])
    .env("FCS_DATA_DIR", env.path("data1"))
    .env("XDG_DATA_HOME", env.path("data1"));
    let mut first = Running::spawn(cmd);
    first.wait_for("\"run_started\"", Duration::from_secs(60));
    first
}

/// The lock belongs to the target, not to the data folder of one user or run.
fn second_run_is_locked_out(second_target_rel: &str) {
    let env = Env::new();
    let r = env.path("R");
    let first = slow_first_run(&env, &r);
    let l2 = env.path("L2");
    write_file(&l2.join("second-only.txt"), 100, 50);
    let second = r.join(second_target_rel);
    let o = fcs_in(&env.path("data2"))
        .args(["sync", p(&l2), p(&second)])
        .output()
        .unwrap();
    let (status, err) = first.wait_exit(Duration::from_secs(120));
    assert!(status.success(), "the first run: {err}");
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("JOURNAL_E_LOCKED"), "{}", stderr(&o));
    assert!(
        !second.join("second-only.txt").exists(),
        "the second run wrote"
    );
}

#[test]
#[ignore = "needs strace (scripts/test.sh runs ignored tests as root)"]
fn a_second_run_into_the_same_target_is_refused_whatever_its_data_folder() {
    second_run_is_locked_out("");
}

#[test]
#[ignore = "needs strace (scripts/test.sh runs ignored tests as root)"]
fn a_second_run_into_a_subfolder_of_a_running_target_is_refused() {
    second_run_is_locked_out("sub");
}

// ---------------------------------------------------------------------------------------------
// g) Metadata-only changes: no copy.

#[test]
fn a_mode_change_is_a_metadata_only_update_in_place() {
    let env = Env::new();
    let (l, r) = (env.path("L"), env.path("R"));
    write_file(&l.join("doc.txt"), 3000, 60);
    write_file(&l.join("same.txt"), 100, 61);
    let o = env.run(&["sync", p(&l), p(&r)]);
    assert_exit(&o, 0);
    set_mode(&l.join("doc.txt"), 0o600);
    let o = env.run(&["compare", p(&l), p(&r)]);
    assert_exit(&o, 1);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.lines()
            .any(|line| line.starts_with("metadata-only") && line.contains("doc.txt")),
        "{out}"
    );
    let o = env.run(&["compare", p(&l), p(&r), "--json"]);
    assert_exit(&o, 1);
    let item = events(&o)
        .into_iter()
        .find(|e| e["event"] == "item" && e["path"] == "doc.txt")
        .expect("doc.txt is listed");
    assert_eq!(item["category"], "metadata_only");
    let ino = std::fs::metadata(r.join("doc.txt")).unwrap().ino();
    let o = env.run(&["sync", p(&l), p(&r), "--json"]);
    assert_exit(&o, 0);
    assert_eq!(summary(&o)["copied"], 0);
    let meta = std::fs::metadata(r.join("doc.txt")).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o600);
    assert_eq!(
        meta.ino(),
        ino,
        "the file was copied instead of updated in place"
    );
    let o = env.run(&["compare", p(&l), p(&r)]);
    assert_exit(&o, 0);
}

// ---------------------------------------------------------------------------------------------
// h) setuid is not carried over by root.

/// Root keeps owners by default (like rsync -a as root), and with the owner the setuid bit: the
/// copy is the same setuid program of the same user. Without the owner (`preserve_owner=false`)
/// root must not hand out a setuid binary of its own: the bit is dropped and a
/// `setuid_stripped` notice names the file.
#[test]
#[ignore = "needs root (scripts/test.sh runs ignored tests as root)"]
fn root_keeps_the_owner_with_setuid_or_drops_the_bit_and_says_so() {
    assert!(testkit::is_root(), "needs root to own a file as nobody");
    let env = Env::new();
    let (l, r, r2) = (env.path("L"), env.path("R"), env.path("R2"));
    let f = l.join("tool");
    write_file(&f, 2000, 70);
    let chown = Command::new("chown")
        .args(["nobody:nogroup", p(&f)])
        .status()
        .unwrap();
    assert!(chown.success());
    set_mode(&f, 0o4755);
    assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o7777, 0o4755);
    let src = std::fs::metadata(&f).unwrap();

    let o = env.run(&["sync", p(&l), p(&r), "--json"]);
    assert_exit(&o, 0);
    let copy = std::fs::metadata(r.join("tool")).unwrap();
    assert_eq!((copy.uid(), copy.gid()), (src.uid(), src.gid()));
    assert_eq!(format!("{:o}", copy.mode() & 0o7777), "4755");

    let o = env.run(&[
        "sync",
        p(&l),
        p(&r2),
        "--json",
        "--set",
        "preserve_owner=false",
    ]);
    assert_exit(&o, 0);
    let copy = std::fs::metadata(r2.join("tool")).unwrap();
    assert_eq!(
        format!("{:o}", copy.mode() & 0o7777),
        "755",
        "the copy (owned by uid {}) kept its setuid bit",
        copy.uid()
    );
    let notice = events(&o).into_iter().find(|e| {
        e["event"] == "notice"
            && e["kind"] == "setuid_stripped"
            && e["path"].as_str().is_some_and(|p| p.ends_with("tool"))
    });
    assert!(notice.is_some(), "{:?}", events(&o));
}

// ---------------------------------------------------------------------------------------------
// i) --update keeps newer target files.

#[test]
fn update_keeps_a_newer_target_file_and_the_dry_run_lists_it_as_skipped() {
    let env = Env::new();
    let (l, r) = (env.path("L"), env.path("R"));
    write_file(&l.join("older-in-source.txt"), 100, 80);
    write_file(&l.join("newer-in-source.txt"), 110, 81);
    let kept = write_file(&r.join("older-in-source.txt"), 120, 82);
    write_file(&r.join("newer-in-source.txt"), 130, 83);
    set_mtime(&l.join("older-in-source.txt"), fine_time(0, 0));
    set_mtime(&r.join("older-in-source.txt"), fine_time(3600, 0));
    set_mtime(&l.join("newer-in-source.txt"), fine_time(7200, 0));
    set_mtime(&r.join("newer-in-source.txt"), fine_time(0, 0));
    let o = env.run(&["sync", "--dry-run", "-u", p(&l), p(&r)]);
    assert_exit(&o, 0);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.lines()
            .any(|line| line.starts_with("skip") && line.contains("older-in-source.txt")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|line| line.starts_with("replace") && line.contains("newer-in-source.txt")),
        "{out}"
    );
    let o = env.run(&["sync", "--update", p(&l), p(&r), "--json"]);
    assert_exit(&o, 0);
    assert_content(&r.join("older-in-source.txt"), &kept);
    assert_content(&r.join("newer-in-source.txt"), &testkit::data(110, 81));
    assert_eq!(summary(&o)["copied"], 1);
}

// ---------------------------------------------------------------------------------------------
// j) SIGTERM, SIGHUP, and a killed copy's temp.

const BIG: u64 = 256 * MIB;
const CHUNK: usize = 8 << 20;

/// A large file whose 8 MiB chunks differ (the chunk number and `seed` lead each one), written
/// fast; `big_matches` checks a file against it without holding it in memory.
fn write_big(path: &Path, size: u64, seed: u64) {
    use std::io::Write;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut chunk = testkit::data(CHUNK, seed);
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut left = size;
    let mut i = 0u64;
    while left > 0 {
        chunk[..8].copy_from_slice(&(seed ^ (i << 32)).to_le_bytes());
        let n = left.min(CHUNK as u64) as usize;
        f.write_all(&chunk[..n]).unwrap();
        left -= n as u64;
        i += 1;
    }
    f.into_inner().unwrap().sync_all().unwrap();
}

fn big_matches(path: &Path, size: u64, seed: u64) -> bool {
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    if f.metadata().map(|m| m.len()).ok() != Some(size) {
        return false;
    }
    let mut want = testkit::data(CHUNK, seed);
    let mut got = vec![0u8; CHUNK];
    let mut left = size;
    let mut i = 0u64;
    while left > 0 {
        want[..8].copy_from_slice(&(seed ^ (i << 32)).to_le_bytes());
        let n = left.min(CHUNK as u64) as usize;
        if f.read_exact(&mut got[..n]).is_err() || got[..n] != want[..n] {
            return false;
        }
        left -= n as u64;
        i += 1;
    }
    true
}

/// Four large files, two of them with an older version already on the target.
fn big_sync_setup(env: &Env) -> (PathBuf, PathBuf) {
    let (l, r) = (env.path("L"), env.path("R"));
    for i in 0..4 {
        write_big(&l.join(format!("big{i}.bin")), BIG, 100 + i);
    }
    for i in 0..2 {
        write_big(&r.join(format!("big{i}.bin")), 3 * MIB, 200 + i);
    }
    (l, r)
}

/// I2 after an interrupted run: each target file is its complete old or complete new version.
#[track_caller]
fn assert_big_old_or_new(r: &Path) {
    for i in 0..4u64 {
        let path = r.join(format!("big{i}.bin"));
        let new = big_matches(&path, BIG, 100 + i);
        let old = if i < 2 {
            big_matches(&path, 3 * MIB, 200 + i)
        } else {
            !path.exists()
        };
        assert!(new || old, "{} is neither old nor new", path.display());
    }
}

fn big_sync(env: &Env, l: &Path, r: &Path) -> Running {
    let mut cmd = env.fcs();
    cmd.args(["sync", p(l), p(r), "--json", "--verify", "all"]);
    Running::spawn(cmd)
}

/// SIGTERM mid-copy and SIGHUP mid-verify end the run like Ctrl-C: exit 3 within seconds, no
/// temp left, every target complete-old or complete-new.
#[test]
fn sigterm_and_sighup_cancel_a_sync_cleanly() {
    let env = Env::new();
    let (l, r) = big_sync_setup(&env);
    for (sig, phase) in [
        ("TERM", "\"phase\":\"copy\""),
        ("HUP", "\"phase\":\"verify\""),
    ] {
        let mut run = big_sync(&env, &l, &r);
        run.wait_for(phase, Duration::from_secs(120));
        run.signal(sig);
        let (status, err) = run.wait_exit(Duration::from_secs(10));
        assert_eq!(status.code(), Some(3), "SIG{sig}: {status}: {err}");
        assert_no_temps_below(&r);
        assert_big_old_or_new(&r);
    }
}

/// A second SIGTERM right after the first ends the process at once; the target stays
/// complete-old or complete-new, and the next run removes whatever temp is left.
#[test]
fn a_second_sigterm_exits_at_once_and_loses_nothing() {
    use std::os::unix::process::ExitStatusExt;
    let env = Env::new();
    let (l, r) = big_sync_setup(&env);
    let mut run = big_sync(&env, &l, &r);
    run.wait_for("\"progress\"", Duration::from_secs(120));
    run.signal("TERM");
    run.signal("TERM");
    let (status, err) = run.wait_exit(Duration::from_secs(5));
    assert!(
        status.code() == Some(3) || status.signal() == Some(15),
        "{status}: {err}"
    );
    assert_big_old_or_new(&r);
    let o = env.run(&["sync", p(&l), p(&r), "-q"]);
    assert_exit(&o, 0);
    assert_no_temps_below(&r);
    for i in 0..4 {
        assert!(big_matches(&r.join(format!("big{i}.bin")), BIG, 100 + i));
    }
}

/// `kill -9` leaves the temp of a single-file copy behind; the next copy into that folder
/// removes it.
#[test]
fn a_killed_copy_leaves_a_temp_that_the_next_copy_into_the_folder_removes() {
    let env = Env::new();
    let (big, small, dir) = (env.path("big.bin"), env.path("small.bin"), env.path("DIR"));
    write_big(&big, BIG, 300);
    write_file(&small, 1000, 301);
    std::fs::create_dir(&dir).unwrap();
    let mut cmd = env.fcs();
    cmd.args([
        "copy",
        p(&big),
        p(&dir),
        "--json",
        "--verify",
        "all",
        "--strategy",
        "staged",
    ]);
    let mut run = Running::spawn(cmd);
    run.wait_for("\"progress\"", Duration::from_secs(60));
    run.signal("KILL");
    let _ = run.wait_exit(Duration::from_secs(10));
    assert!(
        !testkit::temp_files(&dir).is_empty(),
        "precondition: the killed copy left its temp"
    );
    let o = env.run(&["copy", p(&small), p(&dir)]);
    assert_exit(&o, 0);
    assert_content(&dir.join("small.bin"), &testkit::data(1000, 301));
    testkit::assert_no_temps(&dir);
}

// ---------------------------------------------------------------------------------------------
// k) Ctrl-C during the content compare of one huge pair.

/// Two 3 GiB sparse files that differ only in their last block: a compare by content must read
/// all of both, and Ctrl-C one second in must end it promptly (exit 3), not after the pair.
/// The bound is 1.5 s after the signal, with slack for a loaded machine.
#[test]
fn ctrl_c_during_the_content_compare_of_one_huge_pair_exits_promptly() {
    use std::io::{Seek, SeekFrom, Write};
    let env = Env::new();
    let (l, r) = (env.path("L"), env.path("R"));
    for (dir, last) in [(&l, 1u64), (&r, 2u64)] {
        std::fs::create_dir_all(dir).unwrap();
        let mut f = std::fs::File::create(dir.join("huge.img")).unwrap();
        f.set_len(3 << 30).unwrap();
        for (k, off) in [0u64, 1 << 30, 2 << 30].into_iter().enumerate() {
            f.seek(SeekFrom::Start(off)).unwrap();
            f.write_all(&testkit::data(65536, 400 + k as u64)).unwrap();
        }
        f.seek(SeekFrom::Start((3 << 30) - 4096)).unwrap();
        f.write_all(&testkit::data(4096, 500 + last)).unwrap();
    }
    let mut cmd = env.fcs();
    cmd.args(["compare", "--by", "content", p(&l), p(&r)]);
    let run = Running::spawn(cmd);
    std::thread::sleep(Duration::from_secs(1));
    let signalled = Instant::now();
    run.signal("INT");
    let (status, err) = run.wait_exit(Duration::from_secs(60));
    let took = signalled.elapsed();
    assert_eq!(status.code(), Some(3), "{status}: {err}");
    assert!(
        took < Duration::from_millis(2500),
        "exited {took:?} after Ctrl-C (bound: 1.5 s)"
    );
}

// ---------------------------------------------------------------------------------------------
// l) Closed stdout / stderr.

/// Runs `fcs args…` through `sh` with file descriptor `fd` closed (`N>&-`), the other one captured.
fn run_with_closed(env: &Env, fd: u8, args: &[&str]) -> Output {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("exec \"$0\" \"$@\" {fd}>&-"))
        .arg(env!("CARGO_BIN_EXE_fcs"))
        .args(args)
        .env("FCS_DATA_DIR", env.data())
        .env("XDG_DATA_HOME", env.data());
    cmd.output().unwrap()
}

/// A closed stderr (a daemon, `2>&-`) or stdout under `--json` neither panics nor ends up inside
/// a file the run opens (the lowest free descriptor is 1 or 2 then).
#[test]
fn a_sync_with_a_closed_stderr_or_stdout_completes() {
    let env = Env::new();
    let l = env.path("L");
    nested_tree(&l);
    for (fd, json, target) in [(2, false, "R2"), (1, true, "R1")] {
        let r = env.path(target);
        let mut args = vec!["sync", p(&l), p(&r)];
        if json {
            args.push("--json");
        }
        let o = run_with_closed(&env, fd, &args);
        assert_exit(&o, 0);
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
        assert_eq!(
            testkit::tree_files(&l),
            testkit::tree_files(&r),
            "fd {fd} closed: the trees differ"
        );
        assert_no_temps_below(&r);
        // The log of the run must not have been written through the closed descriptor either.
        let o = env.run(&["compare", p(&l), p(&r)]);
        assert_exit(&o, 0);
    }
}

/// `fcs verify` reads from the medium by default: bytes changed on the disk beneath the page
/// cache (written into the image of a loop-mounted ext4 while the filesystem still caches the old
/// content) are found — in small files, read many at once, and in a large one read on its own —
/// and `--verify-read cache`, which reads what the cache holds, does not see them.
#[test]
#[ignore = "needs root: the kernel's ext4 on a loop device (scripts/test.sh runs ignored tests as root)"]
fn verify_from_the_device_finds_rot_beneath_the_page_cache() {
    use std::os::unix::fs::FileExt;
    let env = Env::new();
    let m = Mount::ext4(64 << 20);
    let d = tempdir().unwrap();
    let (l, r) = (d.path().join("L"), m.path().join("R"));
    // Each file's bytes repeat a tag of its own, so its blocks can be found in the image.
    let tag = |i: usize| format!("<fcs-rot-{i:04}>");
    let content = |i: usize, len: usize| -> Vec<u8> { tag(i).bytes().cycle().take(len).collect() };
    let mut rels = Vec::new();
    for i in 0..300 {
        rels.push((format!("d{}/f{i}.txt", i % 10), content(i, 3000 + i)));
    }
    rels.push(("big.bin".into(), content(999, 1 << 20)));
    for (rel, bytes) in &rels {
        for root in [&l, &r] {
            std::fs::create_dir_all(root.join(rel).parent().unwrap()).unwrap();
            std::fs::write(root.join(rel), bytes).unwrap();
        }
    }
    assert!(Command::new("sync").status().unwrap().success());
    for (rel, _) in &rels {
        std::fs::read(r.join(rel)).unwrap();
    }
    let o = env.run(&["verify", p(&l), p(&r)]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));

    // One byte of f123's and of big.bin's first block changed on the "disk".
    let image = m.image().unwrap();
    let bytes = std::fs::read(image).unwrap();
    let disk = std::fs::File::options().write(true).open(image).unwrap();
    for i in [123, 999] {
        let t = tag(i);
        let at = bytes
            .windows(t.len())
            .position(|w| w == t.as_bytes())
            .unwrap_or_else(|| panic!("{t} not in the image"));
        disk.write_at(b"#", at as u64 + 1).unwrap();
    }
    disk.sync_all().unwrap();
    // The filesystem still answers from its cache.
    assert_eq!(std::fs::read(r.join(&rels[123].0)).unwrap(), rels[123].1);

    let o = env.run(&["verify", p(&l), p(&r), "--verify-read", "cache"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = env.run(&["verify", p(&l), p(&r)]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    let mismatches: Vec<&str> = out.lines().filter(|l| l.contains("MISMATCH")).collect();
    assert_eq!(mismatches.len(), 2, "{out}");
    assert!(out.contains("f123.txt") && out.contains("big.bin"), "{out}");
}
