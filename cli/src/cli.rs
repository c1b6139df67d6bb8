//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::output::Format;

/// glaux: search security logs kept as Parquet, on a laptop (embedded
/// DataFusion engine) or on Amazon Athena, with a Lucene-like language.
///
/// With no command, opens the REPL on the store.
#[derive(Debug, Parser)]
#[command(name = "glaux", version, about, long_about = None, after_help = MAIN_EXAMPLES)]
pub struct Cli {
    /// The store: a directory holding indices/ and messages/, or
    /// s3://bucket/prefix (for ingest, ddl and the Athena engine).
    #[arg(long, global = true, value_name = "DIR|S3_URL")]
    pub store: Option<String>,

    /// Athena database (Glue) holding the tables; the local engine uses the
    /// same name, so --explain SQL runs unchanged on either [default: glaux].
    #[arg(long, global = true)]
    pub database: Option<String>,

    /// Where searches run [default: local].
    #[arg(long, global = true, value_enum, help_heading = "Engine")]
    pub engine: Option<crate::config::EngineKind>,

    /// AWS profile from ~/.aws/config (otherwise AWS_PROFILE or `default`).
    #[arg(long, global = true, help_heading = "AWS")]
    pub profile: Option<String>,

    /// AWS region (otherwise AWS_REGION or the profile's).
    #[arg(long, global = true, help_heading = "AWS")]
    pub region: Option<String>,

    /// Send every AWS call to this URL (a VPC endpoint, LocalStack, moto).
    #[arg(long, global = true, value_name = "URL", help_heading = "AWS")]
    pub endpoint_url: Option<String>,

    /// Attempts per AWS call; throttling and transient errors are retried
    /// with jittered backoff [default: 6].
    #[arg(long, global = true, value_name = "N", help_heading = "AWS")]
    pub max_attempts: Option<String>,

    /// Athena workgroup [default: primary].
    #[arg(long, global = true, help_heading = "Athena")]
    pub workgroup: Option<String>,

    /// Athena data catalog [default: AwsDataCatalog].
    #[arg(long, global = true, help_heading = "Athena")]
    pub catalog: Option<String>,

    /// s3:// prefix for Athena's result files (otherwise the workgroup's).
    #[arg(long, global = true, value_name = "S3_URL", help_heading = "Athena")]
    pub output_location: Option<String>,

    /// Reuse Athena's result of the same SQL up to this many minutes old
    /// (0: off, the default).
    #[arg(long, global = true, value_name = "MINUTES", help_heading = "Athena")]
    pub reuse_minutes: Option<String>,

    /// USD per TB scanned, for the cost in the footer [default: 5].
    #[arg(long, global = true, value_name = "USD", help_heading = "Athena")]
    pub price_per_tb: Option<String>,

    /// Config file [default: $XDG_CONFIG_HOME/glaux/config.toml; env GLAUX_CONFIG].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Fix the clock at this instant (RFC 3339) instead of the system time;
    /// for reproducible output.
    #[arg(long, global = true, hide = true, value_name = "TIME")]
    pub now: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// The settings given as flags, by config key.
    pub fn setting_flags(&self) -> std::collections::BTreeMap<&'static str, String> {
        let mut m = std::collections::BTreeMap::new();
        let mut put = |k: &'static str, v: Option<String>| {
            if let Some(v) = v {
                m.insert(k, v);
            }
        };
        put("engine", self.engine.map(|e| e.to_string()));
        put("store", self.store.clone());
        put("database", self.database.clone());
        put("profile", self.profile.clone());
        put("region", self.region.clone());
        put("endpoint_url", self.endpoint_url.clone());
        put("max_attempts", self.max_attempts.clone());
        put("workgroup", self.workgroup.clone());
        put("catalog", self.catalog.clone());
        put("output_location", self.output_location.clone());
        put("reuse_minutes", self.reuse_minutes.clone());
        put("price_per_tb", self.price_per_tb.clone());
        m
    }
}

const MAIN_EXAMPLES: &str = "\
Examples:
  glaux demo                                   sample data and the REPL, no AWS needed
  glaux --store ./store ingest ~/logs/         read logs into a local store
  glaux --store ./store                        the REPL on it
  glaux --store ./store query --since 2h 'eventName:ConsoleLogin AND 10.0.0.1'
  glaux --engine athena query -f hunt.glaux    a saved search, on Athena
  glaux completions bash > ~/.local/share/bash-completion/completions/glaux

Exit status:
  0  success (a search returned at least one record)
  1  a search returned no record
  2  an error: a bad query or argument, a failed run, objects not ingested
  130  interrupted (Ctrl-C)

Settings: flags > GLAUX_* env > ~/.config/glaux/config.toml > defaults
(`glaux config` shows them). Docs: docs/language.md, docs/repl.md, docs/athena.md.";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the interactive REPL (the default).
    #[command(
        after_help = "Examples:\n  glaux --store ./store repl\n  glaux --engine athena          the REPL on Athena\n\nIn the REPL, \\help lists the backslash commands."
    )]
    Repl,
    /// Create a demo store with a day of generated sample logs ending now, and
    /// open the REPL on it.
    #[command(
        after_help = "Examples:\n  glaux demo\n  glaux demo --dir /tmp/glaux-demo --no-repl\n  glaux demo --scale 100 --no-repl      290,000 records, for benchmarks"
    )]
    Demo(DemoArgs),
    /// Read log files (CloudTrail, NDJSON, text lines; gzip or not) into the store.
    #[command(
        after_help = "Examples:\n  glaux --store ./store ingest ~/logs/cloudtrail/ app.ndjson.gz\n  glaux --store ./store ingest --tag nginx --time-field time /var/log/nginx/\n  glaux --store s3://my-glaux/store ingest s3://my-trail/AWSLogs/123456789012/CloudTrail/\n\nRe-ingesting an object replaces its records; nothing is duplicated. An object stored already as it is (same bytes, same --tag and --time-field) is skipped.\nExit status 2 if any object could not be read (each is listed)."
    )]
    Ingest(IngestArgs),
    /// Run one query and print the matching records.
    #[command(
        after_help = "Examples:\n  glaux query --since 2h 'userIdentity.userName:alice AND NOT eventName:Describe*'\n  glaux query --from 2024-05-01 --to 2024-05-02 --format ndjson '\"failed password\"'\n  glaux query --explain 'sourceIPAddress:10.0.0.0/8'\n  glaux query -f hunt.glaux              the query from a file (# starts a comment line)\n  echo 'errorCode:*' | glaux query -     the query from stdin\n\nExit status: 0 records found, 1 none, 2 error, 130 interrupted."
    )]
    Query(QueryArgs),
    /// Print Athena DDL for the three tables, with partition projection
    /// (--apply runs it on Athena).
    #[command(
        after_help = "Examples:\n  glaux ddl --location s3://my-glaux/store\n  glaux --store s3://my-glaux/store --output-location s3://my-results/ ddl --apply"
    )]
    Ddl(DdlArgs),
    /// Print the settings in effect and where each came from (flag, env,
    /// config file, default), as TOML that can seed a config file.
    #[command(
        after_help = "Examples:\n  glaux config\n  glaux config > ~/.config/glaux/config.toml"
    )]
    Config,
    /// Merge each partition's small files (one per object and hour) into
    /// one sorted file per table and hour; safe to interrupt, safe to rerun.
    #[command(
        after_help = "Examples:\n  glaux --store ./store compact\n  glaux --store s3://my-glaux/store compact\n\nA killed run loses and duplicates nothing (the next run cleans up).\nLocally (Linux) readers never see a half-compacted hour; on S3 the\nmerged file is written before the small ones are deleted, and searches\nreturn a record found in both once. See docs/storage.md."
    )]
    Compact,
    /// Generate logs at benchmark scale with planted needles of known
    /// frequency (CloudTrail, VPC flow, ALB, app NDJSON) and a manifest.
    #[command(
        after_help = "Examples:\n  glaux gen --out /data/bench                     5,000,000 records over 30 days\n  glaux gen --out /tmp/small --events 100000 --days 2\n\nWrites OUT/raw/... (the logs) and OUT/manifest.json (counts, needles).\nThe same options always give the same bytes."
    )]
    Gen(GenArgs),
    /// Benchmark glaux against the naive Athena query and ripgrep on a
    /// `glaux gen` data set (ingests it first when its store is missing).
    #[command(
        after_help = "Examples:\n  glaux gen --out /data/bench && glaux bench --data /data/bench\n  glaux bench --data /tmp/small --repeats 1\n  glaux bench --data /data/bench --compact     searches after compaction\n  glaux bench --data /data/bench --class rare  only the classes named \"rare …\"\n\nPrints a markdown report; exit status 2 if any result disagrees."
    )]
    Bench(BenchArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  glaux completions bash > ~/.local/share/bash-completion/completions/glaux\n  glaux completions zsh > ~/.zfunc/_glaux\n  glaux completions fish > ~/.config/fish/completions/glaux.fish"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct GenArgs {
    /// Directory to write (`raw/` and `manifest.json`).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Records in all.
    #[arg(long, default_value_t = 5_000_000)]
    pub events: u64,
    /// Days the records span, ending at --end.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub days: u32,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// End of the period (exclusive), RFC 3339.
    #[arg(long, default_value = "2024-05-01T00:00:00Z")]
    pub end: String,
    /// Writer threads (default: one per core).
    #[arg(long, default_value_t = 0, hide_default_value = true)]
    pub threads: usize,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A `glaux gen` output directory.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// The store to ingest into and search (default: DATA/store).
    #[arg(long = "bench-store", value_name = "DIR")]
    pub bench_store: Option<PathBuf>,
    /// Runs per measurement; the best is kept.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Ingest workers (default: one per core).
    #[arg(long, default_value_t = 0, hide_default_value = true)]
    pub workers: usize,
    /// Compact the store (`glaux compact`) before searching.
    #[arg(long)]
    pub compact: bool,
    /// Only the query classes whose name contains TEXT (repeatable;
    /// default: every class).
    #[arg(long = "class", value_name = "TEXT")]
    pub classes: Vec<String>,
    /// Also time the newest N records of the 1 % needle fetched by key
    /// against the join that replaces the fetch past 1,000 keys, for each
    /// N given (comma-separated: 1000,2000,5000).
    #[arg(
        long = "fetch-keys",
        value_name = "N,…",
        value_delimiter = ',',
        value_parser = clap::value_parser!(u64).range(1..=100_000)
    )]
    pub fetch_keys: Vec<u64>,
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
    /// S3 objects fetched at once when reading from s3://.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
    /// Files or directories (walked), or s3://bucket/prefix (every object
    /// under it, CloudTrail's AWSLogs/ layout included), to read.
    #[arg(required = true, value_name = "PATH|S3_URL")]
    pub paths: Vec<String>,
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
    /// A field no record in the store has is an error (exit 2), not a
    /// warning whose clause matches nothing.
    #[arg(long)]
    pub strict: bool,
    /// Read the query from FILE (`-`: stdin). Lines whose first non-blank
    /// character is `#` are comments.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        conflicts_with = "query"
    )]
    pub file: Option<PathBuf>,
    /// The query, e.g. 'eventName:ConsoleLogin AND 10.0.0.1'. Several
    /// arguments are joined with spaces; `-` alone reads it from stdin.
    #[arg(
        value_name = "QUERY",
        num_args = 1..,
        allow_hyphen_values = true,
        required_unless_present = "file"
    )]
    pub query: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DdlArgs {
    /// S3 location of the store: s3://bucket/prefix (tables go in
    /// prefix/indices/ and prefix/messages/) [default: --store, if on S3].
    #[arg(long, value_name = "S3_URL")]
    pub location: Option<String>,
    /// Run the statements on Athena (CREATE DATABASE, then the three tables)
    /// instead of printing them.
    #[arg(long)]
    pub apply: bool,
    /// First hour the partition projection covers (YYYY-MM-DD-HH).
    #[arg(long, default_value = "2020-01-01-00", value_name = "DT")]
    pub projection_start: String,
}
