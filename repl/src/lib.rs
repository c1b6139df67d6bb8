//! The `glaux` binary's library: command line, REPL, output. [`run`] is the
//! whole program with its streams passed in, so tests drive the real CLI
//! path in-process.
#![forbid(unsafe_code)]

pub mod cli;
pub mod demo;
pub mod output;
pub mod repl;
pub mod session;

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use glaux_compiler::window::{parse_duration, parse_time};
use glaux_compiler::{CompileError, Report, WindowSpec};
use glaux_store::{IngestOptions, Store};

use crate::cli::{Cli, Command, WindowArgs};
use crate::session::{Clock, SearchError, Session};

/// Exit status: success.
pub const EXIT_OK: i32 = 0;
/// Exit status: the run failed (engine, I/O, objects that could not be read).
pub const EXIT_FAILURE: i32 = 1;
/// Exit status: the query or the arguments are wrong.
pub const EXIT_USAGE: i32 = 2;
/// Exit status: interrupted by Ctrl-C.
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

/// The SQL as printed by `--explain` and `\sql on`: a statement ends with
/// `;`; a query that runs nothing is its header comment alone.
pub fn sql_statement(c: &glaux_compiler::Compiled) -> String {
    if c.runs() {
        format!("{};", c.sql)
    } else {
        c.sql.trim_end().to_string()
    }
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

/// Runs glaux with `args` (including the program name), writing to `out` and
/// `err`. Returns the exit status.
pub fn run(args: Vec<OsString>, out: &mut dyn Write, err: &mut dyn Write, color: bool) -> i32 {
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
            return EXIT_USAGE;
        }
    };
    let clock = match cli.now.as_deref().map(parse_time).transpose() {
        Ok(Some(t)) => Clock::Fixed(t),
        Ok(None) => Clock::System,
        Err(e) => return usage_error(err, e, color),
    };
    let store = Store::new(cli.store.clone().unwrap_or_else(default_store));
    match cli.command.unwrap_or(Command::Repl) {
        Command::Repl => match Session::new(store, clock) {
            Ok(mut session) => {
                session.database = cli.database.clone();
                repl::run(session, color)
            }
            Err(e) => {
                let _ = writeln!(err, "error: {e}");
                EXIT_FAILURE
            }
        },
        Command::Demo(args) => demo::run(&args, clock, &cli.database, out, err, color),
        Command::Ingest(args) => {
            let options = IngestOptions {
                tag: args.tag,
                time_field: args.time_field,
                workers: args.workers,
            };
            match glaux_store::ingest(&store, &args.paths, &options) {
                Ok(report) => {
                    let _ = writeln!(out, "ingested into {}", store.root().display());
                    let _ = writeln!(out, "{report}");
                    if report.failed.is_empty() {
                        EXIT_OK
                    } else {
                        EXIT_FAILURE
                    }
                }
                Err(e) => {
                    let _ = writeln!(err, "error: ingest failed: {e}");
                    EXIT_FAILURE
                }
            }
        }
        Command::Query(args) => {
            let window = match window_spec(&args.window) {
                Ok(w) => w,
                Err(e) => return usage_error(err, e, color),
            };
            let text = args.query.join(" ");
            let mut session = match Session::new(store, clock) {
                Ok(s) => s,
                Err(e) => {
                    let _ = writeln!(err, "error: {e}");
                    return EXIT_FAILURE;
                }
            };
            session.window = window;
            session.database = cli.database.clone();
            session.limit = (args.limit != 0).then_some(args.limit);
            if args.explain {
                return match session.compile(&text) {
                    Ok(c) => {
                        let _ = write!(err, "{}", render_warnings(&c, &text, color));
                        let _ = writeln!(out, "{}", sql_statement(&c));
                        EXIT_OK
                    }
                    Err(r) => {
                        let _ = write!(err, "{}", render_report(&r, color));
                        EXIT_USAGE
                    }
                };
            }
            match session.search(&text) {
                Ok(outcome) => {
                    let _ = write!(err, "{}", render_warnings(&outcome.compiled, &text, color));
                    let width = None;
                    if let Err(e) = output::write_hits(out, &outcome.hits, args.format, width) {
                        let _ = writeln!(err, "error: writing output: {e}");
                        return EXIT_FAILURE;
                    }
                    let _ = writeln!(err, "{}", session::footer(&outcome));
                    EXIT_OK
                }
                Err(e) => search_error(err, e, color),
            }
        }
        Command::Ddl(args) => {
            let options = glaux_compiler::ddl::DdlOptions {
                location: args.location,
                database: cli.database.clone(),
                projection_start: args.projection_start,
            };
            match glaux_compiler::ddl::render(&options) {
                Ok(ddl) => {
                    let _ = write!(out, "{ddl}");
                    EXIT_OK
                }
                Err(e) => usage_error(err, e, color),
            }
        }
    }
}

fn usage_error(err: &mut dyn Write, e: CompileError, color: bool) -> i32 {
    let _ = write!(err, "{}", render_report(&e.with_source(""), color));
    EXIT_USAGE
}

/// Prints a search error; returns the exit status it deserves.
pub fn search_error(err: &mut dyn Write, e: SearchError, color: bool) -> i32 {
    match e {
        SearchError::Compile(r) => {
            let _ = write!(err, "{}", render_report(&r, color));
            EXIT_USAGE
        }
        SearchError::Engine(e) => {
            let _ = writeln!(err, "error: {e}");
            EXIT_FAILURE
        }
        SearchError::Output(e) => {
            let _ = writeln!(err, "error: unexpected result from the engine: {e}");
            EXIT_FAILURE
        }
        SearchError::Cancelled => {
            let _ = writeln!(err, "cancelled");
            EXIT_INTERRUPTED
        }
    }
}
