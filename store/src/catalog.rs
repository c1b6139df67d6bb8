//! The field catalog: which field paths the store's records have, how many
//! records have each, and a few example values of each. Ingest writes one
//! small JSON file per object (`catalog/<object hash>.<version>.json`,
//! replaced when the object is ingested again, so counts never double; the
//! version tells ingest an unchanged object it can skip); readers merge
//! them. The compiler uses the field names for "did you mean `eventName`?";
//! the REPL uses names, counts and examples for completion and `\fields`.

use std::collections::BTreeMap;

use crate::Store;
use crate::analyze::{Entry, Vocabulary};
use crate::target::Target;

/// Field path → number of records that have it, and example values.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldCatalog {
    pub fields: BTreeMap<String, u64>,
    /// Field path → example value → how many sampled values it was. Absent
    /// in catalogs written before examples existed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub examples: BTreeMap<String, BTreeMap<String, u64>>,
}

/// Records of an object sampled for examples (the first ones): enough for
/// a few values per field, cheap on large objects.
pub const EXAMPLE_RECORDS: usize = 256;
/// Distinct examples kept per field (the most frequent; ties by value).
pub const EXAMPLES_KEPT: usize = 8;
/// Values longer than this are not examples (messages, policies, tokens).
pub const EXAMPLE_MAX_CHARS: usize = 64;

impl FieldCatalog {
    /// Samples the scalar values of one JSON record as examples.
    pub fn add_examples(&mut self, record: &serde_json::Value) {
        crate::analyze::for_each_value(record, &mut |field, value| {
            if value.is_empty() || value.chars().count() > EXAMPLE_MAX_CHARS {
                return;
            }
            let values = match self.examples.get_mut(field) {
                Some(v) => v,
                None => self.examples.entry(field.to_string()).or_default(),
            };
            let room = values.len() < 2 * EXAMPLES_KEPT;
            match values.get_mut(value) {
                Some(n) => *n += 1,
                // Past the cap, only values already kept are counted, so a
                // field of unique values (ids) costs little.
                None if room => {
                    values.insert(value.to_string(), 1);
                }
                None => {}
            }
        });
    }

    /// Keeps the [`EXAMPLES_KEPT`] most frequent examples of each field.
    pub fn trim_examples(&mut self) {
        for values in self.examples.values_mut() {
            if values.len() > EXAMPLES_KEPT {
                let mut ranked: Vec<(String, u64)> = std::mem::take(values).into_iter().collect();
                ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                ranked.truncate(EXAMPLES_KEPT);
                *values = ranked.into_iter().collect();
            }
        }
    }

    /// A field's examples, most frequent first.
    pub fn examples_of(&self, field: &str) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self
            .examples
            .get(field)
            .map(|m| m.iter().map(|(k, n)| (k.as_str(), *n)).collect())
            .unwrap_or_default();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        v
    }

    /// Adds an object's [`FieldCounts`] (the text of non-JSON lines has
    /// no field and is not counted).
    pub fn add_counts(&mut self, vocabulary: &Vocabulary, counts: &FieldCounts) {
        for (id, &n) in counts.records.iter().enumerate() {
            let field = vocabulary.field(id as u32);
            if n == 0 || field.is_empty() {
                continue;
            }
            match self.fields.get_mut(field) {
                Some(total) => *total += n,
                None => {
                    self.fields.insert(field.to_string(), n);
                }
            }
        }
    }

    /// Adds another catalog's counts and examples.
    pub fn merge(&mut self, other: FieldCatalog) {
        for (f, n) in other.fields {
            *self.fields.entry(f).or_default() += n;
        }
        for (f, values) in other.examples {
            let mine = self.examples.entry(f).or_default();
            for (v, n) in values {
                *mine.entry(v).or_default() += n;
            }
        }
    }

    /// The field names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.fields.keys().cloned().collect()
    }
}

/// The key of the catalog of the object whose data files are called
/// `name` (`<hash>.parquet`), ingested as `version`
/// (`crate::ingest::Version`): `catalog/<hash>.<version>.json`. The key
/// says which version of the object is stored, so one listing of
/// `catalog/` tells ingest which objects it can skip, without reading them.
pub fn object_key(name: &str, version: &str) -> String {
    let stem = name.strip_suffix(".parquet").unwrap_or(name);
    format!("{CATALOG_DIR}/{stem}.{version}.json")
}

/// The object hash and version a catalog key names (`None` version: a
/// catalog written before versions were kept, `catalog/<hash>.json`).
pub fn parse_key(key: &str) -> Option<(&str, Option<&str>)> {
    let file = key.strip_prefix(CATALOG_DIR)?.strip_prefix('/')?;
    let stem = file.strip_suffix(".json")?;
    match stem.split_once('.') {
        Some((hash, version)) => Some((hash, Some(version))),
        None => Some((stem, None)),
    }
}

/// The directory of the catalog files, relative to the store root.
pub const CATALOG_DIR: &str = "catalog";

/// Records per field of one object, by the field's id in its
/// [`Vocabulary`]: each field once per record.
#[derive(Debug, Default)]
pub struct FieldCounts {
    records: Vec<u64>,
    seen: Vec<u32>,
}

impl FieldCounts {
    pub fn add_record(&mut self, entries: &[Entry]) {
        // Entries come value by value: drop runs of one field before sorting.
        self.seen.clear();
        for e in entries {
            if self.seen.last() != Some(&e.field) {
                self.seen.push(e.field);
            }
        }
        self.seen.sort_unstable();
        self.seen.dedup();
        for &field in &self.seen {
            let at = field as usize;
            if self.records.len() <= at {
                self.records.resize(at + 1, 0);
            }
            self.records[at] += 1;
        }
    }
}

/// Writes an object's catalog at `key` ([`object_key`]).
pub fn write_object(target: &dyn Target, key: &str, catalog: &FieldCatalog) -> std::io::Result<()> {
    target.put(
        key,
        serde_json::to_vec(catalog).map_err(std::io::Error::other)?,
    )
}

/// Merges every object's catalog. A store without a catalog (written before
/// there was one) gives an empty catalog; an unreadable file is an error.
pub fn read(store: &Store) -> std::io::Result<FieldCatalog> {
    let mut all = read_untrimmed(store)?;
    all.trim_examples();
    Ok(all)
}

fn read_untrimmed(store: &Store) -> std::io::Result<FieldCatalog> {
    let mut all = FieldCatalog::default();
    let entries = match std::fs::read_dir(store.catalog_dir()) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(all),
        Err(e) => return Err(e),
    };
    // One catalog per object. Ingest deletes an object's catalog before
    // it writes the new one, so there is one; should a store hold two
    // (copied together by hand), either is a whole version's counts.
    let mut paths: BTreeMap<String, std::path::PathBuf> = BTreeMap::new();
    for entry in entries {
        let path = entry?.path();
        let key = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(|n| format!("{CATALOG_DIR}/{n}"));
        if let Some((hash, _)) = key.as_deref().and_then(parse_key) {
            paths.insert(hash.to_string(), path);
        }
    }
    for path in paths.into_values() {
        let bytes = std::fs::read(&path)?;
        let one: FieldCatalog = serde_json::from_slice(&bytes)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
        all.merge(one);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn examples_are_the_most_frequent_short_values() {
        let mut one = FieldCatalog::default();
        for i in 0..40 {
            one.add_examples(&json!({
                "eventName": if i % 4 == 0 { "ConsoleLogin" } else { "AssumeRole" },
                "requestID": format!("id-{i}"),
                "policy": "x".repeat(100),
                "n": i % 2,
                "empty": ""
            }));
        }
        one.trim_examples();
        assert_eq!(
            one.examples_of("eventName"),
            [("AssumeRole", 30), ("ConsoleLogin", 10)]
        );
        assert_eq!(one.examples_of("n"), [("0", 20), ("1", 20)]);
        // Unique values stop being collected at the cap; long ones never are.
        assert_eq!(one.examples_of("requestID").len(), EXAMPLES_KEPT);
        assert!(one.examples_of("policy").is_empty());
        assert!(one.examples_of("empty").is_empty());

        // Merging adds counts; the old format (no examples) still reads.
        let old: FieldCatalog = serde_json::from_str(r#"{"fields":{"eventName":3}}"#).unwrap();
        let mut all = old;
        all.merge(one.clone());
        all.merge(one);
        all.trim_examples();
        assert_eq!(all.examples_of("eventName")[0], ("AssumeRole", 60));
        assert_eq!(all.fields["eventName"], 3);
    }
}
