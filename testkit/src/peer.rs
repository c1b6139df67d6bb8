//! A scripted AWS JSON-protocol peer.
//!
//! The SDK sends `POST /` with `X-Amz-Target: <Service>.<Operation>` and a
//! JSON body; the peer calls the script with the operation name, the body
//! and how many calls of that operation came before, and sends back what the
//! script returns. Errors are JSON bodies with `__type` and `message`, and
//! the `x-amzn-ErrorType` header, as AWS sends them.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// One call the peer received.
#[derive(Debug, Clone)]
pub struct Call {
    /// The operation, e.g. `StartQueryExecution`.
    pub operation: String,
    pub body: Value,
    /// How many calls of this operation came before this one.
    pub nth: usize,
}

/// What the peer answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub error_type: Option<String>,
}

impl Reply {
    /// 200 with a JSON body.
    pub fn ok(body: Value) -> Reply {
        Reply {
            status: 200,
            body: body.to_string(),
            error_type: None,
        }
    }

    /// An AWS error: `status` with `{"__type": kind, "message": message}`.
    pub fn error(status: u16, kind: &str, message: &str) -> Reply {
        Reply {
            status,
            body: json!({"__type": kind, "message": message}).to_string(),
            error_type: Some(kind.to_string()),
        }
    }

    /// 200 with a body that is not JSON at all.
    pub fn garbage() -> Reply {
        Reply {
            status: 200,
            body: "<html>this is not JSON".into(),
            error_type: None,
        }
    }
}

type Script = dyn Fn(&Call) -> Reply + Send + Sync;

/// A running peer; stops when dropped.
pub struct Peer {
    pub url: String,
    calls: Arc<Mutex<Vec<Call>>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
}

impl Peer {
    /// Starts a peer on 127.0.0.1 and a free port, answering with `script`.
    pub fn start(script: impl Fn(&Call) -> Reply + Send + Sync + 'static) -> Peer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let script: Arc<Script> = Arc::new(script);
        let counts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        {
            let calls = calls.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (calls, script, counts) = (calls.clone(), script.clone(), counts.clone());
                    std::thread::spawn(move || serve(conn, &calls, &*script, &counts));
                }
            });
        }
        Peer {
            url: format!("http://{addr}"),
            calls,
            stop,
            addr,
        }
    }

    /// Every call so far, in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("calls lock").clone()
    }

    /// The operations called so far, in order.
    pub fn operations(&self) -> Vec<String> {
        self.calls().into_iter().map(|c| c.operation).collect()
    }

    /// How many times `operation` was called.
    pub fn count(&self, operation: &str) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.operation == operation)
            .count()
    }

    /// Waits (up to 60 s) until `operation` has been called `n` times;
    /// panics with the calls seen otherwise.
    pub fn wait_for(&self, operation: &str, n: usize) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while self.count(operation) < n {
            assert!(
                std::time::Instant::now() < deadline,
                "{operation} was not called {n} times: {:?}",
                self.operations()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Serves one keep-alive connection until the client closes it.
fn serve(
    conn: TcpStream,
    calls: &Mutex<Vec<Call>>,
    script: &Script,
    counts: &Mutex<HashMap<String, usize>>,
) {
    let mut reader = BufReader::new(conn.try_clone().expect("clone stream"));
    let mut writer = conn;
    loop {
        let mut request_line = String::new();
        match reader.read_line(&mut request_line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut length = 0usize;
        let mut target = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                let value = value.trim();
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.parse().unwrap_or(0),
                    "x-amz-target" => target = value.to_string(),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let operation = target
            .rsplit_once('.')
            .map(|(_, op)| op.to_string())
            .unwrap_or(target);
        let nth = {
            let mut counts = counts.lock().expect("counts lock");
            let n = counts.entry(operation.clone()).or_default();
            *n += 1;
            *n - 1
        };
        let call = Call {
            operation,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            nth,
        };
        calls.lock().expect("calls lock").push(call.clone());
        let reply = script(&call);
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nx-amzn-RequestId: glaux-peer-{}\r\n",
            reply.status,
            if reply.status == 200 { "OK" } else { "Error" },
            reply.body.len(),
            nth
        );
        if let Some(kind) = &reply.error_type {
            head.push_str(&format!("x-amzn-ErrorType: {kind}\r\n"));
        }
        head.push_str("\r\n");
        if writer.write_all(head.as_bytes()).is_err()
            || writer.write_all(reply.body.as_bytes()).is_err()
        {
            return;
        }
    }
}

/// Helpers that build Athena responses.
pub mod athena {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use serde_json::{Value, json};

    use super::{Peer, Reply};

    /// A peer whose query `id` is RUNNING until `StopQueryExecution`, then
    /// CANCELLED: the query a user presses Ctrl-C on. Each poll reports
    /// 4.2 MB more scanned, as a real scan would.
    pub fn runs_until_stopped(id: &'static str) -> Peer {
        let stopped = Arc::new(AtomicBool::new(false));
        Peer::start(move |call| match call.operation.as_str() {
            "StartQueryExecution" => Reply::ok(json!({"QueryExecutionId": id})),
            "GetQueryExecution" => {
                let state = if stopped.load(Ordering::SeqCst) {
                    "CANCELLED"
                } else {
                    "RUNNING"
                };
                Reply::ok(execution(id, state, 4_200_000 * (call.nth as i64 + 1)))
            }
            "StopQueryExecution" => {
                stopped.store(true, Ordering::SeqCst);
                Reply::ok(json!({}))
            }
            _ => Reply::error(400, "InvalidRequestException", "unexpected"),
        })
    }

    /// `GetQueryExecution`'s answer for a query in `state`.
    pub fn execution(id: &str, state: &str, scanned: i64) -> Value {
        json!({
            "QueryExecution": {
                "QueryExecutionId": id,
                "Status": {"State": state},
                "Statistics": {
                    "DataScannedInBytes": scanned,
                    "EngineExecutionTimeInMillis": 1234,
                    "TotalExecutionTimeInMillis": 1500,
                    "QueryQueueTimeInMillis": 10
                }
            }
        })
    }

    /// A FAILED query with Athena's error details.
    pub fn failed(
        id: &str,
        reason: &str,
        category: i32,
        error_type: i32,
        retryable: bool,
    ) -> Value {
        json!({
            "QueryExecution": {
                "QueryExecutionId": id,
                "Status": {
                    "State": "FAILED",
                    "StateChangeReason": reason,
                    "AthenaError": {
                        "ErrorCategory": category,
                        "ErrorType": error_type,
                        "Retryable": retryable,
                        "ErrorMessage": reason
                    }
                }
            }
        })
    }

    /// The column metadata of glaux's result rows.
    pub fn glaux_columns() -> Vec<(&'static str, &'static str)> {
        vec![
            ("time_ms", "bigint"),
            ("tag", "varchar"),
            ("object", "varchar"),
            ("seq", "bigint"),
            ("message", "varchar"),
        ]
    }

    /// One Athena row: cells as `VarCharValue`, `None` as an empty datum.
    pub fn row(cells: &[Option<String>]) -> Value {
        json!({
            "Data": cells
                .iter()
                .map(|c| match c {
                    Some(v) => json!({"VarCharValue": v}),
                    None => json!({}),
                })
                .collect::<Vec<_>>()
        })
    }

    /// A `GetQueryResults` page.
    pub fn page(columns: &[(&str, &str)], rows: Vec<Value>, next_token: Option<&str>) -> Value {
        let mut v = json!({
            "ResultSet": {
                "Rows": rows,
                "ResultSetMetadata": {
                    "ColumnInfo": columns
                        .iter()
                        .map(|(n, t)| json!({"Name": n, "Label": n, "Type": t}))
                        .collect::<Vec<_>>()
                }
            },
            "UpdateCount": 0
        });
        if let Some(t) = next_token {
            v["NextToken"] = json!(t);
        }
        v
    }

    /// The header row Athena puts first on the first page.
    pub fn header(columns: &[(&str, &str)]) -> Value {
        row(&columns
            .iter()
            .map(|(n, _)| Some(n.to_string()))
            .collect::<Vec<_>>())
    }
}
