//! Errors of the compiler, as values. Each carries the span of the query text
//! it is about and a hint; they render as miette diagnostics at the edge (the
//! CLI and REPL), never here.

use std::fmt;

use miette::{Diagnostic, LabeledSpan, SourceCode};

use crate::ast::Span;

/// What went wrong. The doc comment of each variant shows an input that
/// triggers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// `` (nothing but whitespace)
    EmptyQuery,
    /// `(a OR b`
    UnclosedParen,
    /// `a)`
    UnmatchedParen,
    /// `"failed password`
    UnclosedQuote,
    /// `a AND`
    DanglingOperator,
    /// `a:b:` / `:x` — anything pest rejects that has no better explanation
    Syntax,
    /// `"C:\Windows"` (an escape other than `\"` or `\\` inside quotes)
    UnknownEscape,
    /// a construct glaux parses but cannot run yet
    NotYetSupported,
    /// `a | head -1`, `a | stats count() by`, `a | timechart span=0m count()`
    BadStage,
    /// `a | stat count()`
    UnknownStage,
    /// `a | stats cnt()`
    UnknownAggregate,
    /// `a | where count > 5` with no earlier stage making `count`
    UnknownColumn,
    /// `a^2`, `a~`, `x[1]` — a reserved character in a bare term
    Reserved,
    /// `10.0.0.0/33`
    BadCidr,
    /// `bytes:[5 TO 1]`, `bytes:[a TO b]`
    BadRange,
    /// `/a(/`, `/\d+/`
    BadRegex,
    /// `evntName:x` when the store knows `eventName`
    UnknownField,
    /// a query whose SQL would exceed Athena's limits
    TooLarge,
    /// warning: `a or b` (lower-case operator words are searched as terms)
    LowercaseOperator,
    /// warning: `*admin` (reads every token of the window)
    Costly,
    /// warning: `/(a|aa)+b/` (a backtracking engine, Athena's, can take
    /// exponential time on it)
    SlowRegex,
    /// `*`, `foo/ba*`
    BadWildcard,
    /// `!!!` (a term with no searchable token in it)
    NoToken,
    /// `--from 2024-13-01`
    BadTime,
    /// `--from 2024-05-02 --to 2024-05-01`
    EmptyWindow,
    /// a database name Athena cannot use
    BadName,
    /// `((((…` nested deeper than [`crate::parser::MAX_DEPTH`]
    TooDeep,
}

impl ErrorKind {
    /// Stable diagnostic code, shown to users and pinned by snapshots.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::EmptyQuery => "glaux::empty_query",
            ErrorKind::UnclosedParen => "glaux::unclosed_paren",
            ErrorKind::UnmatchedParen => "glaux::unmatched_paren",
            ErrorKind::UnclosedQuote => "glaux::unclosed_quote",
            ErrorKind::DanglingOperator => "glaux::dangling_operator",
            ErrorKind::Syntax => "glaux::syntax",
            ErrorKind::UnknownEscape => "glaux::unknown_escape",
            ErrorKind::NotYetSupported => "glaux::not_yet_supported",
            ErrorKind::BadStage => "glaux::bad_stage",
            ErrorKind::UnknownStage => "glaux::unknown_stage",
            ErrorKind::UnknownAggregate => "glaux::unknown_aggregate",
            ErrorKind::UnknownColumn => "glaux::unknown_column",
            ErrorKind::Reserved => "glaux::reserved",
            ErrorKind::BadCidr => "glaux::bad_cidr",
            ErrorKind::BadRange => "glaux::bad_range",
            ErrorKind::BadRegex => "glaux::bad_regex",
            ErrorKind::UnknownField => "glaux::unknown_field",
            ErrorKind::TooLarge => "glaux::too_large",
            ErrorKind::LowercaseOperator => "glaux::lowercase_operator",
            ErrorKind::Costly => "glaux::costly",
            ErrorKind::SlowRegex => "glaux::slow_regex",
            ErrorKind::BadWildcard => "glaux::bad_wildcard",
            ErrorKind::NoToken => "glaux::no_token",
            ErrorKind::BadTime => "glaux::bad_time",
            ErrorKind::EmptyWindow => "glaux::empty_window",
            ErrorKind::BadName => "glaux::bad_name",
            ErrorKind::TooDeep => "glaux::too_deep",
        }
    }
}

/// A compile error: kind, message, the span it points at, a label for the
/// span and a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    pub kind: ErrorKind,
    pub message: String,
    /// `None` when the error is about an option, not the query text.
    pub span: Option<Span>,
    pub label: String,
    pub help: Option<String>,
    pub severity: Severity,
}

/// Whether a message stops the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The query does not run.
    Error,
    /// The query runs, but probably not as the user meant, or slowly.
    Warning,
}

impl CompileError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CompileError {
            kind,
            message: message.into(),
            span: None,
            label: String::new(),
            help: None,
            severity: Severity::Error,
        }
    }

    /// Marks this as a warning rather than an error.
    pub fn warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    pub fn is_warning(&self) -> bool {
        self.severity == Severity::Warning
    }

    pub fn at(mut self, span: Span, label: impl Into<String>) -> Self {
        self.span = Some(span);
        self.label = label.into();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Attaches the query text so the error renders with the span underlined.
    pub fn with_source(self, source: &str) -> Report {
        Report {
            error: Box::new(self),
            source: source.to_string(),
        }
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CompileError {}

/// A [`CompileError`] together with the query it is about: what miette renders.
#[derive(Debug, Clone)]
pub struct Report {
    pub error: Box<CompileError>,
    pub source: String,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for Report {}

impl Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.error.kind.code()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.error.severity {
            Severity::Warning => miette::Severity::Warning,
            Severity::Error => miette::Severity::Error,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.error
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.error.span.map(|_| &self.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.error.span?;
        let label = (!self.error.label.is_empty()).then(|| self.error.label.clone());
        Some(Box::new(std::iter::once(LabeledSpan::new(
            label,
            span.start,
            span.end - span.start,
        ))))
    }
}
