//! `glaux compact` under fire: the process killed (SIGKILL) at random
//! points of its run loses and duplicates nothing, and a search running
//! while partitions are swapped sees every record exactly once.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use glaux_local_engine::LocalEngine;
use glaux_store::Store;

fn glaux() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_glaux"));
    c.env("NO_COLOR", "1");
    c
}

fn demo_store(dir: &Path) -> PathBuf {
    let mut c = glaux();
    c.args(["--now", "2024-05-01T12:00:00Z"]);
    glaux_testkit::demo_store(c, dir, &["--scale", "2"])
}

/// `glaux --store STORE compact`, not yet run.
fn compact(store: &Path) -> Command {
    let mut c = glaux();
    c.arg("--store").arg(store).arg("compact");
    c
}

/// Runs `glaux compact` on `store` to the end; it must succeed.
fn compact_to_the_end(store: &Path) {
    let out = compact(store).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// What both tables hold, as the engine reads them: row counts, distinct
/// rows and sums. Equal fingerprints before and after: nothing lost (the
/// distinct count would drop), nothing duplicated (the count would rise).
fn fingerprint(rt: &tokio::runtime::Runtime, engine: &LocalEngine) -> Vec<String> {
    let queries = [
        "SELECT count(*), count(DISTINCT concat(object, '|', CAST(seq AS VARCHAR))), sum(seq), sum(time_ms % 1000003) FROM glaux.messages",
        "SELECT count(*), count(DISTINCT concat(token, '|', field, '|', object, '|', CAST(seq AS VARCHAR), '|', CAST(pos AS VARCHAR))), sum(pos), sum(seq) FROM glaux.indices",
    ];
    queries
        .iter()
        .map(|q| {
            let batches = match rt.block_on(engine.run(q)) {
                Ok(b) => b,
                Err(e) => panic!("{q}: {e}"),
            };
            arrow::util::pretty::pretty_format_batches(&batches)
                .unwrap()
                .to_string()
        })
        .collect()
}

fn open(rt: &tokio::runtime::Runtime, store: &Path) -> LocalEngine {
    rt.block_on(LocalEngine::open(&Store::new(store), "glaux"))
        .unwrap()
}

fn parquet_files_per_partition(store: &Path) -> Vec<usize> {
    let mut out = Vec::new();
    for table in ["indices", "messages"] {
        for e in std::fs::read_dir(store.join(table)).unwrap() {
            out.push(
                glaux_store::compact::parquet_files(&e.unwrap().path())
                    .unwrap()
                    .len(),
            );
        }
    }
    out
}

#[test]
fn killing_compaction_anywhere_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pristine = demo_store(dir.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let expected = fingerprint(&rt, &open(&rt, &pristine));

    // How long a whole run takes here, to spread the kills over it.
    let timed = dir.path().join("timed");
    copy_dir(&pristine, &timed);
    let started = Instant::now();
    compact_to_the_end(&timed);
    let whole = started.elapsed();
    assert_eq!(fingerprint(&rt, &open(&rt, &timed)), expected);
    assert!(parquet_files_per_partition(&timed).iter().all(|&n| n == 1));

    // Kill runs at points spread over the run (a fixed pseudo-random
    // sequence, so a failure reproduces), each on a fresh copy, then check
    // the store, then let a new run finish the job.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut interrupted = 0;
    for i in 0..10 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let at = whole.mul_f64((x % 1000) as f64 / 1000.0);
        let store = dir.path().join(format!("run{i}"));
        copy_dir(&pristine, &store);
        let mut child = compact(&store).spawn().unwrap();
        std::thread::sleep(at);
        let _ = child.kill();
        let status = child.wait().unwrap();
        if !status.success() {
            interrupted += 1;
        }
        assert_eq!(
            fingerprint(&rt, &open(&rt, &store)),
            expected,
            "killed after {at:?} (run {i})"
        );
        compact_to_the_end(&store);
        assert_eq!(
            fingerprint(&rt, &open(&rt, &store)),
            expected,
            "run {i} finished"
        );
        assert!(parquet_files_per_partition(&store).iter().all(|&n| n == 1));
        assert!(!store.join("_staging").exists());
    }
    assert!(
        interrupted >= 5,
        "only {interrupted} of 10 runs were interrupted"
    );
}

#[test]
fn a_search_during_compaction_sees_every_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let engine = open(&rt, &store);
    let expected = fingerprint(&rt, &engine);
    let done = std::sync::atomic::AtomicBool::new(false);
    let searches = std::thread::scope(|scope| {
        scope.spawn(|| {
            glaux_store::compact::compact(&Store::new(&store), &|_| {}).unwrap();
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let mut n = 0;
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            assert_eq!(fingerprint(&rt, &engine), expected, "search {n}");
            n += 1;
        }
        n
    });
    assert!(searches >= 1);
    assert_eq!(fingerprint(&rt, &engine), expected);
    assert!(parquet_files_per_partition(&store).iter().all(|&n| n == 1));
}
