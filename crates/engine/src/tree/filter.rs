//! Which entries a tree operation considers: include/exclude globs on the relative path
//! (`globset`), the original app's wildcard on the file name, and an exclude-VCS-folders switch.
//!
//! Glob rules (like `.gitignore`): a pattern without `/` matches the entry's name at any depth
//! (`*.tmp`, `node_modules`); a pattern with `/` matches the whole relative path (`build/**`,
//! `docs/*.md`, where `*` does not cross `/` and `**` does). An excluded directory is pruned with
//! everything below it. Includes and the name wildcard select files; directories are always
//! walked (so included files deep down are found).

use std::path::Path;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::error::{Code, Error};

/// Version-control folders skipped by `exclude_vcs` (seed 003's `exclude_git`).
const VCS_DIRS: &[&str] = &[".git", ".hg", ".svn", ".bzr", "_darcs", "CVS", ".jj"];

/// Whether a folder at the top of a tree is one the OS or the desktop keeps on a volume: the
/// trash (`.Trash`, `.Trash-<uid>`: freedesktop's trash at the top of a mount, where a run's
/// own deletions and replaced files go when the target is a USB stick or an sshfs mount),
/// `$RECYCLE.BIN` and `System Volume Information` (a Windows drive's root). A scan skips them at
/// its root, as FreeFileSync's default filter does: copied they mean nothing on the other side,
/// and mirrored, a run would move its own trash into itself.
pub(crate) fn is_volume_folder(name: &std::ffi::OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    name == ".Trash"
        || name
            .strip_prefix(".Trash-")
            .is_some_and(|uid| !uid.is_empty() && uid.bytes().all(|b| b.is_ascii_digit()))
        || name.eq_ignore_ascii_case("$RECYCLE.BIN")
        || name.eq_ignore_ascii_case("System Volume Information")
}

/// A compiled set of name and path globs.
#[derive(Debug, Clone, Default)]
struct Globs {
    names: Option<GlobSet>,
    paths: Option<GlobSet>,
}

impl Globs {
    fn new(patterns: &[String], case_insensitive: bool) -> Result<Globs, Error> {
        let (mut names, mut paths) = (GlobSetBuilder::new(), GlobSetBuilder::new());
        let (mut n_names, mut n_paths) = (0, 0);
        for p in patterns {
            let p = p.trim().trim_start_matches("./");
            if p.is_empty() {
                continue;
            }
            let glob = GlobBuilder::new(p.trim_end_matches('/'))
                .literal_separator(true)
                .case_insensitive(case_insensitive)
                .build()
                .map_err(|e| {
                    Error::new(
                        Code::ConfigInvalidValue,
                        "",
                        format!("invalid glob '{p}': {e}"),
                    )
                })?;
            if p.trim_end_matches('/').contains('/') {
                paths.add(glob);
                n_paths += 1;
            } else {
                names.add(glob);
                n_names += 1;
            }
        }
        let build = |b: GlobSetBuilder, n: usize| -> Result<Option<GlobSet>, Error> {
            if n == 0 {
                return Ok(None);
            }
            b.build()
                .map(Some)
                .map_err(|e| Error::new(Code::ConfigInvalidValue, "", format!("invalid glob: {e}")))
        };
        Ok(Globs {
            names: build(names, n_names)?,
            paths: build(paths, n_paths)?,
        })
    }

    fn is_empty(&self) -> bool {
        self.names.is_none() && self.paths.is_none()
    }

    fn matches(&self, rel: &str, name: &str) -> bool {
        self.names.as_ref().is_some_and(|g| g.is_match(name))
            || self.paths.as_ref().is_some_and(|g| g.is_match(rel))
    }
}

/// The entry filter of one tree operation.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    include: Globs,
    exclude: Globs,
    name_wildcard: Globs,
    exclude_vcs: bool,
    follow_symlinks: bool,
}

impl Filter {
    /// `include`/`exclude`: globs as described in the module docs. `name_wildcard`: the original
    /// app's filter, matched case-insensitively against file names (e.g. `*.jpg`).
    pub fn new(
        include: &[String],
        exclude: &[String],
        name_wildcard: Option<&str>,
        exclude_vcs: bool,
    ) -> Result<Filter, Error> {
        let wildcard: Vec<String> = name_wildcard
            .map(|w| {
                w.split([';', ','])
                    .map(|s| s.trim().trim_start_matches("./").replace('/', ""))
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Filter {
            include: Globs::new(include, false)?,
            exclude: Globs::new(exclude, false)?,
            name_wildcard: Globs::new(&wildcard, true)?,
            exclude_vcs,
            follow_symlinks: false,
        })
    }

    /// Follow symbolic links while walking (`follow_symlinks` setting): a link to a file is
    /// taken as that file, a link to a folder as that folder, recursively; a link that points
    /// back into its own ancestry is reported (`SCAN_E_LOOP`) and not followed. Off by default:
    /// links are entries and are copied as links.
    pub fn with_follow_symlinks(mut self, follow: bool) -> Filter {
        self.follow_symlinks = follow;
        self
    }

    pub(crate) fn follows_symlinks(&self) -> bool {
        self.follow_symlinks
    }

    /// Whether an entry at relative path `rel` takes part.
    pub(crate) fn admits(&self, rel: &Path, is_dir: bool) -> bool {
        // No filter at all (the common case): nothing to build or match for each entry. The
        // name and path strings below were 18% of a no-change re-sync's user-space instructions.
        if !self.exclude_vcs
            && self.exclude.is_empty()
            && self.include.is_empty()
            && self.name_wildcard.is_empty()
        {
            return true;
        }
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        if is_dir && self.exclude_vcs && VCS_DIRS.contains(&name.as_ref()) {
            return false;
        }
        let rel_s = rel.to_string_lossy().replace('\\', "/");
        if self.exclude.matches(&rel_s, &name) {
            return false;
        }
        if is_dir {
            return true;
        }
        (self.include.is_empty() || self.include.matches(&rel_s, &name))
            && (self.name_wildcard.is_empty() || self.name_wildcard.matches(&rel_s, &name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(inc: &[&str], exc: &[&str], wild: Option<&str>, vcs: bool) -> Filter {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Filter::new(&v(inc), &v(exc), wild, vcs).unwrap()
    }

    #[test]
    fn name_globs_match_at_any_depth_and_path_globs_from_the_root() {
        let x = f(&[], &["*.tmp", "build/**", "docs/*.md"], None, false);
        assert!(!x.admits(Path::new("a/b/c.tmp"), false));
        assert!(x.admits(Path::new("a/b/c.txt"), false));
        assert!(!x.admits(Path::new("build/x/y.o"), false));
        assert!(!x.admits(Path::new("docs/a.md"), false));
        assert!(
            x.admits(Path::new("docs/sub/a.md"), false),
            "* does not cross /"
        );
        assert!(
            x.admits(Path::new("src/build/x"), false),
            "path globs anchor at the root"
        );
    }

    #[test]
    fn excluded_dirs_are_pruned_and_includes_select_files_only() {
        let x = f(&["*.rs"], &["target"], None, true);
        assert!(!x.admits(Path::new("target"), true));
        assert!(!x.admits(Path::new("a/.git"), true));
        assert!(x.admits(Path::new("src"), true));
        assert!(x.admits(Path::new("src/main.rs"), false));
        assert!(!x.admits(Path::new("README.md"), false));
    }

    #[test]
    fn volume_folders_are_the_trash_and_the_windows_system_folders() {
        use std::ffi::OsStr;
        for yes in [
            ".Trash",
            ".Trash-0",
            ".Trash-1000",
            "$RECYCLE.BIN",
            "$Recycle.Bin",
        ] {
            assert!(is_volume_folder(OsStr::new(yes)), "{yes}");
        }
        assert!(is_volume_folder(OsStr::new("System Volume Information")));
        for no in [
            ".Trash-",
            ".Trash-x",
            ".Trashes2",
            "Trash",
            "RECYCLE.BIN",
            "photos",
        ] {
            assert!(!is_volume_folder(OsStr::new(no)), "{no}");
        }
    }

    #[test]
    fn the_name_wildcard_is_case_insensitive() {
        let x = f(&[], &[], Some("*.JPG;*.png"), false);
        assert!(x.admits(Path::new("a/photo.jpg"), false));
        assert!(x.admits(Path::new("b.PNG"), false));
        assert!(!x.admits(Path::new("c.txt"), false));
        assert!(x.admits(Path::new("dir"), true));
    }

    #[test]
    fn invalid_globs_are_config_errors() {
        let e = Filter::new(&["a[".into()], &[], None, false).unwrap_err();
        assert_eq!(e.code, Code::ConfigInvalidValue);
    }
}
