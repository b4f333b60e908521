//! A real S3-compatible server for the object-storage tests: `moto_server` (from the venv's
//! `moto[server]`) on 127.0.0.1 at a free port, with one bucket, stopped when dropped (always:
//! on success, on failure, on a panic of xtask).

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The bucket the tests read and write.
pub const BUCKET: &str = "array-files-test";

/// A running server; killed on drop.
pub struct S3Server {
    child: Child,
    endpoint: String,
}

impl S3Server {
    /// Starts the server with the venv's `python` and creates [`BUCKET`].
    pub fn start(python: &Path) -> Result<S3Server> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting moto_server (moto[server] in the venv)")?;
        let server = S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("moto_server did not listen on port {port} within 60 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let create = format!(
            "import boto3\nboto3.client('s3', endpoint_url={:?}, aws_access_key_id='testing', \
             aws_secret_access_key='testing', region_name='us-east-1').create_bucket(Bucket={BUCKET:?})",
            server.endpoint
        );
        let status = Command::new(python).args(["-c", &create]).status()?;
        if !status.success() {
            bail!("creating the test bucket on moto_server failed");
        }
        Ok(server)
    }

    /// The environment that points `object_store` (and boto3) at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("ARRAY_FILES_TEST_BUCKET", BUCKET.into()),
        ]
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
