//! Sparse files: a sparse source's holes stay holes in every strategy and verify mode, the
//! verify still catches a changed byte (in data and in a hole), `sparse=never` writes the zeros,
//! `sparse=always` makes holes of zero runs. Allocation is read from `st_blocks`.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use engine::{Code, Settings};
use testkit::{assert_content, assert_no_temps, tempdir};

use crate::util::copier;

const MIB: u64 = 1 << 20;

/// A file of `len` bytes holding `data` at the given offsets and holes elsewhere; returns its
/// whole content as it reads.
fn sparse_file(path: &Path, len: u64, data: &[(u64, usize)]) -> Vec<u8> {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let f = File::create(path).unwrap();
    f.set_len(len).unwrap();
    let mut content = vec![0u8; len as usize];
    for (i, &(off, n)) in data.iter().enumerate() {
        let bytes = testkit::data(n, i as u64 + 7);
        f.write_all_at(&bytes, off).unwrap();
        content[off as usize..off as usize + n].copy_from_slice(&bytes);
    }
    f.sync_all().unwrap();
    content
}

fn allocated(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().blocks() * 512
}

/// Direct-small verifies by comparing with the source, the other strategies by hash.
fn settings(strategy: &str) -> Settings {
    let mut s = Settings::default();
    s.set("direct_large_threshold", "1MiB").unwrap();
    s.set("window", "256KiB").unwrap();
    s.set("staged_chunk", "64KiB").unwrap();
    s.set("strategy", strategy).unwrap();
    s.set("verify_policy", "all").unwrap();
    s.set("free_space_margin", "0").unwrap();
    s
}

struct Case {
    _dir: testkit::TempDir,
    src: PathBuf,
    dst: PathBuf,
    content: Vec<u8>,
}

/// 64 MiB with 1.1 MiB of data in three places (the start, the middle, just before the end)
/// and a hole at the end.
fn case() -> Case {
    let dir = tempdir().unwrap();
    let src = dir.path().join("src/disk.img");
    let dst = dir.path().join("dst/disk.img");
    let content = sparse_file(
        &src,
        64 * MIB,
        &[
            (0, 64 << 10),
            (20 * MIB + 4096, MIB as usize),
            (60 * MIB, 40 << 10),
        ],
    );
    std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
    Case {
        _dir: dir,
        src,
        dst,
        content,
    }
}

#[test]
fn a_sparse_source_keeps_its_holes_in_every_strategy_and_verify_mode() {
    for strategy in ["direct-small", "direct-large", "staged"] {
        let c = case();
        let (cp, _) = copier(settings(strategy));
        let r = cp.copy_file(&c.src, &c.dst).unwrap();
        assert_eq!(r.strategy.as_str().to_lowercase(), strategy);
        assert_eq!(r.perf.method.as_str(), "extents", "{strategy}");
        assert!(r.verified, "{strategy}");
        assert_content(&c.dst, &c.content);
        let (src, dst) = (allocated(&c.src), allocated(&c.dst));
        assert!(
            dst <= src + MIB,
            "{strategy}: the copy takes {dst} bytes, the source {src}"
        );
        assert_eq!(
            std::fs::metadata(&c.dst).unwrap().len(),
            64 * MIB,
            "{strategy}"
        );
        assert_no_temps(c.dst.parent().unwrap());
    }
}

#[test]
fn the_digest_of_a_sparse_copy_is_the_digest_of_its_content() {
    let c = case();
    let (cp, _) = copier(settings("direct-large"));
    let sparse = cp.copy_file(&c.src, &c.dst).unwrap().digest.unwrap();
    let mut s = settings("direct-large");
    s.set("sparse", "never").unwrap();
    let (cp, _) = copier(s);
    let dense = cp.copy_file(&c.src, &c.dst).unwrap().digest.unwrap();
    assert_eq!(sparse, dense);
}

#[test]
fn a_changed_byte_in_data_or_in_a_hole_fails_the_verify_and_keeps_the_target() {
    // 20 MiB + 100: inside the middle data extent; 40 MiB: in a hole of the source.
    for at in [20 * MIB + 100, 40 * MIB] {
        for (strategy, code) in [
            ("direct-large", Code::VerifyHashMismatch),
            ("direct-small", Code::VerifyCompareMismatch),
        ] {
            let c = case();
            std::fs::write(&c.dst, b"old").unwrap();
            let (mut cp, _) = copier(settings(strategy));
            cp.hooks.flip_byte_before_verify = Some(at);
            let e = cp.copy_file(&c.src, &c.dst).unwrap_err();
            assert_eq!(e.code, code, "offset {at} {strategy}");
            if code == Code::VerifyCompareMismatch {
                assert!(e.message.contains(&format!("offset {at}")), "{}", e.message);
            }
            assert_content(&c.dst, b"old");
            assert_no_temps(c.dst.parent().unwrap());
        }
    }
}

#[test]
fn sparse_never_writes_the_zeros_and_says_the_source_was_sparse() {
    let c = case();
    let mut s = settings("direct-large");
    s.set("sparse", "never").unwrap();
    let (cp, _) = copier(s);
    let r = cp.copy_file(&c.src, &c.dst).unwrap();
    assert_ne!(r.perf.method.as_str(), "extents");
    assert_content(&c.dst, &c.content);
    assert!(allocated(&c.dst) >= 63 * MIB, "{}", allocated(&c.dst));
    assert!(
        r.notices
            .iter()
            .any(|n| n.kind == engine::NoticeKind::SparseSource),
        "{:?}",
        r.notices
    );
}

#[test]
fn sparse_always_makes_holes_of_zero_runs_in_a_dense_source() {
    let dir = tempdir().unwrap();
    let src = dir.path().join("zeros.bin");
    let dst = dir.path().join("copy.bin");
    // Dense: 16 MiB written out, only 1 MiB of it not zero.
    let mut content = vec![0u8; 16 * MIB as usize];
    content[8 * MIB as usize..9 * MIB as usize].copy_from_slice(&testkit::data(MIB as usize, 3));
    std::fs::write(&src, &content).unwrap();
    OpenOptions::new()
        .write(true)
        .open(&src)
        .unwrap()
        .sync_all()
        .unwrap();
    assert!(allocated(&src) >= 16 * MIB);
    for strategy in ["direct-large", "direct-small"] {
        let mut s = settings(strategy);
        s.set("sparse", "always").unwrap();
        let (cp, _) = copier(s);
        cp.copy_file(&src, &dst).unwrap();
        assert_content(&dst, &content);
        assert!(
            allocated(&dst) <= 2 * MIB,
            "{strategy}: {}",
            allocated(&dst)
        );
    }
}
