//! Query text → classified tokens with spans: the one reading of the
//! syntax's surface that everything else shares.
//!
//! The parser's pre-check (unclosed quotes, unbalanced parentheses, where
//! the search ends and its stages begin), the stage parser, and the REPL's
//! highlighter, validator ("is this line finished?") and completion all
//! ask this lexer, so they cannot disagree about what a `"` or a `(` inside
//! a `/regex/` means. It never fails: half-typed input lexes, and what is
//! wrong is collected in [`Lexed::errors`] in the order met (jaq's
//! `load/lex.rs` works the same way).
//!
//! Not to be confused with [`crate::tokenizer`], which splits *log values*
//! into the index's tokens.

use crate::ast::Span;
use crate::error::{CompileError, ErrorKind};

/// Deepest nesting of parentheses in a search. The later stages recurse
/// over the tree; this bound keeps them far from the stack's end, whatever
/// the input.
pub const MAX_DEPTH: usize = 128;

/// The error for nesting past [`MAX_DEPTH`] at `at..at + len`: the lexer's
/// for parentheses, the parser's for `NOT`s.
pub(crate) fn too_deep(at: usize, len: usize, what: &str) -> CompileError {
    CompileError::new(
        ErrorKind::TooDeep,
        format!("{what} nested more than {MAX_DEPTH} deep"),
    )
    .at(Span::new(at, at + len), "this one is too deep")
    .help("flatten the query: `a OR b OR c` needs no parentheses, and two `NOT`s cancel out")
}

/// What a piece of the text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `field:`, colon included.
    Field,
    /// `AND`, `OR`, `NOT`, `&&`, `||`, `!`.
    Keyword,
    /// A `+` or `-` written against its clause.
    Sign,
    /// `"…"` (to the end of the text when never closed).
    Phrase,
    /// `[a TO b]`, `{a TO b}`, perhaps not closed yet.
    Range,
    /// A complete `/regex/`.
    Regex,
    /// A bare term or a field's value.
    Term,
    Open,
    Close,
    /// The `|` that starts a stage.
    Pipe,
    /// In a stage: a name (stage, aggregate, keyword, field path).
    Word,
    /// In a stage: starts with a digit (`5`, `1.5`, `15m`).
    Number,
    /// In a stage: `"…"`.
    Str,
    /// In a stage: `( ) , = != < <= > >= - +`.
    Punct,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub span: Span,
}

/// The tokens of a text and what it leaves open.
#[derive(Debug, Clone)]
pub struct Lexed {
    pub tokens: Vec<Token>,
    /// What is wrong, in the order met; empty for well-formed text. Each
    /// points at what the user typed.
    pub errors: Vec<CompileError>,
    /// Where the search ends: the byte offset of the first [`Kind::Pipe`],
    /// else the text's length.
    pub search_end: usize,
    /// A quote (in the search or a stage) that is never closed.
    pub open_quote: bool,
    /// Parentheses opened and not closed, search and stages together.
    pub open_parens: usize,
}

impl Lexed {
    /// The first error in the search part, which the parser reports before
    /// reading the grammar.
    pub fn search_error(&self) -> Option<&CompileError> {
        self.errors
            .iter()
            .find(|e| e.span.is_none_or(|s| s.start < self.search_end))
    }

    /// The first error in the stages.
    pub fn stage_error(&self) -> Option<&CompileError> {
        self.errors
            .iter()
            .find(|e| e.span.is_some_and(|s| s.start >= self.search_end))
    }

    /// True while the text cannot be a whole query yet: a quote or a
    /// parenthesis is open, or it ends on an operator that needs a clause
    /// after it. What the REPL asks before it runs a line on Enter.
    pub fn is_unfinished(&self, text: &str) -> bool {
        self.open_quote
            || self.open_parens > 0
            || self.tokens.last().is_some_and(|t| {
                let word = &text[t.span.start..t.span.end];
                match t.kind {
                    Kind::Keyword => true,
                    Kind::Word => matches!(word, "AND" | "OR" | "NOT"),
                    _ => false,
                }
            })
    }

    /// Where the word that ends the text starts, for completion: a field's
    /// value counts from its `field:`, a sign or `(` before a word does not
    /// count, and after whitespace the word is empty (the text's length).
    pub fn last_word_start(&self, text: &str) -> usize {
        let n = self.tokens.len();
        match self.tokens.last() {
            Some(last)
                if last.span.end == text.len()
                    && !matches!(last.kind, Kind::Open | Kind::Close | Kind::Sign)
                    && &text[last.span.start..] != "!" =>
            {
                match n.checked_sub(2).map(|k| self.tokens[k]) {
                    Some(field)
                        if field.kind == Kind::Field && field.span.end == last.span.start =>
                    {
                        field.span.start
                    }
                    _ => last.span.start,
                }
            }
            _ => text.len(),
        }
    }
}

/// Lexes `text`. Never panics, whatever the input.
pub fn lex(text: &str) -> Lexed {
    let mut lexer = Lexer {
        text,
        at: 0,
        out: Lexed {
            tokens: Vec::new(),
            errors: Vec::new(),
            search_end: text.len(),
            open_quote: false,
            open_parens: 0,
        },
        opens: Vec::new(),
    };
    lexer.search();
    if let Some(&i) = lexer.opens.last() {
        lexer.out.errors.push(
            CompileError::new(ErrorKind::UnclosedParen, "this `(` is never closed")
                .at(Span::new(i, i + 1), "group starts here")
                .help("add the missing `)`"),
        );
    }
    lexer.out.open_parens = lexer.opens.len();
    if lexer.out.search_end < text.len() {
        lexer.stages();
    }
    lexer.out
}

struct Lexer<'a> {
    text: &'a str,
    at: usize,
    out: Lexed,
    /// Where the search's open parentheses are.
    opens: Vec<usize>,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.at..].chars().next()
    }

    fn peek2(&self) -> Option<char> {
        self.text[self.at..].chars().nth(1)
    }

    fn push(&mut self, kind: Kind, start: usize) {
        self.out.tokens.push(Token {
            kind,
            span: Span::new(start, self.at),
        });
    }

    /// Moves past one character, or past the one after a `\`.
    fn bump_escaped(&mut self) {
        let Some(c) = self.peek() else { return };
        self.at += c.len_utf8();
        if c == '\\'
            && let Some(n) = self.peek()
        {
            self.at += n.len_utf8();
        }
    }

    /// A lone `|` here (not one of `||`).
    fn at_lone_pipe(&self) -> bool {
        self.text[self.at..].starts_with('|')
            && !self.text[self.at..].starts_with("||")
            && !self.text[..self.at].ends_with('|')
    }

    /// The search: up to the first lone `|`, or the end.
    fn search(&mut self) {
        // A clause may start here: a sign, `!` or a `/regex/` may follow.
        let mut clause_start = true;
        // Just after `field:`: the value starts here.
        let mut value = false;
        while let Some(c) = self.peek() {
            let start = self.at;
            if c.is_whitespace() {
                self.at += c.len_utf8();
                clause_start = true;
                value = false;
                continue;
            }
            if self.at_lone_pipe() {
                self.out.search_end = start;
                return;
            }
            let was_value = std::mem::replace(&mut value, false);
            match c {
                '"' => self.phrase(Kind::Phrase),
                '[' | '{' => self.range(),
                '(' => {
                    self.at += 1;
                    self.push(Kind::Open, start);
                    self.opens.push(start);
                    if self.opens.len() == MAX_DEPTH + 1 {
                        self.out.errors.push(too_deep(start, 1, "parentheses"));
                    }
                    clause_start = true;
                    continue;
                }
                ')' => {
                    self.at += 1;
                    self.push(Kind::Close, start);
                    if self.opens.pop().is_none() {
                        self.out.errors.push(
                            CompileError::new(ErrorKind::UnmatchedParen, "this `)` closes nothing")
                                .at(Span::new(start, start + 1), "no `(` before it")
                                .help("remove it, or add the `(` it belongs to; quote the term to search for a literal `)`"),
                        );
                    }
                }
                '/' if clause_start && self.regex() => {}
                '|' | '&' if !was_value && self.peek2() == Some(c) => {
                    self.at += 2;
                    self.push(Kind::Keyword, start);
                    clause_start = true;
                    continue;
                }
                '!' if !was_value && self.peek2() != Some('=') => {
                    self.at += 1;
                    self.push(Kind::Keyword, start);
                    clause_start = true;
                    continue;
                }
                '+' | '-' if !was_value => {
                    self.at += 1;
                    self.push(Kind::Sign, start);
                    clause_start = true;
                    continue;
                }
                _ => {
                    if self.word(was_value) {
                        value = true;
                        clause_start = true;
                        continue;
                    }
                }
            }
            clause_start = false;
        }
    }

    /// A word from here: a `field:` (true, the value follows), else a term
    /// or a keyword. It runs to whitespace, a parenthesis, a quote or a lone
    /// `|`; outside a value a `:` ends a field name.
    fn word(&mut self, in_value: bool) -> bool {
        let start = self.at;
        while let Some(c) = self.peek() {
            if c.is_whitespace() || matches!(c, '(' | ')' | '"') || self.at_lone_pipe() {
                break;
            }
            if c == ':' && !in_value && self.at > start {
                self.at += 1;
                // `field:=`: the operator is part of the field's token.
                if self.peek() == Some('=') {
                    self.at += 1;
                }
                self.push(Kind::Field, start);
                return true;
            }
            if c == '|' {
                // Part of a `||`, which stays in the word as the grammar reads it.
                self.at += 1;
                continue;
            }
            self.bump_escaped();
        }
        if self.at == start {
            // A `:` that starts a word: one character of term.
            self.bump_escaped();
        }
        let word = &self.text[start..self.at];
        let kind = if !in_value && matches!(word, "AND" | "OR" | "NOT") {
            Kind::Keyword
        } else {
            Kind::Term
        };
        self.push(kind, start);
        false
    }

    /// `"…"` from here; never closed, it runs to the end of the text.
    fn phrase(&mut self, kind: Kind) {
        let start = self.at;
        self.at += 1;
        while let Some(c) = self.peek() {
            if c == '"' {
                self.at += 1;
                self.push(kind, start);
                return;
            }
            self.bump_escaped();
        }
        self.push(kind, start);
        self.out.open_quote = true;
        let (label, help) = if kind == Kind::Str {
            (
                "string starts here",
                "close the string with `\"`; write `\\\"` for a quote inside it",
            )
        } else {
            (
                "phrase starts here",
                "close the phrase with `\"`; write `\\\"` for a quote inside it",
            )
        };
        self.out.errors.push(
            CompileError::new(ErrorKind::UnclosedQuote, "this quote is never closed")
                .at(Span::new(start, start + 1), label)
                .help(help),
        );
    }

    /// `[…]` or `{…}` from here, to its closing bracket of either kind. A
    /// parenthesis or lone `|` (which no bound may hold) ends it unclosed,
    /// and the grammar says what is wrong.
    fn range(&mut self) {
        let start = self.at;
        self.at += 1;
        while let Some(c) = self.peek() {
            match c {
                ']' | '}' => {
                    self.at += 1;
                    break;
                }
                '"' => {
                    // A quoted bound: its own token, inside the range's.
                    let tokens = self.out.tokens.len();
                    self.phrase(Kind::Phrase);
                    self.out.tokens.truncate(tokens);
                }
                '(' | ')' => break,
                _ if self.at_lone_pipe() => break,
                _ => self.bump_escaped(),
            }
        }
        self.push(Kind::Range, start);
    }

    /// A complete `/regex/` from here, ending before whitespace, `)` or
    /// the end as the grammar reads one; false (nothing consumed) if
    /// there is none.
    fn regex(&mut self) -> bool {
        let start = self.at;
        let mut at = start + 1;
        let rest = &self.text[at..];
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '/' => {
                    at += i + 1;
                    let ends = self.text[at..]
                        .chars()
                        .next()
                        .is_none_or(|n| n.is_whitespace() || n == ')');
                    if !ends {
                        return false;
                    }
                    self.at = at;
                    self.push(Kind::Regex, start);
                    return true;
                }
                _ => {}
            }
        }
        false
    }

    /// The stages, from the first lone `|` to the end.
    fn stages(&mut self) {
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            let start = self.at;
            let until = |lexer: &mut Self, pred: fn(char) -> bool| {
                lexer.at += c.len_utf8();
                while lexer.peek().is_some_and(pred) {
                    lexer.at += lexer.peek().map_or(0, char::len_utf8);
                }
            };
            match c {
                c if c.is_whitespace() => {
                    self.at += c.len_utf8();
                    continue;
                }
                '|' => {
                    self.at += 1;
                    self.push(Kind::Pipe, start);
                }
                '"' => self.phrase(Kind::Str),
                c if c.is_ascii_digit() => {
                    until(self, |n| n.is_ascii_alphanumeric() || n == '.');
                    self.push(Kind::Number, start);
                }
                c if is_word_start(c) => {
                    until(self, is_word_char);
                    self.push(Kind::Word, start);
                }
                '!' | '<' | '>' if self.peek2() == Some('=') => {
                    self.at += 2;
                    self.push(Kind::Punct, start);
                }
                '(' | ')' | ',' | '=' | '<' | '>' | '-' | '+' => {
                    self.at += 1;
                    self.push(Kind::Punct, start);
                    match c {
                        '(' => depth += 1,
                        ')' => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                }
                other => {
                    self.at += other.len_utf8();
                    self.out.errors.push(
                        CompileError::new(
                            ErrorKind::BadStage,
                            format!("`{other}` has no meaning in a stage"),
                        )
                        .at(Span::new(start, self.at), "unexpected here")
                        .help("stages take field names, numbers and quoted strings: `| where eventName = \"ConsoleLogin\"`"),
                    );
                }
            }
        }
        self.out.open_parens += depth;
    }
}

fn is_word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '@'
}

/// The characters of a field path after its first, as in a search's
/// `field:` (the grammar's `field` rule).
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(&str, Kind)> {
        lex(text)
            .tokens
            .iter()
            .map(|t| (&text[t.span.start..t.span.end], t.kind))
            .collect()
    }

    #[test]
    fn a_search_and_its_stages() {
        use Kind::*;
        assert_eq!(
            kinds(
                r#"eventName:Console* AND NOT (src:"a b" OR bytes:[1 TO "5"]) -x /a"(b/ !y @time:>now-1h | where count >= 5"#
            ),
            vec![
                ("eventName:", Field),
                ("Console*", Term),
                ("AND", Keyword),
                ("NOT", Keyword),
                ("(", Open),
                ("src:", Field),
                ("\"a b\"", Phrase),
                ("OR", Keyword),
                ("bytes:", Field),
                ("[1 TO \"5\"]", Range),
                (")", Close),
                ("-", Sign),
                ("x", Term),
                ("/a\"(b/", Regex),
                ("!", Keyword),
                ("y", Term),
                ("@time:", Field),
                (">now-1h", Term),
                ("|", Pipe),
                ("where", Word),
                ("count", Word),
                (">=", Punct),
                ("5", Number),
            ]
        );
        // A value keeps its colons, signs and `!`; `||` is OR, not a stage.
        assert_eq!(
            kinds("arn:aws:iam::1:user/x f:-1 a||b c || d"),
            vec![
                ("arn:", Field),
                ("aws:iam::1:user/x", Term),
                ("f:", Field),
                ("-1", Term),
                ("a||b", Term),
                ("c", Term),
                ("||", Keyword),
                ("d", Term),
            ]
        );
    }

    #[test]
    fn a_whole_value_test_keeps_its_operator_with_the_field() {
        use Kind::*;
        assert_eq!(
            kinds(r#"eventName:="Console Login" userAgent:=*S3\ Browser*"#),
            vec![
                ("eventName:=", Field),
                ("\"Console Login\"", Phrase),
                ("userAgent:=", Field),
                ("*S3\\ Browser*", Term),
            ]
        );
        assert!(!lex(r#"f:="a (b""#).is_unfinished(r#"f:="a (b""#));
    }

    #[test]
    fn a_regex_holds_quotes_parentheses_and_pipes() {
        for text in [r#"/"/"#, "/[(]/", "f:/a|b/", r"/a\/b/"] {
            let lexed = lex(text);
            assert!(lexed.errors.is_empty(), "{text}: {:?}", lexed.errors);
            assert!(!lexed.is_unfinished(text), "{text}");
            assert_eq!(lexed.search_end, text.len(), "{text}");
        }
        // Not a regex where the grammar reads none: mid-word, or with no
        // space after its closing slash.
        assert_eq!(kinds("a/b/"), vec![("a/b/", Kind::Term)]);
        assert_eq!(lex(r#"/"/x"#).errors.len(), 1);
    }

    #[test]
    fn what_is_left_open() {
        for text in [
            "(a OR",
            "\"failed",
            "a AND",
            "NOT",
            "a &&",
            "!",
            "* | where x = \"a",
            "* | stats count(",
        ] {
            assert!(lex(text).is_unfinished(text), "{text}");
        }
        for text in [
            "a AND b",
            "\"a ( b\"",
            "a)",
            "/\"/",
            "* | head 5",
            "a:\"b\\\"\"",
        ] {
            assert!(!lex(text).is_unfinished(text), "{text}");
        }
    }

    #[test]
    fn errors_point_at_what_was_typed() {
        fn at(text: &str) -> (ErrorKind, &str) {
            let lexed = lex(text);
            let e = lexed.errors.first().expect("an error");
            let s = e.span.expect("a span");
            (e.kind, &text[s.start..s.end])
        }
        assert_eq!(at("a \"b"), (ErrorKind::UnclosedQuote, "\""));
        assert_eq!(at("a) b"), (ErrorKind::UnmatchedParen, ")"));
        assert_eq!(at("(a (b) c"), (ErrorKind::UnclosedParen, "("));
        assert_eq!(at("* | head 5 ;"), (ErrorKind::BadStage, ";"));
        let deep = "(".repeat(MAX_DEPTH + 1);
        assert_eq!(lex(&deep).errors[0].kind, ErrorKind::TooDeep);
        let stage = lex("a \" | b ; c");
        assert!(
            stage.stage_error().is_none(),
            "the quote runs on: no stages"
        );
        let split = lex("a | b ;");
        assert!(split.search_error().is_none());
        assert_eq!(split.stage_error().unwrap().kind, ErrorKind::BadStage);
    }

    #[test]
    fn the_word_being_typed() {
        for (text, word) in [
            ("a AND eventN", "eventN"),
            ("eventName:Con", "eventName:Con"),
            ("(-src:\"10.0", "src:\"10.0"),
            ("a ", ""),
            ("", ""),
            ("(a)", ""),
            ("x:", "x:"),
            ("a -", ""),
            ("!", ""),
        ] {
            let lexed = lex(text);
            assert_eq!(&text[lexed.last_word_start(text)..], word, "{text}");
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        for text in [
            "\\", "\"", "a:\\", "[", "/", "é:ü", "((", "x:\"\\", "!=", "a:b:c", "|", "||", "a|",
            "[a|b]", "{\"", "a||é", "a|||é", "/é/", ":", "::", "* | \"", "* | é", "&", "a\\|b",
        ] {
            let lexed = lex(text);
            let _ = lexed.is_unfinished(text);
            let _ = lexed.last_word_start(text);
            for t in &lexed.tokens {
                assert!(text.is_char_boundary(t.span.start) && text.is_char_boundary(t.span.end));
            }
        }
    }
}
