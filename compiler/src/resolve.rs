//! [`Query`] → [`Resolved`]: terms tokenized with the shared tokenizer,
//! wildcards checked, the time window fixed against the injected clock.
//! After this stage nothing refers to the query text except spans in errors.

use crate::ast::{Expr, Query, ValueKind};
use crate::error::{CompileError, ErrorKind};
use crate::tokenizer::{normalize_prefix, tokenize};
use crate::window::TimeWindow;

/// A query with meaning attached: a boolean filter over token patterns, and
/// the time window it applies to.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub window: TimeWindow,
    pub filter: Filter,
}

/// Boolean filter over [`Atom`]s.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Atom(Atom),
}

/// One thing to look up in the index: a token pattern, in one field or in any.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Atom {
    /// `None` matches any field, including the text of non-JSON lines.
    pub field: Option<String>,
    pub pattern: Pattern,
}

/// What the tokens must look like.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Pattern {
    /// These tokens, adjacent and in order, in one field value. One token is a
    /// plain term; several are a phrase.
    Tokens(Vec<String>),
    /// One token starting with this (lowercased) prefix.
    Prefix(String),
}

impl std::fmt::Display for Atom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(field) = &self.field {
            write!(f, "{field}:")?;
        }
        match &self.pattern {
            Pattern::Tokens(t) if t.len() == 1 => f.write_str(&t[0]),
            Pattern::Tokens(t) => write!(f, "\"{}\"", t.join(" ")),
            Pattern::Prefix(p) => write!(f, "{p}*"),
        }
    }
}

/// Resolves a parsed query against a fixed window.
pub fn resolve(query: &Query, window: TimeWindow) -> Result<Resolved, CompileError> {
    Ok(Resolved {
        window,
        filter: resolve_expr(&query.expr)?,
    })
}

fn resolve_expr(expr: &Expr) -> Result<Filter, CompileError> {
    Ok(match expr {
        Expr::And { clauses, .. } => {
            Filter::And(clauses.iter().map(resolve_expr).collect::<Result<_, _>>()?)
        }
        Expr::Or { clauses, .. } => {
            Filter::Or(clauses.iter().map(resolve_expr).collect::<Result<_, _>>()?)
        }
        Expr::Not { expr, .. } => Filter::Not(Box::new(resolve_expr(expr)?)),
        Expr::Match(m) => {
            let field = m.field.as_ref().map(|f| f.name.clone());
            let pattern = match &m.value.kind {
                ValueKind::Term(text) | ValueKind::Phrase(text) => {
                    let tokens = tokenize(text);
                    if tokens.is_empty() {
                        return Err(CompileError::new(
                            ErrorKind::NoToken,
                            "nothing searchable in this value",
                        )
                        .at(m.value.span, "only separators here")
                        .help("terms match whole tokens (letters, digits, `_`, and `.-:@` inside them); punctuation alone is never indexed"));
                    }
                    Pattern::Tokens(tokens)
                }
                ValueKind::Prefix(prefix) => {
                    if prefix.is_empty() {
                        return Err(CompileError::new(
                            ErrorKind::BadWildcard,
                            "a wildcard needs at least one character before it",
                        )
                        .at(m.value.span, "matches everything")
                        .help("write a prefix such as `Describe*`; `field:*` (field exists) is not supported yet"));
                    }
                    match normalize_prefix(prefix) {
                        Some(p) => Pattern::Prefix(p),
                        None => {
                            return Err(CompileError::new(
                                ErrorKind::BadWildcard,
                                format!("`{prefix}*` cannot match a single token"),
                            )
                            .at(m.value.span, "the prefix holds a separator")
                            .help("a trailing `*` matches the start of one token; start with a letter or digit and leave out separators such as `/`, `,` or spaces"));
                        }
                    }
                }
            };
            Filter::Atom(Atom { field, pattern })
        }
    })
}
