//! File flags where this platform does not carry them over (everywhere but Linux yet: macOS
//! `chflags` and Windows have none here): the copy keeps none and says nothing is locked.

use std::fs::File;
use std::io;

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
