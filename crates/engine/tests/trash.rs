//! Replaced files going to the trash through a tree run. Its own test binary: the trash is found
//! through `XDG_DATA_HOME`, which is set once here, before any thread runs, so no test of
//! the main suite can write into the user's real trash.

#![cfg(target_os = "linux")]

use std::sync::Arc;

use engine::tree::{Run, RunKind};
use engine::{CancelToken, NullReporter, Settings};
use testkit::{assert_content, assert_no_temps, tempdir, write_file};

/// A file that appears at a new file's name after the scan (the copy does not look there again
/// before it starts) is not overwritten and lost: the commit's rename refuses to replace it, and
/// it goes to the trash under its own name like any replaced file.
#[test]
fn a_file_that_appears_at_a_new_files_name_after_the_scan_goes_to_the_trash() {
    let d = tempdir().unwrap();
    let (l, r, data_home) = (d.path().join("L"), d.path().join("R"), d.path().join("xdg"));
    std::fs::create_dir_all(&data_home).unwrap();
    // SAFETY: the only test of this binary, before the run starts any thread.
    unsafe { std::env::set_var("XDG_DATA_HOME", &data_home) };
    engine::journal::set_data_dir(d.path().join("data"));
    let ours = write_file(&l.join("doc.txt"), 500, 1);
    std::fs::create_dir(&r).unwrap();
    let mut s = Settings::default();
    s.set("free_space_margin", "0").unwrap();
    s.set("delete_mode", "trash").unwrap();
    let prepared = Run::new(RunKind::Sync, &l, &r, &s)
        .prepare(Arc::new(NullReporter), CancelToken::new())
        .unwrap();
    let theirs = write_file(&r.join("doc.txt"), 300, 2);
    let summary = prepared.execute().unwrap();
    assert_eq!(summary.failed, 0, "{:?}", summary.errors);
    assert_eq!(summary.copied, 1);
    assert_content(&r.join("doc.txt"), &ours);
    assert_content(&data_home.join("Trash/files/doc.txt"), &theirs);
    assert_no_temps(&r);
    assert_eq!(
        std::fs::read_dir(&r).unwrap().count(),
        1,
        "only doc.txt is left"
    );
}
