//! Object storage when things go wrong, against the S3 server `cargo xtask test` starts: a
//! server that stops in the middle of a read gives a clear error and the same read succeeds once
//! it is back; a process killed in the middle of an upload leaves nothing under the key.
//!
//! The server is reached through a proxy of this file's that can cut connections, so the
//! faults happen exactly where a test puts them.

use std::io::{BufRead, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use npy_format::object_store::aws::AmazonS3Builder;
use npy_format::source::{ByteSource, PART_BYTES, RemoteSource, RemoteWriter};

fn bucket() -> String {
    std::env::var("ARRAY_FILES_TEST_BUCKET").expect(
        "ARRAY_FILES_TEST_BUCKET and AWS_ENDPOINT_URL: run `cargo xtask test`, which starts an S3 server",
    )
}

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("faults/{nanos}-{name}")
}

fn upload(key: &str, bytes: &[u8]) {
    let mut w = RemoteWriter::create(&format!("s3://{}/{key}", bucket())).unwrap();
    w.write_all(bytes).unwrap();
    w.finish().unwrap();
}

/// Forwards connections to the S3 server; each connection's answer is cut after
/// `cut_after` bytes (`u64::MAX`: never).
struct Proxy {
    endpoint: String,
    cut_after: Arc<AtomicU64>,
}

impl Proxy {
    fn start() -> Proxy {
        let upstream = std::env::var("AWS_ENDPOINT_URL").unwrap();
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let cut_after = Arc::new(AtomicU64::new(u64::MAX));
        let cut = cut_after.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let limit = cut.load(Ordering::SeqCst);
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || pipe(c2, s2, u64::MAX));
                std::thread::spawn(move || pipe(server, client, limit));
            }
        });
        Proxy {
            endpoint,
            cut_after,
        }
    }

    fn source(&self, key: &str) -> RemoteSource {
        let store = AmazonS3Builder::from_env()
            .with_endpoint(&self.endpoint)
            .with_bucket_name(bucket())
            .build()
            .unwrap();
        let url = format!("s3://{}/{key}", bucket());
        RemoteSource::from_store(Arc::new(store), key.into(), &url)
    }
}

/// Copies `from` to `to` until `limit` bytes, then closes both.
fn pipe(mut from: TcpStream, mut to: TcpStream, limit: u64) {
    let mut buf = [0u8; 16 << 10];
    let mut sent = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let n = n.min((limit - sent) as usize);
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        sent += n as u64;
        if sent >= limit {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

#[test]
#[ignore = "needs an S3 server: run `cargo xtask test`"]
fn a_server_that_stops_mid_read_is_a_clear_error_and_the_read_succeeds_once_it_is_back() {
    let key = unique("cut.bin");
    let data: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 253) as u8).collect();
    upload(&key, &data);
    let proxy = Proxy::start();
    let source = proxy.source(&key);
    assert_eq!(source.read_at(0, 100).unwrap(), &data[..100]);

    // Every answer stops 64 KiB in: each try of the store's retries is cut too.
    proxy.cut_after.store(64 << 10, Ordering::SeqCst);
    let started = std::time::Instant::now();
    let err = source.read_at(1000, 3 << 20).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("GET of bytes 1000..3146728 failed: "),
        "{text}"
    );
    assert!(!text.contains("<?xml"), "{text}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(120),
        "the error came after {:?}",
        started.elapsed()
    );

    proxy.cut_after.store(u64::MAX, Ordering::SeqCst);
    assert_eq!(
        source.read_at(1000, 3 << 20).unwrap(),
        &data[1000..1000 + (3 << 20)]
    );
}

/// The child of the next test: uploads more than two parts, says so, and waits to be killed.
#[test]
#[ignore = "a child process of the killed-upload test"]
fn child_uploads_and_waits_to_be_killed() {
    let Ok(url) = std::env::var("REMOTE_FAULTS_CHILD_URL") else {
        return;
    };
    let mut w = RemoteWriter::create(&url).unwrap();
    w.write_all(&vec![7u8; 3 * PART_BYTES]).unwrap();
    println!("parts sent");
    std::io::stdout().flush().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(600));
    w.finish().unwrap();
}

#[test]
#[ignore = "needs an S3 server: run `cargo xtask test`"]
fn a_process_killed_mid_upload_leaves_nothing_under_the_key() {
    let key = unique("killed.bin");
    let url = format!("s3://{}/{key}", bucket());
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "remote_faults::child_uploads_and_waits_to_be_killed",
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("REMOTE_FAULTS_CHILD_URL", &url)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    while !line.contains("parts sent") {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the child ended early"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let err = RemoteSource::open(&url).unwrap().len().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{err}");
}
