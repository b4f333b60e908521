//! Client for the numpy oracle, `xtask/python/oracle.py`: numpy's own answers about NPY files.
//!
//! Used by integration tests as `testkit::oracle`.
//!
//! It uses only std and `serde_json`. The oracle runs as `$NPY_PYTHON $NPY_ORACLE`, which
//! `cargo xtask test` sets (the venv python with the pinned numpy, and the script). Tests that
//! use it are `#[ignore = "needs numpy: run `cargo xtask test`"]`.
//!
//! Descrs are passed as their Python literal text as in an NPY header, e.g. `"'<f8'"` or
//! `"[('a', '<i4'), ('b', '<f8', (2,))]"`; data as a file of the raw element bytes in the
//! array's storage order (C, or Fortran when `fortran_order`).

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// One running oracle process.
pub struct Oracle {
    /// The python process.
    child: Child,
    /// Requests go here, one JSON object a line.
    stdin: ChildStdin,
    /// Responses come from here, one JSON object a line.
    stdout: BufReader<ChildStdout>,
    /// A request was sent and its response not yet read: the stream is out of step if a
    /// panic left it so, and [`shared`] starts a new process.
    in_flight: bool,
}

/// The path in `var`, or a panic saying how to run these tests.
fn env_path(var: &str) -> std::ffi::OsString {
    match std::env::var_os(var) {
        Some(value) if !value.is_empty() => value,
        _ => panic!(
            "NPY_PYTHON/NPY_ORACLE not set: run the numpy interop tests with `cargo xtask test`"
        ),
    }
}

/// A path as the JSON string the oracle opens.
fn path_json(path: &Path) -> Value {
    Value::String(
        path.to_str()
            .unwrap_or_else(|| panic!("oracle paths must be UTF-8: {}", path.display()))
            .to_owned(),
    )
}

impl Oracle {
    /// Starts `$NPY_PYTHON $NPY_ORACLE`.
    pub fn spawn() -> Oracle {
        let python = env_path("NPY_PYTHON");
        let script = env_path("NPY_ORACLE");
        let mut child = Command::new(&python)
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("could not start the numpy oracle {python:?} {script:?}: {e}")
            });
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Oracle {
            child,
            stdin,
            stdout,
            in_flight: false,
        }
    }

    /// Sends one request and returns the whole response, `Err(error text)` when the oracle
    /// answered `ok: false` (for tests that expect numpy to refuse something).
    pub fn try_request(&mut self, request: Value) -> Result<Value, String> {
        let mut line = serde_json::to_string(&request).expect("a JSON value serializes");
        line.push('\n');
        self.in_flight = true;
        if let Err(e) = self
            .stdin
            .write_all(line.as_bytes())
            .and_then(|()| self.stdin.flush())
        {
            panic!("the numpy oracle stopped taking requests ({e}); its stderr is above");
        }
        let mut answer = String::new();
        match self.stdout.read_line(&mut answer) {
            Ok(0) => panic!("the numpy oracle exited; its stderr is above. Request: {request}"),
            Ok(_) => {}
            Err(e) => panic!("reading from the numpy oracle: {e}"),
        }
        self.in_flight = false;
        let response: Value = serde_json::from_str(&answer)
            .unwrap_or_else(|e| panic!("the numpy oracle sent non-JSON ({e}): {answer:?}"));
        if response["ok"] == Value::Bool(true) {
            Ok(response)
        } else {
            Err(response["error"]
                .as_str()
                .unwrap_or("(the oracle gave no error text)")
                .to_owned())
        }
    }

    /// Sends one request and returns the whole response; panics when the oracle answered
    /// `ok: false`, with its error.
    pub fn request(&mut self, request: Value) -> Value {
        let shown = request.to_string();
        match self.try_request(request) {
            Ok(response) => response,
            Err(error) => panic!("the numpy oracle failed on {shown}:\n{error}"),
        }
    }

    /// Runs Python `code` in the oracle's persistent globals (`np`, `os`, `json`, `io`,
    /// `zipfile`, `dtype_from_descr_text`) and returns what it left in `result` (`null` if
    /// nothing).
    pub fn exec(&mut self, code: &str) -> Value {
        let mut response = self.request(json!({ "op": "exec", "code": code }));
        response["result"].take()
    }

    /// `np.save(path, a)` for the array of `descr_text`, `shape` and order whose raw bytes are
    /// in the file `data_path`.
    pub fn save(
        &mut self,
        path: &Path,
        descr_text: &str,
        shape: &[u64],
        fortran_order: bool,
        data_path: &Path,
    ) {
        self.request(json!({
            "op": "save",
            "path": path_json(path),
            "descr": descr_text,
            "shape": shape,
            "fortran_order": fortran_order,
            "data_path": path_json(data_path),
        }));
    }

    /// `np.load(path)` compared with the array of `descr_text`, `shape` and order whose raw
    /// bytes are in `data_path`: `(equal, reason)`, where reason says what differs.
    pub fn check_load(
        &mut self,
        path: &Path,
        descr_text: &str,
        shape: &[u64],
        fortran_order: bool,
        data_path: &Path,
    ) -> (bool, String) {
        let response = self.request(json!({
            "op": "check_load",
            "path": path_json(path),
            "descr": descr_text,
            "shape": shape,
            "fortran_order": fortran_order,
            "data_path": path_json(data_path),
        }));
        let equal = response["equal"]
            .as_bool()
            .expect("check_load answers `equal`");
        let reason = response["reason"].as_str().unwrap_or_default().to_owned();
        (equal, reason)
    }

    /// The header of the NPY file at `path` as numpy's reader parses it:
    /// `{"version": [maj, min], "descr": <dtype_to_descr, tuples as lists>, "shape": [..],
    /// "fortran_order": bool, "data_offset": n}`.
    pub fn header(&mut self, path: &Path) -> Value {
        let mut response = self.request(json!({ "op": "header", "path": path_json(path) }));
        let mut header = serde_json::Map::new();
        for key in ["version", "descr", "shape", "fortran_order", "data_offset"] {
            header.insert(key.to_owned(), response[key].take());
        }
        Value::Object(header)
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test binary's one oracle process, started on first use.
///
/// A test that panicked while holding it does not spoil it for the others: the poison is
/// cleared, and the process restarted if the panic left a request unanswered. (The process
/// is never dropped; it exits at end of input when the test binary exits.)
pub fn shared() -> MutexGuard<'static, Oracle> {
    static ORACLE: OnceLock<Mutex<Oracle>> = OnceLock::new();
    let mutex = ORACLE.get_or_init(|| Mutex::new(Oracle::spawn()));
    let mut guard = mutex.lock().unwrap_or_else(|poisoned| {
        mutex.clear_poison();
        poisoned.into_inner()
    });
    if guard.in_flight {
        *guard = Oracle::spawn();
    }
    guard
}
