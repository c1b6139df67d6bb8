//! The query corpus: every `queries/*.glaux` file is compiled and its SQL
//! snapshotted, checked for syntax with sqlparser, checked to carry user
//! text only inside string literals, and run on the embedded engine; every
//! `errors/*.glaux` file must fail with a diagnostic, which is snapshotted.
//!
//! Adding a case is adding a file and reviewing its snapshot.

use std::path::Path;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use glaux_compiler::{CompileOptions, compile};
use glaux_local_engine::LocalEngine;
use glaux_samples::{SampleOptions, generate, write_to};
use glaux_store::{IngestOptions, Store};
use glaux_tests::check_words;
use sqlparser::dialect::GenericDialect;

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

#[test]
fn query_corpus() {
    let (rt, engine, _dir) = engine();
    let fetched = std::cell::Cell::new(0);
    insta::glob!("queries/*.glaux", |path| {
        let query = read_case(path);
        let compiled = compile(&query, &CompileOptions::at(now()))
            .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        // Warnings are diagnostics too: pinned after the SQL.
        let warnings = glaux_cli::render_warnings(&compiled, &query, false);
        // As `--explain` shows it: a search that fetches by keys shows its
        // second statement as a template.
        let explained = glaux_search::explain::sql_statement(&compiled);
        if warnings.is_empty() {
            insta::assert_snapshot!(explained);
        } else {
            insta::assert_snapshot!(format!("{explained}\n\n{warnings}"));
        }
        if !compiled.runs() {
            // Answered without a query: the "SQL" is the header comment alone.
            assert!(compiled.sql.lines().all(|l| l.starts_with("--")));
            return;
        }
        // The same text runs on the embedded engine, as glaux runs it; each
        // statement that ran (a fetch's with the keys written in) is valid
        // SQL for a generic SQL parser (Trino specifics aside) and passes
        // the word check.
        let ran = glaux_tests::run_search(rt, engine, &compiled)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for sql in &ran.statements {
            sqlparser::parser::Parser::parse_sql(&GenericDialect {}, sql)
                .unwrap_or_else(|e| panic!("{}: sqlparser: {e}\n{sql}", path.display()));
            check_words(sql);
        }
        if ran.statements.len() >= 2 {
            fetched.set(fetched.get() + 1);
        }
    });
    // The corpus store holds matches for some searches that fetch by keys:
    // the fetch statement ran, not only its template.
    assert!(fetched.get() >= 5, "{} fetches ran", fetched.get());
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

/// With the store's field list known, a near miss is an error that names
/// the field meant.
#[test]
fn misspelled_field_names_the_known_one() {
    let mut options = CompileOptions::at(now());
    options.fields = Some(
        [
            "eventName",
            "eventSource",
            "userIdentity.userName",
            "sourceIPAddress",
        ]
        .map(String::from)
        .to_vec(),
    );
    // Strict (`--strict`): an error, with the likely field.
    options.strict_fields = true;
    for query in ["evntName:ConsoleLogin", "useridentity.username:alice OR x"] {
        let err = compile(query, &options).unwrap_err();
        let rendered = glaux_cli::render_report(&err.with_source(query), false);
        insta::assert_snapshot!(rendered);
    }
    // Not strict, the default: a warning, and the query runs.
    options.strict_fields = false;
    let c = compile("completelyDifferent:x", &options).unwrap();
    let warnings = glaux_cli::render_warnings(&c, "completelyDifferent:x", false);
    insta::assert_snapshot!(warnings);
    for query in ["evntName:ConsoleLogin", "useridentity.username:alice OR x"] {
        let c = compile(query, &options).unwrap();
        insta::assert_snapshot!(glaux_cli::render_warnings(&c, query, false));
    }
    options.strict_fields = true;
    let err = compile("completelyDifferent:x", &options).unwrap_err();
    let rendered = glaux_cli::render_report(&err.with_source("completelyDifferent:x"), false);
    insta::assert_snapshot!(rendered);
}

/// An export (no limit) finds up to 1,001 keys, fetches them when they
/// are 1,000 or fewer, else runs the join: `--explain` shows all three,
/// and the first statement and the join run.
#[test]
fn explain_with_no_limit_and_one_hour() {
    let mut options = CompileOptions::at(now());
    options.limit = None;
    options.window = glaux_compiler::WindowSpec::Since(chrono::Duration::minutes(30));
    let c = compile("eventName:ConsoleLogin", &options).unwrap();
    assert!(
        c.sql
            .contains("\"dt\" >= '2024-05-01-11' AND \"dt\" <= '2024-05-01-11'")
    );
    assert!(c.sql.contains("    LIMIT 1001\n"), "{}", c.sql);
    // Every match, each once: `SELECT DISTINCT` over the message rows.
    let join = c.join.clone().unwrap();
    assert!(!join.contains("LIMIT"), "{join}");
    assert!(join.contains("SELECT DISTINCT m."), "{join}");
    insta::assert_snapshot!(glaux_search::explain::sql_statement(&c));
    let (rt, engine, _dir) = engine();
    rt.block_on(engine.run(&c.sql)).unwrap();
    rt.block_on(engine.run(&join)).unwrap();
}
