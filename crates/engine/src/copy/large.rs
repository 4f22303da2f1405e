//! DIRECT-LARGE, the default when both ends are local and the file is at least
//! `direct_large_threshold`: a windowed copy into a temp pre-allocated to the exact size.

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use super::readback::{cancelled_verify, copy_ends};
use super::{Copied, Copier, IO_SLICE, Job, cancelled_copy, read_source, source_shrank};
use crate::error::{Code, Error, IoResultExt};
use crate::events::Phase;
use crate::hash::{Hasher, select_hasher};
use crate::pipe;
use crate::strategy::{Prealloc, ReadBackMode, VerifyMode};

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
    ///
    /// A hash verify from the page cache (`verify_read=cache`) reads the copy back window by
    /// window on a third thread, each window once the device has it (see
    /// [`Copier::read_back_windows`]), so the read-back overlaps the copy and the write-back
    /// instead of following the fsync.
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
        let slice = IO_SLICE.min(job.size.max(1) as usize);
        let early = job.decision.verify == VerifyMode::Hash
            && job.decision.read_back == ReadBackMode::Cache
            && fsops::temp_reads_keep_atime();
        let job = &*job;
        let tmp = &tmp_file;
        let (written, written_rx) = mpsc::channel::<(u64, u64)>();
        let stop = AtomicBool::new(false);
        let (copied, dst_digest) = std::thread::scope(|scope| {
            let reader = early.then(|| {
                let stop = &stop;
                scope.spawn(move || self.read_back_windows(job, tmp, written_rx, stop))
            });
            let copied = self.copy_windows(job, tmp, hasher, slice, &written);
            drop(written);
            if copied.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            let dst_digest = match reader.map(|r| r.join()) {
                None => Ok(None),
                Some(Ok(result)) => result,
                Some(Err(panic)) => std::panic::resume_unwind(panic),
            };
            (copied, dst_digest)
        });
        let (
            Windows {
                kernel_ok,
                count: windows,
                flushes,
            },
            digest,
        ) = copied?;
        let dst_digest = dst_digest?;
        Ok(Copied {
            file: tmp_file,
            bytes: job.size,
            method: if kernel_ok {
                fsops::CopyMethod::CopyFileRange
            } else {
                fsops::CopyMethod::PreadPwrite
            },
            src_digest: digest,
            dst_digest,
            windows,
            // The final fsync is the last flush (seed A.5: "always perform a final flush").
            flushes: flushes + 1,
        })
    }

    /// The window loop of DIRECT-LARGE: copies `job` into `tmp` window by window, hashing the
    /// source when `hasher` is given, and sends each window's `(offset, length)` to `written`
    /// once it is in `tmp`. Returns what the loop did and the source's digest.
    fn copy_windows(
        &self,
        job: &Job,
        tmp: &File,
        hasher: Option<Hasher>,
        slice: usize,
        written: &mpsc::Sender<(u64, u64)>,
    ) -> Result<(Windows, Option<String>), Error> {
        let s = &self.settings;
        let window = s.window;
        pipe::with_hasher(hasher, slice, |feed| {
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
                // The reader may have stopped early (it cannot wait for write-back here, or
                // failed): it then reads the copy after the fsync, or reports its error.
                let _ = written.send((off, len));
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
            Ok(Windows {
                kernel_ok,
                count: windows,
                flushes,
            })
        })
    }

    /// The early read-back of a hash verify from the page cache: for each window the copy loop
    /// sends, waits until the device has it (`fsops::wait_writeback`, which also reports a write
    /// error of the range), then reads it back through the temp's handle and hashes it. The
    /// bytes are those the final fsync makes durable — a page written back is not changed by
    /// it — so the digest is the one a read-back after the fsync would give, without a second
    /// pass after it. `Ok(None)` where the OS cannot wait for a range: the verify then reads the
    /// copy after the fsync as usual.
    fn read_back_windows(
        &self,
        job: &Job,
        tmp: &File,
        windows: mpsc::Receiver<(u64, u64)>,
        stop: &AtomicBool,
    ) -> Result<Option<String>, Error> {
        let s = &self.settings;
        let mut hasher = select_hasher(s.hash, true, s.hash_threads);
        let mut buf = Vec::new();
        for (off, len) in windows {
            if stop.load(Ordering::Relaxed) || self.cancel.is_cancelled() {
                return Err(cancelled_verify(&job.dst));
            }
            let waited = fsops::wait_writeback(tmp, off, len).or_code_with(
                Code::CopyWrite,
                &job.tmp,
                || format!("write-back of {len} bytes at offset {off} failed"),
            )?;
            if !waited {
                return Ok(None);
            }
            #[cfg(feature = "test-hooks")]
            if let Some(at) = self.hooks.flip_byte_before_verify
                && (off..off + len).contains(&at)
            {
                super::commit::flip_byte(tmp, at);
            }
            // The temp is ours and nobody truncates it: hash its pages where they lie, through
            // a map, rather than copy them out of the cache first (that copy was a quarter of
            // the CPU time of a verified 2 GiB copy, `perf`). A refused map reads it instead.
            if let Ok(map) = fsops::MappedWindow::map(tmp, off, len as usize) {
                if let Some(h) = hasher.as_mut() {
                    h.update(&map);
                }
                continue;
            }
            buf.resize(IO_SLICE.min(job.size.max(1) as usize), 0);
            let mut pos = off;
            while pos < off + len {
                let want = (buf.len() as u64).min(off + len - pos) as usize;
                let got = fsops::read_at(tmp, &mut buf[..want], pos).or_code_with(
                    Code::VerifyRead,
                    &job.tmp,
                    || format!("read-back failed at offset {pos}"),
                )?;
                if got < want {
                    return Err(copy_ends(job, pos + got as u64));
                }
                if let Some(h) = hasher.as_mut() {
                    h.update(&buf[..want]);
                }
                pos += want as u64;
            }
        }
        Ok(hasher.map(Hasher::finalize_hex))
    }
}

/// What the window loop did.
struct Windows {
    /// Every window was copied by the kernel (else through user space from the first refusal).
    kernel_ok: bool,
    count: u64,
    /// Write-backs started during the copy.
    flushes: u64,
}

fn window_error(tmp: &Path, index: u64, off: u64, len: u64, e: std::io::Error) -> Error {
    Error::io(
        Code::CopyMmapMapWrite,
        tmp,
        format!("window {index} (offset {off}, length {len}) failed"),
        e,
    )
}
