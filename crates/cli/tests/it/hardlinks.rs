//! Hard links (`-H`): names of one source file become names of one target file — copied once,
//! the other names linked — kept through re-syncs, content changes and a resume after kill -9;
//! onto a target without hard links each name is a file of its own, said once.
//!
//! Tests that need root, FUSE or strace are `#[ignore]`d with that reason; `scripts/test.sh`
//! runs them as root, where a missing tool fails the test.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use testkit::mounts::Mount;
use testkit::{assert_content, data, write_file};

use crate::harness::{Env, IMAGE, assert_exit, failures, p, stderr, summary};
use crate::util::{killed_at, was_killed};

/// The three names of one file, and one file of its own, below `l`.
fn linked_tree(l: &Path, seed: u64) -> [PathBuf; 4] {
    let names = [
        l.join("a/x.bin"),
        l.join("b/deep/y.bin"),
        l.join("c.bin"),
        l.join("z.bin"),
    ];
    write_file(&names[0], 5000, seed);
    for n in &names[1..3] {
        std::fs::create_dir_all(n.parent().unwrap()).unwrap();
        std::fs::hard_link(&names[0], n).unwrap();
    }
    write_file(&names[3], 700, seed + 1);
    names
}

/// The inode of each path.
fn inodes(paths: &[PathBuf]) -> Vec<u64> {
    paths
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().ino())
        .collect()
}

/// `rel` below `root`, for each of `names` below `from`.
fn beneath(root: &Path, from: &Path, names: &[PathBuf]) -> Vec<PathBuf> {
    names
        .iter()
        .map(|n| root.join(n.strip_prefix(from).unwrap()))
        .collect()
}

#[test]
fn hard_links_stay_one_file_with_h_and_a_resync_writes_nothing() {
    let env = Env::new();
    let (l, r) = (env.path("L"), env.path("R"));
    let names = linked_tree(&l, 90);
    let o = env.run(&["sync", p(&l), p(&r), "-H", "--json"]);
    assert_exit(&o, 0);
    let s = summary(&o);
    assert_eq!(
        (s["copied"].clone(), s["hard_linked"].clone()),
        (2.into(), 2.into())
    );
    let there = beneath(&r, &l, &names);
    let ino = inodes(&there);
    assert!(
        ino[0] == ino[1] && ino[1] == ino[2] && ino[2] != ino[3],
        "{ino:?}"
    );
    assert_eq!(std::fs::metadata(&there[0]).unwrap().nlink(), 3);
    assert_content(&there[1], &data(5000, 90));
    let o = env.run(&["sync", p(&l), p(&r), "-H", "--json"]);
    let s = summary(&o);
    assert_eq!(
        (s["copied"].clone(), s["hard_linked"].clone()),
        (0.into(), 0.into())
    );
    // New content in the one source file: copied once, the other names linked again.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&names[0], data(6000, 91)).unwrap();
    let o = env.run(&["sync", p(&l), p(&r), "-H", "--json"]);
    assert_exit(&o, 0);
    let s = summary(&o);
    assert_eq!(
        (s["copied"].clone(), s["hard_linked"].clone()),
        (1.into(), 2.into())
    );
    let ino = inodes(&there);
    assert!(ino[0] == ino[1] && ino[1] == ino[2], "{ino:?}");
    assert_content(&there[2], &data(6000, 91));
    assert_eq!(crate::harness::temps_below(&r), Vec::<PathBuf>::new());
}

#[test]
fn without_h_each_name_is_a_file_and_h_later_joins_them() {
    let env = Env::new();
    let (l, r) = (env.path("L"), env.path("R"));
    let names = linked_tree(&l, 92);
    assert_exit(&env.run(&["sync", p(&l), p(&r)]), 0);
    let there = beneath(&r, &l, &names);
    let ino = inodes(&there);
    assert!(ino[0] != ino[1] && ino[1] != ino[2], "{ino:?}");
    let o = env.run(&["sync", p(&l), p(&r), "-H", "--json", "-v"]);
    assert_exit(&o, 0);
    let s = summary(&o);
    assert_eq!(
        (s["copied"].clone(), s["hard_linked"].clone()),
        (0.into(), 2.into())
    );
    let ino = inodes(&there);
    assert!(ino[0] == ino[1] && ino[1] == ino[2], "{ino:?}");
    assert!(stderr(&o).contains("hard links"), "{}", stderr(&o));
}

/// exFAT holds no hard links: each name is copied as a file of its own and the run says so
/// once; `-H` was asked for, so the run fails (exit 2) — and a re-sync writes nothing.
#[test]
#[ignore = "needs root and FUSE (scripts/test.sh runs ignored tests as root)"]
fn onto_exfat_hard_links_are_copies_said_once() {
    let m = Mount::exfat(IMAGE);
    let env = Env::new();
    let l = env.path("L");
    let names = linked_tree(&l, 93);
    let r = m.path().join("R");
    let o = env.run(&["sync", p(&l), p(&r), "-H", "--json"]);
    assert_exit(&o, 2);
    let s = summary(&o);
    assert_eq!(s["copied"], 4, "{s}");
    assert!(
        failures(&s)
            .iter()
            .any(|(_, code)| code == "FINALIZE_E_NOT_KEPT"),
        "{s}"
    );
    assert!(
        s["not_kept"].as_array().is_some_and(|k| k
            .iter()
            .any(|k| k["kind"] == "hard_links" && k["items"] == 2)),
        "{s}"
    );
    for (n, there) in names.iter().zip(beneath(&r, &l, &names)) {
        assert_content(&there, &std::fs::read(n).unwrap());
    }
    let o = env.run(&["sync", p(&l), p(&r), "-H", "--json"]);
    assert_exit(&o, 0);
    assert_eq!(summary(&o)["copied"], 0);
}

/// Killed (SIGKILL) at its first `linkat` after the copies (the first is the target probe's):
/// the resume makes the links.
#[test]
#[ignore = "needs strace (scripts/test.sh runs ignored tests as root)"]
fn a_kill_before_the_links_then_resume_links_them() {
    let env = Env::new();
    let (l, r) = (env.path("L"), env.path("R"));
    let names = linked_tree(&l, 94);
    let o = killed_at(
        &env.data(),
        "linkat,link",
        2,
        &["sync", p(&l), p(&r), "-H", "-q"],
    );
    assert!(was_killed(&o), "not killed: {}", stderr(&o));
    let there = beneath(&r, &l, &names);
    assert!(there[0].exists(), "the kill came after the copies");
    assert!(!there[1].exists(), "the kill came before the links");
    let o = env.run(&["resume"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let ino = inodes(&there);
    assert!(ino[0] == ino[1] && ino[1] == ino[2], "{ino:?}");
    assert_content(&there[1], &data(5000, 94));
    assert_eq!(crate::harness::temps_below(&r), Vec::<PathBuf>::new());
}
