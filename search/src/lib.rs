//! The search runtime: what runs a compiled search on an engine and reads
//! back what it returned. The CLI (`glaux-cli`) is the command line, the
//! REPL and the formatting; it asks this crate to run, as `quickwit-cli`
//! asks `quickwit-search`.
//!
//! Stages, each in its own module, plain types between them:
//! - [`engine`]: the [`Engine`] trait the embedded engine (DataFusion) and
//!   Athena implement: one SQL statement in, Arrow batches and its cost out,
//!   Ctrl-C and progress through a [`Watch`];
//! - [`steps`]: the statement driver — the hours, the finds and the fetch a
//!   compiled search asks for, in order, each answer fed to the next;
//! - [`rows`]: engine rows → records ([`Hit`]), hours, keys;
//! - [`table`]: engine rows → a stage's table of typed cells;
//! - [`explain`]: the statements `--explain` prints;
//! - [`error`]: how a search ends when it does not succeed.
//!
//! [`execute`] is the whole of it for one compiled search: run, then decode.
#![forbid(unsafe_code)]

pub mod engine;
pub mod error;
pub mod explain;
pub mod rows;
pub mod steps;
pub mod table;

pub use engine::{Athena, AthenaRun, Cancel, Cost, Done, Engine, Watch};
pub use error::SearchError;
pub use rows::Hit;
pub use steps::{Ran, run_steps};
pub use table::{Cell, Table};

use glaux_compiler::Compiled;
use glaux_compiler::plan::Shape;

/// What a search found: its records, or its stages' table, and what ran.
#[derive(Debug)]
pub struct Found {
    /// The records, newest first; empty when the stages make a table.
    pub hits: Vec<Hit>,
    /// The stages' table, when they make one (`| stats …`).
    pub table: Option<Table>,
    /// The statements that ran, what each returned, took and cost.
    pub ran: Ran,
}

/// Runs `compiled` on `engine`, statement by statement, and decodes its
/// rows. An error after an Athena query ran says what those queries
/// scanned ([`SearchError::AfterAthenaRuns`]): they are billed even when
/// their rows are not usable.
pub async fn execute<E: Engine>(
    compiled: &Compiled,
    engine: &E,
    watch: &mut Watch<'_>,
) -> Result<Found, SearchError> {
    let ran = run_steps(compiled, engine, watch).await?;
    let decoded = if compiled.plan.shape == Shape::Table {
        table::from_batches(compiled, &ran.batches).map(|t| (Vec::new(), Some(t)))
    } else {
        rows::hits_from_batches(&ran.batches).map(|hits| (hits, None))
    };
    match decoded {
        Ok((hits, table)) => Ok(Found { hits, table, ran }),
        Err(e) => Err(SearchError::Output(e).after_athena_runs(ran.athena_runs())),
    }
}
