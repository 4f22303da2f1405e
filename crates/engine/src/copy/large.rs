//! DIRECT-LARGE, the default when both ends are local and the file is at least
//! `direct_large_threshold`: a windowed copy into a temp pre-allocated to the exact size.

use std::path::Path;

use super::{Copied, Copier, IO_SLICE, Job, cancelled_copy, read_source, source_shrank};
use crate::error::{Code, Error, IoResultExt};
use crate::events::Phase;
use crate::hash::select_hasher;
use crate::pipe;
use crate::strategy::{Prealloc, VerifyMode};

impl Copier {
    /// DIRECT-LARGE: preallocated temp, windowed copy with the source hashed on the fly (only
    /// when verifying), write-back started every `flush_every_windows` windows.
    ///
    /// The source is read with `pread`, never mapped: a source truncated while mapped raises
    /// SIGBUS and kills the process, whereas a short read is just a value we turn into
    /// `COPY_E_SOURCE_CHANGED`. Each window is copied in the kernel (`copy_file_range`) where the
    /// OS can; with verify on, the same window of the source is then read from the page cache it
    /// was just copied through and hashed on a second thread, so the source comes off the medium
    /// once and the hash overlaps the copy. With verify off there is no hasher at all.
    pub(super) fn direct_large(&self, job: &mut Job) -> Result<Copied, Error> {
        let s = &self.settings;
        let tmp_file = self.create_temp(job)?;

        #[cfg(feature = "test-hooks")]
        let injected = self.hooks.fail_prealloc;
        #[cfg(not(feature = "test-hooks"))]
        let injected = false;
        let prealloc = if injected {
            Err(Error::io(
                Code::CopyPrealloc,
                &job.tmp,
                format!("cannot pre-allocate {} bytes", job.size),
                std::io::Error::from(std::io::ErrorKind::StorageFull),
            ))
        } else {
            match fsops::preallocate(&tmp_file, job.size) {
                Ok(true) => Ok(()),
                Ok(false) => Err(Error::new(
                    Code::CopyPrealloc,
                    &job.tmp,
                    format!(
                        "the target filesystem cannot pre-allocate {} bytes without making a sparse file",
                        job.size
                    ),
                )),
                Err(e) => Err(Error::io(
                    Code::CopyPrealloc,
                    &job.tmp,
                    format!("cannot pre-allocate {} bytes", job.size),
                    e,
                )),
            }
        };
        if let Err(e) = prealloc {
            job.decision.prealloc = Prealloc::Failed;
            self.emit_decision(job);
            return Err(e);
        }
        self.emit_decision(job);

        let hasher = select_hasher(
            s.hash,
            job.decision.verify == VerifyMode::Hash,
            s.hash_threads,
        );
        let window = s.window;
        let slice = IO_SLICE.min(job.size.max(1) as usize);
        let job = &*job;
        let tmp = &tmp_file;
        let ((kernel_ok, windows, flushes), digest) = pipe::with_hasher(hasher, slice, |feed| {
            let hashing = feed.hashing();
            let mut kernel_ok = true;
            let (mut off, mut windows, mut flushes, mut flushed_to) = (0u64, 0u64, 0u64, 0u64);
            while off < job.size {
                if self.cancel.is_cancelled() {
                    return Err(cancelled_copy(&job.dst));
                }
                let len = window.min(job.size - off);
                let mut done = false;
                if kernel_ok {
                    match fsops::copy_range(job.src_file(), tmp, off, len) {
                        Ok(Some(n)) if n == len => done = true,
                        Ok(Some(n)) => return Err(source_shrank(&job.src, off + n, job.size)),
                        Ok(None) => kernel_ok = false,
                        Err(e) => return Err(window_error(&job.tmp, windows, off, len, e)),
                    }
                }
                // Slices of the window through user space: to hash them after the kernel copy,
                // or to copy (and hash) them where the kernel cannot.
                if hashing || !done {
                    let mut pos = off;
                    while pos < off + len {
                        let n = (slice as u64).min(off + len - pos) as usize;
                        let mut buf = feed.buf();
                        read_source(job.src_file(), &job.src, job.size, &mut buf[..n], pos)?;
                        if !done {
                            fsops::write_all_at(tmp, &buf[..n], pos)
                                .map_err(|e| window_error(&job.tmp, windows, off, len, e))?;
                        }
                        feed.submit(buf, n);
                        pos += n as u64;
                    }
                }
                #[cfg(feature = "test-hooks")]
                if self.hooks.fail_window == Some(windows) {
                    return Err(window_error(
                        &job.tmp,
                        windows,
                        off,
                        len,
                        std::io::Error::other("injected window failure"),
                    ));
                }
                off += len;
                windows += 1;
                if windows % u64::from(s.flush_every_windows) == 0 {
                    fsops::start_writeback(tmp, flushed_to, off - flushed_to).or_code_with(
                        Code::CopyWrite,
                        &job.tmp,
                        || format!("flush after window {windows} failed"),
                    )?;
                    flushed_to = off;
                    flushes += 1;
                }
                #[cfg(feature = "test-hooks")]
                if let Some(f) = &self.hooks.after_copy_chunk {
                    f(windows - 1);
                }
                if self.progress(job.id, Phase::Copy, off, job.size).is_break() {
                    return Err(cancelled_copy(&job.dst));
                }
            }
            Ok((kernel_ok, windows, flushes))
        })?;
        Ok(Copied {
            file: tmp_file,
            bytes: job.size,
            method: if kernel_ok {
                fsops::CopyMethod::CopyFileRange
            } else {
                fsops::CopyMethod::PreadPwrite
            },
            src_digest: digest,
            windows,
            // The final fsync is the last flush (seed A.5: "always perform a final flush").
            flushes: flushes + 1,
        })
    }
}

fn window_error(tmp: &Path, index: u64, off: u64, len: u64, e: std::io::Error) -> Error {
    Error::io(
        Code::CopyMmapMapWrite,
        tmp,
        format!("window {index} (offset {off}, length {len}) failed"),
        e,
    )
}
