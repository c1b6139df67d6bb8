//! glaux against moto's server (a third-party implementation of the AWS
//! APIs, started on 127.0.0.1 by each test): the Athena call sequence with
//! results injected through moto's results API, and ingest from and to S3.
//!
//! Needs `moto_server` (scripts/test installs it); without it these tests
//! fail with instructions.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use aws_credential_types::Credentials;
use glaux_athena_engine::{AthenaEngine, AthenaSettings};
use glaux_aws::s3::{S3, S3Url};
use glaux_aws::store::{S3Objects, S3Target, list_logs};
use glaux_aws::{AwsSettings, SdkConfig};
use glaux_samples::{SampleOptions, generate};
use glaux_store::{IngestOptions, Store, Target};
use glaux_testkit::moto::Moto;
use serde_json::json;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn sdk_config(rt: &tokio::runtime::Runtime, moto: &Moto) -> SdkConfig {
    let settings = AwsSettings {
        region: Some("us-east-1".into()),
        endpoint_url: Some(moto.url.clone()),
        ..AwsSettings::default()
    };
    rt.block_on(
        glaux_aws::loader(&settings)
            .unwrap()
            .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
            .load(),
    )
}

#[test]
fn athena_call_sequence_on_moto() {
    let moto = Moto::start();
    let rt = runtime();
    let config = sdk_config(&rt, &moto);
    let columns = [("time_ms", "bigint"), ("tag", "varchar"), ("seq", "bigint")];
    let header = json!({"Data": columns.iter().map(|(n, _)| json!({"VarCharValue": n})).collect::<Vec<_>>()});
    moto.queue_athena_results(&json!({
        "results": [{
            "rows": [
                header,
                {"Data": [{"VarCharValue": "1714557600000"}, {"VarCharValue": "cloudtrail"}, {"VarCharValue": "4"}]},
                {"Data": [{"VarCharValue": "1714557600001"}, {}, {"VarCharValue": "5"}]}
            ],
            "column_info": columns.iter().map(|(n, t)| json!({"Name": n, "Label": n, "Type": t})).collect::<Vec<_>>()
        }]
    }));
    let engine = AthenaEngine::new(
        &config,
        AthenaSettings {
            output_location: Some("s3://athena-results/glaux/".into()),
            ..AthenaSettings::default()
        },
    );
    let f = rt
        .block_on(engine.run("SELECT 1", std::future::pending()))
        .unwrap();
    assert!(!f.query_execution_id.is_empty());
    assert_eq!(f.batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
    let seq = f.batches[0]
        .column_by_name("seq")
        .unwrap()
        .as_primitive::<Int64Type>();
    assert_eq!((seq.value(0), seq.value(1)), (4, 5));
    // Stopping a finished query is accepted by the API.
    rt.block_on(engine.stop(&f.query_execution_id)).unwrap();
}

/// Uploads the small sample data set under `raw` the way AWS services lay
/// it out (CloudTrail's AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/),
/// plus a CloudTrail digest file and a corrupt object.
fn upload_raw(rt: &tokio::runtime::Runtime, s3: &S3) -> usize {
    let client = s3.client();
    for b in ["raw", "store"] {
        rt.block_on(client.create_bucket().bucket(b).send())
            .unwrap();
    }
    let files = generate(&SampleOptions::small(
        chrono::DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .unwrap()
            .to_utc(),
    ));
    let mut records = 0;
    for f in &files {
        records += f.records.len();
        rt.block_on(s3.put("raw", &format!("logs/{}", f.path), f.bytes.clone()))
            .unwrap();
    }
    rt.block_on(s3.put(
        "raw",
        "logs/cloudtrail/AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/05/01/digest.json.gz",
        b"not a log".to_vec(),
    ))
    .unwrap();
    rt.block_on(s3.put(
        "raw",
        "logs/broken.json.gz",
        vec![0x1f, 0x8b, 0x08, 0, 1, 2, 3],
    ))
    .unwrap();
    records
}

fn ingest_from_s3(
    rt: &tokio::runtime::Runtime,
    s3: &S3,
    target: &dyn Target,
) -> glaux_store::IngestReport {
    let url = S3Url::parse("s3://raw/logs/").unwrap().unwrap();
    let objects = rt
        .block_on(list_logs(s3, &url))
        .unwrap()
        .into_iter()
        .map(|o| (url.bucket.clone(), o))
        .collect();
    let source = S3Objects::start(s3.clone(), objects, 4, rt.handle());
    glaux_store::ingest_from(target, &source, &IngestOptions::default()).unwrap()
}

#[test]
fn ingest_from_s3_to_s3_and_to_a_local_dir_writes_the_same_store() {
    let moto = Moto::start();
    let rt = runtime();
    let config = sdk_config(&rt, &moto);
    let s3 = S3::new(&config, true);
    let records = upload_raw(&rt, &s3);

    // S3 → S3.
    let store_url = S3Url::parse("s3://store/glaux").unwrap().unwrap();
    let target = S3Target::new(s3.clone(), store_url.clone(), rt.handle().clone());
    let report = ingest_from_s3(&rt, &s3, &target);
    assert_eq!(report.records as usize, records, "{report}");
    assert_eq!(report.failed.len(), 1, "{report}");
    assert_eq!(report.failed[0].0, "s3://raw/logs/broken.json.gz");
    assert!(report.objects > 0);

    // S3 → local: the same keys, byte for byte (deterministic names and
    // encoding; object ids are the s3:// URLs in both).
    let dir = tempfile::tempdir().unwrap();
    let local = Store::new(dir.path());
    local.create().unwrap();
    let local_report = ingest_from_s3(&rt, &s3, &local);
    assert_eq!(local_report.records, report.records);
    let mut remote_files = BTreeMap::new();
    for key in ["indices/", "messages/", "catalog/"]
        .iter()
        .flat_map(|p| target.list(p).unwrap())
    {
        let bytes = rt
            .block_on(s3.get("store", &format!("glaux/{key}")))
            .unwrap();
        remote_files.insert(key, bytes);
    }
    let mut local_files = BTreeMap::new();
    for key in ["indices/", "messages/", "catalog/"]
        .iter()
        .flat_map(|p| local.list(p).unwrap())
    {
        local_files.insert(key.clone(), std::fs::read(dir.path().join(&key)).unwrap());
    }
    assert!(!remote_files.is_empty());
    let only_remote: Vec<_> = remote_files
        .keys()
        .filter(|k| !local_files.contains_key(*k))
        .collect();
    let only_local: Vec<_> = local_files
        .keys()
        .filter(|k| !remote_files.contains_key(*k))
        .collect();
    assert!(
        only_remote.is_empty() && only_local.is_empty(),
        "only on S3: {only_remote:?}; only local: {only_local:?}"
    );
    let differ: Vec<_> = remote_files
        .iter()
        .filter(|(k, v)| local_files.get(*k) != Some(*v))
        .map(|(k, _)| k)
        .collect();
    assert!(differ.is_empty(), "contents differ: {differ:?}");

    // Every key sits where Athena's partition projection looks.
    for key in remote_files.keys().filter(|k| !k.starts_with("catalog/")) {
        let parts: Vec<&str> = key.split('/').collect();
        assert_eq!(parts.len(), 3, "{key}");
        assert!(parts[1].starts_with("dt=") && parts[1].len() == 16, "{key}");
        assert!(parts[2].ends_with(".parquet"), "{key}");
    }

    // The local copy answers queries: every record is there once.
    let engine = rt
        .block_on(glaux_local_engine::LocalEngine::open(&local, "glaux"))
        .unwrap();
    let batches = rt
        .block_on(engine.run("SELECT count(*) AS n, count(DISTINCT object || '#' || CAST(seq AS VARCHAR)) AS d FROM \"glaux\".\"messages\""))
        .unwrap();
    let n = batches[0].column(0).as_primitive::<Int64Type>().value(0);
    let d = batches[0].column(1).as_primitive::<Int64Type>().value(0);
    assert_eq!((n as usize, d as usize), (records, records));
    let objects = rt
        .block_on(engine.run("SELECT DISTINCT object FROM \"glaux\".\"messages\""))
        .unwrap();
    let names: Vec<String> = objects
        .iter()
        .flat_map(|b| {
            let c = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).unwrap();
            let c = c.as_string::<i32>().clone();
            (0..c.len())
                .map(|i| c.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        names.iter().all(|n| n.starts_with("s3://raw/logs/")),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.contains("CloudTrail-Digest")),
        "digest files are not logs"
    );

    // Ingesting again skips every object, stored already as it is.
    let again = ingest_from_s3(&rt, &s3, &target);
    assert_eq!(again.objects, report.objects);
    assert_eq!(
        (again.unchanged, again.records, again.files_written),
        (report.objects, 0, 0),
        "{again}"
    );
    let keys_again: std::collections::BTreeSet<String> = ["indices/", "messages/", "catalog/"]
        .iter()
        .flat_map(|p| target.list(p).unwrap())
        .collect();
    assert!(
        keys_again.iter().eq(remote_files.keys()),
        "a second ingest changed the set of files"
    );
}

#[test]
fn an_s3_url_names_a_folder_or_one_object_and_naming_nothing_is_an_error() {
    let moto = Moto::start();
    let rt = runtime();
    let s3 = S3::new(&sdk_config(&rt, &moto), true);
    rt.block_on(s3.client().create_bucket().bucket("raw").send())
        .unwrap();
    for key in [
        "logs/a.json",
        "logs/b.json",
        "logs-old/c.json",
        "logs/sub/d.json",
    ] {
        rt.block_on(s3.put("raw", key, b"{}".to_vec())).unwrap();
    }
    let keys = |url: &str| -> Result<Vec<String>, String> {
        let url = S3Url::parse(url).unwrap().unwrap();
        rt.block_on(list_logs(&s3, &url))
            .map(|v| v.into_iter().map(|o| o.key).collect())
    };
    // A folder, with or without the slash; not its namesake `logs-old/`.
    assert_eq!(
        keys("s3://raw/logs").unwrap(),
        ["logs/a.json", "logs/b.json", "logs/sub/d.json"]
    );
    assert_eq!(keys("s3://raw/logs/").unwrap().len(), 3);
    // One object by its key.
    assert_eq!(keys("s3://raw/logs/b.json").unwrap(), ["logs/b.json"]);
    // The whole bucket.
    assert_eq!(keys("s3://raw").unwrap().len(), 4);
    // A typo is an error, not an empty success.
    let e = keys("s3://raw/lgos/").unwrap_err();
    assert_eq!(
        e,
        "no log objects at s3://raw/lgos/ (nothing under it, and no object by that name)"
    );
    assert!(keys("s3://raw/logs/b.js").is_err());
}

/// Copies the store at `target` into `dir`, key for key.
fn download(rt: &tokio::runtime::Runtime, s3: &S3, target: &S3Target, dir: &std::path::Path) {
    let local = Store::new(dir);
    for key in target.list("").unwrap() {
        let bytes = rt
            .block_on(s3.get("store", &format!("glaux/{key}")))
            .unwrap();
        local.put(&key, bytes).unwrap();
    }
}

/// Every record's (object, seq) as the local engine finds it with glaux's
/// own SQL for `*` (no limit), and the number of message rows.
fn records_in(rt: &tokio::runtime::Runtime, dir: &std::path::Path) -> (Vec<(String, i64)>, i64) {
    let store = Store::new(dir);
    let engine = rt
        .block_on(glaux_local_engine::LocalEngine::open(&store, "glaux"))
        .unwrap();
    let options = glaux_compiler::CompileOptions {
        window: glaux_compiler::WindowSpec::Range {
            from: chrono::DateTime::parse_from_rfc3339("2024-04-01T00:00:00Z")
                .unwrap()
                .to_utc(),
            to: Some(chrono::Utc::now() + chrono::Duration::days(1)),
        },
        limit: None,
        ..glaux_compiler::CompileOptions::at(chrono::Utc::now())
    };
    let sql = glaux_compiler::compile("*", &options).unwrap().sql;
    let mut keys = Vec::new();
    for b in rt.block_on(engine.run(&sql)).unwrap() {
        let object = b.column_by_name("object").unwrap().as_string::<i32>();
        let seq = b.column_by_name("seq").unwrap().as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            keys.push((object.value(i).to_string(), seq.value(i)));
        }
    }
    keys.sort();
    let rows = rt
        .block_on(engine.run("SELECT count(*) FROM \"glaux\".\"messages\""))
        .unwrap()[0]
        .column(0)
        .as_primitive::<Int64Type>()
        .value(0);
    (keys, rows)
}

#[test]
fn compaction_of_an_s3_store_on_moto() {
    let moto = Moto::start();
    let rt = runtime();
    let config = sdk_config(&rt, &moto);
    let s3 = S3::new(&config, true);
    let records = upload_raw(&rt, &s3);
    let store_url = S3Url::parse("s3://store/glaux").unwrap().unwrap();
    let target = S3Target::new(s3.clone(), store_url, rt.handle().clone());
    let first = ingest_from_s3(&rt, &s3, &target);
    let dir = tempfile::tempdir().unwrap();
    download(&rt, &s3, &target, &dir.path().join("before"));
    let (before, rows) = records_in(&rt, &dir.path().join("before"));
    assert_eq!((before.len(), rows as usize), (records, records));

    // One writer at a time: the lock object is created only if absent.
    {
        let held = glaux_store::compact_s3::lock(&target, "compact").unwrap();
        let err = glaux_store::compact_s3::lock(&target, "ingest")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("locked by another writer"), "{err}");
        assert!(err.contains("\"purpose\":\"compact\""), "{err}");
        drop(held);
    }
    assert!(target.list("").unwrap().iter().all(|k| k != ".glaux-lock"));
    // A lock another machine holds is not taken over.
    target
        .put(".glaux-lock", br#"{"host":"elsewhere","pid":1}"#.to_vec())
        .unwrap();
    let err = glaux_store::compact_s3::lock(&target, "compact")
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("s3://store/glaux/.glaux-lock"), "{err}");
    target.delete(".glaux-lock").unwrap();

    let report = {
        let _lock = glaux_store::compact_s3::lock(&target, "compact").unwrap();
        glaux_store::compact_s3::compact(&target, &|_| {}).unwrap()
    };
    assert!(report.partitions >= 12, "{report}");
    assert!(report.files_after < report.files_before, "{report}");
    // One file per partition, and each compacted file has its list.
    let keys = target.list("messages/").unwrap();
    let mut per_dir: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for k in &keys {
        let (d, name) = k.rsplit_once('/').unwrap();
        per_dir.entry(d).or_default().push(name);
    }
    for (d, names) in &per_dir {
        let files: Vec<_> = names.iter().filter(|n| n.ends_with(".parquet")).collect();
        assert_eq!(files.len(), 1, "{d}: {names:?}");
        if files[0].starts_with("z-") {
            let list = glaux_store::compact_s3::objects_key(d, files[0]);
            assert!(keys.contains(&list), "{list}");
        }
    }
    download(&rt, &s3, &target, &dir.path().join("after"));
    assert_eq!(records_in(&rt, &dir.path().join("after")), (before, rows));

    let again = glaux_store::compact_s3::compact(&target, &|_| {}).unwrap();
    assert_eq!(again.partitions, 0, "{again}");

    // Re-ingesting the compacted objects, unchanged, skips them (only the
    // unreadable object fails again), and writes nothing.
    let reingest = ingest_from_s3(&rt, &s3, &target);
    assert_eq!(
        (reingest.unchanged, reingest.files_written),
        (first.objects, 0),
        "{reingest}"
    );
    assert_eq!(reingest.failed.len(), first.failed.len(), "{reingest}");
    assert_eq!(target.list("messages/").unwrap(), keys);
    // A changed one is refused, and writes nothing.
    let changed = "logs/app/changed.ndjson";
    rt.block_on(s3.put(
        "raw",
        changed,
        b"{\"ts\":\"2024-05-01T10:00:00Z\",\"msg\":\"first\"}\n".to_vec(),
    ))
    .unwrap();
    ingest_from_s3(&rt, &s3, &target);
    glaux_store::compact_s3::compact(&target, &|_| {}).unwrap();
    let keys = target.list("messages/").unwrap();
    rt.block_on(s3.put(
        "raw",
        changed,
        b"{\"ts\":\"2024-05-01T10:00:00Z\",\"msg\":\"second\"}\n".to_vec(),
    ))
    .unwrap();
    let reingest = ingest_from_s3(&rt, &s3, &target);
    let refused: Vec<_> = reingest
        .failed
        .iter()
        .filter(|(o, _)| o.ends_with("changed.ndjson"))
        .collect();
    assert_eq!(refused.len(), 1, "{reingest}");
    assert!(refused[0].1.contains("compacted"), "{reingest}");
    assert_eq!(target.list("messages/").unwrap(), keys);
}
