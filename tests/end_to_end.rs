//! End to end through the CLI path: generate sample logs, `glaux ingest`
//! them, `glaux query` them, and compare the exact set of records with what
//! the reference evaluator finds in the raw records.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use glaux_compiler::parser::parse;
use glaux_samples::{SampleFile, SampleOptions, generate, write_to};
use glaux_tests::{Record, glaux, matches};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

const END: &str = "2024-05-01T12:00:00Z";

/// A raw record with everything the expectation needs.
struct Expected {
    object: String,
    seq: i64,
    text: String,
    time: Option<DateTime<Utc>>,
    record: Record,
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: PathBuf,
    raw: PathBuf,
    records: Vec<Expected>,
}

/// The record's time by the documented rules, as the generator made it:
/// `eventTime`, `ts` (epoch millis), a leading RFC 3339 time, or the time in
/// the object's name. `None`: the file's mtime (a malformed JSON line in the
/// app log, whose name has no time), which is the time the test ran.
fn reference_time(file: &SampleFile, text: &str) -> Option<DateTime<Utc>> {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        if let Some(s) = v.get("eventTime").and_then(|x| x.as_str()) {
            return Some(t(s));
        }
        if let Some(ms) = v.get("ts").and_then(|x| x.as_i64()) {
            return Some(Utc.timestamp_millis_opt(ms).unwrap());
        }
    }
    if let Some(first) = text.split_whitespace().next()
        && let Ok(x) = DateTime::parse_from_rfc3339(first)
    {
        return Some(x.with_timezone(&Utc));
    }
    let name = file.path.rsplit('/').next().unwrap();
    let stamp = name
        .split('_')
        .find(|p| p.len() == 14 && p.ends_with('Z') && p.as_bytes()[8] == b'T')?;
    Some(
        Utc.from_utc_datetime(
            &chrono::NaiveDateTime::parse_from_str(&format!("{}00", &stamp[..13]), "%Y%m%dT%H%M%S")
                .unwrap(),
        ),
    )
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    let files = generate(&SampleOptions::small(t(END)));
    write_to(&raw, &files).unwrap();
    let mut records = Vec::new();
    for f in &files {
        let object = std::fs::canonicalize(raw.join(&f.path))
            .unwrap()
            .display()
            .to_string();
        for (seq, text) in f.records.iter().enumerate() {
            let time = reference_time(f, text);
            records.push(Expected {
                object: object.clone(),
                seq: seq as i64,
                text: text.clone(),
                time,
                // These queries test neither `tag:` nor `@time` (the
                // differential test does); the window is applied by `expected`.
                record: Record::new(time.map_or(0, |t| t.timestamp_millis()), "", text),
            });
        }
    }
    let store = dir.path().join("store");
    Fixture {
        _dir: dir,
        store,
        raw,
        records,
    }
}

fn ingest(fx: &Fixture) -> String {
    ingest_with(fx, &[])
}

fn ingest_with(fx: &Fixture, options: &[&str]) -> String {
    let mut args = vec![
        "ingest",
        "--store",
        fx.store.to_str().unwrap(),
        fx.raw.to_str().unwrap(),
    ];
    args.extend(options);
    let run = glaux(args);
    assert_eq!(
        run.status, 0,
        "ingest failed: {}\n{}",
        run.stdout, run.stderr
    );
    run.stdout
}

/// Runs a query over `[from, to)` and returns (object, seq) → message.
fn query(store: &Path, q: &str, from: &str, to: &str) -> BTreeSet<(String, i64, String)> {
    let run = glaux([
        "query",
        "--store",
        store.to_str().unwrap(),
        "--from",
        from,
        "--to",
        to,
        "--limit",
        "0",
        "--format",
        "ndjson",
        q,
    ]);
    assert!(
        run.status == 0 || run.status == 1,
        "query {q:?} failed: {}",
        run.stderr
    );
    // Exit status 1 exactly when nothing matched.
    assert_eq!(
        run.status == 1,
        run.stdout.is_empty(),
        "query {q:?}: status {} with output {:?}",
        run.status,
        run.stdout
    );
    run.stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["object"].as_str().unwrap().to_string(),
                v["seq"].as_i64().unwrap(),
                v["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn expected(fx: &Fixture, q: &str, from: &str, to: &str) -> BTreeSet<(String, i64, String)> {
    let ast = parse(q).unwrap();
    let (from, to) = (t(from), t(to));
    fx.records
        .iter()
        .filter(|r| r.time.is_some_and(|t| t >= from && t < to) && matches(&ast, &r.record))
        .map(|r| (r.object.clone(), r.seq, r.text.clone()))
        .collect()
}

type Hits = BTreeSet<(String, i64, String)>;

/// Compares result sets, showing only the differences.
fn assert_same(got: &Hits, want: &Hits, what: &str) {
    if got == want {
        return;
    }
    let show = |s: Vec<&(String, i64, String)>| {
        s.iter()
            .take(5)
            .map(|(o, q, m)| format!("  {o}#{q}: {}", m.chars().take(160).collect::<String>()))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let missing: Vec<_> = want.difference(got).collect();
    let extra: Vec<_> = got.difference(want).collect();
    panic!(
        "{what}: got {}, want {}\nmissing {}:\n{}\nextra {}:\n{}",
        got.len(),
        want.len(),
        missing.len(),
        show(missing.clone()),
        extra.len(),
        show(extra.clone())
    );
}

const QUERIES: &[&str] = &[
    "eventName:ConsoleLogin AND 10.0.0.1",
    "10.0.0.1",
    "10.0.0.11",
    "110.0.0.119",
    "\"fe80::1\"",
    "\"2001:db8::1\"",
    "sourceIPAddress:\"2001:DB8::1\"",
    "userIdentity.userName:alice",
    "userIdentity.userName:ALICE",
    "émilie",
    "\"o'brien\"",
    "\"failed password\"",
    "\"Failed password for root\"",
    "\"password failed\"",
    "msg:\"failed password\" AND NOT level:error",
    "eventName:Describe*",
    "eventName:Describe* AND NOT errorCode:AccessDenied",
    "NOT eventName:ConsoleLogin",
    "NOT 10.0.0.1 AND NOT REJECT",
    "errorCode:AccessDenied OR errorCode:ThrottlingException",
    "(eventName:CreateUser OR eventName:AttachUserPolicy) AND sourceIPAddress:203.0.113.7",
    "requestParameters.userName:\"\\\"quoted\\\" user\"",
    "requestParameters.key:\"Users alice notes.txt\"",
    "\"файл.txt\"",
    "Größe",
    "client.ip:10.0.0.1 AND tags:api",
    "tags:api OR tags:web",
    "latency_ms:1* OR latency_ms:99*",
    "readOnly:true AND eventSource:s3.amazonaws.com",
    "userIdentity.sessionContext.sessionIssuer.userName:OrganizationAccountAccessRole",
    "userIdentity.arn:arn:aws:iam::123456789012:user/alice",
    "\"not authorized\" AND awsRegion:eu-west-1",
    "resources.ARN:i-*",
    "version AND interface-id",
    "REJECT AND 3389",
    "\"REJECT OK\"",
    "us-east-1 OR eu-west-1 AND NOT readOnly:true",
    "alice OR bob OR émilie OR admin",
    "NOT (alice OR bob)",
    "nothing-matches-this",
];

#[test]
fn queries_return_exactly_the_reference_records() {
    let fx = fixture();
    let report = ingest(&fx);
    assert!(
        report.contains(&format!("records stored:          {}", fx.records.len())),
        "{report}"
    );
    assert!(report.contains("malformed JSON lines:    "), "{report}");
    let (from, to) = ("2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z");
    let mut empty = Vec::new();
    for q in QUERIES {
        let got = query(&fx.store, q, from, to);
        let want = expected(&fx, q, from, to);
        assert_same(&got, &want, &format!("query {q:?}"));
        if want.is_empty() {
            empty.push(*q);
        }
    }
    // The data set exercises most queries (the test must be able to fail).
    assert!(empty.len() <= 2, "these queries match nothing: {empty:?}");
    let readme = expected(&fx, QUERIES[0], from, to);
    assert!(
        !readme.is_empty(),
        "the README query finds nothing in the samples"
    );
}

#[test]
fn time_windows_cut_exactly() {
    let fx = fixture();
    ingest(&fx);
    for (from, to) in [
        ("2024-05-01T08:00:00Z", "2024-05-01T09:00:00Z"),
        ("2024-05-01T08:17:00Z", "2024-05-01T10:42:30Z"),
        ("2024-05-01T11:59:00Z", "2024-05-01T12:00:00Z"),
        ("2023-01-01T00:00:00Z", "2023-01-02T00:00:00Z"),
    ] {
        for q in [
            "10.0.0.1",
            "NOT eventName:ConsoleLogin",
            "\"failed password\"",
        ] {
            let got = query(&fx.store, q, from, to);
            let want = expected(&fx, q, from, to);
            assert_same(&got, &want, &format!("query {q:?} in [{from}, {to})"));
        }
    }
}

#[test]
fn malformed_lines_are_stored_and_findable() {
    let fx = fixture();
    let report = ingest(&fx);
    // Every malformed line of the app log is reported, and its time fell
    // back to the file's mtime (the app log's name carries no time).
    let app: Vec<&Expected> = fx
        .records
        .iter()
        .filter(|r| r.object.ends_with("auth-service.ndjson"))
        .collect();
    let not_json = app
        .iter()
        .filter(|r| {
            !serde_json::from_str::<serde_json::Value>(&r.text).is_ok_and(|v| v.is_object())
        })
        .count();
    let malformed = app
        .iter()
        .filter(|r| r.text.contains("\"truncated"))
        .count();
    assert!(malformed > 0);
    assert!(
        report.contains(&format!("malformed JSON lines:    {not_json} ")),
        "{report}"
    );
    assert!(
        report.contains(&format!("time from file mtime:    {malformed}\n")),
        "{report}"
    );
    let run = glaux([
        "query",
        "--store",
        fx.store.to_str().unwrap(),
        "--since",
        "1d",
        "--limit",
        "0",
        "--format",
        "ndjson",
        "truncated AND level",
    ]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), malformed, "{}", run.stdout);
}

#[test]
fn ingesting_twice_does_not_duplicate() {
    let fx = fixture();
    ingest(&fx);
    let count_files = || {
        walk(&fx.store)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .count()
    };
    let files = count_files();
    let before = query(
        &fx.store,
        "10.0.0.1",
        "2024-05-01T00:00:00Z",
        "2024-05-02T00:00:00Z",
    );
    let catalog = glaux_store::catalog::read(&glaux_store::Store::new(&fx.store)).unwrap();
    // The same objects again: each is skipped, nothing written.
    let again = ingest(&fx);
    let objects = again
        .lines()
        .find_map(|l| l.strip_prefix("objects read:"))
        .unwrap()
        .trim();
    assert_ne!(objects, "0");
    assert!(
        again.contains(&format!("objects unchanged:       {objects} (")),
        "{again}"
    );
    assert!(again.contains("files written:           0\n"), "{again}");
    // With another tag each object is a new version: rewritten in place.
    let retagged = ingest_with(&fx, &["--tag", "other"]);
    assert!(
        retagged.contains("objects unchanged:       0 ("),
        "{retagged}"
    );
    assert_eq!(count_files(), files);
    // The field catalog is per object, so counts do not double either.
    assert_eq!(
        glaux_store::catalog::read(&glaux_store::Store::new(&fx.store)).unwrap(),
        catalog
    );
    let after = query(
        &fx.store,
        "10.0.0.1",
        "2024-05-01T00:00:00Z",
        "2024-05-02T00:00:00Z",
    );
    assert_eq!(before, after);
}

fn walk(p: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn limit_keeps_the_newest() {
    let fx = fixture();
    ingest(&fx);
    let run = glaux([
        "query",
        "--store",
        fx.store.to_str().unwrap(),
        "--from",
        "2024-05-01T00:00:00Z",
        "--to",
        "2024-05-02T00:00:00Z",
        "--limit",
        "5",
        "--format",
        "ndjson",
        "10.0.0.1",
    ]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let times: Vec<String> = run
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["time"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(times.len(), 5);
    let ast = parse("10.0.0.1").unwrap();
    let mut all: Vec<DateTime<Utc>> = fx
        .records
        .iter()
        .filter(|r| matches(&ast, &r.record))
        .filter_map(|r| r.time)
        .collect();
    all.sort();
    all.reverse();
    let want: Vec<String> = all[..5]
        .iter()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .collect();
    assert_eq!(times, want);
    assert!(run.stderr.contains("limit 5 reached"), "{}", run.stderr);
}

#[test]
fn every_format_prints_the_same_records() {
    let fx = fixture();
    ingest(&fx);
    let args = |format: &str| {
        glaux([
            "query",
            "--store",
            fx.store.to_str().unwrap(),
            "--from",
            "2024-05-01T00:00:00Z",
            "--to",
            "2024-05-02T00:00:00Z",
            "--format",
            format,
            "eventName:ConsoleLogin AND 10.0.0.1",
        ])
    };
    let nd = args("ndjson");
    let n = nd.stdout.lines().count();
    assert!(n > 0);
    let json: serde_json::Value = serde_json::from_str(&args("json").stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), n);
    let csv = args("csv").stdout;
    assert!(csv.starts_with("time,tag,object,seq,message\n"));
    let table = args("table").stdout;
    assert!(table.starts_with("time"));
    assert_eq!(table.lines().count(), n + 2);
    assert!(table.contains("cloudtrail"));
}

#[test]
fn explain_prints_sql_and_runs_nothing() {
    let run = glaux([
        "query",
        "--store",
        "/nonexistent/store",
        "--explain",
        "--now",
        "2024-05-01T12:00:00Z",
        "eventName:ConsoleLogin AND 10.0.0.1",
    ]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let sql = run.stdout;
    assert!(
        sql.starts_with("-- glaux query: eventName:ConsoleLogin AND 10.0.0.1\n"),
        "{sql}"
    );
    assert!(
        sql.contains(
            "-- window: 2024-04-30T12:00:00Z .. 2024-05-01T12:00:00Z (last 24 hours, the default"
        ),
        "{sql}"
    );
    assert!(
        sql.contains("-- partitions: dt 2024-04-30-12 .. 2024-05-01-11 (24 hours)"),
        "{sql}"
    );
    assert!(sql.trim_end().ends_with(';'));
}

#[test]
fn bad_queries_and_options_are_diagnosed() {
    let run = glaux(["query", "--store", "/x", "--explain", "(a OR b"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr.contains("glaux::unclosed_paren"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("this `(` is never closed"),
        "{}",
        run.stderr
    );
    let run = glaux(["query", "--store", "/x", "--since", "5y", "a"]);
    assert_eq!(run.status, 2);
    assert!(run.stderr.contains("not a duration"), "{}", run.stderr);
    let run = glaux([
        "query",
        "--store",
        "/x",
        "--since",
        "1h",
        "--from",
        "2024-01-01",
        "a",
    ]);
    assert_eq!(run.status, 2);
    let run = glaux(["query", "--store", "/nonexistent/store", "a"]);
    assert_eq!(run.status, 2);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
}

#[test]
fn help_states_the_default_window() {
    let run = glaux(["query", "--help"]);
    assert_eq!(run.status, 0);
    assert!(
        run.stdout.contains("the window is the last 24 hours"),
        "{}",
        run.stdout
    );
}

#[test]
fn ddl_is_printed_with_projection() {
    let run = glaux([
        "ddl",
        "--location",
        "s3://my-bucket/glaux/",
        "--database",
        "sec",
    ]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout);
    let run = glaux(["ddl", "--location", "/local/path"]);
    assert_eq!(run.status, 2);
}

/// `dt` predicates prune directories: a corrupt file in an hour outside the
/// window is never opened, and the same file inside the window is, by a
/// search reading every message of it (so the test can fail). A search
/// the index decides, export or not, walks only the hours the token-hours
/// table lists for its tokens, and the corrupt hour lists none: it is not
/// opened either.
#[test]
fn partitions_outside_the_window_are_never_read() {
    let fx = fixture();
    ingest(&fx);
    for table in ["indices", "messages"] {
        let dir = fx.store.join(table).join("dt=2024-04-30-00");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("corrupt.parquet"), b"this is not parquet").unwrap();
    }
    let args = |from: &str, to: &str, limit: &str, q: &str| {
        glaux([
            "query",
            "--store",
            fx.store.to_str().unwrap(),
            "--from",
            from,
            "--to",
            to,
            "--limit",
            limit,
            "--format",
            "ndjson",
            q,
        ])
    };
    for q in ["10.0.0.1", "NOT 10.0.0.1", "\"failed password\""] {
        for limit in ["0", "100"] {
            let run = args("2024-05-01T08:00:00Z", "2024-05-01T09:00:00Z", limit, q);
            assert_ne!(run.status, 2, "{q}: {}", run.stderr);
        }
    }
    // Every message of the window: the corrupt file in range is read.
    let run = args(
        "2024-04-30T00:00:00Z",
        "2024-05-01T09:00:00Z",
        "0",
        "NOT 10.0.0.1",
    );
    assert_eq!(
        run.status, 2,
        "the corrupt file in range must be read: {}",
        run.stdout
    );
    // A walk, with a limit or without (an export finds its keys the same
    // way): the token-hours table lists no token in the corrupt hour.
    for q in ["10.0.0.1", "\"failed password\""] {
        for limit in ["0", "100"] {
            let run = args("2024-04-30T00:00:00Z", "2024-05-01T09:00:00Z", limit, q);
            assert_eq!(run.status, 0, "{q} --limit {limit}: {}", run.stderr);
        }
    }
}

/// Re-ingesting an object whose records moved to another hour (here: a text
/// log timed by its mtime, touched an hour later) replaces them; a file named
/// twice is ingested once.
#[test]
fn reingest_after_a_time_change_replaces_records() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "line one alpha\nline two alpha\n").unwrap();
    let store = dir.path().join("store");
    let ingest = || {
        let run = glaux([
            "ingest",
            "--store",
            store.to_str().unwrap(),
            log.to_str().unwrap(),
            log.to_str().unwrap(),
        ]);
        assert_eq!(run.status, 0, "{}", run.stderr);
        assert!(
            run.stdout.contains("objects read:            1\n"),
            "{}",
            run.stdout
        );
        assert!(
            run.stdout.contains("time from file mtime:    2\n"),
            "{}",
            run.stdout
        );
    };
    let f = std::fs::File::options().write(true).open(&log).unwrap();
    f.set_modified(t("2024-05-01T08:30:00Z").into()).unwrap();
    ingest();
    f.set_modified(t("2024-05-01T09:30:00Z").into()).unwrap();
    ingest();
    let hits = query(
        &store,
        "alpha",
        "2024-05-01T00:00:00Z",
        "2024-05-02T00:00:00Z",
    );
    assert_eq!(hits.len(), 2, "{hits:?}");
    let hits = query(
        &store,
        "alpha",
        "2024-05-01T09:00:00Z",
        "2024-05-01T10:00:00Z",
    );
    assert_eq!(hits.len(), 2, "{hits:?}");
}

/// Ingest keeps a catalog of field paths; a field name close to a known one
/// is an error naming it, through the real CLI.
#[test]
fn misspelled_fields_are_caught_with_the_store_catalog() {
    let fx = fixture();
    ingest(&fx);
    let catalog = glaux_store::catalog::read(&glaux_store::Store::new(&fx.store)).unwrap();
    // Counts are records per field, from the raw data.
    let with_event_name = fx
        .records
        .iter()
        .filter(|r| r.record.values.iter().any(|(f, _)| f == "eventName"))
        .count() as u64;
    assert!(with_event_name > 0);
    assert_eq!(catalog.fields.get("eventName"), Some(&with_event_name));
    assert!(catalog.fields.contains_key("userIdentity.userName"));
    // By default a warning: the clause matches nothing, the query runs
    // (exit 1, nothing found), the hint is kept.
    let store = fx.store.to_str().unwrap();
    let window = [
        "--from",
        "2024-04-01T00:00:00Z",
        "--to",
        END,
        "--limit",
        "0",
    ];
    let query = |q: &str| {
        let mut args = vec!["query", "--store", store, "--format", "ndjson"];
        args.extend(window);
        args.push(q);
        glaux(args)
    };
    let run = query("evntName:ConsoleLogin");
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("warning") || run.stderr.contains("⚠"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("did you mean `eventName`?"),
        "{}",
        run.stderr
    );
    // In an OR, the other clause still finds its records.
    let either = query("evntName:ConsoleLogin OR eventName:ConsoleLogin");
    let known = query("eventName:ConsoleLogin");
    assert_eq!(known.status, 0, "{}", known.stderr);
    assert!(known.stdout.lines().count() > 0);
    assert_eq!(either.stdout, known.stdout, "{}", either.stderr);
    // `--strict`: an error (exit 2), before anything runs.
    let run = glaux([
        "query",
        "--store",
        store,
        "--strict",
        "evntName:ConsoleLogin",
    ]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("did you mean `eventName`?"),
        "{}",
        run.stderr
    );
    // A correct field runs; an object path (`userIdentity:*`) is known too.
    for ok in ["eventName:ConsoleLogin", "userIdentity:*"] {
        let run = glaux(["query", "--store", fx.store.to_str().unwrap(), ok]);
        // It runs (0 or 1: the fixture's records may be outside the
        // default window); only an error would be 2.
        assert_ne!(run.status, 2, "{ok}: {}", run.stderr);
        assert!(!run.stderr.contains("unknown field"), "{}", run.stderr);
    }
}

/// A query the optimizer proves empty runs nothing and says so; its
/// `--explain` is the header alone, with the reason.
#[test]
fn contradictions_run_nothing() {
    let fx = fixture();
    ingest(&fx);
    let store = fx.store.to_str().unwrap();
    for q in [
        "alice AND NOT alice",
        "tag:json tag:text",
        "@time:<2024-01-01 alice",
    ] {
        let run = glaux([
            "query", "--store", store, "--since", "1d", "--format", "ndjson", q,
        ]);
        // Nothing matched: exit status 1, as for any empty result.
        assert_eq!(run.status, 1, "{q}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{q}");
        assert!(run.stderr.contains("nothing ran"), "{q}: {}", run.stderr);
        let explain = glaux(["query", "--store", store, "--since", "1d", "--explain", q]);
        assert!(
            explain.stdout.contains("-- nothing to run"),
            "{}",
            explain.stdout
        );
        assert!(!explain.stdout.contains("SELECT"), "{}", explain.stdout);
    }
}

/// Runs `glaux query` with `--format` and returns stdout (status 0).
fn query_table(store: &Path, q: &str, format: &str, from: &str, to: &str) -> String {
    let run = glaux([
        "query",
        "--store",
        store.to_str().unwrap(),
        "--from",
        from,
        "--to",
        to,
        "--format",
        format,
        q,
    ]);
    assert_eq!(run.status, 0, "query {q:?}: {}", run.stderr);
    run.stdout
}

/// The JSON records in `[from, to)` with their place in the raw files
/// (object, line), as the test reads them.
fn json_records<'a>(
    fx: &'a Fixture,
    from: &str,
    to: &str,
) -> Vec<(&'a Expected, serde_json::Value)> {
    let (from, to) = (t(from), t(to));
    fx.records
        .iter()
        .filter(|r| r.time.is_some_and(|x| x >= from && x < to))
        .filter_map(|r| Some((r, serde_json::from_str(&r.text).ok()?)))
        .filter(|(_, v): &(&Expected, serde_json::Value)| v.is_object())
        .collect()
}

/// The JSON records in `[from, to)` with their times.
fn json_in(fx: &Fixture, from: &str, to: &str) -> Vec<(DateTime<Utc>, serde_json::Value)> {
    json_records(fx, from, to)
        .into_iter()
        .map(|(r, v)| (r.time.expect("json_records keeps timed records"), v))
        .collect()
}

/// The rows of NDJSON output.
fn ndjson_rows(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A JSON record's `eventName`, when it is a string.
fn event_name(v: &serde_json::Value) -> Option<String> {
    v.get("eventName")
        .and_then(|n| n.as_str())
        .map(String::from)
}

/// A field's values in a JSON record by the documented rules, as the test
/// reads them: a scalar as its JSON text (a string as written), an array's
/// scalar elements, nothing for null, an object or a missing path.
fn field_values(v: &serde_json::Value, path: &str) -> BTreeSet<String> {
    let scalar = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match v.pointer(&format!("/{}", path.replace('.', "/"))) {
        Some(serde_json::Value::Array(xs)) => xs.iter().filter_map(scalar).collect(),
        Some(x) => scalar(x).into_iter().collect(),
        None => BTreeSet::new(),
    }
}

/// A record's place in time order (time, object, line) and the value an
/// `earliest`/`latest` picked there.
type Picked<'a> = ((DateTime<Utc>, &'a str, i64), String);

/// How many of `records` hold each `eventName`.
fn event_name_counts(
    records: &[(DateTime<Utc>, serde_json::Value)],
) -> std::collections::BTreeMap<String, u64> {
    let mut counts = std::collections::BTreeMap::new();
    for (_, v) in records {
        if let Some(n) = event_name(v) {
            *counts.entry(n).or_default() += 1;
        }
    }
    counts
}

/// Stages through the CLI: counts by a field, top values with percent, a
/// timeline, each answer computed here from the raw JSON (not by the
/// reference evaluator), in NDJSON with numbers as JSON numbers, and the
/// same table as CSV.
#[test]
fn stages_summarize_exactly_what_the_raw_logs_hold() {
    use std::collections::BTreeMap;
    let fx = fixture();
    ingest(&fx);
    let (from, to) = ("2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z");
    let records = json_in(&fx, from, to);
    let name = event_name;

    // stats count() by eventName: a row per name, ordered by name.
    let want = event_name_counts(&records);
    assert!(want.len() >= 3, "{want:?}");
    let out = query_table(
        &fx.store,
        "* | stats count() by eventName",
        "ndjson",
        from,
        to,
    );
    let got: Vec<(String, u64)> = out
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["eventName"].as_str().unwrap().to_string(),
                v["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, want.clone().into_iter().collect::<Vec<_>>());
    let csv = query_table(&fx.store, "* | stats count() by eventName", "csv", from, to);
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("eventName,count"));
    assert_eq!(lines.count(), want.len());

    // A search, then the stage: only ConsoleLogin records, by source IP,
    // those with more than one, most first.
    let mut by_ip: BTreeMap<String, u64> = BTreeMap::new();
    for (_, v) in &records {
        if name(v).as_deref() == Some("ConsoleLogin")
            && let Some(ip) = v.get("sourceIPAddress").and_then(|x| x.as_str())
        {
            *by_ip.entry(ip.to_string()).or_default() += 1;
        }
    }
    let mut want_ips: Vec<(String, u64)> = by_ip.into_iter().filter(|(_, c)| *c > 1).collect();
    want_ips.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    want_ips.truncate(5);
    let out = query_table(
        &fx.store,
        "eventName:ConsoleLogin | stats count() by sourceIPAddress | where count > 1 | sort -count | head 5",
        "ndjson",
        from,
        to,
    );
    let got: Vec<(String, u64)> = out
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["sourceIPAddress"].as_str().unwrap().to_string(),
                v["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(!want_ips.is_empty());
    assert_eq!(got, want_ips);

    // top 3 eventName: count and percent of the records with the field.
    let having: u64 = want.values().sum();
    let mut ranked: Vec<(String, u64)> = want.clone().into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let out = query_table(&fx.store, "* | top 3 eventName", "json", from, to);
    let got: serde_json::Value = serde_json::from_str(&out).unwrap();
    let got = got.as_array().unwrap();
    assert_eq!(got.len(), 3);
    for (row, (n, c)) in got.iter().zip(&ranked) {
        assert_eq!(row["eventName"], serde_json::json!(n));
        assert_eq!(row["count"], serde_json::json!(c));
        let percent = row["percent"].as_f64().unwrap();
        assert!(
            (percent - *c as f64 * 100.0 / having as f64).abs() < 1e-9,
            "{row}"
        );
    }

    // timechart span=1h count(): 24 buckets, empty ones 0, each record of
    // the window (JSON or not) in the hour of its time.
    let mut per_hour = [0u64; 24];
    for r in &fx.records {
        if let Some(x) = r.time.filter(|x| *x >= t(from) && *x < t(to)) {
            per_hour[chrono::Timelike::hour(&x) as usize] += 1;
        }
    }
    let out = query_table(
        &fx.store,
        "* | timechart span=1h count()",
        "ndjson",
        from,
        to,
    );
    let got: Vec<(String, u64)> = out
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["time"].as_str().unwrap().to_string(),
                v["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, u64)> = per_hour
        .iter()
        .enumerate()
        .map(|(h, c)| (format!("2024-05-01T{h:02}:00:00Z"), *c))
        .collect();
    assert!(want.iter().any(|(_, c)| *c > 0), "{want:?}");
    assert_eq!(got, want);
}

/// `values(F)`: hostile values (the list's separator and escape inside
/// them, quotes, unicode) come back exactly, and a group past the bound
/// lists the first 100 in code-point order and says how many it left out.
#[test]
fn values_lists_exactly_and_says_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    std::fs::create_dir_all(&raw).unwrap();
    let hostile = [
        "a,b",
        "c\\d",
        "x\\,y",
        "o'brien",
        "\"quoted\"",
        "ünïcode",
        "",
        ",",
        "\\",
        "' OR 1=1 --",
    ];
    let mut lines = Vec::new();
    for (i, v) in hostile.iter().enumerate() {
        let line =
            serde_json::json!({"time": format!("2024-05-01T10:00:{i:02}Z"), "g": "b", "u": v});
        lines.push(line.to_string());
    }
    // 150 distinct values, each twice, in group `a`.
    for i in 0..300 {
        let line = serde_json::json!({
            "time": format!("2024-05-01T11:{:02}:{:02}Z", i / 60, i % 60),
            "g": "a",
            "u": format!("v{:03}", i % 150),
        });
        lines.push(line.to_string());
    }
    std::fs::write(raw.join("app.ndjson"), lines.join("\n") + "\n").unwrap();
    let store = dir.path().join("store");
    let run = glaux([
        "ingest",
        "--store",
        store.to_str().unwrap(),
        raw.to_str().unwrap(),
    ]);
    assert_eq!(run.status, 0, "{}\n{}", run.stdout, run.stderr);

    let (from, to) = ("2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z");
    let q = "* | stats values(u) as us, dc(u) by g";
    let out = query_table(&store, q, "ndjson", from, to);
    let rows = ndjson_rows(&out);
    assert_eq!(rows.len(), 2, "{out}");
    assert_eq!(rows[0]["g"], "a");
    let want_a: Vec<String> = (0..100).map(|i| format!("v{i:03}")).collect();
    assert_eq!(rows[0]["us"], serde_json::json!(want_a));
    assert_eq!(rows[0]["dc(u)"], 150);
    let mut want_b: Vec<&str> = hostile.to_vec();
    want_b.sort();
    assert_eq!(rows[1]["g"], "b");
    assert_eq!(rows[1]["us"], serde_json::json!(want_b));
    assert_eq!(rows[1]["dc(u)"], hostile.len());

    // The table view and the footer say where the list stopped.
    let run = glaux([
        "query",
        "--store",
        store.to_str().unwrap(),
        "--from",
        from,
        "--to",
        to,
        q,
    ]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(run.stdout.contains("v099 … (+50 more)"), "{}", run.stdout);
    assert!(
        run.stderr.contains(
            "values() lists the first 100 distinct values in code-point order; 1 row had more"
        ),
        "{}",
        run.stderr
    );
}

/// `timechart … by F limit=N`: a column per value of F among the N with
/// the most records over the window (ties by value), `other` for the
/// records with a value past them, each bucket of the window a row, all
/// computed here from the raw JSON.
#[test]
fn timechart_by_draws_a_column_per_top_value_and_other() {
    let fx = fixture();
    ingest(&fx);
    let (from, to) = ("2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z");
    let records = json_in(&fx, from, to);
    let mut ranked: Vec<(String, u64)> = event_name_counts(&records).into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    assert!(
        ranked.len() > 2,
        "the sample needs values past the limit: {ranked:?}"
    );
    let top: Vec<String> = ranked.iter().take(2).map(|(n, _)| n.clone()).collect();
    // [hour][column]: the two top values, then other.
    let mut want = vec![[0u64; 3]; 24];
    for (time, v) in &records {
        if let Some(n) = event_name(v) {
            let at = top.iter().position(|t| *t == n).unwrap_or(2);
            want[chrono::Timelike::hour(time) as usize][at] += 1;
        }
    }
    let q = "* | timechart span=1h count() by eventName limit=2";
    let out = query_table(&fx.store, q, "csv", from, to);
    let mut lines = out.lines();
    assert_eq!(
        lines.next().unwrap(),
        format!("time,{},{},other", top[0], top[1])
    );
    let got: Vec<String> = lines.map(String::from).collect();
    let want: Vec<String> = want
        .iter()
        .enumerate()
        .map(|(h, c)| format!("2024-05-01T{h:02}:00:00Z,{},{},{}", c[0], c[1], c[2]))
        .collect();
    assert_eq!(got, want);

    // NDJSON: the same columns as keys, counts as JSON numbers.
    let out = query_table(&fx.store, q, "ndjson", from, to);
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert!(first["other"].is_u64(), "{first}");
    assert!(first[top[0].as_str()].is_u64(), "{first}");
}

/// `summary` through the CLI: per field named, the records having it,
/// its distinct values and its top five with counts and percent, each
/// computed here from the raw JSON; the table view names each field once.
#[test]
fn summary_gives_each_fields_top_values_exactly() {
    use std::collections::BTreeMap;
    let fx = fixture();
    ingest(&fx);
    let (from, to) = ("2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z");
    let records = json_in(&fx, from, to);
    let fields = ["eventName", "userIdentity.type", "sourceIPAddress"];
    let mut want: Vec<serde_json::Value> = Vec::new();
    for f in fields {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        let mut having = 0u64;
        for (_, v) in &records {
            let values = field_values(v, f);
            having += u64::from(!values.is_empty());
            for x in values {
                *counts.entry(x).or_default() += 1;
            }
        }
        let mut ranked: Vec<(String, u64)> = counts.into_iter().collect();
        assert!(ranked.len() >= 2, "{f}: {ranked:?}");
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        for (value, n) in ranked.iter().take(5) {
            want.push(serde_json::json!({
                "field": f,
                "records": having,
                "distinct": ranked.len(),
                "value": value,
                "count": n,
                "percent": *n as f64 * 100.0 / having as f64,
            }));
        }
    }
    let q = format!("* | summary {}", fields.join(", "));
    let out = query_table(&fx.store, &q, "ndjson", from, to);
    let got = ndjson_rows(&out);
    assert_eq!(got, want, "{out}");

    // The table view: each field's name once, on its first row.
    let out = query_table(&fx.store, &q, "table", from, to);
    let starts: Vec<&str> = out
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| fields.contains(w))
        .collect();
    assert_eq!(starts, fields, "{out}");
}

/// `timechart latest(F)` and `timechart values(F)` (without `by`), each
/// bucket computed here from the raw JSON: latest is the value of the
/// bucket's last record having F (by time, then object, then line; the
/// least value if it has several), an empty cell where no record of the
/// hour has F; values lists the hour's distinct values in code-point order,
/// `[]` for an hour with none.
#[test]
fn timechart_latest_and_values_follow_the_raw_logs() {
    use std::collections::BTreeMap;
    let fx = fixture();
    ingest(&fx);
    let (from, to) = ("2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z");
    let hour = |time: &DateTime<Utc>| chrono::Timelike::hour(time) as usize;
    let in_window = json_records(&fx, from, to);

    // latest(sourceIPAddress): per hour, the greatest (time, object, line)
    // among the records with the field, and that record's least value.
    let mut last: BTreeMap<usize, Picked> = BTreeMap::new();
    for (r, v) in &in_window {
        let Some(least) = field_values(v, "sourceIPAddress").into_iter().next() else {
            continue;
        };
        let key = (r.time.unwrap(), r.object.as_str(), r.seq);
        let h = hour(&key.0);
        if last.get(&h).is_none_or(|(k, _)| key > *k) {
            last.insert(h, (key, least));
        }
    }
    assert!(
        last.len() > 1 && last.len() < 24,
        "the sample needs hours with and without the field: {last:?}"
    );
    let out = query_table(
        &fx.store,
        "* | timechart span=1h latest(sourceIPAddress) as ip",
        "ndjson",
        from,
        to,
    );
    let got = ndjson_rows(&out);
    let want: Vec<serde_json::Value> = (0..24)
        .map(|h| {
            serde_json::json!({
                "time": format!("2024-05-01T{h:02}:00:00Z"),
                "ip": last.get(&h).map(|(_, v)| v),
            })
        })
        .collect();
    assert_eq!(got, want, "{out}");

    // values(eventName): per hour, the distinct names in code-point order.
    let mut names: Vec<BTreeSet<String>> = vec![BTreeSet::new(); 24];
    for (r, v) in &in_window {
        names[hour(&r.time.unwrap())].extend(field_values(v, "eventName"));
    }
    assert!(names.iter().all(|n| n.len() <= 100));
    let out = query_table(
        &fx.store,
        "* | timechart span=1h values(eventName)",
        "ndjson",
        from,
        to,
    );
    let got = ndjson_rows(&out);
    let want: Vec<serde_json::Value> = names
        .iter()
        .enumerate()
        .map(|(h, n)| {
            serde_json::json!({
                "time": format!("2024-05-01T{h:02}:00:00Z"),
                "values(eventName)": n,
            })
        })
        .collect();
    assert_eq!(got, want, "{out}");
}

/// `stats` of numbers and `earliest` by a field, and `rare`, through the
/// CLI, computed here from the raw JSON: `latency_ms` is a number in half
/// the app records and a numeric string in the rest (both count), `level`
/// has case variants (each its own group).
#[test]
fn number_aggregates_earliest_and_rare_follow_the_raw_logs() {
    use std::collections::BTreeMap;
    let fx = fixture();
    ingest(&fx);
    let (from, to) = ("2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z");
    let in_window = json_records(&fx, from, to);

    // Per level: the latency numbers, and the first (time, object, line)
    // with a user and its least value.
    let mut numbers: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut first: BTreeMap<String, Picked> = BTreeMap::new();
    for (r, v) in &in_window {
        for level in field_values(v, "level") {
            let ns = numbers.entry(level.clone()).or_default();
            ns.extend(
                field_values(v, "latency_ms")
                    .iter()
                    .filter_map(|x| x.parse::<f64>().ok()),
            );
            if let Some(user) = field_values(v, "user").into_iter().next() {
                let key = (r.time.unwrap(), r.object.as_str(), r.seq);
                if first.get(&level).is_none_or(|(k, _)| key < *k) {
                    first.insert(level.clone(), (key, user));
                }
            }
        }
    }
    assert!(numbers.len() >= 3, "{numbers:?}");
    let q = "* | stats min(latency_ms), max(latency_ms) as top, sum(latency_ms), \
             avg(latency_ms), earliest(user) by level";
    let out = query_table(&fx.store, q, "ndjson", from, to);
    let got = ndjson_rows(&out);
    assert_eq!(got.len(), numbers.len(), "{out}");
    for (row, (level, ns)) in got.iter().zip(&numbers) {
        assert_eq!(row["level"], serde_json::json!(level), "{out}");
        let min = ns.iter().copied().reduce(f64::min).unwrap();
        let max = ns.iter().copied().reduce(f64::max).unwrap();
        let sum: f64 = ns.iter().sum();
        assert_eq!(row["min(latency_ms)"].as_f64(), Some(min), "{row}");
        assert_eq!(row["top"].as_f64(), Some(max), "{row}");
        assert_eq!(row["sum(latency_ms)"].as_f64(), Some(sum), "{row}");
        let avg = row["avg(latency_ms)"].as_f64().unwrap();
        assert!((avg - sum / ns.len() as f64).abs() < 1e-9, "{row}");
        assert_eq!(
            row["earliest(user)"],
            serde_json::json!(first.get(level).map(|(_, u)| u)),
            "{row}"
        );
    }

    // rare 2 level: the two least frequent levels (ties by value), percent
    // of the records having a level.
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut having = 0u64;
    for (_, v) in &in_window {
        let levels = field_values(v, "level");
        having += u64::from(!levels.is_empty());
        for l in levels {
            *counts.entry(l).or_default() += 1;
        }
    }
    let mut ranked: Vec<(String, u64)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    let want: Vec<serde_json::Value> = ranked
        .iter()
        .take(2)
        .map(|(l, c)| {
            serde_json::json!({
                "level": l,
                "count": c,
                "percent": *c as f64 * 100.0 / having as f64,
            })
        })
        .collect();
    let out = query_table(&fx.store, "* | rare 2 level", "ndjson", from, to);
    let got = ndjson_rows(&out);
    assert_eq!(got, want, "{out}");
}
