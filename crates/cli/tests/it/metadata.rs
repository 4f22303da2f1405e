//! Metadata fidelity: extended attributes and ACLs kept, or said once and failing only when the
//! user asked for them; sparse files keep their holes.
//!
//! Tests that need root and FUSE are `#[ignore]`d with that reason; `scripts/test.sh` runs them
//! as root, where a missing tool fails the test.

use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use testkit::mounts::Mount;
use testkit::{assert_content, write_file};

use crate::harness::{
    Env, IMAGE, MIB, assert_exit, events, failures, p, set_mode, stderr, summary,
};
use crate::util::{killed_at, was_killed};

fn tool(args: &[&str]) -> String {
    let o = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `getfacl`'s view of one item, without the line that names it.
fn acl(path: &Path) -> String {
    tool(&["getfacl", "-p", p(path)])
        .lines()
        .filter(|l| !l.starts_with("# file:"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The files a `--json` run copied and the ones whose metadata it updated in place.
#[track_caller]
fn copied_and_updated(o: &std::process::Output) -> (u64, u64) {
    let s = summary(o);
    (
        s["copied"].as_u64().unwrap_or(u64::MAX),
        s["metadata_updated"].as_u64().unwrap_or(u64::MAX),
    )
}

/// A user extended attribute, an access ACL with a mask (`group::r--` must not turn
/// group-writable) and a folder's default ACL arrive as they were; a re-sync writes nothing.
#[test]
fn extended_attributes_and_acls_are_kept_and_a_resync_writes_nothing() {
    testkit::require_tool("setfacl", "--version", "acl");
    testkit::require_tool("setfattr", "--version", "attr");
    let env = Env::new();
    let (l, r) = (env.path("L"), env.path("R"));
    write_file(&l.join("d/f.txt"), 3000, 80);
    set_mode(&l.join("d/f.txt"), 0o640);
    tool(&[
        "setfattr",
        "-n",
        "user.note",
        "-v",
        "kept",
        p(&l.join("d/f.txt")),
    ]);
    tool(&[
        "setfacl",
        "-m",
        "u:nobody:rw-,m::r--",
        p(&l.join("d/f.txt")),
    ]);
    tool(&["setfacl", "-d", "-m", "g:nogroup:r-x", p(&l.join("d"))]);
    let o = env.run(&["sync", p(&l), p(&r), "--json"]);
    assert_exit(&o, 0);
    assert_eq!(
        tool(&[
            "getfattr",
            "--only-values",
            "-n",
            "user.note",
            p(&r.join("d/f.txt"))
        ]),
        "kept"
    );
    assert_eq!(acl(&r.join("d/f.txt")), acl(&l.join("d/f.txt")));
    assert_eq!(acl(&r.join("d")), acl(&l.join("d")));
    assert_eq!(
        std::fs::metadata(r.join("d/f.txt")).unwrap().mode() & 0o777,
        std::fs::metadata(l.join("d/f.txt")).unwrap().mode() & 0o777,
        "the ACL mask stays the group bits"
    );
    let o = env.run(&["sync", p(&l), p(&r), "--json"]);
    assert_exit(&o, 0);
    assert_eq!(summary(&o)["copied"], 0);
}

/// The value of the user attribute `name` of `path`, if it has one.
fn xattr(path: &Path, name: &str) -> Option<String> {
    let o = Command::new("getfattr")
        .args(["--only-values", "-n", name, p(path)])
        .output()
        .unwrap();
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
}

/// A change of attributes or ACLs alone, asked to be compared (`-X`, `-A`, `-a`), is updated on
/// the target file in place (same inode, no copy), an attribute the source no longer has goes;
/// without asking, a re-sync does not read every file's attributes and leaves it.
#[test]
fn attribute_and_acl_changes_alone_are_updated_in_place_when_asked() {
    testkit::require_tool("setfacl", "--version", "acl");
    testkit::require_tool("setfattr", "--version", "attr");
    let env = Env::new();
    let (l, r) = (env.path("L"), env.path("R"));
    let (lf, rf) = (l.join("d/f.txt"), r.join("d/f.txt"));
    write_file(&lf, 3000, 82);
    tool(&["setfattr", "-n", "user.note", "-v", "one", p(&lf)]);
    assert_exit(&env.run(&["sync", p(&l), p(&r), "-X"]), 0);
    let inode = std::fs::metadata(&rf).unwrap().ino();
    tool(&["setfattr", "-n", "user.note", "-v", "two", p(&lf)]);
    tool(&["setfattr", "-n", "user.extra", "-v", "x", p(&rf)]);
    let o = env.run(&["sync", p(&l), p(&r), "--json"]);
    assert_exit(&o, 0);
    assert_eq!(
        summary(&o)["metadata_updated"],
        0,
        "not asked: not compared"
    );
    assert_eq!(xattr(&rf, "user.note").as_deref(), Some("one"));
    let o = env.run(&["sync", p(&l), p(&r), "--json", "-X"]);
    assert_exit(&o, 0);
    assert_eq!(copied_and_updated(&o), (0, 1));
    assert_eq!(xattr(&rf, "user.note").as_deref(), Some("two"));
    assert_eq!(
        xattr(&rf, "user.extra"),
        None,
        "the target's own attribute stays"
    );
    tool(&["setfacl", "-m", "u:nobody:r--", p(&lf)]);
    tool(&["setfacl", "-d", "-m", "g:nogroup:r-x", p(&l.join("d"))]);
    let o = env.run(&["sync", p(&l), p(&r), "--json", "-A"]);
    assert_exit(&o, 0);
    assert_eq!(summary(&o)["metadata_updated"], 1);
    assert_eq!(acl(&rf), acl(&lf));
    assert_eq!(
        acl(&r.join("d")),
        acl(&l.join("d")),
        "a folder's default ACL"
    );
    assert_eq!(
        std::fs::metadata(&rf).unwrap().ino(),
        inode,
        "updated in place"
    );
    let o = env.run(&["sync", p(&l), p(&r), "--json", "-a"]);
    assert_exit(&o, 0);
    assert_eq!(copied_and_updated(&o), (0, 0));
}

/// As root the owner is kept and compared: a change of owner alone is updated in place, with
/// the setuid bit that goes with it; onto exFAT, which holds no owners, a re-sync writes nothing.
#[test]
#[ignore = "needs root and FUSE (scripts/test.sh runs ignored tests as root)"]
fn as_root_an_owner_change_alone_is_updated_in_place() {
    let env = Env::new();
    let (l, r) = (env.path("L"), env.path("R"));
    let (lf, rf) = (l.join("bin/tool"), r.join("bin/tool"));
    write_file(&lf, 5000, 83);
    set_mode(&lf, 0o755);
    assert_exit(&env.run(&["sync", p(&l), p(&r)]), 0);
    let inode = std::fs::metadata(&rf).unwrap().ino();
    std::os::unix::fs::chown(&lf, Some(1234), Some(2345)).unwrap();
    set_mode(&lf, 0o4755);
    std::os::unix::fs::chown(l.join("bin"), Some(1234), Some(2345)).unwrap();
    let o = env.run(&["sync", p(&l), p(&r), "--json"]);
    assert_exit(&o, 0);
    assert_eq!(copied_and_updated(&o), (0, 1));
    let md = std::fs::metadata(&rf).unwrap();
    assert_eq!(
        (md.uid(), md.gid(), md.mode() & 0o7777),
        (1234, 2345, 0o4755)
    );
    assert_eq!(md.ino(), inode, "updated in place");
    let dir = std::fs::metadata(r.join("bin")).unwrap();
    assert_eq!(
        (dir.uid(), dir.gid()),
        (1234, 2345),
        "the folder's owner too"
    );
    let o = env.run(&["sync", p(&l), p(&r), "--json"]);
    assert_eq!(summary(&o)["metadata_updated"], 0);
    let m = Mount::exfat(IMAGE);
    let x = m.path().join("R");
    assert_exit(&env.run(&["sync", p(&l), p(&x)]), 0);
    let o = env.run(&["sync", p(&l), p(&x), "--json"]);
    assert_exit(&o, 0);
    assert_eq!(copied_and_updated(&o), (0, 0));
}

/// What `rsync -aHAXS` would still change after `fcs sync -a -H` of a tree holding every kind
/// of metadata (owners, setuid, user/trusted/security.capability attributes, access and default
/// ACLs, a sparse image, hard links, a symlink with its own owner, an old folder time): nothing.
#[test]
#[ignore = "needs root, rsync and setcap (scripts/test.sh runs ignored tests as root)"]
fn rsync_finds_nothing_to_change_after_an_archive_sync() {
    testkit::require_tool("rsync", "--version", "rsync");
    testkit::require_tool("setcap", "-v", "libcap2-bin");
    testkit::require_tool("setfacl", "--version", "acl");
    testkit::require_tool("setfattr", "--version", "attr");
    let env = Env::new();
    let (l, r) = (env.path("L"), env.path("R"));
    let (f, cap) = (l.join("d/f.bin"), l.join("d/e/cap.bin"));
    write_file(&f, 5000, 84);
    write_file(&cap, 3000, 85);
    std::os::unix::fs::chown(&f, Some(1234), Some(2345)).unwrap();
    set_mode(&f, 0o4750);
    tool(&["setcap", "cap_net_raw+ep", p(&cap)]);
    tool(&["setfattr", "-n", "user.note", "-v", "hello", p(&f)]);
    tool(&["setfattr", "-n", "trusted.t", "-v", "secret", p(&cap)]);
    tool(&["setfacl", "-m", "u:nobody:rw-,m::r--", p(&cap)]);
    tool(&["setfacl", "-d", "-m", "g:nogroup:r-x", p(&l.join("d"))]);
    let img = l.join("s/img");
    std::fs::create_dir_all(l.join("s")).unwrap();
    let file = std::fs::File::create(&img).unwrap();
    file.set_len(IMAGE).unwrap();
    file.write_all_at(b"data", IMAGE / 2).unwrap();
    std::fs::hard_link(&f, l.join("s/f-link.bin")).unwrap();
    std::os::unix::fs::symlink("../d/f.bin", l.join("s/sym")).unwrap();
    std::os::unix::fs::lchown(l.join("s/sym"), Some(1234), Some(1234)).unwrap();
    std::os::unix::fs::chown(l.join("d/e"), Some(77), Some(88)).unwrap();
    tool(&["touch", "-d", "2024-01-01", p(&l.join("d/e"))]);
    let o = env.run(&["sync", p(&l), p(&r), "-a", "-H"]);
    assert_exit(&o, 0);
    let itemized = tool(&[
        "rsync",
        "-aHAXS",
        "--dry-run",
        "--itemize-changes",
        &format!("{}/", l.display()),
        &format!("{}/", r.display()),
    ]);
    assert_eq!(itemized, "", "rsync would still change these");
    assert!(tool(&["getcap", p(&r.join("d/e/cap.bin"))]).contains("cap_net_raw=ep"));
    let o = env.run(&["sync", p(&l), p(&r), "-a", "-H", "--json"]);
    assert_eq!(copied_and_updated(&o), (0, 0));
}

/// Clears the immutable and append-only flags below its folder when dropped: a locked file
/// would outlive the test's temp folder.
struct Unlock(std::path::PathBuf);

impl Drop for Unlock {
    fn drop(&mut self) {
        let _ = Command::new("chattr")
            .args(["-R", "-f", "-i", "-a", p(&self.0)])
            .status();
    }
}

/// `lsattr`'s flags of one file (e.g. `----i---------e-------`).
fn lsattr(path: &Path) -> String {
    tool(&["lsattr", "-d", p(path)])
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// As root, immutable, append-only and no-dump files arrive with their flags (set after the
/// rename); a changed immutable source replaces its immutable target, which is unlocked first,
/// and a change of owner alone is made on it in place.
#[test]
#[ignore = "needs root and chattr (scripts/test.sh runs ignored tests as root)"]
fn as_root_file_flags_are_kept_and_a_locked_target_is_replaced() {
    testkit::require_tool("lsattr", "-V", "e2fsprogs");
    let env = Env::new();
    let _unlock = Unlock(env.path(""));
    let (l, r) = (env.path("L"), env.path("R"));
    for (name, flag) in [("i.txt", "+i"), ("a.txt", "+a"), ("d.txt", "+d")] {
        write_file(&l.join(name), 1000, 86);
        tool(&["chattr", flag, p(&l.join(name))]);
    }
    assert_exit(&env.run(&["sync", p(&l), p(&r)]), 0);
    for (name, flag) in [("i.txt", 'i'), ("a.txt", 'a'), ("d.txt", 'd')] {
        assert!(
            lsattr(&r.join(name)).contains(flag),
            "{name}: {}",
            lsattr(&r.join(name))
        );
    }
    let o = env.run(&["sync", p(&l), p(&r), "--json"]);
    assert_eq!(summary(&o)["copied"], 0);
    tool(&["chattr", "-i", p(&l.join("i.txt"))]);
    write_file(&l.join("i.txt"), 1500, 87);
    tool(&["chattr", "+i", p(&l.join("i.txt"))]);
    let o = env.run(&["sync", p(&l), p(&r), "--json"]);
    assert_exit(&o, 0);
    assert_eq!(summary(&o)["copied"], 1);
    assert_content(&r.join("i.txt"), &testkit::data(1500, 87));
    assert!(lsattr(&r.join("i.txt")).contains('i'));
    // A change of owner alone reaches an immutable target in place, which stays immutable.
    tool(&["chattr", "-i", p(&l.join("i.txt"))]);
    std::os::unix::fs::chown(l.join("i.txt"), Some(4321), Some(4321)).unwrap();
    tool(&["chattr", "+i", p(&l.join("i.txt"))]);
    let o = env.run(&["sync", p(&l), p(&r), "--json"]);
    assert_exit(&o, 0);
    assert_eq!(summary(&o)["metadata_updated"], 1);
    assert_eq!(std::fs::metadata(r.join("i.txt")).unwrap().uid(), 4321);
    assert!(lsattr(&r.join("i.txt")).contains('i'));
}

/// Owner, a user attribute and an ACL on each of a few files, as root.
fn tree_with_metadata(l: &Path, seed: u64) -> Vec<String> {
    let names: Vec<String> = (0..6).map(|i| format!("d{}/f{i}.bin", i % 2)).collect();
    for (i, n) in names.iter().enumerate() {
        let f = l.join(n);
        write_file(&f, 3000 + i * 1000, seed + i as u64);
        std::os::unix::fs::chown(&f, Some(1000 + i as u32), Some(2000)).unwrap();
        tool(&["setfattr", "-n", "user.n", "-v", &format!("v{i}"), p(&f)]);
        tool(&["setfacl", "-m", "u:nobody:r--", p(&f)]);
    }
    names
}

/// Each name of `names` below `r` holds the owner, attribute and ACL `tree_with_metadata` gave
/// it (`acl_of` is the ACL every one of them had).
#[track_caller]
fn assert_metadata(r: &Path, names: &[String], acl_of: &str) {
    for (i, n) in names.iter().enumerate() {
        let f = r.join(n);
        let md = std::fs::metadata(&f).unwrap();
        assert_eq!((md.uid(), md.gid()), (1000 + i as u32, 2000), "{n}");
        assert_eq!(xattr(&f, "user.n"), Some(format!("v{i}")), "{n}");
        assert_eq!(acl_entries(&f), acl_of, "{n}");
    }
}

/// `getfacl`'s entries of one item (no header lines: owner and group are checked apart).
fn acl_entries(path: &Path) -> String {
    acl(path)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Owner, attributes and ACLs arrive through a move, and through a sync killed (SIGKILL) halfway
/// and resumed.
#[test]
#[ignore = "needs root and strace (scripts/test.sh runs ignored tests as root)"]
fn metadata_survives_a_move_and_a_resume_after_kill() {
    testkit::require_tool("setfacl", "--version", "acl");
    testkit::require_tool("setfattr", "--version", "attr");
    let env = Env::new();
    let (l, r) = (env.path("L"), env.path("R"));
    let names = tree_with_metadata(&l, 88);
    let acl_of = acl_entries(&l.join(&names[0]));
    assert!(acl_of.contains("user:nobody:r--"), "{acl_of}");
    let o = env.run(&["move", p(&l), p(&r), "-a"]);
    assert_exit(&o, 0);
    assert!(!l.join(&names[0]).exists(), "moved");
    assert_metadata(&r, &names, &acl_of);

    let (l, r) = (env.path("L2"), env.path("R2"));
    let names = tree_with_metadata(&l, 89);
    let o = killed_at(
        &env.data(),
        "rename,renameat,renameat2",
        3,
        &["sync", p(&l), p(&r), "-a", "-q", "--workers", "1"],
    );
    assert!(was_killed(&o), "not killed: {}", stderr(&o));
    let o = env.run(&["resume"]);
    assert_exit(&o, 0);
    assert_metadata(&r, &names, &acl_of);
    let o = env.run(&["sync", p(&l), p(&r), "-a", "--json"]);
    assert_eq!(copied_and_updated(&o), (0, 0));
}

/// Onto exFAT, which holds no extended attributes: said once for both files (exit 0); asked for
/// explicitly (`-X`), the run fails with `FINALIZE_E_NOT_KEPT` — the files are copied either way.
#[test]
#[ignore = "needs root and FUSE (scripts/test.sh runs ignored tests as root)"]
fn extended_attributes_a_target_cannot_hold_are_said_once_and_fail_only_when_asked() {
    testkit::require_tool("setfattr", "--version", "attr");
    let m = Mount::exfat(IMAGE);
    let env = Env::new();
    let l = env.path("L");
    for name in ["a.txt", "b.txt"] {
        write_file(&l.join(name), 1000, 81);
        tool(&["setfattr", "-n", "user.note", "-v", "x", p(&l.join(name))]);
    }
    let r = m.path().join("R");
    let o = env.run(&["sync", p(&l), p(&r), "--json"]);
    assert_exit(&o, 0);
    let said: Vec<Value> = events(&o)
        .into_iter()
        .filter(|e| e["event"] == "notice" && e["kind"] == "metadata_not_kept")
        .collect();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("xattrs not kept on 2 item(s)")),
        "{said:?}"
    );
    let r2 = m.path().join("R2");
    let o = env.run(&["sync", p(&l), p(&r2), "--json", "-X"]);
    assert_exit(&o, 2);
    assert!(
        failures(&summary(&o))
            .iter()
            .any(|(_, code)| code == "FINALIZE_E_NOT_KEPT"),
        "{:?}",
        summary(&o)
    );
    assert_content(&r2.join("a.txt"), &testkit::data(1000, 81));
}

/// A 1 GiB disk image holding 3 MiB of data arrives taking about what the source takes, reads
/// back equal with the verify of every file, and a re-sync writes nothing.
#[test]
fn a_sparse_disk_image_keeps_its_holes_and_a_resync_writes_nothing() {
    let env = Env::new();
    let (l, r) = (env.path("L"), env.path("R"));
    std::fs::create_dir_all(&l).unwrap();
    let image = l.join("disk.img");
    let f = std::fs::File::create(&image).unwrap();
    f.set_len(1 << 30).unwrap();
    for (i, at) in [0, 300 * MIB, (1 << 30) - MIB].into_iter().enumerate() {
        f.write_all_at(&testkit::data(MIB as usize, 90 + i as u64), at)
            .unwrap();
    }
    drop(f);
    let o = env.run(&["sync", p(&l), p(&r), "--json", "--verify", "all"]);
    assert_exit(&o, 0);
    let copy = r.join("disk.img");
    let (src, dst) = (
        std::fs::metadata(&image).unwrap(),
        std::fs::metadata(&copy).unwrap(),
    );
    assert_eq!(dst.len(), 1 << 30);
    assert!(
        dst.blocks() * 512 <= src.blocks() * 512 + MIB,
        "the copy takes {} bytes, the source {}",
        dst.blocks() * 512,
        src.blocks() * 512
    );
    assert!(testkit::identical(&image, &copy));
    let o = env.run(&["sync", p(&l), p(&r), "--json"]);
    assert_exit(&o, 0);
    assert_eq!(summary(&o)["copied"], 0);
}

/// exFAT writes holes out as zeros: the file arrives equal, and the lost sparseness is said once
/// (`holes`), not silently.
#[test]
#[ignore = "needs root and FUSE (scripts/test.sh runs ignored tests as root)"]
fn a_target_that_fills_holes_says_so_once() {
    let m = Mount::exfat(IMAGE);
    let env = Env::new();
    let l = env.path("L");
    std::fs::create_dir_all(&l).unwrap();
    let image = l.join("disk.img");
    let f = std::fs::File::create(&image).unwrap();
    f.set_len(32 * MIB).unwrap();
    f.write_all_at(&testkit::data(4096, 95), 16 * MIB).unwrap();
    drop(f);
    let r = m.path().join("R");
    let o = env.run(&["sync", p(&l), p(&r), "--json"]);
    assert_exit(&o, 0);
    assert!(testkit::identical(&image, &r.join("disk.img")));
    let said: Vec<Value> = events(&o)
        .into_iter()
        .filter(|e| e["event"] == "notice" && e["kind"] == "metadata_not_kept")
        .collect();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("holes not kept on 1 item(s)")),
        "{said:?}"
    );
}

/// `-v` names what the run keeps: the settings less what the platform and target cannot hold.
#[test]
fn verbose_names_the_metadata_the_run_keeps() {
    let env = Env::new();
    let l = env.path("L");
    write_file(&l.join("a.txt"), 100, 96);
    let o = env.run(&[
        "sync",
        p(&l),
        p(&env.path("R")),
        "-v",
        "--set",
        "preserve_owner=false",
        "--set",
        "sparse=never",
        "--set",
        "preserve_flags=false",
    ]);
    assert_exit(&o, 0);
    assert!(
        stderr(&o).contains("keeps: times, permissions, xattrs, acls\n"),
        "{}",
        stderr(&o)
    );
    let o = env.run(&[
        "sync",
        p(&l),
        p(&env.path("R2")),
        "-v",
        "--owner",
        "--set",
        "preserve_flags=true",
    ]);
    assert_exit(&o, 0);
    assert!(
        stderr(&o).contains("keeps: times, permissions, owner, xattrs, acls, holes, flags\n"),
        "{}",
        stderr(&o)
    );
}
