//! The query AST: what the user wrote, with the span of every node.
//!
//! Plain data; the parser builds it, [`crate::resolve`] reads it, and
//! `Display` prints it back in canonical form (explicit `AND`/`OR`, minimal
//! parentheses, phrases quoted).

use std::fmt;

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
}

impl From<Span> for miette::SourceSpan {
    fn from(s: Span) -> Self {
        (s.start, s.len()).into()
    }
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub expr: Expr,
}

/// A boolean expression over matches.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `a OR b OR c` (two or more clauses)
    Or { clauses: Vec<Expr>, span: Span },
    /// `a AND b`, `a b` (two or more clauses)
    And { clauses: Vec<Expr>, span: Span },
    /// `NOT a`
    Not { expr: Box<Expr>, span: Span },
    /// `a`, `"a b"`, `field:a`, `a*`
    Match(Match),
}

impl Expr {
    pub fn span(&self) -> Span {
        match self {
            Expr::Or { span, .. } | Expr::And { span, .. } | Expr::Not { span, .. } => *span,
            Expr::Match(m) => m.span,
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
    /// A bare term: `ConsoleLogin`, `10.0.0.1`.
    Term(String),
    /// A quoted phrase: `"failed password"`.
    Phrase(String),
    /// A term with a trailing `*`; the text excludes the `*`: `Describe*`.
    Prefix(String),
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.expr.fmt(f)
    }
}

/// Binding strength, for minimal parentheses when printing.
fn strength(e: &Expr) -> u8 {
    match e {
        Expr::Or { .. } => 0,
        Expr::And { .. } => 1,
        Expr::Not { .. } | Expr::Match(_) => 2,
    }
}

fn write_child(f: &mut fmt::Formatter<'_>, child: &Expr, parent: u8) -> fmt::Result {
    if strength(child) <= parent && !matches!(child, Expr::Match(_)) {
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
            Expr::Match(m) => m.fmt(f),
        }
    }
}

impl fmt::Display for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(field) = &self.field {
            write!(f, "{}:", field.name)?;
        }
        match &self.value.kind {
            ValueKind::Term(t) => f.write_str(t),
            ValueKind::Prefix(p) => write!(f, "{p}*"),
            ValueKind::Phrase(p) => {
                f.write_str("\"")?;
                for c in p.chars() {
                    if c == '"' || c == '\\' {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("\"")
            }
        }
    }
}
