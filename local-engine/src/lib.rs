//! The embedded engine: runs the compiler's Athena SQL, unchanged, on Apache
//! DataFusion over a local store.
//!
//! The tables are registered as listing tables over `<root>/indices/` and
//! `<root>/messages/` with `dt` as a hive-style partition column (and
//! `<root>/token_hours/`, partitioned by `day`, when the store has it), in a schema named like the Athena database, so
//! `"glaux"."indices"` means the same on both engines and `dt` predicates
//! prune directories before any file is opened.
//!
//! Trino functions DataFusion lacks are registered as UDFs with Trino's
//! semantics (`trino`, listed in `docs/engines.md`): the compiler's SQL needs
//! none, but SQL written by hand against the same tables (the bench's
//! baseline, a query from the Athena console) runs here too.
#![forbid(unsafe_code)]

pub mod trino;

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::DataType;
use datafusion::catalog::MemorySchemaProvider;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionConfig, SessionContext};
use glaux_store::Store;

/// Errors of the local engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(
        "the store at {0} does not exist or is not a glaux store (no indices/ and messages/ directories)"
    )]
    NoStore(String),
    #[error("query failed on the local engine: {0}")]
    DataFusion(#[from] DataFusionError),
}

/// A DataFusion session over one local store.
pub struct LocalEngine {
    ctx: SessionContext,
    store: Store,
}

/// The Parquet format with the session's Parquet options. A bare
/// `ParquetFormat::default()` carries DataFusion's defaults instead, so the
/// options set in `LocalEngine::open` (filter pushdown above all) never
/// reached the scans of a table registered with it.
fn parquet_format(ctx: &SessionContext) -> ParquetFormat {
    ParquetFormat::default().with_options(ctx.state().table_options().parquet.clone())
}

impl LocalEngine {
    /// Opens the store at `store`, registering its tables in schema `database`.
    pub async fn open(store: &Store, database: &str) -> Result<Self, EngineError> {
        if !store.exists() {
            return Err(EngineError::NoStore(store.root().display().to_string()));
        }
        let mut config = SessionConfig::new()
            .with_information_schema(false)
            .with_target_partitions(std::thread::available_parallelism().map_or(2, |n| n.get()));
        let options = config.options_mut();
        // Evaluate filters while decoding Parquet, and use the Bloom filters
        // and page indexes the writer put there.
        options.execution.parquet.pushdown_filters = true;
        options.execution.parquet.reorder_filters = true;
        options.execution.parquet.bloom_filter_on_read = true;
        options.execution.parquet.enable_page_index = true;
        // glaux queries nest up to 128 groups and negations deep; the SQL
        // parser's default limit (50) would refuse what the language allows.
        options.sql_parser.recursion_limit =
            datafusion::common::config::ConfigNonZeroUsize::try_new(1_024)?;
        // No listing cache: DataFusion's keeps a table's file list for ever,
        // so an open session would miss what ingest added since and trip
        // over what compaction replaced. Listing a local directory per
        // search is cheap next to reading it.
        let runtime = datafusion::execution::runtime_env::RuntimeEnvBuilder::new()
            .with_cache_manager(
                datafusion::execution::cache::cache_manager::CacheManagerConfig::default()
                    .with_list_files_cache_limit(0),
            )
            .build_arc()?;
        let ctx = SessionContext::new_with_config_rt(config, runtime);
        for function in trino::functions() {
            ctx.register_udf(function);
        }

        let schema = Arc::new(MemorySchemaProvider::new());
        let catalog = ctx
            .catalog("datafusion")
            .expect("DataFusion's default catalog exists");
        catalog.register_schema(database, schema)?;

        use glaux_compiler::layout::Table;
        let mut tables = vec![Table::Index, Table::Messages];
        // Absent from stores an older glaux wrote; the compiler is told
        // (`CompileOptions::hours_table`) and does without.
        if store.has_hours_table() {
            tables.push(Table::Hours);
        }
        // Absent from stores an older glaux wrote; the compiler is told
        // (`CompileOptions::values_table`) and refuses stages that read it.
        if store.has_values_table() {
            tables.push(Table::Values);
        }
        for table in tables {
            let url = ListingTableUrl::parse(format!("{}/", store.dir(table).display()))?;
            let listing = ListingOptions::new(Arc::new(parquet_format(&ctx)))
                .with_file_extension(".parquet")
                .with_table_partition_cols(vec![(
                    table.partition_column().to_string(),
                    DataType::Utf8,
                )]);
            let config = ListingTableConfig::new(url)
                .with_listing_options(listing)
                .with_schema(glaux_store::writer::schema(table));
            let listed = ListingTable::try_new(config)?;
            ctx.register_table(
                datafusion::common::TableReference::partial(database, table.name()),
                Arc::new(listed),
            )?;
        }
        Ok(LocalEngine {
            ctx,
            store: store.clone(),
        })
    }

    /// Runs one SQL statement and collects its rows.
    pub async fn run(&self, sql: &str) -> Result<Vec<RecordBatch>, EngineError> {
        Ok(self.run_measured(sql).await?.0)
    }

    /// [`run`](Self::run), also returning what the Parquet scans did: the
    /// bytes they read (DataFusion's `bytes_scanned` metric, summed over
    /// the plan: the local engine's counterpart of Athena's "data
    /// scanned") and what they pruned.
    ///
    /// While it runs it holds the store's swap lock shared, so compaction
    /// cannot pull files from under it. A file that vanishes anyway (a
    /// store compacted for the first time while this started) makes the run
    /// start over, listing afresh, up to [`RERUNS`] times.
    pub async fn run_measured(
        &self,
        sql: &str,
    ) -> Result<(Vec<RecordBatch>, ScanStats), EngineError> {
        // Compaction does not swap a partition while this is held.
        let store = self.store.clone();
        let _guard =
            tokio::task::spawn_blocking(move || glaux_store::compact::search_guard(&store))
                .await
                .map_err(|e| EngineError::DataFusion(DataFusionError::External(Box::new(e))))?
                .map_err(|e| EngineError::DataFusion(DataFusionError::IoError(e)))?;
        let mut attempt = 0;
        loop {
            match self.run_scan(sql).await {
                Err(e) if attempt < RERUNS && is_vanished_file(&e) => attempt += 1,
                other => return other,
            }
        }
    }

    /// Runs `sql` once (no swap lock, no rerun) and returns its rows with
    /// what its Parquet scans did: bytes read and the pruning counts (for
    /// benchmarks: where the bytes go).
    pub async fn run_scan(&self, sql: &str) -> Result<(Vec<RecordBatch>, ScanStats), EngineError> {
        let plan = self.ctx.sql(sql).await?.create_physical_plan().await?;
        let batches =
            datafusion::physical_plan::collect(Arc::clone(&plan), self.ctx.task_ctx()).await?;
        let mut scan = ScanStats::default();
        scan.add(plan.as_ref());
        Ok((batches, scan))
    }

    /// The DataFusion session, for tests and tools that need more.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }
}

/// What the Parquet scans of a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Bytes read (DataFusion's `bytes_scanned`).
    pub bytes: u64,
    /// Per pruning step (`row_groups_pruned_statistics`,
    /// `row_groups_pruned_bloom_filter`, `page_index_pages_pruned`, …):
    /// (pruned, matched), summed over the plan.
    pub pruning: std::collections::BTreeMap<String, (usize, usize)>,
}

impl ScanStats {
    fn add(&mut self, plan: &dyn datafusion::physical_plan::ExecutionPlan) {
        use datafusion::physical_plan::metrics::MetricValue;
        if let Some(metrics) = plan.metrics() {
            for m in metrics.iter() {
                match m.value() {
                    MetricValue::Count { name, count } if name == "bytes_scanned" => {
                        self.bytes += count.value() as u64;
                    }
                    MetricValue::PruningMetrics {
                        name,
                        pruning_metrics,
                    } => {
                        let e = self.pruning.entry(name.to_string()).or_default();
                        e.0 += pruning_metrics.pruned();
                        e.1 += pruning_metrics.matched();
                    }
                    _ => {}
                }
            }
        }
        for child in plan.children() {
            self.add(child.as_ref());
        }
    }

    /// Adds `other`'s bytes and counts to these (the statements of one
    /// search).
    pub fn absorb(&mut self, other: ScanStats) {
        self.bytes += other.bytes;
        for (name, (pruned, matched)) in other.pruning {
            let e = self.pruning.entry(name).or_default();
            e.0 += pruned;
            e.1 += matched;
        }
    }

    /// `row groups: stats 672→12, bloom 12→3 · pages 40→6`, the steps
    /// that saw anything.
    pub fn pruning_summary(&self) -> String {
        self.pruning
            .iter()
            .filter(|(_, (p, m))| p + m > 0)
            .map(|(name, (p, m))| format!("{name} {}→{m}", p + m))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// How often a run starts over after a file vanished under it.
pub const RERUNS: u32 = 3;

/// True when `e` is a file that was listed but is gone when opened.
/// DataFusion wraps the object store's NotFound inside a Parquet error
/// without keeping it as a `source`, so the message is what tells.
fn is_vanished_file(e: &EngineError) -> bool {
    let EngineError::DataFusion(e) = e else {
        return false;
    };
    let text = e.to_string();
    text.contains("Object at location") && text.contains(" not found")
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::datasource::listing::ListingTable;

    /// The tables scan with the options `open` sets, not DataFusion's
    /// defaults (filter pushdown is off by default; it was silently off
    /// here until the format took the session's options).
    #[tokio::test]
    async fn tables_scan_with_the_sessions_parquet_options() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        std::fs::create_dir_all(store.index_dir()).unwrap();
        std::fs::create_dir_all(store.message_dir()).unwrap();
        let engine = LocalEngine::open(&store, "glaux").await.unwrap();
        for table in [
            glaux_compiler::layout::INDEX_TABLE,
            glaux_compiler::layout::MESSAGE_TABLE,
        ] {
            let provider = engine
                .ctx
                .table_provider(datafusion::common::TableReference::partial("glaux", table))
                .await
                .unwrap();
            let listing = provider.downcast_ref::<ListingTable>().unwrap();
            let format = &listing.options().format;
            let parquet = format.downcast_ref::<ParquetFormat>().unwrap().options();
            assert!(parquet.global.pushdown_filters, "{table}");
            assert!(parquet.global.reorder_filters, "{table}");
            assert!(parquet.global.bloom_filter_on_read, "{table}");
            assert!(parquet.global.enable_page_index, "{table}");
        }
    }

    /// Hand-written Athena SQL with Trino's JSON function runs here too.
    #[tokio::test]
    async fn json_extract_scalar_runs_in_sql() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        std::fs::create_dir_all(store.index_dir()).unwrap();
        std::fs::create_dir_all(store.message_dir()).unwrap();
        let engine = LocalEngine::open(&store, "glaux").await.unwrap();
        let sql = r#"SELECT json_extract_scalar(m, '$.a.b') AS v FROM (VALUES ('{"a":{"b":"x"}}'), ('{"a":{"b":2}}'), ('{"a":[]}')) AS t(m) ORDER BY v"#;
        let batches = engine.run(sql).await.unwrap();
        let values: Vec<Option<String>> = batches
            .iter()
            .flat_map(|b| {
                let text = arrow::compute::cast(b.column(0), &DataType::Utf8).unwrap();
                let text = text
                    .as_any()
                    .downcast_ref::<arrow::array::StringArray>()
                    .unwrap()
                    .clone();
                (0..arrow::array::Array::len(&text))
                    .map(|i| {
                        arrow::array::Array::is_valid(&text, i).then(|| text.value(i).to_string())
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(values, [Some("2".into()), Some("x".into()), None]);
        let joined = engine
            .run("SELECT array_join(array_agg(x ORDER BY x), ',') AS j FROM (VALUES ('b'), ('a'), (NULL), ('c')) AS t(x)")
            .await
            .unwrap();
        let j = arrow::compute::cast(joined[0].column(0), &DataType::Utf8).unwrap();
        let j = j
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .unwrap();
        assert_eq!(j.value(0), "a,b,c");
        let bad = engine
            .run("SELECT json_extract_scalar('{}', 'a.b')")
            .await
            .unwrap_err();
        assert!(bad.to_string().contains("invalid JSON path"), "{bad}");
    }
}
