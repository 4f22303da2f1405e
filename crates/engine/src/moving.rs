//! Moving one file: copy (temp, fsync, verify, atomic rename, directory fsync), then delete the
//! source — only when the copy was verified and the source is unchanged since before the copy.
//! A tree move goes through the journaled executor instead (`tree::execute_with`).

use std::path::Path;

use crate::copy::{Copier, FileReport};
use crate::error::{Code, Error, IoResultExt};
use crate::settings::VerifyPolicy;
use crate::stamp::SourceStamp;

impl Copier {
    /// Moves the file `src` to `dst`. The settings must verify every file
    /// (`verify_policy=all`); an unverified copy never costs the source. On
    /// `MOVE_E_SOURCE_KEPT` both files exist and the copy is complete.
    pub fn move_file(&self, src: &Path, dst: &Path) -> Result<FileReport, Error> {
        let before = SourceStamp::read(src).ok();
        let r = self.copy_file(src, dst)?;
        let kept = |why: String| {
            Error::new(
                Code::MoveSourceKept,
                src,
                format!("the copy is in place, but the source was kept: {why}"),
            )
        };
        if !r.verified || self.settings().verify_policy != VerifyPolicy::All {
            return Err(kept("the copy was not verified".into()));
        }
        let now = SourceStamp::read(src).map_err(|e| kept(format!("it cannot be read ({e})")))?;
        if Some(now) != before {
            return Err(kept("it changed after it was copied".into()));
        }
        std::fs::remove_file(src).map_err(|e| kept(format!("it cannot be deleted ({e})")))?;
        let dir = match src.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        fsops::sync_dir(dir).or_code(
            Code::FinalizeDirSync,
            dir,
            "fsync of the source folder failed after the delete",
        )?;
        Ok(r)
    }
}
