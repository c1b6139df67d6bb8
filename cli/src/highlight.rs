//! Syntax highlighting of a query as it is typed, and the parse-error hint.
//!
//! The compiler's lexer, not the parser: it colours half-typed input (an
//! unclosed quote, a dangling `AND`) that the grammar rejects, and reads
//! the line exactly as the parser will. The parser runs too, for the error position: the character where parsing fails is
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

/// Splits `line` into classified byte ranges (whitespace is left out),
/// from the compiler's own tokens: a stage's name is an operator.
pub fn classify(line: &str) -> Vec<(Range<usize>, Class)> {
    use glaux_compiler::lex::Kind;
    let tokens = glaux_compiler::lex::lex(line).tokens;
    let mut out = Vec::with_capacity(tokens.len());
    let mut after_pipe = false;
    for t in tokens {
        let class = match t.kind {
            Kind::Field => Class::Field,
            Kind::Keyword | Kind::Sign | Kind::Pipe => Class::Operator,
            Kind::Word if after_pipe => Class::Operator,
            Kind::Phrase | Kind::Str => Class::Phrase,
            Kind::Range => Class::Range,
            Kind::Regex => Class::Regex,
            Kind::Open | Kind::Close => Class::Paren,
            Kind::Term | Kind::Word | Kind::Number | Kind::Punct => Class::Term,
        };
        after_pipe = t.kind == Kind::Pipe;
        out.push((t.span.start..t.span.end, class));
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
        // A regex holds quotes; a stage's name is an operator.
        assert_eq!(
            classes("/\"/ | head 5"),
            vec![
                ("/\"/", Regex),
                ("|", Operator),
                ("head", Operator),
                ("5", Term),
            ]
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
