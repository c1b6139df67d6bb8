//! The statement driver: runs a compiled search's statements on an engine,
//! in order, as `glaux_compiler::search` decides them — one statement, or
//! the hours, the finds and the fetch of a search that fetches by keys
//! (docs/engines.md, "Find, then fetch") — feeding each one's answer to the
//! next.
//!
//! The same sequence runs on the local engine, on Athena, in `glaux bench`
//! and in the tests, and what the user is shown (`\sql on`) is the list of
//! statements this returns: exactly what ran.

use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use glaux_compiler::Compiled;
use glaux_compiler::layout::columns::{OBJECT, SEQ, TIME_MS};
use glaux_compiler::plan::Rows;
use glaux_compiler::search::{Answer, Next};

use crate::engine::{AthenaRun, Cost, Engine, Watch};
use crate::error::SearchError;
use crate::rows::{hours_from_batches, keys_from_batches};

/// What a search ran and what it returned.
#[derive(Debug, Default)]
pub struct Ran {
    /// The result rows (the message table's columns, or the stages'
    /// table); empty when nothing matched.
    pub batches: Vec<RecordBatch>,
    /// Every statement run, in order, as run.
    pub statements: Vec<String>,
    /// What each statement returned (hours, keys or the records).
    pub rows: Vec<Rows>,
    /// How long each statement took, rows read back included.
    pub times: Vec<Duration>,
    /// What each statement cost.
    pub costs: Vec<Cost>,
}

impl Ran {
    /// The Athena queries that ran, in order.
    pub fn athena_runs(&self) -> Vec<AthenaRun> {
        athena_runs(&self.costs)
    }

    /// The bytes the local engine's scans read, summed; `None` when none
    /// of the statements ran there.
    pub fn scanned_locally(&self) -> Option<u64> {
        let mut local = self.costs.iter().filter_map(|c| match c {
            Cost::Local(scan) => Some(scan.bytes),
            Cost::Athena(_) => None,
        });
        let first = local.next()?;
        Some(first + local.sum::<u64>())
    }
}

fn athena_runs(costs: &[Cost]) -> Vec<AthenaRun> {
    costs
        .iter()
        .filter_map(|c| match c {
            Cost::Athena(run) => Some(run.clone()),
            Cost::Local(_) => None,
        })
        .collect()
}

/// Runs `compiled` on `engine`, statement by statement. An error after an
/// Athena query ran is told with what ran
/// ([`SearchError::AfterAthenaRuns`]).
pub async fn run_steps<E: Engine>(
    compiled: &Compiled,
    engine: &E,
    watch: &mut Watch<'_>,
) -> Result<Ran, SearchError> {
    let mut ran = Ran::default();
    match drive(compiled, engine, watch, &mut ran).await {
        Ok(()) => Ok(ran),
        Err(e) => Err(e.after_athena_runs(ran.athena_runs())),
    }
}

async fn drive<E: Engine>(
    compiled: &Compiled,
    engine: &E,
    watch: &mut Watch<'_>,
    ran: &mut Ran,
) -> Result<(), SearchError> {
    let mut search = compiled.search();
    let mut answer = Answer::Start;
    // The rows of the statements returning part of the result.
    let mut parts: Vec<RecordBatch> = Vec::new();
    loop {
        let statement = match search.next(answer) {
            Next::Run(statement) => statement,
            Next::Done => return Ok(()),
        };
        ran.statements.push(statement.sql.clone());
        ran.rows.push(statement.rows);
        let started = Instant::now();
        let done = engine.run(&statement.sql, watch).await?;
        ran.times.push(started.elapsed());
        ran.costs.push(done.cost);
        let batches = done.batches;
        answer = match statement.rows {
            Rows::Records => {
                ran.batches = if parts.is_empty() {
                    batches
                } else {
                    parts.extend(batches);
                    newest_first(&parts).map_err(SearchError::Output)?
                };
                return Ok(());
            }
            Rows::Table => {
                ran.batches = batches;
                return Ok(());
            }
            Rows::SomeRecords => {
                parts.extend(batches);
                Answer::Fetched
            }
            Rows::Hours => {
                Answer::Hours(hours_from_batches(&batches).map_err(SearchError::Output)?)
            }
            Rows::Keys => Answer::Keys(keys_from_batches(&batches).map_err(SearchError::Output)?),
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
            column(TIME_MS, true)?,
            column(OBJECT, false)?,
            column(SEQ, false)?,
        ],
        None,
    )
    .map_err(|e| e.to_string())?;
    Ok(vec![
        take_record_batch(&all, &order).map_err(|e| e.to_string())?,
    ])
}
