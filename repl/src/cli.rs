//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::output::Format;

/// glaux: search security logs kept as Parquet, on a laptop (embedded
/// DataFusion engine) or on Amazon Athena, with a Lucene-like language.
///
/// With no command, opens the REPL on the store.
#[derive(Debug, Parser)]
#[command(name = "glaux", version, about, long_about = None)]
pub struct Cli {
    /// The local store: a directory holding indices/ and messages/.
    #[arg(long, global = true, env = "GLAUX_STORE", value_name = "DIR")]
    pub store: Option<PathBuf>,

    /// Athena database (Glue) holding the tables; the local engine uses the
    /// same name, so --explain SQL runs unchanged on either.
    #[arg(long, global = true, env = "GLAUX_DATABASE", default_value = glaux_compiler::layout::DEFAULT_DATABASE)]
    pub database: String,

    /// Fix the clock at this instant (RFC 3339) instead of the system time;
    /// for reproducible output.
    #[arg(long, global = true, hide = true, value_name = "TIME")]
    pub now: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the interactive REPL (the default).
    Repl,
    /// Create a demo store with a day of generated sample logs ending now, and
    /// open the REPL on it.
    Demo(DemoArgs),
    /// Read log files (CloudTrail, NDJSON, text lines; gzip or not) into the store.
    Ingest(IngestArgs),
    /// Run one query and print the matching records.
    Query(QueryArgs),
    /// Print Athena DDL for the two tables, with partition projection on dt.
    Ddl(DdlArgs),
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to put the demo (raw sample logs and the store). Recreated each
    /// time; glaux refuses to touch a directory it did not create.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Create the demo and exit, without opening the REPL.
    #[arg(long)]
    pub no_repl: bool,
    /// Multiply the amount of sample data (for benchmarks).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub scale: u32,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Tag stored with every record (default: cloudtrail, json or text, by format).
    #[arg(long)]
    pub tag: Option<String>,
    /// Dotted path of the time field in JSON records (default: eventTime,
    /// @timestamp, timestamp, time, ts — the first present).
    #[arg(long, value_name = "FIELD")]
    pub time_field: Option<String>,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0, hide_default_value = true)]
    pub workers: usize,
    /// Files or directories (walked) to read.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// The time window of a search.
#[derive(Debug, Args, Clone, Default)]
pub struct WindowArgs {
    /// Search the last DURATION (`30s`, `15m`, `1h`, `2d`, `1w`).
    /// Without --since/--from/--to, the window is the last 24 hours.
    #[arg(long, value_name = "DURATION", conflicts_with_all = ["from", "to"])]
    pub since: Option<String>,
    /// Start of the window (RFC 3339, or a UTC date/time like 2024-05-01T10:00).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// End of the window, exclusive (default: now; with --to alone, the
    /// window is the 24 hours before it).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub window: WindowArgs,
    /// Most records to print, newest first; 0 means no limit.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(0..=i64::MAX as u64))]
    pub limit: u64,
    /// Output format (default: table).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Print the Athena SQL that would run, with the plan in comments; run nothing.
    #[arg(long)]
    pub explain: bool,
    /// The query, e.g. 'eventName:ConsoleLogin AND 10.0.0.1'. Several
    /// arguments are joined with spaces.
    #[arg(required = true, value_name = "QUERY", num_args = 1.., allow_hyphen_values = true)]
    pub query: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DdlArgs {
    /// S3 location of the store: s3://bucket/prefix (tables go in
    /// prefix/indices/ and prefix/messages/).
    #[arg(long, value_name = "S3_URL")]
    pub location: String,
    /// First hour the partition projection covers (YYYY-MM-DD-HH).
    #[arg(long, default_value = "2020-01-01-00", value_name = "DT")]
    pub projection_start: String,
}
