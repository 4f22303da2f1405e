//! Hashing: the one selection function used by every hash-based verify (seed A.4).
//!
//! BLAKE3 (default) uses the crate's SIMD paths (AVX2/AVX-512/NEON detected at run time) and,
//! with `hash_threads > 1`, its rayon-parallel tree hashing of each window. SHA-256 uses the
//! `sha2` crate's SHA-NI path where the CPU has it.

use std::cell::Cell;

use sha2::Digest as _;

use crate::settings::HashAlgo;

thread_local! {
    static HASHERS_CREATED: Cell<u64> = const { Cell::new(0) };
}

/// How many hashers the calling thread has created — lets tests prove that
/// `verify_policy=none` creates none (seed A.4: "If verification is disabled by policy, no
/// hasher is instantiated"). Per thread, so tests running in parallel do not disturb each other.
pub fn hashers_created() -> u64 {
    HASHERS_CREATED.with(Cell::get)
}

/// A running hash of one file.
pub enum Hasher {
    Blake3 {
        hasher: Box<blake3::Hasher>,
        parallel: bool,
    },
    Sha256(Box<sha2::Sha256>),
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Hasher::Blake3 { .. } => "Hasher::Blake3",
            Hasher::Sha256(_) => "Hasher::Sha256",
        })
    }
}

/// Blake3's rayon path pays only on inputs large enough to split across threads.
const PARALLEL_MIN: usize = 1 << 20;

impl Hasher {
    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Blake3 { hasher, parallel } => {
                if *parallel && data.len() >= PARALLEL_MIN {
                    hasher.update_rayon(data);
                } else {
                    hasher.update(data);
                }
            }
            Hasher::Sha256(h) => h.update(data),
        }
    }

    /// The digest as lowercase hex.
    pub fn finalize_hex(self) -> String {
        match self {
            Hasher::Blake3 { hasher, .. } => hasher.finalize().to_hex().to_string(),
            Hasher::Sha256(h) => {
                let d = h.finalize();
                d.iter().map(|b| format!("{b:02x}")).collect()
            }
        }
    }
}

/// The single source of truth for "which hasher, if any" (seed A.4): `None` when this file is not
/// verified by hash, else a new hasher of the configured algorithm.
///
/// `threads` is the `hash_threads` setting: 0 means as many as the machine has cores.
pub fn select_hasher(algo: HashAlgo, verify_by_hash: bool, threads: u32) -> Option<Hasher> {
    if !verify_by_hash {
        return None;
    }
    let threads = match threads {
        0 => std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(1),
        n => n,
    };
    HASHERS_CREATED.with(|c| c.set(c.get() + 1));
    Some(match algo {
        HashAlgo::Blake3 => {
            if threads > 1 {
                init_pool(threads);
            }
            Hasher::Blake3 {
                hasher: Box::new(blake3::Hasher::new()),
                parallel: threads > 1,
            }
        }
        HashAlgo::Sha256 => Hasher::Sha256(Box::new(sha2::Sha256::new())),
    })
}

/// Sizes rayon's global pool once, on first use by a parallel hasher.
fn init_pool(threads: u32) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads as usize)
            .build_global();
    });
}

/// Hashes a whole file with `algo`, as lowercase hex. `from_medium`: the file's cached pages are
/// dropped first so the bytes come from the disk, not the page cache (a bit-rot check). Calls
/// `progress` with the bytes of each chunk read; stops early (`Interrupted`) when cancelled.
pub fn hash_path(
    path: &std::path::Path,
    algo: HashAlgo,
    from_medium: bool,
    cancel: &crate::events::CancelToken,
    progress: &dyn Fn(u64),
) -> std::io::Result<String> {
    let f = fsops::open_source(path)?;
    if from_medium {
        // Best effort: a filesystem that cannot drop pages is read through its cache.
        // The length is not known here without asking: read ahead as for a large file.
        let _ = fsops::drop_cache(&f, u64::MAX);
    }
    hash_open(f, algo, cancel, progress)
}

/// Hashes bytes already in memory (a whole small file read by a batch), as lowercase hex.
pub(crate) fn hash_bytes(algo: HashAlgo, data: &[u8]) -> String {
    let mut h = new_hasher(algo);
    h.update(data);
    h.finalize_hex()
}

/// A hasher of `algo` for one file read on one thread.
fn new_hasher(algo: HashAlgo) -> Hasher {
    match algo {
        HashAlgo::Blake3 => Hasher::Blake3 {
            hasher: Box::new(blake3::Hasher::new()),
            parallel: false,
        },
        HashAlgo::Sha256 => Hasher::Sha256(Box::new(sha2::Sha256::new())),
    }
}

/// Hashes an open file from its start (for a file opened through its folder, never by path).
pub(crate) fn hash_file(
    f: std::fs::File,
    algo: HashAlgo,
    cancel: &crate::events::CancelToken,
) -> std::io::Result<String> {
    hash_open(f, algo, cancel, &|_| {})
}

fn hash_open(
    mut f: std::fs::File,
    algo: HashAlgo,
    cancel: &crate::events::CancelToken,
    progress: &dyn Fn(u64),
) -> std::io::Result<String> {
    let mut h = new_hasher(algo);
    // One buffer per thread, reused (a tree of small files must not allocate one per file), and
    // small: a 64 KiB chunk is still in the L2 cache when the hasher reads it right after the
    // copy out of the page cache. Measured on 2 GiB: 1 MiB reads took 2.2 s of system time,
    // 64 KiB reads 0.4 s.
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; 64 << 10]);
    }
    BUF.with_borrow_mut(|buf| hash_reader(&mut f, &mut h, buf, cancel, progress))?;
    Ok(h.finalize_hex())
}

fn hash_reader(
    f: &mut std::fs::File,
    h: &mut Hasher,
    buf: &mut [u8],
    cancel: &crate::events::CancelToken,
    progress: &dyn Fn(u64),
) -> std::io::Result<()> {
    use std::io::Read;
    loop {
        if cancel.is_cancelled() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "cancelled",
            ));
        }
        match f.read(buf) {
            Ok(0) => break,
            Ok(n) => {
                h.update(&buf[..n]);
                progress(n as u64);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        let mut h = select_hasher(HashAlgo::Sha256, true, 1).unwrap();
        h.update(b"abc");
        assert_eq!(
            h.finalize_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut h = select_hasher(HashAlgo::Blake3, true, 1).unwrap();
        h.update(b"abc");
        assert_eq!(
            h.finalize_hex(),
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
    }

    #[test]
    fn parallel_blake3_equals_serial() {
        let data: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut a = select_hasher(HashAlgo::Blake3, true, 1).unwrap();
        let mut b = select_hasher(HashAlgo::Blake3, true, 2).unwrap();
        a.update(&data);
        b.update(&data);
        assert_eq!(a.finalize_hex(), b.finalize_hex());
    }

    #[test]
    fn no_hasher_without_verification() {
        assert!(select_hasher(HashAlgo::Blake3, false, 1).is_none());
    }
}
