//! `fcs bench FOLDER` as a user runs it: a table with every strategy, recommendations, and no
//! scratch folder left next to FOLDER — after a normal run and after Ctrl-C. Times are never
//! asserted.

use std::path::Path;

use testkit::{tempdir, write_file};

use crate::util::fcs;

fn make_folder(root: &Path) {
    write_file(&root.join("x/small.bin"), 4096, 1);
    write_file(&root.join("x/y/medium.bin"), 300_000, 2);
    write_file(&root.join("big.bin"), 2 << 20, 3);
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn quick_bench_prints_the_table_and_recommendations_and_cleans_up() {
    let tmp = tempdir().unwrap();
    let folder = tmp.path().join("photos");
    make_folder(&folder);
    let out = fcs()
        .args(["bench", "--quick"])
        .arg(&folder)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "DIRECT-SMALL",
        "DIRECT-LARGE",
        "STAGED",
        "workers",
        "scan threads",
        "Recommended settings",
        "strategy",
        "window",
    ] {
        assert!(stdout.contains(needle), "no '{needle}' in:\n{stdout}");
    }
    assert_eq!(entries(tmp.path()), vec!["photos"], "scratch folder left");
    assert_eq!(entries(&folder), vec!["big.bin", "x"]);
}

#[test]
fn bench_json_is_one_report_object() {
    let tmp = tempdir().unwrap();
    let folder = tmp.path().join("data");
    make_folder(&folder);
    let out = fcs()
        .args(["--json", "bench", "--quick", "--max-files", "2"])
        .arg(&folder)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sample_files"], 2);
    assert!(v["rows"].as_array().unwrap().len() > 10);
    assert!(v["recommendations"].as_array().unwrap().len() >= 6);
    assert_eq!(entries(tmp.path()), vec!["data"]);
}

#[test]
fn bench_of_a_missing_folder_fails_cleanly() {
    let tmp = tempdir().unwrap();
    let out = fcs()
        .args(["bench", "--quick"])
        .arg(tmp.path().join("nope"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(entries(tmp.path()).is_empty());
}

#[cfg(unix)]
#[test]
fn ctrl_c_removes_the_scratch_folder() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let tmp = tempdir().unwrap();
    let folder = tmp.path().join("data");
    make_folder(&folder);
    let mut child = fcs()
        .args(["bench", "--reps", "1000"])
        .arg(&folder)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The title line, then the header: the scratch folder is made right after; wait until it
    // exists so the interrupt lands in the middle of the measuring.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    lines.next();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while entries(tmp.path()).len() < 2 {
        assert!(std::time::Instant::now() < deadline, "no scratch folder");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    testkit::interrupt(child.id());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3), "cancelled exit code");
    assert_eq!(entries(tmp.path()), vec!["data"], "scratch folder left");
}
