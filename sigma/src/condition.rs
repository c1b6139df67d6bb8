//! A detection's `condition`: `selection and not 1 of filter_*`. Operators
//! `or` < `and` < `not` (loosest first), parentheses, `1 of` / `any of` /
//! `all of` a name pattern (`*` a wildcard) or `them`. Case-insensitive
//! keywords. Spans are byte offsets into the condition text.

use std::ops::Range;

use crate::error::SigmaError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    Ref(String, Range<usize>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    /// `1 of X*` (`all`: false) or `all of X*`; `None` is `them`.
    Of {
        all: bool,
        pattern: Option<String>,
        span: Range<usize>,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Open,
    Close,
    Pipe,
}

fn lex(text: &str) -> Result<Vec<(Tok, Range<usize>)>, SigmaError> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' => out.push((Tok::Open, i..i + 1)),
            ')' => out.push((Tok::Close, i..i + 1)),
            // The rest is an aggregation (`| count() by x > 5`), which
            // the parser refuses as a whole.
            '|' => {
                out.push((Tok::Pipe, i..text.len()));
                break;
            }
            c if c.is_alphanumeric() || matches!(c, '_' | '-' | '*') => {
                let mut end = i + c.len_utf8();
                while let Some(&(j, n)) = chars.peek() {
                    if n.is_alphanumeric() || matches!(n, '_' | '-' | '*') {
                        end = j + n.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push((Tok::Word(text[i..end].to_string()), i..end));
            }
            c => {
                return Err(SigmaError::new(
                    "glaux::sigma_condition",
                    format!("unexpected `{c}` in the condition"),
                )
                .at(i..i + c.len_utf8(), "not part of a condition")
                .help("a condition names selections with `and`, `or`, `not`, parentheses, `1 of X*` and `all of X*`"));
            }
        }
    }
    Ok(out)
}

/// Parses a condition.
pub fn parse(text: &str) -> Result<Cond, SigmaError> {
    let tokens = lex(text)?;
    let mut p = Parser {
        tokens,
        at: 0,
        end: text.len(),
    };
    let cond = p.or()?;
    match p.tokens.get(p.at) {
        None => Ok(cond),
        Some((Tok::Pipe, span)) => Err(SigmaError::new(
            "glaux::sigma_unsupported",
            "the `| count() …` aggregation of a condition is not supported yet",
        )
        .at(span.clone(), "an aggregation")
        .help("Sigma 2 replaced it with correlation rules; run the search alone (remove the `|` part), or summarize with glaux's `| stats count() by …`")),
        Some((_, span)) => Err(SigmaError::new(
            "glaux::sigma_condition",
            "the condition goes on after its end",
        )
        .at(span.clone(), "unexpected here")
        .help("join clauses with `and` or `or`")),
    }
}

struct Parser {
    tokens: Vec<(Tok, Range<usize>)>,
    at: usize,
    end: usize,
}

impl Parser {
    fn keyword(&self, kw: &str) -> bool {
        matches!(self.tokens.get(self.at), Some((Tok::Word(w), _)) if w.eq_ignore_ascii_case(kw))
    }

    fn or(&mut self) -> Result<Cond, SigmaError> {
        let mut parts = vec![self.and()?];
        while self.keyword("or") {
            self.at += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().expect("one")
        } else {
            Cond::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Cond, SigmaError> {
        let mut parts = vec![self.not()?];
        while self.keyword("and") {
            self.at += 1;
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().expect("one")
        } else {
            Cond::And(parts)
        })
    }

    fn not(&mut self) -> Result<Cond, SigmaError> {
        if self.keyword("not") {
            self.at += 1;
            return Ok(Cond::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn missing(&self, what: &str) -> SigmaError {
        let span = match self.tokens.get(self.at) {
            Some((_, s)) => s.clone(),
            None => self.end..self.end,
        };
        SigmaError::new("glaux::sigma_condition", format!("expected {what}"))
            .at(span, format!("{what} here"))
            .help("a condition names selections with `and`, `or`, `not`, parentheses, `1 of X*` and `all of X*`")
    }

    fn primary(&mut self) -> Result<Cond, SigmaError> {
        let Some((tok, span)) = self.tokens.get(self.at).cloned() else {
            return Err(self.missing("a selection"));
        };
        match tok {
            Tok::Open => {
                self.at += 1;
                let inner = self.or()?;
                match self.tokens.get(self.at) {
                    Some((Tok::Close, _)) => {
                        self.at += 1;
                        Ok(inner)
                    }
                    _ => Err(SigmaError::new(
                        "glaux::sigma_condition",
                        "this parenthesis is never closed",
                    )
                    .at(span, "opened here")
                    .help("add `)`")),
                }
            }
            Tok::Word(w) if ["and", "or"].iter().any(|k| w.eq_ignore_ascii_case(k)) => {
                Err(self.missing("a selection"))
            }
            Tok::Word(w) => {
                self.at += 1;
                let quantifier = match w.to_ascii_lowercase().as_str() {
                    "1" | "any" => Some(false),
                    "all" => Some(true),
                    _ => None,
                };
                if let Some(all) = quantifier
                    && self.keyword("of")
                {
                    self.at += 1;
                    let Some((Tok::Word(target), tspan)) = self.tokens.get(self.at).cloned() else {
                        return Err(self.missing("a name pattern or `them`"));
                    };
                    self.at += 1;
                    return Ok(Cond::Of {
                        all,
                        pattern: (!target.eq_ignore_ascii_case("them")).then_some(target),
                        span: span.start..tspan.end,
                    });
                }
                Ok(Cond::Ref(w, span))
            }
            Tok::Close | Tok::Pipe => Err(self.missing("a selection")),
        }
    }
}

/// True when a selection's name matches a `1 of`/`all of` pattern: `*`
/// any run of characters, the rest literal, the whole name.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], s: &[char]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some(('*', rest)) => (0..=s.len()).any(|i| go(rest, &s[i..])),
            Some((c, rest)) => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = name.chars().collect();
    go(&p, &s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(c: &Cond) -> String {
        match c {
            Cond::Ref(n, _) => n.clone(),
            Cond::And(xs) => format!(
                "(and {})",
                xs.iter().map(show).collect::<Vec<_>>().join(" ")
            ),
            Cond::Or(xs) => format!("(or {})", xs.iter().map(show).collect::<Vec<_>>().join(" ")),
            Cond::Not(x) => format!("(not {})", show(x)),
            Cond::Of { all, pattern, .. } => format!(
                "({} of {})",
                if *all { "all" } else { "1" },
                pattern.as_deref().unwrap_or("them")
            ),
        }
    }

    #[test]
    fn precedence_parentheses_and_quantifiers() {
        let p = |t: &str| show(&parse(t).unwrap());
        assert_eq!(p("selection"), "selection");
        assert_eq!(p("a or b and not c"), "(or a (and b (not c)))");
        assert_eq!(
            p("(a or b) and not (c or d)"),
            "(and (or a b) (not (or c d)))"
        );
        assert_eq!(
            p("sel and not 1 of filter_*"),
            "(and sel (not (1 of filter_*)))"
        );
        assert_eq!(p("all of them"), "(all of them)");
        assert_eq!(p("any of sel* AND NOT x"), "(and (1 of sel*) (not x))");
    }

    #[test]
    fn malformed_conditions_point_at_the_fault() {
        for (text, at) in [
            ("a and", 5..5),
            ("(a or b", 0..1),
            ("a b", 2..3),
            ("a | count() > 5", 2..15),
            ("a & b", 2..3),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.span, Some(at), "{text}: {e:?}");
        }
    }

    #[test]
    fn patterns_match_whole_names() {
        assert!(name_matches("filter_*", "filter_main"));
        assert!(!name_matches("filter", "filter_main"));
        assert!(name_matches("*", "x"));
        assert!(name_matches("sel*_b", "sel_a_b"));
    }
}
