//! Helpers for glaux's cross-crate tests: the reference evaluator (crate
//! `glaux-reference`, the definition of what a query means) in the shape the
//! tests use, and a way to run the real CLI in-process.

use std::collections::HashSet;
use std::ffi::OsString;

use chrono::{DateTime, Utc};
use glaux_compiler::ast::Query;
pub use glaux_reference::Record;
use sqlparser::dialect::GenericDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

/// True if `record` matches `query`, by the reference evaluator, with date
/// math anchored at `now`.
pub fn matches_at(query: &Query, record: &Record, now: DateTime<Utc>) -> bool {
    glaux_reference::matches(query, record, &glaux_reference::Context { now })
}

/// [`matches_at`] for queries without date math.
pub fn matches(query: &Query, record: &Record) -> bool {
    matches_at(query, record, DateTime::UNIX_EPOCH)
}

/// Output of one in-process CLI run.
pub struct CliRun {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the glaux CLI in-process with `args` (without the program name).
pub fn glaux<I, S>(args: I) -> CliRun
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let mut argv: Vec<OsString> = vec!["glaux".into()];
    argv.extend(args.into_iter().map(Into::into));
    let mut out = Vec::new();
    let mut err = Vec::new();
    let status = glaux_cli::run(argv, &mut out, &mut err, false);
    CliRun {
        status,
        stdout: String::from_utf8(out).expect("utf-8 stdout"),
        stderr: String::from_utf8(err).expect("utf-8 stderr"),
    }
}

/// Runs `compiled` on the local engine the way glaux does
/// (`glaux_search::run_steps`): its one statement, or the hours, the finds
/// and then the fetch by the keys they found. Returns the result rows and
/// every statement that ran.
pub fn run_search(
    rt: &tokio::runtime::Runtime,
    engine: &glaux_local_engine::LocalEngine,
    compiled: &glaux_compiler::Compiled,
) -> Result<glaux_search::Ran, String> {
    rt.block_on(glaux_search::run_steps(
        compiled,
        engine,
        &mut glaux_search::Watch::unwatched(),
    ))
    .map_err(|e| format!("engine: {e}\n{}", compiled.sql))
}

/// Words allowed outside string literals in emitted SQL: SQL keywords,
/// glaux's own identifiers, functions. Anything the user typed must be in a
/// literal, so it can never be one of these words... and if it were outside
/// a literal, it would most likely not be on this list.
const ALLOWED_WORDS: &[&str] = &[
    // SQL
    "WITH",
    "AS",
    "SELECT",
    "DISTINCT",
    "FROM",
    "JOIN",
    "LEFT",
    "CROSS",
    "CAST",
    "DOUBLE",
    "ON",
    "AND",
    "OR",
    "NOT",
    "IS",
    "NULL",
    "WHERE",
    "IN",
    "LIKE",
    "ESCAPE",
    "GROUP",
    "BY",
    "HAVING",
    "ORDER",
    "DESC",
    "LIMIT",
    "OVER",
    "PARTITION",
    "NULLS",
    "LAST",
    "CASE",
    "WHEN",
    "THEN",
    "END",
    "false",
    "true",
    // functions
    "bool_or",
    "count",
    "min",
    "INTERSECT",
    "rows",
    "max",
    "starts_with",
    "coalesce",
    "lead",
    "regexp_like",
    "lower",
    "sum",
    "avg",
    "row_number",
    "array_agg",
    "array_join",
    "replace",
    "FILTER",
    // aliases, CTEs, tables, columns
    "m",
    "h",
    "r",
    "i",
    "last_object",
    "last_seq",
    "unnamed",
    "hits",
    "glaux",
    "indices",
    "messages",
    "token_hours",
    "day",
    "dt",
    "object",
    "seq",
    "pos",
    "token",
    "field",
    "time_ms",
    "tag",
    "message",
    "num",
    "ip",
    // stages (docs/engines.md, "Stages"; numbered ones below)
    "field_values",
    "value",
    "matches",
    "groups",
    "g",
    "v",
    "k",
    "f",
    "t",
    "c",
    "x",
    "xn",
    "vn",
    "rn",
    "total",
    "xt",
    "e",
    "d",
    // timechart earliest/latest: each bucket's start
    "b",
    // records stages before a table: the records they keep
    "kept",
    // summary: the matches' (field, value) pairs, per field its records
    "summarized",
    "records",
    "dc",
    // timechart by: the top series and each record's label
    "series",
    "labeled",
    "s",
    "l",
    // dedup: a record's key per field (d0..), joined as q0.., the kept
    // records p
    "n",
    "p",
    // timechart: every bucket, numbered by digits i0.. of VALUES (i),
    // joined to the aggregate a
    "VALUES",
    "i0",
    "i1",
    "i2",
    "i3",
    "i4",
    "i",
    "a",
    // tests of whole values: per record `v0`.. from the field-values
    // table fv, left-joined as v
    "vals",
    "fv",
    "v",
];

/// Checks that `sql` tokenizes, and that every word outside a literal is an
/// allowed one (flag columns `l0`, `l1`... included).
pub fn check_words(sql: &str) {
    let tokens = Tokenizer::new(&GenericDialect {}, sql)
        .tokenize()
        .unwrap_or_else(|e| panic!("SQL does not tokenize: {e}\n{sql}"));
    let allowed: HashSet<&str> = ALLOWED_WORDS.iter().copied().collect();
    let mut unexpected = Vec::new();
    for t in tokens {
        if let Token::Word(w) = &t {
            let numbered = |prefix: &str| {
                w.value
                    .strip_prefix(prefix)
                    .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
            };
            // A table's columns and their number companions (`c0`,
            // `c0_num`), field CTEs `f0`, keys `k0`/`n0`, aggregates `a0`.
            let column = ["_num", "_total"].iter().any(|s| {
                w.value.strip_suffix(s).is_some_and(|c| {
                    c.strip_prefix('c')
                        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
                })
            });
            let ok = allowed.contains(w.value.as_str())
                || column
                || ["c", "f", "k", "n", "a", "g", "d", "q"]
                    .iter()
                    .any(|&p| numbered(p))
                || numbered("l")
                || numbered("v")
                || numbered("next_token_")
                || numbered("next_pos_");
            if !ok && !unexpected.contains(&w.value) {
                unexpected.push(w.value.clone());
            }
        }
    }
    assert!(
        unexpected.is_empty(),
        "unexpected words {unexpected:?} outside a literal in:\n{sql}"
    );
}
