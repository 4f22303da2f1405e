//! STAGED, the default when either end is on the network, UNC, removable or of unknown kind:
//! buffered chunks (`staged_chunk`), nothing mapped, nothing left to the kernel.

use super::{Copied, Copier, Job, cancelled_copy, read_source};
use crate::error::{Code, Error, IoResultExt};
use crate::events::Phase;
use crate::hash::select_hasher;
use crate::pipe;
use crate::strategy::VerifyMode;

impl Copier {
    /// STAGED: buffered chunks with a progressive hash of the source (on a second thread, so
    /// it overlaps the network I/O).
    pub(super) fn staged(&self, job: &mut Job) -> Result<Copied, Error> {
        let s = &self.settings;
        let tmp_file = self.create_temp(job)?;
        self.emit_decision(job);
        let hasher = select_hasher(
            s.hash,
            job.decision.verify == VerifyMode::Hash,
            s.hash_threads,
        );
        let chunk = s.staged_chunk.min(job.size.max(1)) as usize;
        let job = &*job;
        let tmp = &tmp_file;
        let (chunks, digest) = pipe::with_hasher(hasher, chunk, |feed| {
            let (mut off, mut chunks) = (0u64, 0u64);
            while off < job.size {
                if self.cancel.is_cancelled() {
                    return Err(cancelled_copy(&job.dst));
                }
                let len = (chunk as u64).min(job.size - off) as usize;
                let mut buf = feed.buf();
                read_source(job.src_file(), &job.src, job.size, &mut buf[..len], off)?;
                fsops::write_all_at(tmp, &buf[..len], off).or_code_with(
                    Code::CopyWrite,
                    &job.tmp,
                    || format!("write failed at offset {off} ({off} bytes written)"),
                )?;
                feed.submit(buf, len);
                off += len as u64;
                chunks += 1;
                #[cfg(feature = "test-hooks")]
                if let Some(f) = &self.hooks.after_copy_chunk {
                    f(chunks - 1);
                }
                if self.progress(job.id, Phase::Copy, off, job.size).is_break() {
                    return Err(cancelled_copy(&job.dst));
                }
            }
            Ok(chunks)
        })?;
        Ok(Copied {
            file: tmp_file,
            bytes: job.size,
            method: fsops::CopyMethod::ReadWrite,
            src_digest: digest,
            dst_digest: None,
            windows: chunks,
            flushes: 1,
        })
    }
}
