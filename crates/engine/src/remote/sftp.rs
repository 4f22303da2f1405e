//! `sftp://[user@]host[:port]/path`: SFTP servers (OpenSSH and the rest) through russh (pure
//! Rust SSH) and russh-sftp. One SSH connection per run carrying `remote_streams` SFTP sessions
//! (each its own `sftp-server` on the server, so a single-threaded server process is not the
//! bottleneck), shared round-robin by the workers; requests are pipelined, many in flight, as
//! OpenSSH's own sftp client does.
//!
//! * The server is who it says: its host key must be in known_hosts (an unknown or changed key
//!   is refused, `REMOTE_E_HOST_KEY`).
//! * Login with the ssh agent's keys, then `ssh_key` or the ssh configuration's
//!   `IdentityFile`s, then `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa` (unencrypted).
//! * Never partial: a file is written to a temp beside its name (`.name.<run>.fcs.tmp`, which
//!   scans skip), made durable (`fsync@openssh.com`) and given its time, then renamed over the
//!   name with `posix-rename@openssh.com` (atomic). A server without that extension gets a
//!   plain rename, after removing the old file — the one moment without either version, which
//!   the log names.
//! * Folders are folders (created, timed, deleted); a symbolic link on the server is never
//!   followed or written through.

use std::collections::{HashSet, VecDeque};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use russh::client;
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh_sftp::client::RawSftpSession;
use russh_sftp::client::error::Error as SftpError;
use russh_sftp::protocol::{FileAttributes, OpenFlags, StatusCode};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

use super::ssh_config;
use super::{Meta, Object, ObjectKind, Store, StoreCaps, Upload, Url};
use crate::error::{Code, Error};
use crate::events::CancelToken;
use crate::settings::Settings;

/// Bytes per read or write request (OpenSSH's sftp client uses 32 KiB; its server takes up to
/// 256 KiB, and says so in `limits@openssh.com`).
const REQUEST: usize = 64 << 10;
/// Requests in flight per file.
const IN_FLIGHT: usize = 64;

/// What the host-key check found, for the error message.
#[derive(Debug, Clone)]
enum HostKey {
    Unknown { fingerprint: String },
    Changed { line: usize, fingerprint: String },
}

struct Client {
    host: String,
    port: u16,
    known_hosts: PathBuf,
    problem: Arc<Mutex<Option<HostKey>>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        // Host certificates are not trusted on a CA's word here: only known_hosts keys.
        let PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            *self.problem.lock().unwrap_or_else(|e| e.into_inner()) = Some(HostKey::Unknown {
                fingerprint: "a host certificate".into(),
            });
            return Ok(false);
        };
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        let found =
            russh::keys::check_known_hosts_path(&self.host, self.port, key, &self.known_hosts);
        let problem = match found {
            Ok(true) => return Ok(true),
            Ok(false) => HostKey::Unknown { fingerprint },
            Err(russh::keys::Error::KeyChanged { line }) => HostKey::Changed { line, fingerprint },
            // No file, or one that cannot be read: the key is not known.
            Err(_) => HostKey::Unknown { fingerprint },
        };
        *self.problem.lock().unwrap_or_else(|e| e.into_inner()) = Some(problem);
        Ok(false)
    }
}

pub(crate) struct SftpStore {
    url: Url,
    rt: Runtime,
    /// SFTP sessions over the one connection: each is its own `sftp-server` process on the
    /// server (single-threaded in OpenSSH), so several let its work go on in parallel.
    sessions: Vec<Arc<RawSftpSession>>,
    next: std::sync::atomic::AtomicUsize,
    /// The connection: kept open for the store's life.
    _ssh: client::Handle<Client>,
    /// The location's path on the server (absolute, or relative to the login folder).
    root: String,
    posix_rename: bool,
    fsync: bool,
    write_len: usize,
    read_len: usize,
    /// Folders known to exist as folders (not links) on the server.
    folders: Mutex<HashSet<String>>,
    /// Our temps the listing met (an interrupted run's): removed by `sweep`.
    temps: Mutex<Vec<String>>,
    /// This run's temp tag.
    tag: String,
}

impl std::fmt::Debug for SftpStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SftpStore")
            .field("url", &self.url)
            .field("root", &self.root)
            .field("posix_rename", &self.posix_rename)
            .field("fsync", &self.fsync)
            .finish_non_exhaustive()
    }
}

impl SftpStore {
    pub(crate) fn open(url: &Url, settings: &Settings) -> Result<SftpStore, Error> {
        let shown = PathBuf::from(url.to_string());
        let cfg = ssh_config::for_host(&url.host);
        let host = cfg.host_name.clone().unwrap_or_else(|| url.host.clone());
        let port = url.port.or(cfg.port).unwrap_or(22);
        let user = url
            .user
            .clone()
            .or_else(|| cfg.user.clone())
            .or_else(|| std::env::var("USER").ok())
            .or_else(|| std::env::var("USERNAME").ok())
            .unwrap_or_else(|| "root".into());
        let home = dirs::home_dir();
        let home_ssh = home.as_ref().map(|h| h.join(".ssh"));
        let known_hosts = match settings.ssh_known_hosts.as_str() {
            "" => cfg
                .known_hosts
                .clone()
                .or_else(|| home_ssh.as_ref().map(|d| d.join("known_hosts")))
                .unwrap_or_else(|| PathBuf::from("known_hosts")),
            k => ssh_config::expand_home(k, home.as_deref()),
        };
        let keys: Vec<PathBuf> = match settings.ssh_key.as_str() {
            "" => cfg
                .identity_files
                .iter()
                .cloned()
                .chain(
                    ["id_ed25519", "id_ecdsa", "id_rsa"]
                        .iter()
                        .filter_map(|n| home_ssh.as_ref().map(|d| d.join(n))),
                )
                .filter(|p| p.is_file())
                .collect(),
            k => vec![ssh_config::expand_home(k, home.as_deref())],
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fcs-sftp")
            .enable_all()
            .build()
            .map_err(|e| {
                Error::io(
                    Code::RemoteConnect,
                    &shown,
                    "cannot start the I/O threads",
                    e,
                )
            })?;
        let problem = Arc::new(Mutex::new(None));
        let handler = Client {
            host: host.clone(),
            port,
            known_hosts: known_hosts.clone(),
            problem: problem.clone(),
        };
        let config = Arc::new(client::Config {
            inactivity_timeout: Some(Duration::from_secs(300)),
            keepalive_interval: Some(Duration::from_secs(30)),
            ..client::Config::default()
        });
        let who = format!("{user}@{host}:{port}");
        let sessions_wanted = settings.remote_streams.clamp(1, 16) as usize;
        let (ssh, sessions, version) = rt.block_on(async {
            let connect = tokio::time::timeout(
                Duration::from_secs(20),
                client::connect(config, (host.as_str(), port), handler),
            );
            let mut ssh = match connect.await {
                Ok(Ok(h)) => h,
                Ok(Err(e)) => {
                    if let Some(p) = problem.lock().unwrap_or_else(|e| e.into_inner()).take() {
                        return Err(host_key_error(&shown, &host, port, &known_hosts, p));
                    }
                    return Err(Error::new(
                        Code::RemoteConnect,
                        &shown,
                        format!("cannot connect to {who}: {e}"),
                    ));
                }
                Err(_) => {
                    return Err(Error::new(
                        Code::RemoteConnect,
                        &shown,
                        format!("cannot connect to {who}: no answer in 20 s"),
                    ));
                }
            };
            authenticate(&mut ssh, &user, &keys, settings.ssh_key.is_empty())
                .await
                .map_err(|why| {
                    Error::new(
                        Code::RemoteAuth,
                        &shown,
                        format!("{who} accepted none of the keys: {why}"),
                    )
                })?;
            let channel_err = |e: russh::Error| {
                Error::new(
                    Code::RemoteConnect,
                    &shown,
                    format!("{who}: cannot start the SFTP subsystem: {e}"),
                )
            };
            let mut sessions = Vec::new();
            let mut version = None;
            for n in 0..sessions_wanted {
                let channel = match ssh.channel_open_session().await {
                    Ok(c) => c,
                    // The server's MaxSessions: fewer sessions, as many as it allows.
                    Err(_) if n > 0 => break,
                    Err(e) => return Err(channel_err(e)),
                };
                if let Err(e) = channel.request_subsystem(true, "sftp").await {
                    if n > 0 {
                        break;
                    }
                    return Err(channel_err(e));
                }
                let sftp = RawSftpSession::new(channel.into_stream());
                sftp.set_timeout(120);
                match sftp.init().await {
                    Ok(v) => version = version.or(Some(v)),
                    Err(_) if n > 0 => break,
                    Err(e) => {
                        return Err(Error::new(
                            Code::RemoteConnect,
                            &shown,
                            format!("{who}: the SFTP server did not answer: {e}"),
                        ));
                    }
                }
                sessions.push(Arc::new(sftp));
            }
            let version = version.unwrap_or_default();
            Ok((ssh, sessions, version))
        })?;
        let has = |ext: &str| version.extensions.contains_key(ext);
        let (mut write_len, mut read_len) = (REQUEST, REQUEST);
        if has(russh_sftp::extensions::LIMITS)
            && let Ok(l) = rt.block_on(sessions[0].limits())
        {
            // A server's 0 means "no limit of its own".
            let cap = |n: u64| {
                if n == 0 {
                    REQUEST
                } else {
                    (n as usize).min(REQUEST)
                }
            };
            write_len = cap(l.max_write_len);
            read_len = cap(l.max_read_len);
        }
        let root = match url.prefix.strip_prefix('~') {
            Some(rest) => {
                let rest = rest.trim_start_matches('/');
                if rest.is_empty() {
                    ".".to_string()
                } else {
                    rest.to_string()
                }
            }
            None => format!("/{}", url.prefix),
        };
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        Ok(SftpStore {
            url: url.clone(),
            posix_rename: has("posix-rename@openssh.com"),
            fsync: has(russh_sftp::extensions::FSYNC),
            write_len,
            read_len,
            sessions,
            next: std::sync::atomic::AtomicUsize::new(0),
            _ssh: ssh,
            rt,
            root,
            folders: Mutex::new(HashSet::new()),
            temps: Mutex::new(Vec::new()),
            tag: crate::temp::tag_for(std::process::id(), now.subsec_nanos()),
        })
    }

    /// The next session, in turn.
    fn session(&self) -> Arc<RawSftpSession> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.sessions[n % self.sessions.len()].clone()
    }

    /// The server path of `rel`.
    fn path(&self, rel: &str) -> String {
        match (self.root.as_str(), rel) {
            (r, "") => r.to_string(),
            ("/", r) => format!("/{r}"),
            (r, rel) => format!("{r}/{rel}"),
        }
    }

    fn shown(&self, rel: &str) -> PathBuf {
        self.url.display_path(Path::new(rel))
    }

    fn err(&self, rel: &str, what: &str, code: Code, e: SftpError) -> Error {
        to_error(&self.shown(rel), what, code, &e)
    }

    /// Makes sure the folder `dir` (a server path) and those above it below the root exist as
    /// folders — creating what is missing, refusing a link or file in the way (nothing is ever
    /// written through a link on the server).
    async fn ensure_folder(&self, rel_dir: &str) -> Result<(), Error> {
        let mut at = String::new();
        let parts: Vec<&str> = std::iter::once("")
            .chain(rel_dir.split('/').filter(|c| !c.is_empty()))
            .collect();
        for (n, part) in parts.iter().enumerate() {
            if n > 0 {
                if !at.is_empty() {
                    at.push('/');
                }
                at.push_str(part);
            }
            if self
                .folders
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&at)
            {
                continue;
            }
            let path = self.path(&at);
            match self.session().lstat(path.clone()).await {
                Ok(a) if a.attrs.is_dir() => {}
                Ok(_) => {
                    return Err(Error::new(
                        Code::TreeSymlinkInPath,
                        self.shown(&at),
                        format!(
                            "'{}' on the server is not a folder (a link or a file stands where a folder is needed); nothing was written through it",
                            self.shown(&at).display()
                        ),
                    ));
                }
                Err(SftpError::Status(s)) if s.status_code == StatusCode::NoSuchFile => {
                    if let Err(e) = self
                        .session()
                        .mkdir(path.clone(), FileAttributes::empty())
                        .await
                    {
                        // Another worker may have made it meanwhile.
                        let made =
                            matches!(self.session().lstat(path).await, Ok(a) if a.attrs.is_dir());
                        if !made {
                            let code = if n == 0 {
                                Code::RemoteNotFound
                            } else {
                                Code::TreeMkdir
                            };
                            return Err(self.err(&at, "cannot create the folder", code, e));
                        }
                    }
                }
                Err(e) => return Err(self.err(&at, "cannot read", Code::RemoteConnect, e)),
            }
            self.folders
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(at.clone());
        }
        Ok(())
    }

    async fn list_dir(&self, rel: &str) -> Result<Vec<(String, FileAttributes)>, SftpError> {
        let sftp = self.session();
        let handle = sftp.opendir(self.path(rel)).await?.handle;
        let mut out = Vec::new();
        let r = loop {
            match sftp.readdir(handle.as_str()).await {
                Ok(name) => {
                    for f in name.files {
                        if f.filename != "." && f.filename != ".." {
                            out.push((f.filename, f.attrs));
                        }
                    }
                }
                Err(SftpError::Status(s)) if s.status_code == StatusCode::Eof => break Ok(out),
                Err(e) => break Err(e),
            }
        };
        let _ = sftp.close(handle).await;
        r
    }
}

/// Tries the agent's keys (when `agent`), then each key file, until one is accepted.
async fn authenticate(
    ssh: &mut client::Handle<Client>,
    user: &str,
    keys: &[PathBuf],
    agent: bool,
) -> Result<(), String> {
    let mut tried = Vec::new();
    let rsa_hash = ssh.best_supported_rsa_hash().await.ok().flatten().flatten();
    #[cfg(unix)]
    if agent && let Ok(mut a) = russh::keys::agent::client::AgentClient::connect_env().await {
        let ids = a.request_identities().await.unwrap_or_default();
        tried.push(format!("{} key(s) of the ssh agent", ids.len()));
        for id in ids {
            let russh::keys::agent::AgentIdentity::PublicKey { key, .. } = id else {
                continue;
            };
            if let Ok(r) = ssh
                .authenticate_publickey_with(user, key, rsa_hash, &mut a)
                .await
                && r.success()
            {
                return Ok(());
            }
        }
    }
    #[cfg(not(unix))]
    let _ = agent;
    for path in keys {
        let key = match russh::keys::load_secret_key(path, None) {
            Ok(k) => k,
            Err(e) => {
                tried.push(format!("{} (cannot load: {e})", path.display()));
                continue;
            }
        };
        tried.push(path.display().to_string());
        let key = PrivateKeyWithHashAlg::new(Arc::new(key), rsa_hash);
        match ssh.authenticate_publickey(user, key).await {
            Ok(r) if r.success() => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(format!("the server closed the login: {e}")),
        }
    }
    if tried.is_empty() {
        return Err(
            "no ssh agent and no key file (~/.ssh/id_ed25519, id_ecdsa, id_rsa; or set ssh_key)"
                .into(),
        );
    }
    Err(format!("tried {}", tried.join(", ")))
}

fn host_key_error(shown: &Path, host: &str, port: u16, file: &Path, p: HostKey) -> Error {
    let name = if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    };
    let message = match p {
        HostKey::Unknown { fingerprint } => format!(
            "the host key of {name} ({fingerprint}) is not in '{}': fcs does not connect to a server it cannot recognise",
            file.display()
        ),
        HostKey::Changed { line, fingerprint } => format!(
            "the host key of {name} ({fingerprint}) DIFFERS from the one recorded at line {line} of '{}': someone may be impersonating the server, or its key was replaced",
            file.display()
        ),
    };
    Error::new(Code::RemoteHostKey, shown, message)
}

/// Whether the error says the connection is gone (as opposed to the server refusing this one
/// request).
fn connection_lost(e: &SftpError) -> bool {
    matches!(
        e,
        SftpError::IO(_) | SftpError::Timeout | SftpError::UnexpectedBehavior(_)
    )
}

fn to_error(shown: &Path, what: &str, fallback: Code, e: &SftpError) -> Error {
    let lost = connection_lost(e);
    let code = match e {
        _ if lost && !matches!(fallback, Code::RemoteUpload | Code::VerifyRead) => {
            Code::RemoteConnect
        }
        SftpError::Status(s) if s.status_code == StatusCode::PermissionDenied => {
            if fallback == Code::RemoteConnect {
                Code::RemoteAuth
            } else {
                fallback
            }
        }
        SftpError::Status(s)
            if s.status_code == StatusCode::NoSuchFile && fallback == Code::RemoteConnect =>
        {
            Code::RemoteNotFound
        }
        _ => fallback,
    };
    let why = if lost {
        format!("the connection to the server was lost ({e})")
    } else {
        e.to_string()
    };
    Error::new(code, shown, format!("{what} '{}': {why}", shown.display()))
}

fn mtime_attrs(t: SystemTime) -> FileAttributes {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs().min(u32::MAX as u64) as u32)
        .unwrap_or(0);
    FileAttributes {
        atime: Some(secs),
        mtime: Some(secs),
        ..FileAttributes::empty()
    }
}

fn attrs_time(a: &FileAttributes) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(a.mtime.unwrap_or(0) as u64)
}

impl Store for SftpStore {
    fn url(&self) -> &Url {
        &self.url
    }

    fn capabilities(&self) -> StoreCaps {
        StoreCaps {
            // Every file streamed: written in pieces to its temp, many requests in flight.
            multipart_threshold: 0,
            part_size: 8 << 20,
            folders: true,
            time_granularity: Duration::from_secs(1),
            keeps_hash: false,
            drive_kind: "NETWORK_UNC",
        }
    }

    fn list(&self, cancel: &CancelToken) -> Result<Vec<Object>, Error> {
        self.rt.block_on(async {
            let mut out = Vec::new();
            match self.session().lstat(self.path("")).await {
                Ok(a) if a.attrs.is_dir() => {}
                Ok(_) => {
                    return Err(Error::new(
                        Code::TreeSymlinkInPath,
                        self.shown(""),
                        format!("'{}' on the server is not a folder", self.url),
                    ));
                }
                // Not there yet: created by the run.
                Err(SftpError::Status(s)) if s.status_code == StatusCode::NoSuchFile => {
                    return Ok(out);
                }
                Err(e) => return Err(self.err("", "cannot read", Code::RemoteConnect, e)),
            }
            let mut queue = VecDeque::from([String::new()]);
            while let Some(dir) = queue.pop_front() {
                if cancel.is_cancelled() {
                    break;
                }
                let entries = self
                    .list_dir(&dir)
                    .await
                    .map_err(|e| self.err(&dir, "cannot list", Code::RemoteConnect, e))?;
                for (name, a) in entries {
                    let rel = if dir.is_empty() {
                        name.clone()
                    } else {
                        format!("{dir}/{name}")
                    };
                    if crate::temp::is_temp_name(&name) {
                        self.temps
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(rel);
                        continue;
                    }
                    let kind = if a.is_dir() {
                        queue.push_back(rel.clone());
                        ObjectKind::Folder
                    } else if a.is_symlink() {
                        ObjectKind::Link
                    } else {
                        ObjectKind::File
                    };
                    out.push(Object {
                        size: if kind == ObjectKind::File {
                            a.size.unwrap_or(0)
                        } else {
                            0
                        },
                        stored: attrs_time(&a),
                        kind,
                        rel,
                    });
                }
            }
            Ok(out)
        })
    }

    fn meta(&self, _rel: &str) -> Result<Option<Meta>, Error> {
        // The listing carries the times; SFTP keeps nothing else beside a file.
        Ok(None)
    }

    fn read(&self, rel: &str, range: Range<u64>) -> Result<Vec<u8>, Error> {
        let path = self.path(rel);
        let sftp = self.session();
        self.rt.block_on(async {
            let handle = sftp
                .open(path, OpenFlags::READ, FileAttributes::empty())
                .await
                .map_err(|e| self.err(rel, "cannot read back", Code::VerifyRead, e))?
                .handle;
            // Every request of the range in flight at once; answers put together in order.
            let step = self.read_len as u64;
            let reads: Vec<_> = (range.start..range.end)
                .step_by(step as usize)
                .map(|at| {
                    let (sftp, h) = (sftp.clone(), handle.clone());
                    let len = step.min(range.end - at) as u32;
                    self.rt.spawn(async move { sftp.read(h, at, len).await })
                })
                .collect();
            let mut out = Vec::with_capacity((range.end - range.start) as usize);
            let mut result = Ok(());
            for r in reads {
                match r.await {
                    Ok(Ok(d)) if result.is_ok() => out.extend_from_slice(&d.data),
                    Ok(Ok(_)) => {}
                    Ok(Err(SftpError::Status(s))) if s.status_code == StatusCode::Eof => {}
                    Ok(Err(e)) => {
                        result =
                            result.and(Err(self.err(rel, "cannot read back", Code::VerifyRead, e)))
                    }
                    Err(e) => {
                        result = result.and(Err(Error::new(
                            Code::VerifyRead,
                            self.shown(rel),
                            format!("a read stopped: {e}"),
                        )))
                    }
                }
            }
            let _ = sftp.close(handle).await;
            result.map(|()| out)
        })
    }

    fn upload(&self, rel: &str, _size: u64, meta: &Meta) -> Result<Box<dyn Upload>, Error> {
        let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let temp_rel = {
            let t = crate::temp::temp_name(std::ffi::OsStr::new(name), &self.tag);
            let t = t.to_string_lossy();
            if dir.is_empty() {
                t.to_string()
            } else {
                format!("{dir}/{t}")
            }
        };
        let temp = self.path(&temp_rel);
        let sftp = self.session();
        let handle = self.rt.block_on(async {
            self.ensure_folder(dir).await?;
            let flags = OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::EXCLUDE;
            let attrs = FileAttributes {
                permissions: Some(0o600),
                ..FileAttributes::empty()
            };
            sftp.open(temp.clone(), flags, attrs)
                .await
                .map(|h| h.handle)
                .map_err(|e| self.err(rel, "cannot create the temp of", Code::CopyTempCreate, e))
        })?;
        Ok(Box::new(SftpUpload {
            sftp,
            rt: self.rt.handle().clone(),
            handle: Some(handle),
            temp,
            target: self.path(rel),
            shown: self.shown(rel),
            offset: 0,
            in_flight: VecDeque::new(),
            write_len: self.write_len,
            modified: meta.modified,
            posix_rename: self.posix_rename,
            fsync: self.fsync,
            done: false,
        }))
    }

    fn delete(&self, rel: &str, folder: bool) -> Result<(), Error> {
        let path = self.path(rel);
        let r = self.rt.block_on(async {
            if folder {
                self.session().rmdir(path).await
            } else {
                self.session().remove(path).await
            }
        });
        match r {
            Ok(_) => Ok(()),
            Err(SftpError::Status(s)) if s.status_code == StatusCode::NoSuchFile => Ok(()),
            Err(e) => Err(self.err(rel, "cannot delete", Code::RemoteDelete, e)),
        }
    }

    fn mkdir(&self, rel: &str) -> Result<(), Error> {
        self.rt.block_on(self.ensure_folder(rel))
    }

    fn set_folder_time(&self, rel: &str, t: SystemTime) -> Result<(), Error> {
        self.rt
            .block_on(self.session().setstat(self.path(rel), mtime_attrs(t)))
            .map(|_| ())
            .map_err(|e| self.err(rel, "cannot set the time of", Code::TreeDirTimes, e))
    }

    fn sweep(&self) -> Result<usize, Error> {
        let temps = std::mem::take(&mut *self.temps.lock().unwrap_or_else(|e| e.into_inner()));
        let mut n = 0;
        for t in temps {
            match self.rt.block_on(self.session().remove(self.path(&t))) {
                Ok(_) => n += 1,
                Err(SftpError::Status(s)) if s.status_code == StatusCode::NoSuchFile => {}
                Err(e) => {
                    return Err(self.err(
                        &t,
                        "cannot remove the leftover temp",
                        Code::RemoteDelete,
                        e,
                    ));
                }
            }
        }
        Ok(n)
    }
}

/// A file on its way: written to its temp with many requests in flight, then made durable,
/// timed, closed and renamed over its name by `commit`; removed otherwise.
struct SftpUpload {
    sftp: Arc<RawSftpSession>,
    rt: tokio::runtime::Handle,
    handle: Option<String>,
    temp: String,
    target: String,
    shown: PathBuf,
    offset: u64,
    in_flight: VecDeque<JoinHandle<Result<(), SftpError>>>,
    write_len: usize,
    modified: Option<SystemTime>,
    posix_rename: bool,
    fsync: bool,
    done: bool,
}

impl SftpUpload {
    fn failed(&self, what: &str, e: impl std::fmt::Display) -> Error {
        Error::new(
            Code::RemoteUpload,
            &self.shown,
            format!("{what} '{}': {e}", self.shown.display()),
        )
    }

    fn collect_one(&mut self) -> Result<(), Error> {
        let Some(h) = self.in_flight.pop_front() else {
            return Ok(());
        };
        match self.rt.block_on(h) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) if connection_lost(&e) => Err(self.failed(
                "cannot write",
                format!("the connection to the server was lost ({e})"),
            )),
            Ok(Err(e)) => Err(self.failed("cannot write", e)),
            Err(e) => Err(self.failed("a write stopped:", e)),
        }
    }

    fn discard(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        for h in self.in_flight.drain(..) {
            h.abort();
        }
        let (sftp, handle, temp) = (self.sftp.clone(), self.handle.take(), self.temp.clone());
        // Best effort: a temp that stays (the connection is gone) is removed by the next run.
        let _ = self.rt.block_on(async move {
            if let Some(h) = handle {
                let _ = sftp.close(h).await;
            }
            sftp.remove(temp).await
        });
    }

    async fn finish(
        sftp: Arc<RawSftpSession>,
        handle: String,
        temp: String,
        target: String,
        modified: Option<SystemTime>,
        posix_rename: bool,
        fsync: bool,
    ) -> Result<(), (&'static str, SftpError)> {
        if fsync {
            sftp.fsync(handle.as_str())
                .await
                .map_err(|e| ("cannot make durable", e))?;
        }
        if let Some(t) = modified {
            sftp.fsetstat(handle.as_str(), mtime_attrs(t))
                .await
                .map_err(|e| ("cannot set the time of", e))?;
        }
        sftp.close(handle).await.map_err(|e| ("cannot close", e))?;
        if posix_rename {
            let mut data = Vec::with_capacity(8 + temp.len() + target.len());
            for s in [&temp, &target] {
                data.extend_from_slice(&(s.len() as u32).to_be_bytes());
                data.extend_from_slice(s.as_bytes());
            }
            match sftp.extended("posix-rename@openssh.com", data).await {
                Ok(russh_sftp::protocol::Packet::Status(s)) if s.status_code == StatusCode::Ok => {
                    Ok(())
                }
                Ok(russh_sftp::protocol::Packet::Status(s)) => {
                    Err(("cannot rename the verified temp over", SftpError::Status(s)))
                }
                Ok(_) => Err((
                    "cannot rename the verified temp over",
                    SftpError::UnexpectedPacket,
                )),
                Err(e) => Err(("cannot rename the verified temp over", e)),
            }
        } else {
            // SFTP v3's rename refuses an existing target: the old file goes first.
            match sftp.rename(temp.clone(), target.clone()).await {
                Ok(_) => Ok(()),
                Err(_) => {
                    let _ = sftp.remove(target.clone()).await;
                    sftp.rename(temp, target)
                        .await
                        .map(|_| ())
                        .map_err(|e| ("cannot rename the temp over", e))
                }
            }
        }
    }
}

impl Upload for SftpUpload {
    fn write(&mut self, data: Vec<u8>) -> Result<(), Error> {
        let Some(handle) = self.handle.clone() else {
            return Err(self.failed("cannot write", "the upload is closed"));
        };
        let mut at = 0;
        while at < data.len() {
            while self.in_flight.len() >= IN_FLIGHT {
                if let Err(e) = self.collect_one() {
                    self.discard();
                    return Err(e);
                }
            }
            let end = (at + self.write_len).min(data.len());
            let piece = data[at..end].to_vec();
            let (sftp, h, offset) = (self.sftp.clone(), handle.clone(), self.offset);
            self.in_flight.push_back(
                self.rt
                    .spawn(async move { sftp.write(h, offset, piece).await.map(|_| ()) }),
            );
            self.offset += (end - at) as u64;
            at = end;
        }
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<(), Error> {
        while !self.in_flight.is_empty() {
            if let Err(e) = self.collect_one() {
                self.discard();
                return Err(e);
            }
        }
        let Some(handle) = self.handle.take() else {
            return Err(self.failed("cannot commit", "the upload is closed"));
        };
        let r = self.rt.block_on(Self::finish(
            self.sftp.clone(),
            handle,
            self.temp.clone(),
            self.target.clone(),
            self.modified,
            self.posix_rename,
            self.fsync,
        ));
        match r {
            Ok(()) => {
                self.done = true;
                Ok(())
            }
            Err((what, e)) => {
                let err = self.failed(what, e);
                self.discard();
                Err(err)
            }
        }
    }

    fn abort(mut self: Box<Self>) {
        self.discard();
    }
}

impl Drop for SftpUpload {
    fn drop(&mut self) {
        self.discard();
    }
}
