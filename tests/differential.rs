//! The correctness gate: random queries from the grammar, compiled to SQL
//! and run on the embedded engine over a stored data set, must return
//! exactly the records the reference evaluator accepts from the raw data.
//!
//! The data set is small and adversarial: IPs that are prefixes of each
//! other, mixed case, Unicode, empty strings, arrays, nested objects,
//! numbers as numbers and as strings, timestamps, missing fields, non-JSON
//! lines, records either side of hour boundaries and of the window's ends.
//!
//! `PROPTEST_CASES` sets the number of queries (default 2,000, what CI
//! runs); `PROPTEST_CASES=100000 cargo test -p glaux-tests --test
//! differential` is the long run (docs/language.md).

use std::collections::BTreeSet;
use std::sync::OnceLock;

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use chrono::{DateTime, Duration, Utc};
use glaux_compiler::parser::parse;
use glaux_compiler::plan::Rows;
use glaux_compiler::{CompileOptions, Compiled, WindowSpec, compile};
use glaux_local_engine::LocalEngine;
use glaux_store::{IngestOptions, Store};
use glaux_tests::{Record, check_words, matches_at};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Data spans 09:00 to 15:00; the window cuts both ends off.
const DATA_START: &str = "2024-05-01T09:00:00Z";
const FROM: &str = "2024-05-01T09:30:00Z";
const TO: &str = "2024-05-01T14:30:00Z";
const NOW: &str = "2024-05-01T15:00:00Z";

/// A raw record and where the store will keep it.
struct Raw {
    object: String,
    seq: i64,
    record: Record,
}

struct Fixture {
    rt: tokio::runtime::Runtime,
    engine: LocalEngine,
    records: Vec<Raw>,
    _dir: tempfile::TempDir,
}

const USERS: &[&str] = &[
    "alice",
    "Alice",
    "ALICE SMITH",
    "émilie",
    "bob",
    "",
    "o'brien",
    "alice@example.com",
    "Ωmega",
];
const IPS: &[&str] = &[
    "10.0.0.1",
    "10.0.0.11",
    "110.0.0.119",
    "10.0.0.1x",
    "192.168.1.5",
    "2001:db8::1",
    "fe80::1",
    "10.0.1.1",
];
const MSGS: &[&str] = &[
    "failed password for root",
    "password failed",
    "Failed Password",
    "user alice logged in from 10.0.0.1",
    "GET /api/v1/users?id=42 HTTP/1.1",
    "C:\\Windows\\System32\\cmd.exe",
    "arn:aws:iam::123456789012:user/alice",
    "",
];

/// Record `i` of the JSON file: every field derived from `i`, some missing.
fn json_record(i: usize, ts: i64) -> String {
    let mut m = serde_json::Map::new();
    m.insert("ts".into(), ts.into());
    // A second token only this record holds.
    m.insert("id".into(), format!("id{ts}").into());
    if i % 7 != 3 {
        m.insert("user".into(), USERS[i % USERS.len()].into());
    }
    if i % 5 != 4 {
        m.insert("ip".into(), IPS[(i * 3) % IPS.len()].into());
    }
    m.insert("msg".into(), MSGS[(i * 5) % MSGS.len()].into());
    let n: serde_json::Value = match i % 8 {
        0 => 0.into(),
        1 => 42.into(),
        2 => (-5).into(),
        3 => "1500".into(),
        4 => serde_json::json!(3.5),
        5 => "-0".into(),
        6 => serde_json::json!(-0.0),
        _ => "42".into(),
    };
    m.insert("n".into(), n);
    if i.is_multiple_of(3) {
        m.insert("tags".into(), serde_json::json!(["api", "web"]));
    } else if i % 3 == 1 {
        m.insert("tags".into(), serde_json::json!([]));
    }
    if !i.is_multiple_of(4) {
        m.insert(
            "a".into(),
            serde_json::json!({"b": if i.is_multiple_of(2) { "x y" } else { "y x" }, "c": [i % 3, 10]}),
        );
    }
    if i % 4 == 2 {
        m.insert("o".into(), serde_json::json!({"k": null}));
    }
    m.insert(
        "t".into(),
        format!("2024-05-0{}T1{}:00:00Z", 1 + i % 2, i % 10).into(),
    );
    serde_json::Value::Object(m).to_string()
}

/// Line `i` of the text file: a leading time, then text.
fn text_line(i: usize, at: DateTime<Utc>) -> String {
    let body = match i % 5 {
        0 => format!("sshd: Failed password for root from {}", IPS[i % IPS.len()]),
        1 => format!("REJECT {} 3389 tcp", IPS[(i + 1) % IPS.len()]),
        2 => "{broken json alice".to_string(),
        3 => format!("kernel: user {} ok", USERS[i % USERS.len()]),
        _ => "GET /api/v1/users?id=42".to_string(),
    };
    format!(
        "{} {body}",
        at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    )
}

fn fixture() -> &'static Fixture {
    static FX: OnceLock<Fixture> = OnceLock::new();
    FX.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("raw");
        std::fs::create_dir_all(&raw).unwrap();
        let start = t(DATA_START);
        // (file name, tag the store gives it, (time, line) per record)
        type File = (&'static str, &'static str, Vec<(i64, String)>);
        let mut files: Vec<File> = Vec::new();
        // 6 hours, a record every 97 s in the JSON log: many cross hours.
        let json: Vec<(i64, String)> = (0..220)
            .map(|i| {
                let at =
                    start + Duration::seconds(97 * i as i64) + Duration::milliseconds(i as i64);
                (at.timestamp_millis(), json_record(i, at.timestamp_millis()))
            })
            .collect();
        files.push(("app.ndjson", "json", json));
        let text: Vec<(i64, String)> = (0..90)
            .map(|i| {
                let at = start + Duration::seconds(239 * i as i64);
                (at.timestamp_millis(), text_line(i, at))
            })
            .collect();
        files.push(("syslog.log", "text", text));
        let mut records = Vec::new();
        for (name, tag, lines) in &files {
            let path = raw.join(name);
            let body: String = lines.iter().map(|(_, l)| format!("{l}\n")).collect();
            std::fs::write(&path, body).unwrap();
            let object = std::fs::canonicalize(&path).unwrap().display().to_string();
            for (seq, (ms, line)) in lines.iter().enumerate() {
                records.push(Raw {
                    object: object.clone(),
                    seq: seq as i64,
                    record: Record::new(*ms, tag, line),
                });
            }
        }
        let store = Store::new(dir.path().join("store"));
        let report = glaux_store::ingest(&store, &[raw], &IngestOptions::default()).unwrap();
        assert_eq!(report.records as usize, records.len(), "{report}");
        let rt = tokio::runtime::Runtime::new().unwrap();
        let engine = rt.block_on(LocalEngine::open(&store, "glaux")).unwrap();
        Fixture {
            rt,
            engine,
            records,
            _dir: dir,
        }
    })
}

type Keys = BTreeSet<(String, i64)>;

fn options() -> CompileOptions {
    CompileOptions {
        window: WindowSpec::Range {
            from: t(FROM),
            to: Some(t(TO)),
        },
        limit: None,
        ..CompileOptions::at(t(NOW))
    }
}

fn run_engine(fx: &Fixture, compiled: &Compiled) -> Keys {
    run_engine_ordered(fx, compiled).into_iter().collect()
}

/// The engine's rows as (object, seq), in the order it returned them; the
/// search runs as glaux runs it (one statement, or find and fetch), and
/// every statement that ran passes the word check.
fn run_engine_ordered(fx: &Fixture, compiled: &Compiled) -> Vec<(String, i64)> {
    run_engine_steps(fx, compiled).0
}

/// [`run_engine_ordered`], with what each statement returned.
fn run_engine_steps(fx: &Fixture, compiled: &Compiled) -> (Vec<(String, i64)>, Vec<Rows>) {
    let ran =
        glaux_tests::run_search(&fx.rt, &fx.engine, compiled).unwrap_or_else(|e| panic!("{e}"));
    for sql in &ran.statements {
        check_words(sql);
    }
    let mut out = Vec::new();
    for b in ran.batches {
        let object = b.column_by_name("object").unwrap().as_string::<i32>();
        let seq = b.column_by_name("seq").unwrap().as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            assert!(!object.is_null(i));
            out.push((object.value(i).to_string(), seq.value(i)));
        }
    }
    (out, ran.rows)
}

/// The fixture's records the reference evaluator matches, in the window.
fn reference_records<'a>(fx: &'a Fixture, query: &str) -> Vec<&'a Raw> {
    reference_records_in(fx, query, (FROM, TO))
}

/// [`reference_records`] in the window `from .. to`.
fn reference_records_in<'a>(fx: &'a Fixture, query: &str, window: (&str, &str)) -> Vec<&'a Raw> {
    let ast = parse(query).unwrap();
    let (from, to) = (
        t(window.0).timestamp_millis(),
        t(window.1).timestamp_millis(),
    );
    fx.records
        .iter()
        .filter(|r| r.record.time_ms >= from && r.record.time_ms < to)
        .filter(|r| matches_at(&ast, &r.record, t(NOW)))
        .collect()
}

fn reference(fx: &Fixture, query: &str) -> Keys {
    reference_records(fx, query)
        .into_iter()
        .map(|r| (r.object.clone(), r.seq))
        .collect()
}

// ---- the query generator -------------------------------------------------

const FIELDS: &[&str] = &[
    "user", "ip", "msg", "n", "tags", "a.b", "a.c", "t", "missing", "ts",
];
const TERMS: &[&str] = &[
    "alice",
    "ALICE",
    "émilie",
    "ÉMILIE",
    "smith",
    "bob",
    "o'brien",
    "10.0.0.1",
    "10.0.0.11",
    "110.0.0.119",
    "10.0.0.1x",
    "password",
    "failed",
    "root",
    "api",
    "web",
    "42",
    "5",
    "1500",
    "3.5",
    "x",
    "y",
    "REJECT",
    "3389",
    "true",
    "alice@example.com",
    "example.com",
    "sshd",
    "users",
    "v1",
    "ωmega",
    "arn",
    "system32",
    "C\\:\\\\Windows",
    "0",
    "10",
];
const PHRASES: &[&str] = &[
    "\"failed password\"",
    "\"password failed\"",
    "\"alice smith\"",
    "\"x y\"",
    "\"2001:db8::1\"",
    "\"fe80::1\"",
    "\"C:\\Windows\\System32\"",
    "\"arn:aws:iam::123456789012:user/alice\"",
    "\"GET /api/v1\"",
    "\"broken json\"",
];
const WILDCARDS: &[&str] = &[
    "10.0.0.1*",
    "ali*",
    "*ce",
    "a?ice",
    "1*",
    "*0.0.1*",
    "10.0.0.?",
    "*",
    "?",
    "pass*ord",
    "*mil*",
    "émi*",
    "??",
    "1?",
];
const REGEXES: &[&str] = &[
    "/ali.*/",
    "/10\\.0\\.0\\.1[0-9]?/",
    "/[0-9]+/",
    "/(x|y)/",
    "/a.i.e/",
];
const RANGES: &[&str] = &[
    "[0 TO 42]",
    "{5 TO 1500]",
    ">=42",
    "<0",
    "[* TO 5}",
    "[1 TO 3]",
    "{0 TO *]",
    ">3.5",
    "[2024-05-01T10:00:00Z TO 2024-05-01T12:00:00Z]",
    "[2024-04-30 TO now]",
    "<=-5",
    ">=0",
    "[-0 TO 0]",
    "<=-0",
];
const CIDRS: &[&str] = &[
    "10.0.0.0/8",
    "10.0.0.0/28",
    "110.0.0.0/8",
    "2001:db8::/32",
    "0.0.0.0/0",
    "10.0.0.1/32",
    "192.168.0.0/16",
    "fe80::/10",
];
const TIMES: &[&str] = &[
    "@time:[2024-05-01T10:30:00Z TO 2024-05-01T11:15:00Z]",
    "@time > 2024-05-01T12:00:00Z",
    "@time:<now-3h",
    "@time:[now-2h TO now-1h}",
    "@time:{2024-05-01T11:00:00Z TO *]",
];
const TAGS: &[&str] = &[
    "tag:json",
    "tag:text",
    "tag:t*",
    "tag:JSON",
    "tag:cloudtrail",
];

/// Tests of a field's whole value, after `field`: `:=` (exact, or a
/// pattern), and wildcards with a separator inside (whole-value too).
const WHOLES: &[&str] = &[
    r#":="failed password for root""#,
    r#":="Failed Password""#,
    ":=alice",
    r#":="ALICE SMITH""#,
    ":=*password*",
    r":=*\ for\ *",
    r#":="""#,
    ":=*",
    ":=42",
    r#":="-0""#,
    ":=-0.0",
    ":=3.5",
    r#":="x y""#,
    ":=y*",
    ":=10.0.0.1",
    ":=10.0.0.1?",
    ":=*@example.com",
    ":=émi?ie",
    ":=ΩMEGA",
    r#":="o'brien""#,
    r":=C\:\\Windows*",
    r#":="C:\\Windows\\System32\\cmd.exe""#,
    ":=*/api/*",
    r":=GET\ /api*",
    ":=api",
    r#":="a*b""#,
    r":*password\ for*",
    r":GET\ /api*",
    r":*\ logged\ in\ *",
    r":*x\ y",
    r":2001\:db8\:\:1*",
];

fn pick(xs: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(xs).prop_map(str::to_string)
}

/// One clause, as query text.
fn atom() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => pick(TERMS),
        3 => (pick(FIELDS), pick(TERMS)).prop_map(|(f, t)| format!("{f}:{t}")),
        2 => prop_oneof![pick(PHRASES), (pick(FIELDS), pick(PHRASES)).prop_map(|(f, p)| format!("{f}:{p}"))],
        2 => (proptest::option::of(pick(FIELDS)), pick(WILDCARDS)).prop_map(|(f, w)| match f {
            Some(f) => format!("{f}:{w}"),
            None if w == "*" => "*".to_string(),
            None => w,
        }),
        1 => (proptest::option::of(pick(FIELDS)), pick(REGEXES)).prop_map(|(f, r)| match f {
            Some(f) => format!("{f}:{r}"),
            None => r,
        }),
        2 => (pick(FIELDS), pick(RANGES)).prop_map(|(f, r)| format!("{f}:{r}")),
        1 => (proptest::option::of(pick(FIELDS)), pick(CIDRS)).prop_map(|(f, c)| match f {
            Some(f) => format!("{f}:{c}"),
            None => c.replace(':', "\\:"),
        }),
        2 => (pick(FIELDS), pick(WHOLES)).prop_map(|(f, w)| format!("{f}{w}")),
        1 => pick(FIELDS).prop_map(|f| format!("{f}:*")),
        1 => pick(FIELDS).prop_map(|f| format!("_exists_:{f}")),
        1 => pick(TIMES),
        1 => pick(TAGS),
        1 => (pick(FIELDS), pick(TERMS), pick(TERMS)).prop_map(|(f, a, b)| format!("{f}:({a} OR {b})")),
        1 => (pick(FIELDS), pick(TERMS), pick(WILDCARDS)).prop_map(|(f, a, b)| format!("{f}:({a} -{b})")),
    ]
}

/// A query: atoms combined with every spelling of the operators.
fn query() -> impl Strategy<Value = String> {
    atom().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone(), 0..3usize).prop_map(|(a, b, op)| {
                let op = ["AND", "&&", ""][op];
                if op.is_empty() {
                    format!("({a} {b})")
                } else {
                    format!("({a} {op} {b})")
                }
            }),
            (inner.clone(), inner.clone(), 0..2usize)
                .prop_map(|(a, b, op)| format!("({a} {} {b})", ["OR", "||"][op])),
            (inner.clone(), 0..4usize).prop_map(|(a, op)| match op {
                0 => format!("NOT {a}"),
                1 => format!("!{a}"),
                2 => format!("-({a})"),
                _ => format!("+({a})"),
            }),
            // Precedence without parentheses.
            (inner.clone(), inner.clone(), inner)
                .prop_map(|(a, b, c)| format!("({a} OR {b} AND {c})")),
        ]
    })
}

fn runner(default_cases: u32) -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default_cases);
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn compiled_queries_return_exactly_the_reference_records() {
    let fx = fixture();
    // Queries run, with matches, answered without a query.
    let counts = std::cell::Cell::new((0u32, 0u32, 0u32));
    let result = runner(2_000).run(&query(), |q| {
        let compiled = match compile(&q, &options()) {
            Ok(c) => c,
            Err(e) => return Err(TestCaseError::fail(format!("{q}: does not compile: {e:?}"))),
        };
        let want = reference(fx, &q);
        let got = if compiled.runs() {
            run_engine(fx, &compiled)
        } else {
            Keys::new()
        };
        let (n, found, none) = counts.get();
        if (n + 1) % 5_000 == 0 {
            // Long runs (PROPTEST_CASES=100000) show progress with --nocapture.
            eprintln!("differential: {} queries so far", n + 1);
        }
        counts.set((
            n + 1,
            found + u32::from(!want.is_empty()),
            none + u32::from(!compiled.runs()),
        ));
        if got != want {
            let missing: Vec<_> = want.difference(&got).take(5).collect();
            let extra: Vec<_> = got.difference(&want).take(5).collect();
            return Err(TestCaseError::fail(format!(
                "{q}\nmissing (reference has, engine lacks): {missing:?}\nextra: {extra:?}\n{}",
                compiled.sql
            )));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let stats = counts.get();
    eprintln!(
        "differential: {} queries, {} with matches, {} answered without a query",
        stats.0, stats.1, stats.2
    );
    // The generator must produce queries that find something.
    assert!(
        stats.1 * 3 >= stats.0,
        "too few queries match anything: {stats:?}"
    );
}

/// With a limit, the engine returns exactly the reference's newest records,
/// in order (time descending, then object, then seq). Pins the index-side
/// limit (`Plan::index_limit`): the index scan picks the newest records and
/// only those are fetched, so a wrong order or tie-break there would show.
/// Each search with a limit of 3, in the fixture's window (its first and
/// last hours cut) and in one of whole hours, where the token-hours table
/// answers the hours one record of which holds a term (no find for them).
#[test]
fn limited_queries_return_the_newest_reference_records_in_order() {
    const LIMIT: usize = 3;
    let fx = fixture();
    for (window, cases) in [
        ((FROM, TO), 400),
        (("2024-05-01T10:00:00Z", "2024-05-01T14:00:00Z"), 200),
    ] {
        let result = runner(cases).run(&query(), |q| {
            let options = CompileOptions {
                window: WindowSpec::Range {
                    from: t(window.0),
                    to: Some(t(window.1)),
                },
                limit: Some(LIMIT as u64),
                ..options()
            };
            let compiled = compile(&q, &options)
                .map_err(|e| TestCaseError::fail(format!("{q}: does not compile: {e:?}")))?;
            let mut want: Vec<(i64, String, i64)> = reference_records_in(fx, &q, window)
                .into_iter()
                .map(|r| (r.record.time_ms, r.object.clone(), r.seq))
                .collect();
            want.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| (&a.1, a.2).cmp(&(&b.1, b.2))));
            let want: Vec<(String, i64)> = want
                .into_iter()
                .take(LIMIT)
                .map(|(_, o, s)| (o, s))
                .collect();
            let got = if compiled.runs() {
                run_engine_ordered(fx, &compiled)
            } else {
                Vec::new()
            };
            if got != want {
                return Err(TestCaseError::fail(format!(
                    "{q} in {window:?}\nwant {want:?}\ngot  {got:?}\n{}",
                    compiled.sql
                )));
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    }
}

/// A search whose index alone decides finds keys, then fetches them; past
/// `max_keys` keys it runs the join instead (`Plan::may_join`). With
/// `max_keys` lowered to 2, each query runs as an export and with a limit
/// of 3 (both past it), and returns exactly the reference's records,
/// newest first, whichever way it ended; the generator reaches both ends.
#[test]
fn searches_past_max_keys_join_and_agree_with_the_reference() {
    const MAX_KEYS: u64 = 2;
    let fx = fixture();
    let ends = std::cell::Cell::new((0u32, 0u32));
    let result = runner(400).run(&query(), |q| {
        let mut newest: Vec<(i64, String, i64)> = reference_records(fx, &q)
            .into_iter()
            .map(|r| (r.record.time_ms, r.object.clone(), r.seq))
            .collect();
        newest.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| (&a.1, a.2).cmp(&(&b.1, b.2))));
        for limit in [None, Some(3)] {
            let options = CompileOptions {
                limit,
                max_keys: MAX_KEYS,
                ..options()
            };
            let compiled = compile(&q, &options)
                .map_err(|e| TestCaseError::fail(format!("{q}: does not compile: {e:?}")))?;
            let want: Vec<(String, i64)> = newest
                .iter()
                .take(limit.map_or(usize::MAX, |l| l as usize))
                .map(|(_, o, s)| (o.clone(), *s))
                .collect();
            if !compiled.runs() {
                if !want.is_empty() {
                    return Err(TestCaseError::fail(format!("{q}: nothing ran")));
                }
                continue;
            }
            let ran = glaux_tests::run_search(&fx.rt, &fx.engine, &compiled)
                .map_err(|e| TestCaseError::fail(format!("{q}: {e}")))?;
            let got = rows_of(&ran.batches);
            if compiled.plan.fetches_by_keys() {
                let joined = ran.statements.last() == compiled.join.as_ref();
                let (j, f) = ends.get();
                ends.set((j + u32::from(joined), f + u32::from(!joined)));
                let found = newest.len() as u64;
                if joined != (found > MAX_KEYS && limit.is_none_or(|l| l > MAX_KEYS)) {
                    return Err(TestCaseError::fail(format!(
                        "{q} ({limit:?}): {found} matches, joined: {joined}"
                    )));
                }
            }
            if got != want {
                return Err(TestCaseError::fail(format!(
                    "{q} ({limit:?})\nwant {want:?}\ngot  {got:?}\n{}",
                    ran.statements.join(";\n")
                )));
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (joined, fetched) = ends.get();
    eprintln!("past max_keys: {joined} searches joined, {fetched} fetched by key");
    assert!(
        joined >= 40 && fetched >= 40,
        "{joined} joined, {fetched} fetched"
    );
}

/// (object, seq) of each row of `batches`, in order.
fn rows_of(batches: &[arrow::array::RecordBatch]) -> Vec<(String, i64)> {
    batches
        .iter()
        .flat_map(|b| {
            let object = b.column_by_name("object").unwrap().as_string::<i32>();
            let seq = b.column_by_name("seq").unwrap().as_primitive::<Int64Type>();
            (0..b.num_rows())
                .map(|i| (object.value(i).to_string(), seq.value(i)))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A record's `ts` is a token no other record holds: over whole hours the
/// token-hours table names its record, and the search runs no find (the
/// hours, then the fetch). With a term many records hold, the hours that
/// term is in need the index again. Both agree with the reference.
#[test]
fn hours_the_token_hours_table_answers_need_no_find() {
    let fx = fixture();
    let window = ("2024-05-01T10:00:00Z", "2024-05-01T14:00:00Z");
    let (from, to) = (
        t(window.0).timestamp_millis(),
        t(window.1).timestamp_millis(),
    );
    // One record's `ts` from each hour of the window, and two of one hour.
    let json: Vec<&Raw> = fx
        .records
        .iter()
        .filter(|r| r.record.tag == "json" && (from..to).contains(&r.record.time_ms))
        .collect();
    let hour = |r: &Raw| r.record.time_ms / 3_600_000;
    let mut stamps: Vec<String> = Vec::new();
    for (i, r) in json.iter().enumerate() {
        if i == 0 || hour(r) != hour(json[i - 1]) {
            stamps.push(r.record.time_ms.to_string());
        }
    }
    assert_eq!(stamps.len(), 4, "one for each hour");
    let same_hour = (
        json[1].record.time_ms.to_string(),
        json[2].record.time_ms.to_string(),
    );
    assert_eq!(hour(json[1]), hour(json[2]));
    let queries = [
        (stamps[0].clone(), true),
        (
            format!("{} OR {} OR {}", stamps[1], stamps[2], stamps[3]),
            true,
        ),
        // A prefix only one record's token has.
        (format!("{}*", &stamps[2][..12]), true),
        // Two tokens of one record: the hour's two rows name it.
        (format!("{0} OR id{0}", stamps[1]), true),
        // Two records of one hour: the hour's rows name both.
        (format!("{} OR {}", same_hour.0, same_hour.1), false),
        (format!("{} OR alice", stamps[2]), false),
    ];
    for (q, alone) in queries {
        let compiled = compile(
            &q,
            &CompileOptions {
                window: WindowSpec::Range {
                    from: t(window.0),
                    to: Some(t(window.1)),
                },
                limit: Some(3),
                ..options()
            },
        )
        .unwrap();
        let (got, rows) = run_engine_steps(fx, &compiled);
        let mut want: Vec<(i64, String, i64)> = reference_records_in(fx, &q, window)
            .into_iter()
            .map(|r| (r.record.time_ms, r.object.clone(), r.seq))
            .collect();
        want.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| (&a.1, a.2).cmp(&(&b.1, b.2))));
        let want: Vec<(String, i64)> = want.into_iter().take(3).map(|(_, o, s)| (o, s)).collect();
        assert!(!want.is_empty(), "{q}");
        assert_eq!(got, want, "{q}");
        assert_eq!(
            rows == [Rows::Hours, Rows::Records],
            alone,
            "{q}: {rows:?}\n{}",
            compiled.sql
        );
    }
}

/// The deepest query the language accepts (groups and negations together
/// 128 deep) compiles, runs on the engine, and agrees with the reference.
#[test]
fn the_deepest_queries_run() {
    let fx = fixture();
    let mut q = "alice".to_string();
    let mut depth = 0;
    let mut i = 0;
    while depth + 2 <= glaux_compiler::parser::MAX_DEPTH {
        q = if i % 3 == 0 {
            depth += 2;
            format!("ip:10.0.0.1 AND NOT (n:[0 TO 42] OR {q})")
        } else {
            depth += 1;
            format!("user:bob OR (\"password failed\" {q})")
        };
        i += 1;
    }
    let compiled = compile(&q, &options()).unwrap();
    assert!(compiled.runs());
    assert_eq!(run_engine(fx, &compiled), reference(fx, &q));
    let deeper = format!("NOT ({q})");
    let err = compile(&deeper, &options()).map(|_| ()).unwrap_err();
    assert_eq!(err.kind, glaux_compiler::ErrorKind::TooDeep);
}

#[test]
fn printing_then_parsing_gives_the_same_query() {
    let result = runner(2_000).run(&query(), |q| {
        let first = parse(&q).map_err(|e| TestCaseError::fail(format!("{q}: {e:?}")))?;
        let printed = first.to_string();
        let again =
            parse(&printed).map_err(|e| TestCaseError::fail(format!("{printed}: {e:?}")))?;
        prop_assert_eq!(
            first.expr.without_spans(),
            again.expr.without_spans(),
            "{} → {}",
            q,
            printed
        );
        prop_assert_eq!(again.to_string(), printed);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Characters that matter to the grammar, and some that break naive code.
const SOUP: &str = "aAzZ09 :\"()\\*?/[]{}^~|&!+-<>=.,@'_TONDR\u{e9}\u{3000}\n\t%$#";

#[test]
fn arbitrary_text_never_panics_and_sql_keeps_user_text_in_literals() {
    let soup: Vec<char> = SOUP.chars().collect();
    let text = prop_oneof![
        proptest::collection::vec(proptest::sample::select(soup), 0..40)
            .prop_map(|cs| cs.into_iter().collect::<String>()),
        any::<String>(),
        // Valid queries with a character spliced in.
        (query(), any::<char>(), any::<prop::sample::Index>()).prop_map(|(q, c, at)| {
            let mut cs: Vec<char> = q.chars().collect();
            let i = at.index(cs.len() + 1);
            cs.insert(i, c);
            cs.into_iter().collect()
        }),
    ];
    let result = runner(3_000).run(&text, |q| {
        match compile(&q, &options()) {
            Ok(c) if c.runs() => {
                sqlparser::parser::Parser::parse_sql(
                    &sqlparser::dialect::GenericDialect {},
                    &c.sql,
                )
                .map_err(|e| TestCaseError::fail(format!("{q:?}: {e}\n{}", c.sql)))?;
                check_words(&c.sql);
            }
            Ok(_) => {}
            Err(e) => {
                if let Some(span) = e.span {
                    prop_assert!(
                        span.end <= q.len()
                            && q.is_char_boundary(span.start)
                            && q.is_char_boundary(span.end)
                    );
                }
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn the_local_engine_reports_bytes_read_and_a_narrower_window_reads_less() {
    let fx = fixture();
    let read = |from: &str, to: &str| {
        let options = CompileOptions {
            window: WindowSpec::Range {
                from: t(from),
                to: Some(t(to)),
            },
            limit: None,
            ..CompileOptions::at(t(NOW))
        };
        // The export's join: one statement returning the records.
        let sql = compile("alice", &options).unwrap().join.unwrap();
        let (batches, scan) = fx.rt.block_on(fx.engine.run_measured(&sql)).unwrap();
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        (rows, scan.bytes)
    };
    let (all_rows, all_bytes) = read(DATA_START, NOW);
    let (hour_rows, hour_bytes) = read("2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z");
    assert!(
        all_rows > hour_rows && hour_rows > 0,
        "{all_rows} {hour_rows}"
    );
    // Partition pruning: one of six hours opens fewer files.
    assert!(hour_bytes > 0, "a search that found rows read something");
    assert!(
        hour_bytes < all_bytes,
        "one hour read {hour_bytes} B, six hours {all_bytes} B"
    );
}

/// Keys whose SQL would pass Athena's 256 KiB in one fetch (objects with
/// 1,000-byte names, a record of each in every hour) are fetched by
/// several statements, each far inside it, and their rows merge into the
/// newest records, in order, exactly as the join has them.
#[test]
fn a_fetch_too_long_for_one_statement_is_split_and_merged() {
    let dir = tempfile::tempdir().unwrap();
    let mut deep = dir.path().join("raw");
    for i in 0..4 {
        deep = deep.join(format!("{i}{}", "d".repeat(240)));
    }
    std::fs::create_dir_all(&deep).unwrap();
    for o in 0..16 {
        let lines: String = (0..24)
            .map(|h| format!("2024-05-01T{h:02}:{o:02}:00Z sshd: needle from o'{o}\n"))
            .collect();
        std::fs::write(deep.join(format!("o'{o}.log")), lines).unwrap();
    }
    let store = Store::new(dir.path().join("store"));
    let report =
        glaux_store::ingest(&store, &[dir.path().join("raw")], &IngestOptions::default()).unwrap();
    assert_eq!(report.records, 16 * 24, "{report}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let engine = rt.block_on(LocalEngine::open(&store, "glaux")).unwrap();
    let compiled = |limit, max_keys| {
        compile(
            "needle",
            &CompileOptions {
                window: WindowSpec::Range {
                    from: t("2024-05-01T00:00:00Z"),
                    to: Some(t("2024-05-02T00:00:00Z")),
                },
                limit,
                hours_table: true,
                max_keys,
                ..CompileOptions::at(t("2024-05-02T00:00:00Z"))
            },
        )
        .unwrap()
    };
    let limited = glaux_tests::run_search(&rt, &engine, &compiled(Some(1_000), 1_000)).unwrap();
    let parts = limited
        .rows
        .iter()
        .filter(|r| **r == Rows::SomeRecords)
        .count();
    assert!(parts >= 1, "{:?}", limited.rows);
    assert_eq!(limited.rows.last(), Some(&Rows::Records));
    for sql in &limited.statements {
        assert!(sql.len() < 256 * 1024, "{} bytes", sql.len());
        check_words(sql);
    }
    // The export past `max_keys` runs the join, one statement reading the
    // messages: the same records in the same order.
    let joining = compiled(None, 100);
    let export = glaux_tests::run_search(&rt, &engine, &joining).unwrap();
    assert_eq!(export.statements.last(), joining.join.as_ref());
    let want = rows_of(&export.batches);
    assert_eq!(want.len(), 16 * 24);
    assert_eq!(rows_of(&limited.batches), want);
    // Within it, the export is the split fetch.
    let fetching = compiled(None, 1_000);
    let export = glaux_tests::run_search(&rt, &engine, &fetching).unwrap();
    assert!(
        export.rows.contains(&Rows::SomeRecords),
        "{:?}",
        export.rows
    );
    assert_ne!(export.statements.last(), fetching.join.as_ref());
    assert_eq!(rows_of(&export.batches), want);
}

// ---- stages ----------------------------------------------------------------

/// Fields the stages read: strings, numbers and numeric strings, arrays
/// (empty too), nested objects' leaves, a null, one no record has.
const STAGE_FIELDS: &[&str] = &[
    "user", "ip", "msg", "n", "tags", "a.b", "a.c", "t", "o.k", "missing", "id",
];
const WHERE_VALUES: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "5",
    "42",
    "-5",
    "3.5",
    "10",
    "\"alice\"",
    "\"api\"",
    "\"10.0.0.1\"",
    "\"\"",
    "\"o'brien\"",
    "\"x y\"",
    "\"1500\"",
];
const SPANS: &[&str] = &[
    "",
    "span=1m ",
    "span=7m ",
    "span=15m ",
    "span=1h ",
    "span=2h ",
];

/// Aggregates over a field, `stats`' and `timechart`'s.
const STATS_AGGS: &[&str] = &[
    "dc", "min", "max", "sum", "avg", "earliest", "latest", "values",
];
/// `where time …` values: bucket starts in the window (FROM to TO) and
/// outside it, a shorter prefix, and text that is no time.
const TIME_VALUES: &[&str] = &[
    "\"2024-05-01T09:30:00Z\"",
    "\"2024-05-01T10:00:00Z\"",
    "\"2024-05-01T11:15:00Z\"",
    "\"2024-05-01T12:07:00Z\"",
    "\"2024-05-01T14:29:00Z\"",
    "\"2024-05-01T16:00:00Z\"",
    "\"2024-05-01T12\"",
    "\"2024-05-01\"",
    "\"alice\"",
];

/// `count()`, or one of `funcs` over a field.
fn agg(funcs: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just("count()".to_string()),
        3 => (pick(funcs), pick(STAGE_FIELDS)).prop_map(|(f, x)| format!("{f}({x})")),
    ]
}

/// Distinct fields, 1 to `most`.
fn stage_fields(most: usize) -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(STAGE_FIELDS, 1..=most)
        .prop_shuffle()
        .prop_map(|fs| fs.into_iter().map(String::from).collect())
}

/// The first stage, and the columns it makes that later stages may name.
fn first_stage() -> impl Strategy<Value = (String, Vec<String>)> {
    prop_oneof![
        4 => (proptest::collection::vec(agg(STATS_AGGS), 1..4), proptest::option::of(stage_fields(3)), any::<bool>())
            .prop_map(|(aggs, by, named)| {
                // Distinct column names: a repeated aggregate is named.
                let mut cols: Vec<String> = by.clone().unwrap_or_default();
                let mut written = Vec::new();
                for (i, a) in aggs.iter().enumerate() {
                    let name = if a == "count()" { "count".to_string() } else { a.clone() };
                    if named || cols.contains(&name) {
                        let alias = format!("x{i}");
                        written.push(format!("{a} as {alias}"));
                        cols.push(alias);
                    } else {
                        written.push(a.clone());
                        cols.push(name);
                    }
                }
                // `where` and `sort` compare single values: a list
                // (`values(F)`) is no column of theirs.
                let cols: Vec<String> = cols
                    .into_iter()
                    .zip(by.iter().flatten().map(|_| "").chain(aggs.iter().map(String::as_str)))
                    .filter(|(_, a)| !a.starts_with("values("))
                    .map(|(c, _)| c)
                    .collect();
                let mut text = format!("stats {}", written.join(", "));
                if let Some(by) = by {
                    text.push_str(&format!(" by {}", by.join(", ")));
                }
                (text, cols)
            }),
        2 => (any::<bool>(), proptest::option::of(1..6u64), stage_fields(2)).prop_map(|(rare, n, fields)| {
            let name = if rare { "rare" } else { "top" };
            let n = n.map_or(String::new(), |n| format!("{n} "));
            let mut cols = fields.clone();
            cols.push("count".into());
            cols.push("percent".into());
            (format!("{name} {n}{}", fields.join(", ")), cols)
        }),
        2 => (pick(SPANS), agg(STATS_AGGS)).prop_map(|(span, a)| {
            let col = if a == "count()" { "count".to_string() } else { a.clone() };
            // A list (`values(F)`) is no column `where` and `sort` name.
            let mut cols = vec!["time".to_string()];
            if !a.starts_with("values(") {
                cols.push(col);
            }
            (format!("timechart {span}{a}"), cols)
        }),
        // Every field, or those named: a row per top value.
        1 => proptest::option::of(stage_fields(3)).prop_map(|fs| {
            let text = match fs {
                None => "summary".to_string(),
                Some(fs) => format!("summary {}", fs.join(", ")),
            };
            let cols = ["field", "records", "distinct", "value", "count", "percent"];
            (text, cols.map(String::from).to_vec())
        }),
        // Records as rows: only `head` may follow.
        1 => stage_fields(3).prop_map(|fs| (format!("fields {}", fs.join(", ")), Vec::new())),
        // A column per value of the `by` field: only `time` is known.
        2 => (pick(SPANS), agg(STATS_AGGS), pick(STAGE_FIELDS), proptest::option::of(1..5u64))
            .prop_map(|(span, a, by, limit)| {
                let limit = limit.map_or(String::new(), |n| format!(" limit={n}"));
                (format!("timechart {span}{a} by {by}{limit}"), vec!["time".to_string()])
            }),
    ]
}

/// A stage after a table of `cols`: `where` and `sort` name the columns
/// that are words (`dc(user)` is named with `as` to be named there).
fn later_stage(cols: Vec<String>) -> BoxedStrategy<String> {
    let head = (1..8u64).prop_map(|n| format!("head {n}"));
    let cols: Vec<String> = cols.into_iter().filter(|c| !c.contains('(')).collect();
    if cols.is_empty() {
        return head.boxed();
    }
    let column = proptest::sample::select(cols);
    let ops = &["=", "!=", "<", "<=", ">", ">="];
    let compare = (
        column.clone(),
        pick(ops),
        pick(WHERE_VALUES),
        pick(TIME_VALUES),
    )
        .prop_map(|(c, o, v, t)| match c.as_str() {
            // `summary`'s field names compare with text only.
            "field" if !v.starts_with('"') => format!("{c} {o} \"{v}\""),
            // A timechart's time compares with text only.
            "time" => format!("{c} {o} {t}"),
            _ => format!("{c} {o} {v}"),
        })
        .boxed();
    prop_oneof![
        2 => (compare.clone(), proptest::option::of((any::<bool>(), compare)))
            .prop_map(|(a, b)| match b {
                None => format!("where {a}"),
                Some((and, b)) => format!("where {a} {} {b}", if and { "AND" } else { "OR" }),
            }),
        2 => proptest::collection::vec((any::<bool>(), column), 1..3).prop_map(|keys| {
            let keys: Vec<String> = keys
                .into_iter()
                .map(|(desc, c)| format!("{}{c}", if desc { "-" } else { "" }))
                .collect();
            format!("sort {}", keys.join(", "))
        }),
        1 => head,
    ]
    .boxed()
}

/// A stage on records: `dedup` of 1 to 3 fields (mostly), or `head`.
fn records_stage() -> BoxedStrategy<String> {
    prop_oneof![
        3 => stage_fields(3).prop_map(|fs| format!("dedup {}", fs.join(", "))),
        1 => (1..40u64).prop_map(|n| format!("head {n}")),
    ]
    .boxed()
}

/// A search, then stages: a table and up to three stages on it, or
/// `head` on the records.
fn staged_query() -> impl Strategy<Value = String> {
    let search = prop_oneof![1 => Just("*".to_string()), 3 => query()];
    let table = first_stage().prop_flat_map(|(first, cols)| {
        // `timechart … by` makes a column per value: none follow it.
        let most = if first.starts_with("timechart") && first.contains(" by ") {
            0
        } else {
            3
        };
        (
            Just(first),
            proptest::collection::vec(later_stage(cols), 0..=most),
        )
    });
    // Mostly none, else records stages the table reads instead of every
    // match (`… | dedup F | stats …`).
    let before = prop_oneof![
        3 => Just(Vec::new()),
        1 => proptest::collection::vec(records_stage(), 1..3),
    ];
    prop_oneof![
        6 => (search.clone(), before, table).prop_map(|(s, before, (first, rest))| {
            let mut q = s;
            for b in before {
                q.push_str(&format!(" | {b}"));
            }
            let mut q = format!("{q} | {first}");
            for r in rest {
                q.push_str(&format!(" | {r}"));
            }
            q
        }),
        1 => (search.clone(), 1..6u64).prop_map(|(s, n)| format!("{s} | head {n}")),
        // Records through `dedup` and `head`, in any order.
        2 => (search, proptest::collection::vec(records_stage(), 1..4)).prop_map(|(s, stages)| {
            let mut q = s;
            for st in stages {
                q.push_str(&format!(" | {st}"));
            }
            q
        }),
    ]
}

/// A table's column names and rows.
type TableRows = (Vec<String>, Vec<Vec<Value>>);

/// A cell both sides agree on: numbers within rounding (sums and means add
/// in a different order), text exactly.
#[derive(Debug, Clone)]
enum Value {
    Null,
    Number(f64),
    Text(String),
    /// `values(F)`: the values listed, and how many there were.
    List(Vec<String>, u64),
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Number(a), Value::Number(b)) => {
                a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
            }
            (Value::Text(a), Value::Text(b)) => a == b,
            (Value::List(a, n), Value::List(b, m)) => a == b && n == m,
            _ => false,
        }
    }
}

fn engine_table(
    compiled: &Compiled,
    batches: &[arrow::array::RecordBatch],
) -> (Vec<String>, Vec<Vec<Value>>) {
    use glaux_search::table::Cell;
    let table = glaux_search::table::from_batches(compiled, batches).unwrap();
    let rows = table
        .rows
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|c| match c {
                    Cell::Null => Value::Null,
                    Cell::Int(i) => Value::Number(i as f64),
                    Cell::Float(x) => Value::Number(x),
                    Cell::Text(t) => Value::Text(t),
                    Cell::List { values, total } => Value::List(values, total),
                })
                .collect()
        })
        .collect();
    (table.columns, rows)
}

fn reference_table(
    fx: &Fixture,
    q: &str,
    compiled: &Compiled,
) -> Result<TableRows, Vec<(String, i64)>> {
    use glaux_reference::stages::{Cell, Keyed, Output, Window, run};
    let query = parse(q).unwrap();
    let mut records = reference_records(fx, q);
    records.sort_by(|a, b| {
        b.record
            .time_ms
            .cmp(&a.record.time_ms)
            .then_with(|| (&a.object, a.seq).cmp(&(&b.object, b.seq)))
    });
    let keyed: Vec<Keyed<'_>> = records
        .iter()
        .map(|r| Keyed {
            object: &r.object,
            seq: r.seq,
            record: &r.record,
        })
        .collect();
    // The buckets cover the search's window, narrowed by `@time` in the
    // query as the header says (none when nothing can match): the
    // narrowing is the search's, held to the reference above.
    let window = match &compiled.plan.window {
        Some(w) => Window {
            start_ms: w.start.timestamp_millis(),
            end_ms: w.end.timestamp_millis(),
        },
        None => Window {
            start_ms: 0,
            end_ms: 0,
        },
    };
    let default_span = compiled
        .plan
        .timechart
        .map_or(60, |t| (t.span_ms / 1_000) as u64);
    match run(&query.stages, &keyed, window, default_span) {
        Output::Records(ix) => Err(ix
            .into_iter()
            .map(|i| (keyed[i].object.to_string(), keyed[i].seq))
            .collect()),
        Output::Table { columns, rows } => Ok((
            columns,
            rows.into_iter()
                .map(|r| {
                    r.into_iter()
                        .map(|c| match c {
                            Cell::Null => Value::Null,
                            Cell::Number(x) => Value::Number(x),
                            Cell::Text(t) => Value::Text(t),
                            Cell::List { values, total } => Value::List(values, total as u64),
                        })
                        .collect()
                })
                .collect(),
        )),
    }
}

/// Where two tables part: their columns, or their first differing rows.
fn table_difference(want: &TableRows, got: &TableRows) -> String {
    if want.0 != got.0 {
        return format!("columns: want {:?}, got {:?}", want.0, got.0);
    }
    let at = (0..want.1.len().max(got.1.len()))
        .find(|&i| want.1.get(i) != got.1.get(i))
        .unwrap_or(0);
    format!(
        "{} rows wanted, {} got; from row {at}:\nwant {:?}\ngot  {:?}",
        want.1.len(),
        got.1.len(),
        &want.1[at.min(want.1.len())..(at + 3).min(want.1.len())],
        &got.1[at.min(got.1.len())..(at + 3).min(got.1.len())],
    )
}

/// Random searches × random chains of stages: the table the embedded
/// engine's SQL makes (through the CLI's own conversion, empty timechart
/// buckets added) is the reference's, row for row and in order.
#[test]
fn staged_queries_return_exactly_the_reference_table() {
    let fx = fixture();
    let counts = std::cell::Cell::new((0u32, 0u32));
    let result = runner(2_000).run(&staged_query(), |q| {
        let compiled = compile(&q, &options())
            .map_err(|e| TestCaseError::fail(format!("{q}: does not compile: {e:?}")))?;
        let (n, rows) = counts.get();
        if (n + 1) % 5_000 == 0 {
            eprintln!("differential stages: {} queries so far", n + 1);
        }
        let ran = glaux_tests::run_search(&fx.rt, &fx.engine, &compiled)
            .map_err(|e| TestCaseError::fail(format!("{q}: {e}")))?;
        for sql in &ran.statements {
            check_words(sql);
        }
        match reference_table(fx, &q, &compiled) {
            Ok(want) => {
                let got = engine_table(&compiled, &ran.batches);
                counts.set((n + 1, rows + u32::from(!want.1.is_empty())));
                if got != want {
                    return Err(TestCaseError::fail(format!(
                        "{q}\n{}\n{}",
                        table_difference(&want, &got),
                        compiled.sql
                    )));
                }
            }
            Err(want) => {
                counts.set((n + 1, rows + u32::from(!want.is_empty())));
                let got = rows_of(&ran.batches);
                if got != want {
                    return Err(TestCaseError::fail(format!(
                        "{q}\nwant {want:?}\ngot  {got:?}\n{}",
                        compiled.sql
                    )));
                }
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (n, rows) = counts.get();
    eprintln!("differential stages: {n} queries, {rows} with rows");
    assert!(
        rows * 2 >= n,
        "too few staged queries return rows: {rows} of {n}"
    );
}
