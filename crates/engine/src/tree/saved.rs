//! A saved job: the `[job]` table of a settings file — the two folders, the mode, the compare
//! criteria and the filters — so `fcs sync --config job.toml` and `fcs-gui --config job.toml`
//! run the same sync. The rest of the file is plain settings (`verify_policy = "all"`, …), read
//! by [`Settings::apply_file`](crate::Settings::apply_file), which leaves the table to this.
//!
//! ```toml
//! verify_policy = "all"
//!
//! [job]
//! left = "/home/me/photos"
//! right = "/mnt/backup/photos"
//! mode = "mirror"            # update | mirror | plain (copy new and changed, never delete)
//! from = "left"              # the source side
//! by = "existence,size,modified"
//! exclude = ["*.tmp", "node_modules"]
//! name = "*.jpg;*.png"       # the original app's wildcard
//! ```

use std::path::{Path, PathBuf};

use crate::error::{Code, Error, IoResultExt};

/// How a saved job syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SavedMode {
    /// Copy new and changed items; never delete (`fcs sync`).
    Plain,
    /// Never replace a newer item (`fcs sync --update`).
    Update,
    /// Also delete what the source lacks (`fcs sync --delete`).
    Mirror,
}

impl SavedMode {
    /// The mode's name in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            SavedMode::Plain => "plain",
            SavedMode::Update => "update",
            SavedMode::Mirror => "mirror",
        }
    }
}

/// The `[job]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedJob {
    /// The left folder.
    pub left: PathBuf,
    /// The right folder.
    pub right: PathBuf,
    /// How it syncs.
    pub mode: SavedMode,
    /// The right side is the source.
    pub reverse: bool,
    /// Compare criteria (`existence,size,modified`), when given.
    pub by: Option<String>,
    /// Globs left out (`--exclude`).
    pub exclude: Vec<String>,
    /// The original app's name wildcard.
    pub name: Option<String>,
}

fn bad(path: &Path, msg: impl Into<String>) -> Error {
    Error::new(Code::ConfigInvalidValue, path, msg)
}

impl SavedJob {
    /// The `[job]` table of the TOML file at `path`, if it has one.
    pub fn read(path: &Path) -> Result<Option<SavedJob>, Error> {
        let text = std::fs::read_to_string(path).or_code(
            Code::ConfigFile,
            path,
            "cannot read the settings file",
        )?;
        SavedJob::parse(&text, path)
    }

    /// The `[job]` table of `text` (`origin` names the file in errors).
    pub fn parse(text: &str, origin: &Path) -> Result<Option<SavedJob>, Error> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            Error::new(
                Code::ConfigFile,
                origin,
                format!("invalid TOML: {}", e.message()),
            )
        })?;
        let Some(job) = table.get("job") else {
            return Ok(None);
        };
        let job = job
            .as_table()
            .ok_or_else(|| bad(origin, "'job' must be a table: [job]"))?;
        let text_of = |k: &str| -> Result<Option<String>, Error> {
            match job.get(k) {
                None => Ok(None),
                Some(toml::Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(bad(origin, format!("[job] {k} must be a string"))),
            }
        };
        for k in job.keys() {
            if !["left", "right", "mode", "from", "by", "exclude", "name"].contains(&k.as_str()) {
                return Err(bad(
                    origin,
                    format!(
                        "unknown key '{k}' in [job] (known: left, right, mode, from, by, exclude, name)"
                    ),
                ));
            }
        }
        let folder = |k: &str| -> Result<PathBuf, Error> {
            text_of(k)?
                .filter(|s| !s.trim().is_empty())
                .map(PathBuf::from)
                .ok_or_else(|| bad(origin, format!("[job] needs {k} = \"FOLDER\"")))
        };
        let mode = match text_of("mode")?.as_deref() {
            None | Some("plain") => SavedMode::Plain,
            Some("update") => SavedMode::Update,
            Some("mirror") => SavedMode::Mirror,
            Some(m) => {
                return Err(bad(
                    origin,
                    format!("[job] mode = \"{m}\": use plain, update or mirror"),
                ));
            }
        };
        let reverse = match text_of("from")?.as_deref() {
            None | Some("left") => false,
            Some("right") => true,
            Some(f) => {
                return Err(bad(
                    origin,
                    format!("[job] from = \"{f}\": use left or right"),
                ));
            }
        };
        let exclude = match job.get("exclude") {
            None => Vec::new(),
            Some(toml::Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(String::from)
                        .ok_or_else(|| bad(origin, "[job] exclude must be a list of strings"))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(bad(origin, "[job] exclude must be a list of strings")),
        };
        Ok(Some(SavedJob {
            left: folder("left")?,
            right: folder("right")?,
            mode,
            reverse,
            by: text_of("by")?,
            exclude,
            name: text_of("name")?.filter(|n| !n.trim().is_empty()),
        }))
    }

    /// The job as a settings file with its `[job]` table (and `settings`, `key = "value"`
    /// pairs, above it).
    pub fn to_toml(&self, settings: &[(&str, String)]) -> String {
        let mut t = toml::Table::new();
        let s = |v: &str| toml::Value::String(v.to_string());
        t.insert("left".into(), s(&self.left.to_string_lossy()));
        t.insert("right".into(), s(&self.right.to_string_lossy()));
        t.insert("mode".into(), s(self.mode.as_str()));
        t.insert(
            "from".into(),
            s(if self.reverse { "right" } else { "left" }),
        );
        if let Some(by) = &self.by {
            t.insert("by".into(), s(by));
        }
        if !self.exclude.is_empty() {
            t.insert(
                "exclude".into(),
                toml::Value::Array(self.exclude.iter().map(|e| s(e)).collect()),
            );
        }
        if let Some(n) = &self.name {
            t.insert("name".into(), s(n));
        }
        let mut top = toml::Table::new();
        for (k, v) in settings {
            top.insert((*k).to_string(), s(v));
        }
        top.insert("job".into(), toml::Value::Table(t));
        format!(
            "# A FolderCompareSync job: `fcs sync --config THIS` or `fcs-gui --config THIS`.\n{}",
            toml::to_string(&top).unwrap_or_default()
        )
    }

    /// Writes the job to `path` (whole, through a temp file and a rename).
    pub fn write(&self, path: &Path, settings: &[(&str, String)]) -> Result<(), Error> {
        let text = self.to_toml(settings);
        let tmp = path.with_extension("toml.part");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .or_code(Code::ConfigFile, path, "cannot write the job file")
            .inspect_err(|_| {
                let _ = std::fs::remove_file(&tmp);
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_round_trips_and_bad_values_are_named() {
        let job = SavedJob {
            left: PathBuf::from("/data/photos"),
            right: PathBuf::from("/mnt/backup/photos"),
            mode: SavedMode::Mirror,
            reverse: false,
            by: Some("existence,size".into()),
            exclude: vec!["*.tmp".into(), "node_modules".into()],
            name: None,
        };
        let text = job.to_toml(&[("verify_policy", "all".into())]);
        assert_eq!(
            SavedJob::parse(&text, Path::new("j.toml")).unwrap(),
            Some(job)
        );
        // The settings above the table still read as settings.
        let mut s = crate::Settings::default();
        s.apply_toml(&text, Path::new("j.toml")).unwrap();
        assert_eq!(s.verify_policy, crate::VerifyPolicy::All);
        assert_eq!(
            SavedJob::parse("verify_policy = \"all\"", Path::new("s.toml")).unwrap(),
            None
        );
        for (bad_text, says) in [
            ("[job]\nleft = \"/a\"", "needs right"),
            (
                "[job]\nleft = \"/a\"\nright = \"/b\"\nmode = \"two-way\"",
                "plain, update or mirror",
            ),
            (
                "[job]\nleft = \"/a\"\nright = \"/b\"\nsource = \"x\"",
                "unknown key 'source'",
            ),
            (
                "[job]\nleft = \"/a\"\nright = \"/b\"\nexclude = \"*.tmp\"",
                "list of strings",
            ),
        ] {
            let e = SavedJob::parse(bad_text, Path::new("j.toml")).unwrap_err();
            assert_eq!(e.code, Code::ConfigInvalidValue);
            assert!(e.message.contains(says), "{}", e.message);
        }
    }
}
