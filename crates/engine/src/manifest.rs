//! Hash manifests in the format of `b3sum` / `sha256sum` (`<hex>  <path>`, paths relative to the
//! tree's root with `/` separators), so those tools can check a tree we copied
//! (`cd TARGET && b3sum -c MANIFEST`) and `fcs verify --manifest` can audit it later.
//!
//! Like those tools, a path holding a backslash or a newline is escaped (`\\`, `\n`) and its
//! line starts with a backslash.

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Code, Error, IoResultExt};
use crate::settings::HashAlgo;

/// A manifest being written during a run. Lines are added as files are committed.
#[derive(Debug)]
pub struct Manifest {
    out: Mutex<BufWriter<std::fs::File>>,
    path: PathBuf,
    algo: HashAlgo,
}

impl Manifest {
    /// Creates (or truncates) the manifest file at `path`, whose lines will carry `algo` digests.
    pub fn create(path: &Path, algo: HashAlgo) -> Result<Manifest, Error> {
        let f = std::fs::File::create(path).or_code(
            Code::VerifyManifest,
            path,
            "cannot create the manifest",
        )?;
        Ok(Manifest {
            out: Mutex::new(BufWriter::new(f)),
            path: path.to_path_buf(),
            algo,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn algo(&self) -> HashAlgo {
        self.algo
    }

    /// Adds a file. A name that is not valid Unicode cannot be written in this text format
    /// (b3sum would print it mangled and then not find it): that is an error, not a silent gap.
    pub fn add(&self, rel: &Path, hex: &str) -> std::io::Result<()> {
        if rel.to_str().is_none() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the name is not valid Unicode, so a b3sum/sha256sum manifest cannot hold it",
            ));
        }
        let line = format_line(hex, rel);
        self.out
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .write_all(line.as_bytes())
    }

    /// Flushes and fsyncs the manifest.
    pub fn finish(&self) -> Result<(), Error> {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        out.flush().and_then(|()| out.get_ref().sync_all()).or_code(
            Code::VerifyManifest,
            &self.path,
            "cannot write the manifest",
        )
    }
}

/// The manifest's algorithm from its name (`*.sha256`, `*.sha256sum` → SHA-256; `*.b3`,
/// `*.blake3` → BLAKE3), else `default`. Both digests are 64 hex digits, so the content cannot
/// tell them apart.
pub fn algo_for(path: &Path, default: HashAlgo) -> HashAlgo {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.ends_with(".sha256") || name.ends_with(".sha256sum") || name.ends_with(".sha256sums") {
        HashAlgo::Sha256
    } else if name.ends_with(".b3") || name.ends_with(".blake3") || name.ends_with(".b3sum") {
        HashAlgo::Blake3
    } else {
        default
    }
}

/// One line: `<hex>  <path>\n`, escaped like b3sum/sha256sum do.
pub(crate) fn format_line(hex: &str, rel: &Path) -> String {
    let p = rel.to_string_lossy();
    let p = if cfg!(windows) {
        p.replace('\\', "/")
    } else {
        p.into_owned()
    };
    if p.contains('\\') || p.contains('\n') {
        let esc = p.replace('\\', "\\\\").replace('\n', "\\n");
        format!("\\{hex}  {esc}\n")
    } else {
        format!("{hex}  {p}\n")
    }
}

/// Reads a manifest: (hex digest, relative path) per line.
pub fn read(path: &Path) -> Result<Vec<(String, PathBuf)>, Error> {
    let f = std::fs::File::open(path).or_code(
        Code::VerifyManifest,
        path,
        "cannot open the manifest",
    )?;
    let mut out = Vec::new();
    for (n, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.or_code(Code::VerifyManifest, path, "cannot read the manifest")?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = || {
            Error::new(
                Code::VerifyManifest,
                path,
                format!("line {} is not `<hex hash>  <path>`", n + 1),
            )
        };
        let (escaped, body) = match line.strip_prefix('\\') {
            Some(rest) => (true, rest),
            None => (false, line.as_str()),
        };
        let (hex, p) = body.split_once("  ").ok_or_else(bad)?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let p = if escaped {
            let mut s = String::with_capacity(p.len());
            let mut it = p.chars();
            while let Some(c) = it.next() {
                if c == '\\' {
                    match it.next() {
                        Some('n') => s.push('\n'),
                        Some('\\') => s.push('\\'),
                        _ => return Err(bad()),
                    }
                } else {
                    s.push(c);
                }
            }
            s
        } else {
            p.to_string()
        };
        out.push((hex.to_ascii_lowercase(), PathBuf::from(p)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_with_escapes() {
        let d = tempfile::tempdir().unwrap();
        let m = d.path().join("m.b3");
        let hex = "ab".repeat(32);
        let names = ["plain.txt", "dir/sub file", "new\nline", "back\\slash"];
        let text: String = names
            .iter()
            .filter(|n| cfg!(unix) || !n.contains('\\'))
            .map(|n| format_line(&hex, Path::new(n)))
            .collect();
        assert!(
            text.contains("\\abab"),
            "escaped lines start with a backslash"
        );
        std::fs::write(&m, text).unwrap();
        let back = read(&m).unwrap();
        assert_eq!(back[0].1, Path::new("plain.txt"));
        assert_eq!(back[2].1, Path::new("new\nline"));
        assert!(back.iter().all(|(h, _)| *h == hex));
        std::fs::write(&m, "nothex  x\n").unwrap();
        assert_eq!(read(&m).unwrap_err().code, Code::VerifyManifest);
        assert_eq!(
            algo_for(Path::new("x.sha256"), HashAlgo::Blake3),
            HashAlgo::Sha256
        );
    }
}
