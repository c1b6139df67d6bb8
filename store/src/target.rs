//! Where ingest puts a store's files, and where it reads raw objects from.
//!
//! Ingest speaks in keys relative to the store root (`indices/dt=…/x.parquet`,
//! `catalog/x.json`) through [`Target`], so one ingest writes a local
//! directory or an S3 prefix with the same layout and file names. The local
//! implementation is here; the S3 one lives in `glaux-aws`'s caller, which
//! owns the network code. Likewise raw objects come from a [`Source`]: local
//! files here, S3 objects there.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};

use crate::Store;

/// A store's file system: local directory or S3 prefix.
pub trait Target: Sync {
    /// Writes `bytes` at `key`, atomically: a reader sees the old file or
    /// the new one, never a part.
    fn put(&self, key: &str, bytes: Vec<u8>) -> io::Result<()>;
    /// Writes `bytes` at `key` only if nothing is there (S3's
    /// `If-None-Match: *`); `false` when something was. Of two writers
    /// racing for one key, exactly one gets `true`.
    fn create_new(&self, key: &str, bytes: Vec<u8>) -> io::Result<bool>;
    /// Deletes `key`; a missing key is not an error.
    fn delete(&self, key: &str) -> io::Result<()>;
    /// Every key under `prefix` (which ends with `/`), relative to the root.
    fn list(&self, prefix: &str) -> io::Result<Vec<String>>;
    /// The bytes at `key`.
    fn get(&self, key: &str) -> io::Result<Vec<u8>>;
    /// Where this is, for messages (`/data/store`, `s3://bucket/prefix/`).
    fn describe(&self) -> String;
}

impl Target for Store {
    fn get(&self, key: &str) -> io::Result<Vec<u8>> {
        std::fs::read(self.root().join(key))
    }

    fn put(&self, key: &str, bytes: Vec<u8>) -> io::Result<()> {
        let path = self.root().join(key);
        let dir = path.parent().unwrap_or(self.root());
        std::fs::create_dir_all(dir)?;
        // Unique per process and call, so concurrent writers never share one;
        // hidden, so readers listing the directory skip it.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
        let tmp = dir.join(format!(".{name}.{}-{n}.tmp", std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &path)
    }

    fn create_new(&self, key: &str, bytes: Vec<u8>) -> io::Result<bool> {
        use std::io::Write;
        let path = self.root().join(key);
        std::fs::create_dir_all(path.parent().unwrap_or(self.root()))?;
        match File::options().write(true).create_new(true).open(&path) {
            Ok(mut f) => f.write_all(&bytes).map(|()| true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn delete(&self, key: &str) -> io::Result<()> {
        match std::fs::remove_file(self.root().join(key)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn list(&self, prefix: &str) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        let dir = self.root().join(prefix);
        if dir.is_dir() {
            list_files(self.root(), &dir, &mut out)?;
        }
        out.sort();
        Ok(out)
    }

    fn describe(&self) -> String {
        self.root().display().to_string()
    }
}

fn list_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if entry.file_type()?.is_dir() {
            list_files(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            let key: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(key.join("/"));
        }
    }
    Ok(())
}

/// One raw object, read.
#[derive(Debug)]
pub struct Fetched {
    /// The object's id, stored with every record (`/abs/path`, `s3://b/k`).
    pub object: String,
    pub bytes: Vec<u8>,
    /// Last modified: the last resort for a record's time.
    pub mtime: Option<DateTime<Utc>>,
}

/// Raw objects to ingest, handed out one at a time to worker threads.
pub trait Source: Sync {
    /// The next object, an object that could not be read (its id and the
    /// reason), or `None` when all were handed out.
    fn next(&self) -> Option<Result<Fetched, (String, String)>>;
}

/// Local files: read by the worker that takes them.
#[derive(Debug)]
pub struct Files {
    paths: Vec<PathBuf>,
    next: AtomicUsize,
}

impl Files {
    pub fn new(paths: Vec<PathBuf>) -> Self {
        Files {
            paths,
            next: AtomicUsize::new(0),
        }
    }

    pub fn len(&self) -> usize {
        self.paths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }
}

impl Source for Files {
    fn next(&self) -> Option<Result<Fetched, (String, String)>> {
        let path = self.paths.get(self.next.fetch_add(1, Ordering::Relaxed))?;
        let read = || -> io::Result<Fetched> {
            let object = std::fs::canonicalize(path)?.display().to_string();
            let bytes = std::fs::read(path)?;
            let mtime = std::fs::metadata(path)?
                .modified()
                .ok()
                .map(DateTime::<Utc>::from);
            Ok(Fetched {
                object,
                bytes,
                mtime,
            })
        };
        Some(read().map_err(|e| (path.display().to_string(), e.to_string())))
    }
}

/// A local store whose puts of the keys `fails` picks fail, as a process
/// stopped before them would (tests of what a failed run leaves).
#[cfg(test)]
pub(crate) struct FailingPuts<'a> {
    pub store: &'a Store,
    pub fails: fn(&str) -> bool,
}

#[cfg(test)]
impl Target for FailingPuts<'_> {
    fn put(&self, key: &str, bytes: Vec<u8>) -> io::Result<()> {
        if (self.fails)(key) {
            return Err(io::Error::other("stopped"));
        }
        self.store.put(key, bytes)
    }
    fn create_new(&self, key: &str, bytes: Vec<u8>) -> io::Result<bool> {
        self.store.create_new(key, bytes)
    }
    fn delete(&self, key: &str) -> io::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_target_puts_lists_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        store
            .put("indices/dt=2024-05-01-10/a.parquet", b"x".to_vec())
            .unwrap();
        store
            .put("indices/dt=2024-05-01-11/b.parquet", b"y".to_vec())
            .unwrap();
        store.put("catalog/a.json", b"{}".to_vec()).unwrap();
        assert_eq!(
            store.list("indices/").unwrap(),
            [
                "indices/dt=2024-05-01-10/a.parquet",
                "indices/dt=2024-05-01-11/b.parquet"
            ]
        );
        assert!(store.list("messages/").unwrap().is_empty());
        store.delete("indices/dt=2024-05-01-10/a.parquet").unwrap();
        store.delete("indices/dt=2024-05-01-10/a.parquet").unwrap();
        assert_eq!(store.list("indices/").unwrap().len(), 1);
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("catalog"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.json"]);
    }
}
