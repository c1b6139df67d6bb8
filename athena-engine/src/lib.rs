//! The Athena engine: runs the compiler's SQL on Amazon Athena and returns
//! the same Arrow batches the embedded engine returns, so everything after
//! the engine (output formats, `\jq`, export) is one code path.
//!
//! A run is `StartQueryExecution` → poll `GetQueryExecution` with backoff
//! (100 ms doubling to 2 s) until a final state → page `GetQueryResults`
//! (1,000 rows a page; the first row of the first page is the header) →
//! decode each value by the column type in the result metadata.
//!
//! Stages, each in its own module:
//! - [`run`]: the call sequence, cancellation (`StopQueryExecution`),
//!   resubmission of failures Athena marks retryable;
//! - [`cells`]: Athena's string cells → typed Arrow arrays;
//! - [`cost`]: bytes scanned → bytes billed → dollars.
//!
//! Throttling (`ThrottlingException`, `TooManyRequestsException`) and
//! transient transport errors are retried by the SDK's standard retry
//! strategy (jittered exponential backoff, a bounded number of attempts,
//! configured in `glaux-aws`); other service errors stop at once.
#![forbid(unsafe_code)]

pub mod cells;
pub mod cost;
pub mod run;

pub use run::{
    AthenaEngine, AthenaError, AthenaSettings, Finished, Phase, Progress, Report, Stats,
};
