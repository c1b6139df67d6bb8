//! Text → [`Query`]. The only module that sees pest's `Pairs`.
//!
//! Work is split in three so every error has a precise span and a hint:
//! a balance check (quotes, parentheses) that points at the opener, the pest
//! grammar (`grammar/glaux.pest`), and a builder that checks each term for
//! characters reserved by the full language.

use pest::Parser as _;
use pest::iterators::Pair;
use pest_derive::Parser;

use crate::ast::{Expr, Field, Match, Query, Span, Value, ValueKind};
use crate::error::{CompileError, ErrorKind};

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
    check_balance(text)?;
    let mut pairs = GlauxGrammar::parse(Rule::query, text).map_err(|e| syntax_error(text, e))?;
    let query = pairs.next().expect("query rule");
    let or_expr = query
        .into_inner()
        .find(|p| p.as_rule() == Rule::or_expr)
        .expect("or_expr inside query");
    Ok(Query {
        expr: build_or(or_expr)?,
    })
}

/// Deepest nesting of parentheses and of consecutive `NOT`s accepted. The
/// later stages recurse over the tree; this bound keeps them far from the
/// stack's end, whatever the input.
pub const MAX_DEPTH: usize = 128;

/// Finds an unclosed quote or an unbalanced parenthesis and points at it,
/// and refuses nesting deeper than [`MAX_DEPTH`].
fn check_balance(text: &str) -> Result<(), CompileError> {
    let too_deep = |at: usize, len: usize, what: &str| {
        CompileError::new(
            ErrorKind::TooDeep,
            format!("{what} nested more than {MAX_DEPTH} deep"),
        )
        .at(Span::new(at, at + len), "this one is too deep")
        .help("flatten the query: `a OR b OR c` needs no parentheses")
    };
    let mut nots = 0;
    for (i, word) in text
        .split_ascii_whitespace()
        .map(|w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
    {
        nots = if word == "NOT" { nots + 1 } else { 0 };
        if nots > MAX_DEPTH {
            return Err(too_deep(i, 3, "`NOT`s"));
        }
    }
    let mut opens: Vec<usize> = Vec::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => {
                            closed = true;
                            break;
                        }
                        _ => {}
                    }
                }
                if !closed {
                    return Err(CompileError::new(
                        ErrorKind::UnclosedQuote,
                        "this quote is never closed",
                    )
                    .at(Span::new(i, i + 1), "phrase starts here")
                    .help("close the phrase with `\"`; write `\\\"` for a quote inside it"));
                }
            }
            '(' => {
                opens.push(i);
                if opens.len() > MAX_DEPTH {
                    return Err(too_deep(i, 1, "parentheses"));
                }
            }
            ')' if opens.pop().is_none() => {
                return Err(
                    CompileError::new(ErrorKind::UnmatchedParen, "this `)` closes nothing")
                        .at(Span::new(i, i + 1), "no `(` before it")
                        .help("remove it, or add the `(` it belongs to; quote the term to search for a literal `)`"),
                );
            }
            _ => {}
        }
    }
    if let Some(&i) = opens.last() {
        return Err(
            CompileError::new(ErrorKind::UnclosedParen, "this `(` is never closed")
                .at(Span::new(i, i + 1), "group starts here")
                .help("add the missing `)`"),
        );
    }
    Ok(())
}

const KEYWORDS: [&str; 3] = ["AND", "OR", "NOT"];

/// Turns a pest error into a diagnostic that says what was expected in words.
fn syntax_error(text: &str, err: pest::error::Error<Rule>) -> CompileError {
    let pos = match err.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let rest = &text[pos..];
    // An operator with no clause after it (`a AND`, `(a OR) b`, `a AND OR b`).
    let before = text[..pos].trim_end();
    for kw in KEYWORDS {
        if let Some(head) = before.strip_suffix(kw)
            && head
                .chars()
                .next_back()
                .is_none_or(|c| c.is_whitespace() || c == '(' || c == ')')
        {
            let span = Span::new(head.len(), before.len());
            return CompileError::new(
                ErrorKind::DanglingOperator,
                format!("`{kw}` needs a clause after it"),
            )
            .at(span, format!("nothing after this `{kw}`"))
            .help(format!(
                "remove `{kw}`, or add a term after it; to search for the word itself, quote it: \"{}\"",
                kw.to_lowercase()
            ));
        }
    }
    // An operator with no clause before it (`OR a`, `(AND a)`).
    for kw in KEYWORDS {
        if let Some(after) = rest.strip_prefix(kw)
            && after
                .chars()
                .next()
                .is_none_or(|c| c.is_whitespace() || c == '(' || c == ')')
        {
            let span = Span::new(pos, pos + kw.len());
            return CompileError::new(
                ErrorKind::DanglingOperator,
                format!("`{kw}` needs a clause before it"),
            )
            .at(span, format!("nothing before this `{kw}`"))
            .help(format!(
                "remove `{kw}`, or add a term before it; to search for the word itself, quote it: \"{}\"",
                kw.to_lowercase()
            ));
        }
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
    let after = &text[colon + 1..];
    let colon_span = Span::new(colon, colon + 1);
    if word.contains("::") {
        return Some(
            CompileError::new(ErrorKind::Syntax, format!("`{word}` must be quoted"))
                .at(Span::new(word_start, word_end), "`::` cannot appear in a bare term")
                .help(format!(
                    "quote it: \"{word}\" (IPv6 addresses and other text with `::` are searched as phrases)"
                )),
        );
    }
    if let Some(op) = field_name
        .chars()
        .next()
        .filter(|c| matches!(c, '-' | '+' | '!'))
        && is_field_name(&field_name[1..])
    {
        return Some(
            CompileError::new(
                ErrorKind::NotYetSupported,
                format!("the `{op}` prefix operator is not supported yet"),
            )
            .at(
                Span::new(word_start, word_start + 1),
                format!("`{op}` is reserved"),
            )
            .help(format!(
                "write `NOT {}:...` to exclude, `AND` to require",
                &field_name[1..]
            )),
        );
    }
    if is_field_name(field_name) {
        if after.starts_with('(') {
            return Some(
                CompileError::new(
                    ErrorKind::NotYetSupported,
                    "field groups are not supported yet",
                )
                .at(Span::new(colon, colon + 2), "`field:(...)` is reserved")
                .help(format!(
                    "repeat the field for each value: `{field_name}:a OR {field_name}:b`"
                )),
            );
        }
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

fn is_field_name(s: &str) -> bool {
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
            Rule::value_term => "a value",
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

fn build_or(pair: Pair<Rule>) -> Result<Expr, CompileError> {
    let span = span_of(&pair);
    let mut clauses = Vec::new();
    for p in pair.into_inner() {
        if p.as_rule() == Rule::and_expr {
            clauses.push(build_and(p)?);
        }
    }
    Ok(if clauses.len() == 1 {
        clauses.pop().expect("one clause")
    } else {
        Expr::Or { clauses, span }
    })
}

fn build_and(pair: Pair<Rule>) -> Result<Expr, CompileError> {
    let span = span_of(&pair);
    let mut clauses = Vec::new();
    for p in pair.into_inner() {
        if p.as_rule() == Rule::unary {
            clauses.push(build_unary(p)?);
        }
    }
    Ok(if clauses.len() == 1 {
        clauses.pop().expect("one clause")
    } else {
        Expr::And { clauses, span }
    })
}

fn build_unary(pair: Pair<Rule>) -> Result<Expr, CompileError> {
    let mut nots = Vec::new();
    let mut inner = None;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::not_op => nots.push(span_of(&p).start),
            _ => inner = Some(build_primary(p)?),
        }
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

fn build_primary(pair: Pair<Rule>) -> Result<Expr, CompileError> {
    let span = span_of(&pair);
    match pair.as_rule() {
        Rule::group => {
            let inner = pair.into_inner().next().expect("group holds an or_expr");
            build_or(inner)
        }
        Rule::field_match => {
            let mut inner = pair.into_inner();
            let f = inner.next().expect("field");
            let field = Field {
                name: f.as_str().to_string(),
                span: span_of(&f),
            };
            let v = inner.next().expect("value");
            let value = build_value(v)?;
            Ok(Expr::Match(Match {
                field: Some(field),
                value,
                span,
            }))
        }
        Rule::phrase | Rule::term => Ok(Expr::Match(Match {
            field: None,
            value: build_value(pair)?,
            span,
        })),
        r => unreachable!("primary cannot be {r:?}"),
    }
}

fn build_value(pair: Pair<Rule>) -> Result<Value, CompileError> {
    let span = span_of(&pair);
    match pair.as_rule() {
        Rule::phrase => {
            let inner = pair.into_inner().next().expect("phrase_inner");
            let text = unescape_phrase(inner.as_str(), span_of(&inner).start)?;
            Ok(Value {
                kind: ValueKind::Phrase(text),
                span,
            })
        }
        Rule::term | Rule::value_term => {
            let kind = check_term(pair.as_str(), span.start)?;
            Ok(Value { kind, span })
        }
        r => unreachable!("value cannot be {r:?}"),
    }
}

fn unescape_phrase(raw: &str, offset: usize) -> Result<String, CompileError> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, e @ ('"' | '\\'))) => out.push(e),
            Some((j, e)) => {
                return Err(CompileError::new(
                    ErrorKind::UnknownEscape,
                    format!("unknown escape `\\{e}`"),
                )
                .at(
                    Span::new(offset + i, offset + j + e.len_utf8()),
                    "only `\\\"` and `\\\\` are escapes inside quotes",
                )
                .help(format!(
                    "write `\\\\{e}` for a literal backslash followed by `{e}`"
                )));
            }
            None => unreachable!("the grammar never ends a phrase on a lone backslash"),
        }
    }
    Ok(out)
}

/// Checks a bare term for characters the full language reserves, and
/// recognises a trailing `*`.
fn check_term(text: &str, offset: usize) -> Result<ValueKind, CompileError> {
    let at = |i: usize, c: char| Span::new(offset + i, offset + i + c.len_utf8());
    let not_yet = |i: usize, c: char, what: &str, help: &str| {
        CompileError::new(
            ErrorKind::NotYetSupported,
            format!("{what} is not supported yet"),
        )
        .at(at(i, c), format!("`{c}` is reserved"))
        .help(help.to_string())
    };
    let quote_help = format!(
        "to search for the text as written, quote it: \"{}\"",
        text.replace('\\', "\\\\").replace('"', "\\\"")
    );
    if text == "&&" || text == "||" {
        let op = if text == "&&" { "AND" } else { "OR" };
        return Err(CompileError::new(
            ErrorKind::NotYetSupported,
            format!("`{text}` is not supported yet"),
        )
        .at(Span::new(offset, offset + 2), format!("write `{op}`"))
        .help(format!("use the keyword `{op}` (upper case)")));
    }
    if let Some(first) = text.chars().next() {
        match first {
            '+' | '-' | '!' => {
                return Err(not_yet(
                    0,
                    first,
                    &format!("the `{first}` prefix operator"),
                    &format!("write `NOT term` to exclude, `AND` to require; {quote_help}"),
                ));
            }
            '/' => {
                return Err(not_yet(0, first, "a `/regex/`", &quote_help));
            }
            '[' | '{' => {
                return Err(not_yet(
                    0,
                    first,
                    "a range",
                    "ranges like `bytes:[1000 TO 5000]` are planned; search an exact value for now",
                ));
            }
            '|' => {
                return Err(not_yet(
                    0,
                    first,
                    "a `|` pipeline stage",
                    "pipeline stages (`| count`, ...) are planned; remove the `|` and what follows it, or quote \"|\" to search for a pipe",
                ));
            }
            _ => {}
        }
    }
    for (i, c) in text.char_indices() {
        match c {
            '|' => return Err(not_yet(i, c, "a `|` pipeline stage", &quote_help)),
            '\\' => {
                return Err(not_yet(
                    i,
                    c,
                    "backslash escaping in a bare term",
                    &quote_help,
                ));
            }
            '?' => return Err(not_yet(i, c, "the `?` wildcard", &quote_help)),
            '[' | ']' | '{' | '}' | '^' | '~' => {
                return Err(not_yet(i, c, &format!("`{c}`"), &quote_help));
            }
            '*' if i + 1 != text.len() => {
                return Err(not_yet(
                    i,
                    c,
                    "a `*` wildcard before the end of a term",
                    "only a trailing `*` is supported for now, as in `Describe*`",
                ));
            }
            _ => {}
        }
    }
    Ok(match text.strip_suffix('*') {
        Some(prefix) => ValueKind::Prefix(prefix.to_string()),
        None => ValueKind::Term(text.to_string()),
    })
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
        assert_eq!(kind("\"a\\nb\""), ErrorKind::UnknownEscape);
        assert_eq!(kind("a?"), ErrorKind::NotYetSupported);
        assert_eq!(kind("fe80::1"), ErrorKind::Syntax);
        let deep = format!("{}a{}", "(".repeat(20_000), ")".repeat(20_000));
        assert_eq!(kind(&deep), ErrorKind::TooDeep);
        assert_eq!(
            kind(&format!("{}a", "NOT ".repeat(30_000))),
            ErrorKind::TooDeep
        );
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
