//! The query AST: what the user wrote, with the span of every node.
//!
//! Plain data; the parser builds it, [`crate::resolve`] gives it meaning, the
//! reference evaluator (crate `glaux-reference`) defines that meaning, and
//! `Display` prints it back in canonical form: explicit `AND`/`OR`/`NOT`,
//! minimal parentheses, `-x` as `NOT x`, `+x` as `x`, field groups
//! distributed, comparisons as ranges, reserved characters escaped. Parsing
//! the canonical form gives the same tree (spans aside): a property test.

use std::fmt;

use crate::values::Cidr;

mod stage;
pub use stage::*;

/// Byte offsets `[start, end)` into the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(s: Span) -> Self {
        (s.start, s.len()).into()
    }
}

/// A parsed query: a search, then the stages its records go through
/// (none for a plain search).
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub expr: Expr,
    pub stages: Vec<Stage>,
}

/// A boolean expression over matches.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `a OR b OR c`, `a || b` (two or more clauses)
    Or { clauses: Vec<Expr>, span: Span },
    /// `a AND b`, `a && b`, `a b` (two or more clauses)
    And { clauses: Vec<Expr>, span: Span },
    /// `NOT a`, `!a`, `-a`
    Not { expr: Box<Expr>, span: Span },
    /// `*` alone: every record in the window.
    All { span: Span },
    /// `a`, `"a b"`, `field:a`, `a*`, `field:[1 TO 2]`, ...
    Match(Match),
}

impl Expr {
    pub fn span(&self) -> Span {
        match self {
            Expr::Or { span, .. }
            | Expr::And { span, .. }
            | Expr::Not { span, .. }
            | Expr::All { span } => *span,
            Expr::Match(m) => m.span,
        }
    }

    /// The same tree with every span zeroed: equality up to positions.
    pub fn without_spans(&self) -> Expr {
        let z = Span::default();
        match self {
            Expr::Or { clauses, .. } => Expr::Or {
                clauses: clauses.iter().map(Expr::without_spans).collect(),
                span: z,
            },
            Expr::And { clauses, .. } => Expr::And {
                clauses: clauses.iter().map(Expr::without_spans).collect(),
                span: z,
            },
            Expr::Not { expr, .. } => Expr::Not {
                expr: Box::new(expr.without_spans()),
                span: z,
            },
            Expr::All { .. } => Expr::All { span: z },
            Expr::Match(m) => Expr::Match(Match {
                field: m.field.as_ref().map(|f| Field {
                    name: f.name.clone(),
                    span: z,
                }),
                value: Value {
                    kind: m.value.kind.clone(),
                    span: z,
                },
                span: z,
            }),
        }
    }
}

/// One search clause: an optional field and a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub field: Option<Field>,
    pub value: Value,
    pub span: Span,
}

/// The record's time (from its timestamp, as stored in `time_ms`).
pub const TIME_FIELD: &str = "@time";
/// The record's log type (`cloudtrail`, `json`, `text`, or a tag given at ingest).
pub const TAG_FIELD: &str = "tag";
/// `_exists_:field` is another spelling of `field:*`.
pub const EXISTS_FIELD: &str = "_exists_";

/// A field path as written: `userIdentity.userName`. Case-sensitive.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub span: Span,
}

/// A value to match, with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub kind: ValueKind,
    pub span: Span,
}

/// What kind of value: the text is as the user meant it (quotes and escapes
/// removed), not yet tokenized.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    /// A bare term: `ConsoleLogin`, `10.0.0.1`, `C\:\\Windows`.
    Term(String),
    /// A quoted phrase: `"failed password"`.
    Phrase(String),
    /// A term with unescaped `*` or `?`: `Describe*`, `*admin*`, `i-0?f`.
    Wildcard(Vec<WildPart>),
    /// `field:="Console Login"`, `field:=*S3\ Browser*`: a test of the
    /// field's whole value (case-insensitive), not of its tokens. Quoted,
    /// one literal part; bare, its wildcards kept.
    Whole(Vec<WildPart>),
    /// `/regex/`, matched against whole tokens; the text between the slashes
    /// with `\/` unescaped.
    Regex(String),
    /// `[a TO b]`, `{a TO *]`, `>a`, `<=b`: bounds as written.
    Range(Range),
    /// `10.0.0.0/8`, `2001:db8::/32`: addresses in the block.
    Cidr(Cidr),
    /// `field:*` or `_exists_:field`: the field has a value.
    Exists,
}

/// A piece of a wildcard term.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WildPart {
    /// Literal text (escapes removed).
    Text(String),
    /// `*`: any run of characters, possibly empty.
    Any,
    /// `?`: exactly one character.
    One,
}

/// A range: each end open, inclusive or exclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub lower: Bound,
    pub upper: Bound,
}

/// One end of a range. The text is a number, a time or date math
/// (`now-1h/h`), interpreted by the resolver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    Unbounded,
    Inclusive(String),
    Exclusive(String),
}

impl Bound {
    pub fn text(&self) -> Option<&str> {
        match self {
            Bound::Unbounded => None,
            Bound::Inclusive(t) | Bound::Exclusive(t) => Some(t),
        }
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.expr.fmt(f)?;
        for stage in &self.stages {
            write!(f, " | {stage}")?;
        }
        Ok(())
    }
}

/// Binding strength, for minimal parentheses when printing.
fn strength(e: &Expr) -> u8 {
    match e {
        Expr::Or { .. } => 0,
        Expr::And { .. } => 1,
        Expr::Not { .. } | Expr::Match(_) | Expr::All { .. } => 2,
    }
}

fn write_child(f: &mut fmt::Formatter<'_>, child: &Expr, parent: u8) -> fmt::Result {
    if strength(child) <= parent && !matches!(child, Expr::Match(_) | Expr::All { .. }) {
        write!(f, "({child})")
    } else {
        write!(f, "{child}")
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Or { clauses, .. } | Expr::And { clauses, .. } => {
                let (op, level) = match self {
                    Expr::Or { .. } => (" OR ", 0),
                    _ => (" AND ", 1),
                };
                for (i, c) in clauses.iter().enumerate() {
                    if i > 0 {
                        f.write_str(op)?;
                    }
                    write_child(f, c, level)?;
                }
                Ok(())
            }
            Expr::Not { expr, .. } => {
                f.write_str("NOT ")?;
                write_child(f, expr, 1)
            }
            Expr::All { .. } => f.write_str("*"),
            Expr::Match(m) => m.fmt(f),
        }
    }
}

/// Characters a bare term must escape wherever they are.
pub const RESERVED_IN_TERM: &[char] = &[
    '(', ')', '"', ':', '\\', '*', '?', '[', ']', '{', '}', '^', '~', '|',
];
/// Characters a bare term must escape when they come first.
pub const RESERVED_AT_START: &[char] = &['+', '-', '!', '/', '<', '>', '=', '&'];

/// Writes literal text the way a bare term needs it: reserved characters and
/// whitespace escaped with `\`. `in_field`: after `field:`, where `:` needs
/// no escape.
fn write_escaped(
    f: &mut fmt::Formatter<'_>,
    text: &str,
    first: bool,
    in_field: bool,
) -> fmt::Result {
    for (i, c) in text.chars().enumerate() {
        let reserved = (RESERVED_IN_TERM.contains(&c) && !(in_field && c == ':'))
            || c.is_whitespace()
            || (first && i == 0 && RESERVED_AT_START.contains(&c));
        if reserved {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    Ok(())
}

fn write_quoted(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    f.write_str(&quoted(text))
}

/// `text` as a quoted value of the language: in quotes, only `"` and `\`
/// are escaped (with `\`); everything else is literal.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn write_bound_text(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    let plain = !text.is_empty()
        && text != "*"
        && text != "TO"
        && !text
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '[' | ']' | '{' | '}' | '"' | '\\'));
    if plain {
        f.write_str(text)
    } else {
        write_quoted(f, text)
    }
}

impl fmt::Display for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let in_field = self.field.is_some();
        if let Some(field) = &self.field {
            write!(f, "{}:", field.name)?;
        }
        self.value.kind.write(f, in_field)
    }
}

impl ValueKind {
    fn write(&self, f: &mut fmt::Formatter<'_>, in_field: bool) -> fmt::Result {
        match self {
            ValueKind::Term(t) => write_escaped(f, t, true, in_field),
            ValueKind::Phrase(p) => write_quoted(f, p),
            ValueKind::Wildcard(parts) => {
                for (i, part) in parts.iter().enumerate() {
                    match part {
                        WildPart::Text(t) => write_escaped(f, t, i == 0, in_field)?,
                        WildPart::Any => f.write_str("*")?,
                        WildPart::One => f.write_str("?")?,
                    }
                }
                Ok(())
            }
            ValueKind::Whole(parts) => {
                f.write_str("=")?;
                match parts.as_slice() {
                    [WildPart::Text(t)] => write_quoted(f, t),
                    parts => ValueKind::Wildcard(parts.to_vec()).write(f, in_field),
                }
            }
            ValueKind::Regex(r) => {
                f.write_str("/")?;
                let mut chars = r.chars();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            f.write_str("\\")?;
                            if let Some(n) = chars.next() {
                                write!(f, "{n}")?;
                            }
                        }
                        '/' => f.write_str("\\/")?,
                        c => write!(f, "{c}")?,
                    }
                }
                f.write_str("/")
            }
            ValueKind::Range(r) => {
                f.write_str(match r.lower {
                    Bound::Exclusive(_) => "{",
                    _ => "[",
                })?;
                match r.lower.text() {
                    Some(t) => write_bound_text(f, t)?,
                    None => f.write_str("*")?,
                }
                f.write_str(" TO ")?;
                match r.upper.text() {
                    Some(t) => write_bound_text(f, t)?,
                    None => f.write_str("*")?,
                }
                f.write_str(match r.upper {
                    Bound::Exclusive(_) => "}",
                    _ => "]",
                })
            }
            ValueKind::Cidr(c) => write_escaped(f, &c.to_string(), false, in_field),
            ValueKind::Exists => f.write_str("*"),
        }
    }
}
