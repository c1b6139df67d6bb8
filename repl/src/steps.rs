//! Runs a compiled search's statements on an engine, in order, as
//! `glaux_compiler::search` decides them: one statement, or the hours, the
//! finds and the fetch of a search that fetches by keys (docs/engines.md,
//! "Find, then fetch").
//!
//! The engine is a closure from SQL text to Arrow batches, so the same
//! sequence runs on the local engine, on Athena, in `glaux bench` and in
//! the tests, and what the user is shown (`\sql on`) is the list of
//! statements this returns: exactly what ran.

use std::future::Future;

use arrow::array::RecordBatch;
use glaux_compiler::Compiled;
use glaux_compiler::plan::Rows;
use glaux_compiler::search::{Answer, Next};

use crate::output::{hours_from_batches, keys_from_batches};

/// What a search ran and what it returned.
#[derive(Debug)]
pub struct Ran {
    /// The result rows (the message table's columns); empty when nothing
    /// matched.
    pub batches: Vec<RecordBatch>,
    /// Every statement run, in order, as run.
    pub statements: Vec<String>,
    /// What each statement returned (hours, keys or the records).
    pub rows: Vec<Rows>,
    /// How long each statement took, rows read back included.
    pub times: Vec<std::time::Duration>,
}

/// The rows of an hours or find statement could not be read.
#[derive(Debug, thiserror::Error)]
#[error("reading what a search step returned: {0}")]
pub struct StepError(pub String);

impl From<StepError> for String {
    fn from(e: StepError) -> Self {
        e.to_string()
    }
}

/// Runs `compiled` through `run`, statement by statement.
pub async fn run_steps<E, R, F>(compiled: &Compiled, mut run: R) -> Result<Ran, E>
where
    R: FnMut(String) -> F,
    F: Future<Output = Result<Vec<RecordBatch>, E>>,
    E: From<StepError>,
{
    let mut search = compiled.search();
    let mut statements = Vec::new();
    let mut rows = Vec::new();
    let mut times = Vec::new();
    let mut answer = Answer::Start;
    // The rows of the statements returning part of the result.
    let mut parts: Vec<RecordBatch> = Vec::new();
    loop {
        let statement = match search.next(answer) {
            Next::Run(statement) => statement,
            Next::Done => {
                return Ok(Ran {
                    batches: Vec::new(),
                    statements,
                    rows,
                    times,
                });
            }
        };
        statements.push(statement.sql.clone());
        rows.push(statement.rows);
        let started = std::time::Instant::now();
        let batches = run(statement.sql).await?;
        times.push(started.elapsed());
        answer = match statement.rows {
            Rows::Records => {
                let batches = if parts.is_empty() {
                    batches
                } else {
                    parts.extend(batches);
                    newest_first(&parts).map_err(StepError)?
                };
                return Ok(Ran {
                    batches,
                    statements,
                    rows,
                    times,
                });
            }
            Rows::Table => {
                return Ok(Ran {
                    batches,
                    statements,
                    rows,
                    times,
                });
            }
            Rows::SomeRecords => {
                parts.extend(batches);
                Answer::Records
            }
            Rows::Hours => Answer::Hours(hours_from_batches(&batches).map_err(StepError)?),
            Rows::Keys => Answer::Keys(keys_from_batches(&batches).map_err(StepError)?),
        };
    }
}

/// The rows of several fetch statements as one result, in the order each
/// has: `time_ms` newest first, then `object`, `seq`.
fn newest_first(batches: &[RecordBatch]) -> Result<Vec<RecordBatch>, String> {
    use arrow::compute::{
        SortColumn, SortOptions, concat_batches, lexsort_to_indices, take_record_batch,
    };
    let Some(first) = batches.first() else {
        return Ok(Vec::new());
    };
    let all = concat_batches(&first.schema(), batches).map_err(|e| e.to_string())?;
    let column = |name: &str, descending: bool| -> Result<SortColumn, String> {
        Ok(SortColumn {
            values: all
                .column_by_name(name)
                .ok_or_else(|| format!("no column `{name}` in the fetched records"))?
                .clone(),
            options: Some(SortOptions {
                descending,
                nulls_first: false,
            }),
        })
    };
    let order = lexsort_to_indices(
        &[
            column("time_ms", true)?,
            column("object", false)?,
            column("seq", false)?,
        ],
        None,
    )
    .map_err(|e| e.to_string())?;
    Ok(vec![
        take_record_batch(&all, &order).map_err(|e| e.to_string())?,
    ])
}
