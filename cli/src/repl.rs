//! The REPL: rustyline with history (Ctrl-R searches it), multi-line input,
//! completion ([`crate::complete`]), highlighting and a parse-error hint as
//! you type ([`crate::highlight`]), backslash commands
//! ([`crate::commands`]), result views, `\jq`, saved searches and export.
//!
//! Input is incomplete (Enter continues on the next line) while a quote or a
//! parenthesis is open or the line ends with `AND`/`OR`/`NOT`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

use glaux_compiler::WindowSpec;
use glaux_compiler::window::{parse_duration, parse_time};
use glaux_store::catalog::FieldCatalog;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Config, Context, Editor, Helper};

pub use crate::commands::{COMMANDS, Command};
use crate::complete::{Vocabulary, complete};
use crate::config::EngineKind;
use crate::highlight::{parse_error, render};
use crate::output::{self, Format, Look};
use crate::session::{self, Session};
use crate::{Terminal, render_report, saved, search_error};
use glaux_search::Hit;
use glaux_search::SearchError;

/// The help text (kept for callers of the old name).
pub fn help() -> String {
    crate::commands::help(None).unwrap_or_default()
}

/// True while the input is not a whole query yet (an open quote or
/// parenthesis, a trailing operator), as the compiler's lexer reads it: a
/// `/"/` regex is whole.
pub fn is_incomplete(input: &str) -> bool {
    glaux_compiler::lex::lex(input).is_unfinished(input)
}

/// What the line editor's helper knows: refreshed by the loop when the
/// store or the saved searches change.
#[derive(Default)]
struct HelperState {
    catalog: Option<Arc<FieldCatalog>>,
    saved: Vec<String>,
    color: bool,
    /// The last line parsed and its error: the highlighter and the hinter
    /// both ask for it on every keystroke.
    last_parse: Option<(String, Option<ParseError>)>,
}

/// Where a line stops parsing, and why.
type ParseError = (std::ops::Range<usize>, String);

impl GlauxHelper {
    /// [`parse_error`] of `line`, parsed once per distinct line.
    fn parse_error(&self, line: &str) -> Option<ParseError> {
        let mut state = self.state.borrow_mut();
        if let Some((last, error)) = &state.last_parse
            && last == line
        {
            return error.clone();
        }
        let error = parse_error(line);
        state.last_parse = Some((line.to_string(), error.clone()));
        error
    }
}

struct GlauxHelper {
    state: Rc<RefCell<HelperState>>,
}

impl Validator for GlauxHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        if !input.trim_start().starts_with('\\') && is_incomplete(input) {
            Ok(ValidationResult::Incomplete)
        } else {
            Ok(ValidationResult::Valid(None))
        }
    }
}

impl Completer for GlauxHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let state = self.state.borrow();
        let (start, found) = complete(
            line,
            pos,
            Vocabulary {
                catalog: state.catalog.as_deref(),
                saved: &state.saved,
            },
        );
        Ok((
            start,
            found
                .into_iter()
                .map(|c| Pair {
                    display: c.display,
                    replacement: c.replacement,
                })
                .collect(),
        ))
    }
}

impl Hinter for GlauxHelper {
    type Hint = String;

    /// Where and why the query does not parse, shown after the cursor
    /// before Enter; nothing while the input is still open (a quote, a
    /// parenthesis, a trailing `AND`), where the error would only nag.
    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<String> {
        if pos < line.len() || is_incomplete(line) {
            return None;
        }
        let (span, message) = self.parse_error(line)?;
        let column = line[..span.start.min(line.len())].chars().count() + 1;
        Some(format!("   ← column {column}: {message}"))
    }
}

impl Highlighter for GlauxHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if !self.state.borrow().color {
            return Cow::Borrowed(line);
        }
        let error = if is_incomplete(line) {
            None
        } else {
            self.parse_error(line).map(|(span, _)| span)
        };
        Cow::Owned(render(line, error, true))
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.state.borrow().color {
            Cow::Owned(format!("\x1b[2;31m{hint}\x1b[0m"))
        } else {
            Cow::Borrowed(hint)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        // Colours depend on the whole line (a closing quote recolours what
        // precedes it): redraw on every change.
        self.state.borrow().color
    }
}

impl Helper for GlauxHelper {}

/// History: `$XDG_STATE_HOME/glaux/history` (`~/.local/state/glaux/history`),
/// or the data directory where there is no state directory (macOS).
pub fn history_path() -> Option<PathBuf> {
    dirs::state_dir()
        .or_else(dirs::data_dir)
        .map(|d| d.join("glaux").join("history"))
}

/// The last search, for `\save`, `\jq` and `\export`.
struct Last {
    query: String,
    hits: Vec<Hit>,
}

/// REPL settings that are not part of a search.
struct View {
    format: Format,
    show_sql: bool,
    timing: bool,
    term: Terminal,
    saved_dir: Option<PathBuf>,
    last: Option<Last>,
}

/// The prompt: engine and window, e.g. `glaux [last 24h]> `,
/// `glaux athena [since 2h]> `.
pub fn prompt(session: &Session) -> String {
    let engine = match session.engine_kind() {
        EngineKind::Local => "",
        EngineKind::Athena => " athena",
    };
    format!("glaux{engine} [{}]> ", window_label(&session.window))
}

fn short_time(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M").to_string()
}

/// A window spec in a few characters.
pub fn window_label(w: &WindowSpec) -> String {
    match w {
        WindowSpec::Default => "last 24h".into(),
        WindowSpec::Since(d) => format!("since {}", short_duration(d.num_seconds())),
        WindowSpec::Range { from, to } => format!(
            "{} → {}",
            short_time(from),
            to.as_ref().map_or("now".to_string(), short_time)
        ),
        WindowSpec::Until(to) => format!("24h to {}", short_time(to)),
    }
}

fn short_duration(secs: i64) -> String {
    for (unit, n) in [("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs >= n && secs % n == 0 {
            return format!("{}{unit}", secs / n);
        }
    }
    format!("{secs}s")
}

/// Runs the REPL until Ctrl-D or `\quit`. Returns the exit status.
pub fn run(mut session: Session, term: &Terminal) -> i32 {
    // Every way into the REPL (plain `glaux`, `glaux demo`) gets the
    // spinner when stderr is a terminal.
    session.spinner = term.spinner;
    let config = Config::builder()
        .auto_add_history(true)
        .history_ignore_dups(true)
        .and_then(|b| Ok(b.max_history_size(10_000)?.history_ignore_space(true)))
        .map(|b| b.completion_type(rustyline::CompletionType::List).build());
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: cannot configure the line editor: {e}");
            return crate::EXIT_ERROR;
        }
    };
    let mut editor: Editor<GlauxHelper, rustyline::history::FileHistory> =
        match Editor::with_config(config) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: cannot start the line editor: {e}");
                return crate::EXIT_ERROR;
            }
        };
    let state = Rc::new(RefCell::new(HelperState {
        color: term.color_out,
        ..HelperState::default()
    }));
    editor.set_helper(Some(GlauxHelper {
        state: state.clone(),
    }));
    let history = history_path();
    if let Some(h) = &history {
        let _ = std::fs::create_dir_all(h.parent().expect("history has a parent"));
        let _ = editor.load_history(h);
    }
    let mut view = View {
        format: Format::Table,
        show_sql: true,
        timing: false,
        term: *term,
        saved_dir: saved::default_dir(),
        last: None,
    };
    let refresh_helper = |session: &Session, view: &View| {
        let mut s = state.borrow_mut();
        s.catalog = session.catalog();
        s.saved = view
            .saved_dir
            .as_deref()
            .and_then(|d| saved::list(d).ok())
            .unwrap_or_default();
    };
    refresh_helper(&session, &view);
    let stdout = std::io::stdout();
    println!(
        "glaux {} — {} · \\help for help · Tab completes · Ctrl-D to quit",
        env!("CARGO_PKG_VERSION"),
        engine_line(&session),
    );
    if session.engine_kind() == EngineKind::Local
        && session.store.local().is_some_and(|s| !s.exists())
    {
        println!(
            "note: no store at {} yet; run `glaux ingest --store DIR PATH...` or `glaux demo`",
            session.store
        );
    }
    loop {
        let line = match editor.readline(&prompt(&session)) {
            Ok(l) => l,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("error: {e}");
                break;
            }
        };
        let input = line.trim();
        if input.is_empty() {
            continue;
        }
        let mut out = stdout.lock();
        if input.starts_with('\\') {
            match input.parse::<Command>() {
                Ok(Command::Quit) => break,
                Ok(cmd) => {
                    let reload = matches!(
                        cmd,
                        Command::Refresh | Command::Engine(_) | Command::Save(_)
                    );
                    apply(cmd, &mut session, &mut view, &mut out);
                    if reload {
                        refresh_helper(&session, &view);
                    }
                }
                Err(e) => eprintln!("{e}"),
            }
        } else {
            search(input, &mut session, &mut view, &mut out);
        }
        let _ = out.flush();
        // Save as we go: a killed terminal keeps its history.
        if let Some(h) = &history {
            let _ = editor.save_history(h);
        }
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    crate::EXIT_OK
}

/// `local store /path` or `Athena, database glaux, workgroup primary`.
fn engine_line(session: &Session) -> String {
    match session.engine_kind() {
        EngineKind::Local => format!("local store {}", session.store),
        EngineKind::Athena => {
            let a = session.settings.athena();
            format!(
                "Athena, database {}, workgroup {}",
                session.database, a.workgroup
            )
        }
    }
}

fn terminal_width(term: &Terminal) -> usize {
    term.width
        .or_else(|| std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()))
        .unwrap_or(160)
}

fn search(input: &str, session: &mut Session, view: &mut View, out: &mut dyn Write) {
    match session.search(input) {
        Ok(outcome) => {
            eprint!(
                "{}",
                crate::render_warnings(&outcome.compiled, input, view.term.color_err)
            );
            let mut text = Vec::new();
            if view.show_sql {
                let _ = writeln!(text, "{}\n", crate::ran_statements(&outcome));
            }
            let look = Look {
                width: matches!(view.format, Format::Table | Format::Raw)
                    .then(|| terminal_width(&view.term)),
                color: view.term.color_out,
                marks: output::Marks::of(&outcome.compiled.plan),
                fields: session.line_fields(),
            };
            let _ = match &outcome.table {
                Some(t) => crate::grid::write(
                    &mut text,
                    t,
                    view.format,
                    Some(terminal_width(&view.term)),
                    view.term.color_out,
                ),
                None => output::write_hits(&mut text, &outcome.hits, view.format, &look),
            };
            let _ = writeln!(text, "{}", session::footer(&outcome));
            if view.timing {
                let steps = match outcome.statement_times.len() {
                    0 | 1 => String::new(),
                    _ => format!(
                        " (statements {} ms)",
                        outcome
                            .statement_times
                            .iter()
                            .map(|t| format!("{:.1}", t.as_secs_f64() * 1e3))
                            .collect::<Vec<_>>()
                            .join(" + ")
                    ),
                };
                let _ = writeln!(
                    text,
                    "timing: compile {:.1} ms · engine and output {:.1} ms{steps}",
                    outcome.compile_time.as_secs_f64() * 1e3,
                    (outcome.elapsed - outcome.compile_time).as_secs_f64() * 1e3
                );
            }
            let _busy = session.busy();
            let _ = crate::pager::show(&text, view.term.height, out);
            view.last = Some(Last {
                query: input.to_string(),
                hits: outcome.hits,
            });
        }
        Err(SearchError::Compile(r)) => {
            eprint!("{}", render_report(&r, view.term.color_err));
        }
        Err(e) => {
            search_error(&mut std::io::stderr(), e, view.term.color_err);
        }
    }
}

fn apply(cmd: Command, session: &mut Session, view: &mut View, out: &mut dyn Write) {
    let color = view.term.color_err;
    match cmd {
        Command::Help(topic) => match crate::commands::help(topic.as_deref()) {
            Ok(text) => {
                let _ = write!(out, "{text}");
            }
            Err(e) => eprintln!("{e}"),
        },
        Command::Quit => {}
        Command::Explain(q) => match session.compile(&q) {
            Ok(c) => {
                eprint!("{}", crate::render_warnings(&c, &q, color));
                let _ = writeln!(out, "{}", glaux_search::explain::sql_statement(&c));
            }
            Err(r) => eprint!("{}", render_report(&r, color)),
        },
        Command::WindowReset => {
            session.window = WindowSpec::Default;
            let _ = writeln!(out, "window: last 24 hours");
        }
        Command::Since(d) => match parse_duration(&d) {
            Ok(d) => {
                session.window = WindowSpec::Since(d);
                show_window(session, out);
            }
            Err(e) => show_compile_error(e, color),
        },
        Command::From(t) => set_from(&t, session, color, out),
        Command::To(t) => set_to(&t, session, color, out),
        Command::Window => show_window(session, out),
        Command::Limit(n) => set_limit(&n, session, out),
        Command::Format(f) => match f.parse::<Format>() {
            Ok(f) => {
                view.format = f;
                let name = clap::ValueEnum::to_possible_value(&f)
                    .map(|v| v.get_name().to_string())
                    .unwrap_or_default();
                let _ = writeln!(out, "format: {name}");
            }
            Err(e) => eprintln!("{e}"),
        },
        Command::Sql(on) => {
            view.show_sql = on.unwrap_or(!view.show_sql);
            let _ = writeln!(out, "sql: {}", if view.show_sql { "on" } else { "off" });
        }
        Command::Timing(on) => {
            view.timing = on.unwrap_or(!view.timing);
            let _ = writeln!(out, "timing: {}", if view.timing { "on" } else { "off" });
        }
        Command::Refresh => {
            session.refresh();
            let _ = writeln!(out, "store re-read");
        }
        Command::Engine(None) => {
            let _ = writeln!(out, "engine: {}", engine_line(session));
        }
        Command::Engine(Some(name)) => match name.parse::<EngineKind>() {
            Ok(kind) => {
                session.set_engine(kind);
                let _ = writeln!(out, "engine: {}", engine_line(session));
            }
            Err(e) => eprintln!("{e}"),
        },
        Command::Fields(prefix) => {
            show_fields(session, prefix.as_deref(), terminal_width(&view.term), out)
        }
        Command::Save(name) => save_last(&name, view, out),
        Command::Saved => list_saved(view, out),
        Command::Summary(fields) => {
            let q = crate::commands::summary_query(
                view.last.as_ref().map(|l| l.query.as_str()),
                &fields,
            );
            let _ = writeln!(out, "{q}");
            search(&q, session, view, out);
        }
        Command::Run(name) => {
            match saved_dir(view).and_then(|d| saved::load(&d, &name).map_err(|e| e.to_string())) {
                Ok(q) => {
                    let _ = writeln!(out, "{q}");
                    search(&q, session, view, out);
                }
                Err(e) => eprintln!("error: {e}"),
            }
        }
        Command::Jq(filter) => jq_last(&filter, session, view, out),
        Command::Export(path) => export_last(&path, view, out),
    }
}

fn show_compile_error(e: glaux_compiler::CompileError, color: bool) {
    eprint!("{}", render_report(&e.with_source(""), color));
}

/// `\from T`: keeps the window's end, if it has one.
fn set_from(t: &str, session: &mut Session, color: bool, out: &mut dyn Write) {
    match parse_time(t) {
        Ok(from) => {
            let to = match &session.window {
                WindowSpec::Range { to, .. } => *to,
                WindowSpec::Until(to) => Some(*to),
                _ => None,
            };
            session.window = WindowSpec::Range { from, to };
            show_window(session, out);
        }
        Err(e) => show_compile_error(e, color),
    }
}

/// `\to T` (or `now`): keeps the window's start, if it has one.
fn set_to(t: &str, session: &mut Session, color: bool, out: &mut dyn Write) {
    let to = if t == "now" {
        Ok(None)
    } else {
        parse_time(t).map(Some)
    };
    match to {
        Ok(to) => {
            session.window = match (&session.window, to) {
                (WindowSpec::Range { from, .. }, to) => WindowSpec::Range { from: *from, to },
                (_, Some(to)) => WindowSpec::Until(to),
                (_, None) => WindowSpec::Default,
            };
            show_window(session, out);
        }
        Err(e) => show_compile_error(e, color),
    }
}

/// `\limit N` (0: no limit).
fn set_limit(n: &str, session: &mut Session, out: &mut dyn Write) {
    match n.parse::<u64>() {
        Ok(n) => {
            session.limit = (n != 0).then_some(n);
            let _ = writeln!(
                out,
                "limit: {}",
                if n == 0 {
                    "none".to_string()
                } else {
                    n.to_string()
                }
            );
        }
        Err(_) => eprintln!("\\limit takes a number (0: no limit)"),
    }
}

/// `\save NAME`: the last query, under NAME.
fn save_last(name: &str, view: &View, out: &mut dyn Write) {
    let Some(last) = &view.last else {
        eprintln!("nothing to save yet: run a query first");
        return;
    };
    match saved_dir(view)
        .and_then(|d| saved::save(&d, name, &last.query).map_err(|e| e.to_string()))
    {
        Ok(path) => {
            let _ = writeln!(out, "saved `{name}` ({})", path.display());
        }
        Err(e) => eprintln!("error: {e}"),
    }
}

/// `\saved`: every saved query, by name.
fn list_saved(view: &View, out: &mut dyn Write) {
    match saved_dir(view).and_then(|d| {
        let names = saved::list(&d).map_err(|e| e.to_string())?;
        Ok((d, names))
    }) {
        Ok((_, names)) if names.is_empty() => {
            let _ = writeln!(out, "no saved queries yet (\\save NAME saves the last one)");
        }
        Ok((d, names)) => {
            let w = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
            for n in names {
                let q = saved::load(&d, &n).unwrap_or_else(|e| format!("({e})"));
                let _ = writeln!(out, "  {n:w$}  {}", q.replace('\n', " "));
            }
        }
        Err(e) => eprintln!("error: {e}"),
    }
}

/// `\jq FILTER` over the last results, paged.
fn jq_last(filter: &str, session: &Session, view: &View, out: &mut dyn Write) {
    let Some(last) = &view.last else {
        eprintln!("no results yet: run a query, then \\jq FILTER");
        return;
    };
    match crate::jq::apply(filter, &last.hits) {
        Ok(result) => {
            let mut text = Vec::new();
            for v in &result.values {
                let _ = writeln!(text, "{v}");
            }
            let _busy = session.busy();
            let _ = crate::pager::show(&text, view.term.height, out);
            if result.failed > 0 {
                eprintln!(
                    "jq: the filter failed on {} of {} records (first: {})",
                    result.failed,
                    last.hits.len(),
                    result.first_error.unwrap_or_default()
                );
            }
        }
        Err(e) => eprintln!("error: {e}"),
    }
}

/// `\export FILE`: the last results, in the format FILE's extension names.
fn export_last(path: &std::path::Path, view: &View, out: &mut dyn Write) {
    let Some(last) = &view.last else {
        eprintln!("no results yet: run a query, then \\export FILE");
        return;
    };
    let Some(format) = Format::of_path(path) else {
        eprintln!(
            "error: {} has no known extension: use .json, .ndjson (.jsonl), .csv or .txt",
            path.display()
        );
        return;
    };
    match export(path, &last.hits, format) {
        Ok(()) => {
            let _ = writeln!(
                out,
                "wrote {} record{} to {}",
                last.hits.len(),
                if last.hits.len() == 1 { "" } else { "s" },
                path.display()
            );
        }
        Err(e) => eprintln!("error: writing {}: {e}", path.display()),
    }
}

fn saved_dir(view: &View) -> Result<PathBuf, String> {
    view.saved_dir
        .clone()
        .ok_or_else(|| "no data directory to keep saved queries in (set XDG_DATA_HOME)".into())
}

/// Writes `hits` to `path` in `format`, whole messages, no colours; the
/// file appears complete or not at all.
fn export(path: &std::path::Path, hits: &[Hit], format: Format) -> std::io::Result<()> {
    let mut buf = Vec::new();
    output::write_hits(&mut buf, hits, format, &Look::default())?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("export");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, buf)?;
    std::fs::rename(&tmp, path)
}

/// `\fields [PREFIX]`: name, records with it, examples.
fn show_fields(session: &Session, prefix: Option<&str>, width: usize, out: &mut dyn Write) {
    let Some(catalog) = session.catalog() else {
        let why = if session.engine_kind() == EngineKind::Athena {
            "the field catalog describes the local store; on Athena there is none yet"
        } else {
            "this store has no field catalog (ingest writes one; re-ingest older stores)"
        };
        eprintln!("{why}");
        return;
    };
    let prefix = prefix.unwrap_or("").to_lowercase();
    let rows: Vec<(&String, &u64)> = catalog
        .fields
        .iter()
        .filter(|(f, _)| f.to_lowercase().starts_with(&prefix))
        .collect();
    if rows.is_empty() {
        let _ = writeln!(out, "no field starts with `{prefix}`");
        return;
    }
    let w = rows
        .iter()
        .map(|(f, _)| f.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(out, "{:w$}  {:>9}  examples", "field", "records");
    for (f, n) in rows {
        let examples: Vec<String> = catalog
            .examples_of(f)
            .into_iter()
            .take(4)
            .map(|(v, _)| crate::complete::quote_value(v))
            .collect();
        let line = format!("{f:w$}  {n:>9}  {}", examples.join(", "));
        let line = if line.chars().count() > width.max(40) {
            line.chars().take(width.max(40) - 1).collect::<String>() + "…"
        } else {
            line
        };
        let _ = writeln!(out, "{line}");
    }
}

fn show_window(session: &Session, out: &mut dyn Write) {
    match glaux_compiler::TimeWindow::fix(&session.window, session.clock.now()) {
        Ok(w) => {
            let _ = writeln!(out, "window: {w}");
        }
        Err(e) => {
            let _ = writeln!(out, "window: {} (fix it before searching)", e.message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_input() {
        assert!(is_incomplete("(a OR"));
        assert!(is_incomplete("\"failed"));
        assert!(is_incomplete("a AND"));
        assert!(is_incomplete("NOT"));
        assert!(!is_incomplete("/\"/"), "a regex holding a quote is whole");
        assert!(
            !is_incomplete("/[(]/"),
            "a regex holding a parenthesis is whole"
        );
        assert!(!is_incomplete("a AND b"));
        assert!(!is_incomplete("\"a ( b\""));
        assert!(!is_incomplete("a)"));
    }

    #[test]
    fn window_labels() {
        use chrono::TimeZone;
        let t = chrono::Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap();
        assert_eq!(window_label(&WindowSpec::Default), "last 24h");
        assert_eq!(
            window_label(&WindowSpec::Since(chrono::Duration::hours(2))),
            "since 2h"
        );
        assert_eq!(
            window_label(&WindowSpec::Since(chrono::Duration::minutes(90))),
            "since 90m"
        );
        assert_eq!(
            window_label(&WindowSpec::Range { from: t, to: None }),
            "2024-05-01T10:00 → now"
        );
        assert_eq!(
            window_label(&WindowSpec::Until(t)),
            "24h to 2024-05-01T10:00"
        );
    }
}
