//! The real `glaux` binary on the Athena path, against moto's server and a
//! scripted peer on 127.0.0.1 (nothing reaches AWS: the environment has
//! fixed test credentials, no AWS config files, no instance metadata).
//!
//! - every output format prints the same bytes on Athena as on the local
//!   engine, for the same rows;
//! - Ctrl-C stops the Athena query and exits 130;
//! - a FAILED query, missing credentials and misconfiguration are told;
//! - `glaux ingest` from and to S3, `glaux compact` of an S3 store,
//!   `glaux ddl --apply`, `glaux config`.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use glaux_testkit::AWS_TEST_ENV;
use glaux_testkit::moto::Moto;
use glaux_testkit::peer::athena::{
    execution, failed, glaux_columns, header, page, row, runs_until_stopped,
};
use glaux_testkit::peer::{Call, Peer, Reply};
use serde_json::{Value, json};

const NOW: &str = "2024-05-01T12:00:00Z";

/// The binary with a clean, AWS-free environment.
fn glaux() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_glaux"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("HOME", std::env::temp_dir())
        .env("XDG_CONFIG_HOME", "/nonexistent/glaux-test-config");
    for (k, v) in AWS_TEST_ENV {
        c.env(k, v);
    }
    c
}

fn run(c: &mut Command) -> Output {
    c.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `command`, presses Ctrl-C (SIGINT) once `peer` has answered
/// `polls` GetQueryExecution calls, and returns what it printed.
fn ctrl_c_after_polls(command: &mut Command, peer: &Peer, polls: usize) -> Output {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    peer.wait_for("GetQueryExecution", polls);
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait_with_output().unwrap()
}

fn demo_store(dir: &Path) -> std::path::PathBuf {
    let mut c = glaux();
    c.args(["--now", NOW]);
    glaux_testkit::demo_store(c, dir, &[])
}

/// What each statement of `query`'s search returns on the local `store`, as
/// Athena results (header row first, with column info), in the order the
/// search runs them: moto then answers each Athena query as the local
/// engine answered the same statement, so the Athena run takes the same
/// steps (hours, finds, fetch) and must print the same records.
fn athena_answers(store: &Path, query: &str) -> Vec<Value> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let engine = rt
        .block_on(glaux_local_engine::LocalEngine::open(
            &glaux_store::Store::new(store),
            "glaux",
        ))
        .unwrap();
    let now = chrono::DateTime::parse_from_rfc3339(NOW).unwrap().to_utc();
    let compiled =
        glaux_compiler::compile(query, &glaux_compiler::CompileOptions::at(now)).unwrap();
    let recording = Recording {
        engine: &engine,
        answers: std::cell::RefCell::new(Vec::new()),
    };
    rt.block_on(glaux_search::run_steps(
        &compiled,
        &recording,
        &mut glaux_search::Watch::unwatched(),
    ))
    .unwrap();
    recording.answers.into_inner()
}

/// The local engine, keeping each statement's rows as Athena would page
/// them.
struct Recording<'a> {
    engine: &'a glaux_local_engine::LocalEngine,
    answers: std::cell::RefCell<Vec<Value>>,
}

impl glaux_search::Engine for Recording<'_> {
    async fn run(
        &self,
        sql: &str,
        watch: &mut glaux_search::Watch<'_>,
    ) -> Result<glaux_search::Done, glaux_search::SearchError> {
        let done = glaux_search::Engine::run(self.engine, sql, watch).await?;
        self.answers.borrow_mut().push(answer(sql, &done.batches));
        Ok(done)
    }
}

/// `batches`, the rows of `sql`, as Athena's results: a header row first,
/// with column info.
fn answer(sql: &str, batches: &[arrow::array::RecordBatch]) -> Value {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::DataType;
    // Columns from the result, or (no batch) from the statement.
    let names: Vec<String> = match batches.first() {
        Some(b) => b
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect(),
        None if sql.ends_with("FROM \"hits\"") => ["dt", "object", "seq", "time_ms"]
            .map(String::from)
            .to_vec(),
        None if sql.ends_with("\"dt\" DESC") => vec!["dt".to_string()],
        None => glaux_columns().iter().map(|(n, _)| n.to_string()).collect(),
    };
    // Athena's type of each column: the result's, or by name.
    let types: Vec<&str> = match batches.first() {
        Some(b) => b
            .schema()
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Int64 => "bigint",
                DataType::Float64 => "double",
                DataType::Boolean => "boolean",
                _ => "varchar",
            })
            .collect(),
        None => names
            .iter()
            .map(|n| match n.as_str() {
                "seq" | "time_ms" => "bigint",
                _ => "varchar",
            })
            .collect(),
    };
    let columns: Vec<(&str, &str)> = names.iter().map(String::as_str).zip(types).collect();
    let mut rows = vec![header(&columns)];
    for b in batches {
        let cells: Vec<_> = (0..b.num_columns())
            .map(|i| arrow::compute::cast(b.column(i), &DataType::Utf8).unwrap())
            .collect();
        for r in 0..b.num_rows() {
            rows.push(row(&cells
                .iter()
                .map(|c| {
                    let c = c.as_string::<i32>();
                    (!c.is_null(r)).then(|| c.value(r).to_string())
                })
                .collect::<Vec<_>>()));
        }
    }
    let info: Vec<Value> = columns
        .iter()
        .map(|(n, t)| json!({"Name": n, "Label": n, "Type": t}))
        .collect();
    json!({"rows": rows, "column_info": info})
}

#[test]
fn every_format_prints_the_same_on_athena_as_locally() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path());
    let moto = Moto::start();
    for query in [
        "eventName:ConsoleLogin AND 10.0.0.1",
        "tag:json AND level:error",
        "nothing-matches-this",
        // Stages: one statement each, its table printed alike.
        "* | stats count(), dc(sourceIPAddress) as ips, latest(sourceIPAddress) by eventName | sort -count",
        "eventName:ConsoleLogin | top 3 sourceIPAddress",
        "* | timechart span=1h count()",
    ] {
        let local = |format: &str| {
            let out = run(glaux()
                .args(["--now", NOW, "--store"])
                .arg(&store)
                .args(["query", "--format", format, query]));
            // 0: records found; 1: none (the third query).
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "{}",
                text(&out.stderr)
            );
            out
        };
        let answers = athena_answers(&store, query);
        if query.starts_with("eventName") && !query.contains('|') {
            // A walk: the hours, one find or more, the fetch.
            assert!(answers.len() >= 3, "{} statements", answers.len());
        }
        for format in ["table", "json", "ndjson", "csv"] {
            for answer in &answers {
                moto.queue_athena_results(&json!({ "results": [answer] }));
            }
            let expected = local(format);
            let out = run(glaux().args([
                "--now",
                NOW,
                "--engine",
                "athena",
                "--endpoint-url",
                &moto.url,
                "--output-location",
                "s3://athena-results/glaux/",
                "query",
                "--format",
                format,
                query,
            ]));
            let err = text(&out.stderr);
            // The same exit status too: 0 with records, 1 without.
            assert_eq!(out.status.code(), expected.status.code(), "{err}");
            assert_eq!(
                text(&out.stdout),
                text(&expected.stdout),
                "{query} as {format}"
            );
            // The footer says it ran on Athena, what it scanned and cost:
            // each query billed its 10 MB minimum.
            assert!(err.contains(" · Athena "), "{err}");
            let cost = match answers.len() {
                1 => "scanned 0 B · $0.000048 (10 MB minimum, $5/TB)".to_string(),
                n => {
                    use glaux_athena_engine::cost::{cost_usd, human_usd};
                    format!(
                        "scanned 0 B · {} ({n} queries, 10 MB minimum a query, $5/TB)",
                        human_usd(n as f64 * cost_usd(0, 5.0))
                    )
                }
            };
            assert!(err.contains(&cost), "{err}");
        }
    }
}

#[test]
fn ctrl_c_stops_the_athena_query_and_exits_130() {
    let peer = runs_until_stopped("q-running");
    // Ctrl-C once the query is being polled.
    let out = ctrl_c_after_polls(
        glaux().args([
            "--engine",
            "athena",
            "--endpoint-url",
            &peer.url,
            "query",
            "x",
        ]),
        &peer,
        2,
    );
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cancelled"),
        "{}",
        text(&out.stderr)
    );
    let calls = peer.calls();
    let stop = calls
        .iter()
        .find(|c| c.operation == "StopQueryExecution")
        .expect("glaux called StopQueryExecution");
    assert_eq!(stop.body["QueryExecutionId"], "q-running");
}

#[test]
fn a_failed_query_prints_athenas_reason_and_exits_2() {
    let peer = Peer::start(|call| match call.operation.as_str() {
        "StartQueryExecution" => Reply::ok(json!({"QueryExecutionId": "q-failed"})),
        "GetQueryExecution" => Reply::ok(failed(
            "q-failed",
            "HIVE_BAD_DATA: Field message's type BINARY in parquet is incompatible with type varchar",
            2,
            1100,
            false,
        )),
        _ => Reply::error(400, "InvalidRequestException", "unexpected"),
    });
    let out = run(glaux().args([
        "--engine",
        "athena",
        "--endpoint-url",
        &peer.url,
        "query",
        "x",
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: Athena query q-failed FAILED: HIVE_BAD_DATA: Field message's type BINARY in parquet is incompatible with type varchar [user error, error type 1100]\n"
    );
    assert!(out.stdout.is_empty());
}

/// A query whose search runs several statements on the demo store.
const SEVERAL_QUERIES: &str = "eventName:ConsoleLogin AND 10.0.0.1";

/// A peer for [`SEVERAL_QUERIES`] on `store` whose first query, `q-1`,
/// succeeds, scanning 25 MB, with the local engine's rows; `rest` answers
/// every other call, with the call's query id.
fn first_query_succeeds(
    store: &Path,
    rest: impl Fn(&Call, &str) -> Reply + Send + Sync + 'static,
) -> Peer {
    let answers = athena_answers(store, SEVERAL_QUERIES);
    assert!(answers.len() >= 2, "{} statements", answers.len());
    let first = answers[0].clone();
    Peer::start(move |call| {
        let id = call.body["QueryExecutionId"].as_str().unwrap_or_default();
        match call.operation.as_str() {
            "StartQueryExecution" => {
                Reply::ok(json!({"QueryExecutionId": format!("q-{}", call.nth + 1)}))
            }
            "GetQueryExecution" if id == "q-1" => Reply::ok(execution(id, "SUCCEEDED", 25 << 20)),
            "GetQueryResults" if id == "q-1" => Reply::ok(answer_page(&first)),
            _ => rest(call, id),
        }
    })
}

/// `glaux query SEVERAL_QUERIES` over `store` on Athena at `peer`.
fn several_queries_on(peer: &Peer, store: &Path) -> Command {
    let mut c = glaux();
    c.args(["--now", NOW, "--engine", "athena", "--endpoint-url"])
        .arg(&peer.url)
        .arg("--store")
        .arg(store)
        .args(["query", SEVERAL_QUERIES]);
    c
}

/// A `GetQueryResults` page of one of [`athena_answers`]' answers.
fn answer_page(answer: &Value) -> Value {
    let columns: Vec<(String, String)> = answer["column_info"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["Name"].as_str().unwrap().to_string(),
                c["Type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let columns: Vec<(&str, &str)> = columns
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    page(&columns, answer["rows"].as_array().unwrap().clone(), None)
}

/// A stats query on Athena at the scripted peer: a stage's whole answer
/// is one statement, the one the compiler made (the quote of a `where`
/// value doubled inside its literal); the table prints as the local engine
/// prints it; the footer gives Athena's scan and its cost, here well past
/// the 10 MB minimum.
#[test]
fn a_stats_query_on_athena_prints_the_local_table_and_its_scan_cost() {
    use glaux_athena_engine::cost::{cost_usd, human_bytes, human_usd};
    const SCANNED: i64 = 3 << 30;
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path());
    let query = "eventName:ConsoleLogin OR 10.0.0.1 | stats count(), dc(sourceIPAddress) as ips \
                 by eventName | where eventName != \"o'brien\" | sort -count";
    let answers = athena_answers(&store, query);
    assert_eq!(answers.len(), 1, "a stage runs one statement");
    let answer = answers[0].clone();
    let peer = Peer::start(move |call| {
        let id = call.body["QueryExecutionId"].as_str().unwrap_or_default();
        match call.operation.as_str() {
            "StartQueryExecution" => Reply::ok(json!({"QueryExecutionId": "q-1"})),
            "GetQueryExecution" => Reply::ok(execution(id, "SUCCEEDED", SCANNED)),
            "GetQueryResults" => Reply::ok(answer_page(&answer)),
            _ => Reply::error(400, "InvalidRequestException", "unexpected"),
        }
    });
    let local = run(glaux()
        .args(["--now", NOW, "--store"])
        .arg(&store)
        .args(["query", query]));
    assert_eq!(local.status.code(), Some(0), "{}", text(&local.stderr));
    let out = run(glaux()
        .args(["--now", NOW, "--engine", "athena", "--endpoint-url"])
        .arg(&peer.url)
        .arg("--store")
        .arg(&store)
        .args(["query", query]));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(text(&out.stdout), text(&local.stdout));
    assert!(
        text(&out.stdout).contains("ConsoleLogin"),
        "{}",
        text(&out.stdout)
    );
    let cost = format!(
        " · Athena 1.23 s · scanned {} · {} ($5/TB) · id q-1",
        human_bytes(SCANNED as u64),
        human_usd(cost_usd(SCANNED as u64, 5.0))
    );
    assert!(err.contains(&cost), "{err}\nwant {cost}");

    // What Athena was sent: the compiled statement, once.
    let starts: Vec<Call> = peer
        .calls()
        .into_iter()
        .filter(|c| c.operation == "StartQueryExecution")
        .collect();
    assert_eq!(starts.len(), 1);
    let sent = starts[0].body["QueryString"].as_str().unwrap();
    let now = chrono::DateTime::parse_from_rfc3339(NOW).unwrap().to_utc();
    let compiled =
        glaux_compiler::compile(query, &glaux_compiler::CompileOptions::at(now)).unwrap();
    assert!(
        compiled.sql.contains(sent.trim()),
        "{sent}\n{}",
        compiled.sql
    );
    assert!(sent.contains("o''brien"), "{sent}");
    assert!(sent.contains("GROUP BY"), "{sent}");
}

/// A search of several queries fails at its second: the first one ran
/// and is billed, so the error is followed by what it scanned, cost and
/// its id (a cancelled search is told the same way: the test below).
#[test]
fn a_search_failing_after_its_first_query_reports_what_ran() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path());
    let peer = first_query_succeeds(&store, |call, id| match call.operation.as_str() {
        "GetQueryExecution" => Reply::ok(failed(
            id,
            "HIVE_CURSOR_ERROR: the file was removed",
            2,
            1100,
            false,
        )),
        _ => Reply::error(400, "InvalidRequestException", "unexpected"),
    });
    let out = run(&mut several_queries_on(&peer, &store));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "error: Athena query q-2 FAILED: HIVE_CURSOR_ERROR: the file was removed [user error, error type 1100]\n\
         note: before that, this search ran 1 Athena query, billed: Athena 1.23 s · scanned 25.0 MB · $0.000119 ($5/TB) · id q-1\n"
    );
    assert!(out.stdout.is_empty());
}

/// Ctrl-C on the second query of a search: it is stopped, the exit is
/// 130, and the first query, billed, is told as after a failure.
#[test]
fn ctrl_c_after_the_first_query_of_a_search_reports_what_ran() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path());
    let stopped = Arc::new(AtomicBool::new(false));
    let peer = first_query_succeeds(&store, move |call, id| match call.operation.as_str() {
        "GetQueryExecution" => {
            let state = if stopped.load(Ordering::SeqCst) {
                "CANCELLED"
            } else {
                "RUNNING"
            };
            Reply::ok(execution(id, state, 1 << 20))
        }
        "StopQueryExecution" => {
            stopped.store(true, Ordering::SeqCst);
            Reply::ok(json!({}))
        }
        _ => Reply::error(400, "InvalidRequestException", "unexpected"),
    });
    // q-1 is polled once; Ctrl-C once q-2 is being polled.
    let out = ctrl_c_after_polls(&mut several_queries_on(&peer, &store), &peer, 3);
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "cancelled\n\
         note: before that, this search ran 1 Athena query, billed: Athena 1.23 s · scanned 25.0 MB · $0.000119 ($5/TB) · id q-1\n"
    );
    let stop = peer
        .calls()
        .into_iter()
        .find(|c| c.operation == "StopQueryExecution")
        .expect("glaux called StopQueryExecution");
    assert_eq!(stop.body["QueryExecutionId"], "q-2");
}

#[test]
fn pages_of_results_are_all_printed() {
    let peer = Peer::start(|call| {
        let cols = glaux_columns();
        let hit = |i: usize| {
            row(&[
                Some((1_714_557_600_000i64 + i as i64).to_string()),
                Some("json".into()),
                Some("/o".into()),
                Some(i.to_string()),
                Some(format!("line {i}")),
            ])
        };
        match call.operation.as_str() {
            "StartQueryExecution" => Reply::ok(json!({"QueryExecutionId": "q"})),
            "GetQueryExecution" => Reply::ok(execution("q", "SUCCEEDED", 25 << 20)),
            "GetQueryResults" => match call.body.get("NextToken").and_then(Value::as_str) {
                None => {
                    let mut rows = vec![header(&cols)];
                    rows.extend((0..999).map(hit));
                    Reply::ok(page(&cols, rows, Some("t2")))
                }
                Some("t2") => Reply::ok(page(&cols, (999..1999).map(hit).collect(), Some("t3"))),
                _ => Reply::ok(page(&cols, (1999..2500).map(hit).collect(), None)),
            },
            _ => Reply::error(400, "InvalidRequestException", "unexpected"),
        }
    });
    let out = run(glaux().args([
        "--engine",
        "athena",
        "--endpoint-url",
        &peer.url,
        "--price-per-tb",
        "6.25",
        "query",
        "--limit",
        "0",
        "--format",
        "ndjson",
        // No index lookup: one statement, whose rows are the records (a
        // term would first find keys).
        "tag:json",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 2500);
    let err = text(&out.stderr);
    assert!(err.starts_with("2500 records in "), "{err}");
    // 25 MB billed as scanned (over the minimum), at the configured price:
    // 25 × 2^20 / 2^40 × 6.25 = $0.000149.
    assert!(
        err.contains("scanned 25.0 MB · $0.000149 ($6.25/TB)"),
        "{err}"
    );
}

#[test]
fn missing_credentials_are_a_clear_error_not_a_hang() {
    // Any call that got through would land here, and fail the test.
    let peer = Peer::start(|_| Reply::error(400, "InvalidRequestException", "no call expected"));
    let started = Instant::now();
    let out = run(glaux()
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        // Instance metadata is on, as on a laptop, but pointed at a closed
        // local port: nothing answers, and a CI runner on EC2 cannot hand
        // out real credentials.
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1")
        .args([
            "--engine",
            "athena",
            "--endpoint-url",
            &peer.url,
            "query",
            "x",
        ]));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.starts_with("error: no AWS credentials"), "{err}");
    assert!(err.contains("glaux looks where the AWS CLI does"), "{err}");
    assert!(peer.calls().is_empty(), "{:?}", peer.operations());
    // Not a timing assertion on speed, only a guard against a hang: the
    // bound is the 10 s credentials timeout plus process start.
    assert!(started.elapsed() < Duration::from_secs(120));

    let out = run(glaux().env_remove("AWS_REGION").args([
        "--engine",
        "athena",
        "--endpoint-url",
        &peer.url,
        "query",
        "x",
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("error: no AWS region"),
        "{}",
        text(&out.stderr)
    );
    assert!(peer.calls().is_empty(), "{:?}", peer.operations());
}

#[test]
fn config_shows_values_and_where_they_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("glaux.toml");
    std::fs::write(
        &file,
        "engine = \"athena\"\nworkgroup = \"analysts\"\nprice_per_tb = 5.5\n",
    )
    .unwrap();
    let out = run(glaux()
        .env("GLAUX_DATABASE", "security")
        .args(["--config"])
        .arg(&file)
        .args(["--workgroup", "oncall", "config"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    let line = |key: &str| {
        shown
            .lines()
            .find(|l| l.starts_with(&format!("{key} = ")) || l.starts_with(&format!("# {key} ")))
            .unwrap_or_else(|| panic!("{key} missing in\n{shown}"))
            .to_string()
    };
    assert!(
        line("engine").starts_with("engine = \"athena\"")
            && line("engine").ends_with(&format!("# file {}", file.display())),
        "{shown}"
    );
    assert!(
        line("workgroup").starts_with("workgroup = \"oncall\"")
            && line("workgroup").ends_with("# flag --workgroup"),
        "{shown}"
    );
    assert!(
        line("database").ends_with("# env GLAUX_DATABASE"),
        "{shown}"
    );
    assert!(
        line("region").contains("\"us-east-1\"")
            && line("region").ends_with("# AWS chain (AWS_* env, ~/.aws/config)"),
        "{shown}"
    );
    assert!(line("store").starts_with("store = \"/"), "{shown}");
    assert!(
        line("region").starts_with("# region = "),
        "AWS chain values are commented out: {shown}"
    );
    assert!(line("catalog").ends_with("# default"), "{shown}");
    assert!(
        line("output_location").starts_with("# output_location (not set)"),
        "{shown}"
    );

    // A named config file that does not exist is an error; a typo'd key too.
    let out = run(glaux().args(["--config", "/nonexistent/x.toml", "config"]));
    assert_eq!(out.status.code(), Some(2));
    std::fs::write(&file, "enigne = \"athena\"\n").unwrap();
    let out = run(glaux().args(["--config"]).arg(&file).arg("config"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown key `enigne`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn local_engine_refuses_an_s3_store_with_a_hint() {
    let out = run(glaux().args(["--store", "s3://bucket/glaux", "query", "x"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("use --engine athena"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn ingest_from_and_to_s3_then_ddl_apply_on_moto() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    let files = glaux_samples::generate(&glaux_samples::SampleOptions::small(
        chrono::DateTime::parse_from_rfc3339(NOW).unwrap().to_utc(),
    ));
    glaux_samples::write_to(&raw, &files).unwrap();
    let records: usize = files.iter().map(|f| f.records.len()).sum();

    // Buckets and raw objects, through moto's S3 (path-style).
    for bucket in ["raw", "store"] {
        let (status, body) =
            glaux_testkit::moto::http(moto.port, "PUT", &format!("/{bucket}"), "").unwrap();
        assert_eq!(status, 200, "{body}");
    }
    for f in &files {
        let (status, body) =
            glaux_testkit::moto::http(moto.port, "PUT", &format!("/raw/{}", f.path), &f.bytes)
                .unwrap();
        assert_eq!(status, 200, "{body}");
    }

    // Overlapping inputs (app/ twice): every object is ingested once.
    let out = run(glaux().args([
        "--endpoint-url",
        &moto.url,
        "--store",
        "s3://store/glaux",
        "ingest",
        "s3://raw/cloudtrail/AWSLogs/",
        "s3://raw/app/",
        "s3://raw/app",
    ]));
    let report = text(&out.stdout);
    assert!(out.status.success(), "{}{report}", text(&out.stderr));
    assert!(
        report.starts_with("ingested into s3://store/glaux/"),
        "{report}"
    );
    assert!(report.contains("objects failed:          0"), "{report}");
    let chosen: usize = files
        .iter()
        .filter(|f| f.path.starts_with("cloudtrail/AWSLogs/") || f.path.starts_with("app/"))
        .map(|f| f.records.len())
        .sum();
    assert!(
        report.contains(&format!("records stored:          {chosen}\n")),
        "{report}"
    );
    // A prefix that names nothing is an error, not a quiet success.
    let out = run(glaux().args([
        "--endpoint-url",
        &moto.url,
        "--store",
        "s3://store/glaux",
        "ingest",
        "s3://raw/cloudtrial/",
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no log objects at s3://raw/cloudtrial/"),
        "{}",
        text(&out.stderr)
    );

    // Compaction of the S3 store through the binary: small files merged,
    // then nothing left to do (the store's contents are checked in
    // tests/aws_moto.rs and tests/compact_s3.rs).
    let compact = || {
        run(glaux().args([
            "--endpoint-url",
            &moto.url,
            "--store",
            "s3://store/glaux",
            "compact",
        ]))
    };
    let out = compact();
    let report = text(&out.stdout);
    assert!(out.status.success(), "{}{report}", text(&out.stderr));
    let compacted = |report: &str| -> u64 {
        report
            .lines()
            .find_map(|l| l.strip_prefix("partitions compacted:"))
            .unwrap_or_else(|| panic!("{report}"))
            .trim()
            .parse()
            .unwrap()
    };
    assert!(compacted(&report) > 0, "{report}");
    let out = compact();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(compacted(&text(&out.stdout)), 0);

    // S3 → a local store, then search it locally: same records.
    let local = dir.path().join("local");
    let out = run(glaux()
        .args(["--endpoint-url", &moto.url, "--store"])
        .arg(&local)
        .args(["ingest", "s3://raw/"]));
    let report = text(&out.stdout);
    assert!(out.status.success(), "{}{report}", text(&out.stderr));
    assert!(
        report.contains(&format!("records stored:          {records}")),
        "{report}"
    );
    // Records without a time of their own are timed by the object's
    // LastModified (the real clock): the window covers both.
    let out = run(glaux()
        .args(["--now", NOW, "--store"])
        .arg(&local)
        .args(["query", "--from", "2024-04-30", "--to", "2100-01-01"])
        .args(["--limit", "0", "--format", "ndjson", "*"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = text(&out.stdout);
    assert_eq!(lines.lines().count(), records);
    assert!(
        lines.lines().all(|l| l.contains("\"object\":\"s3://raw/")),
        "objects are named by their S3 URL"
    );

    // The DDL runs through Athena: CREATE DATABASE, then the four tables.
    let out = run(glaux().args([
        "--endpoint-url",
        &moto.url,
        "--store",
        "s3://store/glaux",
        "--output-location",
        "s3://athena-results/",
        "ddl",
        "--apply",
    ]));
    let shown = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 5, "{shown}");
    assert!(
        lines[0].starts_with("CREATE DATABASE IF NOT EXISTS `glaux` … ok (query "),
        "{shown}"
    );
    assert!(
        lines[1].starts_with("CREATE EXTERNAL TABLE IF NOT EXISTS `glaux`.`indices` ("),
        "{shown}"
    );
    assert!(
        lines[2].starts_with("CREATE EXTERNAL TABLE IF NOT EXISTS `glaux`.`messages` ("),
        "{shown}"
    );
    assert!(
        lines[3].starts_with("CREATE EXTERNAL TABLE IF NOT EXISTS `glaux`.`token_hours` ("),
        "{shown}"
    );
    assert!(
        lines[4].starts_with("CREATE EXTERNAL TABLE IF NOT EXISTS `glaux`.`field_values` ("),
        "{shown}"
    );
}

#[test]
fn repl_survives_ctrl_c_during_an_athena_query_and_switches_engines() {
    use std::io::Write;
    let peer = runs_until_stopped("q-repl");
    let dir = tempfile::tempdir().unwrap();
    let mut child = glaux()
        .env("XDG_DATA_HOME", dir.path())
        .args(["--engine", "athena", "--endpoint-url", &peer.url, "--store"])
        .arg(dir.path().join("none"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"\\sql off\nslow query\n").unwrap();
    stdin.flush().unwrap();
    peer.wait_for("GetQueryExecution", 2);
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    // The session goes on: switch engines, show it, leave.
    stdin
        .write_all(b"\\engine\n\\engine local\n\\engine bigquery\n\\q\n")
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stderr.contains("cancelled"), "{stderr}");
    assert!(
        stdout.contains("engine: Athena, database glaux, workgroup primary"),
        "{stdout}"
    );
    assert!(stdout.contains("engine: local store"), "{stdout}");
    assert!(
        stderr.contains("unknown engine `bigquery`; use local or athena"),
        "{stderr}"
    );
    assert_eq!(peer.count("StopQueryExecution"), 1);
}
