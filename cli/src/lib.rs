//! The `glaux` binary's library: command line, REPL, output. [`run`] is the
//! whole program with its streams passed in, so tests drive the real CLI
//! path in-process.
#![forbid(unsafe_code)]

pub mod bench;
pub mod cli;
pub mod commands;
pub mod compact;
pub mod complete;
pub mod config;
pub mod demo;
pub mod grid;
pub mod highlight;
pub mod ingest;
pub mod interrupt;
pub mod jq;
pub mod output;
pub mod pager;
pub mod progress;
pub mod repl;
pub mod saved;
pub mod session;

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use glaux_aws::StoreLocation;
use glaux_compiler::window::{parse_duration, parse_time};
use glaux_compiler::{CompileError, Report, WindowSpec};

use crate::cli::{Cli, Command, WindowArgs};
use crate::interrupt::WhenIdle;
use crate::session::{Clock, Session};
use glaux_search::SearchError;
use glaux_search::explain::sql_statement;

// Exit statuses, as grep has them, so `if glaux query …; then` reads
// "if anything matched". Documented in `glaux --help` and docs/repl.md.

/// Success: a search returned at least one record; any other command did
/// what it was asked.
pub const EXIT_OK: i32 = 0;
/// A search ran and returned no record.
pub const EXIT_NO_RESULTS: i32 = 1;
/// An error: a bad query or argument, a failed run (engine, AWS, I/O),
/// objects that could not be ingested. The message is on stderr.
pub const EXIT_ERROR: i32 = 2;
/// Interrupted by Ctrl-C.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Renders a diagnostic the way glaux shows it: miette's graphical report,
/// in colour only when `color`.
pub fn render_report(report: &Report, color: bool) -> String {
    use miette::{GraphicalReportHandler, GraphicalTheme};
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let mut out = String::new();
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    if handler.render_report(&mut out, report).is_err() {
        out = report.to_string();
    }
    out
}

/// The statements a search ran, as `\sql on` prints them above its
/// results: each ends with `;`, a blank line between them.
pub fn ran_statements(outcome: &session::Outcome) -> String {
    if outcome.statements.is_empty() {
        return sql_statement(&outcome.compiled);
    }
    outcome
        .statements
        .iter()
        .map(|s| format!("{s};"))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Renders the compile warnings of `query` (stderr material).
pub fn render_warnings(compiled: &glaux_compiler::Compiled, query: &str, color: bool) -> String {
    compiled
        .warnings
        .iter()
        .map(|w| render_report(&w.clone().with_source(query), color))
        .collect()
}

/// Default store location: `$XDG_DATA_HOME/glaux/store` (or the platform's
/// data directory).
pub fn default_store() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("glaux")
        .join("store")
}

/// Turns window flags into a [`WindowSpec`].
pub fn window_spec(w: &WindowArgs) -> Result<WindowSpec, CompileError> {
    if let Some(s) = &w.since {
        return Ok(WindowSpec::Since(parse_duration(s)?));
    }
    let from = w.from.as_deref().map(parse_time).transpose()?;
    let to = w.to.as_deref().map(parse_time).transpose()?;
    Ok(match (from, to) {
        (Some(from), to) => WindowSpec::Range { from, to },
        (None, Some(to)) => WindowSpec::Until(to),
        (None, None) => WindowSpec::Default,
    })
}

/// `glaux gen`: logs at scale and their manifest.
fn generate(args: &cli::GenArgs, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let end = match chrono::DateTime::parse_from_rfc3339(&args.end) {
        Ok(t) => t.with_timezone(&chrono::Utc),
        Err(e) => {
            let _ = writeln!(err, "error: --end {}: {e}", args.end);
            return EXIT_ERROR;
        }
    };
    let threads = if args.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        args.threads
    };
    let options = glaux_samples::scale::ScaleOptions {
        seed: args.seed,
        events: args.events,
        days: args.days,
        end,
        threads,
    };
    let raw = args.out.join("raw");
    if raw.exists() {
        let _ = writeln!(
            err,
            "error: {} exists; remove it or choose another --out",
            raw.display()
        );
        return EXIT_ERROR;
    }
    let started = std::time::Instant::now();
    // The generator's threads report hours done; this thread writes them to
    // `err` (which need not be shareable across threads).
    let (done_tx, done_rx) = std::sync::mpsc::channel::<(u64, u64)>();
    let generated = std::thread::scope(|scope| {
        let (options, raw) = (&options, &raw);
        let worker = scope.spawn(move || {
            let progress = |done: u64, total: u64| {
                if done.is_multiple_of(24) || done == total {
                    let _ = done_tx.send((done, total));
                }
            };
            glaux_samples::scale::generate(options, raw, &progress)
        });
        for (done, total) in done_rx {
            let _ = write!(err, "\r{done}/{total} hours");
            let _ = err.flush();
        }
        worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    let _ = writeln!(err);
    let manifest = match generated {
        Ok(m) => m,
        Err(e) => {
            let _ = writeln!(err, "error: writing {}: {e}", raw.display());
            return EXIT_ERROR;
        }
    };
    let json = serde_json::to_string_pretty(&manifest.to_json()).expect("json");
    if let Err(e) = std::fs::write(args.out.join("manifest.json"), json + "\n") {
        let _ = writeln!(err, "error: writing the manifest: {e}");
        return EXIT_ERROR;
    }
    let _ = writeln!(
        out,
        "{} records, {} files, {:.1} MB of log text ({:.1} MB written) in {:.1} s under {}",
        manifest.events,
        manifest.files,
        manifest.raw_bytes as f64 / 1_048_576.0,
        manifest.written_bytes as f64 / 1_048_576.0,
        started.elapsed().as_secs_f64(),
        raw.display()
    );
    for n in &manifest.needles {
        let _ = writeln!(
            out,
            "needle {:<6} {:<11} in {} records",
            n.name, n.token, n.records
        );
    }
    EXIT_OK
}

/// What glaux knows about where its output goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Terminal {
    /// Colour diagnostics on stderr.
    pub color_err: bool,
    /// Colour results on stdout (a terminal, and no NO_COLOR).
    pub color_out: bool,
    /// stdout is a terminal this many columns wide; `None`: a pipe or file.
    pub width: Option<usize>,
    /// stdout is a terminal this many rows high (for the pager).
    pub height: Option<usize>,
    /// stderr is a terminal this many columns wide that can erase a line
    /// (not `TERM=dumb`): searches show a spinner there.
    pub spinner: Option<usize>,
}

impl Terminal {
    /// Looks at the process's own stdout and stderr, and NO_COLOR.
    pub fn detect() -> Terminal {
        use std::io::IsTerminal;
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let out_tty = std::io::stdout().is_terminal();
        let size = terminal_size::terminal_size_of(std::io::stdout())
            .filter(|_| out_tty)
            .map(|(w, h)| (usize::from(w.0), usize::from(h.0)));
        let err_tty = std::io::stderr().is_terminal();
        let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        let spinner = (err_tty && !dumb).then(|| {
            terminal_size::terminal_size_of(std::io::stderr())
                .map(|(w, _)| usize::from(w.0))
                .filter(|&w| w > 0)
                .unwrap_or(80)
        });
        Terminal {
            color_err: err_tty && !no_color,
            color_out: out_tty && !no_color,
            width: size.map(|s| s.0),
            height: size.map(|s| s.1),
            spinner,
        }
    }
}

/// Runs glaux with `args` (including the program name), writing to `out` and
/// `err`; diagnostics in colour when `color`. Results are never coloured:
/// this is the entry point for tests and pipes. Returns the exit status.
pub fn run(args: Vec<OsString>, out: &mut dyn Write, err: &mut dyn Write, color: bool) -> i32 {
    let term = Terminal {
        color_err: color,
        ..Terminal::default()
    };
    run_with(args, out, err, &term)
}

/// [`run`] for a known terminal. When `term.spinner` is set, a search
/// draws its spinner on the process's stderr from another thread, so `err`
/// must not be a locked `Stderr` (pass `&mut std::io::stderr()`): the
/// spinner would wait for the lock while the search waits for the
/// spinner.
pub fn run_with(
    args: Vec<OsString>,
    out: &mut dyn Write,
    err: &mut dyn Write,
    term: &Terminal,
) -> i32 {
    let color = term.color_err;
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let is_info = matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            );
            let text = if color {
                e.render().ansi().to_string()
            } else {
                e.render().to_string()
            };
            if is_info {
                let _ = write!(out, "{text}");
                return EXIT_OK;
            }
            let _ = write!(err, "{text}");
            return EXIT_ERROR;
        }
    };
    let clock = match cli.now.as_deref().map(parse_time).transpose() {
        Ok(Some(t)) => Clock::Fixed(t),
        Ok(None) => Clock::System,
        Err(e) => return usage_error(err, e, color),
    };
    let settings = match load_settings(&cli) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return EXIT_ERROR;
        }
    };
    let store = match StoreLocation::parse(settings.get("store").unwrap_or_default()) {
        Ok(store) => store,
        Err(e) => {
            let _ = writeln!(err, "error: --store: {e}");
            return EXIT_ERROR;
        }
    };
    let database = settings
        .get("database")
        .unwrap_or(glaux_compiler::layout::DEFAULT_DATABASE)
        .to_string();
    let context = Context {
        clock,
        settings,
        store,
        database,
        term,
    };
    match cli.command.unwrap_or(Command::Repl) {
        Command::Repl => match context.session(WhenIdle::Ignore, err) {
            Some(session) => repl::run(session, term),
            None => EXIT_ERROR,
        },
        Command::Demo(args) => demo::run(&args, clock, &context.settings, out, err, term),
        Command::Ingest(args) => ingest::run(args, &context.store, &context.settings, out, err),
        Command::Gen(args) => generate(&args, out, err),
        Command::Compact => compact::run(&context.store, &context.settings, out, err),
        Command::Bench(args) => run_bench(&args, out, err),
        Command::Config => {
            let _ = write!(out, "{}", context.settings);
            EXIT_OK
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "glaux", out);
            EXIT_OK
        }
        Command::Query(args) => run_query(&args, &context, out, err),
        Command::Ddl(args) => run_ddl(&args, &context, out, err),
    }
}

/// What every command starts from: the command line's and the config's
/// settings, read once.
struct Context<'a> {
    clock: Clock,
    settings: config::Settings,
    store: StoreLocation,
    database: String,
    term: &'a Terminal,
}

impl Context<'_> {
    /// A session over the store, or `None` after telling `err` why not.
    fn session(&self, idle: WhenIdle, err: &mut dyn Write) -> Option<Session> {
        match Session::new(self.store.clone(), self.clock, self.settings.clone(), idle) {
            Ok(mut s) => {
                s.database = self.database.clone();
                s.spinner = self.term.spinner;
                Some(s)
            }
            Err(e) => {
                let _ = writeln!(err, "error: {e}");
                None
            }
        }
    }
}

/// `glaux query`: one search, or its SQL with `--explain`.
fn run_query(
    args: &cli::QueryArgs,
    context: &Context<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let term = context.term;
    let color = term.color_err;
    let window = match window_spec(&args.window) {
        Ok(w) => w,
        Err(e) => return usage_error(err, e, color),
    };
    let text = match query_text(args.file.as_deref(), &args.query) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return EXIT_ERROR;
        }
    };
    let Some(mut session) = context.session(WhenIdle::Exit, err) else {
        return EXIT_ERROR;
    };
    session.window = window;
    session.limit = (args.limit != 0).then_some(args.limit);
    session.strict_fields = args.strict;
    if args.explain {
        return match session.compile(&text) {
            Ok(c) => {
                let _ = write!(err, "{}", render_warnings(&c, &text, color));
                let _ = writeln!(out, "{}", sql_statement(&c));
                EXIT_OK
            }
            Err(r) => {
                let _ = write!(err, "{}", render_report(&r, color));
                EXIT_ERROR
            }
        };
    }
    let outcome = match session.search(&text) {
        Ok(outcome) => outcome,
        Err(e) => return search_error(err, e, color),
    };
    let _ = write!(err, "{}", render_warnings(&outcome.compiled, &text, color));
    let look = output::Look {
        width: term.width,
        color: term.color_out,
        marks: output::Marks::of(&outcome.compiled.plan),
        fields: session.line_fields(),
    };
    let written = match &outcome.table {
        Some(t) => grid::write(out, t, args.format, term.width, term.color_out),
        None => output::write_hits(out, &outcome.hits, args.format, &look),
    };
    if let Err(e) = written {
        let _ = writeln!(err, "error: writing output: {e}");
        return EXIT_ERROR;
    }
    let _ = writeln!(err, "{}", session::footer(&outcome));
    let rows = outcome
        .table
        .as_ref()
        .map_or(outcome.hits.len(), |t| t.rows.len());
    if rows == 0 { EXIT_NO_RESULTS } else { EXIT_OK }
}

/// `glaux ddl`: the Athena DDL of the store's tables, printed or applied.
fn run_ddl(
    args: &cli::DdlArgs,
    context: &Context<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let color = context.term.color_err;
    let Some(location) = args.location.clone().or_else(|| match &context.store {
        StoreLocation::S3(url) => Some(url.to_string()),
        StoreLocation::Local(_) => None,
    }) else {
        let _ = writeln!(
            err,
            "error: the DDL needs the store's S3 location: pass --location s3://bucket/prefix (or --store s3://…)"
        );
        return EXIT_ERROR;
    };
    let options = glaux_compiler::ddl::DdlOptions {
        location,
        database: context.database.clone(),
        projection_start: args.projection_start.clone(),
    };
    if !args.apply {
        return match glaux_compiler::ddl::render(&options) {
            Ok(ddl) => {
                let _ = write!(out, "{ddl}");
                EXIT_OK
            }
            Err(e) => usage_error(err, e, color),
        };
    }
    let statements = match glaux_compiler::ddl::statements(&options) {
        Ok(s) => s,
        Err(e) => return usage_error(err, e, color),
    };
    let Some(mut session) = context.session(WhenIdle::Exit, err) else {
        return EXIT_ERROR;
    };
    // `CREATE DATABASE` runs in the default database (the one to be
    // created may not exist yet); the tables name theirs.
    session.database = "default".to_string();
    match session.athena_statements(&statements) {
        Ok(runs) => {
            for (sql, run) in statements.iter().zip(&runs) {
                let first = sql
                    .lines()
                    .find(|l| !l.starts_with("--"))
                    .unwrap_or_default();
                let _ = writeln!(out, "{first} … ok (query {})", run.query_execution_id);
            }
            EXIT_OK
        }
        Err(e) => search_error(err, e, color),
    }
}

/// `glaux bench`.
fn run_bench(args: &cli::BenchArgs, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let paths = bench::BenchPaths {
        store: args
            .bench_store
            .clone()
            .unwrap_or_else(|| args.data.join("store")),
        data: args.data.clone(),
    };
    let options = bench::Options {
        only: args.classes.clone(),
        repeats: args.repeats,
        workers: args.workers,
        compact: args.compact,
        fetch_keys: args.fetch_keys.clone(),
    };
    match bench::run(&paths, &options, out) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            EXIT_ERROR
        }
    }
}

/// The query of `glaux query`: the arguments joined with spaces, or the
/// text of `file` (`-`: stdin; so is a lone `-` argument). In a file, lines
/// whose first non-blank character is `#` are comments; they are blanked
/// rather than removed, so error positions still point into the file.
pub fn query_text(file: Option<&std::path::Path>, args: &[String]) -> Result<String, String> {
    let from_stdin = file.is_some_and(|f| f.as_os_str() == "-") || args == ["-"];
    let raw = if from_stdin {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| format!("reading the query from stdin: {e}"))?;
        s
    } else if let Some(f) = file {
        std::fs::read_to_string(f)
            .map_err(|e| format!("reading the query from {}: {e}", f.display()))?
    } else {
        return Ok(args.join(" "));
    };
    query_text_of(&raw)
}

/// A query file's text as a query: comment lines (first non-blank `#`)
/// blanked, so positions stay; an empty query is an error.
pub fn query_text_of(raw: &str) -> Result<String, String> {
    let text: Vec<String> = raw
        .lines()
        .map(|l| {
            if l.trim_start().starts_with('#') {
                " ".repeat(l.len())
            } else {
                l.to_string()
            }
        })
        .collect();
    let text = text.join("\n");
    if text.trim().is_empty() {
        return Err("the query is empty".into());
    }
    Ok(text.trim_end().to_string())
}

/// Reads the config file (if any) and resolves every setting.
pub fn load_settings(cli: &Cli) -> Result<config::Settings, config::ConfigError> {
    let env = |k: &str| std::env::var(k).ok();
    let explicit = cli.config.clone().or_else(|| {
        env("GLAUX_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    let path = explicit.clone().or_else(|| config::default_file(&env));
    let text = match &path {
        None => None,
        Some(p) => match std::fs::read_to_string(p) {
            Ok(t) => Some(t),
            // The default file is optional; a file the user named is not.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => None,
            Err(e) => {
                return Err(config::ConfigError {
                    what: format!("config file {}", p.display()),
                    why: e.to_string(),
                });
            }
        },
    };
    let file = match (&path, &text) {
        (Some(p), Some(t)) => Some((p.as_path(), t.as_str())),
        _ => None,
    };
    let mut settings = config::resolve(&cli.setting_flags(), &env, file)?;
    if settings.get("store").is_none() {
        settings.set(
            "store",
            default_store().display().to_string(),
            config::Origin::Default,
        );
    }
    Ok(settings)
}

fn usage_error(err: &mut dyn Write, e: CompileError, color: bool) -> i32 {
    let _ = write!(err, "{}", render_report(&e.with_source(""), color));
    EXIT_ERROR
}

/// Prints a search error; returns the exit status it deserves.
pub fn search_error(err: &mut dyn Write, e: SearchError, color: bool) -> i32 {
    match e {
        SearchError::Compile(r) => {
            let _ = write!(err, "{}", render_report(&r, color));
            EXIT_ERROR
        }
        SearchError::Engine(e) => {
            let _ = writeln!(err, "error: {e}");
            EXIT_ERROR
        }
        SearchError::Athena(e) => {
            let _ = writeln!(err, "error: {e}");
            EXIT_ERROR
        }
        SearchError::Aws(e) => {
            let _ = writeln!(err, "error: {e}");
            EXIT_ERROR
        }
        SearchError::Config(e) => {
            let _ = writeln!(err, "error: {e}");
            EXIT_ERROR
        }
        SearchError::Output(e) => {
            let _ = writeln!(err, "error: unexpected result from the engine: {e}");
            EXIT_ERROR
        }
        SearchError::Cancelled => {
            let _ = writeln!(err, "cancelled");
            EXIT_INTERRUPTED
        }
        SearchError::AfterAthenaRuns { error, ran } => {
            let status = search_error(err, *error, color);
            let _ = writeln!(
                err,
                "note: before that, this search ran {} Athena quer{}, billed: {}",
                ran.len(),
                if ran.len() == 1 { "y" } else { "ies" },
                session::athena_note(&ran).trim_start_matches(" · ")
            );
            status
        }
    }
}

#[cfg(test)]
mod tests {
    /// `glaux gen` tells its progress on the error stream it is given, not
    /// on the process's stderr, and its summary on the output stream.
    #[test]
    fn gen_reports_progress_on_its_err_stream() {
        let dir = tempfile::tempdir().unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let args = ["glaux", "gen", "--events", "500", "--days", "2", "--out"]
            .map(std::ffi::OsString::from)
            .into_iter()
            .chain([dir.path().join("d").into_os_string()])
            .collect();
        let code = super::run(args, &mut out, &mut err, false);
        let (out, err) = (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        );
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("\r48/48 hours\n"), "{err:?}");
        assert!(out.starts_with("500 records"), "{out}");
    }
}
