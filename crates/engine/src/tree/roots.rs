//! Refusals before any write: the same folder twice, or one root inside the other — decided by
//! identity (device and inode, volume and file id), not by comparing paths, so a second path to
//! one folder (a bind mount, a symbolic link, a junction, a hard-linked folder) is caught too
//! (DESIGN.md §9).

use std::path::{Component, Path, PathBuf};

use fsops::FileIdentity;

use crate::error::{Code, Error, IoResultExt};

/// Checks two roots before anything is written (`PLAN_E_ROOTS`): both exist as folders (`right`
/// may not exist yet when `create_right` — a tree copy creates its target: its nearest existing
/// ancestor is what is checked), they are not the same folder, and neither is inside the other
/// — each root's identity against every folder on the other's way to the filesystem root.
/// Returns the canonical roots.
pub fn check_roots(
    left: &Path,
    right: &Path,
    create_right: bool,
) -> Result<(PathBuf, PathBuf), Error> {
    let canon_dir = |p: &Path| -> Result<PathBuf, Error> {
        let c = std::fs::canonicalize(p).or_code(
            Code::PlanRoots,
            p,
            "the folder does not exist or cannot be reached",
        )?;
        if !c.is_dir() {
            return Err(Error::new(Code::PlanRoots, p, "not a folder"));
        }
        Ok(c)
    };
    let l = canon_dir(left)?;
    let (r, r_exists) = if create_right && !right.exists() {
        (resolve_target(right)?, false)
    } else {
        (canon_dir(right)?, true)
    };
    let l_id = identity(&l)?;
    // Every existing folder from the target up to the filesystem root, by identity.
    let r_chain = chain(&r);
    if r_exists && r_chain.first().map(|(id, _)| *id) == Some(l_id) {
        return Err(Error::new(
            Code::PlanRoots,
            right,
            "both roots are the same folder",
        ));
    }
    if let Some((_, p)) = r_chain.iter().find(|(id, _)| *id == l_id) {
        return Err(Error::new(
            Code::PlanRoots,
            right,
            format!(
                "the target is inside the source '{}' (reached as '{}')",
                l.display(),
                p.display()
            ),
        ));
    }
    if r_exists {
        let r_id = identity(&r)?;
        if let Some((_, p)) = chain(&l).iter().find(|(id, _)| *id == r_id) {
            return Err(Error::new(
                Code::PlanRoots,
                left,
                format!(
                    "the source is inside the target '{}' (reached as '{}')",
                    r.display(),
                    p.display()
                ),
            ));
        }
    }
    Ok((l, r))
}

/// A target that may not exist yet, canonical: its nearest existing ancestor resolved (symbolic
/// links too) with the missing tail put back on; an existing target must be a folder.
pub(crate) fn resolve_target(right: &Path) -> Result<PathBuf, Error> {
    if right.exists() {
        let c = std::fs::canonicalize(right).or_code(
            Code::PlanRoots,
            right,
            "the folder cannot be reached",
        )?;
        if !c.is_dir() {
            return Err(Error::new(Code::PlanRoots, right, "not a folder"));
        }
        return Ok(c);
    }
    // Win32 resolves `..` by the path's text (GetFullPathNameW), whether the folder before it
    // exists or not (`mkdir missing\..\x` makes `x`): so is the target here, first.
    #[cfg(windows)]
    let absolute =
        std::path::absolute(right).or_code(Code::PlanRoots, right, "cannot resolve the target")?;
    #[cfg(windows)]
    let right = absolute.as_path();
    let anc = right
        .ancestors()
        .skip(1)
        .find(|a| !a.as_os_str().is_empty() && a.exists())
        .unwrap_or(Path::new("."));
    let base =
        std::fs::canonicalize(anc).or_code(Code::PlanRoots, right, "cannot resolve the target")?;
    if !base.is_dir() {
        return Err(Error::new(
            Code::PlanRoots,
            right,
            format!(
                "'{}' is a file, not a folder: the target cannot be created under it",
                anc.display()
            ),
        ));
    }
    let tail = right.strip_prefix(anc).unwrap_or(right);
    // The part still to be created must be plain names. A `..` after a folder that does not
    // exist names nothing by the kernel's rules (`mkdir -p` and `cp` fail with ENOENT there);
    // resolving it by its text would create a folder the user's path does not name.
    let mut missing = anc.to_path_buf();
    for c in tail.components() {
        match c {
            Component::Normal(name) => missing.push(name),
            Component::CurDir => {}
            c => {
                return Err(Error::new(
                    Code::PlanRoots,
                    right,
                    format!(
                        "'{}' does not exist, so the '{}' after it names nothing: create the \
                         folder first or write the target without '{}'",
                        missing.display(),
                        c.as_os_str().to_string_lossy(),
                        c.as_os_str().to_string_lossy(),
                    ),
                ));
            }
        }
    }
    Ok(base.join(tail))
}

fn identity(p: &Path) -> Result<FileIdentity, Error> {
    fsops::path_identity(p).or_code(Code::PlanRoots, p, "cannot identify the folder")
}

/// The identities of `p` (or, if it does not exist, its nearest existing ancestor) and of every
/// folder above it.
fn chain(p: &Path) -> Vec<(FileIdentity, PathBuf)> {
    p.ancestors()
        .filter_map(|a| fsops::path_identity(a).ok().map(|id| (id, a.to_path_buf())))
        .collect()
}
