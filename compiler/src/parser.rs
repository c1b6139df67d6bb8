//! Text → [`Query`]. The only module that sees pest's `Pairs`.
//!
//! Work is split in three so every error has a precise span and a hint:
//! the lexer's check (quotes, parentheses; [`crate::lex`]) that points at
//! the opener, the pest
//! grammar (`grammar/glaux.pest`), and a builder that checks each term for
//! characters reserved by the full language.

use pest::Parser as _;
use pest::iterators::Pair;
use pest_derive::Parser;

use crate::ast::{
    Bound, EXISTS_FIELD, Expr, Field, Match, Query, Range, Span, TIME_FIELD, Value, ValueKind,
    WildPart,
};
use crate::error::{CompileError, ErrorKind};
use crate::lex::{self, too_deep};
use crate::values::{Cidr, CidrError};

pub(crate) mod stages;

#[derive(Parser)]
#[grammar = "../../grammar/glaux.pest"]
struct GlauxGrammar;

/// Parses a query. Never panics; every failure is a [`CompileError`] with a span.
pub fn parse(text: &str) -> Result<Query, CompileError> {
    if text.trim().is_empty() {
        return Err(CompileError::new(ErrorKind::EmptyQuery, "the query is empty")
            .at(Span::new(0, text.len()), "nothing to search for")
            .help("type a term such as `ConsoleLogin`, a field match such as `eventName:ConsoleLogin`, or `\\help`"));
    }
    // The lexer finds where the search ends and what is left open in it
    // (a quote, a parenthesis), and points at the opener.
    let lexed = lex::lex(text);
    if let Some(e) = lexed.search_error() {
        return Err(e.clone());
    }
    let end = lexed.search_end;
    let search = &text[..end];
    if search.trim().is_empty() {
        return Err(CompileError::new(
            ErrorKind::EmptyQuery,
            "a query starts with a search, then its stages",
        )
        .at(Span::new(end, end + 1), "no search before this `|`")
        .help("write `*` for every record in the window: `* | stats count() by eventName`"));
    }
    let mut pairs =
        GlauxGrammar::parse(Rule::query, search).map_err(|e| syntax_error(search, e))?;
    let query = pairs.next().expect("query rule");
    let or_expr = query
        .into_inner()
        .find(|p| p.as_rule() == Rule::or_expr)
        .expect("or_expr inside query");
    let expr = build_or(or_expr, 0)?;
    check_ranges(&expr)?;
    let stages = stages::parse(text, &lexed)?;
    Ok(Query { expr, stages })
}

/// Every range must have a field (from `field:` or a field group).
fn check_ranges(expr: &Expr) -> Result<(), CompileError> {
    match expr {
        Expr::Or { clauses, .. } | Expr::And { clauses, .. } => {
            clauses.iter().try_for_each(check_ranges)
        }
        Expr::Not { expr, .. } => check_ranges(expr),
        Expr::All { .. } => Ok(()),
        Expr::Match(m) => match (&m.field, &m.value.kind) {
            (None, ValueKind::Range(_)) => Err(CompileError::new(
                ErrorKind::Syntax,
                "a range needs a field",
            )
            .at(m.value.span, "which field is this range on?")
            .help("write the field before it, as in `bytes:[1000 TO 5000]` or `@time:[now-1h TO now]`")),
            _ => Ok(()),
        },
    }
}

/// Deepest nesting of parentheses and of consecutive `NOT`s accepted
/// (the lexer counts the parentheses, the builder the `NOT`s).
pub use crate::lex::MAX_DEPTH;

/// Where the stages start: the byte offset of the `|` that ends the search,
/// if `text`'s search part is well-formed and one follows it (what
/// completion asks while a line is being typed).
pub fn stages_start(text: &str) -> Option<usize> {
    let lexed = lex::lex(text);
    (lexed.search_error().is_none() && lexed.search_end < text.len()).then_some(lexed.search_end)
}

const KEYWORDS: [&str; 6] = ["AND", "OR", "NOT", "&&", "||", "!"];

/// Turns a pest error into a diagnostic that says what was expected in words.
fn syntax_error(text: &str, err: pest::error::Error<Rule>) -> CompileError {
    let pos = match err.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let rest = &text[pos..];
    // An operator with nothing on one side (`a AND`, `OR a`, `(a OR) b`).
    let is_boundary = |c: Option<char>| c.is_none_or(|c| c.is_whitespace() || c == '(' || c == ')');
    let before = text[..pos].trim_end();
    let found = KEYWORDS
        .iter()
        .find_map(|kw| {
            let head = before.strip_suffix(kw)?;
            is_boundary(head.chars().next_back()).then_some((*kw, head.len()))
        })
        .or_else(|| {
            KEYWORDS.iter().find_map(|kw| {
                let after = rest.strip_prefix(kw)?;
                is_boundary(after.chars().next()).then_some((*kw, pos))
            })
        });
    if let Some((kw, start)) = found {
        let span = Span::new(start, start + kw.len());
        let prior = text[..start].trim_end();
        let binary = !matches!(kw, "NOT" | "!");
        let nothing_before = prior.is_empty()
            || prior.ends_with('(')
            || ["AND", "OR", "&&", "||"].iter().any(|op| {
                prior.ends_with(op)
                    && is_boundary(prior[..prior.len() - op.len()].chars().next_back())
            });
        let side = if binary && nothing_before {
            "before"
        } else {
            "after"
        };
        let search = if kw.chars().all(|c| c.is_ascii_alphabetic()) {
            format!(
                "; to search for the word itself, quote it: \"{}\"",
                kw.to_lowercase()
            )
        } else {
            String::new()
        };
        return CompileError::new(
            ErrorKind::DanglingOperator,
            format!("`{kw}` needs a clause {side} it"),
        )
        .at(span, format!("nothing {side} this `{kw}`"))
        .help(format!("remove `{kw}`, or add a term {side} it{search}"));
    }
    let next_char_len = rest.chars().next().map_or(0, char::len_utf8);
    let span = Span::new(pos, pos + next_char_len);
    if let Some(err) = colon_error(text, pos) {
        return err;
    }
    if rest.is_empty() {
        return CompileError::new(ErrorKind::Syntax, "the query ends too early")
            .at(Span::new(pos, pos), "expected a term here")
            .help("finish the clause, e.g. `field:value`");
    }
    CompileError::new(
        ErrorKind::Syntax,
        format!("unexpected `{}`", &rest[..next_char_len]),
    )
    .at(span, format!("expected {}", expected_words(&err)))
    .help("see `\\help` for the query syntax")
}

/// Explains errors around a `:`: no value after `field:`, a field group, a
/// bare `::` (IPv6), a prefix operator before a field, a colon after text
/// that is not a field name.
fn colon_error(text: &str, pos: usize) -> Option<CompileError> {
    let is_sep = |c: char| c.is_whitespace() || c == '(' || c == ')';
    let colon = if text[pos..].starts_with(':') {
        pos
    } else if text[..pos].ends_with(':') {
        pos - 1
    } else {
        return None;
    };
    let word_start = text[..colon]
        .char_indices()
        .rfind(|&(_, c)| is_sep(c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word_end = text[colon..].find(is_sep).map_or(text.len(), |i| colon + i);
    let word = &text[word_start..word_end];
    let field_name = &text[word_start..colon];
    let colon_span = Span::new(colon, colon + 1);
    if word.contains("::") {
        return Some(
            CompileError::new(ErrorKind::Syntax, format!("`{word}` must be quoted"))
                .at(Span::new(word_start, word_end), "`::` cannot appear in a bare term")
                .help(format!(
                    "quote it: \"{word}\", or escape the colons: `{}` (IPv6 addresses are matched whole either way)",
                    word.replace(':', "\\:")
                )),
        );
    }
    if is_field_name(field_name) {
        return Some(
            CompileError::new(ErrorKind::Syntax, format!("`{field_name}:` has no value"))
                .at(colon_span, "expected a value right after the colon")
                .help(format!(
                    "write the value with no space, as in `{field_name}:value` or `{field_name}:\"two words\"`"
                )),
        );
    }
    Some(
        CompileError::new(ErrorKind::Syntax, "unexpected `:`")
            .at(colon_span, "a `:` must follow a field name")
            .help(if field_name.is_empty() {
                "write `field:value`; quote text that contains a colon, as in \"10:00:01\"".to_string()
            } else {
                format!(
                    "`{field_name}` is not a field name (ASCII letters, digits, `_`, `.`, `@`, `-`, starting with a letter, `_` or `@`); to search for the text, quote it: \"{word}\""
                )
            }),
    )
}

/// True when the grammar reads `s` as a field name (the `field` rule).
pub fn is_field_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '@')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '-'))
}

fn expected_words(err: &pest::error::Error<Rule>) -> String {
    let pest::error::ErrorVariant::ParsingError { positives, .. } = &err.variant else {
        return "something else".into();
    };
    let mut words: Vec<&str> = positives
        .iter()
        .map(|r| match r {
            Rule::EOI => "the end of the query",
            Rule::or_op => "`OR`",
            Rule::and_op => "`AND`",
            Rule::not_op => "`NOT`",
            Rule::group => "`(`",
            Rule::phrase | Rule::phrase_inner => "a quoted phrase",
            Rule::field_match | Rule::field => "a field",
            Rule::value_term | Rule::whole_value => "a value",
            _ => "a term",
        })
        .collect();
    words.sort_unstable();
    words.dedup();
    match words.len() {
        0 => "a term".into(),
        1 => words[0].into(),
        n => format!("{} or {}", words[..n - 1].join(", "), words[n - 1]),
    }
}

fn span_of(pair: &Pair<Rule>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.end())
}

fn build_or(pair: Pair<Rule>, depth: usize) -> Result<Expr, CompileError> {
    let span = span_of(&pair);
    let mut clauses = Vec::new();
    for p in pair.into_inner() {
        if p.as_rule() == Rule::and_expr {
            clauses.push(build_and(p, depth)?);
        }
    }
    Ok(if clauses.len() == 1 {
        clauses.pop().expect("one clause")
    } else {
        Expr::Or { clauses, span }
    })
}

fn build_and(pair: Pair<Rule>, depth: usize) -> Result<Expr, CompileError> {
    let span = span_of(&pair);
    let mut clauses = Vec::new();
    for p in pair.into_inner() {
        if p.as_rule() == Rule::unary {
            clauses.push(build_unary(p, depth)?);
        }
    }
    Ok(if clauses.len() == 1 {
        clauses.pop().expect("one clause")
    } else {
        Expr::And { clauses, span }
    })
}

/// `depth`: groups and negations around this clause; the whole tree is at
/// most [`MAX_DEPTH`] deep, so later stages can recurse over it safely.
fn build_unary(pair: Pair<Rule>, depth: usize) -> Result<Expr, CompileError> {
    let mut nots = Vec::new();
    let mut inner = None;
    let mut pairs = Vec::new();
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::not_op => nots.push(span_of(&p).start),
            _ => pairs.push(p),
        }
    }
    if depth + nots.len() > MAX_DEPTH {
        let at = nots[MAX_DEPTH.saturating_sub(depth).min(nots.len() - 1)];
        return Err(CompileError::new(
            ErrorKind::TooDeep,
            format!("`NOT`s nested more than {MAX_DEPTH} deep"),
        )
        .at(Span::new(at, at + 1), "this one is too deep")
        .help("two `NOT`s cancel out: remove them in pairs"));
    }
    let depth = depth + nots.len();
    for p in pairs {
        inner = Some(match p.as_rule() {
            Rule::prefixed => build_prefixed(p, depth)?,
            _ => build_primary(p, depth)?,
        });
    }
    let mut expr = inner.expect("unary has a primary");
    let end = expr.span().end;
    for start in nots.into_iter().rev() {
        expr = Expr::Not {
            expr: Box::new(expr),
            span: Span::new(start, end),
        };
    }
    Ok(expr)
}

/// `-x` is `NOT x`; `+x` is `x` (every clause is already required).
fn build_prefixed(pair: Pair<Rule>, depth: usize) -> Result<Expr, CompileError> {
    let span = span_of(&pair);
    let mut inner = pair.into_inner();
    let modifier = inner.next().expect("modifier");
    let expr = build_primary(inner.next().expect("primary"), depth + 1)?;
    Ok(if modifier.as_str() == "-" {
        Expr::Not {
            expr: Box::new(expr),
            span,
        }
    } else {
        expr
    })
}

fn build_primary(pair: Pair<Rule>, depth: usize) -> Result<Expr, CompileError> {
    let span = span_of(&pair);
    match pair.as_rule() {
        Rule::group => {
            if depth >= MAX_DEPTH {
                return Err(too_deep(span.start, 1, "parentheses and `NOT`s"));
            }
            let inner = pair.into_inner().next().expect("group holds an or_expr");
            build_or(inner, depth + 1)
        }
        Rule::field_match | Rule::comparison_match => {
            let mut inner = pair.into_inner();
            let f = inner.next().expect("field");
            let field = Field {
                name: f.as_str().to_string(),
                span: span_of(&f),
            };
            let v = inner.next().expect("value");
            if v.as_rule() == Rule::whole_value {
                let v = v.into_inner().next().expect("a phrase or a term");
                return build_whole_value(field, v, span);
            }
            build_field_match(field, v, span, depth)
        }
        // A range gets its field from a field group around it; one left
        // without a field is diagnosed by `check_ranges` once the tree is built.
        Rule::range => Ok(Expr::Match(Match {
            field: None,
            value: build_range(pair)?,
            span,
        })),
        Rule::regex => Ok(Expr::Match(Match {
            field: None,
            value: build_regex(pair),
            span,
        })),
        Rule::phrase => Ok(Expr::Match(Match {
            field: None,
            value: build_phrase(pair),
            span,
        })),
        Rule::term => match bare_value(pair.as_str(), span.start, None)? {
            Bare::Stars => Ok(Expr::All { span }),
            Bare::Kind(kind) => Ok(Expr::Match(Match {
                field: None,
                value: Value { kind, span },
                span,
            })),
        },
        r => unreachable!("primary cannot be {r:?}"),
    }
}

/// `field:=value`: a test of the field's whole value. A quoted value is
/// literal text (`*` and `?` too); a bare one keeps its wildcards.
fn build_whole_value(field: Field, v: Pair<Rule>, span: Span) -> Result<Expr, CompileError> {
    let vspan = span_of(&v);
    if field.name == EXISTS_FIELD || field.name == TIME_FIELD {
        return Err(CompileError::new(
            ErrorKind::Syntax,
            format!("`{}` has no value to compare with `:=`", field.name),
        )
        .at(vspan, "not a value test")
        .help("`:=` compares a field's whole value: write `field:=\"text\"`"));
    }
    let parts = match v.as_rule() {
        Rule::phrase => match build_phrase(v).kind {
            ValueKind::Phrase(text) => vec![WildPart::Text(text)],
            other => unreachable!("a phrase is {other:?}"),
        },
        Rule::value_term => {
            // After `:=` a leading sign is the value's (`f:=-1`), not a
            // negation: read it as escaped.
            let raw = v.as_str();
            let bare = if raw.starts_with(['+', '-', '!']) {
                bare_value(&format!("\\{raw}"), vspan.start - 1, Some(&field.name))?
            } else {
                bare_value(raw, vspan.start, Some(&field.name))?
            };
            match bare {
                Bare::Stars => vec![WildPart::Any],
                Bare::Kind(ValueKind::Wildcard(parts)) => parts,
                Bare::Kind(ValueKind::Term(text)) => vec![WildPart::Text(text)],
                // `10.0.0.0/8` after `:=` is the text, not a block.
                Bare::Kind(ValueKind::Cidr(_)) => vec![WildPart::Text(unescape(v.as_str()))],
                Bare::Kind(other) => unreachable!("a bare value is {other:?}"),
            }
        }
        r => unreachable!("a whole value cannot be {r:?}"),
    };
    Ok(Expr::Match(Match {
        field: Some(field),
        value: Value {
            kind: ValueKind::Whole(parts),
            span: vspan,
        },
        span,
    }))
}

/// Text with its escapes removed: `\x` read as `x` (a bare term's, and
/// inside a stage's string).
fn unescape(raw: &str) -> String {
    let mut out = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

fn build_field_match(
    field: Field,
    v: Pair<Rule>,
    span: Span,
    depth: usize,
) -> Result<Expr, CompileError> {
    let vspan = span_of(&v);
    let kind = match v.as_rule() {
        Rule::group => {
            if field.name == EXISTS_FIELD {
                return Err(exists_error(&field, vspan));
            }
            if depth >= MAX_DEPTH {
                return Err(too_deep(vspan.start, 1, "parentheses and `NOT`s"));
            }
            let inner = build_or(
                v.into_inner().next().expect("group holds an or_expr"),
                depth + 1,
            )?;
            return apply_field(inner, &field);
        }
        Rule::range => build_range(v)?.kind,
        Rule::comparison => build_comparison(v)?,
        Rule::regex => build_regex(v).kind,
        Rule::phrase => build_phrase(v).kind,
        Rule::value_term => match bare_value(v.as_str(), vspan.start, Some(&field.name))? {
            Bare::Stars => ValueKind::Exists,
            Bare::Kind(ValueKind::Term(name)) if field.name == EXISTS_FIELD => {
                if !is_field_name(&name) {
                    return Err(exists_error(&field, vspan));
                }
                return Ok(Expr::Match(Match {
                    field: Some(Field { name, span: vspan }),
                    value: Value {
                        kind: ValueKind::Exists,
                        span: vspan,
                    },
                    span,
                }));
            }
            Bare::Kind(kind) => kind,
        },
        r => unreachable!("field value cannot be {r:?}"),
    };
    if field.name == EXISTS_FIELD {
        return Err(exists_error(&field, vspan));
    }
    Ok(Expr::Match(Match {
        field: Some(field),
        value: Value { kind, span: vspan },
        span,
    }))
}

fn exists_error(field: &Field, value: Span) -> CompileError {
    CompileError::new(ErrorKind::Syntax, "`_exists_:` takes a field name")
        .at(
            field.span.to(value),
            "expected a field name after `_exists_:`",
        )
        .help("write `_exists_:errorCode` or `errorCode:*`")
}

/// Gives `field` to every match inside a field group, `field:(a OR b)`.
fn apply_field(expr: Expr, field: &Field) -> Result<Expr, CompileError> {
    Ok(match expr {
        Expr::Or { clauses, span } => Expr::Or {
            clauses: clauses
                .into_iter()
                .map(|c| apply_field(c, field))
                .collect::<Result<_, _>>()?,
            span,
        },
        Expr::And { clauses, span } => Expr::And {
            clauses: clauses
                .into_iter()
                .map(|c| apply_field(c, field))
                .collect::<Result<_, _>>()?,
            span,
        },
        Expr::Not { expr, span } => Expr::Not {
            expr: Box::new(apply_field(*expr, field)?),
            span,
        },
        Expr::All { span } => Expr::Match(Match {
            field: Some(field.clone()),
            value: Value {
                kind: ValueKind::Exists,
                span,
            },
            span,
        }),
        Expr::Match(m) => {
            if let Some(inner) = &m.field {
                return Err(CompileError::new(
                    ErrorKind::Syntax,
                    format!("`{}:` inside the group of `{}:`", inner.name, field.name),
                )
                .at(inner.span, "a field inside a field group")
                .help(format!(
                    "a group after `{}:` holds values only; move `{}:...` out of the parentheses",
                    field.name, inner.name
                )));
            }
            Expr::Match(Match {
                field: Some(field.clone()),
                ..m
            })
        }
    })
}

fn build_phrase(pair: Pair<Rule>) -> Value {
    let span = span_of(&pair);
    let inner = pair.into_inner().next().expect("phrase_inner");
    Value {
        kind: ValueKind::Phrase(unescape_quoted(inner.as_str())),
        span,
    }
}

fn build_regex(pair: Pair<Rule>) -> Value {
    let span = span_of(&pair);
    let raw = pair.into_inner().next().expect("regex_inner").as_str();
    let mut text = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('/') => text.push('/'),
                Some(n) => {
                    text.push('\\');
                    text.push(n);
                }
                None => text.push('\\'),
            }
        } else {
            text.push(c);
        }
    }
    Value {
        kind: ValueKind::Regex(text),
        span,
    }
}

fn build_bound(pair: Pair<Rule>, inclusive: bool) -> Bound {
    let inner = pair.into_inner().next().expect("bound alternative");
    let text = match inner.as_rule() {
        Rule::quoted_bound => {
            unescape_quoted(inner.into_inner().next().expect("phrase_inner").as_str())
        }
        _ if inner.as_str() == "*" => return Bound::Unbounded,
        _ => inner.as_str().to_string(),
    };
    if inclusive {
        Bound::Inclusive(text)
    } else {
        Bound::Exclusive(text)
    }
}

fn build_range(pair: Pair<Rule>) -> Result<Value, CompileError> {
    let span = span_of(&pair);
    let mut inner = pair.into_inner();
    let open = inner.next().expect("open").as_str() == "[";
    let lower = build_bound(inner.next().expect("lower"), open);
    let upper_pair = inner.next().expect("upper");
    let close = inner.next().expect("close").as_str() == "]";
    let upper = build_bound(upper_pair, close);
    Ok(Value {
        kind: ValueKind::Range(Range { lower, upper }),
        span,
    })
}

fn build_comparison(pair: Pair<Rule>) -> Result<ValueKind, CompileError> {
    let mut inner = pair.into_inner();
    let op = inner.next().expect("cmp_op").as_str();
    let inclusive = op.ends_with('=');
    let bound = build_bound(inner.next().expect("bound"), inclusive);
    Ok(ValueKind::Range(if op.starts_with('>') {
        Range {
            lower: bound,
            upper: Bound::Unbounded,
        }
    } else {
        Range {
            lower: Bound::Unbounded,
            upper: bound,
        }
    }))
}

/// Inside quotes `\"` and `\\` are escapes; any other backslash is kept, so
/// `"C:\Windows\System32"` means what it says.
fn unescape_quoted(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && matches!(chars.peek(), Some('"' | '\\')) {
            out.push(chars.next().expect("peeked"));
        } else {
            out.push(c);
        }
    }
    out
}

/// A bare value: a term, a wildcard, a CIDR block, or only stars.
enum Bare {
    Kind(ValueKind),
    /// `*`, `**`: every record (bare) or "the field exists" (after `field:`).
    Stars,
}

/// Reads a bare term: removes escapes, finds wildcards and CIDR blocks, and
/// diagnoses characters reserved by the language.
fn bare_value(raw: &str, offset: usize, field: Option<&str>) -> Result<Bare, CompileError> {
    let in_field = field.is_some();
    let whole = match field {
        Some(f) => format!("{f}:{raw}"),
        None => raw.to_string(),
    };
    let at = |i: usize, c: char| Span::new(offset + i, offset + i + c.len_utf8());
    let reserved_as = |i: usize, c: char, what: &str, label: &str, help: String| {
        CompileError::new(ErrorKind::Reserved, what.to_string())
            .at(at(i, c), label.to_string())
            .help(help)
    };
    let reserved = |i: usize, c: char, what: &str, help: String| {
        reserved_as(i, c, what, &format!("`{c}` is reserved"), help)
    };
    if let Some(first) = raw.chars().next() {
        match first {
            '+' | '-' | '!' => {
                return Err(CompileError::new(
                    ErrorKind::DanglingOperator,
                    format!("`{first}` must be written against one clause"),
                )
                .at(at(0, first), "not followed by a clause")
                .help(format!(
                    "write `{first}term`, `{first}field:value` or `{first}(a OR b)` with nothing in between; escape it to search for the character: `\\{first}`"
                )));
            }
            '/' => {
                return Err(reserved(
                    0,
                    first,
                    "a term starting with `/` is a regex that is never closed",
                    format!(
                        "close the regex with `/` (`/ab+c/`); for a path, escape the slash or quote it: \"{raw}\""
                    ),
                ));
            }
            '[' | '{' => {
                return Err(reserved_as(
                    0,
                    first,
                    "this range is not complete",
                    "range opened here, never closed",
                    "write `field:[low TO high]`, with `{`/`}` for exclusive ends and `*` for an open end".into(),
                ));
            }
            '<' | '>' | '=' if !in_field => {
                return Err(reserved_as(
                    0,
                    first,
                    "a comparison needs a field",
                    "no field before it",
                    "write the field before it, as in `bytes:>1000` or `@time > now-15m`".into(),
                ));
            }
            // `field:=` with nothing after it (`:=` with a value is the
            // grammar's `whole_value`).
            '=' => {
                return Err(reserved_as(
                    0,
                    first,
                    "`:=` needs the value to compare with",
                    "no value after it",
                    "write the field's whole value after `:=`: `eventName:=\"ConsoleLogin\"`, or a pattern: `userAgent:=*S3\\ Browser*`".into(),
                ));
            }
            '<' | '>' => {
                return Err(reserved_as(
                    0,
                    first,
                    "a comparison needs a value",
                    "no value after it",
                    "write a number or a time after it, as in `bytes:>1000` or `@time:>=now-1h`"
                        .into(),
                ));
            }
            _ => {}
        }
    }
    let mut parts: Vec<WildPart> = Vec::new();
    let mut text = String::new();
    let mut wild = false;
    let mut chars = raw.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let Some((j, e)) = chars.next() else {
                    unreachable!("the grammar never ends a term on a lone backslash")
                };
                if e.is_alphanumeric() {
                    return Err(CompileError::new(
                        ErrorKind::UnknownEscape,
                        format!("unknown escape `\\{e}`"),
                    )
                    .at(
                        Span::new(offset + i, offset + j + e.len_utf8()),
                        "a backslash escapes punctuation only",
                    )
                    .help(format!(
                        "write `\\\\` for a backslash (`C\\:\\\\Windows`), or quote the text: \"{}\"",
                        whole.replace('"', "\\\"")
                    )));
                }
                text.push(e);
            }
            '*' | '?' => {
                wild = true;
                if !text.is_empty() {
                    parts.push(WildPart::Text(std::mem::take(&mut text)));
                }
                let part = if c == '*' {
                    WildPart::Any
                } else {
                    WildPart::One
                };
                if !(part == WildPart::Any && parts.last() == Some(&WildPart::Any)) {
                    parts.push(part);
                }
            }
            '|' => {
                let doubled = chars.peek().is_some_and(|&(_, n)| n == '|');
                if doubled || raw[..i].ends_with('|') {
                    return Err(reserved(
                        i,
                        c,
                        "`||` must stand alone",
                        "put spaces around `||` (`a || b`), or write `OR`".into(),
                    ));
                }
                return Err(CompileError::new(
                    ErrorKind::NotYetSupported,
                    "pipeline stages (`| ...`) are not supported yet",
                )
                .at(Span::new(offset + i, offset + raw.len()), "`|` starts a pipeline stage")
                .help("aggregation stages such as `| count by field` are planned; remove the `|` and what follows, or escape it to search for a pipe: `\\|`"));
            }
            '^' => {
                return Err(reserved(
                    i,
                    c,
                    "boosting (`^`) is not supported",
                    "glaux returns every match newest first, so a boost has nothing to change; remove `^` and the number after it, or escape it: `\\^`".into(),
                ));
            }
            '~' => {
                return Err(reserved(
                    i,
                    c,
                    "fuzzy and proximity search (`~`) are not supported",
                    "use a wildcard (`admin*`, `adm?n`) or a regex (`/adm[io]n/`); escape it to search for the character: `\\~`".into(),
                ));
            }
            '[' | ']' | '{' | '}' => {
                return Err(reserved(
                    i,
                    c,
                    &format!("`{c}` must be escaped inside a term"),
                    format!(
                        "ranges go after a field (`bytes:[1 TO 5]`); to search for the character, escape it (`\\{c}`) or quote the value"
                    ),
                ));
            }
            _ => text.push(c),
        }
    }
    if !wild {
        return match Cidr::parse(&text) {
            Ok(cidr) => Ok(Bare::Kind(ValueKind::Cidr(cidr))),
            Err(CidrError::NotCidr) => Ok(Bare::Kind(ValueKind::Term(text))),
            Err(e) => {
                let why = match e {
                    CidrError::BadLength { max } => {
                        format!("the prefix length must be 0 to {max}")
                    }
                    _ => "the address part is not an IP address".to_string(),
                };
                Err(CompileError::new(
                    ErrorKind::BadCidr,
                    format!("`{text}` is not a CIDR block"),
                )
                .at(Span::new(offset, offset + raw.len()), why)
                .help("write an address and a prefix length: `10.0.0.0/8`, `192.168.1.0/24`, `2001:db8::/32`; quote the value to search for the text"))
            }
        };
    }
    if !text.is_empty() {
        parts.push(WildPart::Text(text));
    }
    if parts == [WildPart::Any] {
        return Ok(Bare::Stars);
    }
    Ok(Bare::Kind(ValueKind::Wildcard(parts)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compact notation: `(and a b)`, `(or a b)`, `(not a)`, `f:a`, `"p q"`, `a*`.
    fn sexpr(e: &Expr) -> String {
        match e {
            Expr::Or { clauses, .. } => format!(
                "(or {})",
                clauses.iter().map(sexpr).collect::<Vec<_>>().join(" ")
            ),
            Expr::And { clauses, .. } => format!(
                "(and {})",
                clauses.iter().map(sexpr).collect::<Vec<_>>().join(" ")
            ),
            Expr::Not { expr, .. } => format!("(not {})", sexpr(expr)),
            Expr::Match(m) => m.to_string(),
            Expr::All { .. } => "*".to_string(),
        }
    }

    fn check(input: &str, expected: &str) {
        let q = parse(input).unwrap_or_else(|e| panic!("{input:?}: {e:?}"));
        assert_eq!(sexpr(&q.expr), expected, "input: {input:?}");
        // Canonical printing parses back to the same tree.
        let printed = q.to_string();
        let again = parse(&printed).unwrap_or_else(|e| panic!("{printed:?}: {e:?}"));
        assert_eq!(sexpr(&again.expr), expected, "printed: {printed:?}");
    }

    #[test]
    fn whole_value_tests() {
        check(
            r#"eventName:="ConsoleLogin""#,
            r#"eventName:="ConsoleLogin""#,
        );
        check("eventName:=ConsoleLogin", r#"eventName:="ConsoleLogin""#);
        check(r#"f:="a*b""#, r#"f:="a*b""#);
        check(r"f:=*S3\ Browser*", r"f:=*S3\ Browser*");
        check(r"f:=abc* OR g:=?x", r"(or f:=abc* g:=?x)");
        check(r#"f:="" -f:=*"#, r#"(and f:="" (not f:=*))"#);
        // `:=` keeps a CIDR-looking value as text, and quotes and
        // backslashes survive printing.
        check("ip:=10.0.0.0/8", r#"ip:="10.0.0.0/8""#);
        check("n:=-0.0 n:=+1 n:=!x", r#"(and n:="-0.0" n:="+1" n:="!x")"#);
        check(r#"f:="say \"hi\" \\ bye""#, r#"f:="say \"hi\" \\ bye""#);
        for bad in ["_exists_:=x", "@time:=x", "f:=", "f:=(a b)"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn precedence_and_grouping() {
        check("a", "a");
        check("a b", "(and a b)");
        check("a AND b", "(and a b)");
        check("a OR b", "(or a b)");
        check("a OR b AND c", "(or a (and b c))");
        check("a AND b OR c", "(or (and a b) c)");
        check("a b OR c d", "(or (and a b) (and c d))");
        check("(a OR b) c", "(and (or a b) c)");
        check("NOT a b", "(and (not a) b)");
        check("NOT (a OR b)", "(not (or a b))");
        check("NOT NOT a", "(not (not a))");
        check("a NOT b", "(and a (not b))");
        check("a AND NOT b", "(and a (not b))");
        check("((a))", "a");
        // Symbol operators are the keywords.
        check("a && b || c", "(or (and a b) c)");
        check("!a b", "(and (not a) b)");
        check("! a", "(not a)");
        check("a || b && c", "(or a (and b c))");
        // `-` is NOT bound to one clause; `+` marks what is already required.
        check("a b -c", "(and a b (not c))");
        check("a OR b -c", "(or a (and b (not c)))");
        check("-a OR b", "(or (not a) b)");
        check("+a -b c", "(and a (not b) c)");
        check("-(a OR b) c", "(and (not (or a b)) c)");
        check("-f:x", "(not f:x)");
        check("+\"a b\"", "\"a b\"");
        // Field groups distribute the field.
        check("f:(a OR b)", "(or f:a f:b)");
        check("f:(a b)", "(and f:a f:b)");
        check("f:(a -b)", "(and f:a (not f:b))");
        check("f:(a OR (b c*))", "(or f:a (and f:b f:c*))");
        check("f:(\"x y\" OR [1 TO 2])", "(or f:\"x y\" f:[1 TO 2])");
        check("f:(*)", "f:*");
    }

    #[test]
    fn full_language_values() {
        check("*", "*");
        check("f:*", "f:*");
        check("_exists_:errorCode", "errorCode:*");
        check("Desc*be?", "Desc*be?");
        check("*admin*", "*admin*");
        check("f:i-0?f*", "f:i-0?f*");
        check("/adm[io]n.*/", "/adm[io]n.*/");
        check("f:/a\\/b/", "f:/a\\/b/");
        check("bytes:[1000 TO 5000]", "bytes:[1000 TO 5000]");
        check("status:{400 TO 500}", "status:{400 TO 500}");
        check("status:[400 TO 500}", "status:[400 TO 500}");
        check("bytes:[* TO 10]", "bytes:[* TO 10]");
        check("bytes:>1000", "bytes:{1000 TO *]");
        check("bytes:>=1000", "bytes:[1000 TO *]");
        check("bytes:<5", "bytes:[* TO 5}");
        check("bytes:<=5", "bytes:[* TO 5]");
        check("@time > now-15m", "@time:{now-15m TO *]");
        check(
            "@time:[2024-05-01T00:00:00Z TO now-1h]",
            "@time:[2024-05-01T00:00:00Z TO now-1h]",
        );
        check(
            "@time:[\"2024-05-01 10:00\" TO now]",
            "@time:[\"2024-05-01 10:00\" TO now]",
        );
        check("sourceIPAddress:10.0.0.0/8", "sourceIPAddress:10.0.0.0/8");
        check("10.1.2.3/8", "10.0.0.0/8");
        check("ip:2001:db8::/32", "ip:2001:db8::/32");
        check("2001\\:db8\\:\\:/32", "2001\\:db8\\:\\:/32");
        check("tag:cloudtrail", "tag:cloudtrail");
        check("C\\:\\\\Windows\\\\System32", "C\\:\\\\Windows\\\\System32");
        check("https\\:\\/\\/a\\/b\\?c=d", "https\\://a/b\\?c=d");
        check("fe80\\:\\:1", "fe80\\:\\:1");
        check("\"C:\\Windows\\System32\"", "\"C:\\\\Windows\\\\System32\"");
        check("\\-5", "\\-5");
        check("a\\*b", "a\\*b");
        check("\\(x\\)", "\\(x\\)");
    }

    #[test]
    fn escapes_and_wildcards_become_values() {
        let value = |s: &str| match parse(s).unwrap().expr {
            Expr::Match(m) => m.value.kind,
            e => panic!("{e:?}"),
        };
        assert_eq!(
            value("C\\:\\\\Windows"),
            ValueKind::Term("C:\\Windows".into())
        );
        assert_eq!(
            value("\"C:\\Windows\""),
            ValueKind::Phrase("C:\\Windows".into())
        );
        assert_eq!(value("\"a\\\"b\""), ValueKind::Phrase("a\"b".into()));
        assert_eq!(
            value("a\\*b*"),
            ValueKind::Wildcard(vec![WildPart::Text("a*b".into()), WildPart::Any])
        );
        assert_eq!(
            value("a**?"),
            ValueKind::Wildcard(vec![
                WildPart::Text("a".into()),
                WildPart::Any,
                WildPart::One
            ])
        );
        assert_eq!(value("f:/a\\/b/"), ValueKind::Regex("a/b".into()));
        assert_eq!(value("f:/a\\.b/"), ValueKind::Regex("a\\.b".into()));
        assert_eq!(
            value("f:10.1.2.3/8"),
            ValueKind::Cidr(Cidr::parse("10.0.0.0/8").unwrap())
        );
        assert_eq!(value("f:user/x"), ValueKind::Term("user/x".into()));
        assert_eq!(
            value("f:arn:aws:iam::1:user/x"),
            ValueKind::Term("arn:aws:iam::1:user/x".into())
        );
    }

    #[test]
    fn values() {
        check("eventName:ConsoleLogin", "eventName:ConsoleLogin");
        check("userIdentity.userName:alice", "userIdentity.userName:alice");
        check("\"failed password\"", "\"failed password\"");
        check("msg:\"a \\\"b\\\" c\"", "msg:\"a \\\"b\\\" c\"");
        check("Describe*", "Describe*");
        check("eventName:Describe*", "eventName:Describe*");
        check("10.0.0.1", "10.0.0.1");
        check("arn:arn:aws:iam::1:user/x", "arn:arn:aws:iam::1:user/x");
        check("@timestamp:x", "@timestamp:x");
        check("ANDROID OR NOTE", "(or ANDROID NOTE)");
        check("and or not", "(and and or not)");
        check("us-east-1", "us-east-1");
    }

    #[test]
    fn spans_cover_the_text() {
        let q = parse("a AND field:\"b c\"").unwrap();
        let Expr::And { clauses, span } = &q.expr else {
            panic!()
        };
        assert_eq!(*span, Span::new(0, 17));
        let Expr::Match(m) = &clauses[1] else {
            panic!()
        };
        assert_eq!(m.span, Span::new(6, 17));
        assert_eq!(m.field.as_ref().unwrap().span, Span::new(6, 11));
        assert_eq!(m.value.span, Span::new(12, 17));
    }

    #[test]
    fn errors_have_kinds() {
        let kind = |s: &str| parse(s).unwrap_err().kind;
        assert_eq!(kind(""), ErrorKind::EmptyQuery);
        assert_eq!(kind("(a"), ErrorKind::UnclosedParen);
        assert_eq!(kind("a)"), ErrorKind::UnmatchedParen);
        assert_eq!(kind("\"a"), ErrorKind::UnclosedQuote);
        assert_eq!(kind("a AND"), ErrorKind::DanglingOperator);
        assert_eq!(kind("OR a"), ErrorKind::DanglingOperator);
        assert_eq!(kind("a\\nb"), ErrorKind::UnknownEscape);
        assert_eq!(kind("a | count"), ErrorKind::UnknownStage);
        assert_eq!(kind("a | stats"), ErrorKind::BadStage);
        assert_eq!(kind("a^2"), ErrorKind::Reserved);
        assert_eq!(kind("a~"), ErrorKind::Reserved);
        assert_eq!(kind("/var/log"), ErrorKind::Reserved);
        assert_eq!(kind("10.0.0.0/33"), ErrorKind::BadCidr);
        assert_eq!(kind("[1 TO 2]"), ErrorKind::Syntax);
        assert_eq!(kind("a:(b:c)"), ErrorKind::Syntax);
        assert_eq!(kind("- a"), ErrorKind::DanglingOperator);
        assert_eq!(kind("a &&"), ErrorKind::DanglingOperator);
        assert_eq!(kind("fe80::1"), ErrorKind::Syntax);
        assert_eq!(
            kind(&format!("{}a", "!".repeat(30_000))),
            ErrorKind::TooDeep
        );
        let deep = format!("{}a{}", "(".repeat(20_000), ")".repeat(20_000));
        assert_eq!(kind(&deep), ErrorKind::TooDeep);
        assert_eq!(
            kind(&format!("{}a", "NOT ".repeat(30_000))),
            ErrorKind::TooDeep
        );
        // Groups and negations count together.
        let mixed = format!(
            "{}a{}",
            format!("{}-(", "!".repeat(128)).repeat(128),
            ")".repeat(128)
        );
        assert_eq!(kind(&mixed), ErrorKind::TooDeep);
        assert_eq!(
            kind(&format!("{}a{}", "NOT (".repeat(65), ")".repeat(65))),
            ErrorKind::TooDeep
        );
        assert!(parse(&format!("{}a{}", "NOT (".repeat(64), ")".repeat(64))).is_ok());
        let ok = format!("{}a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        assert!(parse(&format!("{}a", "NOT ".repeat(MAX_DEPTH))).is_ok());
    }

    #[test]
    fn never_panics_on_odd_input() {
        let samples = [
            "\u{3000}:x",
            "é\u{3000}:x",
            "a\u{2028}:b",
            "x:\u{3000}",
            "(\u{3000}AND)",
            "\u{3000}OR x",
            "a\u{3000}AND",
            "\"",
            "\\",
            "(",
            ")",
            ":",
            "::",
            "a:",
            ":a",
            "a::b",
            "*",
            "**",
            "\"\\",
            "(\"",
            "a:(b)",
            "NOT",
            "AND OR",
            "é:ü",
            "\u{0}",
            "a\u{0}b",
            "((((((((((a))))))))))",
            "a:\"\"",
            "\"\"",
            "a (",
            "a:b:c:",
            "-",
            "+a",
            "!a",
            "a|b",
        ];
        for s in samples {
            let _ = parse(s);
        }
    }
}
