//! Folder trees end to end through the engine API: scan → compare → plan → execute, with the
//! invariants checked after each run, and external oracles (`diff -r`, `rsync -ani`) where the
//! machine has them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use engine::tree::{
    self, ActionKind, Category, Criteria, Direction, Filter, Plan, PlanOptions, Run, RunKind,
    Summary,
};
use engine::{CancelToken, Code, Copier, NullReporter, Settings};
use testkit::{tempdir, write_file};

fn settings() -> Settings {
    let mut s = Settings::default();
    s.set("free_space_margin", "0").unwrap();
    s
}

fn compare(l: &Path, r: &Path) -> tree::Comparison {
    tree::compare_trees(
        l,
        r,
        &Filter::default(),
        Criteria::default(),
        Duration::from_millis(10),
        4,
        &NullReporter,
        &CancelToken::new(),
    )
}

fn plan(l: &Path, r: &Path, delete: bool, force: bool) -> Result<Plan, engine::Error> {
    let cmp = compare(l, r);
    Plan::build(
        &cmp,
        &PlanOptions {
            delete,
            force,
            ..PlanOptions::new(Direction::LeftToRight)
        },
    )
}

/// The journals and locks of this test binary's runs, away from the user's data folder.
fn data_dir() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| engine::journal::set_data_dir(testkit::process_data_dir("engine-tree")));
}

/// A journaled run as `fcs sync` makes it (deletes permanent, 4 workers).
fn run(l: &Path, r: &Path, s: &Settings) -> Run {
    data_dir();
    let mut s = s.clone();
    s.set("delete_mode", "permanent").unwrap();
    s.set("workers", "4").unwrap();
    Run::new(RunKind::Sync, l, r, &s)
}

fn execute(run: Run) -> Summary {
    run.prepare(Arc::new(NullReporter), CancelToken::new())
        .unwrap()
        .execute()
        .unwrap()
}

fn sync(l: &Path, r: &Path, delete: bool) -> Summary {
    execute(run(l, r, &settings()).delete(delete).force(true))
}

fn set_mtime(p: &Path, secs: u64) {
    let t = SystemTime::UNIX_EPOCH + Duration::new(secs, 123_456_789);
    // Windows sets times only through a handle with write access, and opens a directory only
    // with FILE_FLAG_BACKUP_SEMANTICS.
    #[cfg(windows)]
    let f = {
        use std::os::windows::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(0x0200_0000)
            .open(p)
            .unwrap()
    };
    #[cfg(not(windows))]
    let f = std::fs::File::open(p).unwrap();
    f.set_times(std::fs::FileTimes::new().set_modified(t).set_accessed(t))
        .unwrap();
}

/// A tree with nested and empty folders, unicode names, a 0-byte file and symlinks.
fn build_tree(root: &Path) {
    write_file(&root.join("a/b/c/deep.bin"), 300_000, 1);
    write_file(&root.join("a/one.txt"), 1000, 2);
    write_file(&root.join("zero"), 0, 3);
    write_file(&root.join("ünïcødé/日本語.txt"), 5000, 4);
    std::fs::create_dir_all(root.join("empty/nested-empty")).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("a/one.txt", root.join("rel-link")).unwrap();
        std::os::unix::fs::symlink("../does/not/exist", root.join("a/dangling")).unwrap();
        use std::os::unix::ffi::OsStrExt;
        let bad = std::ffi::OsStr::from_bytes(b"bad-\xff-name");
        std::fs::write(root.join(bad), b"non-utf8").unwrap();
    }
    set_mtime(&root.join("a/b"), 1_500_000_000);
    set_mtime(&root.join("empty"), 1_400_000_000);
}

/// `p` spelled with `/` separators, as the assertions write paths (Windows displays `\`).
fn slashed(p: &Path) -> String {
    p.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/")
}

fn inode(p: &Path) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::symlink_metadata(p).unwrap().ino()
    }
    #[cfg(not(unix))]
    {
        let _ = p;
        0
    }
}

#[test]
fn sync_then_the_trees_are_identical_by_every_oracle() {
    let d = tempdir().unwrap();
    let (l, r) = (d.path().join("L"), d.path().join("R"));
    build_tree(&l);
    std::fs::create_dir(&r).unwrap();
    let s = sync(&l, &r, true);
    assert_eq!(s.failed, 0, "{:?}", s.errors);
    // Four regular files everywhere; Unix adds the non-UTF-8 name and the symlinks.
    assert!(s.copied >= if cfg!(unix) { 5 } else { 4 }, "{}", s.copied);
    assert!(compare(&l, &r).identical());
    // Directory times are applied last, so they match even for folders that received files.
    for dir in ["a", "a/b", "empty", "empty/nested-empty", "ünïcødé"] {
        let (ml, mr) = (
            std::fs::metadata(l.join(dir)).unwrap(),
            std::fs::metadata(r.join(dir)).unwrap(),
        );
        assert_eq!(ml.modified().unwrap(), mr.modified().unwrap(), "{dir}");
    }
    #[cfg(unix)]
    {
        assert_eq!(
            std::fs::read_link(r.join("rel-link")).unwrap(),
            Path::new("a/one.txt")
        );
        assert_eq!(
            std::fs::read_link(r.join("a/dangling")).unwrap(),
            Path::new("../does/not/exist")
        );
    }
    if testkit::has_tool("diff") {
        testkit::assert_diff_r_agrees(&l, &r);
    }
    if testkit::has_tool("rsync") {
        testkit::assert_rsync_lists_nothing(&l, &r);
    }
    testkit::assert_no_temps(&r);
}

#[test]
fn a_second_sync_writes_nothing() {
    let d = tempdir().unwrap();
    let (l, r) = (d.path().join("L"), d.path().join("R"));
    build_tree(&l);
    std::fs::create_dir(&r).unwrap();
    sync(&l, &r, true);
    let before: Vec<(PathBuf, u64, SystemTime)> = ["a/one.txt", "a/b/c/deep.bin", "zero", "a"]
        .iter()
        .map(|p| {
            (
                r.join(p),
                inode(&r.join(p)),
                std::fs::symlink_metadata(r.join(p))
                    .unwrap()
                    .modified()
                    .unwrap(),
            )
        })
        .collect();
    let p = plan(&l, &r, true, false).unwrap();
    assert!(p.is_empty(), "{:?}", p.actions);
    let s = sync(&l, &r, true);
    assert_eq!(
        (s.copied, s.deleted, s.symlinks, s.dirs_created),
        (0, 0, 0, 0)
    );
    for (path, ino, mtime) in before {
        assert_eq!(inode(&path), ino, "{} was replaced", path.display());
        assert_eq!(
            std::fs::symlink_metadata(&path)
                .unwrap()
                .modified()
                .unwrap(),
            mtime
        );
    }
}

#[test]
fn plans_for_each_mode() {
    let d = tempdir().unwrap();
    let (l, r) = (d.path().join("L"), d.path().join("R"));
    write_file(&l.join("new.txt"), 10, 1);
    write_file(&l.join("changed.txt"), 10, 2);
    write_file(&r.join("changed.txt"), 11, 3);
    write_file(&r.join("extra/old.txt"), 10, 4);
    let kinds = |p: &Plan| {
        p.actions
            .iter()
            .map(|a| (a.kind, slashed(&a.rel)))
            .collect::<Vec<_>>()
    };

    let p = plan(&l, &r, false, false).unwrap();
    let k = kinds(&p);
    assert!(k.contains(&(ActionKind::Copy, "new.txt".into())));
    assert!(k.contains(&(ActionKind::Replace, "changed.txt".into())));
    assert!(
        !k.iter().any(|(a, _)| *a == ActionKind::Delete),
        "no deletes without --delete"
    );

    let p = plan(&l, &r, true, false).unwrap();
    let deletes: Vec<String> = p
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::Delete)
        .map(|a| slashed(&a.rel))
        .collect();
    assert_eq!(
        deletes,
        vec!["extra/old.txt".to_string(), "extra".to_string()],
        "deepest first"
    );

    let cmp = compare(&l, &r);
    let p = Plan::build(&cmp, &PlanOptions::new(Direction::RightToLeft)).unwrap();
    let k = kinds(&p);
    assert!(k.contains(&(ActionKind::Mkdir, "extra".into())));
    assert!(k.contains(&(ActionKind::Copy, "extra/old.txt".into())));
    assert!(k.contains(&(ActionKind::Replace, "changed.txt".into())));
    assert_eq!(p.target_root, cmp.left.root);
}

#[test]
fn the_mass_delete_guard_refuses_without_force() {
    let d = tempdir().unwrap();
    let (l, r) = (d.path().join("L"), d.path().join("R"));
    std::fs::create_dir(&l).unwrap();
    write_file(&l.join("keep"), 1, 1);
    for i in 0..20 {
        write_file(&r.join(format!("f{i}")), 1, i);
    }
    let e = plan(&l, &r, true, false).unwrap_err();
    assert_eq!(e.code, Code::PlanMassDelete);
    assert!(e.to_string().contains("20"), "{e}");
    assert!(plan(&l, &r, true, true).is_ok());
    assert_eq!(
        std::fs::read_dir(&r).unwrap().count(),
        20,
        "nothing deleted"
    );
}

#[test]
fn the_roots_are_refused_before_any_write() {
    let d = tempdir().unwrap();
    let l = d.path().join("L");
    std::fs::create_dir_all(l.join("inner")).unwrap();
    let code = |a: &Path, b: &Path, create: bool| tree::check_roots(a, b, create).unwrap_err().code;
    assert_eq!(code(&l, &l, false), Code::PlanRoots);
    assert_eq!(code(&l, &l.join("inner"), false), Code::PlanRoots);
    assert_eq!(code(&l.join("inner"), &l, false), Code::PlanRoots);
    assert_eq!(
        code(&l, &l.join("inner/new"), true),
        Code::PlanRoots,
        "a target to be created inside the source"
    );
    assert_eq!(code(&d.path().join("missing"), &l, false), Code::PlanRoots);
    write_file(&d.path().join("file"), 1, 1);
    assert_eq!(code(&d.path().join("file"), &l, false), Code::PlanRoots);
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&l, d.path().join("alias")).unwrap();
        assert_eq!(
            code(&l, &d.path().join("alias"), false),
            Code::PlanRoots,
            "the same folder through a symlink"
        );
        assert_eq!(
            code(&d.path().join("alias").join("inner"), &l, false),
            Code::PlanRoots
        );
    }
    let other = d.path().join("R");
    assert!(tree::check_roots(&l, &other, true).is_ok());
    let dotted = d.path().join("missing").join("..").join("R").join("x");
    if cfg!(windows) {
        // Win32 resolves `..` by the path's text: `missing\..\R\x` is `R\x` there.
        let (_, r) = tree::check_roots(&l, &dotted, true).unwrap();
        assert_eq!(
            r,
            std::fs::canonicalize(d.path()).unwrap().join("R").join("x")
        );
        let deeper = d.path().join("m1").join("m2").join("..").join("x");
        let (_, r) = tree::check_roots(&l, &deeper, true).unwrap();
        assert_eq!(
            r,
            std::fs::canonicalize(d.path())
                .unwrap()
                .join("m1")
                .join("x")
        );
    } else {
        // A `..` after a folder that does not exist names nothing (the kernel says ENOENT):
        // it is refused, not resolved by its text to `L`'s sibling `R/x`.
        assert_eq!(code(&l, &dotted, true), Code::PlanRoots);
    }
    assert!(!other.exists(), "nothing created");
    assert_eq!(
        code(&l, &d.path().join("file").join("new"), true),
        Code::PlanRoots,
        "a target to be created under a file"
    );
}

#[test]
fn type_conflicts_need_delete_and_are_then_replaced() {
    let d = tempdir().unwrap();
    let (l, r) = (d.path().join("L"), d.path().join("R"));
    write_file(&l.join("x/inside.txt"), 5, 1);
    write_file(&r.join("x"), 5, 2);
    let p = plan(&l, &r, false, false).unwrap();
    assert!(p.skipped.iter().any(|s| s.reason.contains("type conflict")));
    let s = sync(&l, &r, true);
    assert_eq!(s.failed, 0, "{:?}", s.errors);
    assert!(r.join("x").is_dir());
    assert!(compare(&l, &r).identical());
}

#[test]
fn filters_prune_and_select() {
    let d = tempdir().unwrap();
    let (l, r) = (d.path().join("L"), d.path().join("R"));
    write_file(&l.join("src/main.rs"), 5, 1);
    write_file(&l.join("src/notes.tmp"), 5, 2);
    write_file(&l.join(".git/HEAD"), 5, 3);
    std::fs::create_dir(&r).unwrap();
    let f = Filter::new(&[], &["*.tmp".into()], None, true).unwrap();
    let cmp = tree::compare_trees(
        &l,
        &r,
        &f,
        Criteria::default(),
        Duration::from_millis(10),
        2,
        &NullReporter,
        &CancelToken::new(),
    );
    let rels: Vec<String> = cmp.items.iter().map(|i| slashed(cmp.rel(i))).collect();
    assert_eq!(rels, vec!["src".to_string(), "src/main.rs".to_string()]);
}

#[test]
fn content_criterion_finds_same_size_same_time_differences() {
    let d = tempdir().unwrap();
    let (l, r) = (d.path().join("L"), d.path().join("R"));
    write_file(&l.join("f"), 4096, 1);
    write_file(&r.join("f"), 4096, 2);
    set_mtime(&l.join("f"), 1_000_000);
    set_mtime(&r.join("f"), 1_000_000);
    assert!(
        compare(&l, &r)
            .items
            .iter()
            .all(|i| i.category == Category::Same || i.left.is_none())
    );
    let c = Criteria::parse("size,modified,content").unwrap();
    let cmp = tree::compare_trees(
        &l,
        &r,
        &Filter::default(),
        c,
        Duration::from_millis(10),
        2,
        &NullReporter,
        &CancelToken::new(),
    );
    let it = cmp
        .items
        .iter()
        .find(|i| cmp.rel(i) == Path::new("f"))
        .unwrap();
    assert_eq!(it.category, Category::Different);
    assert_eq!(it.diffs.names(), vec!["content"]);
}

/// Permission bits: as root (which reads any file) the test runs again as `nobody`.
#[cfg(unix)]
#[test]
fn a_fifo_is_reported_and_skipped_and_an_unreadable_file_fails_alone() {
    if testkit::reran_as_nobody(
        module_path!(),
        "a_fifo_is_reported_and_skipped_and_an_unreadable_file_fails_alone",
    ) {
        return;
    }
    let d = tempdir().unwrap();
    let (l, r) = (d.path().join("L"), d.path().join("R"));
    write_file(&l.join("ok.txt"), 100, 1);
    write_file(&l.join("secret.txt"), 100, 2);
    testkit::mkfifo(&l.join("pipe"));
    std::fs::create_dir(&r).unwrap();
    let cmp = compare(&l, &r);
    assert!(
        cmp.left
            .issues
            .iter()
            .any(|i| i.message.starts_with("SCAN_E_SPECIAL") && i.is_warning())
    );
    assert!(
        cmp.left.get(Path::new("pipe")).is_none(),
        "a FIFO takes no part"
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(l.join("secret.txt"), std::fs::Permissions::from_mode(0o000)).unwrap();
    let s = sync(&l, &r, false);
    assert_eq!(s.failed, 1);
    assert_eq!(s.errors[0].code, Code::PreflightSource);
    assert!(r.join("ok.txt").exists());
}

#[cfg(target_os = "linux")]
#[test]
fn case_twins_are_never_copied_onto_a_target_that_folds_names() {
    let d = tempdir().unwrap();
    let (l, r) = (d.path().join("L"), d.path().join("R"));
    write_file(&l.join("a.txt"), 5, 1);
    write_file(&l.join("A.txt"), 6, 2);
    write_file(&l.join("other.txt"), 7, 3);
    std::fs::create_dir(&r).unwrap();
    let cmp = compare(&l, &r);
    assert_eq!(cmp.twins.len(), 1);
    let opts = |fold| PlanOptions {
        target_folds_names: fold,
        ..PlanOptions::new(Direction::LeftToRight)
    };
    let p = Plan::build(&cmp, &opts(true)).unwrap();
    let copied: Vec<String> = p
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::Copy)
        .map(|a| a.rel.to_string_lossy().into_owned())
        .collect();
    assert_eq!(copied, vec!["other.txt".to_string()]);
    assert_eq!(
        p.skipped
            .iter()
            .filter(|s| s.reason.contains("ignores case"))
            .count(),
        2
    );
    // A case-sensitive target takes both.
    let p = Plan::build(&cmp, &opts(false)).unwrap();
    assert_eq!(
        p.actions
            .iter()
            .filter(|a| a.kind == ActionKind::Copy)
            .count(),
        3
    );
    assert!(
        !tree::folds_names(&r),
        "this test's temp dir is case-sensitive"
    );
}

#[test]
fn the_default_worker_count_follows_the_target_drive() {
    let d = tempdir().unwrap();
    let n = tree::default_workers(d.path());
    assert!(
        (4..=16).contains(&n),
        "a local disk gets several workers per core, got {n}"
    );
}

#[cfg(unix)]
#[test]
fn following_symlinks_copies_targets_and_stops_at_loops() {
    let d = tempdir().unwrap();
    let (l, r, outside) = (
        d.path().join("L"),
        d.path().join("R"),
        d.path().join("outside"),
    );
    let data = write_file(&outside.join("real.txt"), 321, 9);
    std::fs::create_dir_all(&l).unwrap();
    std::os::unix::fs::symlink(&outside, l.join("dirlink")).unwrap();
    std::os::unix::fs::symlink(outside.join("real.txt"), l.join("filelink")).unwrap();
    std::os::unix::fs::symlink("..", l.join("loop")).unwrap();
    std::fs::create_dir(&r).unwrap();
    let f = Filter::default().with_follow_symlinks(true);
    let cmp = tree::compare_trees(
        &l,
        &r,
        &f,
        Criteria::default(),
        Duration::from_millis(10),
        2,
        &NullReporter,
        &CancelToken::new(),
    );
    assert!(
        cmp.left
            .issues
            .iter()
            .any(|i| i.message.starts_with("SCAN_E_LOOP")),
        "{:?}",
        cmp.left.issues
    );
    let mut s = settings();
    s.set("follow_symlinks", "true").unwrap();
    let s = execute(run(&l, &r, &s));
    assert_eq!(s.failed, 0, "{:?}", s.errors);
    assert!(r.join("dirlink").is_dir() && !r.join("dirlink").is_symlink());
    testkit::assert_content(&r.join("dirlink/real.txt"), &data);
    testkit::assert_content(&r.join("filelink"), &data);
    assert!(!r.join("filelink").is_symlink());
    assert!(!r.join("loop").exists());
}

/// A journal that cannot be written (disk full) stops the run before it touches more files; the
/// files it had not journaled are finished by a resume, by hash, and the trees end identical.
#[test]
fn a_journal_write_failure_stops_the_run_and_a_resume_finishes_it() {
    let d = tempdir().unwrap();
    let (l, r) = (d.path().join("L"), d.path().join("R"));
    // More than one journal batch (4,096 results).
    for i in 0..5000u64 {
        write_file(&l.join(format!("d{}/f{i}", i % 5)), 64, i);
    }
    std::fs::create_dir(&r).unwrap();
    let mut s = settings();
    s.set("durability", "batch").unwrap();
    s.set("workers", "2").unwrap();
    let sum = execute(run(&l, &r, &s).journal_fails_from(0));
    assert!(
        sum.errors.iter().any(|e| e.code == Code::JournalWrite),
        "{:?}",
        sum.errors
    );
    let copied = testkit::tree_files(&r).len();
    assert!(copied < 5000, "the run went on: {copied} files copied");
    testkit::assert_no_temps(&r);

    // The same run again finishes the interrupted one first (by hash), then has nothing to do.
    let prepared = run(&l, &r, &s)
        .prepare(Arc::new(NullReporter), CancelToken::new())
        .unwrap();
    let resumed = prepared.resumed().expect("the run is resumable").clone();
    assert_eq!(resumed.summary.failed, 0, "{:?}", resumed.summary.errors);
    assert_eq!(
        resumed.summary.already_present, copied as u64,
        "files in place but not journaled are checked by hash, not copied again"
    );
    assert_eq!(testkit::tree_files(&r).len(), 5000);
    assert!(compare(&l, &r).identical());
    assert!(prepared.plan().is_empty());
    let again = prepared.execute().unwrap();
    assert_eq!((again.copied, again.failed), (0, 0));
}

/// A move never deletes a source that changed: here it grows while it is copied, so the copy is
/// not committed and the source stays whole.
#[test]
fn a_move_keeps_a_source_that_changes_during_the_copy() {
    let d = tempdir().unwrap();
    let src = d.path().join("grows.bin");
    let dst = d.path().join("out.bin");
    let data = write_file(&src, 3 << 20, 5);
    let mut s = settings();
    s.set("verify_policy", "all").unwrap();
    // STAGED reports its chunks on every OS (a kernel copy may not call back under Wine).
    s.set("strategy", "staged").unwrap();
    s.set("staged_chunk", "1MiB").unwrap();
    let mut copier = Copier::new(s, Arc::new(NullReporter), CancelToken::new());
    let grow = src.clone();
    copier.hooks.after_copy_chunk = Some(Box::new(move |_| {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&grow)
            .unwrap();
        f.write_all(b"more").unwrap();
    }));
    let e = copier.move_file(&src, &dst).unwrap_err();
    assert_eq!(e.code, Code::CopySourceChanged, "{e}");
    assert!(std::fs::read(&src).unwrap().starts_with(&data));
    assert!(!dst.exists());
    testkit::assert_no_temps(d.path());
}

/// A new file's name is not looked at again before its copy (one lookup less per new file), yet
/// what appears there after the scan is never lost or written into: a folder fails that one
/// file with the preflight's error and stays whole; a file is replaced as any replaced file is
/// (here for good, `delete_mode=permanent`; the trash keeps it otherwise, see `tests/trash.rs`);
/// the other files are copied.
#[test]
fn an_item_that_appears_at_a_new_files_name_after_the_scan_is_not_lost() {
    let d = tempdir().unwrap();
    let (l, r) = (d.path().join("L"), d.path().join("R"));
    write_file(&l.join("a.bin"), 100, 1);
    let b = write_file(&l.join("b.bin"), 100, 2);
    let c = write_file(&l.join("c.bin"), 100, 3);
    std::fs::create_dir(&r).unwrap();
    let prepared = run(&l, &r, &settings())
        .prepare(Arc::new(NullReporter), CancelToken::new())
        .unwrap();
    assert_eq!(prepared.plan().copy_totals().0, 3);
    let inside = write_file(&r.join("a.bin/inside.txt"), 10, 4);
    write_file(&r.join("b.bin"), 50, 5);
    let s = prepared.execute().unwrap();
    assert_eq!(s.failed, 1, "{:?}", s.errors);
    assert_eq!(s.errors[0].code, Code::PreflightTargetDir, "{:?}", s.errors);
    assert!(s.errors[0].path.ends_with("a.bin"), "{:?}", s.errors);
    testkit::assert_content(&r.join("a.bin/inside.txt"), &inside);
    testkit::assert_content(&r.join("b.bin"), &b);
    testkit::assert_content(&r.join("c.bin"), &c);
    testkit::assert_no_temps(&r);
}

/// `fcs verify`'s engine: identical trees pass; a flipped byte (same size, same times), a missing
/// and an extra file are each listed; a manifest written from the copy finds the same rot.
#[test]
fn verify_lists_mismatches_missing_and_extra_files_and_checks_manifests() {
    use engine::verify::{Problem, verify_manifest, verify_trees};
    let d = tempdir().unwrap();
    let (l, r) = (d.path().join("L"), d.path().join("R"));
    build_tree(&l);
    std::fs::create_dir(&r).unwrap();
    let summary = sync(&l, &r, false);
    assert_eq!(summary.failed, 0, "{:?}", summary.errors);
    let s = settings();
    let run = |l: &Path, r: &Path| {
        verify_trees(
            l,
            r,
            &Filter::default(),
            &s,
            4,
            &NullReporter,
            &CancelToken::new(),
        )
    };
    let rep = run(&l, &r);
    assert!(rep.problems.is_empty(), "{:?}", rep.problems);
    assert!(rep.identical > 0);

    // A manifest of the target, as a run writes it.
    let manifest = d.path().join("m.b3");
    let m = engine::manifest::Manifest::create(&manifest, engine::HashAlgo::Blake3).unwrap();
    let mut files = Vec::new();
    for e in compare(&l, &r).right.entries.iter() {
        if e.kind == tree::EntryKind::File && e.rel.to_str().is_some() {
            let hex = engine::hash_path(
                &r.join(&e.rel),
                engine::HashAlgo::Blake3,
                false,
                &CancelToken::new(),
                &|_| {},
            )
            .unwrap();
            m.add(&e.rel, &hex).unwrap();
            files.push(e.rel.to_path_buf());
        }
    }
    m.finish().unwrap();
    let victim = r.join(&files[0]);
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[0] ^= 1;
    let mtime = std::fs::metadata(&victim).unwrap().modified().unwrap();
    std::fs::write(&victim, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&victim)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    std::fs::remove_file(r.join(&files[1])).unwrap();
    write_file(&r.join("extra.bin"), 10, 1);

    let rep = run(&l, &r);
    let has = |p: Problem, rel: &Path| rep.problems.iter().any(|x| x.problem == p && x.rel == rel);
    assert!(has(Problem::Mismatch, &files[0]), "{:?}", rep.problems);
    assert!(has(Problem::MissingRight, &files[1]), "{:?}", rep.problems);
    assert!(
        has(Problem::MissingLeft, Path::new("extra.bin")),
        "{:?}",
        rep.problems
    );
    assert_eq!(rep.problems.len(), 3, "{:?}", rep.problems);

    let entries = engine::manifest::read(&manifest).unwrap();
    let rep = verify_manifest(
        &entries,
        &r,
        engine::HashAlgo::Blake3,
        &s,
        2,
        &NullReporter,
        &CancelToken::new(),
    );
    assert_eq!(rep.problems.len(), 2, "{:?}", rep.problems);
    assert!(
        rep.problems
            .iter()
            .any(|x| x.problem == Problem::Mismatch && x.rel == files[0])
    );
}

/// A case-only rename in the source (`report.txt` → `Report.txt`, `Docs/` → `docs/`) mirrored
/// with deletes: the target ends with exactly the new spellings and every byte. On a target
/// that ignores case (NTFS, APFS, exFAT — and Wine's filesystem, where this test also runs) it
/// is a rename, never a copy under the new name plus a delete of the old one, which would be
/// the same file; elsewhere a copy and a delete.
#[test]
fn a_case_only_rename_mirrored_with_deletes_loses_nothing() {
    let d = tempdir().unwrap();
    let (l, r) = (d.path().join("L"), d.path().join("R"));
    let report = write_file(&l.join("report.txt"), 5000, 31);
    let a = write_file(&l.join("Docs/a.txt"), 3000, 32);
    let b = write_file(&l.join("Docs/sub/b.txt"), 2000, 33);
    std::fs::create_dir(&r).unwrap();
    let s = sync(&l, &r, true);
    assert_eq!(s.failed, 0, "{:?}", s.errors);
    // Through a third name: Wine's rename leaves a case-only change undone.
    for (from, to) in [("report.txt", "Report.txt"), ("Docs", "docs")] {
        std::fs::rename(l.join(from), l.join("renaming")).unwrap();
        std::fs::rename(l.join("renaming"), l.join(to)).unwrap();
    }
    let s = sync(&l, &r, true);
    assert_eq!(s.failed, 0, "{:?}", s.errors);
    let names = |p: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&r), ["Report.txt", "docs"]);
    assert_eq!(names(&r.join("docs")), ["a.txt", "sub"]);
    testkit::assert_content(&r.join("Report.txt"), &report);
    testkit::assert_content(&r.join("docs/a.txt"), &a);
    testkit::assert_content(&r.join("docs/sub/b.txt"), &b);
    testkit::assert_no_temps(&r);
    assert!(compare(&l, &r).identical());
}

/// The batch's read-back from the medium (many small copies at once, after their sync) is a real
/// verify: a byte that differs in each copy fails every file with `VERIFY_E_COMPARE_MISMATCH`,
/// before any rename — no target is written, no temp is left — and the next sync copies them
/// all, verified. Files of several sizes, up to and beyond the batch read's limit.
#[test]
fn a_batch_read_back_that_differs_fails_every_file_and_writes_no_target() {
    let d = tempdir().unwrap();
    let (l, r) = (d.path().join("L"), d.path().join("R"));
    let lens = [100, 4096, 5000, 128 << 10, (128 << 10) + 1, 300_000];
    for i in 0..200u64 {
        write_file(
            &l.join(format!("d{}/f{i}", i % 4)),
            lens[i as usize % lens.len()],
            i,
        );
    }
    let s = settings();
    let rec = Arc::new(crate::util::Recorder::default());
    let sum = run(&l, &r, &s)
        .flip_byte_before_verify(50)
        .prepare(rec.clone(), CancelToken::new())
        .unwrap()
        .execute()
        .unwrap();
    assert_eq!((sum.copied, sum.failed), (0, 200), "{:?}", sum.errors);
    assert!(
        sum.errors
            .iter()
            .all(|e| e.code == engine::Code::VerifyCompareMismatch),
        "{:?}",
        sum.errors
    );
    for i in 0..200u64 {
        assert!(!r.join(format!("d{}/f{i}", i % 4)).exists());
    }
    testkit::assert_no_temps(&r);
    let sum = sync(&l, &r, false);
    assert_eq!((sum.copied, sum.verified, sum.failed), (200, 200, 0));
    assert!(compare(&l, &r).identical());
}

/// A batch's one filesystem sync would also wait for every other program's unwritten data: with
/// much of it waiting (here as the test hook reports it), each batch goes file by file — said
/// once, every file still durable, verified and in place.
#[test]
fn a_batch_goes_file_by_file_when_other_programs_have_much_unwritten_data() {
    let d = tempdir().unwrap();
    let (l, r) = (d.path().join("L"), d.path().join("R"));
    for i in 0..300u64 {
        write_file(&l.join(format!("d{}/f{i}", i % 3)), 4096, i);
    }
    let s = settings();
    assert_eq!(s.durability, engine::Durability::Batch, "the default");
    let rec = Arc::new(crate::util::Recorder::default());
    let sum = run(&l, &r, &s)
        .others_dirty(3 << 30)
        .prepare(rec.clone(), CancelToken::new())
        .unwrap()
        .execute()
        .unwrap();
    assert_eq!((sum.copied, sum.verified, sum.failed), (300, 300, 0));
    let said: Vec<String> = rec
        .events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            engine::Event::Notice { notice, .. }
                if notice.kind == engine::NoticeKind::BatchPerFile =>
            {
                Some(notice.message.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(said.len(), 1, "said once per run: {said:?}");
    assert!(said[0].contains("3072 MiB"), "{}", said[0]);
    assert!(compare(&l, &r).identical());
    testkit::assert_no_temps(&r);
}
