//! Checks on the parsed query that need no meaning yet: operator words
//! written in lower case (searched as terms, with a warning), regexes a
//! backtracking engine can take exponential time on (a warning), and field
//! names the store does not know (a warning, with the known field it most
//! likely meant; an error when the caller is strict).

use crate::ast::{Expr, Query, TAG_FIELD, TIME_FIELD, ValueKind};
use crate::error::{CompileError, ErrorKind};
use crate::resolve::{Pattern, spans_tokens, value_lookups};

/// Returns the warnings of `query`, or the first unknown-field error when
/// `strict_fields`. `fields`: the field paths the store holds, when known.
pub fn check(
    query: &Query,
    fields: Option<&[String]>,
    strict_fields: bool,
) -> Result<Vec<CompileError>, CompileError> {
    let mut warnings = Vec::new();
    walk(&query.expr, fields, strict_fields, &mut warnings)?;
    Ok(warnings)
}

fn walk(
    expr: &Expr,
    fields: Option<&[String]>,
    strict_fields: bool,
    warnings: &mut Vec<CompileError>,
) -> Result<(), CompileError> {
    match expr {
        Expr::Or { clauses, .. } | Expr::And { clauses, .. } => {
            for c in clauses {
                walk(c, fields, strict_fields, warnings)?;
            }
        }
        Expr::Not { expr, .. } => walk(expr, fields, strict_fields, warnings)?,
        Expr::All { .. } => {}
        Expr::Match(m) => {
            // Unfielded, or fielded by a group (`f:(a or b)`: the match's span
            // is its value's, as no `f:` was written against it).
            let written_bare = m.field.is_none() || m.span == m.value.span;
            if let (true, ValueKind::Term(t)) = (written_bare, &m.value.kind) {
                let upper = t.to_uppercase();
                if matches!(upper.as_str(), "AND" | "OR" | "NOT") && *t != upper {
                    warnings.push(
                        CompileError::new(
                            ErrorKind::LowercaseOperator,
                            format!("`{t}` is searched as a word, not as the operator `{upper}`"),
                        )
                        .at(m.value.span, "a search term")
                        .help(format!(
                            "operators are upper case: write `{upper}`; quote the word (\"{t}\") to keep searching for it without this warning"
                        ))
                        .warning(),
                    );
                }
            }
            if let (Some(field), ValueKind::Whole(parts) | ValueKind::Wildcard(parts)) =
                (&m.field, &m.value.kind)
                && (matches!(m.value.kind, ValueKind::Whole(_)) || spans_tokens(parts))
                && field.name != TAG_FIELD
                && value_lookups(Some(&field.name), parts)
                    .iter()
                    .all(|l| l.pattern == Pattern::Exists)
            {
                warnings.push(
                    CompileError::new(
                        ErrorKind::Costly,
                        "no whole word in this pattern for the index to look up",
                    )
                    .at(m.value.span, "every value of the field is tested")
                    .help("the field-values table is read for every record with the field in the window: narrow the window, add a plain term (`AND`), or write a whole word into the pattern (`*S3 Browser*` looks up `browser*`)")
                    .warning(),
                );
            }
            if let ValueKind::Regex(re) = &m.value.kind
                && let Some(why) = backtracking(re)
            {
                warnings.push(
                    CompileError::new(
                        ErrorKind::SlowRegex,
                        "on Athena this regex can take exponential time",
                    )
                    .at(m.value.span, why)
                    .help(
                        "Athena's regex engine backtracks: on a long token that almost matches, it tries every way of splitting it between the repetitions. Write it so that only one way can match (`a+` for `(a|aa)+` or `(a+)+`); the embedded engine is not affected",
                    )
                    .warning(),
                );
            }
            if let (Some(field), Some(known)) = (&m.field, fields) {
                let name = field.name.as_str();
                if name == TIME_FIELD || name == TAG_FIELD {
                    return Ok(());
                }
                let prefix = format!("{name}.");
                if known.iter().any(|k| k == name || k.starts_with(&prefix)) {
                    return Ok(());
                }
                let unknown = CompileError::new(
                    ErrorKind::UnknownField,
                    format!("no record in the store has the field `{name}`"),
                );
                let help = match closest(name, known) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => "`\\fields` lists the fields the store knows".to_string(),
                };
                if strict_fields {
                    return Err(unknown.at(field.span, "unknown field").help(help));
                }
                // A rule written for fields tomorrow's records will have
                // must run today: the clause matches nothing, as the
                // engines and the reference evaluator agree.
                warnings.push(
                    unknown
                        .at(field.span, "unknown field: this clause matches nothing")
                        .help(help)
                        .warning(),
                );
            }
        }
    }
    Ok(())
}

/// Why `re` can take a backtracking engine exponential time, or `None`.
/// Athena runs regexes on Trino's backtracking engine (joni), where a
/// repetition whose body can match the same text in more than one way
/// tries every way on a token that almost matches: `(a|aa)+b` on
/// `aaaa…a` doubles its work with each `a`. Flagged, conservatively (a
/// warning, not an error): a repetition of more than one round whose body
///  - holds another such repetition (`(a+)+`, `(.*x){20}`: star height
///    above one),
///  - can match the empty string (`(a?){30}`, `(a|b?)+`), or
///  - has alternatives that can start with the same character
///    (`(a|aa)+`, `(x|.)*`).
///
/// A regex that does not parse gets `None`: `resolve` reports it.
pub fn backtracking(re: &str) -> Option<&'static str> {
    let ast = regex_syntax::ast::parse::Parser::new().parse(re).ok()?;
    find_backtracking(&ast)
}

fn find_backtracking(ast: &regex_syntax::ast::Ast) -> Option<&'static str> {
    use regex_syntax::ast::Ast;
    match ast {
        Ast::Repetition(r) => {
            if repeats(&r.op.kind) {
                if holds_repetition(&r.ast) {
                    return Some("a repetition inside a repetition");
                }
                if nullable(&r.ast) {
                    return Some("a repetition of something that can match nothing");
                }
                if overlapping_alternatives(&r.ast) {
                    return Some("a repetition of alternatives that can start alike");
                }
            }
            find_backtracking(&r.ast)
        }
        Ast::Group(g) => find_backtracking(&g.ast),
        Ast::Alternation(a) => a.asts.iter().find_map(find_backtracking),
        Ast::Concat(c) => c.asts.iter().find_map(find_backtracking),
        _ => None,
    }
}

/// More than one round: `*`, `+`, `{n,}`, `{n}` and `{n,m}` past 1.
fn repeats(kind: &regex_syntax::ast::RepetitionKind) -> bool {
    use regex_syntax::ast::{RepetitionKind as K, RepetitionRange as R};
    match kind {
        K::ZeroOrOne => false,
        K::ZeroOrMore | K::OneOrMore => true,
        K::Range(R::Exactly(n)) => *n > 1,
        K::Range(R::AtLeast(_)) => true,
        K::Range(R::Bounded(_, max)) => *max > 1,
    }
}

fn holds_repetition(ast: &regex_syntax::ast::Ast) -> bool {
    use regex_syntax::ast::Ast;
    match ast {
        Ast::Repetition(r) => repeats(&r.op.kind) || holds_repetition(&r.ast),
        Ast::Group(g) => holds_repetition(&g.ast),
        Ast::Alternation(a) => a.asts.iter().any(holds_repetition),
        Ast::Concat(c) => c.asts.iter().any(holds_repetition),
        _ => false,
    }
}

fn nullable(ast: &regex_syntax::ast::Ast) -> bool {
    use regex_syntax::ast::{Ast, RepetitionKind as K, RepetitionRange as R};
    match ast {
        Ast::Empty(_) | Ast::Flags(_) | Ast::Assertion(_) => true,
        Ast::Literal(_)
        | Ast::Dot(_)
        | Ast::ClassUnicode(_)
        | Ast::ClassPerl(_)
        | Ast::ClassBracketed(_) => false,
        Ast::Repetition(r) => {
            matches!(
                r.op.kind,
                K::ZeroOrOne
                    | K::ZeroOrMore
                    | K::Range(R::Exactly(0) | R::AtLeast(0) | R::Bounded(0, _))
            ) || nullable(&r.ast)
        }
        Ast::Group(g) => nullable(&g.ast),
        Ast::Alternation(a) => a.asts.iter().any(nullable),
        Ast::Concat(c) => c.asts.iter().all(nullable),
    }
}

/// An alternation (under groups) two of whose alternatives can start with
/// the same character. What an alternative can start with is known only
/// for a literal; anything else (a class, `.`, a group) may start like
/// any other.
fn overlapping_alternatives(ast: &regex_syntax::ast::Ast) -> bool {
    use regex_syntax::ast::Ast;
    match ast {
        Ast::Group(g) => overlapping_alternatives(&g.ast),
        Ast::Alternation(a) => {
            let firsts: Vec<Option<char>> = a.asts.iter().map(first_literal).collect();
            firsts.iter().enumerate().any(|(i, x)| {
                firsts[i + 1..]
                    .iter()
                    .any(|y| x.is_none() || y.is_none() || x == y)
            })
        }
        _ => false,
    }
}

fn first_literal(ast: &regex_syntax::ast::Ast) -> Option<char> {
    use regex_syntax::ast::Ast;
    match ast {
        Ast::Literal(l) => Some(l.c),
        Ast::Concat(c) => c.asts.first().and_then(first_literal),
        _ => None,
    }
}

/// The known field nearest to `name`: equal ignoring case, or within a small
/// edit distance (one edit per four characters, at most three).
fn closest<'a>(name: &str, known: &'a [String]) -> Option<&'a str> {
    let lower = name.to_lowercase();
    if let Some(k) = known.iter().find(|k| k.to_lowercase() == lower) {
        return Some(k);
    }
    let budget = (name.chars().count() / 4).clamp(1, 3);
    known
        .iter()
        .map(|k| (edit_distance(&lower, &k.to_lowercase()), k))
        .filter(|(d, _)| *d <= budget)
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, k)| k.as_str())
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for j in 0..b.len() {
            let cur = row[j + 1];
            row[j + 1] = if ca == b[j] {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::parse;

    fn fields() -> Vec<String> {
        [
            "eventName",
            "userIdentity.userName",
            "sourceIPAddress",
            "errorCode",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn misspelled_fields_suggest_the_known_one() {
        let strict = |q: &str| check(&parse(q).unwrap(), Some(&fields()), true).unwrap_err();
        assert_eq!(
            strict("evntName:x").help.unwrap(),
            "did you mean `eventName`?"
        );
        assert_eq!(
            strict("eventname:x").help.unwrap(),
            "did you mean `eventName`?"
        );
        assert_eq!(
            strict("userIdentity.username:x").help.unwrap(),
            "did you mean `userIdentity.userName`?"
        );
        assert_eq!(
            strict("completelyDifferent:x").kind,
            ErrorKind::UnknownField
        );
        // Not strict: every unknown field is a warning, the hint kept.
        let ok = |q: &str| check(&parse(q).unwrap(), Some(&fields()), false).unwrap();
        assert!(ok("eventName:x").is_empty());
        assert!(ok("userIdentity:*").is_empty());
        assert!(ok("@time:>now-1h tag:json").is_empty());
        assert_eq!(ok("completelyDifferent:x").len(), 1);
        let w = ok("evntName:x OR eventName:y");
        assert_eq!(w.len(), 1);
        assert!(w[0].is_warning());
        assert_eq!(w[0].help.as_deref(), Some("did you mean `eventName`?"));
        // Fields unknown (no catalog): nothing to say.
        for strict in [false, true] {
            assert!(
                check(&parse("evntName:x").unwrap(), None, strict)
                    .unwrap()
                    .is_empty()
            );
        }
    }

    #[test]
    fn lowercase_operators_warn() {
        let w = check(&parse("a or b").unwrap(), None, false).unwrap();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].kind, ErrorKind::LowercaseOperator);
        assert!(
            check(&parse("a \"or\" b").unwrap(), None, false)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", "abc"), 0);
    }

    /// Patterns a backtracking engine can take exponential time on are
    /// flagged; repetitions only one way can match are not.
    #[test]
    fn backtracking_regexes_are_flagged_and_plain_ones_are_not() {
        for re in [
            "(a|aa)+b",
            "(a+)+",
            "(a*)*b",
            "(.*x){20}",
            "(a?){30}a{30}",
            "(a|b?)+",
            "(x|.)*",
            "([a-z]+[0-9]*)+",
            "x(ab|a)*y",
        ] {
            assert!(backtracking(re).is_some(), "{re} should be flagged");
        }
        for re in [
            "admin[0-9]+",
            "(get|put)object",
            "(get|put)+",
            "a+b+c*",
            "(ab)+",
            "[a-z]+@[a-z]+\\.com",
            "(a|aa)?b",
            "(ab){2}",
            "ab{2,3}",
            "(a(",
        ] {
            assert_eq!(backtracking(re), None, "{re} should not be flagged");
        }
    }

    #[test]
    fn a_backtracking_regex_gets_a_warning_at_its_span() {
        let q = crate::parser::parse("eventName:/(a|aa)+b/").unwrap();
        let w = check(&q, None, false).unwrap();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].kind, ErrorKind::SlowRegex);
        assert!(w[0].is_warning());
        assert_eq!(w[0].span.map(|s| (s.start, s.end)), Some((10, 20)));
    }
}
