//! Sparse files: only the source's data extents are copied, its holes left unwritten (the copy
//! takes the space the source takes), in every strategy; the verify reads back only data — the
//! source's extents, and whatever the copy holds outside them, which must be zeros — and a hash
//! counts the holes as the zeros they read as, so a digest is the digest of the file's content.

use std::fs::File;

use super::{Copied, Copier, Job, cancelled_copy, read_source};
use crate::error::{Code, Error, IoResultExt};
use crate::events::Phase;
use crate::hash::{Hasher, select_hasher};
use crate::settings::Sparse;
use crate::strategy::{Strategy, VerifyMode};

/// Bytes moved at a time: small enough for prompt progress and cancel.
const CHUNK: usize = 1 << 20;

/// Zero runs shorter than this are written as data (`sparse=always`): a hole smaller than a
/// filesystem block saves nothing.
const ZERO_RUN: usize = 64 << 10;

static ZEROS: [u8; 64 << 10] = [0; 64 << 10];

/// Feeds `n` zero bytes to a hasher (a hole, hashed as what it reads as, without reading it).
fn hash_zeros(h: &mut Hasher, mut n: u64) {
    while n > 0 {
        let k = n.min(ZEROS.len() as u64) as usize;
        h.update(&ZEROS[..k]);
        n -= k as u64;
    }
}

impl Copier {
    /// The data extents of a sparse source into the temp; the holes stay holes (the temp's
    /// length is set last). In-kernel per extent where the strategy allows and nothing has to
    /// see the bytes; through a buffer where the source is hashed on the way (a hash verify),
    /// on STAGED targets, and with `sparse=always` (whose zero runs are not written).
    pub(super) fn sparse_copy(
        &self,
        job: &mut Job,
        extents: &[(u64, u64)],
    ) -> Result<Copied, Error> {
        let tmp = self.create_temp(job)?;
        self.emit_decision(job);
        let s = &self.settings;
        let mut hasher = select_hasher(
            s.hash,
            job.decision.verify == VerifyMode::Hash,
            s.hash_threads,
        );
        let mut in_kernel = hasher.is_none()
            && job.decision.strategy != Strategy::Staged
            && s.sparse != Sparse::Always;
        let size = job.size;
        let mut buf = vec![0u8; CHUNK];
        let mut hashed = 0u64;
        for (at, n) in chunks(extents) {
            if self.cancel.is_cancelled() {
                return Err(cancelled_copy(&job.dst));
            }
            let mut copied = false;
            if in_kernel {
                match fsops::copy_range(job.src_file(), &tmp, at, n as u64) {
                    Ok(Some(k)) if k == n as u64 => copied = true,
                    Ok(Some(k)) => return Err(super::source_shrank(&job.src, at + k, size)),
                    // Not in-kernel here: the buffer from this chunk on.
                    Ok(None) => in_kernel = false,
                    Err(e) => {
                        return Err(Error::io(
                            Code::CopyWrite,
                            &job.tmp,
                            format!("copy of the data extent at offset {at} failed"),
                            e,
                        ));
                    }
                }
            }
            if !copied {
                read_source(job.src_file(), &job.src, size, &mut buf[..n], at)?;
                if let Some(h) = hasher.as_mut() {
                    hash_zeros(h, at - hashed);
                    h.update(&buf[..n]);
                }
                self.write_data(job, &tmp, &buf[..n], at)?;
            }
            hashed = at + n as u64;
            if self.progress(job.id, Phase::Copy, hashed, size).is_break() {
                return Err(cancelled_copy(&job.dst));
            }
        }
        if let Some(h) = hasher.as_mut() {
            hash_zeros(h, size - hashed);
        }
        // The tail after the last extent is a hole too.
        tmp.set_len(size)
            .or_code(Code::CopyWrite, &job.tmp, "cannot set the copy's length")?;
        self.note_filled_holes(job, &tmp);
        Ok(Copied {
            file: tmp,
            bytes: size,
            method: fsops::CopyMethod::Extents,
            src_digest: hasher.map(Hasher::finalize_hex),
            dst_digest: None,
            windows: extents.len() as u64,
            flushes: 1,
        })
    }

    /// A target that writes holes out as zeros (exFAT, FAT, most FUSE filesystems) keeps the
    /// content but not the sparseness: counted, and said once per run. "Filled" is more than
    /// half of the source's holes taking space in the copy (filesystems round allocations up).
    fn note_filled_holes(&self, job: &Job, tmp: &File) {
        let (Ok(src), Ok(dst)) = (job.src_file().metadata(), tmp.metadata()) else {
            return;
        };
        let (src, dst) = (fsops::allocated_size(&src), fsops::allocated_size(&dst));
        let holes = job.size.saturating_sub(src);
        if holes > 0 && dst > src + holes / 2 {
            self.lost.note(
                crate::meta::MetaKind::Holes,
                &std::io::Error::other("the target's filesystem writes holes out as zeros"),
            );
        }
    }

    /// Writes a chunk of data at `at`; with `sparse=always` its zero runs are skipped (they
    /// stay holes).
    fn write_data(&self, job: &Job, tmp: &File, data: &[u8], at: u64) -> Result<(), Error> {
        let write = |d: &[u8], off: u64| {
            fsops::write_all_at(tmp, d, off).or_code_with(Code::CopyWrite, &job.tmp, || {
                format!("write failed at offset {off}")
            })
        };
        if self.settings.sparse != Sparse::Always {
            return write(data, at);
        }
        for (i, block) in data.chunks(ZERO_RUN).enumerate() {
            if block.iter().any(|&b| b != 0) {
                write(block, at + (i * ZERO_RUN) as u64)?;
            }
        }
        Ok(())
    }

    /// The verify of a sparse copy, read back through `readback` (its cached pages already
    /// dropped where the read must come from the medium): a compare reads the source's extents
    /// of both files and checks that whatever data the copy holds outside them is zeros; a hash
    /// reads the copy's own extents and counts its holes as zeros.
    pub(super) fn verify_sparse(
        &self,
        job: &Job,
        readback: &File,
        extents: &[(u64, u64)],
        src_digest: Option<&str>,
    ) -> Result<(), Error> {
        let size = job.size;
        let theirs = fsops::data_extents(readback, size)
            .or_code(Code::VerifyRead, &job.tmp, "cannot read the copy's extents")?
            .unwrap_or_else(|| vec![(0, size)]);
        let mut dst_buf = vec![0u8; CHUNK];
        let read = |buf: &mut [u8], off: u64| -> Result<(), Error> {
            let n = fsops::read_at(readback, buf, off).or_code_with(
                Code::VerifyRead,
                &job.tmp,
                || format!("read-back failed at offset {off}"),
            )?;
            if n < buf.len() {
                return Err(super::readback::compare_mismatch(&job.dst, off + n as u64));
            }
            Ok(())
        };
        match job.decision.verify {
            VerifyMode::None => Ok(()),
            VerifyMode::Hash => {
                // Asked to hash, `select_hasher` always returns a hasher.
                let Some(mut h) =
                    select_hasher(self.settings.hash, true, self.settings.hash_threads)
                else {
                    unreachable!("select_hasher(…, true, …) returned no hasher")
                };
                let mut hashed = 0u64;
                for (at, n) in chunks(&theirs) {
                    if self.cancel.is_cancelled() {
                        return Err(super::readback::cancelled_verify(&job.dst));
                    }
                    read(&mut dst_buf[..n], at)?;
                    hash_zeros(&mut h, at - hashed);
                    h.update(&dst_buf[..n]);
                    hashed = at + n as u64;
                    let _ = self.progress(job.id, Phase::Verify, hashed, size);
                }
                hash_zeros(&mut h, size - hashed);
                let got = h.finalize_hex();
                let want = src_digest.unwrap_or_default();
                if got == want {
                    Ok(())
                } else {
                    Err(Error::new(
                        Code::VerifyHashMismatch,
                        &job.dst,
                        format!("the copy's hash {got} differs from the source's {want}"),
                    ))
                }
            }
            VerifyMode::Mmap => {
                let mut src_buf = vec![0u8; CHUNK];
                for (at, n) in chunks(extents) {
                    if self.cancel.is_cancelled() {
                        return Err(super::readback::cancelled_verify(&job.dst));
                    }
                    read_source(job.src_file(), &job.src, size, &mut src_buf[..n], at)?;
                    read(&mut dst_buf[..n], at)?;
                    if let Some(i) = super::readback::first_difference(&src_buf[..n], &dst_buf[..n])
                    {
                        return Err(super::readback::compare_mismatch(&job.dst, at + i as u64));
                    }
                    let _ = self.progress(job.id, Phase::Verify, at + n as u64, size);
                }
                // Data the copy holds outside the source's extents must read as zeros.
                for (at, n) in chunks(&outside(&theirs, extents)) {
                    read(&mut dst_buf[..n], at)?;
                    if let Some(i) = dst_buf[..n].iter().position(|&b| b != 0) {
                        return Err(super::readback::compare_mismatch(&job.dst, at + i as u64));
                    }
                }
                Ok(())
            }
        }
    }
}

/// `(offset, length)` pieces of at most [`CHUNK`] bytes covering `ranges`, in order: the unit
/// of copy, progress and cancel.
fn chunks(ranges: &[(u64, u64)]) -> impl Iterator<Item = (u64, usize)> + '_ {
    ranges.iter().flat_map(|&(off, len)| {
        (0..len.div_ceil(CHUNK as u64)).map(move |i| {
            let at = off + i * CHUNK as u64;
            (at, (CHUNK as u64).min(off + len - at) as usize)
        })
    })
}

/// The parts of the ranges `a` not covered by the ranges `b` (both sorted, disjoint), in one
/// pass over both (an image can have many thousands of extents).
fn outside(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut j = 0;
    for &(off, len) in a {
        let (mut start, end) = (off, off + len);
        // Ranges of `b` that end before this one starts cannot cover any later one either.
        while j < b.len() && b[j].0 + b[j].1 <= start {
            j += 1;
        }
        let mut k = j;
        while k < b.len() && b[k].0 < end {
            let (boff, bend) = (b[k].0, b[k].0 + b[k].1);
            if boff > start {
                out.push((start, boff - start));
            }
            start = start.max(bend);
            k += 1;
        }
        if start < end {
            out.push((start, end - start));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parts_outside_other_ranges_are_found() {
        assert_eq!(
            outside(&[(0, 100)], &[(10, 10), (50, 10)]),
            [(0, 10), (20, 30), (60, 40)]
        );
        assert_eq!(outside(&[(0, 10)], &[(0, 10)]), []);
        assert_eq!(outside(&[(5, 10)], &[]), [(5, 10)]);
        assert_eq!(outside(&[(0, 10), (20, 10)], &[(5, 20)]), [(0, 5), (25, 5)]);
        assert_eq!(
            outside(&[(0, 10), (20, 10)], &[(12, 3), (40, 5)]),
            [(0, 10), (20, 10)]
        );
    }

    #[test]
    fn chunks_cover_each_range_in_pieces_of_at_most_a_chunk() {
        let c = CHUNK as u64;
        let got: Vec<_> = chunks(&[(5, 2 * c + 1), (10 * c, 3)]).collect();
        assert_eq!(
            got,
            [(5, CHUNK), (5 + c, CHUNK), (5 + 2 * c, 1), (10 * c, 3)]
        );
        assert_eq!(chunks(&[]).count(), 0);
    }
}
