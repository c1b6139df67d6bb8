//! The query corpus: every `queries/*.glaux` file is compiled and its SQL
//! snapshotted, checked for syntax with sqlparser, checked to carry user
//! text only inside string literals, and run on the embedded engine; every
//! `errors/*.glaux` file must fail with a diagnostic, which is snapshotted.
//!
//! Adding a case is adding a file and reviewing its snapshot.

use std::collections::HashSet;
use std::path::Path;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use glaux_compiler::{CompileOptions, compile};
use glaux_local_engine::LocalEngine;
use glaux_samples::{SampleOptions, generate, write_to};
use glaux_store::{IngestOptions, Store};
use sqlparser::dialect::GenericDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn read_case(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.strip_suffix('\n').unwrap_or(&text).to_string()
}

/// A store of sample data ending at [`now`], built once for the whole test.
fn engine() -> &'static (tokio::runtime::Runtime, LocalEngine, tempfile::TempDir) {
    static ENGINE: OnceLock<(tokio::runtime::Runtime, LocalEngine, tempfile::TempDir)> =
        OnceLock::new();
    ENGINE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("raw");
        write_to(&raw, &generate(&SampleOptions::small(now()))).unwrap();
        let store = Store::new(dir.path().join("store"));
        glaux_store::ingest(&store, &[raw], &IngestOptions::default()).unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let engine = rt.block_on(LocalEngine::open(&store, "glaux")).unwrap();
        (rt, engine, dir)
    })
}

/// Words allowed outside string literals in emitted SQL: SQL keywords,
/// glaux's own identifiers, functions. Anything the user typed must be in a
/// literal, so it can never be one of these words... and if it were outside
/// a literal, it would most likely not be on this list.
const ALLOWED_WORDS: &[&str] = &[
    "WITH",
    "AS",
    "VALUES",
    "CAST",
    "NULL",
    "varchar",
    "false",
    "true",
    "SELECT",
    "FROM",
    "JOIN",
    "LEFT",
    "ON",
    "AND",
    "OR",
    "NOT",
    "IS",
    "WHERE",
    "IN",
    "LIKE",
    "ESCAPE",
    "GROUP",
    "BY",
    "HAVING",
    "count",
    "DISTINCT",
    "max",
    "bool_or",
    "starts_with",
    "coalesce",
    "ORDER",
    "DESC",
    "LIMIT",
    "i",
    "l",
    "m",
    "h",
    "f",
    "glaux",
    "indices",
    "messages",
    "lookups",
    "occurrences",
    "found",
    "hits",
    "flags",
    "dt",
    "object",
    "seq",
    "pos",
    "token",
    "field",
    "time_ms",
    "tag",
    "message",
    "lookup",
    "prefix",
    "offset",
    "width",
    "start",
];

/// Checks that `sql` tokenizes, and that every word outside a literal is an
/// allowed one (flag columns `l0`, `l1`... included).
fn check_words(sql: &str) {
    let tokens = Tokenizer::new(&GenericDialect {}, sql)
        .tokenize()
        .unwrap_or_else(|e| panic!("SQL does not tokenize: {e}\n{sql}"));
    let allowed: HashSet<&str> = ALLOWED_WORDS.iter().copied().collect();
    for t in tokens {
        if let Token::Word(w) = &t {
            let ok = allowed.contains(w.value.as_str())
                || (w.value.starts_with('l') && w.value[1..].chars().all(|c| c.is_ascii_digit()));
            assert!(
                ok,
                "unexpected word `{}` outside a literal in:\n{sql}",
                w.value
            );
        }
    }
}

#[test]
fn query_corpus() {
    let (rt, engine, _dir) = engine();
    insta::glob!("queries/*.glaux", |path| {
        let query = read_case(path);
        let compiled = compile(&query, &CompileOptions::at(now()))
            .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        insta::assert_snapshot!(compiled.sql);
        // Valid SQL for a generic SQL parser (Trino specifics aside).
        sqlparser::parser::Parser::parse_sql(&GenericDialect {}, &compiled.sql)
            .unwrap_or_else(|e| panic!("{}: sqlparser: {e}\n{}", path.display(), compiled.sql));
        check_words(&compiled.sql);
        // The same text runs on the embedded engine.
        rt.block_on(engine.run(&compiled.sql))
            .unwrap_or_else(|e| panic!("{}: engine: {e}\n{}", path.display(), compiled.sql));
    });
}

#[test]
fn error_corpus() {
    insta::glob!("errors/*.glaux", |path| {
        let query = read_case(path);
        let err = match compile(&query, &CompileOptions::at(now())) {
            Ok(c) => panic!("{} compiled:\n{}", path.display(), c.sql),
            Err(e) => e,
        };
        let rendered = glaux_cli::render_report(&err.with_source(&query), false);
        insta::assert_snapshot!(rendered);
    });
}

#[test]
fn explain_with_no_limit_and_one_hour() {
    let mut options = CompileOptions::at(now());
    options.limit = None;
    options.window = glaux_compiler::WindowSpec::Since(chrono::Duration::minutes(30));
    let sql = compile("eventName:ConsoleLogin", &options).unwrap().sql;
    assert!(!sql.contains("LIMIT"));
    assert!(sql.contains("\"dt\" >= '2024-05-01-11' AND \"dt\" <= '2024-05-01-11'"));
    let (rt, engine, _dir) = engine();
    rt.block_on(engine.run(&sql)).unwrap();
}
