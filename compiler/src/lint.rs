//! Checks on the parsed query that need no meaning yet: operator words
//! written in lower case (searched as terms, with a warning), and field names
//! the store does not know (an error when one it knows is a likely intent).

use crate::ast::{Expr, Query, TAG_FIELD, TIME_FIELD, ValueKind};
use crate::error::{CompileError, ErrorKind};

/// Returns the warnings of `query`, or the first unknown-field error.
/// `fields`: the field paths the store holds, when known.
pub fn check(query: &Query, fields: Option<&[String]>) -> Result<Vec<CompileError>, CompileError> {
    let mut warnings = Vec::new();
    walk(&query.expr, fields, &mut warnings)?;
    Ok(warnings)
}

fn walk(
    expr: &Expr,
    fields: Option<&[String]>,
    warnings: &mut Vec<CompileError>,
) -> Result<(), CompileError> {
    match expr {
        Expr::Or { clauses, .. } | Expr::And { clauses, .. } => {
            for c in clauses {
                walk(c, fields, warnings)?;
            }
        }
        Expr::Not { expr, .. } => walk(expr, fields, warnings)?,
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
            if let (Some(field), Some(known)) = (&m.field, fields) {
                let name = field.name.as_str();
                if name == TIME_FIELD || name == TAG_FIELD {
                    return Ok(());
                }
                let prefix = format!("{name}.");
                if known.iter().any(|k| k == name || k.starts_with(&prefix)) {
                    return Ok(());
                }
                match closest(name, known) {
                    Some(best) => {
                        return Err(CompileError::new(
                            ErrorKind::UnknownField,
                            format!("no record in the store has the field `{name}`"),
                        )
                        .at(field.span, "unknown field")
                        .help(format!("did you mean `{best}`?")));
                    }
                    None => warnings.push(
                        CompileError::new(
                            ErrorKind::UnknownField,
                            format!("no record in the store has the field `{name}`"),
                        )
                        .at(field.span, "unknown field: this clause matches nothing")
                        .help("`\\fields` lists the fields the store knows")
                        .warning(),
                    ),
                }
            }
        }
    }
    Ok(())
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
        let err = |q: &str| check(&parse(q).unwrap(), Some(&fields())).unwrap_err();
        assert_eq!(err("evntName:x").help.unwrap(), "did you mean `eventName`?");
        assert_eq!(
            err("eventname:x").help.unwrap(),
            "did you mean `eventName`?"
        );
        assert_eq!(
            err("userIdentity.username:x").help.unwrap(),
            "did you mean `userIdentity.userName`?"
        );
        let ok = |q: &str| check(&parse(q).unwrap(), Some(&fields())).unwrap();
        assert!(ok("eventName:x").is_empty());
        assert!(ok("userIdentity:*").is_empty());
        assert!(ok("@time:>now-1h tag:json").is_empty());
        assert_eq!(ok("completelyDifferent:x").len(), 1);
        assert!(
            check(&parse("evntName:x").unwrap(), None)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn lowercase_operators_warn() {
        let w = check(&parse("a or b").unwrap(), None).unwrap();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].kind, ErrorKind::LowercaseOperator);
        assert!(
            check(&parse("a \"or\" b").unwrap(), None)
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
}
