//! The real app, driven like a user through its accessibility tree (egui_kittest) on temporary
//! folders: compare, check rows and statuses on both sides, tick a folder, copy and check the
//! disk, cancel a long copy, delete orphans in dry run and for real. No renderer is needed.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use egui::accesskit::{Role, Toggled};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use engine::Settings;
use fcs_gui::{FcsApp, Pane};

#[path = "support/harness.rs"]
mod harness;
#[path = "support/million.rs"]
mod million;

use harness::wait_idle;

struct Fixture {
    _dir: tempfile::TempDir,
    left: PathBuf,
    right: PathBuf,
}

/// LEFT and RIGHT share `same.txt` and `sub/same.txt`; `sub/changed.txt` differs in size;
/// `sub/deep/` exists only on the left, `only-right.txt` only on the right.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (left, right) = (dir.path().join("L"), dir.path().join("R"));
    fs::create_dir_all(left.join("sub/deep")).unwrap();
    fs::create_dir_all(right.join("sub")).unwrap();
    for p in [&left, &right] {
        fs::write(p.join("same.txt"), "same").unwrap();
        fs::write(p.join("sub/same.txt"), "same too").unwrap();
    }
    fs::write(left.join("sub/changed.txt"), "the left version").unwrap();
    fs::write(right.join("sub/changed.txt"), "right").unwrap();
    // The same modified time on both: they differ by size, neither is newer.
    let t = std::time::SystemTime::now() - Duration::from_secs(3600);
    for p in [&left, &right] {
        fs::File::options()
            .write(true)
            .open(p.join("sub/changed.txt"))
            .unwrap()
            .set_modified(t)
            .unwrap();
    }
    fs::write(left.join("sub/deep/only-left.txt"), "left only").unwrap();
    fs::write(right.join("only-right.txt"), "right only").unwrap();
    Fixture {
        _dir: dir,
        left,
        right,
    }
}

fn harness(f: &Fixture) -> Harness<'static, FcsApp> {
    harness_with(f, Settings::default())
}

fn harness_with(f: &Fixture, settings: Settings) -> Harness<'static, FcsApp> {
    harness::harness(f.left.clone(), f.right.clone(), settings)
}

fn compare(h: &mut Harness<'static, FcsApp>) {
    h.get_by_label("Compare").click();
    h.step();
    wait_idle(h);
    assert!(
        h.state().last_error().is_none(),
        "{:?}",
        h.state().last_error()
    );
}

fn rels(app: &FcsApp) -> Vec<String> {
    app.tree()
        .rows
        .iter()
        .map(|r| r.rel.to_string_lossy().replace('\\', "/"))
        .collect()
}

fn status(app: &FcsApp, rel: &str) -> (&'static str, &'static str) {
    let t = app.tree();
    let i = t
        .index_of(Path::new(rel))
        .unwrap_or_else(|| panic!("{rel}"));
    (t.rows[i].status(Pane::Left), t.rows[i].status(Pane::Right))
}

fn no_temps(dir: &Path) {
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if testkit::running_on_wine() && name.starts_with(".fcs-replaced.") {
            // Wine has no Recycle Bin: the engine keeps the replaced version under this name
            // and says so (notice `replaced_not_trashed`, checked by the caller) rather than
            // deleting it without a copy in the trash.
            continue;
        }
        assert!(!engine::is_temp_name(&name), "temp file left: {name}");
        if e.file_type().unwrap().is_dir() {
            no_temps(&e.path());
        }
    }
}

#[test]
fn compare_shows_both_trees_aligned_with_statuses() {
    let f = fixture();
    let mut h = harness(&f);
    compare(&mut h);
    let app = h.state();
    assert_eq!(
        rels(app),
        [
            "",
            "only-right.txt",
            "same.txt",
            "sub",
            "sub/changed.txt",
            "sub/deep",
            "sub/deep/only-left.txt",
            "sub/same.txt"
        ]
    );
    assert_eq!(status(app, "same.txt"), ("Same", "Same"));
    assert_eq!(
        status(app, "sub/changed.txt"),
        ("Size differs", "Size differs")
    );
    assert_eq!(status(app, "only-right.txt"), ("Missing", "Only here"));
    assert_eq!(status(app, "sub/deep"), ("Folder, only here", "Missing"));
    assert_eq!(
        status(app, "sub"),
        ("Folder, differences inside", "Folder, differences inside")
    );
    // What the user sees: a greyed placeholder on the side that lacks an item, a checkbox on
    // the side that has it; the root rows show the full root paths.
    h.get_by_label("only-right.txt [MISSING]");
    assert_eq!(h.get_all_by_label("only-right.txt").count(), 1);
    h.get_by_label("deep [MISSING]");
    h.get_by_label(&f.left.display().to_string());
    h.get_by_label(&f.right.display().to_string());
    // The summary bar.
    h.get_by_label_contains("4 differences | 1 missing left | 2 missing right | 0 marked");

    // Collapse `sub` on one side: both trees lose its rows (one row list for both).
    let visible_before = h.state().tree().visible().len();
    // Expanded rows have a "⏷" toggle on each side: root LEFT, root RIGHT, sub LEFT, sub RIGHT.
    let sub_toggle = h.get_all_by_label("⏷").nth(2).unwrap();
    sub_toggle.click();
    h.run();
    assert_eq!(h.state().tree().visible().len(), visible_before - 3);
    assert!(h.query_by_label("changed.txt").is_none());

    // The name filter keeps matching files and the folders that lead to them.
    h.get_by_label("Expand All").click();
    h.run();
    h.state_mut().prefs.filter = "*ONLY*".into();
    h.get_by_label("Apply").click();
    h.run();
    let shown: Vec<String> = {
        let t = h.state().tree();
        t.visible()
            .iter()
            .map(|&i| t.rows[i as usize].name.clone())
            .collect()
    };
    assert_eq!(
        shown,
        ["", "only-right.txt", "sub", "deep", "only-left.txt"]
    );

    // Sorting by a column header reorders every folder's items, both trees together.
    h.get_by_label("Clear").click();
    h.run();
    h.get_by_label("LEFT Name").click();
    h.run();
    h.get_by_label("LEFT Name ⏶").click();
    h.run();
    h.get_by_label("LEFT Name ⏷");
    assert_eq!(
        rels(h.state()),
        [
            "",
            "sub",
            "sub/same.txt",
            "sub/deep",
            "sub/deep/only-left.txt",
            "sub/changed.txt",
            "same.txt",
            "only-right.txt"
        ]
    );
}

/// The first-use sequence that crashed the window: before any Compare, "Differences only",
/// Apply, Clear, Expand All, Collapse All and the Select/Clear buttons of both sides; then a
/// Compare still works with the view chosen before it.
#[test]
fn every_control_before_the_first_compare_is_harmless() {
    let f = fixture();
    let mut h = harness(&f);
    h.get_by_label("Differences only").click();
    h.run();
    h.state_mut().prefs.filter = "*.txt".into();
    for label in [
        "Apply",
        "Clear",
        "Expand All",
        "Collapse All",
        "Select All Differences LEFT",
        "Select All Differences RIGHT",
    ] {
        h.get_by_label(label).click();
        h.run();
    }
    assert!(h.state().tree().visible().is_empty());
    compare(&mut h);
    assert!(
        !rels(h.state()).is_empty(),
        "the compare after the first clicks shows the trees"
    );
    assert!(
        !h.state()
            .tree()
            .visible()
            .iter()
            .any(|&i| h.state().tree().rows[i as usize].name == "same.txt"),
        "differences only, chosen before the compare, applies to it"
    );
}

#[test]
fn ticking_a_folder_then_copy_left_to_right_writes_the_files() {
    let f = fixture();
    let mut h = harness(&f);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::R);
    h.step();
    wait_idle(&mut h);
    assert_eq!(h.state().tree().len(), 8);

    // Tick LEFT's `sub`: only its differing descendants that exist on the left are ticked.
    let sub_left = h.get_all_by_label("sub").next().unwrap();
    sub_left.click();
    h.run();
    let ticked: Vec<String> = h
        .state()
        .tree()
        .ticked_rels(Pane::Left)
        .iter()
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .collect();
    assert_eq!(
        ticked,
        ["sub/changed.txt", "sub/deep", "sub/deep/only-left.txt"]
    );
    assert_eq!(h.state().tree().ticked_count(Pane::Right), 0);
    let cb = h.get_all_by_label("changed.txt").next().unwrap();
    assert_eq!(cb.accesskit_node().toggled(), Some(Toggled::True));
    // same.txt: root LEFT, root RIGHT, then sub/same.txt LEFT.
    let same = h.get_all_by_label("same.txt").nth(2).unwrap();
    assert_eq!(same.accesskit_node().toggled(), Some(Toggled::False));

    h.get_by_label("Copy LEFT -> Right").click();
    h.run();
    h.get_by_label("Copy LEFT -> Right?");
    h.get_by_label_contains("mkdir sub");
    h.get_by_label("Yes, copy").click();
    h.step();
    wait_idle(&mut h);

    let s = h
        .state()
        .finished_summary()
        .expect("the summary dialog")
        .clone();
    assert_eq!((s.copied, s.failed, s.dirs_created), (2, 0, 1), "{s:?}");
    assert_eq!(s.verified, 2, "verify policy: every file");
    assert!(!s.cancelled);
    assert_eq!(
        fs::read_to_string(f.right.join("sub/changed.txt")).unwrap(),
        "the left version"
    );
    assert_eq!(
        fs::read_to_string(f.right.join("sub/deep/only-left.txt")).unwrap(),
        "left only"
    );
    // Not ticked, so not touched: RIGHT's own orphan stays.
    assert!(f.right.join("only-right.txt").exists());
    no_temps(&f.right);
    if testkit::running_on_wine() {
        assert!(
            h.state()
                .log_lines()
                .any(|l| l.contains("replaced_not_trashed")),
            "a replaced version kept outside the trash is reported"
        );
    }
    // Re-compared after the copy.
    assert_eq!(status(h.state(), "sub/changed.txt"), ("Same", "Same"));
    assert_eq!(status(h.state(), "sub/deep"), ("Folder", "Folder"));
    h.get_by_label("OK").click();
    h.run();
    assert!(h.state().finished_summary().is_none());
}

/// A sync of `l` to `r` — the job a GUI copy LEFT → RIGHT shares — cancelled after its first
/// file, so its journal stays open for a resume.
fn interrupt_sync(l: &Path, r: &Path) {
    let cancel = engine::CancelToken::new();
    let c = cancel.clone();
    let rep = std::sync::Arc::new(engine::FnReporter(move |e: &engine::Event| {
        if matches!(e, engine::Event::FileFinished { .. }) {
            c.cancel();
        }
    }));
    let mut s = Settings::default();
    s.set("workers", "1").unwrap();
    let run = engine::tree::Run::new(engine::tree::RunKind::Sync, l, r, &s);
    let sum = run.prepare(rep, cancel).unwrap().execute().unwrap();
    assert!(sum.cancelled && sum.copied >= 1, "{sum:?}");
}

/// A copy started after an interrupted run of the same folders finishes that run first, then
/// executes a plan made after that resume — never the plan of the comparison the resume made
/// stale (which would copy every file of it again).
#[test]
fn a_copy_after_an_interrupted_run_plans_after_the_resume() {
    let f = fixture();
    fs::create_dir_all(f.left.join("many")).unwrap();
    for i in 0..40 {
        fs::write(
            f.left.join(format!("many/f{i:02}.txt")),
            format!("file {i}"),
        )
        .unwrap();
    }
    let mut h = harness(&f);
    compare(&mut h);
    assert_eq!(status(h.state(), "many/f00.txt"), ("Only here", "Missing"));
    interrupt_sync(&f.left, &f.right);

    // Tick LEFT's `many` (all 40 files, as the comparison shows them) and copy.
    h.get_all_by_label("many").next().unwrap().click();
    h.run();
    assert_eq!(h.state().tree().ticked_count(Pane::Left), 41);
    h.get_by_label("Copy LEFT -> Right").click();
    h.run();
    h.get_by_label("Yes, copy").click();
    h.step();
    wait_idle(&mut h);

    let s = h
        .state()
        .finished_summary()
        .expect("the summary dialog")
        .clone();
    assert_eq!(
        (s.copied, s.failed),
        (0, 0),
        "the resume copied what the interrupted run had not; nothing is copied twice: {s:?}"
    );
    for i in 0..40 {
        assert_eq!(
            fs::read_to_string(f.right.join(format!("many/f{i:02}.txt"))).unwrap(),
            format!("file {i}")
        );
    }
    // The rest of the interrupted sync was finished too: RIGHT now holds LEFT's version.
    assert_eq!(
        fs::read_to_string(f.right.join("sub/changed.txt")).unwrap(),
        "the left version"
    );
    no_temps(&f.right);
}

#[test]
fn dry_run_copy_writes_nothing() {
    let f = fixture();
    let mut h = harness(&f);
    compare(&mut h);
    h.get_by_label("DRY RUN").click();
    h.get_by_label("Select All Differences LEFT").click();
    h.run();
    h.get_by_label("Copy LEFT -> Right").click();
    h.run();
    h.get_by_label("DRY RUN: nothing will be written.");
    h.get_by_label("Yes, copy").click();
    h.step();
    wait_idle(&mut h);
    assert_eq!(
        fs::read_to_string(f.right.join("sub/changed.txt")).unwrap(),
        "right"
    );
    assert!(!f.right.join("sub/deep").exists());
    assert!(h.state().log_lines().any(|l| l.contains("DRY RUN copy")));
}

#[test]
fn cancel_a_long_copy_leaves_no_temp_files() {
    let f = fixture();
    // Big enough that the copy is still running when Cancel is clicked a frame later.
    let big = f.left.join("big");
    fs::create_dir_all(&big).unwrap();
    let chunk: Vec<u8> = (0..(1 << 20)).map(|i| (i * 7 % 251) as u8).collect();
    for n in 0..8 {
        let mut data = Vec::with_capacity(32 << 20);
        for _ in 0..32 {
            data.extend_from_slice(&chunk);
        }
        data[0] = n;
        fs::write(big.join(format!("file{n}.bin")), data).unwrap();
    }
    // STAGED copies in chunks and checks the cancel token after each one on every OS (a kernel
    // copy cannot be interrupted under Wine, whose CopyFileExW never calls back); two workers,
    // so most files are still queued when Cancel is clicked.
    let mut settings = Settings::default();
    settings.set("strategy", "staged").unwrap();
    settings.set("workers", "2").unwrap();
    let mut h = harness_with(&f, settings);
    compare(&mut h);
    h.get_by_label("Select All Differences LEFT").click();
    h.run();
    h.get_by_label("Copy LEFT -> Right").click();
    h.run();
    h.get_by_label("Yes, copy").click();
    h.step();
    assert!(h.state().is_busy());
    // The progress dialog: both bars and a Cancel button (a new modal is invisible for its
    // first, sizing frame).
    h.step();
    h.step();
    h.get_by_label_contains("Overall:");
    h.get_by_label_contains("Current file:");
    h.get_by_label("Cancel").click();
    h.step();
    wait_idle(&mut h);
    let s = h.state().finished_summary().expect("summary").clone();
    assert!(s.cancelled, "{s:?}");
    assert!(s.copied < 10, "{s:?}");
    h.get_by_label("Copy CANCELLED");
    no_temps(&f.right);
    // Every file that is there is complete (atomic commit): never a partial one; and the
    // summary counts every file committed before the cancel.
    let mut committed = 0;
    if let Ok(rd) = fs::read_dir(f.right.join("big")) {
        for e in rd {
            let e = e.unwrap();
            assert_eq!(e.metadata().unwrap().len(), 32 << 20);
            committed += 1;
        }
    }
    assert!(s.copied >= committed, "{committed} committed, {s:?}");
    h.get_by_label_contains("before the cancel");
    // A new operation gets a fresh cancel token: comparing again works.
    h.get_by_label("OK").click();
    h.run();
    compare(&mut h);
    assert!(
        h.state().status().starts_with("Compared"),
        "{}",
        h.state().status()
    );
}

#[test]
fn delete_orphans_dry_run_then_for_real() {
    let f = fixture();
    let mut h = harness(&f);
    compare(&mut h);
    h.get_by_label("Delete Orphans LEFT-only").click();
    h.run();
    h.get_by_label("Delete Orphans — LEFT-only items");
    // Ticking the folder takes its contents along.
    h.get_by_label(&Path::new("sub").join("deep").display().to_string())
        .click();
    h.run();
    h.get_by_label("DRY RUN (delete nothing)").click();
    h.get_by_label("Delete permanently").click();
    h.run();
    h.get_by_label("Delete 2 items…").click();
    h.run();
    h.get_by_label("Delete PERMANENTLY?");
    h.get_by_label("DRY RUN: nothing will be deleted.");
    h.get_by_label("Yes, delete").click();
    h.step();
    wait_idle(&mut h);
    assert!(f.left.join("sub/deep/only-left.txt").exists());
    assert!(h.state().log_lines().any(|l| l.contains("DRY RUN delete")));
    h.get_by_label("OK").click();
    h.run();

    // For real, permanently (no desktop trash on a CI machine).
    h.get_by_label("Delete Orphans LEFT-only").click();
    h.run();
    h.get_by_label("Select All").click();
    h.get_by_label("Delete permanently").click();
    h.run();
    h.get_by_label("Delete 2 items…").click();
    h.run();
    h.get_by_label("Yes, delete").click();
    h.step();
    wait_idle(&mut h);
    let s = h.state().finished_summary().expect("summary").clone();
    assert_eq!((s.deleted, s.failed), (2, 0), "{s:?}");
    assert!(!f.left.join("sub/deep").exists());
    assert!(f.left.join("sub/changed.txt").exists(), "only orphans go");
    // Re-compared: the orphans are gone from both trees.
    assert!(h.state().tree().index_of(Path::new("sub/deep")).is_none());
    assert!(h.state().tree().orphans(Pane::Left).is_empty());
}

#[test]
fn keyboard_moves_ticks_and_switches_sides() {
    let f = fixture();
    let mut h = harness(&f);
    compare(&mut h);
    // ↓ ↓: the root row, then `only-right.txt`; Ctrl+→: the RIGHT tree; Space: tick it there.
    h.key_press(egui::Key::ArrowDown);
    h.run();
    h.key_press(egui::Key::ArrowDown);
    h.run();
    h.key_press(egui::Key::Space);
    h.run();
    assert_eq!(
        h.state().tree().ticked_count(Pane::Left),
        0,
        "a [MISSING] placeholder cannot be ticked"
    );
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::ArrowRight);
    h.run();
    h.key_press(egui::Key::Space);
    h.run();
    assert_eq!(
        h.state().tree().ticked_rels(Pane::Right),
        [PathBuf::from("only-right.txt")]
    );
    h.get_by_label_contains("| 1 marked |");
}

#[cfg(unix)]
#[test]
fn read_only_orphans_cannot_be_ticked() {
    use std::os::unix::fs::PermissionsExt;
    let f = fixture();
    let deep = f.left.join("sub/deep");
    fs::set_permissions(&deep, fs::Permissions::from_mode(0o555)).unwrap();
    let mut h = harness(&f);
    compare(&mut h);
    h.get_by_label("Delete Orphans LEFT-only").click();
    h.run();
    // The folder itself is read-only and so is the folder its file is in.
    assert_eq!(h.get_all_by_label("read-only").count(), 2);
    h.get_by_label("Select All").click();
    h.run();
    h.get_by_label("Delete 0 items…");
    fs::set_permissions(&deep, fs::Permissions::from_mode(0o755)).unwrap();
}

#[cfg(windows)]
#[test]
fn orphans_open_in_another_program_cannot_be_ticked() {
    use std::os::windows::fs::OpenOptionsExt;
    let f = fixture();
    // Another program's handle that shares nothing, as an editor holding a document does.
    let held = fs::OpenOptions::new()
        .read(true)
        .share_mode(0)
        .open(f.left.join("sub/deep/only-left.txt"))
        .unwrap();
    let mut h = harness(&f);
    compare(&mut h);
    h.get_by_label("Delete Orphans LEFT-only").click();
    h.run();
    h.get_by_label("in use");
    // The folder itself is not in use, its file is: Select All ticks the folder alone (and
    // deleting it would report the file's sharing violation).
    h.get_by_label("Select All").click();
    h.run();
    h.get_by_label("Delete 1 item…");
    drop(held);
    h.get_by_label("Close").click();
    h.run();
    // Checked again when the dialog opens again: closed now, so it can be ticked.
    h.get_by_label("Delete Orphans LEFT-only").click();
    h.run();
    assert!(h.query_by_label("in use").is_none());
    h.get_by_label("Select All").click();
    h.run();
    h.get_by_label("Delete 2 items…");
}

/// A tree of a million rows (1,000 folders of 1,000 files, made up, nothing on disk): only the
/// rows in view are laid out, whatever the tree's size, and every view operation shows the
/// right rows. Measured figures (release) are in `examples/million.rs`'s output and beside
/// `Tree` in model.rs; this test checks behaviour only. Ignored by default: about 15 s in a
/// debug build.
#[test]
#[ignore = "a million rows: slow in a debug build; run with --ignored (or in release)"]
fn a_million_rows_lay_out_only_the_rows_in_view() {
    let dir = tempfile::tempdir().unwrap();
    let (l, r) = (dir.path().join("L"), dir.path().join("R"));
    fs::create_dir_all(&l).unwrap();
    fs::create_dir_all(&r).unwrap();
    let cmp = million::comparison(&l, &r, 1000, 1000);
    let mut h = Harness::builder()
        .with_size([1500.0, 900.0])
        .build_eframe(|cc| FcsApp::new(cc, Settings::default(), None, None));
    h.run();
    h.state_mut().show_comparison(cmp, Duration::from_millis(1));
    h.run();
    let rows = h.state().tree().len();
    assert_eq!(rows, 1 + 1000 * 1001 + 100);
    // Open two levels deep: every row is in the list, a window's worth is laid out.
    assert_eq!(h.state().tree().visible().len(), rows);
    let laid_out = |h: &Harness<'static, FcsApp>| h.query_all_by_label_contains(".bin").count();
    let in_view = laid_out(&h);
    assert!((10..200).contains(&in_view), "{in_view} file rows laid out");

    // End: the last row, in the window, at the far end of a very tall scroll area.
    h.key_press(egui::Key::End);
    h.run();
    let last: Vec<_> = h.get_all_by_label("f0999.bin").collect();
    assert_eq!(last.len(), 2, "the last row, on both sides");
    for n in &last {
        let y = n.rect().center().y;
        assert!((0.0..900.0).contains(&y), "last row at y={y}");
    }
    assert!(h.query_by_label(&l.display().to_string()).is_none());
    assert!(laid_out(&h) < 200);
    h.key_press(egui::Key::Home);
    h.run();
    h.get_by_label(&l.display().to_string());

    // Ticking a folder ticks its differing files on that side: 10 that differ in size and 4
    // that exist only on the left.
    h.get_all_by_label("d0000").next().unwrap().click();
    h.run();
    let ticked = h.state().tree().ticked_rels(Pane::Left);
    let files: Vec<&PathBuf> = ticked.iter().filter(|p| p.extension().is_some()).collect();
    assert_eq!(files.len(), 14, "{ticked:?}");
    assert!(files.iter().all(|p| p.starts_with("d0000")));
    h.get_by_label("Clear All LEFT").click();
    h.run();

    let visible = |h: &Harness<'static, FcsApp>| h.state().tree().visible().len();
    h.get_by_label("Collapse All").click();
    h.run();
    assert_eq!(visible(&h), 1 + 1000, "the root and its folders");
    h.get_by_label("Expand All").click();
    h.run();
    assert_eq!(visible(&h), rows);

    h.state_mut().prefs.filter = "*0999.bin".into();
    h.get_by_label("Apply").click();
    h.run();
    assert_eq!(
        visible(&h),
        1 + 1000 + 1000,
        "the root, every folder, one file each"
    );
    h.get_by_label("Clear").click();
    h.run();

    h.get_by_label("Differences only").click();
    h.run();
    assert_eq!(visible(&h), 1 + 1000 + 1000 * 14 + 100);
    h.get_by_label("Differences only").click();
    h.run();
    assert_eq!(visible(&h), rows);

    // Sorting by LEFT's Size (the first "Size" header button; a compare criterion is a "Size"
    // checkbox): an item missing there sorts by RIGHT's size, so the 5-byte RIGHT-only file
    // comes first in its folder.
    h.get_all_by_role_and_label(Role::Button, "Size")
        .next()
        .unwrap()
        .click();
    h.run();
    let t = h.state().tree();
    let d0 = t.index_of(Path::new("d0000")).unwrap();
    assert_eq!(t.rows[d0 + 1].name, "zz-extra.txt");
    assert_eq!(t.rows[d0 + 2].name, "f0000.bin");
    assert_eq!(t.rows[d0].end as usize, d0 + 1 + 1001);
}

/// `--help` and `--version` answer on the terminal without a display (no window is opened).
#[test]
fn help_and_version_print_without_a_display() {
    let run = |arg: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_fcs-gui"))
            .arg(arg)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .output()
            .unwrap()
    };
    let o = run("--version");
    assert!(o.status.success(), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("fcs-gui "));
    let o = run("--help");
    assert!(o.status.success(), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("Usage: fcs-gui"));
    assert_eq!(run("--no-such-option").status.code(), Some(2));
}

/// A compare that fails clears what the window showed: no old trees, nothing ticked, and Copy
/// refuses to act on a comparison of other folders; changing a folder field without comparing
/// again is refused the same way. Opening and cancelling the copy confirmation writes nothing
/// (the target folder's time included).
#[test]
fn a_failed_compare_clears_the_trees_and_copy_asks_for_a_compare() {
    let f = fixture();
    let mut h = harness(&f);
    compare(&mut h);
    assert!(h.state().tree().len() > 1);
    let right_mtime = || fs::metadata(&f.right).unwrap().modified().unwrap();
    let before = right_mtime();
    h.get_by_label("Select All Differences LEFT").click();
    h.run();
    h.get_by_label("Copy LEFT -> Right").click();
    h.run();
    h.get_by_label("Cancel").click();
    h.run();
    assert_eq!(
        right_mtime(),
        before,
        "the confirmation touched the target folder"
    );

    // Another right folder, not compared: Copy refuses.
    let other = f.left.parent().unwrap().join("R2");
    fs::create_dir(&other).unwrap();
    h.state_mut().prefs.right = other.to_string_lossy().into_owned();
    h.state_mut().request_copy(Pane::Left);
    h.run();
    assert!(
        h.state().status().contains("press Compare"),
        "{}",
        h.state().status()
    );
    assert!(
        fs::read_dir(&other).unwrap().next().is_none(),
        "nothing copied"
    );

    // A compare that fails: the trees are gone, Copy asks for a Compare.
    h.state_mut().prefs.right = f.left.join("sub").to_string_lossy().into_owned();
    h.get_by_label("Compare").click();
    h.step();
    wait_idle(&mut h);
    assert!(
        h.state()
            .last_error()
            .is_some_and(|e| e.contains("PLAN_E_ROOTS"))
    );
    // Said in words, with what to do; the code once, in small print.
    h.get_by_label_contains("What to do:");
    h.get_by_label("PLAN_E_ROOTS");

    // A remote location typed on the LEFT: the window says where it goes (nothing is
    // connected to).
    h.get_by_label("OK").click();
    h.run();
    h.state_mut().prefs.left = "s3://bucket/photos".into();
    h.state_mut().prefs.right = f.right.to_string_lossy().into_owned();
    h.get_by_label("Compare").click();
    h.step();
    wait_idle(&mut h);
    assert!(
        h.state()
            .last_error()
            .is_some_and(|e| e.contains("REMOTE_E_UNSUPPORTED") && e.contains("Swap sides")),
        "{:?}",
        h.state().last_error()
    );
    h.get_by_label("OK").click();
    h.run();
    h.state_mut().prefs.left = f.left.to_string_lossy().into_owned();
    h.state_mut().prefs.right = f.left.join("sub").to_string_lossy().into_owned();
    h.get_by_label("Compare").click();
    h.step();
    wait_idle(&mut h);
    assert!(
        h.query_all_by_label_contains("PLAN_E_ROOTS:")
            .next()
            .is_none()
    );
    assert!(h.state().tree().len() <= 1, "old trees still shown");
    h.state_mut().request_copy(Pane::Left);
    h.run();
    assert!(
        h.state().status().contains("Compare the folders first"),
        "{}",
        h.state().status()
    );
}

/// Copying LEFT -> RIGHT over a RIGHT file that is newer says so in the confirmation, by name.
#[test]
fn the_confirmation_warns_when_an_older_file_would_replace_a_newer_one() {
    let f = fixture();
    let set = |p: &Path, secs: u64| {
        let t = std::time::UNIX_EPOCH + Duration::from_secs(secs);
        fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(t)
            .unwrap();
    };
    set(&f.left.join("sub/changed.txt"), 1_600_000_000);
    set(&f.right.join("sub/changed.txt"), 1_700_000_000);
    let mut h = harness(&f);
    h.state_mut().prefs.by_modified = true;
    compare(&mut h);
    h.get_by_label("Select All Differences LEFT").click();
    h.run();
    h.get_by_label("Copy LEFT -> Right").click();
    h.run();
    h.get_by_label("Warning: 1 file on RIGHT is newer than the version that will replace it:");
    // Named as the platform writes paths (`sub\changed.txt` on Windows).
    h.get_by_label(&Path::new("sub").join("changed.txt").display().to_string());
    h.get_by_label("Cancel").click();
    h.run();
    assert_eq!(
        fs::read_to_string(f.right.join("sub/changed.txt")).unwrap(),
        "right"
    );
}

/// A symbolic link shows as a link (where it points on hover), not as a "0 B" file.
#[cfg(unix)]
#[test]
fn a_symbolic_link_shows_as_a_link() {
    let f = fixture();
    std::os::unix::fs::symlink("same.txt", f.left.join("alias")).unwrap();
    let mut h = harness(&f);
    compare(&mut h);
    assert!(rels(h.state()).contains(&"alias".to_string()));
    h.get_by_label("(link)");
}

/// The filter bar counts each kind and hides it on a click; the window says "(filtered)".
#[test]
fn the_filter_bar_counts_each_kind_and_hides_it() {
    let f = fixture();
    let mut h = harness(&f);
    compare(&mut h);
    // sub/deep and sub/deep/only-left.txt; only-right.txt; sub/changed.txt; three equal.
    h.get_by_label("◀ Left only 2");
    h.get_by_label("▶ Right only 1");
    h.get_by_label("≠ Different 1");
    h.get_by_label("= Equal 3");
    assert!(h.query_by_label("(filtered)").is_none());
    h.get_by_label("= Equal 3").click();
    h.run();
    h.get_by_label("(filtered)");
    let t = h.state().tree();
    let shown: Vec<&str> = t
        .visible()
        .iter()
        .map(|&i| t.rows[i as usize].name.as_str())
        .collect();
    assert!(!shown.contains(&"same.txt"), "{shown:?}");
    assert!(shown.contains(&"changed.txt"), "{shown:?}");
    h.get_by_label("= Equal 3").click();
    h.run();
    assert!(h.query_by_label("(filtered)").is_none());
}

/// Update LEFT → RIGHT fills the middle column; a click sends one row the other way; the
/// preview shows the totals; Start writes exactly that, and the result says so.
#[test]
fn synchronize_runs_the_middle_column_and_a_click_changes_a_row() {
    let f = fixture();
    let mut h = harness(&f);
    compare(&mut h);
    let act = |h: &Harness<'static, FcsApp>, rel: &str| {
        let t = h.state().tree();
        t.rows[t.index_of(Path::new(rel)).unwrap()].act
    };
    use fcs_gui::kinds::Act;
    assert_eq!(act(&h, "sub/deep/only-left.txt"), Act::ToRight);
    assert_eq!(act(&h, "sub/changed.txt"), Act::ToRight);
    assert_eq!(
        act(&h, "only-right.txt"),
        Act::Nothing,
        "Update never deletes"
    );
    // The middle column's buttons, in row order (the root row has none): only-right.txt first.
    h.get_all_by_label("·").next().unwrap().click();
    h.run();
    assert_eq!(
        act(&h, "only-right.txt"),
        Act::ToLeft,
        "a click sends it left"
    );
    h.get_by_label("1 row chosen by hand");

    h.get_by_label("Synchronize…").click();
    h.run();
    h.get_by_label("Synchronize?");
    h.get_by_label_contains("2 files, 25 B");
    h.get_by_label_contains("1 file, 10 B");
    h.get_by_label("Start").click();
    h.step();
    wait_idle(&mut h);
    let s = h.state().finished_summary().expect("the result").clone();
    assert_eq!((s.copied, s.failed, s.cancelled), (3, 0, false), "{s:?}");
    h.get_by_label("Synchronize finished");
    assert_eq!(
        fs::read_to_string(f.right.join("sub/changed.txt")).unwrap(),
        "the left version"
    );
    assert_eq!(
        fs::read_to_string(f.right.join("sub/deep/only-left.txt")).unwrap(),
        "left only"
    );
    assert_eq!(
        fs::read_to_string(f.left.join("only-right.txt")).unwrap(),
        "right only"
    );
    no_temps(&f.left);
    no_temps(&f.right);
    // Compared again: everything is equal now.
    assert!(h.state().tree().rows.iter().all(|r| !r.differs()));
}

/// Mirror replaces a newer file and deletes the target's own: Start stays disabled until the
/// user confirms replacing the newer file; nothing is written before that.
#[test]
fn mirror_asks_before_replacing_a_newer_file_and_deletes_to_the_trash() {
    let f = fixture();
    let set = |p: &Path, secs: u64| {
        fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(std::time::UNIX_EPOCH + Duration::from_secs(secs))
            .unwrap();
    };
    set(&f.left.join("sub/changed.txt"), 1_600_000_000);
    set(&f.right.join("sub/changed.txt"), 1_700_000_000);
    // The test must not fill the user's trash (and Wine has none): delete for good.
    let settings = Settings {
        delete_mode: engine::DeleteMode::Permanent,
        ..Settings::default()
    };
    let mut h = harness_with(&f, settings);
    h.state_mut().prefs.by_modified = true;
    compare(&mut h);
    h.get_by_label("Mirror").click();
    h.run();
    h.get_by_label("Synchronize…").click();
    h.run();
    h.get_by_label("⚠ 1 item is newer than the version that will replace it:");
    h.get_by_label_contains("1 item permanently");
    let start = h.get_by_label("Start");
    assert!(
        start.accesskit_node().is_disabled(),
        "Start waits for the confirmation"
    );
    start.click();
    h.run();
    assert_eq!(
        fs::read_to_string(f.right.join("sub/changed.txt")).unwrap(),
        "right"
    );
    h.get_by_label("Replace these newer items with older ones")
        .click();
    h.run();
    h.get_by_label("Start").click();
    h.step();
    wait_idle(&mut h);
    let s = h.state().finished_summary().expect("the result").clone();
    assert_eq!((s.copied, s.deleted, s.failed), (2, 1, 0), "{s:?}");
    assert_eq!(
        fs::read_to_string(f.right.join("sub/changed.txt")).unwrap(),
        "the left version"
    );
    assert!(!f.right.join("only-right.txt").exists());
}

/// A file that fails is listed by its real path with the reason and what to do, the title
/// says how the run ended, and its row is marked in the grid after the compare that follows.
#[test]
fn a_failed_file_is_listed_in_plain_words_and_marked_in_the_grid() {
    let f = fixture();
    let mut h = harness(&f);
    compare(&mut h);
    // Gone after the compare (another program deleted it): the run cannot copy it.
    let src = f.left.join("sub").join("changed.txt");
    fs::remove_file(&src).unwrap();
    h.get_by_label("Synchronize…").click();
    h.run();
    h.get_by_label("Start").click();
    h.step();
    wait_idle(&mut h);
    let s = h.state().finished_summary().expect("the result").clone();
    assert_eq!(s.failed, 1, "{s:?}");
    h.get_by_label("Synchronize finished with 1 error");
    h.get_by_label("1 item could not be done:");
    h.get_by_label(&format!("✖ {}", src.display()));
    h.get_by_label_contains("What to do:");
    // The code once, in small print; never twice in the reason.
    let code = s.errors[0].code.as_str();
    assert_eq!(h.get_all_by_label_contains(code).count(), 1, "{code}");
    assert_eq!(
        fs::read_to_string(f.right.join("sub/changed.txt")).unwrap(),
        "right",
        "the target is intact"
    );
    h.get_by_label("OK").click();
    h.run();
    assert!(
        h.query_all_by_label("✖ Failed").count() >= 1,
        "the row is marked"
    );
}

/// Browse where the system has no folder dialog opens the built-in chooser: into a folder,
/// up again, choose; the field takes the folder. Never a silent no-op.
#[test]
fn browse_without_a_system_dialog_opens_the_built_in_chooser() {
    let f = fixture();
    let mut h = harness(&f);
    h.state_mut().set_system_dialogs(false);
    h.state_mut().prefs.left = f.left.display().to_string();
    h.run();
    h.get_by_label("Browse LEFT…").click();
    h.run();
    h.get_by_label("Choose the LEFT folder");
    h.get_by_label("📁 sub").click();
    h.run();
    h.get_by_label("📁 deep").click();
    h.run();
    h.get_by_label("⬆ Up").click();
    h.run();
    h.get_by_label("Choose this folder").click();
    h.run();
    assert!(h.query_by_label("Choose the LEFT folder").is_none());
    assert_eq!(
        Path::new(&h.state().prefs.left),
        f.left.join("sub"),
        "the chosen folder is in the field"
    );
}

#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        Err("a folder".into())
    }
}

/// A folder dropped on the right half becomes RIGHT; a file dropped on the left half names
/// its folder for LEFT. Compared pairs are offered again under Recent.
#[test]
fn dropped_folders_go_to_the_side_they_land_on_and_pairs_are_remembered() {
    let f = fixture();
    let mut h = harness(&f);
    h.state_mut().prefs.left.clear();
    h.state_mut().prefs.right.clear();
    h.run();
    h.hover_at(egui::pos2(1200.0, 400.0));
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(f.right.clone())));
    h.run();
    assert_eq!(Path::new(&h.state().prefs.right), f.right);
    h.hover_at(egui::pos2(200.0, 400.0));
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(f.left.join("same.txt"))));
    h.run();
    assert_eq!(Path::new(&h.state().prefs.left), f.left);
    compare(&mut h);
    assert_eq!(
        h.state().prefs.recent.first(),
        Some(&(f.left.display().to_string(), f.right.display().to_string()))
    );
    h.get_by_label("⬌ Swap sides").click();
    h.step();
    wait_idle(&mut h);
    assert_eq!(Path::new(&h.state().prefs.left), f.right);
    assert_eq!(
        status(h.state(), "only-right.txt"),
        ("Only here", "Missing")
    );
}

/// A row's context menu: compare the two files (a line diff), exclude its extension (the
/// compare runs again without it), copy its path.
#[test]
fn the_row_menu_compares_two_files_and_excludes_by_extension() {
    let f = fixture();
    let mut h = harness(&f);
    compare(&mut h);
    let changed = h.get_all_by_label("changed.txt").next().unwrap();
    changed.click_secondary();
    h.run();
    h.get_by_label("Compare these two files").click();
    h.run();
    h.get_by_label_contains("— LEFT against RIGHT");
    h.get_by_label_contains("- the left version");
    h.get_by_label_contains("+ right");
    h.get_by_label("Close").click();
    h.run();

    h.get_all_by_label("changed.txt")
        .next()
        .unwrap()
        .click_secondary();
    h.run();
    h.get_by_label("Exclude *.txt").click();
    h.step();
    wait_idle(&mut h);
    assert_eq!(h.state().prefs.exclude, "*.txt");
    // Only the folders are left.
    assert_eq!(rels(h.state()), ["", "sub", "sub/deep"]);
}

/// A job saved from the window is a file `fcs sync --config` reads: folders, mode, compare
/// options, excludes. Opened again (through the built-in chooser), it comes back as it was.
#[test]
fn a_saved_job_comes_back_and_is_the_file_fcs_sync_reads() {
    let f = fixture();
    let mut h = harness(&f);
    h.state_mut().set_system_dialogs(false);
    {
        let p = &mut h.state_mut().prefs;
        p.rule.mode = fcs_gui::sync::Mode::Mirror;
        p.exclude = "*.tmp; cache".into();
        p.by_content = true;
    }
    let file = f.left.parent().unwrap().join("photos.toml");
    h.state_mut().save_job_to(&file);
    let job = engine::tree::SavedJob::read(&file)
        .unwrap()
        .expect("a [job] table");
    assert_eq!(
        (job.left.clone(), job.right.clone()),
        (f.left.clone(), f.right.clone())
    );
    assert_eq!(job.mode, engine::tree::SavedMode::Mirror);
    assert_eq!(job.exclude, ["*.tmp", "cache"]);
    assert_eq!(job.by.as_deref(), Some("existence,size,content"));
    let mut s = Settings::default();
    s.apply_file(&file).expect("the rest is settings");

    {
        let p = &mut h.state_mut().prefs;
        p.rule.mode = fcs_gui::sync::Mode::Update;
        p.exclude.clear();
        p.left = f.left.parent().unwrap().display().to_string();
    }
    h.run();
    h.get_by_label("Job").click();
    h.run();
    h.get_by_label("Open job…").click();
    h.run();
    h.get_by_label("Open a saved job");
    h.get_by_label("photos.toml").click();
    h.run();
    assert!(
        h.state().last_error().is_none(),
        "{:?}",
        h.state().last_error()
    );
    let p = &h.state().prefs;
    assert_eq!(p.rule.mode, fcs_gui::sync::Mode::Mirror);
    assert_eq!(p.exclude, "*.tmp; cache");
    assert_eq!(Path::new(&p.left), f.left);
}

/// Shift+Delete on an item only the active side has opens Delete Orphans with it ticked and
/// "permanently" chosen; nothing is deleted before the confirmation.
#[test]
fn shift_delete_on_an_orphan_asks_to_delete_it_permanently() {
    let f = fixture();
    let mut h = harness(&f);
    compare(&mut h);
    // Rows: the root, then only-right.txt.
    h.key_press(egui::Key::Home);
    h.key_press(egui::Key::ArrowDown);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::ArrowRight);
    h.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::Delete);
    h.run();
    h.get_by_label("Delete Orphans — RIGHT-only items");
    h.get_by_label("Delete 1 item…").click();
    h.run();
    h.get_by_label("Delete PERMANENTLY?");
    assert!(f.right.join("only-right.txt").exists(), "asked first");
    h.get_by_label("Yes, delete").click();
    h.step();
    wait_idle(&mut h);
    assert!(!f.right.join("only-right.txt").exists());
}
