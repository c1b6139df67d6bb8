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
    // The footer (in the REPL, after the rows) tells what the local
    // engine read, as Athena's tells what it scanned.
    assert!(
        regex::Regex::new(r"\d+ records? in [0-9.]+ s · read [0-9.]+ (B|KB|MB) · window")
            .unwrap()
            .is_match(&stdout),
        "{stdout}"
    );
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
    assert_eq!(out.status.code(), Some(2));
    let out = glaux().args(["--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in ["repl", "demo", "ingest", "query", "ddl"] {
        assert!(help.contains(cmd), "{help}");
    }
}

/// A demo store under `dir`, built once per test that needs it.
fn demo(dir: &std::path::Path) -> std::path::PathBuf {
    let mut c = glaux();
    c.args(["--now", "2024-05-01T12:00:00Z"]);
    glaux_testkit::demo_store(c, dir, &[])
}

#[test]
fn query_from_a_file_and_stdin_with_documented_exit_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo(dir.path());
    let file = dir.path().join("hunt.glaux");
    std::fs::write(
        &file,
        "# console logins from the suspicious address\neventName:ConsoleLogin\n  # and\nAND 10.0.0.1\n",
    )
    .unwrap();
    let base = |c: &mut Command| {
        c.args(["--now", "2024-05-01T12:00:00Z", "--store"])
            .arg(&store)
            .args(["query", "--format", "ndjson"]);
    };
    let mut c = glaux();
    base(&mut c);
    let from_file = c.arg("-f").arg(&file).output().unwrap();
    assert_eq!(
        from_file.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&from_file.stderr)
    );
    let mut c = glaux();
    base(&mut c);
    let from_args = c
        .arg("eventName:ConsoleLogin AND 10.0.0.1")
        .output()
        .unwrap();
    assert!(!from_file.stdout.is_empty());
    assert_eq!(from_file.stdout, from_args.stdout);
    // stdin, as `-`.
    let mut c = glaux();
    base(&mut c);
    let mut child = c
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"eventName:ConsoleLogin AND 10.0.0.1\n")
        .unwrap();
    let from_stdin = child.wait_with_output().unwrap();
    assert_eq!(from_stdin.status.code(), Some(0));
    assert_eq!(from_stdin.stdout, from_args.stdout);
    // No record: 1. A bad query in a file: 2, pointing into the file.
    let mut c = glaux();
    base(&mut c);
    let none = c.arg("no-such-token-anywhere").output().unwrap();
    assert_eq!(none.status.code(), Some(1));
    assert!(none.stdout.is_empty());
    std::fs::write(&file, "# comment\neventName:(a OR\n").unwrap();
    let mut c = glaux();
    base(&mut c);
    let bad = c.arg("-f").arg(&file).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("glaux::"), "{err}");
    // An empty file is an error, not "every record".
    std::fs::write(&file, "# nothing\n\n").unwrap();
    let mut c = glaux();
    base(&mut c);
    let empty = c.arg("-f").arg(&file).output().unwrap();
    assert_eq!(empty.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&empty.stderr).contains("the query is empty"));
}

#[test]
fn completions_and_help_examples() {
    for shell in ["bash", "zsh", "fish"] {
        let out = glaux().args(["completions", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(
            script.contains("glaux") && script.contains("ingest"),
            "{shell}"
        );
    }
    let out = glaux().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    for cmd in [
        "repl",
        "demo",
        "ingest",
        "query",
        "ddl",
        "config",
        "completions",
    ] {
        let out = glaux().args([cmd, "--help"]).output().unwrap();
        let help = String::from_utf8(out.stdout).unwrap();
        assert!(help.contains("Examples:"), "{cmd}: {help}");
    }
    let out = glaux().arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("Exit status:") && help.contains("1  a search returned no record"),
        "{help}"
    );
}

#[test]
fn repl_fields_saved_searches_jq_export_views() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo(dir.path());
    let export = dir.path().join("hits.csv");
    let script = format!(
        "\\sql off\n\\fields eventN\n\\help ranges\n\\format vertical\n\\limit 1\n\
         eventName:ConsoleLogin AND 10.0.0.1\n\\save logins\n\\saved\n\\limit 3\n\\format table\n\\run logins\n\
         \\jq .eventName\n\\jq .eventName | tonumber\n\\export {}\n\\export x.unknown\n\\timing on\n10.0.0.1\n\\jq .\n\\q\n",
        export.display()
    );
    let mut child = glaux()
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .env("COLUMNS", "120")
        .args(["--now", "2024-05-01T12:00:00Z", "--store"])
        .arg(&store)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    // \fields: names with counts and examples.
    let fields_line = stdout
        .lines()
        .find(|l| l.starts_with("eventName "))
        .unwrap_or_else(|| panic!("{stdout}"));
    // 2,000 generated CloudTrail events have eventName; examples follow.
    let cols: Vec<&str> = fields_line.split_whitespace().collect();
    assert_eq!(cols[1], "2000", "{fields_line}");
    assert!(cols.len() >= 3, "examples shown: {fields_line}");
    // \help ranges.
    assert!(stdout.contains("bytes:[1000 TO 5000]"), "{stdout}");
    // Vertical view: a header, then sorted, indented JSON.
    assert!(stdout.contains("── 1 ── 2024-"), "{stdout}");
    assert!(
        stdout.contains("\n  \"eventName\": \"ConsoleLogin\""),
        "{stdout}"
    );
    // Saved, listed, run again; the file is a query file for `-f`.
    assert!(stdout.contains("saved `logins`"), "{stdout}");
    assert!(
        stdout.contains("  logins  eventName:ConsoleLogin AND 10.0.0.1"),
        "{stdout}"
    );
    let saved = dir.path().join("data/glaux/saved/logins.glaux");
    assert_eq!(
        std::fs::read_to_string(&saved).unwrap(),
        "eventName:ConsoleLogin AND 10.0.0.1\n"
    );
    // \jq over the last results: one value per record.
    assert!(
        stdout.lines().filter(|l| *l == "\"ConsoleLogin\"").count() >= 1,
        "{stdout}"
    );
    assert!(stderr.contains("jq: the filter failed on"), "{stderr}");
    // \export by extension.
    let csv = std::fs::read_to_string(&export).unwrap();
    assert!(csv.starts_with("time,tag,object,seq,message\n"), "{csv}");
    assert!(
        stdout.contains(&format!("to {}", export.display())),
        "{stdout}"
    );
    assert!(stderr.contains("has no known extension"), "{stderr}");
    // \timing.
    assert!(stdout.contains("timing: compile "), "{stdout}");
    // Piped output: no escape codes anywhere.
    assert!(!stdout.contains('\u{1b}'), "escape codes in a pipe");
}
