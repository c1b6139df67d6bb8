//! `glaux compact` on a store without an atomic swap: S3 (any
//! [`Target`]). The merge is the local one ([`crate::compact::merge`]);
//! what differs is how the merged file replaces the small ones.
//!
//! S3 cannot replace a set of objects in one step, and Athena lists a
//! partition's files itself. So a partition is rewritten by **write, then
//! delete**, and the SQL tolerates the step in between (docs/storage.md,
//! "Compaction on S3"):
//!
//! 1. **Clean up** what an interrupted run left: among the partition's
//!    merged files (`z-<ms>-c-….parquet`, each with its object list
//!    `_glaux-objects-z-<ms>-c-….json`), the one with the most objects covers the
//!    others; every file whose records it holds (an older compacted file,
//!    an object's own file) is deleted, and so is an object list whose
//!    file does not exist.
//! 2. **Merge** the partition's remaining files into one.
//! 3. **Write** its object list, then the file. From here a reader may list
//!    a record twice, in the new file and in an old one: byte-identical
//!    rows, which every query drops (`SELECT DISTINCT` over the newest
//!    `2 × limit` rows, `glaux_compiler::sql`).
//! 4. **Delete** the merged files, each compacted file before its object
//!    list.
//!
//! So at every point each record is in the partition once or twice, never
//! missing and never three times: a crash leaves at most one old layer
//! beside one new file, and the next run's cleanup removes it before it
//! writes anything. A search that listed a file which is then deleted
//! fails and is run again (the Athena engine resubmits it once).
//!
//! The object list is written before the file so that a compacted file
//! never exists without one (cleanup trusts only lists whose file exists),
//! and ingest, which refuses to re-ingest an object a list names, errs on
//! the side of refusing.
//!
//! The token-hours table is a set: duplicate pairs are harmless (a
//! search takes an hour's record only when all its rows name the same
//! one), so its partitions are merged and the inputs deleted, with no
//! clean-up. A merged day file names records of many objects, where a
//! re-ingest of one could not forget them, so it too gets a list, written
//! first: the *file names* of the objects' own day files it merged (its
//! rows name only some of the objects). Ingest refuses to re-ingest a
//! changed object a list names, also while the object's own day file is
//! still there beside the merged one (a run stopped before deleting its
//! inputs).
//!
//! One writer at a time: the caller holds the store's lock object
//! ([`lock`]), since ingest re-writing an object's file while compaction
//! merges it would lose the new version.

use std::collections::{BTreeMap, BTreeSet};
use std::io;

use glaux_compiler::layout::Table;

use crate::Target;
use crate::compact::{CompactReport, merge};
use crate::ingest::file_name_for;

/// The object list of merged file `z-t-c-x.parquet` is
/// `_glaux-objects-z-t-c-x.json` beside it (Athena skips `_` names, DataFusion
/// reads `.parquet` only).
pub const OBJECTS_PREFIX: &str = "_glaux-objects-";

/// The lock object under the store's prefix: it exists while a writer
/// (ingest or compaction) works on an S3 store.
pub const LOCK_OBJECT: &str = ".glaux-lock";

/// The object list's key for a compacted file called `name`.
pub fn objects_key(dir: &str, name: &str) -> String {
    let stem = name.strip_suffix(".parquet").unwrap_or(name);
    format!("{dir}/{OBJECTS_PREFIX}{stem}.json")
}

/// True if `name` (a key's last part) is an object list.
pub fn is_objects_list(name: &str) -> bool {
    name.starts_with(OBJECTS_PREFIX) && name.ends_with(".json")
}

/// The file object list `list` (a name) belongs to: the inverse of
/// [`objects_key`].
fn listed_file(list: &str) -> String {
    let stem = &list[OBJECTS_PREFIX.len()..list.len() - ".json".len()];
    format!("{stem}.parquet")
}

/// One partition directory's keys, by kind.
#[derive(Debug, Default)]
struct Partition {
    /// `.parquet` names.
    files: BTreeSet<String>,
    /// Names of object lists (`_glaux-objects-….json`).
    lists: BTreeSet<String>,
}

/// Compacts every partition of every table of the store at `target` that
/// has more than one file, by write-then-delete. `progress` is told each
/// partition as it is finished.
pub fn compact(target: &dyn Target, progress: &dyn Fn(&str)) -> io::Result<CompactReport> {
    let mut report = CompactReport::default();
    for table in Table::ALL {
        let column = format!("{}=", table.partition_column());
        let mut partitions: BTreeMap<String, Partition> = BTreeMap::new();
        for key in target.list(&format!("{table}/"))? {
            // <table>/<column>=<value>/<name>
            let mut parts = key.splitn(3, '/').skip(1);
            let (Some(dir), Some(name)) = (parts.next(), parts.next()) else {
                continue;
            };
            if !dir.starts_with(&column) || name.contains('/') {
                continue;
            }
            let p = partitions.entry(format!("{table}/{dir}")).or_default();
            if name.ends_with(".parquet") && !name.starts_with(['_', '.']) {
                p.files.insert(name.to_string());
            } else if is_objects_list(name) {
                p.lists.insert(name.to_string());
            }
        }
        for (dir, partition) in partitions {
            compact_partition(target, table, &dir, partition, &mut report)?;
            progress(&dir);
        }
    }
    Ok(report)
}

fn compact_partition(
    target: &dyn Target,
    table: Table,
    dir: &str,
    mut p: Partition,
    report: &mut CompactReport,
) -> io::Result<()> {
    let key = |name: &str| format!("{dir}/{name}");
    if table != Table::Hours {
        report.leftovers_removed += clean_up(target, dir, &mut p)?;
    } else {
        report.leftovers_removed += drop_orphan_lists(target, dir, &mut p)?;
    }
    if p.files.len() < 2 {
        report.already_compact += 1;
        return Ok(());
    }
    let mut inputs = Vec::with_capacity(p.files.len());
    for name in &p.files {
        let bytes = target.get(&key(name))?;
        report.bytes_before += bytes.len() as u64;
        inputs.push((name.clone(), bytes::Bytes::from(bytes)));
    }
    let mut merged = merge(table, &inputs)?;
    merged.name = merged_name(&p.files, &merged.name);
    if p.files.contains(&merged.name) {
        // The same inputs were merged before and that file is still here
        // beside them: impossible after clean-up, so refuse to guess.
        return Err(io::Error::other(format!(
            "{dir}: {} is both an input and the merge of the inputs",
            merged.name
        )));
    }
    if let Some(objects) = &merged.objects {
        let list = serde_json::to_vec(objects).map_err(io::Error::other)?;
        target.put(&objects_key(dir, &merged.name), list)?;
    } else if table == Table::Hours {
        let names = merged_day_files(target, dir, &p)?;
        let list = serde_json::to_vec(&names).map_err(io::Error::other)?;
        target.put(&objects_key(dir, &merged.name), list)?;
    }
    report.bytes_after += merged.bytes.len() as u64;
    target.put(&key(&merged.name), merged.bytes)?;
    for name in &p.files {
        target.delete(&key(name))?;
        if is_merged(name) {
            target.delete(&objects_key(dir, name))?;
        }
    }
    report.partitions += 1;
    report.files_before += p.files.len() as u64;
    report.files_after += 1;
    Ok(())
}

/// Prefix of a merged file's name on S3: `z-<epoch ms>-c-<hash>.parquet`.
const MERGED_PREFIX: &str = "z-";

/// Whether `name` is a merged file (here, or one compacted locally).
fn is_merged(name: &str) -> bool {
    name.starts_with(MERGED_PREFIX) || name.starts_with("c-")
}

/// The merged file's name: after every other name of the partition, and
/// after every earlier merged file's. A reader lists a partition in key
/// order, a page of 1,000 keys at a time; were the new file's key before
/// the listing's position, a listing under way could miss it and then
/// miss the inputs deleted before it reached them. Sorting last, the file
/// is either listed or written after the listing ended, when every input
/// was still there to list. Object files are named by lower-case hex,
/// so `z-` sorts after them; the time keeps later merges later (and if the
/// clock went back, one past the newest merge here).
fn merged_name(files: &BTreeSet<String>, name: &str) -> String {
    let now = chrono::Utc::now().timestamp_millis();
    let newest = files
        .iter()
        .filter_map(|f| {
            f.strip_prefix(MERGED_PREFIX)?
                .split('-')
                .next()?
                .parse::<i64>()
                .ok()
        })
        .max()
        .map_or(now, |t| now.max(t + 1));
    format!("{MERGED_PREFIX}{newest:013}-{name}")
}

/// The own day files (`<hash>.parquet`) a token-hours partition's files
/// hold: the own files among them, and those the lists of merged ones
/// name.
fn merged_day_files(target: &dyn Target, dir: &str, p: &Partition) -> io::Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    for name in &p.files {
        if !is_merged(name) {
            names.insert(name.clone());
            continue;
        }
        let list = objects_key(dir, name);
        if p.lists.contains(&list[dir.len() + 1..]) {
            let listed: BTreeSet<String> = serde_json::from_slice(&target.get(&list)?)
                .map_err(|e| io::Error::other(format!("{list}: {e}")))?;
            names.extend(listed);
        }
    }
    Ok(names)
}

/// Deletes the token-hours lists whose file does not exist (written just
/// before a merged file that never was); returns how many.
fn drop_orphan_lists(target: &dyn Target, dir: &str, p: &mut Partition) -> io::Result<u64> {
    let orphans: Vec<String> = p
        .lists
        .iter()
        .filter(|list| !p.files.contains(&listed_file(list)))
        .cloned()
        .collect();
    for list in &orphans {
        target.delete(&format!("{dir}/{list}"))?;
        p.lists.remove(list);
    }
    Ok(orphans.len() as u64)
}

/// Step 1: deletes the files the largest compacted file covers and the
/// object lists without a file; returns how many keys it deleted. `p` is
/// left with what remains.
fn clean_up(target: &dyn Target, dir: &str, p: &mut Partition) -> io::Result<u64> {
    let key = |name: &str| format!("{dir}/{name}");
    // Compacted files whose list exists, with their objects.
    let mut compacted: Vec<(String, BTreeSet<String>)> = Vec::new();
    let mut removed = 0;
    for list in std::mem::take(&mut p.lists) {
        let file = listed_file(&list);
        if p.files.contains(&file) {
            let objects: BTreeSet<String> = serde_json::from_slice(&target.get(&key(&list))?)
                .map_err(|e| io::Error::other(format!("{}: {e}", key(&list))))?;
            compacted.push((file, objects));
        } else {
            // Written just before a file that never was (a crash), or left
            // after its file was deleted.
            target.delete(&key(&list))?;
            removed += 1;
        }
    }
    let Some((newest, covers)) = compacted
        .iter()
        .max_by_key(|(_, objects)| objects.len())
        .cloned()
    else {
        return Ok(removed);
    };
    let own_files: BTreeSet<String> = covers.iter().map(|o| file_name_for(o)).collect();
    for (file, objects) in &compacted {
        if *file != newest && objects.is_subset(&covers) {
            target.delete(&key(file))?;
            target.delete(&objects_key(dir, file))?;
            p.files.remove(file);
            removed += 1;
        }
    }
    for file in own_files {
        if p.files.remove(&file) {
            target.delete(&key(&file))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Held while a writer works on an S3 store; released on drop by deleting
/// the lock object, if it is still the one this writer created.
pub struct Lock<'a> {
    target: &'a dyn Target,
    written: Vec<u8>,
}

impl Drop for Lock<'_> {
    fn drop(&mut self) {
        // Someone may have deleted a lock they thought stale and taken it:
        // leave theirs alone. (Between this read and the delete another
        // writer could still take it; S3's conditional delete would close
        // that window, see docs/storage.md.)
        if self
            .target
            .get(LOCK_OBJECT)
            .is_ok_and(|now| now == self.written)
        {
            let _ = self.target.delete(LOCK_OBJECT);
        }
    }
}

/// What the lock object says about its holder.
fn holder(purpose: &str) -> Vec<u8> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    serde_json::json!({
        "purpose": purpose,
        "host": host,
        "pid": std::process::id(),
        "since": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    })
    .to_string()
    .into_bytes()
}

/// Takes the store's lock object: created only if absent (S3's
/// `If-None-Match: *`), so of two writers one wins. A lock that exists is
/// an error naming its holder and the key to delete if that holder is
/// gone. glaux never takes a lock over by itself: telling a dead holder
/// from a live one on another machine (or in another pid namespace) is
/// guesswork, and two writers that both decided a lock was stale could
/// both take it.
pub fn lock<'a>(target: &'a dyn Target, purpose: &str) -> io::Result<Lock<'a>> {
    let written = holder(purpose);
    if target.create_new(LOCK_OBJECT, written.clone())? {
        return Ok(Lock { target, written });
    }
    let held = target
        .get(LOCK_OBJECT)
        .map(|h| String::from_utf8_lossy(&h).into_owned())
        .unwrap_or_else(|e| format!("unreadable: {e}"));
    Err(io::Error::other(format!(
        "the store is locked by another writer ({held}); if that process is gone (a killed run), delete {}{LOCK_OBJECT} and run again",
        target.describe()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    #[test]
    fn the_lock_has_one_holder_and_is_never_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let held = lock(&store, "compact").unwrap();
        let err = lock(&store, "ingest").err().unwrap().to_string();
        assert!(err.contains("locked by another writer"), "{err}");
        assert!(err.contains("\"purpose\":\"compact\""), "{err}");
        assert!(err.contains(LOCK_OBJECT), "{err}");
        drop(held);
        assert!(!dir.path().join(LOCK_OBJECT).exists(), "released on drop");

        // A lock whose holder is gone (here: a process that has exited) is
        // not taken over: the error says what to delete.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = serde_json::json!({"host": "here", "pid": dead, "purpose": "ingest"});
        store
            .put(LOCK_OBJECT, stale.to_string().into_bytes())
            .unwrap();
        assert!(lock(&store, "compact").is_err());

        // A holder whose lock was deleted and taken by another writer
        // leaves the new lock in place when it finishes.
        store.delete(LOCK_OBJECT).unwrap();
        let first = lock(&store, "compact").unwrap();
        store.delete(LOCK_OBJECT).unwrap();
        let second = lock(&store, "ingest").unwrap();
        drop(first);
        assert!(
            dir.path().join(LOCK_OBJECT).exists(),
            "the second holder's lock stays"
        );
        drop(second);
        assert!(!dir.path().join(LOCK_OBJECT).exists());
    }
}
