//! The real REPL in a pseudo-terminal, typed at as a user would: a query
//! shows its SQL and rows, a `/"/` regex is submitted on Enter, `\explain` shows SQL, Tab completes a field from
//! the catalog, Ctrl-C stops a slow query (local or Athena) and the prompt
//! comes back, the spinner shows Athena's state and bytes scanned, and history
//! survives into the next session.
//!
//! The terminal is 160×200 (`stty` before the binary starts), so results
//! fit without a pager; escape codes are stripped before matching, so the
//! assertions read the text a user sees. Every expectation times out
//! (rather than hangs) after [`TIMEOUT_MS`].

use std::path::{Path, PathBuf};
use std::process::Command;

use glaux_testkit::AWS_TEST_ENV;
use glaux_testkit::peer::athena::runs_until_stopped;
use rexpect::process::WaitStatus;
use rexpect::reader::Options;
use rexpect::session::{PtySession, spawn_with_options};

const TIMEOUT_MS: u64 = 60_000;
const PROMPT: &str = "glaux [last 24h]> ";
const UP: &str = "\x1b[A";

/// A demo store (`scale` days' worth of sample logs ending now) under
/// `dir`.
fn demo_store(dir: &Path, scale: &str) -> PathBuf {
    let mut c = Command::new(env!("CARGO_BIN_EXE_glaux"));
    c.env("NO_COLOR", "1");
    glaux_testkit::demo_store(c, dir, &["--scale", scale])
}

/// The REPL in a pty with a clean environment: config, data and history
/// under `home`, no AWS but the fixed test credentials, colours on (as in
/// a real terminal; stripped before matching).
fn repl(home: &Path, args: &[&str]) -> PtySession {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("stty cols 160 rows 200 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_glaux"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TERM", "xterm-256color")
        .env("PAGER", "cat")
        .env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"));
    for (k, v) in AWS_TEST_ENV {
        c.env(k, v);
    }
    spawn_with_options(
        c,
        Options::default()
            .timeout_ms(Some(TIMEOUT_MS))
            .strip_ansi_escape_codes(true),
    )
    .unwrap()
}

/// Types `text` (a line editor reads keys, so `\r` is Enter; the pty
/// writer buffers until a newline, hence the flush).
fn keys(p: &mut PtySession, text: &str) {
    p.send(text).unwrap();
    p.flush().unwrap();
}

/// Types `line` and Enter, and returns what the REPL printed before its
/// next prompt. (The editor redraws the prompt on every key; the redraws
/// end at the `\n` that accepts the line, so what follows is output.)
fn enter(p: &mut PtySession, line: &str, prompt: &str) -> String {
    keys(p, &format!("{line}\r"));
    p.exp_string("\n").unwrap();
    p.exp_string(prompt).unwrap()
}

/// The footer after results (rexpect reads bytes as Latin-1, so the
/// pattern stays ASCII).
const FOOTER: &str = r"\d+ records?[^\n]* in [0-9.]+ s";

/// Ctrl-D at an empty prompt: the REPL says goodbye and exits 0.
fn quit(mut p: PtySession) {
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
    match p.process().wait().unwrap() {
        WaitStatus::Exited(_, code) => assert_eq!(code, 0),
        other => panic!("the REPL ended with {other:?}"),
    }
}

#[test]
fn type_a_query_see_sql_and_rows_explain_and_complete_a_field() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path(), "1");
    let store = store.to_str().unwrap();
    let mut p = repl(dir.path(), &["--store", store]);
    p.exp_string(PROMPT).unwrap();

    // A query: its SQL above the table, then rows, then the footer.
    let shown = enter(&mut p, "eventName:ConsoleLogin AND 10.0.0.1", PROMPT);
    let sql = shown
        .find("-- glaux query: eventName:ConsoleLogin AND 10.0.0.1")
        .expect("the SQL is shown");
    let row = shown.find("cloudtrail").expect("a row is shown");
    assert!(sql < row, "{shown}");
    assert!(shown.contains("ConsoleLogin"), "{shown}");
    assert!(regex_match(FOOTER, &shown), "{shown}");

    // A regex holding a quote is a whole query: Enter runs it (the
    // validator reads the line with the compiler's lexer).
    let shown = enter(&mut p, "/\"/", PROMPT);
    assert!(shown.contains("-- glaux query: /\"/"), "{shown}");

    // \explain: SQL, nothing run.
    let explained = enter(&mut p, "\\explain userIdentity.userName:alice", PROMPT);
    assert!(explained.contains("SELECT"), "{explained}");
    assert!(explained.contains("'alice'"), "{explained}");
    assert!(!regex_match(FOOTER, &explained), "{explained}");

    // Tab after a field prefix completes the name and its colon (the only
    // field starting so), and the completed query runs.
    keys(&mut p, "sourceIPAdd\t");
    p.exp_string("sourceIPAddress:").unwrap();
    let shown = enter(&mut p, "10.0.0.1", PROMPT);
    assert!(
        shown.contains("-- glaux query: sourceIPAddress:10.0.0.1"),
        "{shown}"
    );
    assert!(regex_match(FOOTER, &shown), "{shown}");

    // Tab after `field:` offers the field's example values.
    keys(&mut p, "eventName:Console\t");
    p.exp_string("eventName:ConsoleLogin").unwrap();
    // Ctrl-C at the prompt drops the line and keeps the session.
    p.send_control('c').unwrap();
    p.exp_string(PROMPT).unwrap();
    quit(p);
}

fn regex_match(pattern: &str, text: &str) -> bool {
    regex::Regex::new(pattern).unwrap().is_match(text)
}

#[test]
fn ctrl_c_during_a_slow_athena_query_returns_to_the_prompt() {
    let peer = runs_until_stopped("q-pty");
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("no-local-store");
    let mut p = repl(
        dir.path(),
        &[
            "--engine",
            "athena",
            "--endpoint-url",
            &peer.url,
            "--store",
            store.to_str().unwrap(),
        ],
    );
    p.exp_string("glaux athena [last 24h]> ").unwrap();
    keys(&mut p, "slow query\r");
    p.exp_string("\n").unwrap();
    // The spinner tells the state and the bytes scanned as Athena reports
    // them (the peer adds 4.2 MB a poll), on the terminal's stderr.
    p.exp_regex(r"[0-9.]+ s [^ ]+ Athena RUNNING [^ ]+ scanned [0-9.]+ MB")
        .unwrap();
    peer.wait_for("GetQueryExecution", 3);
    p.send_control('c').unwrap();
    p.exp_string("cancelled").unwrap();
    p.exp_string("glaux athena [last 24h]> ").unwrap();
    assert_eq!(peer.count("StopQueryExecution"), 1);

    // The session goes on.
    let shown = enter(&mut p, "\\engine", "glaux athena [last 24h]> ");
    assert!(
        shown.contains("engine: Athena, database glaux, workgroup primary"),
        "{shown}"
    );
    quit(p);
}

#[test]
fn ctrl_c_during_a_slow_local_query_returns_to_the_prompt() {
    // Ten demo days' worth of records and a regex that reads every token
    // of the window, with no limit (a limit would stop the walk over the
    // hours after the newest): seconds on the local engine, long enough
    // to interrupt once the spinner shows the search is under way.
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path(), "10");
    let mut p = repl(dir.path(), &["--store", store.to_str().unwrap()]);
    p.exp_string(PROMPT).unwrap();
    enter(&mut p, "\\limit 0", PROMPT);
    keys(&mut p, "/.*1.*/\r");
    p.exp_string("\n").unwrap();
    p.exp_string("local engine: searching").unwrap();
    p.send_control('c').unwrap();
    let shown = p.exp_string(PROMPT).unwrap();
    assert!(shown.contains("cancelled"), "{shown}");
    assert!(
        !regex_match(FOOTER, &shown),
        "no results after a cancel: {shown}"
    );
    // The engine is still usable after its scan was dropped mid-way.
    let shown = enter(&mut p, "eventName:ConsoleLogin", PROMPT);
    assert!(regex_match(FOOTER, &shown), "{shown}");
    quit(p);
}

#[test]
fn history_persists_across_two_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path(), "1");
    let store = store.to_str().unwrap();

    let mut first = repl(dir.path(), &["--store", store]);
    first.exp_string(PROMPT).unwrap();
    let shown = enter(&mut first, "eventName:AssumeRole", PROMPT);
    assert!(regex_match(FOOTER, &shown), "{shown}");
    // A line starting with a space stays out of history.
    enter(&mut first, " secretToken", PROMPT);
    quit(first);

    let history = dir.path().join("state").join("glaux").join("history");
    let saved = std::fs::read_to_string(&history).unwrap();
    assert!(saved.contains("eventName:AssumeRole"), "{saved}");
    assert!(!saved.contains("secretToken"), "{saved}");

    // The next session recalls it with Up and runs it with Enter.
    let mut second = repl(dir.path(), &["--store", store]);
    second.exp_string(PROMPT).unwrap();
    keys(&mut second, UP);
    second.exp_string("eventName:AssumeRole").unwrap();
    let shown = enter(&mut second, "", PROMPT);
    assert!(
        shown.contains("-- glaux query: eventName:AssumeRole"),
        "{shown}"
    );
    assert!(regex_match(FOOTER, &shown), "{shown}");
    quit(second);
}

/// `top` and `timechart` in the REPL's table view: right-aligned counts,
/// a bar per row in Unicode blocks, the longest bar for the largest count,
/// and every bucket of the window, the empty ones with 0.
#[test]
fn top_and_timechart_draw_a_bar_per_row() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path(), "1");
    let store = store.to_str().unwrap();
    let mut p = repl(dir.path(), &["--store", store]);
    p.exp_string(PROMPT).unwrap();
    let shown = enter(&mut p, "\\sql off", PROMPT);
    assert!(shown.contains("sql: off"), "{shown}");

    // The pty's bytes as UTF-8 (the session hands them over a byte a char).
    let utf8 = |s: String| -> String {
        String::from_utf8(s.chars().map(|c| c as u32 as u8).collect()).unwrap_or(s)
    };
    let shown = utf8(enter(&mut p, "* | top 3 eventName", PROMPT));
    let lines: Vec<&str> = shown.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.contains("eventName") && l.contains("count") && l.contains("percent"))
        .unwrap_or_else(|| panic!("{shown}"));
    let rule: Vec<char> = lines[header + 1].chars().collect();
    let rows: Vec<&str> = lines[header + 2..header + 5].to_vec();
    let bar = |l: &str| l.chars().filter(|c| ('█'..='▏').contains(c)).count();
    assert!(rows.iter().all(|r| bar(r) > 0), "{shown}");
    // Ordered by count: the first bar is the longest, and full.
    assert!(
        bar(rows[0]) >= bar(rows[1]) && bar(rows[1]) >= bar(rows[2]),
        "{shown}"
    );
    assert!(rows[0].contains("██████████"), "{shown}");
    // Counts right-aligned: each ends where the rule under `count` (the
    // second column) ends.
    let first_gap = rule.iter().position(|c| *c == ' ').unwrap();
    let second = first_gap + rule[first_gap..].iter().position(|c| *c != ' ').unwrap();
    let end = second + rule[second..].iter().position(|c| *c == ' ').unwrap();
    for r in &rows {
        let chars: Vec<char> = r.chars().collect();
        assert!(
            chars[end - 1].is_ascii_digit() && chars[end] == ' ',
            "{shown}"
        );
    }
    assert!(regex_match(r"3 rows in [0-9.]+ s", &shown), "{shown}");

    let shown = utf8(enter(&mut p, "* | timechart span=1h count()", PROMPT));
    let buckets: Vec<&str> = shown
        .lines()
        .filter(|l| regex_match(r"^\d{4}-\d\d-\d\dT\d\d:00:00Z +\d+", l))
        .collect();
    // The last 24 hours, hour by hour: 24 buckets, or 25 when the window
    // does not start on the hour.
    assert!(matches!(buckets.len(), 24 | 25), "{shown}");
    assert!(buckets.iter().any(|l| bar(l) > 0), "{shown}");
    assert!(
        buckets
            .iter()
            .all(|l| !l.trim_end().ends_with(" 0") || bar(l) == 0),
        "an empty bucket has no bar: {shown}"
    );

    // `\summary F`: the last search (its stages dropped) with `| summary`,
    // echoed, then the field's name once over its top values.
    enter(&mut p, "tag:cloudtrail | head 1", PROMPT);
    let shown = utf8(enter(&mut p, "\\summary eventName", PROMPT));
    assert!(
        shown.contains("tag:cloudtrail | summary eventName"),
        "{shown}"
    );
    let rows: Vec<&str> = shown
        .lines()
        .skip_while(|l| !(l.contains("field") && l.contains("percent")))
        .skip(2)
        .take_while(|l| !l.trim().is_empty() && !regex_match(r"rows? in", l))
        .collect();
    assert_eq!(rows.len(), 5, "{shown}");
    assert!(rows[0].starts_with("eventName "), "{shown}");
    assert!(
        rows[1..].iter().all(|r| r.starts_with("          ")),
        "{shown}"
    );
    assert!(rows.iter().all(|r| bar(r) > 0), "{shown}");
    quit(p);
}
