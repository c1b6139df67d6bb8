//! The Athena call sequence: start, poll, page results, stop.

use std::future::Future;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use aws_sdk_athena::Client;
use aws_sdk_athena::types::{
    QueryExecutionContext, QueryExecutionState, ResultConfiguration, ResultReuseByAgeConfiguration,
    ResultReuseConfiguration,
};
use glaux_aws::{SdkConfig, error_chain};

use crate::cells::{self, ColumnMeta};

/// Where and how queries run.
#[derive(Debug, Clone, PartialEq)]
pub struct AthenaSettings {
    pub database: String,
    /// The data catalog; Athena's default is `AwsDataCatalog` (Glue).
    pub catalog: String,
    pub workgroup: String,
    /// `s3://…/` for result files; `None` leaves it to the workgroup.
    pub output_location: Option<String>,
    /// Reuse a result of the same SQL text up to this old (Athena's
    /// result reuse; the compiler writes absolute times, so the text of a
    /// re-run is identical). `None`: off.
    pub reuse_minutes: Option<i32>,
    /// How often a FAILED query that Athena marks retryable is submitted
    /// again.
    pub resubmit: u32,
}

impl Default for AthenaSettings {
    fn default() -> Self {
        AthenaSettings {
            database: "glaux".into(),
            catalog: "AwsDataCatalog".into(),
            workgroup: "primary".into(),
            output_location: None,
            reuse_minutes: None,
            resubmit: 2,
        }
    }
}

/// Athena's statistics of a finished query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub data_scanned_bytes: u64,
    pub engine_ms: u64,
    pub queue_ms: u64,
    pub total_ms: u64,
    pub reused_result: bool,
}

/// Where a run is, reported as it goes (for a spinner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `StartQueryExecution` in flight (or a pause before resubmitting).
    Starting,
    /// Athena's QUEUED.
    Queued,
    /// Athena's RUNNING.
    Running,
    /// SUCCEEDED; result pages are being fetched.
    Fetching,
    /// `StopQueryExecution` after a Ctrl-C.
    Stopping,
}

/// A snapshot of a run: its phase, the bytes Athena has scanned so far
/// (from each `GetQueryExecution`'s statistics) and the rows fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub phase: Phase,
    pub scanned_bytes: u64,
    pub rows: usize,
    /// 0 for the first submission, 1.. for resubmissions.
    pub attempt: u32,
}

impl Progress {
    fn starting(attempt: u32) -> Progress {
        Progress {
            phase: Phase::Starting,
            scanned_bytes: 0,
            rows: 0,
            attempt,
        }
    }
}

/// Receives [`Progress`] snapshots; called on the engine's task, so it
/// must be quick (store the value, do not draw).
pub type Report<'a> = &'a (dyn Fn(Progress) + Sync);

/// A query that ran to SUCCEEDED, with its rows.
#[derive(Debug, Clone)]
pub struct Finished {
    pub query_execution_id: String,
    pub stats: Stats,
    pub batches: Vec<RecordBatch>,
    /// Time from start to the last page, as glaux saw it.
    pub wall: Duration,
}

/// How a run ended when it did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum AthenaError {
    /// An API call failed (after the SDK's retries, for retryable errors).
    #[error("Athena {call} failed: {detail}")]
    Call { call: &'static str, detail: String },
    /// Athena ran the query and it FAILED.
    #[error(
        "Athena query {id} FAILED: {reason}{}",
        error_note(*category, *error_type, *retryable)
    )]
    Failed {
        id: String,
        reason: String,
        category: Option<i32>,
        error_type: Option<i32>,
        retryable: bool,
    },
    /// The query was cancelled, by glaux (Ctrl-C) or by someone else.
    #[error("Athena query {id} was CANCELLED{}", by.map(|b| format!(" ({b})")).unwrap_or_default())]
    Cancelled {
        id: String,
        by: Option<&'static str>,
    },
    /// The results could not be decoded.
    #[error("Athena returned a malformed result for query {id}: {detail}")]
    Malformed { id: String, detail: String },
}

/// Whether a failure says a data file listed at planning was gone when
/// read: what a search sees when `glaux compact` deletes an S3 partition's
/// merged files under it. Running the query again lists the partition
/// afresh, so it is resubmitted like a failure Athena marks retryable.
/// The message shapes are Trino's (`HIVE_FILE_NOT_FOUND`, or
/// `HIVE_CANNOT_OPEN_SPLIT` with S3's 404 `NoSuchKey`); Athena's exact
/// text for this case is inferred, not observed.
pub fn file_vanished(reason: &str) -> bool {
    reason.contains("HIVE_FILE_NOT_FOUND")
        || (reason.contains("HIVE_CANNOT_OPEN_SPLIT")
            && (reason.contains("NoSuchKey")
                || reason.contains("does not exist")
                || reason.contains("Status Code: 404")))
}

fn error_note(category: Option<i32>, error_type: Option<i32>, retryable: bool) -> String {
    let category = match category {
        Some(1) => Some("system error"),
        Some(2) => Some("user error"),
        Some(3) => Some("other error"),
        _ => None,
    };
    let mut parts = Vec::new();
    if let Some(c) = category {
        parts.push(c.to_string());
    }
    if let Some(t) = error_type {
        parts.push(format!("error type {t}"));
    }
    if retryable {
        parts.push("retryable".to_string());
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" [{}]", parts.join(", "))
    }
}

impl AthenaError {
    /// True when the query ended CANCELLED by glaux itself (Ctrl-C).
    pub fn is_cancelled_by_user(&self) -> bool {
        matches!(
            self,
            AthenaError::Cancelled {
                by: Some(BY_USER),
                ..
            }
        )
    }
}

const BY_USER: &str = "stopped at your request";

/// First and largest wait between `GetQueryExecution` calls.
const POLL_FIRST: Duration = Duration::from_millis(100);
const POLL_MAX: Duration = Duration::from_secs(2);
/// Rows per `GetQueryResults` page: Athena's maximum.
pub const PAGE_ROWS: i32 = 1_000;

/// An Athena client with its settings.
#[derive(Debug, Clone)]
pub struct AthenaEngine {
    client: Client,
    settings: AthenaSettings,
}

impl AthenaEngine {
    pub fn new(config: &SdkConfig, settings: AthenaSettings) -> Self {
        AthenaEngine {
            client: Client::new(config),
            settings,
        }
    }

    pub fn settings(&self) -> &AthenaSettings {
        &self.settings
    }

    /// Runs `sql` to the end and returns its rows. When `cancel` completes
    /// first, the query is stopped (`StopQueryExecution`) and the run ends
    /// with [`AthenaError::Cancelled`]. A FAILED query that Athena marks
    /// retryable is submitted again, up to `resubmit` times, after a
    /// jittered pause.
    pub async fn run(
        &self,
        sql: &str,
        cancel: impl Future<Output = ()>,
    ) -> Result<Finished, AthenaError> {
        self.run_reporting(sql, cancel, &|_| {}).await
    }

    /// [`run`](Self::run), telling `report` each phase, the bytes scanned
    /// so far and the rows fetched.
    pub async fn run_reporting(
        &self,
        sql: &str,
        cancel: impl Future<Output = ()>,
        report: Report<'_>,
    ) -> Result<Finished, AthenaError> {
        let started = Instant::now();
        let mut cancel = std::pin::pin!(cancel);
        let mut attempt = 0;
        loop {
            // Ctrl-C while the start is in flight: the query may exist on
            // Athena already, so let the start finish (the SDK bounds it)
            // and stop what it started.
            report(Progress::starting(attempt));
            let start = self.start(sql);
            let mut start = std::pin::pin!(start);
            let id = tokio::select! {
                r = &mut start => r?,
                () = &mut cancel => {
                    report(Progress { phase: Phase::Stopping, ..Progress::starting(attempt) });
                    let id = start.await.unwrap_or_default();
                    if !id.is_empty() {
                        self.stop(&id).await?;
                    }
                    return Err(AthenaError::Cancelled { id, by: Some(BY_USER) });
                }
            };
            let waited = tokio::select! {
                r = self.wait(&id, attempt, report) => r,
                () = &mut cancel => {
                    report(Progress { phase: Phase::Stopping, ..Progress::starting(attempt) });
                    self.stop(&id).await?;
                    return Err(AthenaError::Cancelled { id, by: Some(BY_USER) });
                }
            };
            let stats = match waited {
                Err(AthenaError::Failed {
                    retryable: true, ..
                }) if attempt < self.settings.resubmit => {
                    attempt += 1;
                    report(Progress::starting(attempt));
                    tokio::select! {
                        () = tokio::time::sleep(jitter(POLL_MAX * attempt)) => continue,
                        () = &mut cancel => return Err(AthenaError::Cancelled { id, by: Some(BY_USER) }),
                    }
                }
                Ok(stats) => stats,
                Err(e) => {
                    // glaux stops following the query (polling failed, or
                    // an answer made no sense): stop it too, so it does
                    // not run on and bill unseen. A query that already
                    // ended ignores the call.
                    if matches!(e, AthenaError::Call { .. } | AthenaError::Malformed { .. }) {
                        let _ = self.stop(&id).await;
                    }
                    return Err(e);
                }
            };
            report(Progress {
                phase: Phase::Fetching,
                scanned_bytes: stats.data_scanned_bytes,
                rows: 0,
                attempt,
            });
            let fetched = |rows| {
                report(Progress {
                    phase: Phase::Fetching,
                    scanned_bytes: stats.data_scanned_bytes,
                    rows,
                    attempt,
                })
            };
            let batches = tokio::select! {
                r = self.results(&id, &fetched) => r?,
                () = &mut cancel => return Err(AthenaError::Cancelled { id, by: Some(BY_USER) }),
            };
            return Ok(Finished {
                query_execution_id: id,
                stats,
                batches,
                wall: started.elapsed(),
            });
        }
    }

    /// `StartQueryExecution`; returns the query execution id.
    pub async fn start(&self, sql: &str) -> Result<String, AthenaError> {
        let s = &self.settings;
        let mut req = self
            .client
            .start_query_execution()
            .query_string(sql)
            .client_request_token(request_token(sql))
            .work_group(&s.workgroup)
            .query_execution_context(
                QueryExecutionContext::builder()
                    .database(&s.database)
                    .catalog(&s.catalog)
                    .build(),
            );
        if let Some(loc) = &s.output_location {
            req = req
                .result_configuration(ResultConfiguration::builder().output_location(loc).build());
        }
        if let Some(minutes) = s.reuse_minutes {
            req = req.result_reuse_configuration(
                ResultReuseConfiguration::builder()
                    .result_reuse_by_age_configuration(
                        ResultReuseByAgeConfiguration::builder()
                            .enabled(true)
                            .max_age_in_minutes(minutes)
                            .build(),
                    )
                    .build(),
            );
        }
        let out = req.send().await.map_err(|e| AthenaError::Call {
            call: "StartQueryExecution",
            detail: error_chain(&e),
        })?;
        out.query_execution_id()
            .map(str::to_string)
            .ok_or_else(|| AthenaError::Malformed {
                id: String::new(),
                detail: "StartQueryExecution returned no QueryExecutionId".into(),
            })
    }

    /// Polls `GetQueryExecution` until the query is SUCCEEDED (its
    /// statistics), FAILED or CANCELLED (an error), reporting QUEUED and
    /// RUNNING with the bytes scanned so far.
    pub async fn wait(
        &self,
        id: &str,
        attempt: u32,
        report: Report<'_>,
    ) -> Result<Stats, AthenaError> {
        let mut pause = POLL_FIRST;
        loop {
            let out = self
                .client
                .get_query_execution()
                .query_execution_id(id)
                .send()
                .await
                .map_err(|e| AthenaError::Call {
                    call: "GetQueryExecution",
                    detail: error_chain(&e),
                })?;
            let execution = out
                .query_execution()
                .ok_or_else(|| AthenaError::Malformed {
                    id: id.to_string(),
                    detail: "GetQueryExecution returned no QueryExecution".into(),
                })?;
            let status = execution.status();
            match status.and_then(|s| s.state()) {
                Some(QueryExecutionState::Succeeded) => {
                    let st = execution.statistics();
                    let n = |v: Option<i64>| v.unwrap_or(0).max(0) as u64;
                    return Ok(Stats {
                        data_scanned_bytes: n(st.and_then(|s| s.data_scanned_in_bytes())),
                        engine_ms: n(st.and_then(|s| s.engine_execution_time_in_millis())),
                        queue_ms: n(st.and_then(|s| s.query_queue_time_in_millis())),
                        total_ms: n(st.and_then(|s| s.total_execution_time_in_millis())),
                        reused_result: st
                            .and_then(|s| s.result_reuse_information())
                            .is_some_and(|r| r.reused_previous_result()),
                    });
                }
                Some(QueryExecutionState::Failed) => {
                    let err = status.and_then(|s| s.athena_error());
                    let reason = status
                        .and_then(|s| s.state_change_reason())
                        .or_else(|| err.and_then(|e| e.error_message()))
                        .unwrap_or("no reason given")
                        .to_string();
                    return Err(AthenaError::Failed {
                        id: id.to_string(),
                        retryable: err.is_some_and(|e| e.retryable()) || file_vanished(&reason),
                        reason,
                        category: err.and_then(|e| e.error_category()),
                        error_type: err.and_then(|e| e.error_type()),
                    });
                }
                Some(QueryExecutionState::Cancelled) => {
                    return Err(AthenaError::Cancelled {
                        id: id.to_string(),
                        by: None,
                    });
                }
                Some(state @ (QueryExecutionState::Queued | QueryExecutionState::Running)) => {
                    let scanned = execution
                        .statistics()
                        .and_then(|s| s.data_scanned_in_bytes())
                        .unwrap_or(0)
                        .max(0) as u64;
                    report(Progress {
                        phase: if *state == QueryExecutionState::Queued {
                            Phase::Queued
                        } else {
                            Phase::Running
                        },
                        scanned_bytes: scanned,
                        rows: 0,
                        attempt,
                    });
                }
                other => {
                    return Err(AthenaError::Malformed {
                        id: id.to_string(),
                        detail: format!("unknown query state {other:?}"),
                    });
                }
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(POLL_MAX);
        }
    }

    /// Pages through `GetQueryResults` and decodes every page, telling
    /// `fetched` the rows decoded so far after each page.
    pub async fn results(
        &self,
        id: &str,
        fetched: &(dyn Fn(usize) + Sync),
    ) -> Result<Vec<RecordBatch>, AthenaError> {
        let mut batches = Vec::new();
        let mut token: Option<String> = None;
        let mut columns: Option<Vec<ColumnMeta>> = None;
        let mut row_number = 1;
        loop {
            let out = self
                .client
                .get_query_results()
                .query_execution_id(id)
                .max_results(PAGE_ROWS)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AthenaError::Call {
                    call: "GetQueryResults",
                    detail: error_chain(&e),
                })?;
            let malformed = |detail: String| AthenaError::Malformed {
                id: id.to_string(),
                detail,
            };
            let set = out
                .result_set()
                .ok_or_else(|| malformed("a page without a ResultSet".into()))?;
            let first_page = columns.is_none();
            let cols = match &columns {
                Some(c) => c.clone(),
                None => {
                    let meta = set
                        .result_set_metadata()
                        .ok_or_else(|| malformed("no ResultSetMetadata".into()))?;
                    let c: Vec<ColumnMeta> = meta
                        .column_info()
                        .iter()
                        .map(|c| ColumnMeta {
                            name: c.name().to_string(),
                            ty: c.r#type().to_string(),
                        })
                        .collect();
                    columns = Some(c.clone());
                    c
                }
            };
            let mut rows: Vec<Vec<Option<String>>> = set
                .rows()
                .iter()
                .map(|r| {
                    r.data()
                        .iter()
                        .map(|d| d.var_char_value().map(str::to_string))
                        .collect()
                })
                .collect();
            if first_page && rows.first().is_some_and(|r| cells::is_header(&cols, r)) {
                rows.remove(0);
            }
            let batch =
                cells::page(&cols, &rows, row_number).map_err(|e| malformed(e.to_string()))?;
            row_number += rows.len();
            batches.push(batch);
            fetched(row_number - 1);
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(batches),
            }
        }
    }

    /// `StopQueryExecution`.
    pub async fn stop(&self, id: &str) -> Result<(), AthenaError> {
        self.client
            .stop_query_execution()
            .query_execution_id(id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AthenaError::Call {
                call: "StopQueryExecution",
                detail: format!(
                    "query {id} may still be running (stop it in the console or with `aws athena stop-query-execution`): {}",
                    error_chain(&e)
                ),
            })
    }
}

/// A `ClientRequestToken` (32-128 characters): the same for the SDK's
/// retries of one start, so Athena starts the query once; different for
/// every start glaux makes.
fn request_token(sql: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut parts = Vec::new();
    for salt in 0..2u64 {
        // RandomState is seeded per process from the OS; mixing in a
        // counter, the clock and the SQL makes tokens unique per start.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(salt);
        h.write_u64(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write(sql.as_bytes());
        parts.push(format!("{:016x}", h.finish()));
    }
    format!("glaux-{}", parts.join(""))
}

/// `d` scaled by a random factor in [0.5, 1.0): full jitter would sometimes
/// not wait at all.
fn jitter(d: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    let f = 0.5 + (h.finish() % 1000) as f64 / 2000.0;
    d.mul_f64(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_tokens_are_long_enough_and_unique() {
        let a = request_token("SELECT 1");
        let b = request_token("SELECT 1");
        assert_ne!(a, b);
        assert!((32..=128).contains(&a.len()), "{a}");
    }

    #[test]
    fn failure_notes() {
        assert_eq!(
            error_note(Some(2), Some(1006), false),
            " [user error, error type 1006]"
        );
        assert_eq!(error_note(None, None, false), "");
        assert_eq!(
            error_note(Some(1), None, true),
            " [system error, retryable]"
        );
    }

    #[test]
    fn jitter_stays_in_range() {
        for _ in 0..100 {
            let j = jitter(Duration::from_secs(2));
            assert!(j >= Duration::from_secs(1) && j < Duration::from_secs(2));
        }
    }
}
