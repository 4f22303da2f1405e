//! Checks a front end shows before it acts on an item, so the user sees why an item cannot be
//! deleted or replaced before asking (the Delete Orphans dialog's per-item status). Front ends
//! talk to the engine only; the OS specifics live in `fsops`.

use std::io;
use std::path::Path;

/// Whether another program has `path` open (Windows: a share-nothing open fails with a sharing
/// violation), so deleting or replacing it may fail. Always `Ok(false)` off Windows, where an
/// open file can be deleted. `Err` when the path cannot be checked (missing, access denied):
/// the operation itself then reports what is wrong. A snapshot: the operation still reports a
/// file opened after the check.
pub fn in_use(path: &Path) -> io::Result<bool> {
    fsops::in_use(path)
}
