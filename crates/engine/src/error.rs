//! Errors at the engine's edge: a stable code string, the path, what happened, and what to do.
//!
//! Every code is documented once in `docs/errors.md` (a test checks that each code here appears
//! there exactly once, and nothing else does). Codes are part of the product's interface: scripts
//! grep for them, so a code is never renamed or reused.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// What happened to the temp file when an error ended a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TempFate {
    /// No temp file had been created yet.
    NotCreated,
    /// The temp file was deleted; the target is as it was before.
    Deleted,
    /// The temp was already renamed over the target (the error happened after the commit).
    Committed,
    /// The temp could not be deleted (its path is in the error); the target is untouched, and
    /// the next run into that folder removes it.
    Kept,
}

macro_rules! codes {
    ($( $variant:ident => $code:literal, $fate:ident, $hint:literal; )*) => {
        /// A stable, greppable error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $(
                #[doc = concat!("`", $code, "`: ", $hint)]
                $variant,
            )*
        }

        impl Code {
            /// Every code, in documentation order.
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// The code as printed and documented, e.g. `COPY_E_PREALLOC`.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $code, )* }
            }

            /// What happens to the temp file when this error ends a copy.
            pub(crate) fn temp_fate(self) -> TempFate {
                match self { $( Code::$variant => TempFate::$fate, )* }
            }

            /// What the user can do about it.
            pub fn hint(self) -> &'static str {
                match self { $( Code::$variant => $hint, )* }
            }
        }
    };
}

codes! {
    ConfigUnknownKey => "CONFIG_E_UNKNOWN_KEY", NotCreated,
        "Check the spelling; `fcs settings` lists every key with its default and range.";
    ConfigInvalidValue => "CONFIG_E_INVALID_VALUE", NotCreated,
        "Use a value inside the allowed range shown.";
    ConfigFile => "CONFIG_E_FILE", NotCreated,
        "Fix the file's TOML syntax or path.";
    PreflightSource => "PREFLIGHT_E_SOURCE", NotCreated,
        "Check that the source exists, is a regular file and is readable.";
    PreflightTargetDir => "PREFLIGHT_E_TARGET_DIR", NotCreated,
        "Create the target directory, or make it writable, and run again.";
    PreflightSameFile => "PREFLIGHT_E_SAME_FILE", NotCreated,
        "Source and target are the same file; choose a different target.";
    PreflightUnc => "PREFLIGHT_E_UNC", NotCreated,
        "Map the share to a drive letter, or set unc_policy=staged to copy UNC paths directly.";
    PreflightTooLarge => "PREFLIGHT_E_TOO_LARGE", NotCreated,
        "Raise max_file_size, or copy this file with another tool.";
    CopyNoSpace => "COPY_E_NO_SPACE", NotCreated,
        "Free space on the target volume (size + free_space_margin is needed).";
    CopyTempCreate => "COPY_E_TEMP_CREATE", NotCreated,
        "Make the target directory writable (the temp file is created next to the target).";
    CopyNameRefused => "COPY_E_NAME_REFUSED", NotCreated,
        "Rename the file in the source: the target's filesystem (FAT, exFAT, NTFS) forbids some characters of its name.";
    CopyNameTooLong => "COPY_E_NAME_TOO_LONG", NotCreated,
        "Shorten the name or the folder path: the target's filesystem cannot hold one this long.";
    CopyUnsupported => "COPY_E_UNSUPPORTED", NotCreated,
        "The target's filesystem (often a FUSE or network filesystem) does not implement an operation the copy needs; copy to another filesystem, or mount it with full POSIX support.";
    CopyPrealloc => "COPY_E_PREALLOC", Deleted,
        "Free space on the target volume, or force --strategy staged on a filesystem that cannot pre-allocate.";
    CopyRead => "COPY_E_READ", Deleted,
        "The source could not be read; check the medium and permissions, then run again.";
    CopyWrite => "COPY_E_WRITE", Deleted,
        "Writing the target failed (disk full or I/O error); free space or check the medium, then run again.";
    CopyMmapMapWrite => "COPY_E_MMAP_MAP_WRITE", Deleted,
        "A DIRECT-LARGE window failed; check the target medium, or force --strategy staged.";
    CopySourceChanged => "COPY_E_SOURCE_CHANGED", Deleted,
        "The source changed while it was copied; run again once nothing is writing to it.";
    CopyCancelled => "COPY_E_CANCELLED", Deleted,
        "Cancelled during the copy; the target is untouched. Run again to copy.";
    FinalizeFsync => "FINALIZE_E_FSYNC", Deleted,
        "The OS could not make the temp durable; the data is not trusted and was discarded. Check the target medium and run again.";
    VerifyHashMismatch => "VERIFY_E_HASH_MISMATCH", Deleted,
        "The copy read back differs from the source; check the target medium and RAM, then run again.";
    VerifyCompareMismatch => "VERIFY_E_COMPARE_MISMATCH", Deleted,
        "The copy read back differs from the source at the offset shown; check the target medium and RAM, then run again.";
    VerifyRead => "VERIFY_E_READ", Deleted,
        "The copy could not be read back for verification; check the target medium.";
    VerifyCancelled => "VERIFY_E_CANCELLED", Deleted,
        "Cancelled during verification; the target is untouched. Run again to copy.";
    FinalizeMetadata => "FINALIZE_E_METADATA", Deleted,
        "Times or permissions could not be applied; check the target filesystem supports them.";
    FinalizeRename => "FINALIZE_E_RENAME", Deleted,
        "The verified copy could not replace the target; check that the target is not read-only or open in another program.";
    FinalizeNotKept => "FINALIZE_E_NOT_KEPT", Committed,
        "The copy is in place, but metadata you asked for explicitly (owner, extended attributes, ACLs) could not be kept on this target; copy to a filesystem that holds it, or stop asking for it.";
    FinalizeDirSync => "FINALIZE_E_DIR_SYNC", Committed,
        "The new file is in place but the directory could not be made durable; check the target medium.";
    ScanRead => "SCAN_E_READ", NotCreated,
        "A directory or file could not be read while scanning; check its permissions. The rest of the tree was scanned.";
    ScanLoop => "SCAN_E_LOOP", NotCreated,
        "With follow_symlinks, a link pointing back into its own folders is not followed; nothing to do, or copy links as links.";
    ScanSpecial => "SCAN_E_SPECIAL", NotCreated,
        "FIFOs, sockets and devices are never copied; nothing to do.";
    PlanRoots => "PLAN_E_ROOTS", NotCreated,
        "Choose two different, existing folders, neither inside the other.";
    PlanNameClash => "PLAN_E_NAME_CLASH", NotCreated,
        "Two source names differ only by case or Unicode normalisation and the target folder would merge them: rename one of them in the source.";
    PlanMassDelete => "PLAN_E_MASS_DELETE", NotCreated,
        "Check the source path; if the deletions are intended, run again with --force (or raise max_delete).";
    TreeMkdir => "TREE_E_MKDIR", NotCreated,
        "Check the target folder's permissions and free space.";
    TreeSymlinkInPath => "TREE_E_SYMLINK_IN_PATH", NotCreated,
        "A symbolic link on the target stands where a folder is needed; nothing was written through it. Remove the link, or run with --delete to replace it by a folder.";
    TreeRename => "TREE_E_RENAME", NotCreated,
        "The item could not be renamed to the source's spelling of its name; check permissions, or rename it by hand.";
    TreeSymlink => "TREE_E_SYMLINK", NotCreated,
        "The symbolic link could not be recreated; check permissions (on Windows: Developer Mode or the symlink privilege).";
    TreeDelete => "TREE_E_DELETE", NotCreated,
        "The item could not be deleted; check permissions, or whether a folder still holds files.";
    TreeTrash => "TREE_E_TRASH", NotCreated,
        "The item could not be moved to the trash and was left in place; use --delete-mode permanent to delete without the trash.";
    TreeDirTimes => "TREE_E_DIR_TIMES", NotCreated,
        "A folder's times or permissions could not be applied; check the target filesystem.";
    JournalOpen => "JOURNAL_E_OPEN", NotCreated,
        "The run journal could not be opened or created; check the data folder's permissions and free space (or pass --journal PATH on a local disk).";
    JournalWrite => "JOURNAL_E_WRITE", Deleted,
        "The run journal could not be written (disk full or read-only); the run stopped before touching more files. Free space, then `fcs resume`.";
    JournalLocked => "JOURNAL_E_LOCKED", NotCreated,
        "Another fcs run is writing to this target (its pid and start time are shown); wait for it to finish or stop it.";
    JournalNothing => "JOURNAL_E_NOTHING", NotCreated,
        "There is no unfinished run to resume (or several: pick one with --journal PATH).";
    MoveSourceKept => "MOVE_E_SOURCE_KEPT", Committed,
        "The copy is in place and verified, but the source was kept (it changed after it was copied, or could not be deleted); check it and run the move again.";
    VerifyMissing => "VERIFY_E_MISSING", NotCreated,
        "`fcs verify` found an item on only one side, or a manifest entry whose file is missing; copy it again.";
    RemoteUrl => "REMOTE_E_URL", NotCreated,
        "Write the location as `s3://bucket/prefix` or `sftp://[user@]host[:port]/path` (or a local path); check the spelling of the scheme, bucket, host and port.";
    RemoteConnect => "REMOTE_E_CONNECT", NotCreated,
        "The server could not be reached (or stopped answering after the retries); check the host, port, s3_endpoint setting and network, then run again.";
    RemoteAuth => "REMOTE_E_AUTH", NotCreated,
        "The server refused the credentials or the request; for s3:// check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and the bucket's permissions, for sftp:// the user, the ssh agent or ssh_key, and the server's authorized_keys.";
    RemoteHostKey => "REMOTE_E_HOST_KEY", NotCreated,
        "The server's host key is unknown or changed; check its fingerprint with the server's administrator, then add it to known_hosts (ssh-keyscan -p PORT HOST >> ~/.ssh/known_hosts, or connect once with ssh).";
    RemoteNotFound => "REMOTE_E_NOT_FOUND", NotCreated,
        "The bucket (s3://) or the folder above the path (sftp://) does not exist on this server; create it, or check the name and s3_endpoint.";
    RemoteUpload => "REMOTE_E_UPLOAD", Deleted,
        "The upload failed (connection dropped, server error, checksum refused); nothing was stored under the file's name. Run again.";
    RemoteDownload => "REMOTE_E_DOWNLOAD", Deleted,
        "The download failed (connection dropped, server error, the object changed or does not match the hash stored with it); the local file is as it was. Run again.";
    RemoteDelete => "REMOTE_E_DELETE", NotCreated,
        "The object could not be deleted; check the credentials' delete permission, then run again.";
    RemoteUnsupported => "REMOTE_E_UNSUPPORTED", NotCreated,
        "This operation or option does not work with remote storage yet; see the message for what does.";
    VerifyManifest => "VERIFY_E_MANIFEST", NotCreated,
        "The manifest could not be read or written, or a line is not `<hex hash>  <path>`; check the file.";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// An error with its stable code, the path it concerns, what happened, and the OS error if any.
#[derive(Debug)]
pub struct Error {
    /// The stable code.
    pub code: Code,
    /// The user's file or folder it is about.
    pub path: PathBuf,
    /// What happened.
    pub message: String,
    /// The OS error behind it, if any.
    pub source: Option<io::Error>,
    /// A temp that should have been deleted and could not be (`TempFate::Kept`).
    pub temp_kept: Option<PathBuf>,
}

impl Error {
    /// An error with `code` about `path` (empty when it is about no file), without an OS error.
    pub fn new(code: Code, path: impl Into<PathBuf>, message: impl Into<String>) -> Error {
        Error {
            code,
            path: path.into(),
            message: message.into(),
            source: None,
            temp_kept: None,
        }
    }

    /// The kind of the OS error behind this one, if there is one.
    pub(crate) fn io_kind(&self) -> Option<io::ErrorKind> {
        self.source.as_ref().map(io::Error::kind)
    }

    /// An error with `code` about `path`, caused by the OS error `source`.
    pub fn io(code: Code, path: &Path, message: impl Into<String>, source: io::Error) -> Error {
        Error {
            code,
            path: path.to_path_buf(),
            message: message.into(),
            source: Some(source),
            temp_kept: None,
        }
    }

    /// Whether the run was cancelled (as opposed to failing).
    pub fn is_cancelled(&self) -> bool {
        matches!(self.code, Code::CopyCancelled | Code::VerifyCancelled)
    }

    /// What happened to the temp file.
    pub fn temp_fate(&self) -> TempFate {
        match (&self.temp_kept, self.code.temp_fate()) {
            (Some(_), TempFate::Deleted) => TempFate::Kept,
            (_, fate) => fate,
        }
    }
}

/// Turns an `io::Error` into an [`Error`] where it happens, with its code, its path and what was
/// being done: `std::fs::create_dir(&p).or_code(Code::TreeMkdir, &p, "cannot create the folder")?`.
pub(crate) trait IoResultExt<T> {
    /// An error becomes `Error::io(code, path, what, e)`.
    fn or_code(self, code: Code, path: &Path, what: &str) -> Result<T, Error>;

    /// Like [`IoResultExt::or_code`], for a message that names offsets or counts: it is built
    /// only when there is an error, so loops that read or write in slices allocate nothing.
    fn or_code_with(
        self,
        code: Code,
        path: &Path,
        what: impl FnOnce() -> String,
    ) -> Result<T, Error>;
}

impl<T> IoResultExt<T> for io::Result<T> {
    fn or_code(self, code: Code, path: &Path, what: &str) -> Result<T, Error> {
        self.map_err(|e| Error::io(code, path, what, e))
    }

    fn or_code_with(
        self,
        code: Code,
        path: &Path,
        what: impl FnOnce() -> String,
    ) -> Result<T, Error> {
        self.map_err(|e| Error::io(code, path, what(), e))
    }
}

/// `s` with Windows' long-path prefixes taken out of the paths in it (`\\?\C:\x` → `C:\x`,
/// `\\?\UNC\srv\x` → `\\srv\x`), for what people read (messages, dialogs, the log): the
/// engine works with the long form, a person knows the short one. Elsewhere `s` as it is
/// (`\\?\` can be part of a name there). Machine output (`--json`, the journal) keeps the paths
/// as they are.
pub fn plain_paths(s: &str) -> std::borrow::Cow<'_, str> {
    if cfg!(windows) && s.contains(r"\\?\") {
        std::borrow::Cow::Owned(s.replace(r"\\?\UNC\", r"\\").replace(r"\\?\", ""))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if !self.path.as_os_str().is_empty() {
            write!(f, " — '{}'", self.path.display())?;
        }
        if let Some(e) = &self.source {
            write!(f, " ({e})")?;
        }
        let fate = match self.temp_fate() {
            TempFate::NotCreated => " Nothing was written.".to_string(),
            TempFate::Deleted => " Temp file deleted; the target is untouched.".to_string(),
            TempFate::Committed => String::new(),
            TempFate::Kept => format!(
                " The temp file '{}' could not be deleted (the next run into this folder removes it); the target is untouched.",
                self.temp_kept.as_deref().unwrap_or(Path::new("")).display()
            ),
        };
        write!(f, ".{fate} {}", self.code.hint())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn long_path_prefixes_are_taken_out_on_windows() {
        let s = r"cannot open '\\?\C:\a\b.txt' or '\\?\UNC\srv\share\c'";
        if cfg!(windows) {
            assert_eq!(
                plain_paths(s),
                r"cannot open 'C:\a\b.txt' or '\\srv\share\c'"
            );
        } else {
            assert_eq!(plain_paths(s), s, "a name may hold these characters here");
        }
    }

    #[test]
    fn codes_are_unique() {
        let set: HashSet<_> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(set.len(), Code::ALL.len());
    }

    #[test]
    fn every_code_is_documented_exactly_once_and_nothing_else_is() {
        let doc = include_str!("../../../docs/errors.md");
        let headings: Vec<&str> = doc
            .lines()
            .filter_map(|l| l.strip_prefix("### `"))
            .filter_map(|l| l.split('`').next())
            .collect();
        for c in Code::ALL {
            let n = headings.iter().filter(|h| **h == c.as_str()).count();
            assert_eq!(
                n,
                1,
                "{} documented {n} times in docs/errors.md",
                c.as_str()
            );
        }
        for h in &headings {
            assert!(
                Code::ALL.iter().any(|c| c.as_str() == *h),
                "docs/errors.md documents unknown code {h}"
            );
        }
        // Each documented code states what happens to the temp file.
        for c in Code::ALL {
            let section = doc.split(&format!("### `{}`", c.as_str())).nth(1).unwrap();
            let section = section.split("### ").next().unwrap();
            assert!(
                section.contains("Temp:"),
                "{} does not say what happens to the temp",
                c.as_str()
            );
        }
    }

    #[test]
    fn or_code_attaches_code_path_message_and_source() {
        let failed: io::Result<()> = Err(io::Error::from(io::ErrorKind::NotFound));
        let e = failed
            .or_code(
                Code::TreeMkdir,
                Path::new("/t/d"),
                "cannot create the folder",
            )
            .unwrap_err();
        assert_eq!(e.code, Code::TreeMkdir);
        assert_eq!(e.path, Path::new("/t/d"));
        assert_eq!(e.message, "cannot create the folder");
        assert_eq!(e.source.unwrap().kind(), io::ErrorKind::NotFound);

        let ok: io::Result<u8> = Ok(7);
        let v = ok.or_code_with(Code::CopyRead, Path::new("/s"), || {
            unreachable!("the message is built only for an error")
        });
        assert_eq!(v.unwrap(), 7);
    }

    #[test]
    fn display_names_code_path_and_guidance() {
        let e = Error::io(
            Code::CopyPrealloc,
            Path::new("/t/x"),
            "cannot pre-allocate 10 bytes",
            io::Error::from(io::ErrorKind::StorageFull),
        );
        let s = e.to_string();
        assert!(
            s.starts_with("COPY_E_PREALLOC: cannot pre-allocate 10 bytes — '/t/x'"),
            "{s}"
        );
        assert!(
            s.contains("Temp file deleted; the target is untouched."),
            "{s}"
        );
        assert!(s.contains("strategy staged"), "{s}");
    }
}
