//! moto's server mode, started per test on 127.0.0.1 and a free port.
//!
//! `scripts/test` installs `moto[server]` into a virtualenv and puts its
//! `bin/` first on `PATH`; `GLAUX_MOTO_SERVER` names the executable
//! explicitly. Without either, tests that need moto fail and say how to get
//! it: a missing peer is a failure, never a skip.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server; killed when dropped.
pub struct Moto {
    pub url: String,
    pub port: u16,
    child: Child,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

impl Moto {
    /// Starts moto and waits until it answers (up to 60 s).
    pub fn start() -> Moto {
        let exe = std::env::var("GLAUX_MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let child = Command::new(&exe)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let mut child = match child {
                Ok(c) => c,
                Err(e) => panic!(
                    "cannot start moto's server `{exe}`: {e}\n\
                     run the tests with scripts/test (it installs moto[server] into a virtualenv), \
                     or `pip install 'moto[server]'` and put moto_server on PATH (or set GLAUX_MOTO_SERVER)"
                ),
            };
            let url = format!("http://127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = child.try_wait() {
                    last_error = format!("moto exited with {status} (port {port} taken?)");
                    break;
                }
                if http(port, "GET", "/moto-api/data.json", "").is_ok_and(|(s, _)| s == 200) {
                    return Moto { url, port, child };
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
            if last_error.is_empty() {
                last_error = "moto did not answer within 60 s".into();
            }
        }
        panic!("cannot start moto: {last_error}");
    }

    /// Queues Athena results: each later query execution takes the next
    /// one (moto's `/moto-api/static/athena/query-results`).
    pub fn queue_athena_results(&self, results: &serde_json::Value) {
        let (status, body) = http(
            self.port,
            "POST",
            "/moto-api/static/athena/query-results",
            results.to_string(),
        )
        .expect("moto answers");
        assert_eq!(status, 201, "moto refused the results: {body}");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 request (Connection: close) to 127.0.0.1:`port`.
/// moto checks no signatures, so this also creates buckets and puts
/// objects through its path-style S3 API.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    body: impl AsRef<[u8]>,
) -> std::io::Result<(u16, String)> {
    let body = body.as_ref();
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    s.write_all(body)?;
    let mut response = String::new();
    s.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}
