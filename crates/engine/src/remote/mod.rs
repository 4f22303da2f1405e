//! Remote storage (DESIGN.md §10): a location that is not a local folder — `s3://bucket/prefix`
//! — reached through one [`Store`] trait, so a tree run scans, compares, plans and reports the
//! same way whatever the target is. Each protocol is a well-kept crate behind the trait (S3 and
//! S3-compatible servers: Apache Arrow's `object_store`), never a protocol of our own.
//!
//! What every store guarantees, as the local copy does:
//! * nothing partial under the final name — an object appears whole (a single PUT, or a
//!   multipart upload whose completion is the commit) or not at all; a failed or cancelled
//!   upload is aborted, and one a killed run left behind is aborted by the next run
//!   ([`Store::sweep`]);
//! * verified — the object is read back from the server and hashed, and the server checks
//!   a SHA-256 of every request body it receives (`x-amz-checksum-sha256`);
//! * times kept the way rclone keeps them (`X-Amz-Meta-Mtime`, seconds since 1970 with a
//!   fraction), plus the file's BLAKE3 (`X-Amz-Meta-Fcs-Blake3`), so rclone and fcs see the
//!   same times and a later compare can trust the stored hash.

mod pending;
mod profile;
pub(crate) mod run;
mod s3;
mod sftp;
mod ssh_config;
mod verify;

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::{Code, Error};
use crate::events::CancelToken;
use crate::settings::Settings;

pub(crate) use run::list_as_scan;
pub(crate) use verify::compare_content;
pub use verify::verify_remote;

/// A remote location, as written by the user: `s3://bucket/prefix` or
/// `sftp://[user@]host[:port]/path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// The protocol.
    pub scheme: Scheme,
    /// The bucket (`s3://`) or the server's host name or address (`sftp://`).
    pub host: String,
    /// The port (`sftp://`; none: 22, or the ssh configuration's).
    pub port: Option<u16>,
    /// The user (`sftp://`; none: the ssh configuration's, else the local user's name).
    pub user: Option<String>,
    /// The folder inside it: `/`-separated, no leading or trailing `/` (empty: the root). An
    /// `sftp://` path is absolute on the server, unless it starts with `~` (the login folder).
    pub prefix: String,
}

/// The protocols a [`Url`] can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Amazon S3 and S3-compatible servers.
    S3,
    /// SFTP (SSH File Transfer Protocol) servers: OpenSSH and the rest.
    Sftp,
}

impl Url {
    /// The location `p` names, if it is written as a URL: `None` for a local path, `Some(Err)`
    /// (`REMOTE_E_URL`) for a URL fcs cannot use.
    pub fn parse(p: &Path) -> Option<Result<Url, Error>> {
        let s = p.to_str()?;
        let (scheme, rest) = s.split_once("://")?;
        // A Windows drive path (`C://x`) is a path, not a URL.
        if scheme.len() < 2 || !scheme.chars().all(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        let bad = |why: &str| Some(Err(Error::new(Code::RemoteUrl, p, format!("'{s}': {why}"))));
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "s3" => Scheme::S3,
            "sftp" => Scheme::Sftp,
            "gs" | "az" | "azure" | "http" | "https" | "ftp" | "webdav" | "ssh" => {
                return bad(
                    "this protocol is not supported; fcs reaches s3:// and sftp:// locations",
                );
            }
            _ => {
                return bad(
                    "unknown scheme; fcs reaches s3:// and sftp:// locations and local folders",
                );
            }
        };
        let (authority, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let (mut user, mut port) = (None, None);
        let host = match scheme {
            Scheme::S3 => {
                if authority.contains(['@', ':', '?', '#']) {
                    return bad(
                        "credentials and endpoints do not go in the URL: use the AWS_* environment and the s3_endpoint setting",
                    );
                }
                authority
            }
            Scheme::Sftp => {
                let hostport = match authority.rsplit_once('@') {
                    Some((u, h)) => {
                        if u.contains(':') {
                            return bad(
                                "a password does not go in the URL: fcs logs in with the ssh agent or a key (ssh_key setting)",
                            );
                        }
                        user = Some(u.to_string()).filter(|u| !u.is_empty());
                        h
                    }
                    None => authority,
                };
                // [v6]:port, host:port, host
                let (h, pt) = match hostport.strip_prefix('[') {
                    Some(r) => match r.split_once(']') {
                        Some((h, rest)) => (h, rest.strip_prefix(':')),
                        None => return bad("an IPv6 address needs its closing ']'"),
                    },
                    None => match hostport.split_once(':') {
                        Some((h, pt)) => (h, Some(pt)),
                        None => (hostport, None),
                    },
                };
                if let Some(pt) = pt {
                    match pt.parse::<u16>() {
                        Ok(n) if n > 0 => port = Some(n),
                        _ => return bad("the port must be a number from 1 to 65535"),
                    }
                }
                h
            }
        };
        if host.is_empty() {
            return bad(match scheme {
                Scheme::S3 => "no bucket: write s3://bucket/prefix",
                Scheme::Sftp => "no host: write sftp://[user@]host[:port]/path",
            });
        }
        let prefix = prefix
            .split('/')
            .filter(|c| !c.is_empty())
            .collect::<Vec<_>>();
        if prefix.iter().any(|c| *c == "." || *c == "..") {
            return bad("'.' and '..' are not allowed in a remote path");
        }
        Some(Ok(Url {
            scheme,
            host: host.to_string(),
            port,
            user,
            prefix: prefix.join("/"),
        }))
    }

    /// The key of the item `rel` (relative to this location), `/`-separated, the location's
    /// prefix included. `REMOTE_E_URL` for a name a key cannot hold (not UTF-8).
    pub fn key(&self, rel: &Path) -> Result<String, Error> {
        let rel = self.rel_key(rel)?;
        Ok(match (self.prefix.is_empty(), rel.is_empty()) {
            (true, _) => rel,
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}/{rel}", self.prefix),
        })
    }

    /// `rel` as a store takes it: `/`-separated, relative to the location (empty: the
    /// location itself). `REMOTE_E_URL` for a name that is not valid UTF-8.
    pub fn rel_key(&self, rel: &Path) -> Result<String, Error> {
        let mut key = String::new();
        for c in rel.components() {
            let part = c.as_os_str().to_str().ok_or_else(|| {
                Error::new(
                    Code::RemoteUrl,
                    rel,
                    format!(
                        "'{}': the name is not valid UTF-8, which a remote name must be; rename it in the source",
                        rel.display()
                    ),
                )
            })?;
            if !key.is_empty() {
                key.push('/');
            }
            key.push_str(part);
        }
        Ok(key)
    }

    /// The item `rel` as a path for messages and events: `s3://bucket/prefix/rel`.
    pub fn display_path(&self, rel: &Path) -> PathBuf {
        let mut s = self.to_string();
        for c in rel.components() {
            s.push('/');
            s.push_str(&c.as_os_str().to_string_lossy());
        }
        PathBuf::from(s)
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scheme {
            Scheme::S3 => write!(f, "s3://{}", self.host)?,
            Scheme::Sftp => {
                f.write_str("sftp://")?;
                if let Some(u) = &self.user {
                    write!(f, "{u}@")?;
                }
                if self.host.contains(':') {
                    write!(f, "[{}]", self.host)?;
                } else {
                    f.write_str(&self.host)?;
                }
                if let Some(p) = self.port {
                    write!(f, ":{p}")?;
                }
            }
        }
        if !self.prefix.is_empty() {
            write!(f, "/{}", self.prefix)?;
        }
        Ok(())
    }
}

/// Whether `p` is written as a remote location (`s3://…`, `sftp://…`), valid or not.
pub fn is_remote(p: &Path) -> bool {
    Url::parse(p).is_some()
}

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// Its key relative to the location, `/`-separated.
    pub rel: String,
    /// Its length in bytes (0 for a folder).
    pub size: u64,
    /// When it was stored (the server's time), or — where the store keeps it in the listing
    /// (SFTP) — the file's modified time.
    pub stored: SystemTime,
    /// What it is.
    pub kind: ObjectKind,
}

/// What a listed object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// A file (an object).
    File,
    /// A folder of its own (stores with folders: SFTP).
    Folder,
    /// A symbolic link (SFTP): never followed, never written through.
    Link,
}

/// What a store keeps beside an object's bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// The file's modified time (rclone's `mtime` metadata).
    pub modified: Option<SystemTime>,
    /// The file's BLAKE3, hex.
    pub blake3: Option<String>,
}

/// What a store can do, for the decisions of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreCaps {
    /// Files at or above this size are uploaded in parts.
    pub multipart_threshold: u64,
    /// The size of each part.
    pub part_size: u64,
    /// Whether the store holds folders of their own (an object store has only keys).
    pub folders: bool,
    /// The resolution of the modified times it keeps (SFTP: whole seconds).
    pub time_granularity: std::time::Duration,
    /// Whether it keeps our hash beside the bytes ([`Meta::blake3`]).
    pub keeps_hash: bool,
    /// Its drive kind in `Decision:` lines: `CLOUD` (object storage), `NETWORK_UNC` (a file
    /// server).
    pub drive_kind: &'static str,
}

/// An upload in progress: bytes go in, in order, then it is committed (the object appears whole)
/// or aborted (nothing appears). Dropped without either, it is aborted.
pub trait Upload: Send {
    /// The next bytes of the file.
    fn write(&mut self, data: Vec<u8>) -> Result<(), Error>;
    /// Makes the object visible under its name, whole.
    fn commit(self: Box<Self>) -> Result<(), Error>;
    /// Discards everything written; nothing appears under the name.
    fn abort(self: Box<Self>);
}

/// One kind of remote storage. Calls block (each store runs its own I/O threads) and are made
/// from many threads at once.
pub trait Store: Send + Sync + fmt::Debug {
    /// The location this store reaches.
    fn url(&self) -> &Url;
    /// What it can do.
    fn capabilities(&self) -> StoreCaps;
    /// Every object under the location (`REMOTE_E_NOT_FOUND` when the bucket does not exist).
    fn list(&self, cancel: &CancelToken) -> Result<Vec<Object>, Error>;
    /// What is kept beside the object `rel` (`None` when there is no such object).
    fn meta(&self, rel: &str) -> Result<Option<Meta>, Error>;
    /// The bytes `range` of the object `rel`.
    fn read(&self, rel: &str, range: Range<u64>) -> Result<Vec<u8>, Error>;
    /// [`Store::read`], with what is kept beside the object where the same request says it
    /// (S3: a GET's headers carry the metadata, which saves a download a request per file);
    /// `None` where it does not (ask [`Store::meta`]).
    fn read_with_meta(
        &self,
        rel: &str,
        range: Range<u64>,
    ) -> Result<(Vec<u8>, Option<Meta>), Error> {
        Ok((self.read(rel, range)?, None))
    }
    /// Starts the upload of `size` bytes to `rel`, with `meta` kept beside them.
    fn upload(&self, rel: &str, size: u64, meta: &Meta) -> Result<Box<dyn Upload>, Error>;
    /// Deletes the object `rel` (no error when it is already gone), or — `folder` — the
    /// empty folder `rel` (stores with folders).
    fn delete(&self, rel: &str, folder: bool) -> Result<(), Error>;
    /// Creates the folder `rel` and those above it (stores with folders; a no-op otherwise).
    fn mkdir(&self, rel: &str) -> Result<(), Error>;
    /// Sets the modified time of the folder `rel` (stores with folders; a no-op otherwise).
    fn set_folder_time(&self, rel: &str, t: SystemTime) -> Result<(), Error>;
    /// Removes what an earlier run to this location left unfinished (killed mid-file): the
    /// multipart uploads it had not completed, the temps it had not renamed. How many.
    fn sweep(&self) -> Result<usize, Error>;
}

/// Opens the store for `url` with `settings` (endpoint, region, retries) and the credentials
/// of the environment.
pub fn open(url: &Url, settings: &Settings) -> Result<Box<dyn Store>, Error> {
    match url.scheme {
        Scheme::S3 => Ok(Box::new(s3::S3Store::open(url, settings)?)),
        Scheme::Sftp => Ok(Box::new(sftp::SftpStore::open(url, settings)?)),
    }
}

/// The modified time as rclone writes it in object metadata: seconds since 1970, with the
/// nanoseconds as a fraction (`1700000000.123456789`).
pub(crate) fn format_mtime(t: SystemTime) -> String {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => format!("{}.{:09}", d.as_secs(), d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            format!("-{}.{:09}", d.as_secs(), d.subsec_nanos())
        }
    }
}

/// [`format_mtime`]'s reverse (rclone also writes RFC 3339 in older versions): `None` when it
/// is neither.
pub(crate) fn parse_mtime(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        return Some(t);
    }
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: u64 = secs.parse().ok()?;
    let nanos: u32 = if frac.is_empty() {
        0
    } else {
        let digits: String = frac.chars().take(9).collect();
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        format!("{digits:0<9}").parse().ok()?
    };
    let d = std::time::Duration::new(secs, nanos);
    if neg {
        SystemTime::UNIX_EPOCH.checked_sub(d)
    } else {
        SystemTime::UNIX_EPOCH.checked_add(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn urls_parse_or_say_why_not() {
        let u = Url::parse(Path::new("s3://photos/2024/trip/"))
            .unwrap()
            .unwrap();
        assert_eq!(u.host, "photos");
        assert_eq!(u.prefix, "2024/trip");
        assert_eq!(u.to_string(), "s3://photos/2024/trip");
        assert_eq!(u.key(Path::new("a/b.jpg")).unwrap(), "2024/trip/a/b.jpg");
        let root = Url::parse(Path::new("s3://photos")).unwrap().unwrap();
        assert_eq!(root.key(Path::new("x")).unwrap(), "x");
        assert!(Url::parse(Path::new("photos/2024")).is_none());
        assert!(Url::parse(Path::new("/tmp/a://b")).is_none());
        assert!(Url::parse(Path::new("C://x")).is_none());
        for bad in [
            "s3://",
            "s3:///x",
            "gs://b/x",
            "s3://key:secret@b/x",
            "s3://b/../x",
        ] {
            let e = Url::parse(Path::new(bad)).unwrap().unwrap_err();
            assert_eq!(e.code, Code::RemoteUrl, "{bad}");
        }
    }

    #[test]
    fn sftp_urls_carry_user_port_and_home() {
        let u = Url::parse(Path::new("sftp://me@nas.local:2222/srv/backup"))
            .unwrap()
            .unwrap();
        assert_eq!(u.scheme, Scheme::Sftp);
        assert_eq!(
            (u.user.as_deref(), u.host.as_str(), u.port),
            (Some("me"), "nas.local", Some(2222))
        );
        assert_eq!(u.prefix, "srv/backup");
        let home = Url::parse(Path::new("sftp://nas/~/photos"))
            .unwrap()
            .unwrap();
        assert_eq!((home.user, home.port), (None, None));
        assert_eq!(home.prefix, "~/photos");
        for bad in ["sftp://me:pw@nas/x", "sftp://nas:port/x", "sftp:///x"] {
            let e = Url::parse(Path::new(bad)).unwrap().unwrap_err();
            assert_eq!(e.code, Code::RemoteUrl, "{bad}");
        }
    }

    #[test]
    fn mtimes_round_trip_in_rclone_form() {
        // Whole 100 ns steps: Windows keeps time at that resolution, so a finer
        // value would be rounded before it reaches the formatter.
        let t = SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_700);
        assert_eq!(format_mtime(t), "1700000000.123456700");
        assert_eq!(parse_mtime("1700000000.1234567"), Some(t));
        assert_eq!(
            parse_mtime("1700000000.5"),
            Some(SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 500_000_000))
        );
        assert_eq!(
            parse_mtime("1700000000"),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        assert_eq!(
            parse_mtime("2023-11-14T22:13:20.1234567Z"),
            Some(t),
            "rclone's older RFC 3339 form"
        );
        assert_eq!(parse_mtime("yesterday"), None);
    }
}
