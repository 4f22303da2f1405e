//! DIRECT-SMALL, the default when both ends are local and the file is below
//! `direct_large_threshold`: the OS's kernel-assisted copy (`copy_file_range` or a clone on
//! Linux, `CopyFileExW` on Windows, `clonefile`/`fcopyfile` on macOS) with progress and cancel.

use std::path::Path;

use fsops::KernelCopy;

use super::{Copied, Copier, Job, cancelled_copy};
use crate::error::{Code, Error};
use crate::events::Phase;

impl Copier {
    /// DIRECT-SMALL: the kernel copy; verify (later) by window compare.
    pub(super) fn direct_small(&self, job: &mut Job) -> Result<Copied, Error> {
        self.emit_decision(job);
        let (id, size) = (job.id, job.size);
        #[cfg(feature = "test-hooks")]
        let mut chunk_index = 0u64;
        let mut cb = |done: u64| {
            #[cfg(feature = "test-hooks")]
            if let Some(f) = &self.hooks.after_copy_chunk {
                f(chunk_index);
                chunk_index += 1;
            }
            self.progress(id, Phase::Copy, done, size)
        };
        let pair = (job.src_volume, job.dir.path().to_path_buf());
        let try_clone = !self
            .no_clone
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&pair);
        let out = fsops::kernel_copy(
            job.src_file(),
            &job.src,
            &job.dir,
            &job.tmp_name,
            size,
            self.settings.kernel_copy_chunk,
            try_clone,
            &mut cb,
        )
        .map_err(|e| {
            // Refused before anything was created: the target's name (or its folder) is the
            // cause, not the copy.
            if job.dir.stat(&job.tmp_name).is_err() {
                super::preflight::temp_create_error(e, job)
            } else {
                copy_io_error(e, &job.tmp, &job.src)
            }
        })?;
        match out {
            KernelCopy::Cancelled => Err(cancelled_copy(&job.dst)),
            KernelCopy::Copied {
                file,
                method,
                bytes,
            } => {
                if try_clone && size > 0 && method != fsops::CopyMethod::Clone {
                    self.no_clone
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(pair);
                }
                Ok(Copied {
                    file,
                    bytes,
                    method,
                    src_digest: None,
                    dst_digest: None,
                    windows: 0,
                    flushes: 0,
                })
            }
        }
    }
}

/// Maps an error from the kernel copy: out of space is `COPY_E_WRITE` (seed A.13), the rest too,
/// except a temp that could not even be created.
fn copy_io_error(e: std::io::Error, tmp: &Path, src: &Path) -> Error {
    match e.kind() {
        std::io::ErrorKind::AlreadyExists
        | std::io::ErrorKind::PermissionDenied
        | std::io::ErrorKind::ReadOnlyFilesystem
            if !tmp.exists() =>
        {
            Error::io(
                Code::CopyTempCreate,
                tmp,
                "cannot create the temp file in the target directory",
                e,
            )
        }
        _ => Error::io(
            Code::CopyWrite,
            tmp,
            format!("the kernel copy from '{}' failed", src.display()),
            e,
        ),
    }
}
