//! Raw log files → the store. Each input file is one *object*: it is read,
//! decompressed, split into records, each record timed and tokenized, and
//! the records written per hour partition as one index file, one message
//! file and one field-values file named after the object. Re-ingesting an object rewrites the same
//! files, so nothing is duplicated.
//!
//! Objects come from a [`Source`] (local files, S3 objects) and files go to
//! a [`Target`] (a local directory, an S3 prefix) by keys relative to the
//! store root, so both kinds of store get the same layout and file names.
//!
//! Objects are processed in parallel (one worker per core). Nothing is
//! dropped silently: every degraded record or failed object is counted in the
//! [`IngestReport`].

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use glaux_compiler::layout::{HOURS_TABLE, Table, VALUES_TABLE, day_of};
use glaux_compiler::window::partition_of;
use sha2::{Digest, Sha256};

use crate::Store;
use crate::analyze::{Vocabulary, analyze};
use crate::catalog::CATALOG_DIR;
use crate::decode::{decode, decompress};
use crate::target::{Files, Source, Target};
use crate::timestamp::{self, TimeSource};
use crate::writer::{
    HourRow, Ranks, Row, borrow_hours, decode_hours, encode_hours, encode_partition,
};

/// Options of an ingest run.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Tag for every record; default: by format (`cloudtrail`, `json`, `text`).
    pub tag: Option<String>,
    /// Dotted path of the time field in JSON records; default: auto-detect.
    pub time_field: Option<String>,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
}

/// What an ingest run did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct IngestReport {
    pub objects: u64,
    /// Objects skipped: the store holds this very version already
    /// ([`Version`]).
    pub unchanged: u64,
    pub records: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub index_rows: u64,
    pub partitions: BTreeSet<String>,
    pub files_written: u64,
    pub time_from_object_name: u64,
    pub time_from_mtime: u64,
    pub malformed_json_lines: u64,
    pub invalid_utf8_lines: u64,
    pub blank_lines: u64,
    pub text_lines: u64,
    /// Objects that could not be read, with the reason; nothing of them is stored.
    pub failed: Vec<(String, String)>,
}

impl IngestReport {
    fn merge(&mut self, o: IngestReport) {
        self.objects += o.objects;
        self.unchanged += o.unchanged;
        self.records += o.records;
        self.bytes_in += o.bytes_in;
        self.bytes_out += o.bytes_out;
        self.index_rows += o.index_rows;
        self.partitions.extend(o.partitions);
        self.files_written += o.files_written;
        self.time_from_object_name += o.time_from_object_name;
        self.time_from_mtime += o.time_from_mtime;
        self.malformed_json_lines += o.malformed_json_lines;
        self.invalid_utf8_lines += o.invalid_utf8_lines;
        self.blank_lines += o.blank_lines;
        self.text_lines += o.text_lines;
        self.failed.extend(o.failed);
    }
}

impl fmt::Display for IngestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "objects read:            {}", self.objects)?;
        writeln!(
            f,
            "objects unchanged:       {} (stored already; skipped)",
            self.unchanged
        )?;
        writeln!(f, "records stored:          {}", self.records)?;
        writeln!(f, "bytes in:                {}", self.bytes_in)?;
        writeln!(f, "bytes written:           {}", self.bytes_out)?;
        writeln!(f, "tokens indexed:          {}", self.index_rows)?;
        writeln!(
            f,
            "partitions written:      {}{}",
            self.partitions.len(),
            match (self.partitions.first(), self.partitions.last()) {
                (Some(a), Some(b)) if a != b => format!(" (dt {a} .. {b})"),
                (Some(a), _) => format!(" (dt {a})"),
                _ => String::new(),
            }
        )?;
        writeln!(f, "files written:           {}", self.files_written)?;
        writeln!(f, "time from object name:   {}", self.time_from_object_name)?;
        writeln!(f, "time from file mtime:    {}", self.time_from_mtime)?;
        writeln!(f, "text lines (not JSON):   {}", self.text_lines)?;
        writeln!(
            f,
            "malformed JSON lines:    {} (stored and indexed as text)",
            self.malformed_json_lines
        )?;
        writeln!(
            f,
            "invalid UTF-8 lines:     {} (stored with U+FFFD)",
            self.invalid_utf8_lines
        )?;
        writeln!(f, "blank lines skipped:     {}", self.blank_lines)?;
        write!(f, "objects failed:          {}", self.failed.len())?;
        for (object, why) in &self.failed {
            write!(f, "\n  {object}: {why}")?;
        }
        Ok(())
    }
}

/// Lists the files under `paths` (directories walked, sorted, hidden entries
/// skipped), each once: a file named twice (or through a symlink) is one
/// object, ingested once.
pub fn list_objects(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        walk(p, &mut out)?;
    }
    let mut seen = BTreeSet::new();
    let mut unique = Vec::with_capacity(out.len());
    for p in out {
        if seen.insert(std::fs::canonicalize(&p)?) {
            unique.push(p);
        }
    }
    Ok(unique)
}

fn walk(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        let mut children: Vec<PathBuf> = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        children.sort();
        for c in children {
            let hidden = c
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if !hidden {
                walk(&c, out)?;
            }
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

/// The deterministic file name of an object's files in every partition.
pub fn file_name_for(object: &str) -> String {
    let digest = Sha256::digest(object.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}.parquet")
}

/// The hours each file name already occupies in a store, listed once per
/// ingest run (not once per object), so an object's stale hours are found
/// without listing every partition again.
#[derive(Debug, Default)]
pub struct StoredFiles {
    hours: HashMap<String, BTreeSet<String>>,
    /// Objects whose records a compacted file holds, and the hours.
    compacted: HashMap<String, BTreeSet<String>>,
    /// Whether ingest writes token-hours files: in a new store, or one
    /// that has them. A store with data and none was written by an older
    /// glaux; a table listing only new hours would hide the older ones, so
    /// it gets none and searches do without (`Store::has_hours_table`).
    pub token_hours: bool,
    /// Whether ingest writes field-values files: in a new store, or one
    /// that has them. A store with data and none was written by an older
    /// glaux: a table holding only new records' values would make a
    /// stage's answer silently partial, so it gets none and stages refuse
    /// to run on it (`Store::has_values_table`).
    pub field_values: bool,
    /// The token-hours files there are (keys), so a re-ingest finds the
    /// day files of an object's earlier version.
    hours_files: HashSet<String>,
    /// Own token-hours day files (`<hash>.parquet`) a merged day file
    /// on S3 holds, by the lists beside merged files, with their days.
    hours_merged: HashMap<String, BTreeSet<String>>,
    /// Catalog keys by object hash, with the version each names: the
    /// versions of each object the store holds.
    catalogs: HashMap<String, Vec<(String, Option<String>)>>,
}

impl StoredFiles {
    /// Lists the partitions of both tables.
    pub fn scan(target: &dyn Target) -> std::io::Result<Self> {
        let mut hours: HashMap<String, BTreeSet<String>> = HashMap::new();
        let mut compacted: HashMap<String, BTreeSet<String>> = HashMap::new();
        for table in [Table::Index, Table::Messages] {
            for key in target.list(&format!("{table}/"))? {
                let Some((dt, name)) = partition_file(table, &key) else {
                    continue;
                };
                // A compacted file's object list: `_glaux-objects.json`
                // locally, `_glaux-objects-c-….json` on S3. Both tables':
                // an object whose records have no tokens is in the
                // message table only.
                if name == crate::compact::OBJECTS_FILE || crate::compact_s3::is_objects_list(name)
                {
                    let objects: Vec<String> = serde_json::from_slice(&target.get(&key)?)
                        .map_err(|e| std::io::Error::other(format!("{key}: {e}")))?;
                    for o in objects {
                        compacted.entry(o).or_default().insert(dt.to_string());
                    }
                    continue;
                }
                hours
                    .entry(name.to_string())
                    .or_default()
                    .insert(dt.to_string());
            }
        }
        let hours_files: HashSet<String> = target
            .list(&format!("{HOURS_TABLE}/"))?
            .into_iter()
            .collect();
        let mut hours_merged: HashMap<String, BTreeSet<String>> = HashMap::new();
        for key in &hours_files {
            let Some((day, name)) = partition_file(Table::Hours, key) else {
                continue;
            };
            if crate::compact_s3::is_objects_list(name) {
                let files: Vec<String> = serde_json::from_slice(&target.get(key)?)
                    .map_err(|e| std::io::Error::other(format!("{key}: {e}")))?;
                for f in files {
                    hours_merged.entry(f).or_default().insert(day.to_string());
                }
            }
        }
        let token_hours = hours.is_empty() || !hours_files.is_empty();
        let field_values =
            hours.is_empty() || !target.list(&format!("{VALUES_TABLE}/"))?.is_empty();
        let mut catalogs: HashMap<String, Vec<(String, Option<String>)>> = HashMap::new();
        for key in target.list(&format!("{CATALOG_DIR}/"))? {
            if let Some((hash, version)) = crate::catalog::parse_key(&key) {
                let version = version.map(str::to_string);
                catalogs
                    .entry(hash.to_string())
                    .or_default()
                    .push((key, version));
            }
        }
        Ok(StoredFiles {
            hours,
            compacted,
            token_hours,
            field_values,
            hours_files,
            hours_merged,
            catalogs,
        })
    }

    /// The catalog keys of the object whose files are called `name`, with
    /// the version each names.
    fn catalogs_of(&self, name: &str) -> &[(String, Option<String>)] {
        let hash = name.strip_suffix(".parquet").unwrap_or(name);
        self.catalogs.get(hash).map_or(&[], Vec::as_slice)
    }

    /// True if the store holds `version` of the object whose files are
    /// called `name`.
    fn holds(&self, name: &str, version: &Version) -> bool {
        self.catalogs_of(name).iter().any(|(_, v)| {
            v.as_deref()
                .is_some_and(|v| v == version.of_input || v == version.with_mtime)
        })
    }

    /// The hours whose compacted file holds records of `object`.
    pub fn compacted_hours_of(&self, object: &str) -> Option<&BTreeSet<String>> {
        self.compacted.get(object)
    }

    /// The hours holding a file called `name`.
    pub fn hours_of(&self, name: &str) -> impl Iterator<Item = &str> {
        self.hours
            .get(name)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }
}

/// Ingests local files and directories (walked) into the local `store`.
pub fn ingest(
    store: &Store,
    paths: &[PathBuf],
    options: &IngestOptions,
) -> std::io::Result<IngestReport> {
    store.create()?;
    // One writer at a time: compaction rewrites partitions under the same
    // lock.
    let _lock = crate::compact::lock(store)?;
    let files = Files::new(list_objects(paths)?);
    ingest_from(store, &files, options)
}

/// Ingests every object `source` hands out into `target`, on
/// `options.workers` threads (0: one per core). An object that cannot be
/// read or stored is counted in the report with its reason; the others go
/// on.
pub fn ingest_from(
    target: &dyn Target,
    source: &dyn Source,
    options: &IngestOptions,
) -> std::io::Result<IngestReport> {
    let stored = StoredFiles::scan(target)?;
    let workers = match options.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let total = Mutex::new(IngestReport::default());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                let mut local = IngestReport::default();
                while let Some(next) = source.next() {
                    let result = next.and_then(|f| {
                        let object = f.object.clone();
                        ingest_bytes(target, &stored, &f.object, f.bytes, f.mtime, options)
                            .map_err(|e| (object, e.to_string()))
                    });
                    match result {
                        Ok(r) => local.merge(r),
                        Err(failed) => local.failed.push(failed),
                    }
                }
                total.lock().expect("report lock").merge(local);
            });
        }
    });
    let mut report = total.into_inner().expect("report lock");
    report.failed.sort();
    Ok(report)
}

/// What ingest's output for an object depends on, as a digest: its bytes,
/// the options that change records (`--tag`, `--time-field`) and this
/// ingest's own version. A store keeps it in the key of the object's
/// catalog, written last, so an object whose version is stored is skipped:
/// re-running an ingest over a prefix costs reading it, not rewriting it,
/// and a compacted object that did not change is no error.
///
/// When records took their time from the object's mtime (no time of their
/// own, none in the name), the mtime is part of the version too
/// (`with_mtime`); when there was no mtime either (now), nothing matches
/// it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    of_input: String,
    with_mtime: String,
}

/// Changes when ingest writes something else for the same input (the
/// tokenizer, the record splitting, the layout), so stored objects are
/// ingested again rather than skipped.
const INGEST_VERSION: &str = "glaux-ingest-1";

impl Version {
    pub fn of(bytes: &[u8], options: &IngestOptions, mtime: Option<DateTime<Utc>>) -> Version {
        let mut h = Sha256::new();
        for part in [
            Some(INGEST_VERSION),
            options.tag.as_deref(),
            options.time_field.as_deref(),
        ] {
            // Length-prefixed, and `None` apart from `""`.
            match part {
                Some(p) => {
                    h.update([1]);
                    h.update((p.len() as u64).to_le_bytes());
                    h.update(p.as_bytes());
                }
                None => h.update([0]),
            }
        }
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
        let of_input = h.clone();
        let mtime_ms = match mtime {
            Some(t) => t.timestamp_millis(),
            // Never the same again.
            None => {
                h.update(b"now");
                h.update(Utc::now().timestamp_nanos_opt().unwrap_or(0).to_le_bytes());
                0
            }
        };
        h.update(mtime_ms.to_le_bytes());
        let hex = |h: Sha256| -> String {
            h.finalize()[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        Version {
            of_input: hex(of_input),
            with_mtime: hex(h),
        }
    }

    /// The version to store: with the mtime when some record's time came
    /// from it.
    fn stored(&self, times_from_mtime: bool) -> &str {
        if times_from_mtime {
            &self.with_mtime
        } else {
            &self.of_input
        }
    }
}

/// Ingests the content of one object, named `object`. `mtime` is the last
/// fallback for record times (now, if `None`). `stored` tells where earlier
/// ingests put this object's files.
pub fn ingest_bytes(
    target: &dyn Target,
    stored: &StoredFiles,
    object: &str,
    bytes: Vec<u8>,
    mtime: Option<DateTime<Utc>>,
    options: &IngestOptions,
) -> std::io::Result<IngestReport> {
    let name = file_name_for(object);
    let version = Version::of(&bytes, options, mtime);
    if stored.holds(&name, &version) {
        return Ok(IngestReport {
            objects: 1,
            unchanged: 1,
            bytes_in: bytes.len() as u64,
            ..IngestReport::default()
        });
    }
    if let Some(hours) = stored.compacted_hours_of(object) {
        // Its records are inside compacted files now; writing its new
        // version beside them would show every record twice.
        return Err(std::io::Error::other(format!(
            "already stored and compacted (dt={}{}); re-ingesting a compacted object is not supported yet, so it was left as it is",
            hours.iter().next().map(String::as_str).unwrap_or(""),
            if hours.len() > 1 { " …" } else { "" }
        )));
    }
    let mut report = IngestReport {
        objects: 1,
        bytes_in: bytes.len() as u64,
        ..IngestReport::default()
    };
    let records = analyze_records(object, bytes, mtime, options, &mut report)?;

    // The token-hours rows name records (docs/storage.md, "The record,
    // when there is one"), so none may outlive its record. An earlier
    // version whose day file was compacted into a shared one is named
    // there, where this run cannot forget it: refused, as a compacted
    // object's index is.
    let earlier_days: BTreeSet<&str> = stored.hours_of(&name).map(day_of).collect();
    if let Some(day) = compacted_day(stored, &name, &earlier_days).filter(|_| stored.token_hours) {
        return Err(std::io::Error::other(format!(
            "already stored and its token-hours day compacted (day={day}); re-ingesting a compacted object is not supported yet, so it was left as it is"
        )));
    }
    write_in_order(
        target,
        stored,
        object,
        &name,
        &version,
        records,
        &earlier_days,
        &mut report,
    )?;
    Ok(report)
}

/// One object's records, analyzed and grouped by hour, with what the
/// field catalog learns from them.
struct Analyzed {
    tag: String,
    by_partition: BTreeMap<String, Vec<Row>>,
    catalog: crate::catalog::FieldCatalog,
    field_counts: crate::catalog::FieldCounts,
    vocabulary: Vocabulary,
}

/// Decodes the object's bytes into records, gives each its time (its own,
/// else the object name's, else `mtime`, else now) and its tokens, and
/// counts in `report` the lines that were degraded and the times that
/// were not the record's own.
fn analyze_records(
    object: &str,
    bytes: Vec<u8>,
    mtime: Option<DateTime<Utc>>,
    options: &IngestOptions,
    report: &mut IngestReport,
) -> std::io::Result<Analyzed> {
    let content = decompress(bytes)?;
    let decoded = decode(&content);
    drop(content);
    report.malformed_json_lines = decoded.malformed_json_lines;
    report.invalid_utf8_lines = decoded.invalid_utf8_lines;
    report.blank_lines = decoded.blank_lines;
    report.text_lines = decoded.text_lines;
    let tag = options.tag.clone().unwrap_or_else(|| {
        decoded
            .format
            .map_or("text", |f| f.default_tag(decoded.mostly_json))
            .to_string()
    });
    let name_time = timestamp::from_object_name(object);
    let fallback_time = mtime.unwrap_or_else(Utc::now);

    let mut by_partition: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    let mut catalog = crate::catalog::FieldCatalog::default();
    let mut field_counts = crate::catalog::FieldCounts::default();
    let mut vocabulary = Vocabulary::default();
    let mut scratch = String::new();
    for record in decoded.records {
        let own = match &record.json {
            Some(v) => timestamp::from_json(v, options.time_field.as_deref()),
            None => timestamp::from_text_line(&record.text),
        };
        let (time, source) = match (own, name_time) {
            (Some(t), _) => (t, TimeSource::Record),
            (None, Some(t)) => (t, TimeSource::ObjectName),
            (None, None) => (fallback_time, TimeSource::Mtime),
        };
        match source {
            TimeSource::Record => {}
            TimeSource::ObjectName => report.time_from_object_name += 1,
            TimeSource::Mtime => report.time_from_mtime += 1,
        }
        let (entries, values) = analyze(
            &mut vocabulary,
            &mut scratch,
            record.json.as_ref(),
            &record.text,
        );
        let row = Row {
            seq: record.seq,
            time_ms: time.timestamp_millis(),
            entries,
            values,
            text: record.text,
        };
        field_counts.add_record(&row.entries);
        if let Some(json) = &record.json
            && (report.records as usize) < crate::catalog::EXAMPLE_RECORDS
        {
            catalog.add_examples(json);
        }
        report.records += 1;
        by_partition
            .entry(partition_of(time))
            .or_default()
            .push(row);
    }
    Ok(Analyzed {
        tag,
        by_partition,
        catalog,
        field_counts,
        vocabulary,
    })
}

/// A day of `earlier_days` (where the object's stored version has hours)
/// whose token-hours rows for the object are in a merged file: its own
/// day file is gone (compacted), or a merged file's list names it (on S3,
/// also before its own file is deleted).
fn compacted_day<'a>(
    stored: &'a StoredFiles,
    name: &str,
    earlier_days: &BTreeSet<&'a str>,
) -> Option<&'a str> {
    earlier_days
        .iter()
        .copied()
        .find(|d| {
            !stored
                .hours_files
                .contains(&partition_key(Table::Hours, d, name))
        })
        .or_else(|| {
            stored
                .hours_merged
                .get(name)
                .and_then(|days| days.first())
                .map(String::as_str)
        })
}

/// Each day's token-hours rows of the object: every hour's distinct
/// tokens, with the record holding each when only one does; sorted as
/// `encode_hours` writes them.
fn token_hour_rows<'a>(
    object: &'a str,
    by_partition: &'a BTreeMap<String, Vec<Row>>,
    vocabulary: &'a Vocabulary,
    ranks: &Ranks,
) -> BTreeMap<&'a str, Vec<HourRow<'a>>> {
    // Each day's (token, hour) pairs, keyed by the token's rank.
    let mut by_day: BTreeMap<&str, Vec<(u32, HourRow<'_>)>> = BTreeMap::new();
    for (dt, rows) in by_partition {
        // A map of distinct tokens (sorting every occurrence instead was
        // 5 % of ingest's profile).
        let mut tokens: foldhash::HashMap<u32, Option<i64>> = Default::default();
        for row in rows {
            for e in &row.entries {
                tokens
                    .entry(e.token)
                    .and_modify(|seq| {
                        if *seq != Some(row.seq) {
                            *seq = None;
                        }
                    })
                    .or_insert(Some(row.seq));
            }
        }
        let pairs = by_day.entry(day_of(dt)).or_default();
        pairs.extend(tokens.into_iter().map(|(t, seq)| {
            (
                ranks.tokens[t as usize],
                (
                    vocabulary.token(t),
                    dt.as_str(),
                    seq.map(|seq| (object, seq)),
                ),
            )
        }));
    }
    // In the order `encode_hours` writes them, sorted by integers: its own
    // sort then finds them sorted in one pass instead of comparing tokens
    // n log n times (6 % of ingest's profile before).
    by_day
        .into_iter()
        .map(|(day, mut pairs)| {
            pairs.sort_unstable_by_key(|&(rank, (_, dt, _))| (rank, dt));
            (day, pairs.into_iter().map(|(_, row)| row).collect())
        })
        .collect()
}

/// Writes the object's new version and removes its earlier one, in an
/// order where a run stopped at any point leaves every record findable
/// (the old version's or the new one's) and the object to be ingested
/// again: docs/storage.md, "File names and re-ingest".
#[allow(clippy::too_many_arguments)]
fn write_in_order(
    target: &dyn Target,
    stored: &StoredFiles,
    object: &str,
    name: &str,
    version: &Version,
    records: Analyzed,
    earlier_days: &BTreeSet<&str>,
    report: &mut IngestReport,
) -> std::io::Result<()> {
    let Analyzed {
        tag,
        by_partition,
        mut catalog,
        field_counts,
        vocabulary,
    } = records;
    let hours: BTreeSet<String> = by_partition.keys().cloned().collect();
    // Before the first write, the object's stored version is forgotten:
    // from here its files are neither that version nor the new one until
    // the new catalog is written, and a run stopped in between must leave
    // the object to be ingested again, not skipped.
    for (earlier, _) in stored.catalogs_of(name) {
        target.delete(earlier)?;
    }
    let ranks = Ranks::of(&vocabulary);
    let by_day = if stored.token_hours {
        token_hour_rows(object, &by_partition, &vocabulary, &ranks)
    } else {
        BTreeMap::new()
    };
    // A re-ingest replaces the object's day files while its earlier index
    // files still exist (they are replaced or deleted below): the earlier
    // version's pairs stay listed, so a failure in between never leaves
    // index rows whose hour no file lists. Their records are forgotten: a
    // record of the earlier version may no longer hold the token.
    let mut earlier: BTreeMap<&str, Vec<crate::writer::OwnedHourRow>> = BTreeMap::new();
    for day in by_day.keys().chain(earlier_days.iter()) {
        let key = partition_key(Table::Hours, day, name);
        if stored.hours_files.contains(&key) && !earlier.contains_key(day) {
            earlier.insert(day, decode_hours(target.get(&key)?.into())?);
        }
    }
    // The token-hours files go first, naming no record: an index row whose
    // hour they do not list would never be searched, while an hour they
    // list in vain costs a search one file. Days the earlier version had
    // and this one has not keep their pairs, named by nothing.
    let mut named: Vec<(String, Vec<u8>)> = Vec::new();
    for day in by_day
        .keys()
        .chain(earlier.keys())
        .copied()
        .collect::<BTreeSet<_>>()
    {
        let key = partition_key(Table::Hours, day, name);
        let rows: Vec<HourRow<'_>> = by_day.get(day).cloned().unwrap_or_default();
        let before = earlier
            .get(day)
            .map(|r| borrow_hours(r))
            .unwrap_or_default();
        let mut listing = unnamed(&rows);
        listing.extend(unnamed(&before));
        let bytes = encode_hours(&mut listing)?;
        report.bytes_out += bytes.len() as u64;
        target.put(&key, bytes)?;
        report.files_written += 1;
        if by_day.contains_key(day) {
            named.push((key, encode_hours(&mut rows.clone())?));
        }
    }
    drop(by_day);
    for (dt, mut rows) in by_partition {
        let encoded = encode_partition(object, &tag, &vocabulary, &ranks, &mut rows)?;
        report.index_rows += encoded.index_rows;
        report.bytes_out += (encoded.index.len() + encoded.messages.len()) as u64;
        target.put(&partition_key(Table::Index, &dt, name), encoded.index)?;
        target.put(&partition_key(Table::Messages, &dt, name), encoded.messages)?;
        report.files_written += 2;
        if stored.field_values {
            report.bytes_out += encoded.values.len() as u64;
            target.put(&partition_key(Table::Values, &dt, name), encoded.values)?;
            report.files_written += 1;
        }
        report.partitions.insert(dt);
    }
    // An earlier ingest of this object may have put records in hours this
    // one does not (a changed file, another --time-field): remove those
    // files, so the object's records exist exactly once. After the writes,
    // so a failure half-way leaves the old records findable, not none.
    for dt in stored.hours_of(name) {
        if hours.contains(dt) {
            continue;
        }
        for table in [Table::Index, Table::Messages, Table::Values] {
            target.delete(&partition_key(table, dt, name))?;
        }
    }
    // Only now, with the records written and the earlier version's gone,
    // the token-hours files name them, and list this version's pairs only.
    // (Counted as written once, above; their bytes twice, as written.)
    for (key, bytes) in named {
        report.bytes_out += bytes.len() as u64;
        target.put(&key, bytes)?;
    }
    // Last: the catalog's key says this version is stored whole.
    catalog.add_counts(&vocabulary, &field_counts);
    catalog.trim_examples();
    let key = crate::catalog::object_key(name, version.stored(report.time_from_mtime > 0));
    crate::catalog::write_object(target, &key, &catalog)?;
    report.files_written += 1;
    Ok(())
}

/// `rows` naming no record.
fn unnamed<'a>(rows: &[HourRow<'a>]) -> Vec<HourRow<'a>> {
    rows.iter().map(|&(t, h, _)| (t, h, None)).collect()
}

/// The partition value and file name of a key of `table`,
/// `<table>/<column>=<value>/<name>`: the inverse of [`partition_key`];
/// `None` for any other key (deeper, or of another table).
pub fn partition_file(table: Table, key: &str) -> Option<(&str, &str)> {
    let (dir, name) = key
        .strip_prefix(table.name())?
        .strip_prefix('/')?
        .split_once('/')?;
    let value = dir
        .strip_prefix(table.partition_column())?
        .strip_prefix('=')?;
    (!name.contains('/')).then_some((value, name))
}

/// `<table>/dt=<dt>/<name>` (`token_hours/day=<day>/<name>`): a data
/// file's key relative to the store root.
pub fn partition_key(table: Table, partition: &str, name: &str) -> String {
    format!("{table}/{}={partition}/{name}", table.partition_column())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    fn set_mtime(path: &Path, at: &str) {
        let at: DateTime<Utc> = at.parse().unwrap();
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(at.into()).unwrap();
    }

    fn catalog_keys(store: &Store) -> Vec<String> {
        store.list(&format!("{CATALOG_DIR}/")).unwrap()
    }

    /// An object is skipped when its bytes and the options are those
    /// stored; its mtime counts only when its records were timed by it.
    #[test]
    fn an_unchanged_object_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("store"));
        let timed = dir.path().join("timed.log");
        let untimed = dir.path().join("untimed.log");
        std::fs::write(&timed, "2024-05-01T10:00:00Z sshd: accepted\n").unwrap();
        std::fs::write(&untimed, "no time here\n").unwrap();
        set_mtime(&timed, "2024-05-01T10:30:00Z");
        set_mtime(&untimed, "2024-05-01T10:30:00Z");
        let paths = [timed.clone(), untimed.clone()];
        let run = |options: &IngestOptions| ingest(&store, &paths, options).unwrap();
        let first = run(&IngestOptions::default());
        assert_eq!((first.objects, first.unchanged), (2, 0), "{first}");
        assert_eq!(catalog_keys(&store).len(), 2);

        let again = run(&IngestOptions::default());
        assert_eq!((again.objects, again.unchanged), (2, 2), "{again}");
        assert_eq!((again.records, again.files_written), (0, 0), "{again}");

        // A new mtime: the record timed by it is ingested again (into
        // another hour), the one with its own time is not.
        set_mtime(&timed, "2024-05-01T11:30:00Z");
        set_mtime(&untimed, "2024-05-01T11:30:00Z");
        let touched = run(&IngestOptions::default());
        assert_eq!(touched.unchanged, 1, "{touched}");
        assert_eq!(touched.time_from_mtime, 1, "{touched}");
        assert!(touched.partitions.contains("2024-05-01-11"), "{touched}");

        // Another option, or other bytes: a new version, stored in place
        // of the old one (one catalog per object).
        let tagged = IngestOptions {
            tag: Some("ssh".into()),
            ..IngestOptions::default()
        };
        assert_eq!(run(&tagged).unchanged, 0);
        assert_eq!(run(&tagged).unchanged, 2);
        std::fs::write(&timed, "2024-05-01T10:00:00Z sshd: refused\n").unwrap();
        assert_eq!(run(&tagged).unchanged, 1);
        assert_eq!(catalog_keys(&store).len(), 2, "{:?}", catalog_keys(&store));
    }

    /// A run that stops half-way through rewriting an object (here with
    /// another tag) leaves no stored version: the next run ingests the
    /// object again, even with the first version's options, instead of
    /// skipping it over files that are half one version, half the other.
    #[test]
    fn an_object_rewritten_half_way_is_not_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("store"));
        let log = dir.path().join("auth.log");
        std::fs::write(&log, "2024-05-01T10:00:00Z sshd: accepted\n").unwrap();
        let paths = [log.clone()];
        ingest(&store, &paths, &IngestOptions::default()).unwrap();
        assert_eq!(catalog_keys(&store).len(), 1);
        let tagged = IngestOptions {
            tag: Some("ssh".into()),
            ..IngestOptions::default()
        };
        let files = Files::new(list_objects(&paths).unwrap());
        // Every index put fails: a run stopped after the object's first
        // writes.
        let no_index = crate::target::FailingPuts {
            store: &store,
            fails: |key| key.starts_with(glaux_compiler::layout::INDEX_TABLE),
        };
        let stopped = ingest_from(&no_index, &files, &tagged).unwrap();
        assert_eq!(stopped.failed.len(), 1, "{stopped}");
        assert!(
            catalog_keys(&store).is_empty(),
            "{:?}",
            catalog_keys(&store)
        );
        let again = ingest(&store, &paths, &IngestOptions::default()).unwrap();
        assert_eq!((again.unchanged, again.records), (0, 1), "{again}");
        assert_eq!(catalog_keys(&store).len(), 1);
    }

    /// A catalog written before versions were kept names none: its object
    /// is ingested again and the old catalog replaced. Two catalogs of one
    /// object (ingest never leaves two; a store copied together could)
    /// count once.
    #[test]
    fn catalogs_without_a_version_are_replaced_and_counted_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("store"));
        let log = dir.path().join("app.ndjson");
        std::fs::write(
            &log,
            "{\"ts\":\"2024-05-01T10:00:00Z\",\"user\":\"alice\"}\n",
        )
        .unwrap();
        let paths = [log.clone()];
        ingest(&store, &paths, &IngestOptions::default()).unwrap();
        let [key] = catalog_keys(&store).try_into().unwrap();
        let (hash, version) = crate::catalog::parse_key(&key).unwrap();
        assert!(version.is_some());
        let old = format!("{CATALOG_DIR}/{hash}.json");
        store.put(&old, store.get(&key).unwrap()).unwrap();
        assert_eq!(crate::catalog::read(&store).unwrap().fields["user"], 1);
        store.delete(&key).unwrap();

        let report = ingest(&store, &paths, &IngestOptions::default()).unwrap();
        assert_eq!((report.objects, report.unchanged), (1, 0), "{report}");
        assert_eq!(catalog_keys(&store), [key]);
        assert_eq!(crate::catalog::read(&store).unwrap().fields["user"], 1);
    }
}
