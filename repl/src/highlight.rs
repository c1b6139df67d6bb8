//! Syntax highlighting of a query as it is typed, and the parse-error hint.
//!
//! A small lexer, not the parser: it must colour half-typed input (an
//! unclosed quote, a dangling `AND`) that the grammar rejects. The parser
//! runs too, for the error position: the character where parsing fails is
//! shown in red, and the hint after the cursor says why, before Enter.

use std::ops::Range;

/// What a piece of the line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Field,
    Operator,
    Phrase,
    Range,
    Regex,
    Term,
    Paren,
}

impl Class {
    /// ANSI SGR parameters.
    fn sgr(self) -> &'static str {
        match self {
            Class::Field => "36",      // cyan
            Class::Operator => "1;35", // bold magenta
            Class::Phrase => "32",     // green
            Class::Range => "33",      // yellow
            Class::Regex => "33",      // yellow
            Class::Term => "",         // as typed
            Class::Paren => "1",       // bold
        }
    }
}

/// Splits `line` into classified byte ranges (whitespace is left out).
pub fn classify(line: &str) -> Vec<(Range<usize>, Class)> {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let end_of = |k: usize| chars.get(k).map_or(line.len(), |(i, _)| *i);
    let mut out = Vec::new();
    let mut k = 0;
    // After `field:`, the value runs to whitespace: colons are part of it
    // (times), and a quote or bracket opens a phrase or range at once.
    let mut in_value = false;
    while k < chars.len() {
        let (i, c) = chars[k];
        if c.is_whitespace() {
            in_value = false;
            k += 1;
            continue;
        }
        let closing = match c {
            '"' => Some(('"', Class::Phrase)),
            '[' => Some((']', Class::Range)),
            '{' => Some(('}', Class::Range)),
            '/' if !in_value || k == 0 || chars[k - 1].1 == ':' => Some(('/', Class::Regex)),
            _ => None,
        };
        if let Some((close, class)) = closing {
            let mut j = k + 1;
            while j < chars.len() {
                match chars[j].1 {
                    '\\' => j += 2,
                    ch if ch == close => {
                        j += 1;
                        break;
                    }
                    // A range also ends at its closing brace of either kind.
                    ']' | '}' if class == Class::Range => {
                        j += 1;
                        break;
                    }
                    _ => j += 1,
                }
            }
            let j = j.min(chars.len());
            out.push((i..end_of(j), class));
            in_value = false;
            k = j;
            continue;
        }
        if matches!(c, '(' | ')') {
            out.push((i..i + 1, Class::Paren));
            in_value = false;
            k += 1;
            continue;
        }
        if !in_value && matches!(c, '+' | '-' | '!') && !line[i..].starts_with("!=") {
            out.push((i..i + c.len_utf8(), Class::Operator));
            k += 1;
            continue;
        }
        // A word: to whitespace or a parenthesis, escapes included; a `:`
        // outside a value ends a field name.
        let mut j = k;
        let mut field_end = None;
        while j < chars.len() {
            let ch = chars[j].1;
            if ch == '\\' {
                j += 2;
                continue;
            }
            if ch.is_whitespace() || matches!(ch, '(' | ')') {
                break;
            }
            if ch == ':' && !in_value && j > k {
                field_end = Some(j + 1);
                break;
            }
            j += 1;
        }
        let j = j.min(chars.len());
        if let Some(fe) = field_end {
            out.push((i..end_of(fe), Class::Field));
            in_value = true;
            k = fe;
            continue;
        }
        let word = &line[i..end_of(j)];
        let class = if !in_value && matches!(word, "AND" | "OR" | "NOT" | "&&" | "||") {
            Class::Operator
        } else {
            Class::Term
        };
        out.push((i..end_of(j), class));
        in_value = false;
        k = j.max(k + 1);
    }
    out
}

/// The line with ANSI colours; the byte range `error` (where parsing
/// fails) in red and underlined. Without `color`, the line unchanged.
pub fn render(line: &str, error: Option<Range<usize>>, color: bool) -> String {
    if !color {
        return line.to_string();
    }
    let mut out = String::with_capacity(line.len() + 32);
    let mut at = 0;
    for (range, class) in classify(line) {
        out.push_str(&line[at..range.start]);
        paint(
            &mut out,
            &line[range.clone()],
            class.sgr(),
            range.start,
            &error,
        );
        at = range.end;
    }
    out.push_str(&line[at..]);
    out
}

/// Appends `text` (starting at byte `offset` of the line) in `sgr`, with
/// the part inside `error` red and underlined.
fn paint(out: &mut String, text: &str, sgr: &str, offset: usize, error: &Option<Range<usize>>) {
    let style = |out: &mut String, s: &str, sgr: &str| {
        if sgr.is_empty() || s.is_empty() {
            out.push_str(s);
        } else {
            out.push_str(&format!("\x1b[{sgr}m{s}\x1b[0m"));
        }
    };
    match error {
        Some(e) if e.start < offset + text.len() && e.end > offset => {
            let a = e.start.saturating_sub(offset).min(text.len());
            let b = (e.end - offset).min(text.len());
            if text.is_char_boundary(a) && text.is_char_boundary(b) {
                style(out, &text[..a], sgr);
                style(out, &text[a..b], "4;31");
                style(out, &text[b..], sgr);
            } else {
                style(out, text, sgr);
            }
        }
        _ => style(out, text, sgr),
    }
}

/// Where the query fails to parse, and why, for the hint: `None` for a
/// query that parses, a backslash command, or an empty line.
pub fn parse_error(line: &str) -> Option<(Range<usize>, String)> {
    if line.trim().is_empty() || line.trim_start().starts_with('\\') {
        return None;
    }
    let e = glaux_compiler::parser::parse(line).err()?;
    let span = e.span.map_or(0..line.len(), |s| {
        let end = if s.end > s.start {
            s.end
        } else {
            (s.start + 1).min(line.len())
        };
        s.start.min(line.len())..end.max(s.start.min(line.len()))
    });
    Some((span, e.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(line: &str) -> Vec<(&str, Class)> {
        classify(line)
            .into_iter()
            .map(|(r, c)| (&line[r], c))
            .collect()
    }

    #[test]
    fn classes_of_a_query() {
        use Class::*;
        assert_eq!(
            classes(
                r#"eventName:Console* AND NOT (src:"a b" OR bytes:[1 TO 5]) -x /ab+/ @time:>now-1h"#
            ),
            vec![
                ("eventName:", Field),
                ("Console*", Term),
                ("AND", Operator),
                ("NOT", Operator),
                ("(", Paren),
                ("src:", Field),
                ("\"a b\"", Phrase),
                ("OR", Operator),
                ("bytes:", Field),
                ("[1 TO 5]", Range),
                (")", Paren),
                ("-", Operator),
                ("x", Term),
                ("/ab+/", Regex),
                ("@time:", Field),
                (">now-1h", Term),
            ]
        );
        // Colons inside a value (times) stay in the value.
        assert_eq!(
            classes("t:2024-05-01T10:00:00"),
            vec![("t:", Class::Field), ("2024-05-01T10:00:00", Class::Term)]
        );
        // Half-typed input still classifies.
        assert_eq!(
            classes("a:\"open"),
            vec![("a:", Class::Field), ("\"open", Class::Phrase)]
        );
    }

    #[test]
    fn rendering() {
        assert_eq!(render("a AND b", None, false), "a AND b");
        assert_eq!(render("a AND b", None, true), "a \x1b[1;35mAND\x1b[0m b");
        let (span, msg) = parse_error("a AND").unwrap();
        assert!(!msg.is_empty());
        let shown = render("a AND", Some(span), true);
        assert!(shown.contains("\x1b[4;31m"), "{shown:?}");
        assert!(parse_error("a AND b").is_none());
        assert!(parse_error("\\limit x").is_none());
    }

    #[test]
    fn never_panics_on_odd_input() {
        for line in [
            "\\", "\"", "a:\\", "[", "/", "é:ü", "((", "x:\"\\", "!=", "a:b:c",
        ] {
            let _ = render(line, Some(0..line.len()), true);
            let _ = render(line, Some(line.len()..line.len() + 3), true);
            let _ = parse_error(line);
        }
    }
}
