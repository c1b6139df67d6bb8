//! `glaux compact`: merges the many small files ingest writes per partition
//! (one per object and hour in the index and message tables, one per object
//! and day in the token-hours table) into one sorted file per partition and
//! table, so a search opens a file per hour instead of
//! hundreds, and a token lookup skips pages by the statistics of a file
//! sorted by token.
//!
//! Safety, on a local store (see docs/storage.md, "Compaction"):
//! - **Readers never see a half state.** A partition is rebuilt beside the
//!   store, in `<root>/_staging/<table>/<partition>/` (outside the tables,
//!   so no reader lists it), then swapped with the live directory in one
//!   atomic step (Linux `renameat2(RENAME_EXCHANGE)`). A reader lists
//!   either every old file or the one new file. The tables are swapped one
//!   after the other, and any mix is consistent: compaction changes how
//!   rows are laid out, never which rows a table holds (the token-hours
//!   table only loses duplicate pairs, and the records of pairs two files
//!   named: see `writer::encode_hours`).
//! - **A crash loses and duplicates nothing.** Before the swap only staging
//!   holds new data; after it, staging holds the old files. Either way
//!   `_staging/` is garbage, and the next run removes it first. The new
//!   file is written and synced before the swap.
//! - **Searches in flight are not broken.** A search lists files and opens
//!   them later; a swap between the two would pull files from under it. So
//!   the local engine holds a shared lock (`<root>/.glaux-swap-lock`) while
//!   a search runs, and compaction takes it exclusively only to swap a
//!   partition and delete its old files: a swap waits for the searches
//!   under way, and new searches wait out the swap (milliseconds).
//! - **One writer at a time.** Compaction and ingest take the store's lock
//!   (`<root>/.glaux-lock`, an OS file lock released if the process dies).
//! - **Idempotent.** A partition already in one file is left alone.
//!
//! Each compacted partition also gets `_glaux-objects.json`, the objects
//! whose records it holds (hidden from Athena by its `_` prefix, from
//! DataFusion by its extension), so ingest can tell that an object's
//! records now live in a compacted file.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::compute::{SortColumn, concat_batches, lexsort_to_indices, take_record_batch};
use glaux_compiler::layout::{Table, columns as c};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sha2::{Digest, Sha256};

use crate::Store;
use crate::writer::{
    Objects, borrow_hours, decode_hours, encode, encode_hours, index_properties,
    message_properties, values_properties,
};

/// Name of the staging directory under the store root.
pub const STAGING: &str = "_staging";
/// Per-partition list of the objects a compacted file holds.
pub const OBJECTS_FILE: &str = "_glaux-objects.json";
/// The store's writer lock, under the root.
pub const LOCK_FILE: &str = ".glaux-lock";
/// The swap lock: searches hold it shared while they run, compaction
/// exclusively while it swaps a partition and deletes the old files.
pub const SWAP_LOCK: &str = ".glaux-swap-lock";

/// What a compaction did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CompactReport {
    /// Partition directories (table × hour, or × day) rewritten.
    pub partitions: u64,
    /// Partition directories already in one file.
    pub already_compact: u64,
    pub files_before: u64,
    pub files_after: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Leftovers of an interrupted run, removed first.
    pub leftovers_removed: u64,
}

impl std::fmt::Display for CompactReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "partitions compacted:    {}", self.partitions)?;
        writeln!(f, "already compact:         {}", self.already_compact)?;
        writeln!(
            f,
            "files:                   {} -> {}",
            self.files_before, self.files_after
        )?;
        writeln!(
            f,
            "bytes:                   {} -> {}",
            self.bytes_before, self.bytes_after
        )?;
        write!(f, "leftovers removed:       {}", self.leftovers_removed)
    }
}

/// The store's writer lock; released on drop (or when the process dies).
#[derive(Debug)]
pub struct WriterLock {
    _file: File,
}

/// Opens (creating it if need be, never truncating) the lock file `name`
/// under the store root.
fn lock_file(store: &Store, name: &str) -> std::io::Result<File> {
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(store.root().join(name))
}

/// Takes the store's writer lock, waiting while another writer holds it.
pub fn lock(store: &Store) -> std::io::Result<WriterLock> {
    std::fs::create_dir_all(store.root())?;
    let file = lock_file(store, LOCK_FILE)?;
    file.lock()?;
    Ok(WriterLock { _file: file })
}

/// Held by a search while it runs (see [`SWAP_LOCK`]); `None` when the
/// store was never compacted (no swap can happen under a search that did
/// not find the lock: the engine starts such a search over if a file
/// vanishes anyway).
pub fn search_guard(store: &Store) -> std::io::Result<Option<File>> {
    match File::open(store.root().join(SWAP_LOCK)) {
        Ok(f) => {
            f.lock_shared()?;
            Ok(Some(f))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Compacts every partition of every table that has more than one file,
/// of a store on this machine (an S3 store is compacted by write-then-delete,
/// `compact_s3::compact`; the CLI tells them apart by `StoreLocation`).
/// `progress` is told each partition directory as it is finished.
pub fn compact(store: &Store, progress: &dyn Fn(&str)) -> std::io::Result<CompactReport> {
    let _lock = lock(store)?;
    let swap_lock = lock_file(store, SWAP_LOCK)?;
    let mut report = CompactReport {
        leftovers_removed: remove_leftovers(store)?,
        ..CompactReport::default()
    };
    for table in Table::ALL {
        let dir = store.root().join(table.name());
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let prefix = format!("{}=", table.partition_column());
        let mut partitions: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_dir()
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(&prefix))
            })
            .collect();
        partitions.sort();
        for live in partitions {
            let files = parquet_files(&live)?;
            if files.len() < 2 {
                report.already_compact += 1;
                continue;
            }
            let name = live.file_name().expect("a partition has a name");
            let staged = store.root().join(STAGING).join(table.name()).join(name);
            let bytes = rewrite(table, &files, &staged)?;
            report.files_before += files.len() as u64;
            report.bytes_before += files
                .iter()
                .map(|f| f.metadata().map(|m| m.len()).unwrap_or(0))
                .sum::<u64>();
            // Wait for searches under way to finish, and hold new ones off
            // for the swap and the deletion of the old files (milliseconds).
            swap_lock.lock()?;
            let swapped = swap(&staged, &live).and_then(|()| {
                // `staged` now holds the old files.
                std::fs::remove_dir_all(&staged)
            });
            swap_lock.unlock()?;
            swapped?;
            report.partitions += 1;
            report.files_after += 1;
            report.bytes_after += bytes;
            progress(&format!("{table}/{}", name.to_string_lossy()));
        }
    }
    let _ = std::fs::remove_dir_all(store.root().join(STAGING));
    Ok(report)
}

/// Removes what an interrupted run left in `_staging/`; returns how many
/// partition directories there were.
fn remove_leftovers(store: &Store) -> std::io::Result<u64> {
    let staging = store.root().join(STAGING);
    if !staging.exists() {
        return Ok(0);
    }
    let mut n = 0;
    for table in Table::ALL {
        if let Ok(entries) = std::fs::read_dir(staging.join(table.name())) {
            n += entries.count() as u64;
        }
    }
    std::fs::remove_dir_all(&staging)?;
    Ok(n)
}

/// The `.parquet` files of a partition directory, sorted by name.
pub fn parquet_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    files.sort();
    Ok(files)
}

/// One table partition's files merged into one.
#[derive(Debug)]
pub struct Merged {
    /// `c-<hash of the input names>.parquet`.
    pub name: String,
    pub bytes: Vec<u8>,
    /// The objects whose records it holds; `None` for the token-hours
    /// table, a set of pairs with no object list.
    pub objects: Option<BTreeSet<String>>,
}

/// Merges a partition's files (`(name, content)`, one table) into one file
/// sorted as a compacted file keeps its rows. Plain data in and out: the
/// local swap and the write-then-delete on S3 both use it.
pub fn merge(table: Table, files: &[(String, bytes::Bytes)]) -> std::io::Result<Merged> {
    let mut digest = Sha256::new();
    for (name, _) in files {
        digest.update(name.as_bytes());
    }
    let hex: String = digest.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let name = format!("c-{hex}.parquet");
    // The sort keys and encoding of each table's compacted files; the
    // token-hours table is merged as pairs.
    let (keys, props): (&[&str], _) = match table {
        Table::Index => (
            &[c::TOKEN, c::FIELD, c::OBJECT, c::SEQ, c::POS],
            index_properties(Objects::Many),
        ),
        Table::Values => (
            &[c::FIELD, c::OBJECT, c::SEQ, c::VALUE],
            values_properties(Objects::Many),
        ),
        Table::Messages => (&[c::OBJECT, c::SEQ], message_properties(Objects::Many)),
        Table::Hours => return merge_hours(name, files),
    };
    let schema = crate::writer::schema(table);
    let mut batches = Vec::new();
    for (name, content) in files {
        let reader = ParquetRecordBatchReaderBuilder::try_new(content.clone())
            .and_then(|b| b.build())
            .map_err(|e| std::io::Error::other(format!("{name}: {e}")))?;
        for batch in reader {
            let batch = batch.map_err(std::io::Error::other)?;
            // Files written before a column existed: the reader gives what
            // the file has; the table's schema is the same for all files
            // glaux writes, so a mismatch is an error, not a guess.
            batches.push(
                batch
                    .with_schema(Arc::clone(&schema))
                    .map_err(|e| std::io::Error::other(format!("{name}: {e}")))?,
            );
        }
    }
    let all = concat_batches(&schema, &batches).map_err(std::io::Error::other)?;
    let sort: Vec<SortColumn> = keys
        .iter()
        .map(|k| SortColumn {
            values: Arc::clone(all.column_by_name(k).expect("layout column")),
            options: None,
        })
        .collect();
    let order = lexsort_to_indices(&sort, None).map_err(std::io::Error::other)?;
    let sorted = take_record_batch(&all, &order).map_err(std::io::Error::other)?;

    let objects: BTreeSet<String> = {
        let col = sorted
            .column_by_name(c::OBJECT)
            .expect("layout column")
            .as_string::<i32>();
        (0..col.len()).map(|i| col.value(i).to_string()).collect()
    };
    Ok(Merged {
        name,
        bytes: encode(&sorted, props)?,
        objects: Some(objects),
    })
}

/// The token-hours files of a day merged: rows of (token, hour) and the one
/// record holding it; a pair in several files keeps a record only if they
/// all name the same one (`encode_hours`). No object list, nothing to keep
/// twice.
fn merge_hours(name: String, files: &[(String, bytes::Bytes)]) -> std::io::Result<Merged> {
    let mut rows = Vec::new();
    for (file, content) in files {
        rows.extend(
            decode_hours(content.clone())
                .map_err(|e| std::io::Error::other(format!("{file}: {e}")))?,
        );
    }
    let bytes = encode_hours(&mut borrow_hours(&rows))?;
    Ok(Merged {
        name,
        bytes,
        objects: None,
    })
}

/// Merges `files` (one table's partition) and writes the result to
/// `staged/`, with the partition's object list, synced. Returns the
/// file's size.
fn rewrite(table: Table, files: &[PathBuf], staged: &Path) -> std::io::Result<u64> {
    let mut inputs = Vec::with_capacity(files.len());
    for f in files {
        let name = f.file_name().unwrap_or_default().to_string_lossy();
        inputs.push((name.into_owned(), bytes::Bytes::from(std::fs::read(f)?)));
    }
    let merged = merge(table, &inputs)?;
    std::fs::create_dir_all(staged)?;
    write_synced(&staged.join(&merged.name), &merged.bytes)?;
    if let Some(objects) = &merged.objects {
        let list = serde_json::to_vec(objects).map_err(std::io::Error::other)?;
        write_synced(&staged.join(OBJECTS_FILE), &list)?;
    }
    File::open(staged)?.sync_all()?;
    Ok(merged.bytes.len() as u64)
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Exchanges two directories atomically.
#[cfg(target_os = "linux")]
fn swap(a: &Path, b: &Path) -> std::io::Result<()> {
    use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
    renameat2(AT_FDCWD, a, AT_FDCWD, b, RenameFlags::RENAME_EXCHANGE).map_err(|e| {
        std::io::Error::other(format!("swapping {} and {}: {e}", a.display(), b.display()))
    })
}

/// Elsewhere there is no atomic exchange of two directories in std, and
/// two renames would let a reader see the hour empty: refuse.
#[cfg(not(target_os = "linux"))]
fn swap(a: &Path, b: &Path) -> std::io::Result<()> {
    let _ = (a, b);
    Err(std::io::Error::other(
        "compaction needs an atomic directory exchange (Linux renameat2); not supported on this OS yet",
    ))
}

/// The objects whose records a compacted partition directory holds
/// (empty when it is not compacted).
pub fn compacted_objects(partition: &Path) -> std::io::Result<BTreeSet<String>> {
    match std::fs::read(partition.join(OBJECTS_FILE)) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeSet::new()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{IngestOptions, ingest};
    use arrow::util::display::array_value_to_string;
    use chrono::{DateTime, Utc};
    use glaux_compiler::layout::{HOURS_TABLE, INDEX_TABLE, MESSAGE_TABLE};
    use glaux_samples::{SampleOptions, generate, write_to};

    /// Every row of a table, as text, sorted: equal lists mean no row was
    /// lost, changed or duplicated.
    fn rows(store: &Store, table: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut dirs = vec![store.root().join(table)];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "parquet") {
                    let dt = p
                        .parent()
                        .unwrap()
                        .file_name()
                        .unwrap()
                        .to_string_lossy()
                        .to_string();
                    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&p).unwrap())
                        .unwrap()
                        .build()
                        .unwrap();
                    for b in reader {
                        let b = b.unwrap();
                        for i in 0..b.num_rows() {
                            let cells: Vec<String> = b
                                .columns()
                                .iter()
                                .map(|c| array_value_to_string(c, i).unwrap())
                                .collect();
                            out.push(format!("{dt}|{}", cells.join("|")));
                        }
                    }
                }
            }
        }
        out.sort();
        out
    }

    fn sample_store(dir: &Path) -> Store {
        let end = DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let raw = dir.join("raw");
        write_to(&raw, &generate(&SampleOptions::small(end))).unwrap();
        let store = Store::new(dir.join("store"));
        let report = ingest(&store, &[raw], &IngestOptions::default()).unwrap();
        assert!(report.failed.is_empty());
        store
    }

    /// A store an older glaux wrote has no token-hours table. Ingesting
    /// into it must not start one: a table listing only the new hours
    /// would make searches skip the old ones.
    #[test]
    fn a_store_without_the_token_hours_table_does_not_get_a_partial_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = sample_store(dir.path());
        assert!(store.has_hours_table());
        std::fs::remove_dir_all(store.hours_dir()).unwrap();
        let raw = dir.path().join("raw2");
        std::fs::create_dir_all(&raw).unwrap();
        std::fs::write(
            raw.join("later.log"),
            "2024-05-02T10:00:00Z sshd: Failed password for root\n",
        )
        .unwrap();
        let report = ingest(&store, &[raw], &IngestOptions::default()).unwrap();
        assert_eq!(report.records, 1, "{report}");
        assert!(!store.has_hours_table());
        compact(&store, &|_| {}).unwrap();
        assert!(!store.has_hours_table());
    }

    /// The token-hours rows of `day` for the token `needle`, as (hour,
    /// seq of the record named).
    fn needle_rows(store: &Store, day: &str) -> Vec<(String, Option<i64>)> {
        let files = parquet_files(&store.hours_dir().join(format!("day={day}"))).unwrap();
        let mut out = Vec::new();
        for file in files {
            let rows = crate::writer::decode_hours(std::fs::read(&file).unwrap().into());
            out.extend(
                rows.unwrap()
                    .into_iter()
                    .filter(|(t, _, _)| t == "needle")
                    .map(|(_, dt, key)| (dt, key.map(|(_, seq)| seq))),
            );
        }
        out.sort();
        out
    }

    /// A token-hours row names a record only once the record is written,
    /// and never one of an earlier version: re-ingesting an object lists
    /// both versions' hours, naming nothing, until its index and message
    /// files are replaced; then only the new version's, named. A day the
    /// new version left keeps its pairs, named by nothing.
    #[test]
    fn token_hours_name_only_records_that_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("store"));
        let raw = dir.path().join("raw");
        std::fs::create_dir_all(&raw).unwrap();
        let log = raw.join("app.log");
        let ingest_log = |text: &str| {
            std::fs::write(&log, text).unwrap();
            ingest(
                &store,
                std::slice::from_ref(&raw),
                &IngestOptions::default(),
            )
            .unwrap()
        };
        ingest_log("2024-05-01T10:00:00Z needle one\n2024-05-02T10:00:00Z needle two\n");
        assert_eq!(
            needle_rows(&store, "2024-05-01"),
            [("2024-05-01-10".into(), Some(0))]
        );
        assert_eq!(
            needle_rows(&store, "2024-05-02"),
            [("2024-05-02-10".into(), Some(1))]
        );

        // The new version: the needle moves to another hour and record,
        // and the object leaves 2024-05-02. Killed after the token-hours
        // files: both versions' hours listed, no record named.
        std::fs::write(
            &log,
            "2024-05-01T11:00:00Z other\n2024-05-01T11:30:00Z needle three\n",
        )
        .unwrap();
        let stored = crate::ingest::StoredFiles::scan(&store).unwrap();
        let object = std::fs::canonicalize(&log).unwrap().display().to_string();
        let killed = crate::ingest::ingest_bytes(
            // Index and message puts fail: ingest stops after the
            // token-hours files, as a crash there would.
            &crate::target::FailingPuts {
                store: &store,
                fails: |key| !key.starts_with(HOURS_TABLE),
            },
            &stored,
            &object,
            std::fs::read(&log).unwrap(),
            None,
            &IngestOptions::default(),
        );
        assert!(killed.is_err());
        assert_eq!(
            needle_rows(&store, "2024-05-01"),
            [
                ("2024-05-01-10".into(), None),
                ("2024-05-01-11".into(), None)
            ]
        );
        assert_eq!(
            needle_rows(&store, "2024-05-02"),
            [("2024-05-02-10".into(), None)]
        );

        // Run whole: the new version's hour, named; the day it left keeps
        // its pair, named by nothing.
        ingest_log("2024-05-01T11:00:00Z other\n2024-05-01T11:30:00Z needle three\n");
        assert_eq!(
            needle_rows(&store, "2024-05-01"),
            [("2024-05-01-11".into(), Some(1))]
        );
        assert_eq!(
            needle_rows(&store, "2024-05-02"),
            [("2024-05-02-10".into(), None)]
        );
        // The index itself holds only the new version.
        assert!(
            parquet_files(&store.index_partition("2024-05-01-10"))
                .unwrap()
                .is_empty()
        );
    }

    /// Two objects in two hours of a day: compaction merges their
    /// token-hours files (the day has two) but leaves each hour's index
    /// file (one each). The day's shared file names their records, where
    /// a re-ingest could not forget them: re-ingesting is refused.
    #[test]
    fn reingest_is_refused_once_its_token_hours_day_is_compacted() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("store"));
        let raw = dir.path().join("raw");
        std::fs::create_dir_all(&raw).unwrap();
        std::fs::write(raw.join("a.log"), "2024-05-01T10:00:00Z needle a\n").unwrap();
        std::fs::write(raw.join("b.log"), "2024-05-01T11:00:00Z needle b\n").unwrap();
        ingest(
            &store,
            std::slice::from_ref(&raw),
            &IngestOptions::default(),
        )
        .unwrap();
        compact(&store, &|_| {}).unwrap();
        assert_eq!(
            needle_rows(&store, "2024-05-01"),
            [
                ("2024-05-01-10".into(), Some(0)),
                ("2024-05-01-11".into(), Some(0))
            ]
        );
        std::fs::write(raw.join("a.log"), "2024-05-01T10:00:00Z other\n").unwrap();
        let report = ingest(
            &store,
            std::slice::from_ref(&raw),
            &IngestOptions::default(),
        )
        .unwrap();
        // a changed is refused, named, and nothing of it is written; b,
        // unchanged, is skipped.
        assert_eq!(report.failed.len(), 1, "{report}");
        assert!(report.failed[0].0.ends_with("a.log"), "{report}");
        assert!(
            report.failed[0].1.contains("token-hours day compacted"),
            "{report}"
        );
        assert_eq!(report.unchanged, 1, "{report}");
        assert_eq!(needle_rows(&store, "2024-05-01").len(), 2, "left as it was");
    }

    #[test]
    fn compaction_keeps_every_row_and_leaves_one_file_per_partition() {
        let dir = tempfile::tempdir().unwrap();
        let store = sample_store(dir.path());
        let (index, messages) = (rows(&store, INDEX_TABLE), rows(&store, MESSAGE_TABLE));
        let hours = rows(&store, HOURS_TABLE);
        assert!(!hours.is_empty(), "ingest writes the token-hours table");
        let before = parquet_files(&store.index_partition("2024-05-01-10"))
            .unwrap()
            .len();
        assert!(before > 1, "the sample writes several files an hour");

        let report = compact(&store, &|_| {}).unwrap();
        assert!(report.partitions >= 12, "{report}");
        assert!(report.files_after < report.files_before, "{report}");
        assert_eq!(rows(&store, INDEX_TABLE), index);
        assert_eq!(rows(&store, MESSAGE_TABLE), messages);
        // The token-hours table: the same (token, hour) pairs, each once
        // now; a pair keeps its record only when every file listing it
        // named that one record.
        let pair = |row: &String| row.rsplitn(3, '|').nth(2).unwrap().to_string();
        let hours_after = rows(&store, HOURS_TABLE);
        assert_eq!(
            hours_after.iter().map(pair).collect::<BTreeSet<_>>(),
            hours.iter().map(pair).collect::<BTreeSet<_>>()
        );
        let pairs_after: Vec<String> = hours_after.iter().map(pair).collect();
        assert!(
            pairs_after.windows(2).all(|w| w[0] != w[1]),
            "one row a pair"
        );
        let mut kept = 0;
        for row in &hours_after {
            if row.ends_with("|") {
                continue; // no record (printed as an empty cell)
            }
            kept += 1;
            let before: Vec<&String> = hours.iter().filter(|r| pair(r) == pair(row)).collect();
            assert_eq!(before, [row], "{row} kept a record it did not have alone");
        }
        assert!(kept > 0, "a pair held by one record keeps it");
        // It lists every hour of every indexed token (listing too many would
        // be safe; too few would hide records).
        let listed: BTreeSet<String> = pairs_after.into_iter().collect();
        for row in &index {
            let (dir, rest) = row.split_once('|').unwrap();
            let dt = dir.strip_prefix("dt=").unwrap();
            let token = rest.split('|').next().unwrap();
            let pair = format!("day={}|{token}|{dt}", &dt[..10]);
            assert!(listed.contains(&pair), "{pair} missing");
        }
        for table in Table::ALL {
            for e in std::fs::read_dir(store.root().join(table.name())).unwrap() {
                let p = e.unwrap().path();
                let files = parquet_files(&p).unwrap();
                assert_eq!(files.len(), 1, "{}", p.display());
                if table == Table::Hours {
                    continue; // a set of pairs: no object list
                }
                // A rewritten hour lists its objects; an hour that had one
                // file all along keeps it (its name still says its object).
                let name = files[0].file_name().unwrap().to_string_lossy().to_string();
                assert_eq!(
                    name.starts_with("c-"),
                    !compacted_objects(&p).unwrap().is_empty(),
                    "{}",
                    p.display()
                );
            }
        }
        assert!(!store.root().join(STAGING).exists());

        // Sorted by token within the index file.
        let file = &parquet_files(&store.index_partition("2024-05-01-10")).unwrap()[0];
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(file).unwrap())
            .unwrap()
            .build()
            .unwrap();
        let tokens: Vec<String> = reader
            .flat_map(|b| {
                let b = b.unwrap();
                let t = b
                    .column_by_name(c::TOKEN)
                    .unwrap()
                    .as_string::<i32>()
                    .clone();
                (0..t.len())
                    .map(|i| t.value(i).to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        assert!(tokens.windows(2).all(|w| w[0] <= w[1]));

        // Idempotent: nothing left to do.
        let again = compact(&store, &|_| {}).unwrap();
        assert_eq!(again.partitions, 0, "{again}");
        assert_eq!(rows(&store, MESSAGE_TABLE), messages);
    }

    #[test]
    fn leftovers_of_an_interrupted_run_are_removed_and_never_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = sample_store(dir.path());
        let messages = rows(&store, MESSAGE_TABLE);
        // What a run killed after staging (or after a swap) leaves behind.
        let staged = store
            .root()
            .join(STAGING)
            .join(MESSAGE_TABLE)
            .join("dt=2024-05-01-10");
        std::fs::create_dir_all(&staged).unwrap();
        std::fs::write(staged.join("c-0.parquet"), b"half written").unwrap();
        let report = compact(&store, &|_| {}).unwrap();
        assert_eq!(report.leftovers_removed, 1);
        assert_eq!(rows(&store, MESSAGE_TABLE), messages);
    }

    #[test]
    fn ingest_refuses_to_duplicate_a_compacted_object_and_takes_new_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = sample_store(dir.path());
        compact(&store, &|_| {}).unwrap();
        let messages = rows(&store, MESSAGE_TABLE);

        // The same objects again: unchanged, skipped, nothing written.
        let raw = dir.path().join("raw");
        let report = ingest(
            &store,
            std::slice::from_ref(&raw),
            &IngestOptions::default(),
        )
        .unwrap();
        assert!(report.failed.is_empty(), "{report}");
        assert_eq!(report.unchanged, report.objects, "{report}");
        assert_eq!(report.files_written, 0, "{report}");
        let skipped = report.unchanged;
        // Another tag makes each a new version: refused, each named,
        // nothing written.
        let options = IngestOptions {
            tag: Some("other".into()),
            ..IngestOptions::default()
        };
        let report = ingest(&store, std::slice::from_ref(&raw), &options).unwrap();
        assert_eq!(report.failed.len() as u64, skipped, "{report}");
        assert!(
            report
                .failed
                .iter()
                .all(|(_, why)| why.contains("compacted")),
            "{:?}",
            report.failed
        );
        assert_eq!(rows(&store, MESSAGE_TABLE), messages);

        // A new object lands beside the compacted file; compacting again
        // merges it.
        let new = dir.path().join("new.ndjson");
        std::fs::write(
            &new,
            "{\"ts\":\"2024-05-01T10:30:00Z\",\"msg\":\"later\"}\n",
        )
        .unwrap();
        let report = ingest(&store, &[new], &IngestOptions::default()).unwrap();
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        assert_eq!(
            parquet_files(&store.message_partition("2024-05-01-10"))
                .unwrap()
                .len(),
            2
        );
        let with_new = rows(&store, MESSAGE_TABLE);
        assert_eq!(with_new.len(), messages.len() + 1);
        compact(&store, &|_| {}).unwrap();
        assert_eq!(rows(&store, MESSAGE_TABLE), with_new);
        assert_eq!(
            parquet_files(&store.message_partition("2024-05-01-10"))
                .unwrap()
                .len(),
            1
        );
    }
}
