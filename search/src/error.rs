//! How a search ends when it does not succeed. Made here and in the CLI's
//! session (a query that does not compile, a setting that does not fit);
//! rendered by the CLI (`search_error`), a compile error as a miette
//! diagnostic over the query text.

use glaux_athena_engine::AthenaError;
use glaux_compiler::Report;
use glaux_local_engine::EngineError;

use crate::engine::AthenaRun;

/// Errors a search can end with.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query or an option is wrong: render with the query text.
    #[error("{0}")]
    Compile(Report),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Athena(AthenaError),
    /// AWS access could not be set up (no credentials, no region).
    #[error(transparent)]
    Aws(glaux_aws::AwsError),
    /// A setting is wrong or does not fit the engine.
    #[error("{0}")]
    Config(String),
    /// An engine returned rows that are not what the statement asks for.
    #[error("unexpected result from the engine: {0}")]
    Output(String),
    /// Ctrl-C while the query ran.
    #[error("cancelled")]
    Cancelled,
    /// `error` stopped a search after some of its Athena queries had run
    /// (the hours, a find): those are billed, so the user is told what
    /// they scanned and cost, and their ids.
    #[error("{error}")]
    AfterAthenaRuns {
        error: Box<SearchError>,
        ran: Vec<AthenaRun>,
    },
}

impl SearchError {
    /// This error, told with the Athena queries that ran before it
    /// ([`SearchError::AfterAthenaRuns`]) when there are any.
    pub fn after_athena_runs(self, ran: Vec<AthenaRun>) -> SearchError {
        if ran.is_empty() {
            self
        } else {
            SearchError::AfterAthenaRuns {
                error: Box::new(self),
                ran,
            }
        }
    }
}

impl From<AthenaError> for SearchError {
    fn from(e: AthenaError) -> Self {
        if e.is_cancelled_by_user() {
            SearchError::Cancelled
        } else {
            SearchError::Athena(e)
        }
    }
}
