//! The glaux compiler: query text → Athena (Trino) SQL. No I/O, no async.
//!
//! | stage | function | output |
//! |---|---|---|
//! | parse | [`parser::parse`] | [`ast::Query`] (AST with spans) |
//! | resolve | [`resolve::resolve`] | [`resolve::Resolved`] (tokens, fixed window) |
//! | plan | [`plan::plan`] | [`plan::Plan`] (lookups, formula, partitions) |
//! | emit | [`sql::render`] | SQL text |
//!
//! [`compile`] chains them. The [`tokenizer`] is shared with ingest, and
//! [`layout`] is the one description of the tables.
#![forbid(unsafe_code)]

pub mod ast;
pub mod ddl;
pub mod error;
pub mod layout;
pub mod parser;
pub mod plan;
pub mod resolve;
pub mod sql;
pub mod tokenizer;
pub mod window;

use chrono::{DateTime, Utc};

pub use error::{CompileError, ErrorKind, Report};
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
}

impl CompileOptions {
    /// Default window and limit, default database, at `now`.
    pub fn at(now: DateTime<Utc>) -> Self {
        CompileOptions {
            now,
            window: WindowSpec::Default,
            limit: Some(plan::DEFAULT_LIMIT),
            database: layout::DEFAULT_DATABASE.to_string(),
        }
    }
}

/// The result of a compile: every stage's output, so `--explain` and debug
/// views can show any of them.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub query: ast::Query,
    pub resolved: resolve::Resolved,
    pub plan: plan::Plan,
    pub sql: String,
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
    let window = TimeWindow::fix(&options.window, options.now)?;
    let resolved = resolve::resolve(&query, window)?;
    let plan = plan::plan(&resolved, options.limit);
    let tables = sql::Tables {
        database: options.database.clone(),
    };
    let sql = sql::render(&plan, &tables, &query.to_string());
    Ok(Compiled {
        query,
        resolved,
        plan,
        sql,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
