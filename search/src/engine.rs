//! The engines a search runs on, behind one trait: the embedded engine
//! (DataFusion over the local store) and Athena. Each takes one SQL
//! statement and returns its rows as Arrow batches with what the run cost,
//! so the statement driver ([`crate::steps`]), the output formats, `\jq`
//! and export are one code path whatever ran the query.

use std::future::Future;
use std::pin::Pin;

use arrow::array::RecordBatch;
use glaux_athena_engine::{AthenaEngine, Progress, Stats};
use glaux_local_engine::{LocalEngine, ScanStats};

use crate::error::SearchError;

/// A Ctrl-C press, as a future a statement races against.
pub type Cancel = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What a run is told and tells while it goes: Ctrl-C, and where it is.
pub struct Watch<'a> {
    /// Completes on Ctrl-C. The local engine's run is dropped; an Athena
    /// query is stopped (`StopQueryExecution`). Either ends with
    /// [`SearchError::Cancelled`]. Statements run one at a time, each
    /// racing the same press.
    pub cancel: Cancel,
    /// Told each phase of an Athena run, the bytes scanned so far and the
    /// rows fetched (a spinner); must be quick. The local engine tells
    /// nothing.
    pub progress: &'a (dyn Fn(Progress) + Sync),
}

impl Watch<'static> {
    /// No Ctrl-C, no progress (tests, benchmarks).
    pub fn unwatched() -> Self {
        Watch {
            cancel: Box::pin(std::future::pending()),
            progress: &|_| {},
        }
    }
}

/// One statement's rows and what it cost.
#[derive(Debug)]
pub struct Done {
    pub batches: Vec<RecordBatch>,
    pub cost: Cost,
}

/// What one statement cost.
#[derive(Debug, Clone, PartialEq)]
pub enum Cost {
    /// The local engine: what its Parquet scans read (DataFusion's
    /// `bytes_scanned`, the counterpart of Athena's "data scanned"), and
    /// what they pruned.
    Local(ScanStats),
    /// Athena: the query's id and statistics.
    Athena(AthenaRun),
}

/// What Athena reported about a run, for the footer.
#[derive(Debug, Clone, PartialEq)]
pub struct AthenaRun {
    pub query_execution_id: String,
    pub stats: Stats,
    /// The price its scan is billed at (settings: `price_per_tb`).
    pub price_per_tb: f64,
}

/// An engine: runs one SQL statement.
pub trait Engine {
    fn run(
        &self,
        sql: &str,
        watch: &mut Watch<'_>,
    ) -> impl Future<Output = Result<Done, SearchError>>;
}

impl Engine for LocalEngine {
    /// [`LocalEngine::run_measured`]: holds the store's swap lock while
    /// it runs, and starts over if compaction pulled a file from under it.
    async fn run(&self, sql: &str, watch: &mut Watch<'_>) -> Result<Done, SearchError> {
        tokio::select! {
            r = self.run_measured(sql) => {
                let (batches, scan) = r?;
                Ok(Done { batches, cost: Cost::Local(scan) })
            }
            () = &mut watch.cancel => Err(SearchError::Cancelled),
        }
    }
}

/// Athena, with the price its scans are billed at.
#[derive(Debug, Clone)]
pub struct Athena {
    pub engine: AthenaEngine,
    pub price_per_tb: f64,
}

impl Engine for Athena {
    async fn run(&self, sql: &str, watch: &mut Watch<'_>) -> Result<Done, SearchError> {
        let finished = self
            .engine
            .run_reporting(sql, &mut watch.cancel, watch.progress)
            .await?;
        Ok(Done {
            batches: finished.batches,
            cost: Cost::Athena(AthenaRun {
                query_execution_id: finished.query_execution_id,
                stats: finished.stats,
                price_per_tb: self.price_per_tb,
            }),
        })
    }
}
