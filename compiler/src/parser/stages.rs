//! The stages' text (`| stats count() by eventName | head 5`) → [`Stage`]s.
//!
//! Written by hand rather than in the pest grammar: a stage is a keyword
//! and a short list of arguments, and what matters is the diagnostic for
//! each way of getting one wrong (an unknown stage or aggregate with the
//! closest name, `by` without a field, `head -1`, `span=0m`), each pointing
//! at what the user typed. The search before the first `|` is the
//! grammar's ([`super::parse`]).

use crate::ast::{
    Agg, AggFunc, Column, CompareOp, Condition, DEFAULT_TIMECHART_LIMIT, DEFAULT_TOP, Duration,
    FieldRef, Literal, MAX_SERIES, STAGE_NAMES, SortKey, Span, Stage, StageKind,
};
use crate::error::{CompileError, ErrorKind};
use crate::lex::{Kind, Lexed};

/// Most rows `head`, `top` and `rare` take, and most columns `timechart`
/// gives `by` values: far past what a terminal shows, small enough that
/// no bound is a typo for "all".
pub const MAX_COUNT: u64 = 100_000;

/// Parses the stages of `text`, from its lexed search end (a `|`, or the
/// end: no stages).
pub fn parse(text: &str, lexed: &Lexed) -> Result<Vec<Stage>, CompileError> {
    let tokens = tokens(text, lexed)?;
    let mut p = Parser {
        tokens,
        at: 0,
        end: text.len(),
    };
    let mut stages = Vec::new();
    while let Some(pipe) = p.next() {
        debug_assert_eq!(pipe.tok, Tok::Pipe);
        stages.push(p.stage(pipe.span)?);
    }
    Ok(stages)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Pipe,
    /// A name: a stage, an aggregate, a keyword, a field path.
    Word(String),
    /// Starts with a digit: `5`, `1.5`, `15m`.
    Number(String),
    /// `"…"`, escapes removed.
    Str(String),
    Punct(&'static str),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    span: Span,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Pipe => "`|`".into(),
            Tok::Word(w) | Tok::Number(w) => format!("`{w}`"),
            Tok::Str(s) => format!("the string {}", crate::ast::quoted(s)),
            Tok::Punct(p) => format!("`{p}`"),
        }
    }
}

/// The lexer's stage tokens with their text, or its first error in them.
fn tokens(text: &str, lexed: &Lexed) -> Result<Vec<Token>, CompileError> {
    if let Some(e) = lexed.stage_error() {
        return Err(e.clone());
    }
    let tokens = lexed
        .tokens
        .iter()
        .filter(|t| t.span.start >= lexed.search_end);
    Ok(tokens
        .map(|t| {
            let word = &text[t.span.start..t.span.end];
            let tok = match t.kind {
                Kind::Pipe => Tok::Pipe,
                Kind::Number => Tok::Number(word.to_string()),
                Kind::Str => Tok::Str(unescape(word)),
                Kind::Punct => Tok::Punct(punct(word)),
                _ => Tok::Word(word.to_string()),
            };
            Token { tok, span: t.span }
        })
        .collect())
}

/// A string's value: without its quotes, `\x` read as `x`.
fn unescape(quoted: &str) -> String {
    let inner = quoted.strip_prefix('"').unwrap_or(quoted);
    let inner = inner.strip_suffix('"').unwrap_or(inner);
    super::unescape(inner)
}

fn punct(p: &str) -> &'static str {
    const ALL: [&str; 12] = [
        "(", ")", ",", "=", "!=", "<", "<=", ">", ">=", "-", "+", "|",
    ];
    ALL.into_iter().find(|&a| a == p).unwrap_or("?")
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    /// The end of the text, where "expected …" points when nothing is left.
    end: usize,
}

/// The name in `names` closest to `word` by edit distance, when close.
pub fn closest<'a>(word: &str, names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    names
        .into_iter()
        .map(|n| (edit_distance(&word, n), n))
        .filter(|&(d, n)| d <= 2.max(n.len() / 3) && d < n.len())
        .min_by_key(|&(d, _)| d)
        .map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == cb {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

fn stage_list() -> String {
    STAGE_NAMES
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn agg_list() -> String {
    AggFunc::ALL
        .iter()
        .map(|f| match f {
            AggFunc::Count => "`count()`".to_string(),
            f => format!("`{}(F)`", f.name()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn bad(
    span: Span,
    message: impl Into<String>,
    label: &str,
    help: impl Into<String>,
) -> CompileError {
    CompileError::new(ErrorKind::BadStage, message)
        .at(span, label)
        .help(help)
}

impl Parser {
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        if t.is_some() {
            self.at += 1;
        }
        t
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    /// True (and consumed) if the next token is `tok`.
    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek().is_some_and(|t| &t.tok == tok) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// True (and consumed) if the next token is the word `word`, any case.
    fn eat_word(&mut self, word: &str) -> bool {
        if self
            .peek()
            .is_some_and(|t| matches!(&t.tok, Tok::Word(w) if w.eq_ignore_ascii_case(word)))
        {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// Where the next token is, or the end of the text.
    fn here(&self) -> Span {
        self.peek()
            .map_or(Span::new(self.end, self.end), |t| t.span)
    }

    /// The span of the last token taken.
    fn last(&self) -> Span {
        self.tokens[self.at - 1].span
    }

    /// True if the stage has no more tokens.
    fn at_stage_end(&self) -> bool {
        self.peek().is_none_or(|t| t.tok == Tok::Pipe)
    }

    /// An error at the next token: `what` was expected there.
    fn expected(&self, what: &str, help: &str) -> CompileError {
        let (message, label) = match self.peek() {
            Some(t) if t.tok != Tok::Pipe => (
                format!("expected {what}, found {}", t.tok.describe()),
                "not expected here".to_string(),
            ),
            Some(_) => (format!("expected {what}"), format!("{what} goes here")),
            // At the end of the query: the label goes on the last token
            // (a label past the end is not drawn).
            None if self.at > 0 => {
                return bad(
                    self.last(),
                    format!("expected {what}"),
                    "nothing after this",
                    help,
                );
            }
            None => (format!("expected {what}"), format!("{what} goes here")),
        };
        bad(self.here(), message, &label, help)
    }

    fn stage(&mut self, pipe: Span) -> Result<Stage, CompileError> {
        let Some(Token {
            tok: Tok::Word(name),
            span: name_span,
        }) = self.peek().cloned()
        else {
            let err = self.expected(
                "a stage name after `|`",
                &format!(
                    "the stages are {}; escape the `|` to search for it: `\\|`",
                    stage_list()
                ),
            );
            return Err(err);
        };
        self.at += 1;
        let kind = match name.to_ascii_lowercase().as_str() {
            "stats" => self.stats()?,
            "top" => self.top(false)?,
            "rare" => self.top(true)?,
            "timechart" => self.timechart()?,
            "fields" => StageKind::Fields(self.fields("fields", "fields")?),
            "sort" => StageKind::Sort(self.sort()?),
            "head" => StageKind::Head(self.count("`head`", DEFAULT_TOP)?),
            "dedup" => StageKind::Dedup(self.fields("dedup", "dedup")?),
            "where" => StageKind::Where(self.condition()?),
            "summary" => StageKind::Summary(if self.at_stage_end() {
                Vec::new()
            } else {
                self.fields("summary", "summary")?
            }),
            _ => {
                let aggregate = AggFunc::from_name(&name.to_ascii_lowercase());
                let help = match closest(&name, STAGE_NAMES.iter().copied()) {
                    _ if aggregate.is_some() => {
                        let call = match aggregate {
                            Some(AggFunc::Count) => "count()".to_string(),
                            _ => format!("{}(F)", name.to_ascii_lowercase()),
                        };
                        format!(
                            "`{name}` is an aggregate: `| stats {call}`, or `| timechart {call}` for a timeline"
                        )
                    }
                    Some(n) => format!("did you mean `{n}`? The stages are {}", stage_list()),
                    None => format!("the stages are {}", stage_list()),
                };
                return Err(CompileError::new(
                    ErrorKind::UnknownStage,
                    format!("`{name}` is not a stage"),
                )
                .at(name_span, "unknown stage")
                .help(help));
            }
        };
        if !self.at_stage_end() {
            let name = kind.name();
            return Err(self.expected(
                &format!("the end of `{name}`"),
                &format!("start the next stage with `|`; {}", stage_syntax(name)),
            ));
        }
        let end = if self.at > 0 {
            self.last().end
        } else {
            pipe.end
        };
        Ok(Stage {
            kind,
            span: Span::new(pipe.start, end.max(pipe.end)),
        })
    }

    fn field(&mut self, what: &str, stage: &str) -> Result<FieldRef, CompileError> {
        match self.peek().cloned() {
            Some(Token {
                tok: Tok::Word(path),
                span,
            }) => {
                self.at += 1;
                Ok(FieldRef { path, span })
            }
            _ => Err(self.expected(what, &stage_syntax(stage))),
        }
    }

    /// One or more fields, separated by commas, after the word `after`
    /// of `stage`.
    fn fields(&mut self, after: &str, stage: &str) -> Result<Vec<FieldRef>, CompileError> {
        let mut out = vec![self.field(&format!("a field after `{after}`"), stage)?];
        while self.eat(&Tok::Punct(",")) {
            out.push(self.field("a field after `,`", stage)?);
        }
        Ok(out)
    }

    /// A positive whole number no larger than [`MAX_COUNT`], or `default`
    /// when none is written.
    fn count(&mut self, stage: &str, default: u64) -> Result<u64, CompileError> {
        let start = self.here();
        let negative = self.eat(&Tok::Punct("-"));
        match self.peek().cloned() {
            Some(Token {
                tok: Tok::Number(n),
                span,
            }) => {
                self.at += 1;
                let span = start.to(span);
                match n.parse::<u64>() {
                    Ok(v) if !negative && (1..=MAX_COUNT).contains(&v) => Ok(v),
                    _ => Err(bad(
                        span,
                        format!("{stage} takes a whole number of rows from 1 to {MAX_COUNT}"),
                        "not a count",
                        format!(
                            "write `{} {default}`, say; with no number it keeps {default}",
                            stage.trim_matches('`')
                        ),
                    )),
                }
            }
            _ if negative => Err(bad(
                start,
                format!("{stage} takes a whole number of rows from 1 to {MAX_COUNT}"),
                "not a count",
                format!("write `{} {default}`, say", stage.trim_matches('`')),
            )),
            _ => Ok(default),
        }
    }

    fn agg(&mut self, stage: &str) -> Result<Agg, CompileError> {
        let Some(Token {
            tok: Tok::Word(name),
            span: name_span,
        }) = self.peek().cloned()
        else {
            return Err(self.expected(
                "an aggregate such as `count()`",
                &format!("the aggregates are {}", agg_list()),
            ));
        };
        self.at += 1;
        let Some(func) = AggFunc::from_name(&name) else {
            let names = AggFunc::ALL.map(AggFunc::name);
            let help = match closest(&name, names) {
                Some(n) => format!("did you mean `{n}`? The aggregates are {}", agg_list()),
                None => format!("the aggregates are {}", agg_list()),
            };
            return Err(CompileError::new(
                ErrorKind::UnknownAggregate,
                format!("`{name}` is not an aggregate"),
            )
            .at(name_span, "unknown aggregate")
            .help(help));
        };
        if !self.eat(&Tok::Punct("(")) {
            let call = match func {
                AggFunc::Count => "count()".to_string(),
                f => format!("{}(FIELD)", f.name()),
            };
            return Err(self.expected(
                &format!("`(` after `{}`", func.name()),
                &format!("an aggregate is written as a call: `{call}`"),
            ));
        }
        let field = match self.peek().map(|t| &t.tok) {
            Some(Tok::Word(_)) => Some(self.field("a field", stage)?),
            _ => None,
        };
        if !self.eat(&Tok::Punct(")")) {
            return Err(self.expected(
                "`)`",
                "close the aggregate's parentheses: `dc(sourceIPAddress)`",
            ));
        }
        let span = name_span.to(self.last());
        match (func, &field) {
            (AggFunc::Count, Some(f)) => {
                return Err(bad(
                    f.span,
                    "`count()` takes no field: it counts the group's records",
                    "remove this",
                    format!(
                        "write `count()`; for the records that have `{}`, add it to `by`, or count its values with `dc({})`",
                        f.path, f.path
                    ),
                ));
            }
            (f, None) if f != AggFunc::Count => {
                return Err(bad(
                    span,
                    format!("`{}()` needs a field", f.name()),
                    "no field",
                    format!(
                        "write `{}(FIELD)`, such as `{}(sourceIPAddress)`",
                        f.name(),
                        f.name()
                    ),
                ));
            }
            _ => {}
        }
        let alias = if self.eat_word("as") {
            match self.peek().cloned() {
                Some(Token {
                    tok: Tok::Word(a), ..
                }) => {
                    self.at += 1;
                    Some(a)
                }
                _ => {
                    return Err(self.expected(
                        "a column name after `as`",
                        "name the column with a word: `count() as logins`",
                    ));
                }
            }
        } else {
            None
        };
        Ok(Agg {
            func,
            field,
            alias,
            span: name_span.to(self.last()),
        })
    }

    fn stats(&mut self) -> Result<StageKind, CompileError> {
        let mut aggs = vec![self.agg("stats")?];
        while self.eat(&Tok::Punct(",")) {
            aggs.push(self.agg("stats")?);
        }
        let by = if self.eat_word("by") {
            self.fields("by", "stats")?
        } else {
            Vec::new()
        };
        // Two columns of one name: a later `where` or `sort` could not tell
        // them apart.
        let mut names: Vec<String> = by.iter().map(|f| f.path.clone()).collect();
        for a in &aggs {
            let name = a.column();
            if names.contains(&name) {
                return Err(bad(
                    a.span,
                    format!("two columns would be named `{name}`"),
                    "the second one",
                    "name one of them with `as`: `count() as n`",
                ));
            }
            names.push(name);
        }
        Ok(StageKind::Stats { aggs, by })
    }

    fn top(&mut self, rare: bool) -> Result<StageKind, CompileError> {
        let name = if rare { "`rare`" } else { "`top`" };
        let limit = self.count(name, DEFAULT_TOP)?;
        Ok(StageKind::Top {
            rare,
            limit,
            fields: self.fields(name.trim_matches('`'), name.trim_matches('`'))?,
        })
    }

    fn timechart(&mut self) -> Result<StageKind, CompileError> {
        let span = if self.eat_word("span") {
            if !self.eat(&Tok::Punct("=")) {
                return Err(
                    self.expected("`=` after `span`", "write the bucket width as `span=15m`")
                );
            }
            Some(self.duration()?)
        } else {
            None
        };
        let agg = self.agg("timechart")?;
        let (by, limit) = if self.eat_word("by") {
            let by = self.field("a field after `by`", "timechart")?;
            if let Some(Token {
                tok: Tok::Punct(","),
                span,
            }) = self.peek().cloned()
            {
                return Err(bad(
                    span,
                    "`timechart` splits by one field",
                    "a second field",
                    format!(
                        "draw one series per value of `{}`; for combinations of fields, `stats count() by F1, F2` counts each",
                        by.path
                    ),
                ));
            }
            let limit = if self.eat_word("limit") {
                if !self.eat(&Tok::Punct("=")) {
                    return Err(self.expected("`=` after `limit`", "write `limit=5`"));
                }
                let at = self.here();
                match self.peek().map(|t| &t.tok) {
                    Some(Tok::Number(_)) | Some(Tok::Punct("-")) => {
                        let limit = self.count("`limit=`", DEFAULT_TIMECHART_LIMIT)?;
                        if limit > MAX_SERIES {
                            return Err(bad(
                                at.to(self.tokens[self.at - 1].span),
                                format!(
                                    "`timechart` draws at most {MAX_SERIES} series, and `limit={limit}` asks for more"
                                ),
                                "too many columns",
                                format!(
                                    "write `limit={MAX_SERIES}` or fewer: the records with other values make the `other` column; `stats count() by F` lists every value"
                                ),
                            ));
                        }
                        limit
                    }
                    _ => {
                        return Err(bad(
                            at,
                            "expected a number after `limit=`",
                            "a count goes here",
                            "write `limit=5`: the five values with the most records get a column each, the rest go in `other`",
                        ));
                    }
                }
            } else {
                DEFAULT_TIMECHART_LIMIT
            };
            (Some(by), limit)
        } else {
            (None, DEFAULT_TIMECHART_LIMIT)
        };
        Ok(StageKind::Timechart {
            span,
            agg,
            by,
            limit,
        })
    }

    /// `15m`, `1h`, `30s`, `1d`.
    fn duration(&mut self) -> Result<Duration, CompileError> {
        let at = self.here();
        let negative = self.eat(&Tok::Punct("-"));
        let Some(Token {
            tok: Tok::Number(text),
            span,
        }) = self.peek().cloned()
        else {
            return Err(bad(
                at,
                "expected a duration after `span=`",
                "a duration goes here",
                "write the bucket width as a number and a unit: `span=30s`, `15m`, `1h`, `1d`",
            ));
        };
        self.at += 1;
        let span = at.to(span);
        let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let unit = &text[digits.len()..];
        let size = match unit {
            "s" => Some(1),
            "m" => Some(60),
            "h" => Some(3_600),
            "d" => Some(86_400),
            _ => None,
        };
        match (digits.parse::<u64>(), size) {
            (Ok(n), Some(size)) if n > 0 && !negative && n <= 3_650 * 86_400 / size => {
                Ok(Duration {
                    seconds: n * size,
                    span,
                })
            }
            (Ok(0), Some(_)) => Err(bad(
                span,
                "a bucket of no time holds nothing",
                "zero",
                "write a width of at least one second: `span=1m`",
            )),
            _ => Err(bad(
                span,
                format!(
                    "`{}{text}` is not a bucket width",
                    if negative { "-" } else { "" }
                ),
                "not a duration",
                "write a whole number and a unit, `s`, `m`, `h` or `d`: `span=15m`",
            )),
        }
    }

    /// A column: a name, or an aggregate as written (`dc(eventName)`).
    fn column(&mut self, what: &str, stage: &str) -> Result<Column, CompileError> {
        let Some(Token {
            tok: Tok::Word(name),
            span,
        }) = self.peek().cloned()
        else {
            return Err(self.expected(what, &stage_syntax(stage)));
        };
        self.at += 1;
        if !self.eat(&Tok::Punct("(")) {
            return Ok(Column { name, span });
        }
        let inner = match self.peek().cloned() {
            Some(Token {
                tok: Tok::Word(f), ..
            }) => {
                self.at += 1;
                f
            }
            _ => String::new(),
        };
        if !self.eat(&Tok::Punct(")")) {
            return Err(self.expected(
                "`)`",
                "name an aggregate's column as `stats` wrote it: `dc(eventName)`",
            ));
        }
        Ok(Column {
            name: format!("{}({inner})", name.to_ascii_lowercase()),
            span: span.to(self.last()),
        })
    }

    fn sort(&mut self) -> Result<Vec<SortKey>, CompileError> {
        let mut keys = Vec::new();
        loop {
            let descending = if self.eat(&Tok::Punct("-")) {
                true
            } else {
                self.eat(&Tok::Punct("+"));
                false
            };
            let what = if keys.is_empty() {
                "a column after `sort`"
            } else {
                "a column after `,`"
            };
            keys.push(SortKey {
                column: self.column(what, "sort")?,
                descending,
            });
            if !self.eat(&Tok::Punct(",")) {
                return Ok(keys);
            }
        }
    }

    fn condition(&mut self) -> Result<Condition, CompileError> {
        let mut any = vec![self.all_of()?];
        while self.eat_word("OR") {
            any.push(self.all_of()?);
        }
        Ok(match any.len() {
            1 => any.remove(0),
            _ => Condition::Or(any),
        })
    }

    fn all_of(&mut self) -> Result<Condition, CompileError> {
        let mut all = vec![self.comparison()?];
        while self.eat_word("AND") {
            all.push(self.comparison()?);
        }
        Ok(match all.len() {
            1 => all.remove(0),
            _ => Condition::And(all),
        })
    }

    fn comparison(&mut self) -> Result<Condition, CompileError> {
        if self.eat(&Tok::Punct("(")) {
            let c = self.condition()?;
            if !self.eat(&Tok::Punct(")")) {
                return Err(
                    self.expected("`)`", "close the group: `where (a = 1 OR b = 2) AND c > 3`")
                );
            }
            return Ok(c);
        }
        let column = self.column("a column to compare", "where")?;
        let op = match self.peek().map(|t| &t.tok) {
            Some(Tok::Punct("=")) => CompareOp::Eq,
            Some(Tok::Punct("!=")) => CompareOp::NotEq,
            Some(Tok::Punct("<")) => CompareOp::Lt,
            Some(Tok::Punct("<=")) => CompareOp::LtEq,
            Some(Tok::Punct(">")) => CompareOp::Gt,
            Some(Tok::Punct(">=")) => CompareOp::GtEq,
            _ => {
                return Err(self.expected(
                    &format!("a comparison after `{}`", column.name),
                    "compare with `=`, `!=`, `<`, `<=`, `>` or `>=`: `where count > 5`",
                ));
            }
        };
        self.at += 1;
        let negative = self.eat(&Tok::Punct("-"));
        let value = match self.peek().cloned() {
            Some(Token {
                tok: Tok::Number(n),
                span,
            }) => {
                self.at += 1;
                match n.parse::<f64>() {
                    Ok(x) if x.is_finite() => Literal::Number(if negative { -x } else { x }),
                    _ => {
                        return Err(bad(
                            span,
                            format!("`{n}` is not a number"),
                            "not a number",
                            "write a number such as `5` or `2.5`, or quote text: `\"5m\"`",
                        ));
                    }
                }
            }
            Some(Token {
                tok: Tok::Str(s), ..
            }) if !negative => {
                self.at += 1;
                Literal::Text(s)
            }
            Some(Token {
                tok: Tok::Word(w), ..
            }) if !negative => {
                self.at += 1;
                Literal::Text(w)
            }
            _ => {
                return Err(self.expected(
                    "a value to compare with",
                    "write a number, a word or a quoted string: `where eventName = \"ConsoleLogin\"`",
                ));
            }
        };
        Ok(Condition::Compare { column, op, value })
    }
}

/// How `stage` is written, for hints.
fn stage_syntax(stage: &str) -> String {
    let syntax = match stage {
        "stats" => "`stats count(), dc(F) as n by F1, F2`",
        "top" => "`top 5 F1, F2`",
        "rare" => "`rare 5 F1, F2`",
        "timechart" => "`timechart span=15m count() by F limit=5`",
        "fields" => "`fields F1, F2`",
        "sort" => "`sort -count, F`",
        "head" => "`head 20`",
        "dedup" => "`dedup F1, F2`",
        "where" => "`where count > 5 AND F = \"x\"`",
        "summary" => "`summary` or `summary F1, F2`",
        _ => return format!("the stages are {}", stage_list()),
    };
    format!("`{stage}` is written {syntax}")
}
