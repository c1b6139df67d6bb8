//! Compaction by write-then-delete (`glaux_store::compact_s3`, what an S3
//! store gets), crashed after every kind of step: at each point the store
//! must hold every row once or twice and nothing else, searches must return
//! exactly what they returned before compaction (the SQL drops the copies),
//! and a new run must end with every row exactly once.
//!
//! The store here is a local directory used through the same `Target`
//! trait as S3, so the local engine can search each crashed state; a
//! wrapper fails the n-th write or delete, which is what a killed process
//! leaves (each S3 call is atomic). `cli/tests/athena.rs` runs the real
//! command against moto's S3.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use arrow::util::display::array_value_to_string;
use chrono::{DateTime, Utc};
use glaux_compiler::layout::{HOURS_TABLE, INDEX_TABLE, MESSAGE_TABLE};
use glaux_compiler::{CompileOptions, WindowSpec, compile};
use glaux_local_engine::LocalEngine;
use glaux_samples::{SampleOptions, generate, write_to};
use glaux_store::{IngestOptions, Store, Target, compact_s3};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

const END: &str = "2024-05-01T12:00:00Z";

/// A store whose writes and deletes fail from the `budget`-th one on: a
/// process killed at that point.
struct Crashing<'a> {
    store: &'a Store,
    budget: usize,
    done: AtomicUsize,
}

impl Crashing<'_> {
    fn step(&self) -> io::Result<()> {
        if self.done.fetch_add(1, Ordering::SeqCst) >= self.budget {
            Err(io::Error::other("killed"))
        } else {
            Ok(())
        }
    }
}

impl Target for Crashing<'_> {
    fn put(&self, key: &str, bytes: Vec<u8>) -> io::Result<()> {
        self.step()?;
        self.store.put(key, bytes)
    }
    fn create_new(&self, key: &str, bytes: Vec<u8>) -> io::Result<bool> {
        self.step()?;
        self.store.create_new(key, bytes)
    }
    fn delete(&self, key: &str) -> io::Result<()> {
        self.step()?;
        self.store.delete(key)
    }
    fn list(&self, prefix: &str) -> io::Result<Vec<String>> {
        self.store.list(prefix)
    }
    fn get(&self, key: &str) -> io::Result<Vec<u8>> {
        self.store.get(key)
    }
    fn describe(&self) -> String {
        self.store.describe()
    }
}

/// How many times each row of `table` is stored (rows as text, with their
/// partition).
fn row_counts(store: &Store, table: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for key in store.list(&format!("{table}/")).unwrap() {
        if !key.ends_with(".parquet") {
            continue;
        }
        let dir = key.split('/').nth(1).unwrap().to_string();
        let bytes = bytes::Bytes::from(store.get(&key).unwrap());
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            for i in 0..batch.num_rows() {
                let cells: Vec<String> = batch
                    .columns()
                    .iter()
                    .map(|c| array_value_to_string(c, i).unwrap())
                    .collect();
                *out.entry(format!("{dir}|{}", cells.join("|"))).or_default() += 1;
            }
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Queries whose answers must not change while a partition is half
/// compacted. Small limits, so copies would crowd out records.
const QUERIES: &[(&str, Option<u64>)] = &[
    ("*", Some(7)),
    ("NOT eventName:ConsoleLogin", Some(5)),
    ("eventName:Describe*", Some(3)),
    ("REJECT OR ACCEPT", None),
    // Three words: adjacency by `lead(…, 2)` must not see a copy.
    ("\"failed password for\"", None),
    ("\"failed password for\"", Some(2)),
    ("*", None),
];

/// Each query's rows, as (object, seq) in the order the engine returned
/// them.
fn answers(store: &Store) -> Vec<Vec<(String, i64)>> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let engine = rt.block_on(LocalEngine::open(store, "glaux")).unwrap();
    QUERIES
        .iter()
        .map(|(q, limit)| {
            let options = CompileOptions {
                window: WindowSpec::Range {
                    from: t("2024-05-01T05:00:00Z"),
                    to: Some(t(END)),
                },
                limit: *limit,
                ..CompileOptions::at(t(END))
            };
            let compiled = compile(q, &options).unwrap();
            let ran =
                glaux_tests::run_search(&rt, &engine, &compiled).unwrap_or_else(|e| panic!("{e}"));
            let mut rows = Vec::new();
            for b in ran.batches {
                let object = b.column_by_name("object").unwrap().as_string::<i32>();
                let seq = b.column_by_name("seq").unwrap().as_primitive::<Int64Type>();
                for i in 0..b.num_rows() {
                    rows.push((object.value(i).to_string(), seq.value(i)));
                }
            }
            if limit.is_none() {
                // Without a limit the order among equal times is the
                // engine's; the set and the count are what matter.
                rows.sort();
            }
            rows
        })
        .collect()
}

#[test]
fn a_crash_at_any_step_loses_nothing_and_searches_see_each_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    write_to(&raw, &generate(&SampleOptions::small(t(END)))).unwrap();
    let pristine = Store::new(dir.path().join("pristine"));
    let report = glaux_store::ingest(&pristine, &[raw], &IngestOptions::default()).unwrap();
    assert!(report.failed.is_empty());

    let tables = [INDEX_TABLE, MESSAGE_TABLE];
    let before: Vec<_> = tables.iter().map(|t| row_counts(&pristine, t)).collect();
    let hours_before = pairs(&pristine);
    let expected = answers(&pristine);
    assert!(expected.iter().all(|rows| !rows.is_empty()));

    // How many writes and deletes a whole run makes.
    let scratch = Store::new(dir.path().join("count"));
    copy_dir(pristine.root(), scratch.root());
    let counting = Crashing {
        store: &scratch,
        budget: usize::MAX,
        done: AtomicUsize::new(0),
    };
    compact_s3::compact(&counting, &|_| {}).unwrap();
    let steps = counting.done.load(Ordering::SeqCst);
    assert!(steps > 40, "{steps} steps");

    // Every step of the first partitions (the token-hours day, then the
    // first index hour), then points spread over the rest.
    let mut points: Vec<usize> = (0..24).collect();
    points.extend((24..steps).step_by((steps / 16).max(1)));
    let mut saw_copies = false;
    for (i, &budget) in points.iter().enumerate() {
        let root = dir.path().join(format!("crash-{i}"));
        copy_dir(pristine.root(), &root);
        let store = Store::new(&root);
        let crashing = Crashing {
            store: &store,
            budget,
            done: AtomicUsize::new(0),
        };
        let err = compact_s3::compact(&crashing, &|_| {}).unwrap_err();
        assert_eq!(err.to_string(), "killed");

        for (table, before) in tables.iter().zip(&before) {
            let now = row_counts(&store, table);
            assert_eq!(
                now.keys().collect::<Vec<_>>(),
                before.keys().collect::<Vec<_>>(),
                "step {budget}: {table} lost or gained rows"
            );
            for (row, n) in &now {
                assert!(
                    (before[row]..=2 * before[row]).contains(n),
                    "step {budget}: {table} holds a row {n} times (once: {}): {row}",
                    before[row]
                );
                saw_copies |= *n > before[row];
            }
        }
        assert_eq!(
            pairs(&store),
            hours_before,
            "step {budget}: token-hours pairs"
        );
        for (((query, limit), got), want) in QUERIES.iter().zip(answers(&store)).zip(&expected) {
            // Printed short: the rows are long paths.
            let first_diff = got.iter().zip(want).position(|(a, b)| a != b);
            assert!(
                got == *want,
                "step {budget}: `{query}` (limit {limit:?}) returned {} rows, {} expected; first difference at {first_diff:?}",
                got.len(),
                want.len()
            );
        }

        // A new run finishes the job: every row exactly once, one file
        // per partition, no object list without its file.
        compact_s3::compact(&store, &|_| {}).unwrap();
        for (table, before) in tables.iter().zip(&before) {
            assert_eq!(&row_counts(&store, table), before, "after step {budget}");
        }
        let mut keys = store.list(&format!("{MESSAGE_TABLE}/")).unwrap();
        keys.extend(store.list(&format!("{HOURS_TABLE}/")).unwrap());
        let mut per_dir: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for k in &keys {
            let (d, name) = k.rsplit_once('/').unwrap();
            let e = per_dir.entry(d).or_default();
            if name.ends_with(".parquet") {
                e.0 += 1;
            } else if name.starts_with(compact_s3::OBJECTS_PREFIX) {
                e.1 += 1;
            }
        }
        assert!(
            per_dir
                .values()
                .all(|&(files, lists)| files == 1 && lists <= 1),
            "after step {budget}: {per_dir:?}"
        );
        let again = compact_s3::compact(&store, &|_| {}).unwrap();
        assert_eq!(again.partitions, 0, "idempotent after step {budget}");
    }
    assert!(saw_copies, "no crash point left a record in two files");
}

/// The worst a reader can meet mid-compaction: every record of every
/// partition in two files (the merged one and its input). Each query
/// returns what it returned with one copy, phrases of three words
/// included (their window must not see the copy of the next word where
/// the third belongs).
#[test]
fn searches_return_each_record_once_when_every_file_is_doubled() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    write_to(&raw, &generate(&SampleOptions::small(t(END)))).unwrap();
    let store = Store::new(dir.path().join("store"));
    glaux_store::ingest(&store, &[raw], &IngestOptions::default()).unwrap();
    let expected = answers(&store);
    for table in [INDEX_TABLE, MESSAGE_TABLE] {
        for key in store.list(&format!("{table}/")).unwrap() {
            let (dir, name) = key.rsplit_once('/').unwrap();
            store
                .put(&format!("{dir}/copy-{name}"), store.get(&key).unwrap())
                .unwrap();
        }
    }
    assert_eq!(
        row_counts(&store, MESSAGE_TABLE).values().max(),
        Some(&2),
        "every message row twice"
    );
    for (((query, limit), got), want) in QUERIES.iter().zip(answers(&store)).zip(&expected) {
        assert!(
            got == *want,
            "`{query}` (limit {limit:?}) returned {} rows, {} expected",
            got.len(),
            want.len()
        );
    }
}

/// Ingest skips an unchanged object a compacted file holds, and refuses
/// to re-ingest a changed one (its records would be there twice), using
/// the lists compaction on S3 writes; a new object is taken and merged by
/// the next run.
#[test]
fn ingest_after_compaction_on_s3_refuses_compacted_objects_and_takes_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    write_to(&raw, &generate(&SampleOptions::small(t(END)))).unwrap();
    let store = Store::new(dir.path().join("store"));
    glaux_store::ingest(
        &store,
        std::slice::from_ref(&raw),
        &IngestOptions::default(),
    )
    .unwrap();
    compact_s3::compact(&store, &|_| {}).unwrap();
    let messages = row_counts(&store, MESSAGE_TABLE);

    // Unchanged, they are skipped; with another tag each is a new version
    // and refused.
    let report = glaux_store::ingest(
        &store,
        std::slice::from_ref(&raw),
        &IngestOptions::default(),
    )
    .unwrap();
    assert!(report.failed.is_empty(), "{report}");
    assert_eq!(report.unchanged, report.objects, "{report}");
    assert_eq!(report.files_written, 0, "{report}");
    let skipped = report.unchanged;
    let tagged = IngestOptions {
        tag: Some("other".into()),
        ..IngestOptions::default()
    };
    let report = glaux_store::ingest(&store, &[raw], &tagged).unwrap();
    assert_eq!(report.failed.len() as u64, skipped, "{report}");
    assert!(
        report
            .failed
            .iter()
            .all(|(_, why)| why.contains("compacted")),
        "{:?}",
        report.failed
    );
    assert_eq!(row_counts(&store, MESSAGE_TABLE), messages);

    let new = dir.path().join("new.ndjson");
    std::fs::write(
        &new,
        "{\"ts\":\"2024-05-01T10:30:00Z\",\"msg\":\"later\"}\n",
    )
    .unwrap();
    let report = glaux_store::ingest(&store, &[new], &IngestOptions::default()).unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let with_new = row_counts(&store, MESSAGE_TABLE);
    assert_eq!(
        with_new.values().sum::<usize>(),
        messages.values().sum::<usize>() + 1
    );
    let report = compact_s3::compact(&store, &|_| {}).unwrap();
    assert!(report.partitions >= 2, "{report}");
    assert_eq!(row_counts(&store, MESSAGE_TABLE), with_new);
}

/// The (day, token, hour) pairs of the token-hours table, each once. A
/// merge may forget the record a row names (two objects' records of one
/// hour), never a pair.
fn pairs(store: &Store) -> std::collections::BTreeSet<String> {
    row_counts(store, HOURS_TABLE)
        .into_keys()
        .map(|row| row.rsplitn(3, '|').nth(2).unwrap_or_default().to_string())
        .collect()
}

/// A run stopped after writing a day's merged token-hours file (and its
/// list), before deleting its inputs: the merged file names the records
/// of the day's objects. Re-ingesting a changed one is refused (its new
/// version could not make the merged file forget the old records), an
/// unchanged one is skipped; the next run leaves one file and its list.
#[test]
fn a_changed_object_is_refused_while_a_merged_day_file_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    std::fs::create_dir_all(&raw).unwrap();
    std::fs::write(raw.join("a.log"), "2024-05-01T10:00:00Z needle a\n").unwrap();
    std::fs::write(raw.join("b.log"), "2024-05-01T11:00:00Z needle b\n").unwrap();
    let store = Store::new(dir.path().join("store"));
    let ingest = || {
        glaux_store::ingest(
            &store,
            std::slice::from_ref(&raw),
            &IngestOptions::default(),
        )
        .unwrap()
    };
    assert!(ingest().failed.is_empty());
    let day = format!("{HOURS_TABLE}/day=2024-05-01/");
    let keys = || store.list(&day).unwrap();
    assert_eq!(keys().len(), 2, "{:?}", keys());
    // The token-hours day first: its list and merged file, then killed.
    let crashing = Crashing {
        store: &store,
        budget: 2,
        done: AtomicUsize::new(0),
    };
    let err = compact_s3::compact(&crashing, &|_| {}).unwrap_err();
    assert_eq!(err.to_string(), "killed");
    assert_eq!(
        keys().len(),
        4,
        "both own files, the merged one, its list: {:?}",
        keys()
    );

    std::fs::write(raw.join("a.log"), "2024-05-01T10:00:00Z other a\n").unwrap();
    let report = ingest();
    assert_eq!(report.failed.len(), 1, "{report}");
    assert!(report.failed[0].0.ends_with("a.log"), "{report}");
    assert!(
        report.failed[0].1.contains("token-hours day compacted"),
        "{report}"
    );
    assert_eq!(report.unchanged, 1, "{report}");
    assert_eq!(keys().len(), 4, "nothing written: {:?}", keys());

    compact_s3::compact(&store, &|_| {}).unwrap();
    let left = keys();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(
        left.iter()
            .any(|k| k.contains(compact_s3::OBJECTS_PREFIX) && k.ends_with(".json")),
        "{left:?}"
    );
    assert_eq!(ingest().unchanged, 1, "b, unchanged; a still refused");
}
