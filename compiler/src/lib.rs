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
