//! `s3://bucket/prefix`: Amazon S3 and S3-compatible servers (SeaweedFS, MinIO, Ceph, Wasabi,
//! Backblaze B2 …) through `object_store`, which signs, retries with backoff and speaks the
//! protocol. The engine's calls block on a small runtime of this store's own.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, Checksum};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as Key;
use object_store::{
    Attribute, Attributes, ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt,
    PutMultipartOptions, PutOptions, PutPayload, RetryConfig,
};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

use super::pending::Pending;
use super::{Meta, Object, ObjectKind, Store, StoreCaps, Upload, Url};
use crate::error::{Code, Error};
use crate::events::CancelToken;
use crate::settings::Settings;

/// rclone's metadata key for the modified time (`X-Amz-Meta-Mtime`).
const MTIME: &str = "mtime";
/// Ours for the file's BLAKE3 (`X-Amz-Meta-Fcs-Blake3`).
const BLAKE3: &str = "fcs-blake3";
/// S3's smallest part (but the last) is 5 MiB; 8 MiB parts keep a 80 GB file under the
/// 10,000-part limit, and bigger files get bigger parts.
const PART: u64 = 8 << 20;
/// Below this a file goes in one PUT (held in memory once); above, in parts.
const MULTIPART_AT: u64 = 16 << 20;

#[derive(Debug)]
pub(crate) struct S3Store {
    url: Url,
    s3: Arc<AmazonS3>,
    rt: Runtime,
    /// Parts of one file in flight.
    streams: usize,
    pending: Pending,
}

impl S3Store {
    pub(crate) fn open(url: &Url, settings: &Settings) -> Result<S3Store, Error> {
        // reqwest is built without a default TLS provider (ring rather than aws-lc: no C build);
        // the first store installs it for the process. Another installed first is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let shown = Path::new("");
        // Client options first: they hold allow_http, which the endpoint below sets.
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(&url.host)
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(10))
                    .with_timeout(Duration::from_secs(300)),
            );
        // `~/.aws/credentials` and `~/.aws/config` (AWS_PROFILE, else `default`) fill in what
        // the environment does not say, as the AWS tools do.
        let profile = super::profile::read();
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if env("AWS_ACCESS_KEY_ID").is_none()
            && let Some(p) = &profile
            && let (Some(id), Some(secret)) = (&p.key_id, &p.secret)
        {
            b = b.with_access_key_id(id).with_secret_access_key(secret);
            if let Some(t) = &p.token {
                b = b.with_token(t);
            }
        }
        let endpoint = match settings.s3_endpoint.as_str() {
            "" => env("AWS_ENDPOINT_URL")
                .or_else(|| env("AWS_ENDPOINT"))
                .or_else(|| profile.as_ref().and_then(|p| p.endpoint.clone())),
            e => Some(e.to_string()),
        };
        if let Some(e) = &endpoint {
            b = b
                .with_endpoint(e)
                .with_allow_http(e.starts_with("http://"))
                // An S3-compatible server answers at one host: bucket in the path.
                .with_virtual_hosted_style_request(false);
        }
        let region = match settings.s3_region.as_str() {
            "" => env("AWS_REGION")
                .or_else(|| env("AWS_DEFAULT_REGION"))
                .or_else(|| profile.as_ref().and_then(|p| p.region.clone()))
                .unwrap_or_else(|| "us-east-1".into()),
            r => r.to_string(),
        };
        b = b
            .with_region(region)
            // The server refuses a body whose SHA-256 is not the one sent: corruption on the
            // way is caught before anything is stored.
            .with_checksum_algorithm(Checksum::SHA256)
            .with_unsigned_payload(true)
            .with_retry(RetryConfig {
                max_retries: settings.remote_retries as usize,
                retry_timeout: Duration::from_secs(120),
                ..RetryConfig::default()
            });
        if b.get_config_value(&AmazonS3ConfigKey::AccessKeyId)
            .is_none()
        {
            // No credentials anywhere: anonymous requests (a public bucket) rather than a wait
            // for an instance-metadata server that is not there.
            b = b.with_skip_signature(true);
        }
        let s3 = b
            .build()
            .map_err(|e| Error::new(Code::RemoteUrl, shown, format!("{url}: {}", chain(&e))))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fcs-s3")
            .enable_all()
            .build()
            .map_err(|e| {
                Error::io(
                    Code::RemoteConnect,
                    shown,
                    "cannot start the I/O threads",
                    e,
                )
            })?;
        Ok(S3Store {
            pending: Pending::new(url, endpoint.as_deref().unwrap_or("aws")),
            url: url.clone(),
            s3: Arc::new(s3),
            rt,
            streams: settings.remote_streams.max(1) as usize,
        })
    }

    fn key(&self, rel: &str) -> Result<Key, Error> {
        let full = match (self.url.prefix.as_str(), rel) {
            (p, "") => p.to_string(),
            ("", r) => r.to_string(),
            (p, r) => format!("{p}/{r}"),
        };
        Key::parse(&full).map_err(|e| {
            Error::new(
                Code::RemoteUrl,
                self.url.display_path(Path::new(rel)),
                format!("'{rel}' cannot be an object key ({e}); rename it in the source"),
            )
        })
    }

    fn shown(&self, rel: &str) -> std::path::PathBuf {
        self.url.display_path(Path::new(rel))
    }

    fn err(&self, rel: &str, what: &str, fallback: Code, e: object_store::Error) -> Error {
        to_error(&self.shown(rel), &self.url, what, fallback, &e)
    }
}

impl Store for S3Store {
    fn url(&self) -> &Url {
        &self.url
    }

    fn capabilities(&self) -> StoreCaps {
        StoreCaps {
            multipart_threshold: MULTIPART_AT,
            part_size: PART,
            folders: false,
            time_granularity: Duration::from_nanos(1),
            keeps_hash: true,
            drive_kind: "CLOUD",
        }
    }

    fn list(&self, cancel: &CancelToken) -> Result<Vec<Object>, Error> {
        let prefix = self.key("")?;
        let strip = if self.url.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.url.prefix)
        };
        self.rt.block_on(async {
            let mut out = Vec::new();
            let mut stream = self.s3.list(Some(&prefix));
            while let Some(item) = stream.next().await {
                if cancel.is_cancelled() {
                    break;
                }
                let m = item.map_err(|e| self.err("", "cannot list", Code::RemoteConnect, e))?;
                let Some(rel) = m.location.as_ref().strip_prefix(&strip) else {
                    continue;
                };
                out.push(Object {
                    rel: rel.to_string(),
                    size: m.size,
                    stored: m.last_modified.into(),
                    kind: ObjectKind::File,
                });
            }
            Ok(out)
        })
    }

    fn meta(&self, rel: &str) -> Result<Option<Meta>, Error> {
        let key = self.key(rel)?;
        let opts = GetOptions {
            head: true,
            ..GetOptions::default()
        };
        match self.rt.block_on(self.s3.get_opts(&key, opts)) {
            Ok(r) => Ok(Some(meta_of(&r.attributes))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err(rel, "cannot read the metadata of", Code::RemoteConnect, e)),
        }
    }

    fn read_with_meta(
        &self,
        rel: &str,
        range: Range<u64>,
    ) -> Result<(Vec<u8>, Option<Meta>), Error> {
        let key = self.key(rel)?;
        let opts = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..GetOptions::default()
        };
        self.rt
            .block_on(async {
                let r = self.s3.get_opts(&key, opts).await?;
                let meta = meta_of(&r.attributes);
                Ok::<_, object_store::Error>((Vec::from(r.bytes().await?), Some(meta)))
            })
            .map_err(|e| self.err(rel, "cannot read", Code::VerifyRead, e))
    }

    fn read(&self, rel: &str, range: Range<u64>) -> Result<Vec<u8>, Error> {
        let key = self.key(rel)?;
        let opts = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..GetOptions::default()
        };
        self.rt
            .block_on(async { self.s3.get_opts(&key, opts).await?.bytes().await })
            .map(Vec::from)
            .map_err(|e| self.err(rel, "cannot read back", Code::VerifyRead, e))
    }

    fn upload(&self, rel: &str, size: u64, meta: &Meta) -> Result<Box<dyn Upload>, Error> {
        let key = self.key(rel)?;
        let mut attrs = Attributes::new();
        if let Some(t) = meta.modified {
            attrs.insert(
                Attribute::Metadata(MTIME.into()),
                super::format_mtime(t).into(),
            );
        }
        if let Some(h) = &meta.blake3 {
            attrs.insert(Attribute::Metadata(BLAKE3.into()), h.clone().into());
        }
        let shown = self.shown(rel);
        if size < MULTIPART_AT {
            return Ok(Box::new(SinglePut {
                s3: self.s3.clone(),
                rt: self.rt.handle().clone(),
                key,
                attrs,
                buf: Vec::with_capacity(size as usize),
                shown,
                url: self.url.clone(),
            }));
        }
        let opts = PutMultipartOptions {
            attributes: attrs,
            ..PutMultipartOptions::default()
        };
        let id = self
            .rt
            .block_on(self.s3.create_multipart_opts(&key, opts))
            .map_err(|e| self.err(rel, "cannot start the upload of", Code::RemoteUpload, e))?;
        // Recorded before the first part: a run killed from here on leaves an upload the next
        // run aborts.
        self.pending.add(key.as_ref(), &id);
        Ok(Box::new(Multipart {
            s3: self.s3.clone(),
            rt: self.rt.handle().clone(),
            key,
            id,
            parts: Vec::new(),
            in_flight: std::collections::VecDeque::new(),
            streams: self.streams,
            part_size: PART.max(size.div_ceil(10_000)) as usize,
            buf: Vec::new(),
            shown,
            url: self.url.clone(),
            pending: self.pending.clone(),
            done: false,
        }))
    }

    fn delete(&self, rel: &str, folder: bool) -> Result<(), Error> {
        if folder {
            // A folder of a bucket is its keys, gone with the last of them.
            return Ok(());
        }
        let key = self.key(rel)?;
        match self.rt.block_on(self.s3.delete(&key)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.err(rel, "cannot delete", Code::RemoteDelete, e)),
        }
    }

    fn mkdir(&self, _rel: &str) -> Result<(), Error> {
        Ok(())
    }

    fn set_folder_time(&self, _rel: &str, _t: std::time::SystemTime) -> Result<(), Error> {
        Ok(())
    }

    fn sweep(&self) -> Result<usize, Error> {
        let mut n = 0;
        for (key, id) in self.pending.take_all() {
            let Ok(k) = Key::parse(&key) else { continue };
            match self.rt.block_on(self.s3.abort_multipart(&k, &id)) {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => n += 1,
                Err(e) => {
                    // Kept for the next run to try again.
                    self.pending.add(&key, &id);
                    return Err(self.err(
                        &key,
                        "cannot abort the unfinished upload of",
                        Code::RemoteConnect,
                        e,
                    ));
                }
            }
        }
        Ok(n)
    }
}

/// A file below the multipart size: collected, then stored by one PUT (atomic by nature).
struct SinglePut {
    s3: Arc<AmazonS3>,
    rt: tokio::runtime::Handle,
    key: Key,
    attrs: Attributes,
    buf: Vec<u8>,
    shown: std::path::PathBuf,
    url: Url,
}

impl Upload for SinglePut {
    fn write(&mut self, data: Vec<u8>) -> Result<(), Error> {
        if self.buf.is_empty() {
            self.buf = data;
        } else {
            self.buf.extend_from_slice(&data);
        }
        Ok(())
    }

    fn commit(self: Box<Self>) -> Result<(), Error> {
        let opts = PutOptions {
            attributes: self.attrs,
            ..PutOptions::default()
        };
        let payload = PutPayload::from(self.buf);
        self.rt
            .block_on(self.s3.put_opts(&self.key, payload, opts))
            .map(|_| ())
            .map_err(|e| {
                to_error(
                    &self.shown,
                    &self.url,
                    "cannot upload",
                    Code::RemoteUpload,
                    &e,
                )
            })
    }

    fn abort(self: Box<Self>) {}
}

/// A large file: parts sent as they are read (`streams` at once), the upload completed —
/// the object appears — only by `commit`; aborted otherwise.
struct Multipart {
    s3: Arc<AmazonS3>,
    rt: tokio::runtime::Handle,
    key: Key,
    id: String,
    parts: Vec<PartId>,
    in_flight: std::collections::VecDeque<JoinHandle<object_store::Result<PartId>>>,
    streams: usize,
    part_size: usize,
    buf: Vec<u8>,
    shown: std::path::PathBuf,
    url: Url,
    pending: Pending,
    done: bool,
}

impl Multipart {
    fn send(&mut self, data: Vec<u8>) -> Result<(), Error> {
        while self.in_flight.len() >= self.streams {
            self.collect_one()?;
        }
        let (s3, key, id) = (self.s3.clone(), self.key.clone(), self.id.clone());
        let idx = self.parts.len() + self.in_flight.len();
        self.in_flight.push_back(
            self.rt
                .spawn(async move { s3.put_part(&key, &id, idx, PutPayload::from(data)).await }),
        );
        Ok(())
    }

    fn collect_one(&mut self) -> Result<(), Error> {
        let Some(h) = self.in_flight.pop_front() else {
            return Ok(());
        };
        let part = self
            .rt
            .block_on(h)
            .map_err(|e| {
                Error::new(
                    Code::RemoteUpload,
                    &self.shown,
                    format!("'{}': a part's upload stopped: {e}", self.shown.display()),
                )
            })?
            .map_err(|e| {
                to_error(
                    &self.shown,
                    &self.url,
                    "cannot upload a part of",
                    Code::RemoteUpload,
                    &e,
                )
            })?;
        self.parts.push(part);
        Ok(())
    }

    fn abort_now(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        for h in self.in_flight.drain(..) {
            h.abort();
        }
        if self
            .rt
            .block_on(self.s3.abort_multipart(&self.key, &self.id))
            .is_ok()
        {
            self.pending.remove(self.key.as_ref(), &self.id);
        }
        // Else it stays recorded: the next run to this location aborts it.
    }
}

impl Upload for Multipart {
    fn write(&mut self, data: Vec<u8>) -> Result<(), Error> {
        let r = (|| {
            // A whole part as the caller read it goes as it is; anything else is gathered.
            if self.buf.is_empty() && data.len() == self.part_size {
                return self.send(data);
            }
            self.buf.extend_from_slice(&data);
            while self.buf.len() >= self.part_size {
                let rest = self.buf.split_off(self.part_size);
                let part = std::mem::replace(&mut self.buf, rest);
                self.send(part)?;
            }
            Ok(())
        })();
        if r.is_err() {
            self.abort_now();
        }
        r
    }

    fn commit(mut self: Box<Self>) -> Result<(), Error> {
        let r = (|| {
            if !self.buf.is_empty() || self.parts.len() + self.in_flight.len() == 0 {
                let last = std::mem::take(&mut self.buf);
                self.send(last)?;
            }
            while !self.in_flight.is_empty() {
                self.collect_one()?;
            }
            let parts = std::mem::take(&mut self.parts);
            self.rt
                .block_on(self.s3.complete_multipart(&self.key, &self.id, parts))
                .map_err(|e| {
                    to_error(
                        &self.shown,
                        &self.url,
                        "cannot complete the upload of",
                        Code::RemoteUpload,
                        &e,
                    )
                })
        })();
        match r {
            Ok(_) => {
                self.done = true;
                self.pending.remove(self.key.as_ref(), &self.id);
                Ok(())
            }
            Err(e) => {
                self.abort_now();
                Err(e)
            }
        }
    }

    fn abort(mut self: Box<Self>) {
        self.abort_now();
    }
}

impl Drop for Multipart {
    fn drop(&mut self) {
        self.abort_now();
    }
}

/// An `object_store` error as ours: the code by what went wrong (credentials, a missing bucket,
/// an unreachable server), `fallback` for the rest, and the whole chain of causes in the
/// message (never a credential: `object_store` does not put them in errors).
fn to_error(shown: &Path, url: &Url, what: &str, fallback: Code, e: &object_store::Error) -> Error {
    let text = chain(e);
    let lower = text.to_ascii_lowercase();
    let code = match e {
        object_store::Error::Unauthenticated { .. }
        | object_store::Error::PermissionDenied { .. } => Code::RemoteAuth,
        _ if lower.contains("nosuchbucket") || lower.contains("bucket does not exist") => {
            Code::RemoteNotFound
        }
        _ if lower.contains("invalidaccesskeyid")
            || lower.contains("signaturedoesnotmatch")
            || lower.contains("accessdenied")
            || lower.contains("403 forbidden") =>
        {
            Code::RemoteAuth
        }
        _ if lower.contains("error sending request")
            || lower.contains("connection refused")
            || lower.contains("dns error")
            || lower.contains("timed out")
            || lower.contains("tcp connect") =>
        {
            if fallback == Code::RemoteUpload || fallback == Code::VerifyRead {
                fallback
            } else {
                Code::RemoteConnect
            }
        }
        _ => fallback,
    };
    let name = if shown.as_os_str().is_empty() {
        url.to_string()
    } else {
        shown.display().to_string()
    };
    Error::new(code, shown, format!("{what} '{name}': {text}"))
}

/// An error and its causes, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// What fcs keeps beside an object, from its response headers (`X-Amz-Meta-*`).
fn meta_of(attributes: &Attributes) -> Meta {
    let get = |k: &'static str| attributes.get(&Attribute::Metadata(k.into()));
    Meta {
        modified: get(MTIME).and_then(|v| super::parse_mtime(v.as_ref())),
        blake3: get(BLAKE3).map(|v| v.to_string()),
    }
}
