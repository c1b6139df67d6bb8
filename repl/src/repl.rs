//! The REPL: rustyline with history and multi-line input; backslash commands
//! are a [`Command`] enum whose help table is generated from it.
//!
//! Input is incomplete (Enter continues on the next line) while a quote or a
//! parenthesis is open or the line ends with `AND`/`OR`/`NOT`.

use std::io::Write;
use std::path::PathBuf;

use glaux_compiler::WindowSpec;
use glaux_compiler::window::{parse_duration, parse_time};
use rustyline::error::ReadlineError;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Config, Editor, Helper};

use crate::config::EngineKind;
use crate::output::{self, Format};
use crate::session::{self, SearchError, Session};
use crate::{render_report, search_error};

/// A backslash command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Quit,
    Explain(String),
    Since(String),
    From(String),
    To(String),
    Window,
    WindowReset,
    Limit(String),
    Format(String),
    Sql(Option<bool>),
    Engine(Option<String>),
    Refresh,
}

/// (usage, description) per command, in help order.
pub const COMMANDS: &[(&str, &str)] = &[
    ("\\help, \\?", "show this help"),
    (
        "\\explain QUERY",
        "show the Athena SQL for QUERY without running it",
    ),
    (
        "\\since DURATION",
        "search the last DURATION: 30s, 15m, 1h, 2d, 1w",
    ),
    (
        "\\from TIME",
        "start the window at TIME (RFC 3339 or 2024-05-01T10:00, UTC)",
    ),
    (
        "\\to TIME",
        "end the window at TIME (exclusive); `\\to now` clears it",
    ),
    (
        "\\window",
        "show the current window; `\\window reset` goes back to the last 24 hours",
    ),
    ("\\limit N", "show at most N records (0: no limit)"),
    ("\\format FORMAT", "table, json, ndjson or csv"),
    (
        "\\sql on|off",
        "print the SQL above each result (on by default)",
    ),
    (
        "\\engine local|athena",
        "run searches on the embedded engine or on Amazon Athena",
    ),
    (
        "\\refresh",
        "re-read the store (after an ingest in another shell)",
    ),
    ("\\quit, \\q", "leave (or Ctrl-D)"),
];

impl std::str::FromStr for Command {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (name, arg) = match s.split_once(char::is_whitespace) {
            Some((n, a)) => (n, a.trim().to_string()),
            None => (s, String::new()),
        };
        let need = |what: &str| -> Result<String, String> {
            if arg.is_empty() {
                Err(format!("{name} needs {what}"))
            } else {
                Ok(arg.clone())
            }
        };
        Ok(match name {
            "\\help" | "\\?" | "\\h" => Command::Help,
            "\\quit" | "\\q" | "\\exit" => Command::Quit,
            "\\explain" => Command::Explain(need("a query")?),
            "\\since" => Command::Since(need("a duration, e.g. 1h")?),
            "\\from" => Command::From(need("a time, e.g. 2024-05-01T10:00")?),
            "\\to" => Command::To(need("a time, or `now`")?),
            "\\window" => {
                if arg == "reset" {
                    Command::WindowReset
                } else {
                    Command::Window
                }
            }
            "\\limit" => Command::Limit(need("a number")?),
            "\\format" => Command::Format(need("table, json, ndjson or csv")?),
            "\\sql" => Command::Sql(match arg.as_str() {
                "on" => Some(true),
                "off" => Some(false),
                "" => None,
                _ => return Err("\\sql takes on or off".into()),
            }),
            "\\engine" => Command::Engine((!arg.is_empty()).then(|| arg.clone())),
            "\\refresh" => Command::Refresh,
            _ => return Err(format!("unknown command {name}; \\help lists them")),
        })
    }
}

/// The help text, generated from [`COMMANDS`].
pub fn help() -> String {
    let w = COMMANDS.iter().map(|(u, _)| u.len()).max().unwrap_or(0);
    let mut out = String::from(
        "Type a query and press Enter, e.g.  eventName:ConsoleLogin AND 10.0.0.1\n\
         Terms match whole tokens; field:value, \"phrases\", AND/OR/NOT (&& || ! -), ( ),\n\
         field:(a OR b), wild*card?, /regex/, bytes:[1 TO 5], bytes:>1000, ip:10.0.0.0/8,\n\
         field:*, @time > now-15m, tag:cloudtrail, * (everything). See docs/language.md.\n\n",
    );
    for (usage, what) in COMMANDS {
        out.push_str(&format!("  {usage:w$}  {what}\n"));
    }
    out
}

/// True while the input is not a whole query yet.
pub fn is_incomplete(input: &str) -> bool {
    let mut depth: i32 = 0;
    let mut in_quote = false;
    let mut escaped = false;
    for c in input.chars() {
        if escaped && !in_quote {
            escaped = false;
            continue;
        }
        if in_quote {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_quote = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_quote = true,
            '\\' => escaped = true,
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
    }
    let last = input.split_whitespace().last().unwrap_or("");
    in_quote || depth > 0 || matches!(last, "AND" | "OR" | "NOT" | "&&" | "||" | "!")
}

struct GlauxHelper;

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

impl rustyline::completion::Completer for GlauxHelper {
    type Candidate = String;
}
impl rustyline::hint::Hinter for GlauxHelper {
    type Hint = String;
}
impl rustyline::highlight::Highlighter for GlauxHelper {}
impl Helper for GlauxHelper {}

fn history_path() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("glaux").join("history.txt"))
}

/// REPL settings that are not part of a search.
struct View {
    format: Format,
    show_sql: bool,
    color: bool,
}

/// Runs the REPL until Ctrl-D or `\quit`. Returns the exit status.
pub fn run(mut session: Session, color: bool) -> i32 {
    let config = Config::builder().auto_add_history(true).build();
    let mut editor: Editor<GlauxHelper, rustyline::history::DefaultHistory> =
        match Editor::with_config(config) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: cannot start the line editor: {e}");
                return crate::EXIT_FAILURE;
            }
        };
    editor.set_helper(Some(GlauxHelper));
    let history = history_path();
    if let Some(h) = &history {
        let _ = std::fs::create_dir_all(h.parent().expect("history has a parent"));
        let _ = editor.load_history(h);
    }
    let mut view = View {
        format: Format::Table,
        show_sql: true,
        color,
    };
    let stdout = std::io::stdout();
    println!(
        "glaux {} — {} · window: last 24 hours · \\help for help · Ctrl-D to quit",
        env!("CARGO_PKG_VERSION"),
        engine_line(&session),
    );
    if session.engine_kind() == EngineKind::Local && !session.store.exists() {
        println!(
            "note: no store at {} yet; run `glaux ingest --store DIR PATH...` or `glaux demo`",
            session.store.root().display()
        );
    }
    loop {
        let line = match editor.readline("glaux> ") {
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
                Ok(cmd) => apply(cmd, &mut session, &mut view, &mut out),
                Err(e) => eprintln!("{e}"),
            }
        } else {
            search(input, &mut session, &view, &mut out);
        }
        let _ = out.flush();
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    crate::EXIT_OK
}

/// `local store /path` or `athena (database glaux, workgroup primary)`.
fn engine_line(session: &Session) -> String {
    match session.engine_kind() {
        EngineKind::Local => format!("local store {}", session.store.root().display()),
        EngineKind::Athena => {
            let a = session.settings.athena();
            format!(
                "Athena, database {}, workgroup {}",
                session.database, a.workgroup
            )
        }
    }
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(160)
}

fn search(input: &str, session: &mut Session, view: &View, out: &mut dyn Write) {
    match session.search(input) {
        Ok(outcome) => {
            eprint!(
                "{}",
                crate::render_warnings(&outcome.compiled, input, view.color)
            );
            if view.show_sql {
                let _ = writeln!(out, "{}\n", crate::sql_statement(&outcome.compiled));
            }
            let width = (view.format == Format::Table).then(terminal_width);
            let _ = output::write_hits(out, &outcome.hits, view.format, width);
            let _ = writeln!(out, "{}", session::footer(&outcome));
        }
        Err(SearchError::Compile(r)) => {
            eprint!("{}", render_report(&r, view.color));
        }
        Err(e) => {
            search_error(&mut std::io::stderr(), e, view.color);
        }
    }
}

fn apply(cmd: Command, session: &mut Session, view: &mut View, out: &mut dyn Write) {
    let show_err = |e: glaux_compiler::CompileError| {
        eprint!("{}", render_report(&e.with_source(""), view.color));
    };
    match cmd {
        Command::Help => {
            let _ = write!(out, "{}", help());
        }
        Command::Quit => {}
        Command::Explain(q) => match session.compile(&q) {
            Ok(c) => {
                eprint!("{}", crate::render_warnings(&c, &q, view.color));
                let _ = writeln!(out, "{}", crate::sql_statement(&c));
            }
            Err(r) => eprint!("{}", render_report(&r, view.color)),
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
            Err(e) => show_err(e),
        },
        Command::From(t) => match parse_time(&t) {
            Ok(from) => {
                let to = match &session.window {
                    WindowSpec::Range { to, .. } => *to,
                    WindowSpec::Until(to) => Some(*to),
                    _ => None,
                };
                session.window = WindowSpec::Range { from, to };
                show_window(session, out);
            }
            Err(e) => show_err(e),
        },
        Command::To(t) => {
            let to = if t == "now" {
                Ok(None)
            } else {
                parse_time(&t).map(Some)
            };
            match to {
                Ok(to) => {
                    session.window = match (&session.window, to) {
                        (WindowSpec::Range { from, .. }, to) => {
                            WindowSpec::Range { from: *from, to }
                        }
                        (_, Some(to)) => WindowSpec::Until(to),
                        (_, None) => WindowSpec::Default,
                    };
                    show_window(session, out);
                }
                Err(e) => show_err(e),
            }
        }
        Command::Window => show_window(session, out),
        Command::Limit(n) => match n.parse::<u64>() {
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
        },
        Command::Format(f) => match f.parse::<Format>() {
            Ok(f) => view.format = f,
            Err(e) => eprintln!("{e}"),
        },
        Command::Sql(on) => {
            view.show_sql = on.unwrap_or(!view.show_sql);
            let _ = writeln!(out, "sql: {}", if view.show_sql { "on" } else { "off" });
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
    fn commands_parse() {
        assert_eq!("\\q".parse::<Command>(), Ok(Command::Quit));
        assert_eq!(
            "\\since 1h".parse::<Command>(),
            Ok(Command::Since("1h".into()))
        );
        assert_eq!(
            "\\explain a AND b".parse::<Command>(),
            Ok(Command::Explain("a AND b".into()))
        );
        assert_eq!(
            "\\sql off".parse::<Command>(),
            Ok(Command::Sql(Some(false)))
        );
        assert!("\\since".parse::<Command>().is_err());
        assert!("\\nope".parse::<Command>().is_err());
        // Every command in the help table parses.
        for (usage, _) in COMMANDS {
            let name = usage.split([',', ' ']).next().unwrap();
            let arg = match name {
                "\\explain" => " a",
                "\\since" => " 1h",
                "\\from" | "\\to" => " 2024-05-01",
                "\\limit" => " 5",
                "\\format" => " csv",
                "\\sql" => " on",
                _ => "",
            };
            assert!(format!("{name}{arg}").parse::<Command>().is_ok(), "{name}");
        }
    }

    #[test]
    fn incomplete_input() {
        assert!(is_incomplete("(a OR"));
        assert!(is_incomplete("\"failed"));
        assert!(is_incomplete("a AND"));
        assert!(is_incomplete("NOT"));
        assert!(!is_incomplete("a AND b"));
        assert!(!is_incomplete("\"a ( b\""));
        assert!(!is_incomplete("a)"));
    }
}
