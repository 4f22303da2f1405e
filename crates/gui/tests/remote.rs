//! The window with a remote location as the RIGHT side: `sftp://` typed in the folder field, a
//! real OpenSSH server on loopback (testkit's `Sshd`, login key and host key given by settings,
//! so nothing here touches the process environment). The server's folder is on this machine, so
//! what the window sent is checked on disk.

#![cfg(target_os = "linux")]

#[path = "support/harness.rs"]
mod harness;

use std::fs;
use std::path::{Path, PathBuf};

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use engine::Settings;
use fcs_gui::FcsApp;
use fcs_gui::kinds::Act;
use testkit::mounts::Sshd;

use harness::{harness, wait_idle};

/// Synchronize…, check the preview shows `preview` (part of a label), Start, and wait: the
/// run's summary.
fn synchronize(h: &mut Harness<'static, FcsApp>, preview: &str) -> engine::tree::Summary {
    h.get_by_label("Synchronize…").click();
    h.run();
    h.get_by_label_contains(preview);
    h.get_by_label("Start").click();
    h.step();
    wait_idle(h);
    h.state().finished_summary().expect("the result").clone()
}

/// A click on the row's middle-column button, as the grid does it.
fn click_act(h: &mut Harness<'static, FcsApp>, rel: &str) {
    let i = h.state().tree().index_of(Path::new(rel)).unwrap();
    let next = h.state().tree().next_act(i);
    h.state_mut().tree_mut().set_act(i, next);
    h.run();
}

fn act(h: &Harness<'static, FcsApp>, rel: &str) -> Act {
    let t = h.state().tree();
    t.rows[t
        .index_of(Path::new(rel))
        .unwrap_or_else(|| panic!("{rel}"))]
    .act
}

/// Compare a folder with an SFTP folder, synchronize, compare again: the server holds the
/// left's files and every row is equal. The actions a remote side cannot take (being copied
/// from) are not offered, and the row menu does not offer to open a remote file here.
#[test]
#[ignore = "needs root and OpenSSH (scripts/test.sh runs ignored tests as root)"]
fn an_sftp_folder_as_the_right_side_compares_and_synchronizes() {
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let (left, served) = (dir.path().join("L"), dir.path().join("served"));
    fs::create_dir_all(left.join("sub")).unwrap();
    fs::create_dir_all(&served).unwrap();
    fs::write(left.join("same.txt"), "same").unwrap();
    fs::write(served.join("same.txt"), "same").unwrap();
    fs::write(left.join("sub/new.txt"), "only on the left").unwrap();
    fs::write(left.join("changed.txt"), "the left version").unwrap();
    fs::write(served.join("changed.txt"), "right").unwrap();
    fs::write(served.join("only-remote.txt"), "only on the server").unwrap();

    let settings = Settings {
        ssh_key: sshd.identity().display().to_string(),
        ssh_known_hosts: sshd.known_hosts().display().to_string(),
        ..Settings::default()
    };
    let url = format!("sftp://root@127.0.0.1:{}{}", sshd.port(), served.display());
    let mut h = harness(left.clone(), PathBuf::from(&url), settings);

    h.get_by_label("Compare").click();
    h.step();
    wait_idle(&mut h);
    assert!(
        h.state().last_error().is_none(),
        "{:?}",
        h.state().last_error()
    );
    // The root row names the URL, and the remote root is there (not "missing").
    h.get_by_label(&url);
    let t = h.state().tree();
    assert!(t.rows[0].right.is_some(), "the remote root exists");
    assert_eq!(act(&h, "sub/new.txt"), Act::ToRight);
    assert_eq!(act(&h, "changed.txt"), Act::ToRight);
    assert_eq!(act(&h, "only-remote.txt"), Act::Nothing);
    // A click on the remote-only row offers deleting it, never copying it to the left.
    let before = act(&h, "only-remote.txt");
    let mut seen = vec![before];
    for _ in 0..3 {
        click_act(&mut h, "only-remote.txt");
        seen.push(act(&h, "only-remote.txt"));
    }
    assert!(
        !seen.contains(&Act::ToLeft),
        "a remote item is not copied from: {seen:?}"
    );
    assert!(seen.contains(&Act::DeleteRight), "{seen:?}");
    while act(&h, "only-remote.txt") != Act::Nothing {
        click_act(&mut h, "only-remote.txt");
    }
    // Nothing is offered that would read the server as a source.
    assert!(
        h.query_by_label("LEFT ⬅ RIGHT")
            .is_none_or(|b| b.accesskit_node().is_disabled())
    );
    assert!(
        h.get_by_label("Copy RIGHT -> Left")
            .accesskit_node()
            .is_disabled()
    );
    assert!(
        h.get_by_label("Delete Orphans LEFT-only")
            .accesskit_node()
            .is_disabled()
    );

    let s = synchronize(&mut h, "Synchronize?");
    assert_eq!((s.copied, s.failed, s.cancelled), (2, 0, false), "{s:?}");
    assert_eq!(
        fs::read_to_string(served.join("changed.txt")).unwrap(),
        "the left version"
    );
    assert_eq!(
        fs::read_to_string(served.join("sub/new.txt")).unwrap(),
        "only on the left"
    );
    assert!(
        served.join("only-remote.txt").exists(),
        "Update never deletes"
    );
    // Compared again after the run: only the server's own file differs.
    let differing: Vec<String> = h
        .state()
        .tree()
        .rows
        .iter()
        .filter(|r| r.differs() && !r.is_dir())
        .map(|r| r.rel.to_string_lossy().into_owned())
        .collect();
    assert_eq!(differing, ["only-remote.txt"]);

    // Deleting on the server: for good (no trash there), and the preview says so.
    h.get_by_label("Synchronize finished");
    h.get_by_label("OK").click();
    h.run();
    while act(&h, "only-remote.txt") != Act::DeleteRight {
        click_act(&mut h, "only-remote.txt");
    }
    let s = synchronize(&mut h, "a remote location has no trash");
    assert_eq!((s.deleted, s.failed), (1, 0), "{s:?}");
    assert!(!served.join("only-remote.txt").exists());
    assert!(h.state().tree().rows.iter().all(|r| !r.differs()));
}
