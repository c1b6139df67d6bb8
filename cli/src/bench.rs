//! `glaux gen` and `glaux bench`: the benchmark anyone can rerun.
//!
//! `gen` writes logs at scale with planted needles (see
//! `glaux_samples::scale`) and a `manifest.json` saying exactly how many
//! records carry each needle. `bench` ingests them (once), then runs each
//! query class over three windows (one hour, one day, all time) three
//! ways, all measured in the same run:
//!
//! - **glaux**: the compiled SQL on the embedded engine, with the REPL's
//!   default limit; bytes read are DataFusion's `bytes_scanned` metric;
//! - **naive**: what an Athena user writes by hand over the message table
//!   (`WHERE dt … AND lower(message) LIKE '%term%'`, same order and limit);
//! - **ripgrep** over the raw files of the window (`rg -z`, the files
//!   picked by the dates in their paths, as a grep user would), when `rg`
//!   is installed — the no-index baseline.
//!
//! The counts (without a limit) must agree, and for needles match the
//! manifest, so a fast wrong answer is caught. glaux's count is its
//! export as one statement ([`glaux_compiler::Compiled::join`]).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use chrono::{DateTime, Utc};
use glaux_compiler::plan::Rows;
use glaux_compiler::sql::string_literal;
use glaux_compiler::window::partition_of;
use glaux_compiler::{CompileOptions, WindowSpec, compile};
use glaux_local_engine::{LocalEngine, ScanStats};
use glaux_samples::scale::{Kind, Manifest};
use glaux_store::{IngestOptions, Store};

/// One query class: the glaux query, the hand-written predicate over
/// `message`, the ripgrep arguments, and what the count must be.
#[derive(Debug, Clone)]
pub struct Class {
    pub name: &'static str,
    pub query: String,
    /// A SQL predicate over `message` (the naive Athena query).
    pub naive: String,
    /// ripgrep pattern arguments (`-F X`, `-e RE`…); `None`: grep cannot
    /// express it per record.
    pub rg: Option<Vec<String>>,
    /// The all-time count the manifest promises, for needle classes.
    pub expected: Option<u64>,
}

fn like(text: &str) -> String {
    format!(
        "lower(message) LIKE {}",
        string_literal(&format!("%{text}%"))
    )
}

/// The query classes of the benchmark, with the manifest's counts.
pub fn classes(m: &Manifest) -> Vec<Class> {
    let count = |name: &str| m.needle(name).map(|n| n.records);
    let token = |name: &str| m.needle(name).map(|n| n.token.clone()).unwrap_or_default();
    let (once, rare, pct1, pct30) = (token("once"), token("rare"), token("pct1"), token("pct30"));
    let ct_pct1 = m
        .needle("pct1")
        .and_then(|n| n.by_kind.get(&Kind::CloudTrail).copied());
    // A needle alone: the query, `LIKE` and ripgrep's whole-word match all
    // look for the same token.
    let term = |name, needle: &str| {
        let t = token(needle);
        Class {
            name,
            query: t.clone(),
            naive: like(&t),
            rg: Some(vec!["-w".to_string(), "-F".into(), t]),
            expected: count(needle),
        }
    };
    vec![
        term("term in one record", "once"),
        term("rare term (0.01 %)", "rare"),
        term("common term (30 %)", "pct30"),
        Class {
            name: "field:value (1 % of CloudTrail)",
            query: format!("sourceIPAddress:{pct1}"),
            naive: format!(
                "message LIKE {}",
                string_literal(&format!("%\"sourceIPAddress\":\"{pct1}\"%"))
            ),
            rg: Some(vec!["-F".into(), format!("\"sourceIPAddress\":\"{pct1}\"")]),
            expected: ct_pct1,
        },
        Class {
            name: "rare AND common",
            query: format!("{rare} AND {pct30}"),
            naive: format!("{} AND {}", like(&rare), like(&pct30)),
            rg: None,
            expected: None,
        },
        Class {
            name: "OR of two rare terms",
            query: format!("{once} OR {rare}"),
            naive: format!("({} OR {})", like(&once), like(&rare)),
            rg: Some(vec![
                "-w".into(),
                "-F".into(),
                "-e".into(),
                once.clone(),
                "-e".into(),
                rare.clone(),
            ]),
            expected: count("once").zip(count("rare")).map(|(a, b)| a + b),
        },
        Class {
            name: "phrase",
            query: "\"failed password\"".into(),
            naive: like("failed password"),
            rg: Some(vec!["-i".into(), "-F".into(), "failed password".into()]),
            expected: None,
        },
        Class {
            name: "prefix wildcard",
            query: "eventName:Describe*".into(),
            naive: format!(
                "message LIKE {}",
                string_literal("%\"eventName\":\"Describe%")
            ),
            rg: Some(vec!["-F".into(), "\"eventName\":\"Describe".into()]),
            expected: None,
        },
        Class {
            name: "negation",
            query: format!("{pct1} AND NOT {pct30}"),
            naive: format!("{} AND NOT {}", like(&pct1), like(&pct30)),
            rg: None,
            expected: None,
        },
        Class {
            name: "numeric range",
            query: "latency_ms:[990 TO *]".into(),
            naive: format!(
                "regexp_like(message, {})",
                string_literal("\"latency_ms\":99[0-9][,}]")
            ),
            rg: Some(vec!["-e".into(), "\"latency_ms\":99[0-9][,}]".into()]),
            expected: None,
        },
        Class {
            name: "CIDR block",
            query: "198.18.0.0/30".into(),
            naive: format!(
                "regexp_like(message, {})",
                string_literal("(^|[^0-9.])198\\.18\\.0\\.[0-3]([^0-9.]|$)")
            ),
            rg: Some(vec![
                "-w".into(),
                "-e".into(),
                "198\\.18\\.0\\.[0-3]".into(),
            ]),
            expected: ["once", "rare", "pct1"]
                .iter()
                .map(|n| count(n))
                .sum::<Option<u64>>(),
        },
    ]
}

/// A window of the benchmark.
#[derive(Debug, Clone)]
pub struct Window {
    pub name: &'static str,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// One hour and one day in the middle of the data, and all of it.
pub fn windows(m: &Manifest) -> Vec<Window> {
    let t = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .expect("manifest times are RFC 3339")
            .with_timezone(&Utc)
    };
    let (start, end) = (t(&m.start), t(&m.end));
    let mid_day = start + chrono::Duration::days(i64::from(m.days / 2));
    let hour = mid_day + chrono::Duration::hours(12);
    vec![
        Window {
            name: "1 hour",
            from: hour,
            to: hour + chrono::Duration::hours(1),
        },
        Window {
            name: "1 day",
            from: mid_day,
            to: mid_day + chrono::Duration::days(1),
        },
        Window {
            name: "all",
            from: start,
            to: end,
        },
    ]
}

/// The naive query for `class` over `window`.
pub fn naive_sql(class: &Class, w: &Window, limit: Option<u64>) -> String {
    let limit = limit.map(|l| format!("\nLIMIT {l}")).unwrap_or_default();
    format!(
        "SELECT time_ms, tag, object, seq, message\nFROM glaux.messages\nWHERE dt >= {} AND dt <= {}\n  AND time_ms >= {} AND time_ms < {}\n  AND {}\nORDER BY time_ms DESC{limit}",
        string_literal(&partition_of(w.from)),
        string_literal(&partition_of(w.to - chrono::Duration::milliseconds(1))),
        w.from.timestamp_millis(),
        w.to.timestamp_millis(),
        class.naive
    )
}

/// Path globs selecting the raw files of `window` by the dates in their
/// names (hour or day precision), as someone grepping would.
pub fn rg_globs(w: &Window) -> Vec<String> {
    let hours = (w.to - w.from).num_hours();
    if hours >= 24 * 7 {
        return Vec::new(); // all files
    }
    let mut globs = Vec::new();
    let mut t = w.from;
    while t < w.to {
        if hours >= 24 {
            globs.push(format!("**/{}/**", t.format("%Y/%m/%d")));
            t += chrono::Duration::days(1);
        } else {
            globs.push(format!("**/*{}*", t.format("%Y%m%dT%H")));
            globs.push(format!("**/{}/**", t.format("%Y/%m/%d/%H")));
            t += chrono::Duration::hours(1);
        }
    }
    globs
}

/// A measured run: best wall time of the repeats, bytes read, rows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Measured {
    pub wall: Duration,
    pub bytes: u64,
    pub rows: u64,
}

/// Where the benchmark's inputs and store are.
#[derive(Debug, Clone)]
pub struct BenchPaths {
    pub data: PathBuf,
    pub store: PathBuf,
}

impl BenchPaths {
    pub fn raw(&self) -> PathBuf {
        self.data.join("raw")
    }
    pub fn manifest(&self) -> PathBuf {
        self.data.join("manifest.json")
    }
}

/// Reads `DIR/manifest.json`.
pub fn read_manifest(path: &Path) -> Result<Manifest, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: {e} (run `glaux gen` first)", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Manifest::from_json(&v).ok_or_else(|| format!("{}: not a glaux gen manifest", path.display()))
}

/// The `.parquet` files under `dir`, and the bytes of every file there.
fn files_under(dir: &Path) -> (u64, u64) {
    let (mut parquet, mut bytes) = (0, 0);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).into_iter().flatten().flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            bytes += e.metadata().map(|m| m.len()).unwrap_or(0);
            if path.extension().is_some_and(|x| x == "parquet") {
                parquet += 1;
            }
        }
    }
    (parquet, bytes)
}

/// What `glaux bench` runs besides its data (the command line's options).
#[derive(Debug, Clone)]
pub struct Options {
    /// Only the classes whose name contains one of these (empty: all).
    pub only: Vec<String>,
    /// Runs per measurement; the best is kept.
    pub repeats: usize,
    /// Ingest workers (0: one per core).
    pub workers: usize,
    /// Compact the store before searching.
    pub compact: bool,
    /// Key counts to time a fetch by key against the join at
    /// ([`fetch_against_join`]); empty: not measured.
    pub fetch_keys: Vec<u64>,
}

/// Runs the benchmark; writes its report (markdown) to `out`.
pub fn run(paths: &BenchPaths, options: &Options, out: &mut dyn Write) -> Result<(), String> {
    let Options {
        only,
        repeats,
        workers,
        compact,
        fetch_keys,
    } = options;
    let (repeats, compact) = (*repeats, *compact);
    let manifest = read_manifest(&paths.manifest())?;
    let picked: Vec<Class> = classes(&manifest)
        .into_iter()
        .filter(|c| only.is_empty() || only.iter().any(|o| c.name.contains(o.as_str())))
        .collect();
    if picked.is_empty() {
        return Err(format!("no query class is named like {only:?}"));
    }
    let store = Store::new(&paths.store);
    let io = |e: std::io::Error| e.to_string();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = if *workers == 0 { cores } else { *workers };

    writeln!(out, "# glaux bench").map_err(io)?;
    writeln!(
        out,
        "\n{} records over {} days ({} .. {}), seed {}; {} files, {:.1} MB of log text, {:.1} MB as written (gzip but the app log).",
        manifest.events,
        manifest.days,
        manifest.start,
        manifest.end,
        manifest.seed,
        manifest.files,
        mb(manifest.raw_bytes),
        mb(manifest.written_bytes)
    )
    .map_err(io)?;
    writeln!(
        out,
        "Machine: {cores} cores ({}), {} repeats per measurement, best kept.",
        std::env::consts::ARCH,
        repeats
    )
    .map_err(io)?;

    // Ingest, once (a store that exists is reused).
    if !paths.store.join("messages").exists() {
        let started = Instant::now();
        let report = glaux_store::ingest(
            &store,
            &[paths.raw()],
            &IngestOptions {
                workers,
                ..IngestOptions::default()
            },
        )
        .map_err(io)?;
        let secs = started.elapsed().as_secs_f64();
        if !report.failed.is_empty() {
            return Err(format!("{} objects failed to ingest", report.failed.len()));
        }
        writeln!(
            out,
            "\n## Ingest\n\n{} records in {secs:.1} s with {workers} workers: {:.1} MB/s of log text, {:.1} MB/s per worker.",
            report.records,
            mb(manifest.raw_bytes) / secs,
            mb(manifest.raw_bytes) / secs / workers as f64
        )
        .map_err(io)?;
    } else {
        writeln!(
            out,
            "\n## Ingest\n\nStore {} exists; not re-ingested (delete it to measure ingest).",
            paths.store.display()
        )
        .map_err(io)?;
    }
    if compact {
        let started = Instant::now();
        let report = glaux_store::compact::compact(&store, &|_| {}).map_err(io)?;
        writeln!(
            out,
            "\nCompacted in {:.1} s: {} partition directories, {} files -> {}.",
            started.elapsed().as_secs_f64(),
            report.partitions,
            report.files_before,
            report.files_after
        )
        .map_err(io)?;
    }
    let (index_files, index) = files_under(&store.index_dir());
    let (message_files, messages) = files_under(&store.message_dir());
    let (hours_files, hours) = files_under(&store.hours_dir());
    let (values_files, values) = files_under(&store.values_dir());
    let files = index_files + message_files + hours_files + values_files;
    let total = index + messages + hours + values;
    writeln!(out, "\nParquet files in the store: {files}.").map_err(io)?;
    writeln!(
        out,
        "\nStore: index {:.1} MB + messages {:.1} MB + token-hours {:.1} MB + field-values {:.1} MB = {:.1} MB; log text {:.1} MB, as written {:.1} MB (store / text = {:.2}, store / written = {:.2}).",
        mb(index),
        mb(messages),
        mb(hours),
        mb(values),
        mb(total),
        mb(manifest.raw_bytes),
        mb(manifest.written_bytes),
        total as f64 / manifest.raw_bytes.max(1) as f64,
        total as f64 / manifest.written_bytes.max(1) as f64,
    )
    .map_err(io)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(io)?;
    let engine = runtime
        .block_on(LocalEngine::open(&store, "glaux"))
        .map_err(|e| e.to_string())?;
    let rg = Command::new("rg").arg("--version").output().is_ok();
    let end = DateTime::parse_from_rfc3339(&manifest.end)
        .map_err(|e| e.to_string())?
        .with_timezone(&Utc);

    writeln!(
        out,
        "\n## Searches\n\nglaux and naive: first 100 records, newest first (what the REPL shows); ripgrep: every match. Bytes: read from Parquet (DataFusion's scan metrics). Counts: without a limit.\n\n| class | window | glaux bytes | naive bytes | bytes ratio | glaux s | naive s | rg s | glaux/rg | count glaux / naive / rg / expected | agree |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|"
    )
    .map_err(io)?;
    let mut disagreements = 0;
    // What glaux's scans did over all time, per class, for the section
    // after the table.
    let mut scans = Vec::new();
    for class in &picked {
        for w in windows(&manifest) {
            // A --bench-store written by an older glaux has no hours table.
            let options = |limit| over(&w, end, limit, store.has_hours_table());
            let compiled = compile_bench(&class.query, &options(Some(100)))?;
            let counted = compile_bench(&class.query, &options(None))?;
            let (glaux, scan, each) =
                measure(&runtime, &engine, Search::Glaux(&compiled), repeats)?;
            if w.name == "all" {
                scans.push((class.name, scan, each));
            }
            let (naive, _, _) = measure(
                &runtime,
                &engine,
                Search::Sql(&naive_sql(class, &w, Some(100))),
                repeats,
            )?;
            // Counted by glaux's one-statement form of the export (the join
            // it runs past `max_keys` keys), wrapped in `count(*)`: the
            // fetch by key of an export is pinned against the reference by
            // tests/differential.rs, and counting through it would read
            // every matching message back.
            let one_statement = counted.join.as_ref().unwrap_or(&counted.sql);
            let glaux_count = count(&runtime, &engine, one_statement)?;
            let naive_count = count(&runtime, &engine, &naive_sql(class, &w, None))?;
            let rg_run = match (&class.rg, rg) {
                (Some(args), true) => Some(ripgrep(&paths.raw(), args, &rg_globs(&w), repeats)?),
                _ => None,
            };
            let expected = class.expected.filter(|_| w.name == "all");
            let mut counts = vec![glaux_count, naive_count];
            counts.extend(rg_run.map(|r| r.rows));
            counts.extend(expected);
            let agree = counts.windows(2).all(|p| p[0] == p[1]);
            if !agree {
                disagreements += 1;
            }
            let show = |v: Option<u64>| v.map_or("–".to_string(), |v| v.to_string());
            writeln!(
                out,
                "| {} | {} | {} | {} | {:.4} | {:.3} | {:.3} | {} | {} | {} / {} / {} / {} | {} |",
                class.name,
                w.name,
                glaux.bytes,
                naive.bytes,
                glaux.bytes as f64 / naive.bytes.max(1) as f64,
                glaux.wall.as_secs_f64(),
                naive.wall.as_secs_f64(),
                rg_run.map_or("–".into(), |r| format!("{:.3}", r.wall.as_secs_f64())),
                rg_run.map_or("–".into(), |r| format!(
                    "{:.3}",
                    glaux.wall.as_secs_f64() / r.wall.as_secs_f64().max(1e-9)
                )),
                glaux_count,
                naive_count,
                show(rg_run.map(|r| r.rows)),
                show(expected),
                if agree { "yes" } else { "**NO**" },
            )
            .map_err(io)?;
            out.flush().map_err(io)?;
        }
    }
    if !rg {
        writeln!(out, "\n(ripgrep `rg` is not installed: no grep baseline.)").map_err(io)?;
    }
    writeln!(
        out,
        "\n## Where glaux's bytes go (all time)\n\nBytes by statement (docs/engines.md, \"Find, then fetch\"), and DataFusion's pruning counts for glaux's SQL, summed over its scans (total → kept).\n\n| class | bytes | by statement | pruning |\n|---|---:|---|---|"
    )
    .map_err(io)?;
    for (name, scan, each) in &scans {
        writeln!(
            out,
            "| {} | {} | {} | {} |",
            name,
            scan.bytes,
            each,
            scan.pruning_summary()
        )
        .map_err(io)?;
    }
    writeln!(
        out,
        "\n## Compile time (text to SQL), {COMPILE_RUNS} runs per class\n\n| class | query | p50 µs | p99 µs |\n|---|---|---:|---:|"
    )
    .map_err(io)?;
    for class in &picked {
        let (p50, p99) = compile_percentiles(&class.query, end)?;
        writeln!(
            out,
            "| {} | `{}` | {:.1} | {:.1} |",
            class.name, class.query, p50, p99
        )
        .map_err(io)?;
    }
    if only.is_empty() || only.iter().any(|o| "stats".contains(o.as_str())) {
        let runs = (&runtime, &engine, repeats);
        disagreements += stages_against_hand_written(runs, &manifest, &store, out)?;
    }
    if !fetch_keys.is_empty() {
        let hours_table = store.has_hours_table();
        let runs = (&runtime, &engine, repeats);
        disagreements += fetch_against_join(runs, &manifest, hours_table, fetch_keys, out)?;
    }
    if disagreements > 0 {
        return Err(format!(
            "{disagreements} measurements disagree (see the tables)"
        ));
    }
    Ok(())
}

/// `--fetch-keys`: the newest `n` records of the 1 % needle over all
/// time, fetched by key (the finds, then `n` keys' messages) and by the
/// join that replaces the fetch past [`glaux_compiler::plan::MAX_KEYS`]
/// (the same finds' index scan, joined to the window's messages), for
/// each `n`: what the bound should be is where the fetch stops being the
/// cheaper. Returns how many sizes' row counts disagree.
fn fetch_against_join(
    (runtime, engine, repeats): (&tokio::runtime::Runtime, &LocalEngine, usize),
    manifest: &Manifest,
    hours_table: bool,
    sizes: &[u64],
    out: &mut dyn Write,
) -> Result<usize, String> {
    let io = |e: std::io::Error| e.to_string();
    let needle = manifest
        .needle("pct1")
        .ok_or("the manifest has no 1 % needle")?;
    let Some(all) = windows(manifest).into_iter().find(|w| w.name == "all") else {
        unreachable!("windows() has all time");
    };
    writeln!(
        out,
        "\n## Fetch by key against the join, by keys\n\nThe newest N records of the 1 % needle (`{}`, {} records) over all time: the search as it runs with N keys fetched by key, and the join that replaces the fetch past `max_keys` (one statement). Wall time is the best of {repeats}.\n\n| keys | fetch s | fetch MB | by statement | join s | join MB | fetch / join s | fetch / join bytes | rows fetch / join |\n|---:|---:|---:|---|---:|---:|---:|---:|---|",
        needle.token, needle.records,
    )
    .map_err(io)?;
    let mut disagreements = 0;
    for &n in sizes {
        let compiled = |max_keys| {
            let options = CompileOptions {
                max_keys,
                ..over(&all, all.to, Some(n), hours_table)
            };
            compile_bench(&needle.token, &options)
        };
        let fetching = compiled(n)?;
        let joining = compiled(n.saturating_sub(1))?;
        let join = joining
            .join
            .as_deref()
            .ok_or("a search past max_keys has its join")?;
        let (fetch, _, each) = measure(runtime, engine, Search::Glaux(&fetching), repeats)?;
        let (joined, _, _) = measure(runtime, engine, Search::Sql(join), repeats)?;
        let agree = fetch.rows == joined.rows;
        if !agree {
            disagreements += 1;
        }
        let (f, j) = (fetch.wall.as_secs_f64(), joined.wall.as_secs_f64());
        writeln!(
            out,
            "| {n} | {f:.3} | {:.2} | {each} | {j:.3} | {:.2} | {:.2} | {:.2} | {} / {}{} |",
            mb(fetch.bytes),
            mb(joined.bytes),
            f / j.max(1e-9),
            fetch.bytes as f64 / joined.bytes.max(1) as f64,
            fetch.rows,
            joined.rows,
            if agree { "" } else { " **NO**" },
        )
        .map_err(io)?;
        out.flush().map_err(io)?;
    }
    Ok(disagreements)
}

/// The stage queries of the benchmark over one day: `stats count() by
/// eventName` of every record against the hand-written Athena query that
/// extracts the field from each message, and of a 1 % needle against the
/// same search without the stage (as the REPL runs it, and exported whole).
/// The answers are compared with the hand-written query's. Returns how many
/// disagree.
fn stages_against_hand_written(
    (runtime, engine, repeats): (&tokio::runtime::Runtime, &LocalEngine, usize),
    manifest: &Manifest,
    store: &Store,
    out: &mut dyn Write,
) -> Result<usize, String> {
    let io = |e: std::io::Error| e.to_string();
    if !store.has_values_table() {
        writeln!(
            out,
            "\n## Stages\n\nThe store has no field-values table (an older glaux wrote it): not measured."
        )
        .map_err(io)?;
        return Ok(0);
    }
    let Some(day) = windows(manifest).into_iter().find(|w| w.name == "1 day") else {
        unreachable!("windows() has a day");
    };
    let pct1 = manifest
        .needle("pct1")
        .ok_or("the manifest has no 1 % needle")?
        .token
        .clone();
    let options = |limit| CompileOptions {
        values_table: true,
        ..over(&day, day.to, limit, store.has_hours_table())
    };
    let hand_written = |predicate: &str| {
        format!(
            "SELECT json_extract_scalar(message, '$.eventName') AS k, count(*) AS n\nFROM glaux.messages\nWHERE dt >= {} AND dt <= {}\n  AND time_ms >= {} AND time_ms < {}\n  AND json_extract_scalar(message, '$.eventName') IS NOT NULL{predicate}\nGROUP BY 1",
            string_literal(&partition_of(day.from)),
            string_literal(&partition_of(day.to - chrono::Duration::milliseconds(1))),
            day.from.timestamp_millis(),
            day.to.timestamp_millis(),
        )
    };
    let needle_like = format!(
        "\n  AND message LIKE {}",
        string_literal(&format!("%\"sourceIPAddress\":\"{pct1}\"%"))
    );
    writeln!(
        out,
        "\n## Stages (one day)\n\nglaux's stage against the hand-written Athena query (`json_extract_scalar` over every message of the window), and a selective stage against its search without the stage, as the REPL runs it (first 100 records) and exported whole. Answers: glaux's groups and counts against the hand-written query's.\n\n| query | glaux bytes | baseline | baseline bytes | bytes ratio | glaux s | baseline s | groups glaux / hand-written | agree |\n|---|---:|---|---:|---:|---:|---:|---|---|"
    )
    .map_err(io)?;
    let mut disagreements = 0;
    let every = "* | stats count() by eventName".to_string();
    let selective = format!("sourceIPAddress:{pct1} | stats count() by eventName");
    let search = format!("sourceIPAddress:{pct1}");
    let cases: [(&str, &str, &str); 3] = [
        (&every, "hand-written", ""),
        (&selective, "search, first 100", &needle_like),
        (&selective, "search, exported", &needle_like),
    ];
    for (i, (query, baseline, predicate)) in cases.into_iter().enumerate() {
        let compiled = compile_bench(query, &options(Some(100)))?;
        let (glaux, _, _) = measure(runtime, engine, Search::Glaux(&compiled), repeats)?;
        let expected_sql = hand_written(predicate);
        let (expected, _, _) = measure(runtime, engine, Search::Sql(&expected_sql), repeats)?;
        let base = match i {
            0 => expected,
            1 => {
                let c = compile_bench(&search, &options(Some(100)))?;
                measure(runtime, engine, Search::Glaux(&c), repeats)?.0
            }
            _ => {
                let c = compile_bench(&search, &options(None))?;
                measure(runtime, engine, Search::Glaux(&c), repeats)?.0
            }
        };
        let ours = groups(
            &run_once(runtime, engine, &Search::Glaux(&compiled))?.0,
            "c0",
            "c1",
        )?;
        let theirs = groups(
            &run_once(runtime, engine, &Search::Sql(&expected_sql))?.0,
            "k",
            "n",
        )?;
        let agree = ours == theirs && !ours.is_empty();
        if !agree {
            disagreements += 1;
        }
        writeln!(
            out,
            "| `{}` | {} | {baseline} | {} | {:.4} | {:.3} | {:.3} | {} / {} | {} |",
            query.replace('|', "\\|"),
            glaux.bytes,
            base.bytes,
            glaux.bytes as f64 / base.bytes.max(1) as f64,
            glaux.wall.as_secs_f64(),
            base.wall.as_secs_f64(),
            ours.len(),
            theirs.len(),
            if agree { "yes" } else { "**NO**" },
        )
        .map_err(io)?;
        out.flush().map_err(io)?;
    }
    Ok(disagreements)
}

/// The (text, count) pairs of columns `key` and `count` of `batches`,
/// sorted.
fn groups(batches: &[RecordBatch], key: &str, count: &str) -> Result<Vec<(String, i64)>, String> {
    use arrow::array::AsArray;
    use arrow::datatypes::{DataType, Int64Type};
    let mut pairs = Vec::new();
    for b in batches {
        let column = |name: &str, to: &DataType| {
            let c = b
                .column_by_name(name)
                .ok_or_else(|| format!("no column {name} in the answer"))?;
            arrow::compute::cast(c, to).map_err(|e| e.to_string())
        };
        let keys = column(key, &DataType::Utf8)?;
        let counts = column(count, &DataType::Int64)?;
        let (keys, counts) = (keys.as_string::<i32>(), counts.as_primitive::<Int64Type>());
        for i in 0..b.num_rows() {
            pairs.push((keys.value(i).to_string(), counts.value(i)));
        }
    }
    pairs.sort();
    Ok(pairs)
}

/// The options of a search over `w` at `now` with `limit`.
fn over(w: &Window, now: DateTime<Utc>, limit: Option<u64>, hours_table: bool) -> CompileOptions {
    CompileOptions {
        window: WindowSpec::Range {
            from: w.from,
            to: Some(w.to),
        },
        limit,
        hours_table,
        ..CompileOptions::at(now)
    }
}

/// `query` compiled, its error a message that names it.
fn compile_bench(
    query: &str,
    options: &CompileOptions,
) -> Result<glaux_compiler::Compiled, String> {
    compile(query, options).map_err(|e| format!("{query}: {e}"))
}

/// Compiles per class for the percentiles.
const COMPILE_RUNS: usize = 20_000;

/// p50 and p99 of compiling `query`, in microseconds, each compile timed
/// on its own (criterion, in `compiler/benches/compile.rs`, gives means).
fn compile_percentiles(query: &str, now: DateTime<Utc>) -> Result<(f64, f64), String> {
    let options = CompileOptions::at(now);
    let mut times = Vec::with_capacity(COMPILE_RUNS);
    for _ in 0..COMPILE_RUNS {
        let started = Instant::now();
        let compiled = compile(std::hint::black_box(query), &options);
        times.push(started.elapsed());
        compiled.map_err(|e| format!("{query}: {e}"))?;
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    Ok((at(0.50), at(0.99)))
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

/// What a measurement runs: glaux's search (one statement, or a find and
/// its fetch, as the REPL runs it) or one SQL statement (the naive query).
enum Search<'a> {
    Glaux(&'a glaux_compiler::Compiled),
    Sql(&'a str),
}

/// A search's rows, its scans summed, and each statement's kind and bytes.
type OneRun = (Vec<RecordBatch>, ScanStats, Vec<(Rows, u64)>);

/// Runs `search` once; the scans of all its statements summed, and each
/// statement's kind and bytes.
fn run_once(
    runtime: &tokio::runtime::Runtime,
    engine: &LocalEngine,
    search: &Search<'_>,
) -> Result<OneRun, String> {
    // Both through the same call (`run_measured`, the swap lock held), so
    // the baseline and glaux pay the same per statement.
    match search {
        Search::Sql(sql) => runtime
            .block_on(engine.run_measured(sql))
            .map(|(batches, scan)| {
                let each = vec![(Rows::Records, scan.bytes)];
                (batches, scan, each)
            })
            .map_err(|e| format!("{e}\n{sql}")),
        Search::Glaux(compiled) => {
            let ran = runtime
                .block_on(glaux_search::run_steps(
                    compiled,
                    engine,
                    &mut glaux_search::Watch::unwatched(),
                ))
                .map_err(|e| format!("{e}\n{}", compiled.sql))?;
            let mut scan = ScanStats::default();
            let mut bytes = Vec::new();
            for cost in &ran.costs {
                if let glaux_search::Cost::Local(s) = cost {
                    bytes.push(s.bytes);
                    scan.absorb(s.clone());
                }
            }
            let each = ran.rows.iter().copied().zip(bytes).collect();
            Ok((ran.batches, scan, each))
        }
    }
}

/// `hours 0.01 + 3 finds 1.20 + fetch 5.31 MB`: a search's bytes by kind
/// of statement, in the order they ran.
fn by_statement(each: &[(Rows, u64)]) -> String {
    if let [(_, bytes)] = each {
        return format!("one statement {:.3} MB", mb(*bytes));
    }
    // (one, several): a fetch split in several statements is one kind.
    let kind = |rows: Rows| match rows {
        Rows::Hours => ("hours", "hours"),
        Rows::Keys => ("find", "finds"),
        Rows::Records | Rows::SomeRecords => ("fetch", "fetches"),
        Rows::Table => ("table", "tables"),
    };
    let mut parts: Vec<((&str, &str), usize, u64)> = Vec::new();
    for &(rows, bytes) in each {
        match parts.last_mut() {
            Some((last, n, sum)) if *last == kind(rows) => {
                *n += 1;
                *sum += bytes;
            }
            _ => parts.push((kind(rows), 1, bytes)),
        }
    }
    let text = parts
        .iter()
        .map(|&((one, several), n, bytes)| {
            if n > 1 {
                format!("{n} {several} {:.3}", mb(bytes))
            } else {
                format!("{one} {:.3}", mb(bytes))
            }
        })
        .collect::<Vec<_>>()
        .join(" + ");
    format!("{text} MB")
}

/// The best of `repeats` runs of `search`, with what that run's scans did
/// and [`by_statement`].
fn measure(
    runtime: &tokio::runtime::Runtime,
    engine: &LocalEngine,
    search: Search<'_>,
    repeats: usize,
) -> Result<(Measured, ScanStats, String), String> {
    let mut best = (
        Measured {
            wall: Duration::MAX,
            ..Measured::default()
        },
        ScanStats::default(),
        String::new(),
    );
    for _ in 0..repeats.max(1) {
        let started = Instant::now();
        let (batches, scan, each) = run_once(runtime, engine, &search)?;
        let wall = started.elapsed();
        if wall < best.0.wall {
            best = (
                Measured {
                    wall,
                    bytes: scan.bytes,
                    rows: batches.iter().map(|b| b.num_rows() as u64).sum(),
                },
                scan,
                by_statement(&each),
            );
        }
    }
    Ok(best)
}

fn count(
    runtime: &tokio::runtime::Runtime,
    engine: &LocalEngine,
    sql: &str,
) -> Result<u64, String> {
    let wrapped = format!("SELECT count(*) AS n FROM (\n{sql}\n) AS q");
    let batches = runtime
        .block_on(engine.run(&wrapped))
        .map_err(|e| format!("{e}\n{wrapped}"))?;
    use arrow::array::AsArray;
    use arrow::datatypes::Int64Type;
    Ok(batches
        .first()
        .and_then(|b| b.column(0).as_primitive_opt::<Int64Type>())
        .map_or(0, |c| c.value(0).max(0) as u64))
}

/// ripgrep over the raw files (decompressing gzip), counting every match.
fn ripgrep(
    raw: &Path,
    args: &[String],
    globs: &[String],
    repeats: usize,
) -> Result<Measured, String> {
    let mut best = Measured {
        wall: Duration::MAX,
        ..Measured::default()
    };
    for _ in 0..repeats.max(1) {
        let mut c = Command::new("rg");
        c.args(["--no-config", "-z", "--count-matches", "--no-filename"]);
        for g in globs {
            c.arg("-g").arg(g);
        }
        c.args(args).arg(raw);
        let started = Instant::now();
        let out = c.output().map_err(|e| format!("rg: {e}"))?;
        let wall = started.elapsed();
        // 0 matches: exit 1 and no output; 2 is an error.
        if out.status.code() == Some(2) {
            return Err(format!(
                "rg failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let rows = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().parse::<u64>().ok())
            .sum();
        if wall < best.wall {
            best = Measured {
                wall,
                bytes: 0,
                rows,
            };
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        let v = serde_json::json!({
            "seed": 1, "events": 1000, "days": 30,
            "start": "2024-04-01T00:00:00Z", "end": "2024-05-01T00:00:00Z",
            "files": 1, "raw_bytes": 1, "written_bytes": 1,
            "records_by_kind": {"cloudtrail": 400},
            "needles": [
                {"name": "once", "token": "198.18.0.1", "records": 1, "by_kind": {}},
                {"name": "rare", "token": "198.18.0.2", "records": 2, "by_kind": {}},
                {"name": "pct1", "token": "198.18.0.3", "records": 10, "by_kind": {"cloudtrail": 4}},
                {"name": "pct30", "token": "198.18.0.4", "records": 300, "by_kind": {}}
            ]
        });
        Manifest::from_json(&v).unwrap()
    }

    #[test]
    fn naive_sql_is_the_hand_written_scan() {
        let m = manifest();
        let c = &classes(&m)[1];
        let w = &windows(&m)[0];
        insta::assert_snapshot!(naive_sql(c, w, Some(100)), @r"
        SELECT time_ms, tag, object, seq, message
        FROM glaux.messages
        WHERE dt >= '2024-04-16-12' AND dt <= '2024-04-16-12'
          AND time_ms >= 1713268800000 AND time_ms < 1713272400000
          AND lower(message) LIKE '%198.18.0.2%'
        ORDER BY time_ms DESC
        LIMIT 100
        ");
    }

    #[test]
    fn windows_and_globs_pick_the_files_of_their_dates() {
        let m = manifest();
        let w = windows(&m);
        assert_eq!(
            w.iter().map(|w| w.name).collect::<Vec<_>>(),
            ["1 hour", "1 day", "all"]
        );
        assert_eq!(rg_globs(&w[0]), ["**/*20240416T12*", "**/2024/04/16/12/**"]);
        assert_eq!(rg_globs(&w[1]), ["**/2024/04/16/**"]);
        assert!(rg_globs(&w[2]).is_empty());
    }

    #[test]
    fn bytes_by_statement_group_runs_of_one_kind() {
        let each = [
            (Rows::Hours, 10_000),
            (Rows::Keys, 1_048_576),
            (Rows::Keys, 1_048_576),
            (Rows::Records, 524_288),
        ];
        assert_eq!(
            by_statement(&each),
            "hours 0.010 + 2 finds 2.000 + fetch 0.500 MB"
        );
        let split = [
            (Rows::Hours, 10_000),
            (Rows::SomeRecords, 524_288),
            (Rows::Records, 524_288),
        ];
        assert_eq!(by_statement(&split), "hours 0.010 + 2 fetches 1.000 MB");
        assert_eq!(
            by_statement(&[(Rows::Records, 0)]),
            "one statement 0.000 MB"
        );
    }

    #[test]
    fn expectations_come_from_the_manifest() {
        let m = manifest();
        let c = classes(&m);
        let by = |n: &str| c.iter().find(|c| c.name == n).unwrap().expected;
        assert_eq!(by("term in one record"), Some(1));
        assert_eq!(by("OR of two rare terms"), Some(3));
        assert_eq!(by("field:value (1 % of CloudTrail)"), Some(4));
        assert_eq!(by("CIDR block"), Some(13));
        assert_eq!(by("phrase"), None);
        // Every class compiles.
        let now = DateTime::parse_from_rfc3339("2024-05-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        for class in &c {
            compile(&class.query, &CompileOptions::at(now)).unwrap();
        }
    }
}
