//! The Athena engine against a scripted peer speaking Athena's JSON
//! protocol: the call sequence and its arguments, paging, and the fault
//! paths moto cannot produce (FAILED with an AthenaError, CANCELLED,
//! throttling bursts, a query that runs until stopped, malformed
//! responses). Every test checks what the peer received, not only what the
//! engine returned.

use std::time::Duration;

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use aws_credential_types::Credentials;
use glaux_athena_engine::{AthenaEngine, AthenaError, AthenaSettings, Phase, Progress};
use glaux_aws::AwsSettings;
use glaux_testkit::peer::athena::{
    execution, failed, glaux_columns, header, page, row, runs_until_stopped,
};
use glaux_testkit::peer::{Call, Peer, Reply};
use serde_json::json;

const ID: &str = "11111111-2222-3333-4444-555555555555";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// An engine talking to `peer` with fixed test credentials and glaux's
/// retry and timeout settings.
fn engine(rt: &tokio::runtime::Runtime, peer: &Peer, max_attempts: u32) -> AthenaEngine {
    let settings = AwsSettings {
        region: Some("us-east-1".into()),
        endpoint_url: Some(peer.url.clone()),
        max_attempts: Some(max_attempts),
        ..AwsSettings::default()
    };
    let config = rt.block_on(
        glaux_aws::loader(&settings)
            .unwrap()
            .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
            .load(),
    );
    AthenaEngine::new(
        &config,
        AthenaSettings {
            database: "glaux".into(),
            output_location: Some("s3://results-bucket/glaux/".into()),
            ..AthenaSettings::default()
        },
    )
}

fn never() -> std::future::Pending<()> {
    std::future::pending()
}

fn hit_row(i: usize) -> serde_json::Value {
    row(&[
        Some((1_714_557_600_000i64 + i as i64).to_string()),
        Some("cloudtrail".into()),
        Some("s3://raw/AWSLogs/x.json.gz".into()),
        Some(i.to_string()),
        Some(format!("{{\"n\":{i}}}")),
    ])
}

/// Start → QUEUED → RUNNING → SUCCEEDED → 2,500 rows over three pages.
fn happy_script(call: &Call) -> Reply {
    let cols = glaux_columns();
    match call.operation.as_str() {
        "StartQueryExecution" => Reply::ok(json!({"QueryExecutionId": ID})),
        "GetQueryExecution" => {
            let state = ["QUEUED", "RUNNING", "SUCCEEDED"][call.nth.min(2)];
            Reply::ok(execution(ID, state, 123_456_789))
        }
        "GetQueryResults" => {
            let token = call.body.get("NextToken").and_then(|t| t.as_str());
            let (rows, next) = match token {
                None => {
                    let mut rows = vec![header(&cols)];
                    rows.extend((0..999).map(hit_row));
                    (rows, Some("page-2"))
                }
                Some("page-2") => ((999..1999).map(hit_row).collect(), Some("page-3")),
                Some("page-3") => ((1999..2500).map(hit_row).collect(), None),
                Some(other) => return Reply::error(400, "InvalidRequestException", other),
            };
            Reply::ok(page(&cols, rows, next))
        }
        other => Reply::error(400, "UnknownOperationException", other),
    }
}

#[test]
fn progress_reports_each_phase_the_bytes_scanned_and_the_rows_fetched() {
    let rt = runtime();
    let peer = Peer::start(happy_script);
    let engine = engine(&rt, &peer, 3);
    let seen = std::sync::Mutex::new(Vec::<Progress>::new());
    let report = |p: Progress| seen.lock().unwrap().push(p);
    rt.block_on(engine.run_reporting("SELECT 1", never(), &report))
        .unwrap();
    let seen = seen.into_inner().unwrap();
    let phases: Vec<Phase> = seen.iter().map(|p| p.phase).collect();
    assert_eq!(
        phases,
        [
            Phase::Starting,
            Phase::Queued,
            Phase::Running,
            Phase::Fetching,
            Phase::Fetching,
            Phase::Fetching,
            Phase::Fetching
        ]
    );
    // RUNNING carries the statistics of that poll; SUCCEEDED turns to
    // fetching at once, then each page counts its rows.
    assert_eq!(seen[2].scanned_bytes, 123_456_789);
    let rows: Vec<usize> = seen[3..].iter().map(|p| p.rows).collect();
    assert_eq!(rows, [0, 999, 1999, 2500]);
    assert!(seen.iter().all(|p| p.attempt == 0));
}

#[test]
fn progress_reports_stopping_after_ctrl_c() {
    let rt = runtime();
    let peer = runs_until_stopped(ID);
    let engine = engine(&rt, &peer, 3);
    let seen = std::sync::Mutex::new(Vec::<Progress>::new());
    let report = |p: Progress| seen.lock().unwrap().push(p);
    // Ctrl-C once the peer has answered three polls (not after a fixed
    // time: the machine may be slow).
    let (pressed, press) = tokio::sync::oneshot::channel::<()>();
    let err = std::thread::scope(|scope| {
        scope.spawn(|| {
            peer.wait_for("GetQueryExecution", 3);
            let _ = pressed.send(());
        });
        rt.block_on(engine.run_reporting(
            "SELECT 1",
            async {
                let _ = press.await;
            },
            &report,
        ))
    })
    .unwrap_err();
    assert!(err.is_cancelled_by_user(), "{err}");
    let seen = seen.into_inner().unwrap();
    let running: Vec<u64> = seen
        .iter()
        .filter(|p| p.phase == Phase::Running)
        .map(|p| p.scanned_bytes)
        .collect();
    assert!(running.len() >= 2, "{seen:?}");
    assert!(
        running.windows(2).all(|w| w[0] < w[1]),
        "the scanned figure follows each poll: {running:?}"
    );
    assert_eq!(seen.last().unwrap().phase, Phase::Stopping);
    assert_eq!(peer.count("StopQueryExecution"), 1);
}

/// [`happy_script`] with the query already SUCCEEDED at the first poll.
fn succeeded_at_once(call: &Call) -> Reply {
    happy_script(&Call {
        nth: 2,
        ..call.clone()
    })
}

#[test]
fn full_call_sequence_pages_and_decodes_2500_rows() {
    let rt = runtime();
    let peer = Peer::start(happy_script);
    let engine = engine(&rt, &peer, 3);
    let finished = rt.block_on(engine.run("SELECT 1", never())).unwrap();

    assert_eq!(finished.query_execution_id, ID);
    assert_eq!(finished.stats.data_scanned_bytes, 123_456_789);
    assert_eq!(finished.stats.engine_ms, 1234);
    let rows: usize = finished.batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 2500, "the header row is dropped, every data row kept");
    // Row order and values survive paging.
    let seqs: Vec<i64> = finished
        .batches
        .iter()
        .flat_map(|b| {
            let c = b.column_by_name("seq").unwrap().as_primitive::<Int64Type>();
            (0..c.len()).map(|i| c.value(i)).collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(seqs, (0..2500).collect::<Vec<i64>>());

    assert_eq!(
        peer.operations(),
        [
            "StartQueryExecution",
            "GetQueryExecution",
            "GetQueryExecution",
            "GetQueryExecution",
            "GetQueryResults",
            "GetQueryResults",
            "GetQueryResults"
        ]
    );
    let calls = peer.calls();
    let start = &calls[0].body;
    assert_eq!(start["QueryString"], "SELECT 1");
    assert_eq!(start["WorkGroup"], "primary");
    assert_eq!(start["QueryExecutionContext"]["Database"], "glaux");
    assert_eq!(start["QueryExecutionContext"]["Catalog"], "AwsDataCatalog");
    assert_eq!(
        start["ResultConfiguration"]["OutputLocation"],
        "s3://results-bucket/glaux/"
    );
    let token = start["ClientRequestToken"].as_str().unwrap();
    assert!((32..=128).contains(&token.len()), "{token}");
    assert!(
        start.get("ResultReuseConfiguration").is_none(),
        "result reuse is off unless asked for"
    );
    for c in &calls[1..4] {
        assert_eq!(c.body["QueryExecutionId"], ID);
    }
    let pages: Vec<_> = calls[4..].iter().map(|c| c.body.clone()).collect();
    assert_eq!(pages[0]["MaxResults"], 1000);
    assert!(pages[0].get("NextToken").is_none());
    assert_eq!(pages[1]["NextToken"], "page-2");
    assert_eq!(pages[2]["NextToken"], "page-3");
}

#[test]
fn result_reuse_is_requested_when_configured() {
    let rt = runtime();
    let peer = Peer::start(happy_script);
    let mut engine_settings = engine(&rt, &peer, 3).settings().clone();
    engine_settings.reuse_minutes = Some(60);
    let settings = AwsSettings {
        region: Some("us-east-1".into()),
        endpoint_url: Some(peer.url.clone()),
        ..AwsSettings::default()
    };
    let config = rt.block_on(
        glaux_aws::loader(&settings)
            .unwrap()
            .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
            .load(),
    );
    let engine = AthenaEngine::new(&config, engine_settings);
    rt.block_on(engine.run("SELECT 1", never())).unwrap();
    let start = &peer.calls()[0].body;
    assert_eq!(
        start["ResultReuseConfiguration"]["ResultReuseByAgeConfiguration"],
        json!({"Enabled": true, "MaxAgeInMinutes": 60})
    );
}

#[test]
fn failed_query_reports_reason_category_and_type_and_stops() {
    let rt = runtime();
    let peer = Peer::start(|call| match call.operation.as_str() {
        "StartQueryExecution" => Reply::ok(json!({"QueryExecutionId": ID})),
        "GetQueryExecution" => Reply::ok(failed(
            ID,
            "SYNTAX_ERROR: line 1:8: Column 'nope' cannot be resolved",
            2,
            1006,
            false,
        )),
        _ => Reply::error(400, "InvalidRequestException", "unexpected"),
    });
    let e = rt
        .block_on(engine(&rt, &peer, 3).run("SELECT nope", never()))
        .unwrap_err();
    assert!(
        matches!(
            e,
            AthenaError::Failed {
                retryable: false,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "Athena query {ID} FAILED: SYNTAX_ERROR: line 1:8: Column 'nope' cannot be resolved [user error, error type 1006]"
        )
    );
    assert_eq!(
        peer.operations(),
        ["StartQueryExecution", "GetQueryExecution"]
    );
}

/// A peer whose first query (`{ID}-0`) ends as `first_failure` says and
/// every later one succeeds with one row.
fn fails_first_then_succeeds(
    first_failure: impl Fn(&str) -> serde_json::Value + Send + Sync + 'static,
) -> Peer {
    Peer::start(move |call| match call.operation.as_str() {
        "StartQueryExecution" => {
            Reply::ok(json!({"QueryExecutionId": format!("{ID}-{}", call.nth)}))
        }
        "GetQueryExecution" => {
            let id = call.body["QueryExecutionId"].as_str().unwrap().to_string();
            if id.ends_with("-0") {
                Reply::ok(first_failure(&id))
            } else {
                Reply::ok(execution(&id, "SUCCEEDED", 0))
            }
        }
        "GetQueryResults" => Reply::ok(page(
            &glaux_columns(),
            vec![header(&glaux_columns()), hit_row(7)],
            None,
        )),
        _ => Reply::error(400, "InvalidRequestException", "unexpected"),
    })
}

#[test]
fn failed_query_marked_retryable_is_submitted_again() {
    let rt = runtime();
    let peer = fails_first_then_succeeds(|id| failed(id, "Internal error", 1, 401, true));
    let finished = rt
        .block_on(engine(&rt, &peer, 3).run("SELECT 1", never()))
        .unwrap();
    assert_eq!(finished.query_execution_id, format!("{ID}-1"));
    assert_eq!(peer.count("StartQueryExecution"), 2);
    // Each submission is a new query: a new idempotency token.
    let calls = peer.calls();
    let tokens: Vec<_> = calls
        .iter()
        .filter(|c| c.operation == "StartQueryExecution")
        .map(|c| c.body["ClientRequestToken"].clone())
        .collect();
    assert_ne!(tokens[0], tokens[1]);
}

/// `glaux compact` on S3 deletes merged files; a query that listed one
/// before and opens it after fails. Athena does not mark that retryable,
/// but a new run lists the partition afresh: it is resubmitted.
#[test]
fn a_query_whose_file_vanished_is_submitted_again() {
    let rt = runtime();
    let vanished = "HIVE_CANNOT_OPEN_SPLIT: Error opening Hive split s3://store/glaux/messages/dt=2024-05-01-10/0a1b.parquet (offset=0, length=4096): The specified key does not exist. (Service: Amazon S3; Status Code: 404; Error Code: NoSuchKey)";
    let peer = fails_first_then_succeeds(move |id| failed(id, vanished, 2, 1000, false));
    let finished = rt
        .block_on(engine(&rt, &peer, 3).run("SELECT 1", never()))
        .unwrap();
    assert_eq!(finished.query_execution_id, format!("{ID}-1"));
    assert_eq!(peer.count("StartQueryExecution"), 2);
    // Other user errors are not: a table that does not exist stops at once.
    assert!(!glaux_athena_engine::run::file_vanished(
        "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.glaux.indices' does not exist"
    ));
    assert!(glaux_athena_engine::run::file_vanished(
        "HIVE_FILE_NOT_FOUND: s3://store/glaux/indices/dt=2024-05-01-10/c-1.parquet"
    ));
}

#[test]
fn cancelled_elsewhere_is_reported() {
    let rt = runtime();
    let peer = Peer::start(|call| match call.operation.as_str() {
        "StartQueryExecution" => Reply::ok(json!({"QueryExecutionId": ID})),
        "GetQueryExecution" => Reply::ok(execution(
            ID,
            if call.nth == 0 {
                "RUNNING"
            } else {
                "CANCELLED"
            },
            0,
        )),
        _ => Reply::error(400, "InvalidRequestException", "unexpected"),
    });
    let e = rt
        .block_on(engine(&rt, &peer, 3).run("SELECT 1", never()))
        .unwrap_err();
    assert!(!e.is_cancelled_by_user());
    assert_eq!(e.to_string(), format!("Athena query {ID} was CANCELLED"));
    assert_eq!(peer.count("StopQueryExecution"), 0);
}

#[test]
fn throttling_bursts_are_retried_with_backoff_then_succeed() {
    let rt = runtime();
    let peer = Peer::start(|call| match call.operation.as_str() {
        "StartQueryExecution" if call.nth < 3 => {
            Reply::error(400, "TooManyRequestsException", "Rate exceeded")
        }
        "GetQueryExecution" if call.nth < 2 => {
            Reply::error(400, "ThrottlingException", "Rate exceeded")
        }
        _ => succeeded_at_once(call),
    });
    let finished = rt
        .block_on(engine(&rt, &peer, 6).run("SELECT 1", never()))
        .unwrap();
    assert_eq!(finished.query_execution_id, ID);
    assert_eq!(peer.count("StartQueryExecution"), 4);
    assert_eq!(peer.count("GetQueryExecution"), 3);
    // Retries of one start reuse its token, so Athena starts one query.
    let calls = peer.calls();
    let tokens: std::collections::BTreeSet<_> = calls
        .iter()
        .filter(|c| c.operation == "StartQueryExecution")
        .map(|c| c.body["ClientRequestToken"].to_string())
        .collect();
    assert_eq!(tokens.len(), 1);
}

#[test]
fn throttling_beyond_the_attempt_limit_is_an_error_naming_it() {
    let rt = runtime();
    let peer = Peer::start(|_| Reply::error(400, "TooManyRequestsException", "Rate exceeded"));
    let e = rt
        .block_on(engine(&rt, &peer, 3).run("SELECT 1", never()))
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with("Athena StartQueryExecution failed:"),
        "{text}"
    );
    assert!(text.contains("TooManyRequestsException"), "{text}");
    assert!(text.contains("Rate exceeded"), "{text}");
    assert_eq!(peer.count("StartQueryExecution"), 3);
}

#[test]
fn a_non_retryable_error_stops_at_once() {
    let rt = runtime();
    let peer = Peer::start(|_| {
        Reply::error(
            400,
            "InvalidRequestException",
            "WorkGroup nope is not found.",
        )
    });
    let e = rt
        .block_on(engine(&rt, &peer, 6).run("SELECT 1", never()))
        .unwrap_err();
    assert!(
        e.to_string().contains("WorkGroup nope is not found."),
        "{e}"
    );
    assert_eq!(peer.operations(), ["StartQueryExecution"]);
}

#[test]
fn cancelling_a_running_query_stops_it_on_athena() {
    let rt = runtime();
    let peer = runs_until_stopped(ID);
    let engine = engine(&rt, &peer, 3);
    // "Ctrl-C" once the query has been seen running a few times.
    let e = rt
        .block_on(async {
            engine
                .run("SELECT 1", tokio::time::sleep(Duration::from_millis(700)))
                .await
        })
        .unwrap_err();
    assert!(e.is_cancelled_by_user(), "{e:?}");
    let calls = peer.calls();
    let stop = calls
        .iter()
        .find(|c| c.operation == "StopQueryExecution")
        .expect("StopQueryExecution was called");
    assert_eq!(stop.body["QueryExecutionId"], ID);
    assert!(peer.count("GetQueryExecution") >= 2);
    assert_eq!(peer.count("GetQueryResults"), 0);
}

#[test]
fn ctrl_c_while_the_start_is_in_flight_stops_what_it_started() {
    let rt = runtime();
    let peer = Peer::start(|call| match call.operation.as_str() {
        "StartQueryExecution" => {
            // Athena is slow to answer; the user presses Ctrl-C meanwhile.
            std::thread::sleep(Duration::from_millis(800));
            Reply::ok(json!({"QueryExecutionId": ID}))
        }
        "StopQueryExecution" => Reply::ok(json!({})),
        _ => Reply::error(400, "InvalidRequestException", "unexpected"),
    });
    let engine = engine(&rt, &peer, 3);
    let e = rt
        .block_on(async {
            engine
                .run("SELECT 1", tokio::time::sleep(Duration::from_millis(100)))
                .await
        })
        .unwrap_err();
    assert!(e.is_cancelled_by_user(), "{e:?}");
    assert_eq!(
        peer.operations(),
        ["StartQueryExecution", "StopQueryExecution"]
    );
    assert_eq!(peer.calls()[1].body["QueryExecutionId"], ID);
}

#[test]
fn retryable_failures_are_resubmitted_at_most_twice() {
    let rt = runtime();
    let peer = Peer::start(|call| match call.operation.as_str() {
        "StartQueryExecution" => Reply::ok(json!({"QueryExecutionId": format!("q-{}", call.nth)})),
        "GetQueryExecution" => Reply::ok(failed(
            call.body["QueryExecutionId"].as_str().unwrap(),
            "GENERIC_INTERNAL_ERROR",
            1,
            401,
            true,
        )),
        _ => Reply::error(400, "InvalidRequestException", "unexpected"),
    });
    let e = rt
        .block_on(engine(&rt, &peer, 3).run("SELECT 1", never()))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Athena query q-2 FAILED: GENERIC_INTERNAL_ERROR [system error, error type 401, retryable]"
    );
    assert_eq!(peer.count("StartQueryExecution"), 3);
}

#[test]
fn polling_errors_stop_the_query_so_it_does_not_run_on_unseen() {
    let rt = runtime();
    let peer = Peer::start(|call| match call.operation.as_str() {
        "StartQueryExecution" => Reply::ok(json!({"QueryExecutionId": ID})),
        "GetQueryExecution" => Reply::error(403, "AccessDeniedException", "not allowed"),
        "StopQueryExecution" => Reply::ok(json!({})),
        _ => Reply::error(400, "InvalidRequestException", "unexpected"),
    });
    let e = rt
        .block_on(engine(&rt, &peer, 3).run("SELECT 1", never()))
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Athena GetQueryExecution failed:"),
        "{e}"
    );
    assert_eq!(
        peer.operations(),
        [
            "StartQueryExecution",
            "GetQueryExecution",
            "StopQueryExecution"
        ]
    );
}

#[test]
fn polling_backs_off() {
    // A query that runs ~1.6 s is polled a handful of times, not hundreds.
    let rt = runtime();
    let started = std::time::Instant::now();
    let peer = Peer::start(move |call| match call.operation.as_str() {
        "GetQueryExecution" => {
            let state = if started.elapsed() < Duration::from_millis(1600) {
                "RUNNING"
            } else {
                "SUCCEEDED"
            };
            Reply::ok(execution(ID, state, 0))
        }
        _ => happy_script(call),
    });
    rt.block_on(engine(&rt, &peer, 3).run("SELECT 1", never()))
        .unwrap();
    let polls = peer.count("GetQueryExecution");
    // 100, 200, 400, 800, 1600 ms waits: about 6 polls; allow slack for a
    // slow machine, but far fewer than fixed 100 ms polling (16+).
    assert!((3..=10).contains(&polls), "{polls} polls");
}

#[test]
fn malformed_responses_are_errors_not_panics() {
    let rt = runtime();
    // A row narrower than the columns.
    let peer = Peer::start(|call| match call.operation.as_str() {
        "GetQueryResults" => Reply::ok(page(
            &glaux_columns(),
            vec![header(&glaux_columns()), row(&[Some("1".into())])],
            None,
        )),
        _ => succeeded_at_once(call),
    });
    let e = rt
        .block_on(engine(&rt, &peer, 3).run("SELECT 1", never()))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "Athena returned a malformed result for query {ID}: row 1 has 1 values but the result has 5 columns"
        )
    );

    // A bigint that is not a number.
    let peer = Peer::start(|call| match call.operation.as_str() {
        "GetQueryResults" => Reply::ok(page(
            &glaux_columns(),
            vec![row(&[
                Some("soon".into()),
                None,
                Some("o".into()),
                Some("1".into()),
                Some("m".into()),
            ])],
            None,
        )),
        _ => succeeded_at_once(call),
    });
    let e = rt
        .block_on(engine(&rt, &peer, 3).run("SELECT 1", never()))
        .unwrap_err();
    assert!(e.to_string().contains("`soon` is not a bigint"), "{e}");

    // Not JSON at all.
    let peer = Peer::start(|call| match call.operation.as_str() {
        "GetQueryExecution" => Reply::garbage(),
        _ => happy_script(call),
    });
    let e = rt
        .block_on(engine(&rt, &peer, 3).run("SELECT 1", never()))
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Athena GetQueryExecution failed:"),
        "{e}"
    );

    // A GetQueryExecution answer without a state at all.
    let peer = Peer::start(|call| match call.operation.as_str() {
        "GetQueryExecution" => Reply::ok(json!({"QueryExecution": {"QueryExecutionId": ID}})),
        _ => happy_script(call),
    });
    let e = rt
        .block_on(engine(&rt, &peer, 3).run("SELECT 1", never()))
        .unwrap_err();
    assert!(e.to_string().contains("unknown query state"), "{e}");
}

#[test]
fn nulls_and_types_decode_like_the_local_engine() {
    let rt = runtime();
    let peer = Peer::start(|call| match call.operation.as_str() {
        "GetQueryResults" => Reply::ok(page(
            &glaux_columns(),
            vec![
                header(&glaux_columns()),
                row(&[
                    Some("1714557600123".into()),
                    None,
                    Some("/x".into()),
                    Some("3".into()),
                    Some("a 'quoted' \"line\"\twith\ttabs".into()),
                ]),
            ],
            None,
        )),
        _ => succeeded_at_once(call),
    });
    let f = rt
        .block_on(engine(&rt, &peer, 3).run("SELECT 1", never()))
        .unwrap();
    let batch = &f.batches[0];
    assert_eq!(batch.num_rows(), 1);
    let column = |name: &str| batch.column_by_name(name).unwrap();
    assert_eq!(
        column("time_ms").as_primitive::<Int64Type>().value(0),
        1_714_557_600_123
    );
    assert!(column("tag").is_null(0));
    assert_eq!(column("seq").as_primitive::<Int64Type>().value(0), 3);
    assert_eq!(
        column("message").as_string::<i32>().value(0),
        "a 'quoted' \"line\"\twith\ttabs"
    );
}
