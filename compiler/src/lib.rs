//! The glaux compiler: query text → Athena (Trino) SQL. No I/O, no async.
//!
//! | stage | function | output |
//! |---|---|---|
//! | parse | [`parser::parse`] | [`ast::Query`] (AST with spans) |
//! | lint | [`lint::check`] | warnings (unknown fields: errors when strict) |
//! | resolve | [`resolve::resolve`] | [`resolve::Resolved`] (tokens, patterns, ranges, fixed window) |
//! | optimize | [`optimize::optimize`] | [`optimize::Optimized`] (normal form, contradictions, time in the window) |
//! | plan | [`plan::plan`] | [`plan::Plan`] (lookups, formula, partitions, scan shape) and its statement plan [`plan::Shape`] |
//! | emit | [`sql::render`] | [`sql::tree::Statement`] printed once: the first statement's SQL text |
//! | sequence | [`search::Search::next`] | the plan's later statements, each from what the last returned ([`fetch`]: keys → the message fetch) |
//!
//! [`compile`] chains them. The [`tokenizer`] is shared with ingest, and
//! [`layout`] is the one description of the tables.
#![forbid(unsafe_code)]

pub mod ast;
pub mod datemath;
pub mod ddl;
pub mod error;
pub mod fetch;
pub mod layout;
pub mod lex;
pub mod lint;
pub mod optimize;
pub mod parser;
pub mod pipeline;
pub mod plan;
pub mod resolve;
pub mod search;
pub mod sql;
pub mod tokenizer;
pub mod values;
pub mod window;

use chrono::{DateTime, Utc};

pub use error::{CompileError, ErrorKind, Report, Severity};
pub use window::{TimeWindow, WindowSpec};

/// Everything a compile needs besides the query text. `now` is the injected
/// clock: the compiler never reads the system time.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    pub now: DateTime<Utc>,
    pub window: WindowSpec,
    /// `None`: no limit.
    pub limit: Option<u64>,
    pub database: String,
    /// The field paths the store holds, when known: a field that is not
    /// among them is a warning (its clause matches nothing), with the
    /// known field it most likely meant.
    pub fields: Option<Vec<String>>,
    /// A field the store does not know is an error, not a warning
    /// (`--strict`, for scripts).
    pub strict_fields: bool,
    /// Whether the store keeps the field-values table (every store glaux
    /// creates does; one written by an older glaux does not). Stages that
    /// make a table read it, and are refused without it.
    pub values_table: bool,
    /// Whether the store keeps the token-hours table (every store glaux
    /// creates does; one written by an older glaux does not). Searches over
    /// many hours read it first when it is there.
    pub hours_table: bool,
    /// Most records a search fetches by key ([`plan::MAX_KEYS`]); a
    /// search that finds more joins the index to the messages instead
    /// ([`plan::Plan::may_join`]). Tests lower it to reach the join with
    /// few records.
    pub max_keys: u64,
}

impl CompileOptions {
    /// Default window and limit, default database, at `now`.
    pub fn at(now: DateTime<Utc>) -> Self {
        CompileOptions {
            now,
            window: WindowSpec::Default,
            limit: Some(plan::DEFAULT_LIMIT),
            database: layout::DEFAULT_DATABASE.to_string(),
            fields: None,
            strict_fields: false,
            hours_table: true,
            values_table: true,
            max_keys: plan::MAX_KEYS,
        }
    }
}

/// Longest SQL text Athena accepts, in bytes.
pub const MAX_SQL_BYTES: usize = 262_144;

/// The result of a compile: every stage's output, so `--explain` and debug
/// views can show any of them.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub query: ast::Query,
    pub resolved: resolve::Resolved,
    pub optimized: optimize::Optimized,
    pub plan: plan::Plan,
    /// The SQL of the first statement; when [`Compiled::runs`] is false,
    /// only a header comment. A search that runs as several statements
    /// ([`search`]) starts with this one; [`Compiled::search`] gives the rest.
    pub sql: String,
    /// Where the tables the SQL reads are.
    pub tables: sql::Tables,
    /// The statement a search that [may join](plan::Plan::may_join) runs
    /// instead of the fetch when it finds more than
    /// [`plan::Plan::max_keys`] keys ([`sql::render_join`]), with the
    /// token-hours subquery when it fits; `None` for
    /// every other search.
    pub join: Option<String>,
    /// Things the user should know; the query still runs.
    pub warnings: Vec<CompileError>,
}

impl Compiled {
    /// False when the optimizer proved no record can match: nothing to run.
    pub fn runs(&self) -> bool {
        self.plan.shape != plan::Shape::Nothing
    }

    /// The statements that run this search, one at a time.
    pub fn search(&self) -> search::Search<'_> {
        search::Search::new(self)
    }
}

/// Compiles query text to SQL.
pub fn compile(text: &str, options: &CompileOptions) -> Result<Compiled, CompileError> {
    if !layout::is_valid_database_name(&options.database) {
        return Err(CompileError::new(
            ErrorKind::BadName,
            format!("`{}` is not a usable database name", options.database),
        )
        .help("use lower-case letters, digits and `_`, starting with a letter or `_`"));
    }
    let query = parser::parse(text)?;
    let mut warnings = lint::check(&query, options.fields.as_deref(), options.strict_fields)?;
    let outputs = pipeline::outputs(&query.stages)?;
    pipeline::not_yet(&query.stages)?;
    if !options.values_table
        && !query.stages.is_empty()
        && matches!(outputs.last(), Some(pipeline::Output::Table(_)))
    {
        return Err(CompileError::new(
            ErrorKind::NotYetSupported,
            "this store has no field-values table, which stages read",
        )
        .at(pipeline::span_of(&query.stages).expect("stages"), "needs field values")
        .help("the store was written by an older glaux: ingest its objects again into a new store to summarize them"));
    }
    let window = TimeWindow::fix(&options.window, options.now)?;
    let resolved = resolve::resolve(&query, window, options.now)?;
    let optimized = optimize::optimize(&resolved);
    let mut plan = plan::plan(
        &optimized,
        plan::PlanOptions {
            limit: options.limit,
            max_keys: options.max_keys,
            hours_table: options.hours_table,
        },
        &query.stages,
        outputs,
    );
    if !options.values_table && !plan.value_tests().is_empty() {
        return Err(CompileError::new(
            ErrorKind::NotYetSupported,
            "this store has no field-values table, which tests of whole values read",
        )
        .at(query.expr.span(), "`:=`, or a wildcard with a separator inside")
        .help("the store was written by an older glaux: ingest its objects again into a new store, or search the words as a phrase (`field:\"s3 browser\"`)"));
    }
    if let Some(t) = plan.timechart.filter(|t| t.count() > plan::MAX_BUCKETS) {
        let stage = query
            .stages
            .iter()
            .find(|s| matches!(s.kind, ast::StageKind::Timechart { .. }))
            .expect("a timechart has its stage");
        return Err(CompileError::new(
            ErrorKind::TooLarge,
            format!(
                "this timechart has {} buckets; at most {} are drawn",
                t.count(),
                plan::MAX_BUCKETS
            ),
        )
        .at(stage.span, "too many buckets")
        .help("widen the span (`span=1h`), or narrow the window (--since, --from/--to)"));
    }
    if plan.lookups.len() > plan::MAX_LOOKUPS {
        return Err(CompileError::new(
            ErrorKind::TooLarge,
            format!(
                "the query looks up {} different things; at most {} fit one query",
                plan.lookups.len(),
                plan::MAX_LOOKUPS
            ),
        )
        .at(query.expr.span(), "too many clauses")
        .help("split the search into several queries, or use a wildcard, range or CIDR block instead of a long OR list"));
    }
    if plan.scans_all_tokens() {
        warnings.push(
            CompileError::new(
                ErrorKind::Costly,
                "a leading wildcard or a regex reads every token in the window",
            )
            .help("Athena cannot skip row groups for it: narrow the window, or add a plain term to the query (`AND`)")
            .warning(),
        );
    }
    let tables = sql::Tables {
        database: options.database.clone(),
    };
    let header = sql::Header {
        query: query.to_string(),
        before: resolved.filter.to_string(),
        after: optimized.filter.to_string(),
    };
    let mut sql = sql::render(&plan, &tables, &header);
    if matches!(plan.shape, plan::Shape::WalkListed { .. }) {
        // A walk starts with the small hours statement; its finds repeat the
        // whole index scan plus up to `search::MAX_BATCH` hours, and a
        // phrase's window columns make a find far longer than the header
        // (a phrase of 1,000 short words: 9 kB of hours statement, 266 kB
        // of find). Check the find; when it would not fit, search without
        // the token-hours table (and fail below if that does not fit).
        let find = sql::render_find(
            &plan,
            &tables,
            sql::Hours::Placeholder,
            plan.keys_wanted(),
            "",
        );
        if find.len() + search::MAX_BATCH_LIST_BYTES > MAX_SQL_BYTES {
            plan = plan.without_hours();
            sql = sql::render(&plan, &tables, &header);
        }
    }
    // A walk over the window's hours needs no such check: its first
    // statement is its first find, and a later find differs only in a
    // one-line comment instead of the header and in the hours of its
    // range, which are as long.
    if sql.len() > MAX_SQL_BYTES && plan.reads_hours {
        // The token-hours subquery repeats the index scan's token list; a
        // query that fits only without it still runs, reading more.
        plan = plan.without_hours();
        sql = sql::render(&plan, &tables, &header);
    }
    if sql.len() > MAX_SQL_BYTES {
        return Err(too_long(&query, sql.len()));
    }
    let join = match plan.may_join() {
        true => Some(join_sql(&plan, &tables).map_err(|bytes| too_long(&query, bytes))?),
        false => None,
    };
    Ok(Compiled {
        query,
        resolved,
        optimized,
        plan,
        sql,
        tables,
        join,
        warnings,
    })
}

/// The join of a search that may need it ([`sql::render_join`]), with the
/// token-hours subquery when it fits in Athena's limit, else without;
/// the length in bytes when neither fits.
fn join_sql(plan: &plan::Plan, tables: &sql::Tables) -> Result<String, usize> {
    let comment = match plan.limit {
        None => format!(
            "the finds returned more than {} keys: the whole search as one statement instead of the fetch",
            plan.max_keys
        ),
        Some(_) => format!(
            "the finds returned more than {} keys: the search as one statement instead of the fetch, the limit in the index scan",
            plan.max_keys
        ),
    };
    let mut sql = sql::render_join(plan, tables, &comment);
    if sql.len() > MAX_SQL_BYTES && plan.reads_hours {
        // The token-hours subquery repeats the index scan's token list.
        sql = sql::render_join(&plan.without_hours(), tables, &comment);
    }
    if sql.len() > MAX_SQL_BYTES {
        Err(sql.len())
    } else {
        Ok(sql)
    }
}

/// The error for SQL of `bytes` bytes, past what Athena accepts.
fn too_long(query: &ast::Query, bytes: usize) -> CompileError {
    CompileError::new(
        ErrorKind::TooLarge,
        format!("the SQL for this query is {bytes} bytes; Athena accepts at most {MAX_SQL_BYTES}"),
    )
    .at(query.expr.span(), "too long")
    .help("split the search into several queries, or use wildcards, ranges or CIDR blocks instead of long lists")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn athena_limits_are_errors_before_anything_runs() {
        let options =
            CompileOptions::at(chrono::DateTime::UNIX_EPOCH + chrono::Duration::days(20_000));
        // More distinct lookups than one query should carry.
        let many: Vec<String> = (0..=plan::MAX_LOOKUPS).map(|i| format!("t{i}")).collect();
        let err = compile(&many.join(" OR "), &options).unwrap_err();
        assert_eq!(err.kind, ErrorKind::TooLarge);
        assert!(err.message.contains("1001"), "{}", err.message);
        // Few lookups, but long ones: the SQL would pass Athena's 256 KiB.
        let long: Vec<String> = (0..400)
            .map(|i| format!("\"{} {i}\"", "x".repeat(200)))
            .collect();
        let err = compile(&long.join(" OR "), &options).unwrap_err();
        assert_eq!(err.kind, ErrorKind::TooLarge);
        assert!(err.message.contains("262144"), "{}", err.message);
        // Just under both limits compiles.
        let ok: Vec<String> = (0..plan::MAX_LOOKUPS).map(|i| format!("t{i}")).collect();
        let c = compile(&ok.join(" OR "), &options).unwrap();
        assert!(c.sql.len() < MAX_SQL_BYTES);
        // A query that fits only without the token-hours subquery still
        // compiles, without it.
        let words = |n: usize| {
            (0..n)
                .map(|i| format!("{}{i}", "y".repeat(200)))
                .collect::<Vec<_>>()
                .join(" OR ")
        };
        // Without a limit: a walk, and the join it runs past `max_keys`
        // keys, the token-hours subquery in it.
        let export = CompileOptions {
            limit: None,
            ..options.clone()
        };
        let join = |c: &Compiled| c.join.clone().expect("an export may join");
        assert!(join(&compile(&words(10), &export).unwrap()).contains("token_hours"));
        // Phrases of long words: the join, the find plus the token-hours
        // subquery, is the longest statement; one that fits only without
        // the subquery still compiles, its join without it, the rest of the
        // search with it.
        let long_phrases = |n: usize| {
            (0..n)
                .map(|i| {
                    let words: Vec<String> = (0..30)
                        .map(|k| format!("longerwordnumber{i}x{k}"))
                        .collect();
                    format!("\"{}\"", words.join(" "))
                })
                .collect::<Vec<_>>()
                .join(" OR ")
        };
        let fits = (50..100)
            .step_by(5)
            .filter_map(|n| compile(&long_phrases(n), &export).ok())
            .find(|c| !join(c).contains("token_hours"))
            .expect("some size fits only without the subquery");
        assert!(fits.sql.contains("token_hours"));
        assert!(join(&fits).len() <= MAX_SQL_BYTES);
        assert!(fits.sql.len() <= MAX_SQL_BYTES);
        // With a limit, a walk (the hours statement first). Its finds hold
        // the index scan without the header, which phrases make longer than
        // the header: every find a walk can run fits, with the longest
        // list of hours, up to the size where the query is refused.
        let phrases = |n: usize| {
            (0..n)
                .map(|i| {
                    let words: Vec<String> = (0..30).map(|k| format!("w{i}x{k}")).collect();
                    format!("\"{}\"", words.join(" "))
                })
                .collect::<Vec<_>>()
                .join(" OR ")
        };
        let mut walked = 0;
        for n in (10..200).step_by(5) {
            let Ok(c) = compile(&phrases(n), &options) else {
                continue;
            };
            if matches!(c.plan.shape, plan::Shape::WalkListed { .. }) {
                walked += 1;
                let hours = vec!["2024-05-01-00".to_string(); search::MAX_BATCH];
                let find =
                    sql::render_find(&c.plan, &c.tables, sql::Hours::Listed(&hours), 100, "");
                assert!(find.len() <= MAX_SQL_BYTES, "{n} phrases: {}", find.len());
            }
        }
        assert!(walked > 10, "{walked}");
        // One phrase of many short words: a short hours statement, a find
        // far over the limit. Refused at compile time, not by Athena after
        // the hours query ran.
        let long_phrase = format!("\"{}\"", vec!["a"; 1_000].join(" "));
        let err = compile(&long_phrase, &options).unwrap_err();
        assert_eq!(err.kind, ErrorKind::TooLarge);
    }

    /// Every string of up to four characters over an alphabet of the
    /// characters that matter to the grammar (and some that break naive
    /// byte slicing) compiles or fails with an error — never panics — and
    /// every error's span lies on character boundaries inside the text.
    #[test]
    fn short_inputs_never_panic() {
        let alphabet = [
            'a', 'A', 'N', 'D', 'O', 'R', 'T', ':', '"', '(', ')', '\\', '*', ' ', '.', '-', '?',
            '|', 'é', '\u{3000}',
        ];
        let options =
            CompileOptions::at(chrono::DateTime::UNIX_EPOCH + chrono::Duration::days(20_000));
        let mut text = String::new();
        fn go(depth: usize, text: &mut String, alphabet: &[char], options: &CompileOptions) {
            match compile(text, options) {
                Ok(c) => assert!(!c.sql.is_empty()),
                Err(e) => {
                    if let Some(span) = e.span {
                        assert!(
                            span.start <= span.end && span.end <= text.len(),
                            "{text:?}: {e:?}"
                        );
                        assert!(
                            text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
                            "{text:?}"
                        );
                    }
                }
            }
            if depth == 0 {
                return;
            }
            for &c in alphabet {
                text.push(c);
                go(depth - 1, text, alphabet, options);
                text.pop();
            }
        }
        go(4, &mut text, &alphabet, &options);
    }
}
