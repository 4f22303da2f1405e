//! What only the Linux backend does yet, answered "not here" for the other backends to
//! re-export: file flags (macOS `chflags` and Windows have none here: the copy keeps none and
//! says nothing is locked), and many small files read from the medium at once (io_uring).

use std::fs::File;
use std::io;
use std::path::Path;

/// The file flags a copy keeps: none here.
pub const FILE_FLAGS: u32 = 0;

/// See [`FILE_FLAGS`]: none.
pub const LOCKING_FLAGS: u32 = 0;

/// See [`FILE_FLAGS`]: none.
pub fn file_flags(file: &File) -> io::Result<u32> {
    let _ = file;
    Ok(0)
}

/// See [`FILE_FLAGS`]: unsupported.
pub fn set_file_flags(file: &File, flags: u32) -> io::Result<()> {
    let _ = (file, flags);
    Err(io::ErrorKind::Unsupported.into())
}

/// Many small files read from the medium at once: no batched unbuffered reads here, so `false`
/// without reading anything (the caller reads each file itself).
pub fn read_files_direct(
    files: &[(Option<&crate::Dir>, &Path, u64)],
    stop: &dyn Fn() -> bool,
    each: &mut dyn FnMut(usize, Option<&[u8]>),
) -> bool {
    let _ = (files, stop, each);
    false
}
