//! `engine::bench` (seed 003): a tiny run measures every strategy and setting group, leaves the
//! measured folder as it was and no scratch folder behind — also when cancelled. Behaviour only:
//! the times themselves are never asserted.

use std::path::Path;
use std::sync::Arc;

use engine::bench::{self, Group, Options};
use engine::{CancelToken, NullReporter, Settings};
use testkit::{tempdir, write_file};

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;

fn tiny() -> Options {
    Options {
        repetitions: 1,
        max_files: 100,
        max_bytes: 8 * MIB,
        workers: vec![1, 2],
        windows: vec![64 * KIB, MIB],
        kernel_chunks: vec![64 * KIB, MIB],
        staged_chunks: vec![64 * KIB, MIB],
        scan_threads: vec![1, 2],
        scratch_parent: None,
    }
}

fn make_folder(root: &Path) {
    write_file(&root.join("a/one.bin"), 4096, 1);
    write_file(&root.join("a/two.bin"), 100_000, 2);
    write_file(&root.join("b/c/three.bin"), 1_500_000, 3);
    write_file(&root.join("empty.txt"), 0, 4);
}

/// Names in `dir` (the measured folder's parent) that are not `keep`.
fn others(dir: &Path, keep: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != keep)
        .collect()
}

#[test]
fn tiny_bench_has_a_row_per_variant_and_cleans_up() {
    let tmp = tempdir().unwrap();
    let folder = tmp.path().join("data");
    make_folder(&folder);
    let before = testkit::tree_files(&folder);
    let mut seen = Vec::new();
    let report = bench::run(
        &folder,
        &Settings::default(),
        &tiny(),
        Arc::new(NullReporter),
        &CancelToken::new(),
        &mut |r| seen.push((r.group, r.label.clone())),
    )
    .unwrap();

    for s in [
        "auto (decision matrix)",
        "DIRECT-SMALL",
        "DIRECT-LARGE",
        "STAGED",
    ] {
        assert!(
            report
                .rows
                .iter()
                .any(|r| r.group == Group::Strategy && r.label == s),
            "no row for {s}: {:?}",
            report.rows
        );
    }
    for g in [
        Group::Window,
        Group::KernelChunk,
        Group::StagedChunk,
        Group::Workers,
        Group::Durability,
        Group::Scan,
    ] {
        assert!(report.rows.iter().any(|r| r.group == g), "no {g:?} row");
    }
    for r in &report.rows {
        assert_eq!(r.error, None, "{r:?}");
        assert_eq!(r.seconds.len(), 1, "{r:?}");
    }
    // Every row reached the caller as it was measured.
    assert_eq!(seen.len(), report.rows.len());
    assert_eq!(report.sample_files, 4);
    assert_eq!(report.sample_bytes, 4096 + 100_000 + 1_500_000);
    let keys: Vec<_> = report.recommendations.iter().map(|r| r.key).collect();
    for k in [
        "strategy",
        "window",
        "kernel_copy_chunk",
        "staged_chunk",
        "durability",
        "workers",
    ] {
        assert!(keys.contains(&k), "no recommendation for {k}: {keys:?}");
    }
    // Every recommendation is a value the settings accept.
    let mut s = Settings::default();
    for r in &report.recommendations {
        s.set(r.key, &r.value).unwrap();
        assert_ne!(r.value, "none", "durability=none must never be recommended");
    }

    assert!(!report.scratch.exists(), "scratch folder left behind");
    assert!(others(tmp.path(), "data").is_empty());
    assert_eq!(
        testkit::tree_files(&folder),
        before,
        "the measured folder changed"
    );
}

#[test]
fn size_groups_no_file_exceeds_are_not_run() {
    let tmp = tempdir().unwrap();
    let folder = tmp.path().join("small");
    write_file(&folder.join("a.txt"), 1000, 1);
    write_file(&folder.join("b/c.txt"), 2000, 2);
    let report = bench::run(
        &folder,
        &Settings::default(),
        &tiny(),
        Arc::new(NullReporter),
        &CancelToken::new(),
        &mut |_| {},
    )
    .unwrap();
    for g in [Group::Window, Group::KernelChunk, Group::StagedChunk] {
        assert!(!report.rows.iter().any(|r| r.group == g), "{g:?} was run");
    }
    for key in ["window", "kernel_copy_chunk", "staged_chunk"] {
        let rec = report
            .recommendations
            .iter()
            .find(|r| r.key == key)
            .unwrap();
        assert!(!rec.changes(), "{rec:?}");
        assert!(rec.why.contains("not measured"), "{rec:?}");
    }
    assert!(others(tmp.path(), "small").is_empty());
}

#[test]
fn a_cancelled_bench_removes_its_scratch_folder() {
    let tmp = tempdir().unwrap();
    let folder = tmp.path().join("data");
    make_folder(&folder);
    let cancel = CancelToken::new();
    let c = cancel.clone();
    let err = bench::run(
        &folder,
        &Settings::default(),
        &tiny(),
        Arc::new(NullReporter),
        &cancel,
        // Cancel as soon as the first group is done: the scratch folder exists by then.
        &mut |_| c.cancel(),
    )
    .unwrap_err();
    assert!(err.is_cancelled(), "{err}");
    assert!(others(tmp.path(), "data").is_empty(), "scratch left behind");
}

#[test]
fn an_empty_folder_is_an_error_and_leaves_nothing() {
    let tmp = tempdir().unwrap();
    let folder = tmp.path().join("empty");
    std::fs::create_dir(&folder).unwrap();
    let err = bench::run(
        &folder,
        &Settings::default(),
        &tiny(),
        Arc::new(NullReporter),
        &CancelToken::new(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("no regular files"), "{err}");
    assert!(others(tmp.path(), "empty").is_empty());
}
