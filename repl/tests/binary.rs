//! The real `glaux` binary: the demo store, the REPL over piped input
//! (multi-line input, backslash commands, SQL shown above results), and exit
//! statuses.

use std::io::Write;
use std::process::{Command, Stdio};

fn glaux() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_glaux"));
    c.env("NO_COLOR", "1").env("HOME", std::env::temp_dir());
    c
}

#[test]
fn demo_then_repl_session() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let out = glaux()
        .args(["demo", "--no-repl", "--dir"])
        .arg(&demo)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("objects failed:          0"), "{text}");

    let mut child = glaux()
        .env("XDG_DATA_HOME", dir.path())
        .env("COLUMNS", "200")
        .arg("--store")
        .arg(demo.join("store"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"eventName:ConsoleLogin AND 10.0.0.1\n\\sql off\n(eventName:ConsoleLogin OR\n eventName:AssumeRole) AND NOT 10.0.0.1\n\\limit 2\n\\format ndjson\n10.0.0.1\n\\explain a\n\\nope\n(a\n\\q\n",
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    // The first query shows its SQL, then a table of cloudtrail hits.
    let first_sql = stdout
        .find("-- glaux query: eventName:ConsoleLogin AND 10.0.0.1")
        .expect("SQL shown");
    let first_table = stdout.find("cloudtrail").expect("hits shown");
    assert!(first_sql < first_table, "{stdout}");
    assert!(stdout.contains("sql: off"));
    // After \sql off, only \explain prints SQL again.
    assert_eq!(stdout.matches("-- glaux query:").count(), 2, "{stdout}");
    // Multi-line input became one query.
    assert!(
        !stderr.contains("never closed") || stderr.matches("never closed").count() == 1,
        "{stderr}"
    );
    // \limit 2 + \format ndjson.
    let ndjson: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("{\"time\":"))
        .collect();
    assert_eq!(ndjson.len(), 2, "{stdout}");
    assert!(stderr.contains("unknown command \\nope"), "{stderr}");
}

#[test]
fn exit_statuses() {
    let out = glaux()
        .args(["query", "--store", "/nonexistent", "--explain", "a AND"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("glaux::dangling_operator"));
    let out = glaux()
        .args(["query", "--store", "/nonexistent", "a"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = glaux().args(["--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in ["repl", "demo", "ingest", "query", "ddl"] {
        assert!(help.contains(cmd), "{help}");
    }
}
