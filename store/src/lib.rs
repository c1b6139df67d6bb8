//! The glaux store: a directory (or S3 prefix) holding two Parquet tables,
//! `indices/` and `messages/`, partitioned by hour (`dt=YYYY-MM-DD-HH`, UTC).
//! This crate writes it (ingest); the engines read it. The contract is in
//! `docs/storage.md`; column names and types come from
//! [`glaux_compiler::layout`].
#![forbid(unsafe_code)]

pub mod analyze;
pub mod catalog;
pub mod compact;
pub mod compact_s3;
pub mod decode;
pub mod ingest;
pub mod target;
pub mod timestamp;
pub mod writer;

use std::path::{Path, PathBuf};

use glaux_compiler::layout::{
    HOURS_TABLE, INDEX_TABLE, MESSAGE_TABLE, PARTITION_COLUMN, VALUES_TABLE,
};

pub use ingest::{IngestOptions, IngestReport, StoredFiles, ingest, ingest_from};
pub use target::{Fetched, Files, Source, Target};

/// A local store rooted at a directory.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Store { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/<table>`
    pub fn dir(&self, table: glaux_compiler::layout::Table) -> PathBuf {
        self.root.join(table.name())
    }

    /// `<root>/indices`
    pub fn index_dir(&self) -> PathBuf {
        self.root.join(INDEX_TABLE)
    }

    /// `<root>/messages`
    pub fn message_dir(&self) -> PathBuf {
        self.root.join(MESSAGE_TABLE)
    }

    /// `<root>/token_hours`
    pub fn hours_dir(&self) -> PathBuf {
        self.root.join(HOURS_TABLE)
    }

    /// `<root>/field_values`
    pub fn values_dir(&self) -> PathBuf {
        self.root.join(VALUES_TABLE)
    }

    /// True if the store keeps the field-values table. A store created
    /// before glaux wrote it has data without it, and stages must not read
    /// a table that misses records (their answers would be partial).
    pub fn has_values_table(&self) -> bool {
        self.values_dir().is_dir()
    }

    /// True if the store keeps the token-hours table. A store created
    /// before glaux wrote it has data without it, and searches must not
    /// consult a table that misses hours (they would miss records).
    pub fn has_hours_table(&self) -> bool {
        self.hours_dir().is_dir()
    }

    /// Where the field catalog lives (`catalog/`, one file per object).
    pub fn catalog_dir(&self) -> PathBuf {
        self.root.join(crate::catalog::CATALOG_DIR)
    }

    /// `<root>/indices/dt=<dt>`
    pub fn index_partition(&self, dt: &str) -> PathBuf {
        self.index_dir().join(format!("{PARTITION_COLUMN}={dt}"))
    }

    /// `<root>/messages/dt=<dt>`
    pub fn message_partition(&self, dt: &str) -> PathBuf {
        self.message_dir().join(format!("{PARTITION_COLUMN}={dt}"))
    }

    /// Creates the table directories (an empty store is a valid store).
    /// The token-hours and field-values tables only come with a new
    /// store: an existing one without them was written by an older glaux,
    /// and a table holding only what is ingested from now on would hide
    /// the rest.
    pub fn create(&self) -> std::io::Result<()> {
        if !self.index_dir().exists() {
            std::fs::create_dir_all(self.hours_dir())?;
            std::fs::create_dir_all(self.values_dir())?;
        }
        std::fs::create_dir_all(self.index_dir())?;
        std::fs::create_dir_all(self.message_dir())
    }

    /// True if both table directories exist.
    pub fn exists(&self) -> bool {
        self.index_dir().is_dir() && self.message_dir().is_dir()
    }
}
