//! The field catalog: which field paths the store's records have, and how
//! many records have each. Ingest writes one small JSON file per object
//! (`catalog/<object hash>.json`, replaced when the object is ingested
//! again, so counts never double); readers merge them. The compiler uses the
//! field names for "did you mean `eventName`?".

use std::collections::BTreeMap;
use std::path::Path;

use crate::Store;
use crate::analyze::Entry;
use crate::target::Target;

/// Field path → number of records that have it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldCatalog {
    pub fields: BTreeMap<String, u64>,
}

impl FieldCatalog {
    /// Counts the fields of one record (each field once per record; the
    /// text of non-JSON lines has no field and is not counted).
    pub fn add_record(&mut self, entries: &[Entry]) {
        // Entries come value by value: drop runs of one field before sorting.
        let mut seen: Vec<&str> = Vec::new();
        for e in entries {
            if !e.field.is_empty() && seen.last() != Some(&e.field.as_str()) {
                seen.push(&e.field);
            }
        }
        seen.sort_unstable();
        seen.dedup();
        for f in seen {
            // Allocate a key only for a field not seen before.
            match self.fields.get_mut(f) {
                Some(n) => *n += 1,
                None => {
                    self.fields.insert(f.to_string(), 1);
                }
            }
        }
    }

    /// Adds another catalog's counts.
    pub fn merge(&mut self, other: FieldCatalog) {
        for (f, n) in other.fields {
            *self.fields.entry(f).or_default() += n;
        }
    }

    /// The field names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.fields.keys().cloned().collect()
    }
}

/// Writes the catalog of the object whose data files are called `name`
/// (`<hash>.parquet`) as `catalog/<hash>.json`.
pub fn write_object(
    target: &dyn Target,
    name: &str,
    catalog: &FieldCatalog,
) -> std::io::Result<()> {
    let file = Path::new(name).with_extension("json");
    target.put(
        &format!("catalog/{}", file.display()),
        serde_json::to_vec(catalog).map_err(std::io::Error::other)?,
    )
}

/// Merges every object's catalog. A store without a catalog (written before
/// there was one) gives an empty catalog; an unreadable file is an error.
pub fn read(store: &Store) -> std::io::Result<FieldCatalog> {
    let mut all = FieldCatalog::default();
    let entries = match std::fs::read_dir(store.catalog_dir()) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(all),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            let bytes = std::fs::read(&path)?;
            let one: FieldCatalog = serde_json::from_slice(&bytes)
                .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
            all.merge(one);
        }
    }
    Ok(all)
}
