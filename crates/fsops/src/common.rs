//! The portable part of fsops: positional I/O loops, the aligned buffer and memory map of a
//! verify, and path logic that is the same on every OS. Nothing here branches on the OS; where it
//! needs the OS it calls one of the backend's crate-private primitives (`read_at_once`,
//! `write_at_once`, `advise_sequential`).

use std::fs::File;
use std::io;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use crate::{Progress, Times, backend};

/// Reads into `buf` at `offset`, retrying on interruption, until `buf` is full or the file ends.
/// Returns the number of bytes read (short only at end of file).
pub fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match backend::read_at_once(file, &mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// [`read_at`] for a handle from [`open_direct`](crate::open_direct): `buf` (an [`AlignedBuf`]
/// slice whose length is a multiple of [`DIRECT_ALIGN`]) is filled from `offset` (a multiple
/// too) until it is full or the file ends. Unlike [`read_at`], it never continues at the
/// unaligned offset a short read at the end of the file leaves: Windows fails such a read on an
/// unbuffered handle with ERROR_INVALID_PARAMETER instead of returning 0.
pub fn read_direct_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    read_direct_with(buf, offset, |b, off| backend::read_at_once(file, b, off))
}

/// The loop of [`read_direct_at`] over any single-read function, so a test can play the part of
/// a Windows unbuffered handle on every OS.
fn read_direct_with(
    buf: &mut [u8],
    offset: u64,
    mut read_once: impl FnMut(&mut [u8], u64) -> io::Result<usize>,
) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match read_once(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => {
                done += n;
                // A read that ends off a block boundary stopped at the end of the file.
                if !done.is_multiple_of(DIRECT_ALIGN) {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Writes all of `buf` at `offset`, retrying on short writes and interruption.
pub fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        match backend::write_at_once(file, &buf[done..], offset + done as u64) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "write returned 0")),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The read/write copy every backend falls back to: from `off` until `len` or the source's end,
/// through a buffer of at most `step` bytes, calling `progress` after each write. `None` when
/// cancelled; a short count when the source ended early (the caller checks it).
#[allow(dead_code)] // Windows copies with CopyFileExW alone; every other backend falls back here.
pub(crate) fn copy_read_write(
    src: &File,
    dst: &File,
    mut off: u64,
    len: u64,
    step: usize,
    progress: Progress<'_>,
) -> io::Result<Option<u64>> {
    let mut buf = vec![0u8; step.max(1).min(len.saturating_sub(off).max(1) as usize)];
    while off < len {
        let want = ((len - off) as usize).min(buf.len());
        let n = read_at(src, &mut buf[..want], off)?;
        if n == 0 {
            break;
        }
        write_all_at(dst, &buf[..n], off)?;
        off += n as u64;
        if progress(off).is_break() {
            return Ok(None);
        }
    }
    Ok(Some(off))
}

/// The access and modified times of `times` as std's `FileTimes`, which every OS applies (with
/// nanoseconds where the filesystem stores them); a backend that can also set a creation time
/// adds it.
pub(crate) fn std_file_times(times: &Times) -> std::fs::FileTimes {
    let mut ft = std::fs::FileTimes::new();
    if let Some(a) = times.accessed {
        ft = ft.set_accessed(a);
    }
    if let Some(m) = times.modified {
        ft = ft.set_modified(m);
    }
    ft
}

/// A read-only memory map of `len` bytes at `offset` of a file.
///
/// Only map files that no one else truncates while the map lives (our own temp files): reading a
/// mapped page past a shrunken end raises SIGBUS on Unix. The engine therefore maps the
/// destination temp it owns, and reads the source with [`read_at`].
#[derive(Debug)]
pub struct MappedWindow {
    map: memmap2::Mmap,
}

impl MappedWindow {
    /// Maps `len` bytes at `offset` (`offset` must be a multiple of the page size; every window
    /// size the engine accepts is a multiple of 64 KiB, which is).
    pub fn map(file: &File, offset: u64, len: usize) -> io::Result<MappedWindow> {
        // SAFETY: the caller maps only files it owns and that nobody truncates while mapped (see
        // the type's docs); memmap2 validates offset and length against the OS's rules.
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(offset)
                .len(len)
                .map(file)?
        };
        backend::advise_sequential(&map);
        Ok(MappedWindow { map })
    }
}

impl Deref for MappedWindow {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map
    }
}

/// Alignment of buffers, offsets and lengths for [`open_direct`](crate::open_direct) reads:
/// 4 KiB covers the logical block size of every common device (512 B or 4 KiB).
pub const DIRECT_ALIGN: usize = 4096;

/// A zeroed heap buffer aligned to [`DIRECT_ALIGN`], as unbuffered I/O requires.
pub struct AlignedBuf {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
}

// SAFETY: AlignedBuf owns its allocation exclusively, like a Vec<u8>.
unsafe impl Send for AlignedBuf {}
// SAFETY: shared access only hands out `&[u8]`.
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// A zeroed buffer of `len` bytes rounded up to a multiple of [`DIRECT_ALIGN`] (at least one
    /// block), so any whole-buffer read on a direct handle is aligned in length too.
    pub fn new(len: usize) -> AlignedBuf {
        let len = len.max(1).div_ceil(DIRECT_ALIGN) * DIRECT_ALIGN;
        let layout = std::alloc::Layout::from_size_align(len, DIRECT_ALIGN).expect("valid layout");
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        let ptr =
            std::ptr::NonNull::new(ptr).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        AlignedBuf { ptr, len }
    }

    /// The buffer's length in bytes (a multiple of [`DIRECT_ALIGN`]).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false (the buffer holds at least one block); here because clippy expects it
    /// beside [`len`](Self::len).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: ptr is valid for len initialised (zeroed) bytes for our lifetime.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl std::ops::DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above, and &mut self guarantees exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        let layout =
            std::alloc::Layout::from_size_align(self.len, DIRECT_ALIGN).expect("valid layout");
        // SAFETY: allocated in `new` with this very layout.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), layout) }
    }
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlignedBuf")
            .field("len", &self.len)
            .finish()
    }
}

/// Whether `path` is a Windows UNC path (`\\server\share\…`, `\\?\UNC\server\…`). Pure string
/// test, the same on every OS so it can be unit-tested anywhere.
pub fn is_unc_path(path: &Path) -> bool {
    let s = path.as_os_str().to_string_lossy();
    let s = s.replace('/', "\\");
    if let Some(rest) = s.strip_prefix(r"\\?\") {
        return rest.len() >= 4 && rest[..4].eq_ignore_ascii_case("UNC\\");
    }
    if s.starts_with(r"\\.\") {
        return false; // a device path, not a share
    }
    s.starts_with(r"\\") && s.len() > 2 && !s[2..].starts_with('\\')
}

/// The nearest existing ancestor of `path` (itself when it exists), canonicalized so symlinks are
/// resolved. Used to judge the volume of a target that does not exist yet.
pub fn nearest_existing(path: &Path) -> io::Result<PathBuf> {
    let mut cur = path;
    loop {
        match std::fs::canonicalize(cur) {
            Ok(p) => return Ok(p),
            Err(e) if e.kind() == io::ErrorKind::NotFound => match cur.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => cur = parent,
                // A relative path whose first component is missing lives in the current
                // directory; an absolute one with no existing ancestor (an unreachable share)
                // must not be judged by the current directory's volume.
                _ if path.is_relative() => return std::fs::canonicalize("."),
                _ => return Err(e),
            },
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unc_paths_are_recognised() {
        assert!(is_unc_path(Path::new(r"\\server\share\dir\f.txt")));
        assert!(is_unc_path(Path::new(r"\\?\UNC\server\share\f.txt")));
        assert!(is_unc_path(Path::new("//server/share")));
        assert!(!is_unc_path(Path::new(r"\\?\C:\dir\f.txt")));
        assert!(!is_unc_path(Path::new(r"\\.\PhysicalDrive0")));
        assert!(!is_unc_path(Path::new(r"C:\dir")));
        assert!(!is_unc_path(Path::new("/home/u/f")));
    }

    #[test]
    fn nearest_existing_walks_up_to_a_real_directory() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/c.txt");
        assert_eq!(
            nearest_existing(&p).unwrap(),
            dir.path().canonicalize().unwrap()
        );
    }

    #[test]
    fn positional_io_round_trips_and_reads_short_at_eof() {
        let dir = tempfile::tempdir().unwrap();
        let f = crate::create_temp(&dir.path().join("io")).unwrap();
        write_all_at(&f, b"hello world", 3).unwrap();
        let mut buf = [0u8; 32];
        let n = read_at(&f, &mut buf, 3).unwrap();
        assert_eq!(&buf[..n], b"hello world");
    }

    #[test]
    fn direct_reads_never_continue_at_an_unaligned_offset() {
        // A file of 3 blocks + 123 bytes read the way Windows serves an unbuffered handle: any
        // offset or length off a block boundary is ERROR_INVALID_PARAMETER, even at the end;
        // like a device, at most two blocks come back per call.
        const BLOCK: u64 = DIRECT_ALIGN as u64;
        let size = 3 * BLOCK + 123;
        let windows_like = |reads: &mut Vec<u64>, b: &mut [u8], off: u64| {
            reads.push(off);
            if !off.is_multiple_of(BLOCK) || !(b.len() as u64).is_multiple_of(BLOCK) {
                return Err(io::Error::from_raw_os_error(87));
            }
            let n = (b.len() as u64)
                .min(size.saturating_sub(off))
                .min(2 * BLOCK);
            b[..n as usize].fill(7);
            Ok(n as usize)
        };
        let mut reads = Vec::new();
        let mut buf = vec![0u8; 8 * DIRECT_ALIGN];
        let n = read_direct_with(&mut buf, 0, |b, off| windows_like(&mut reads, b, off));
        assert_eq!(n.unwrap() as u64, size);
        assert_eq!(reads, vec![0, 2 * BLOCK]);
        // At the end exactly: one read, which returns 0.
        let mut reads = Vec::new();
        let mut buf = vec![0u8; DIRECT_ALIGN];
        let n = read_direct_with(&mut buf, 4 * BLOCK, |b, off| {
            windows_like(&mut reads, b, off)
        });
        assert_eq!((n.unwrap(), reads.len()), (0, 1));
    }

    #[test]
    fn mapped_window_shows_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m");
        let data: Vec<u8> = (0..3 * 65536u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        let f = File::open(&p).unwrap();
        let w = MappedWindow::map(&f, 65536, 2 * 65536).unwrap();
        assert_eq!(&w[..], &data[65536..]);
    }
}
