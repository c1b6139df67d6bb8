//! [`Query`] → [`Resolved`]: every match given its meaning. Terms are
//! tokenized with the shared tokenizer, wildcards become `LIKE` patterns,
//! regexes are checked and anchored, range bounds become numbers (or epoch
//! milliseconds), CIDR blocks become key ranges, `@time` and `tag` become
//! tests on the record. After this stage nothing refers to the query text
//! except spans in errors.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::ast::{
    Bound, Expr, Match, Query, Range, Span, TAG_FIELD, TIME_FIELD, ValueKind, WildPart,
};
use crate::datemath;
use crate::error::{CompileError, ErrorKind};
use crate::tokenizer::{is_run_char, is_word_char, tokenize};
use crate::values::{Cidr, number_of};
use crate::window::TimeWindow;

/// A query with meaning attached: a boolean filter, and the time window of
/// the command line or REPL it applies to.
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
    /// Every record (`true`) or none (`false`).
    Const(bool),
}

/// One test of a record.
#[derive(Debug, Clone, PartialEq)]
pub enum Atom {
    /// Answered by the index table: some index row of the record matches.
    Index(Lookup),
    /// Answered by the record's own columns (`time_ms`, `tag`).
    Record(RecordTest),
}

/// A test on index rows: a pattern, in one field, any field, or (for
/// [`Pattern::Exists`]) a field or anything below it.
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    /// `None` matches any field, including the text of non-JSON lines.
    pub field: Option<String>,
    pub pattern: Pattern,
}

/// What an index row must look like.
#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    /// These tokens, adjacent and in order, in one field value. One token is a
    /// plain term; several are a phrase.
    Tokens(Vec<String>),
    /// One token matching a wildcard pattern.
    Wildcard(Wildcard),
    /// One token matching this regex as a whole (lowercase, as tokens are;
    /// checked against the portable subset). Stored as written: the SQL
    /// emitter anchors it.
    Regex(String),
    /// A value whose number (see [`crate::values`]) is in the range.
    Number(NumberRange),
    /// A token that is an IP address inside the block.
    Ip(Cidr),
    /// The field (or a field below it) has a value.
    Exists,
}

/// A range of numbers; each end open or a value with its inclusiveness.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumberRange {
    pub lower: Option<(f64, bool)>,
    pub upper: Option<(f64, bool)>,
}

impl NumberRange {
    pub fn contains(&self, x: f64) -> bool {
        self.lower
            .is_none_or(|(l, inc)| if inc { x >= l } else { x > l })
            && self
                .upper
                .is_none_or(|(u, inc)| if inc { x <= u } else { x < u })
    }

    /// True if no number can be in the range.
    pub fn is_empty(&self) -> bool {
        match (self.lower, self.upper) {
            (Some((l, li)), Some((u, ui))) => l > u || (l == u && !(li && ui)),
            _ => false,
        }
    }
}

/// A test on the record's own columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordTest {
    /// `start_ms <= time_ms < end_ms`; `None` is open.
    Time {
        start_ms: Option<i64>,
        end_ms: Option<i64>,
    },
    /// The tag, lowercased, equals this.
    Tag(String),
    /// The tag, lowercased, matches this wildcard pattern.
    TagWildcard(Wildcard),
    /// Some value of the field, lowercased, matches the pattern as a
    /// whole: answered by the field-values table.
    Value(ValueTest),
}

/// `field:="ConsoleLogin"`, `field:=*S3\ Browser*`: a test of a field's
/// whole values, case-insensitive. A value is a scalar at exactly that
/// path (an array's elements each one), as the field-values table holds
/// it: a string's text, a number's JSON text, `true`/`false`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueTest {
    pub field: String,
    /// Lowercased, as the value is before the comparison. Only literal
    /// parts: the value equals the text.
    pub pattern: Wildcard,
}

impl fmt::Display for ValueTest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}",
            crate::ast::Match {
                field: Some(crate::ast::Field {
                    name: self.field.clone(),
                    span: Span::default(),
                }),
                value: crate::ast::Value {
                    kind: ValueKind::Whole(self.pattern.0.clone()),
                    span: Span::default(),
                },
                span: Span::default(),
            }
        )
    }
}

/// A wildcard pattern as written (`ec2*`, `desc?ibe`): its literal parts
/// lowercased, as tokens and tags are. The IR keeps the pattern, not a
/// rendering of it: `LIKE` is the SQL emitter's ([`crate::sql`]), a regex
/// the CLI's highlighter's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wildcard(pub Vec<WildPart>);

impl Wildcard {
    /// The pattern with its literal text lowercased.
    pub fn lowercased(parts: &[WildPart]) -> Wildcard {
        Wildcard(
            parts
                .iter()
                .map(|p| match p {
                    WildPart::Text(t) => WildPart::Text(t.to_lowercase()),
                    other => other.clone(),
                })
                .collect(),
        )
    }

    /// True when it starts with `*` or `?`: no literal prefix for an
    /// index lookup to seek, so every token of the window is tested.
    pub fn leading_wild(&self) -> bool {
        matches!(self.0.first(), Some(WildPart::Any | WildPart::One))
    }

    /// The pattern as a regex body (`.*`, `.`, literals escaped).
    pub fn to_regex(&self) -> String {
        self.0
            .iter()
            .map(|p| match p {
                WildPart::Text(t) => regex::escape(t),
                WildPart::Any => ".*".to_string(),
                WildPart::One => ".".to_string(),
            })
            .collect()
    }
}

/// The query's spelling: literal text as it is, `*` and `?`.
impl fmt::Display for Wildcard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.0 {
            match p {
                WildPart::Text(t) => f.write_str(t)?,
                WildPart::Any => f.write_str("*")?,
                WildPart::One => f.write_str("?")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn go(x: &Filter, f: &mut fmt::Formatter<'_>, top: bool) -> fmt::Result {
            match x {
                Filter::Const(b) => write!(f, "{}", if *b { "TRUE" } else { "FALSE" }),
                Filter::Atom(a) => write!(f, "{a}"),
                Filter::Not(inner) => {
                    f.write_str("NOT ")?;
                    go(inner, f, false)
                }
                Filter::And(xs) | Filter::Or(xs) => {
                    let op = if matches!(x, Filter::And(_)) {
                        " AND "
                    } else {
                        " OR "
                    };
                    if !top {
                        f.write_str("(")?;
                    }
                    for (i, c) in xs.iter().enumerate() {
                        if i > 0 {
                            f.write_str(op)?;
                        }
                        go(c, f, false)?;
                    }
                    if !top {
                        f.write_str(")")?;
                    }
                    Ok(())
                }
            }
        }
        go(self, f, true)
    }
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Atom::Index(l) => l.fmt(f),
            Atom::Record(r) => r.fmt(f),
        }
    }
}

fn fmt_ms(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms).map_or(ms.to_string(), |t| {
        t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    })
}

impl fmt::Display for RecordTest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordTest::Time { start_ms, end_ms } => write!(
                f,
                "@time:[{} TO {}}}",
                start_ms.map_or("*".to_string(), fmt_ms),
                end_ms.map_or("*".to_string(), fmt_ms)
            ),
            RecordTest::Tag(t) => write!(f, "tag:{t}"),
            RecordTest::TagWildcard(w) => write!(f, "tag:{w}"),
            RecordTest::Value(v) => v.fmt(f),
        }
    }
}

impl fmt::Display for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(field) = &self.field {
            write!(f, "{field}:")?;
        }
        match &self.pattern {
            Pattern::Tokens(t) if t.len() == 1 => f.write_str(&t[0]),
            Pattern::Tokens(t) => write!(f, "\"{}\"", t.join(" ")),
            Pattern::Wildcard(w) => write!(f, "{w}"),
            Pattern::Regex(r) => write!(f, "/{r}/"),
            Pattern::Number(r) => {
                match r.lower {
                    Some((l, true)) => write!(f, "[{l}")?,
                    Some((l, false)) => write!(f, "{{{l}")?,
                    None => f.write_str("[*")?,
                }
                f.write_str(" TO ")?;
                match r.upper {
                    Some((u, true)) => write!(f, "{u}]"),
                    Some((u, false)) => write!(f, "{u}}}"),
                    None => f.write_str("*]"),
                }
            }
            Pattern::Ip(c) => write!(f, "{c}"),
            Pattern::Exists => f.write_str("*"),
        }
    }
}

/// Resolves a parsed query. `now` anchors date math (`now-1h`) in the query.
pub fn resolve(
    query: &Query,
    window: TimeWindow,
    now: DateTime<Utc>,
) -> Result<Resolved, CompileError> {
    Ok(Resolved {
        window,
        filter: resolve_expr(&query.expr, now)?,
    })
}

fn resolve_expr(expr: &Expr, now: DateTime<Utc>) -> Result<Filter, CompileError> {
    let all = |clauses: &[Expr]| {
        clauses
            .iter()
            .map(|c| resolve_expr(c, now))
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(match expr {
        Expr::And { clauses, .. } => Filter::And(all(clauses)?),
        Expr::Or { clauses, .. } => Filter::Or(all(clauses)?),
        Expr::Not { expr, .. } => Filter::Not(Box::new(resolve_expr(expr, now)?)),
        Expr::All { .. } => Filter::Const(true),
        Expr::Match(m) => resolve_match(m, now)?,
    })
}

fn resolve_match(m: &Match, now: DateTime<Utc>) -> Result<Filter, CompileError> {
    let field = m.field.as_ref().map(|f| f.name.as_str());
    match field {
        Some(TIME_FIELD) => return resolve_time(m, now),
        Some(TAG_FIELD) => return resolve_tag(m),
        _ => {}
    }
    let span = m.value.span;
    let pattern = match &m.value.kind {
        ValueKind::Term(text) | ValueKind::Phrase(text) => {
            let tokens = tokenize(text);
            if tokens.is_empty() {
                return Err(CompileError::new(
                    ErrorKind::NoToken,
                    "nothing searchable in this value",
                )
                .at(span, "only separators here")
                .help("terms match whole tokens (letters, digits, `_`, and `.-:@` inside them); punctuation alone is never indexed"));
            }
            Pattern::Tokens(tokens)
        }
        ValueKind::Whole(parts) => return value_test(field, parts, span),
        ValueKind::Wildcard(parts) if spans_tokens(parts) => {
            return value_test(field, parts, span);
        }
        ValueKind::Wildcard(parts) => Pattern::Wildcard(token_wildcard(parts, span)?),
        ValueKind::Regex(re) => Pattern::Regex(check_regex(re, span)?),
        ValueKind::Range(r) => {
            if field.is_none() {
                unreachable!("the parser gives every range a field");
            }
            let range = number_range(r, span, now)?;
            if range.is_empty() {
                return Ok(Filter::Const(false));
            }
            Pattern::Number(range)
        }
        ValueKind::Cidr(c) => Pattern::Ip(*c),
        ValueKind::Exists => Pattern::Exists,
    };
    Ok(Filter::Atom(Atom::Index(Lookup {
        field: field.map(str::to_string),
        pattern,
    })))
}

/// `@time:[a TO b]`, `@time:>now-15m`, `@time:*`.
fn resolve_time(m: &Match, now: DateTime<Utc>) -> Result<Filter, CompileError> {
    let span = m.value.span;
    let r = match &m.value.kind {
        ValueKind::Range(r) => r,
        ValueKind::Exists => return Ok(Filter::Const(true)),
        _ => {
            return Err(CompileError::new(
                ErrorKind::BadRange,
                "`@time` takes a range or a comparison",
            )
            .at(span, "not a range")
            .help("write `@time:[2024-05-01T00:00:00Z TO now-1h]`, `@time > now-15m` or `@time:[now-1d/d TO now/d}`"));
        }
    };
    let bound = |b: &Bound| -> Result<Option<(i64, bool)>, CompileError> {
        match b {
            Bound::Unbounded => Ok(None),
            Bound::Inclusive(t) | Bound::Exclusive(t) => {
                let ms = datemath::parse(t, now)
                    .map_err(|e| e.at(span, "not a time"))?
                    .timestamp_millis();
                Ok(Some((ms, matches!(b, Bound::Inclusive(_)))))
            }
        }
    };
    let lower = bound(&r.lower)?;
    let upper = bound(&r.upper)?;
    check_order(
        lower.map(|(x, _)| x as f64),
        upper.map(|(x, _)| x as f64),
        r,
        span,
    )?;
    let start_ms = lower.map(|(ms, inc)| if inc { ms } else { ms.saturating_add(1) });
    let end_ms = upper.map(|(ms, inc)| if inc { ms.saturating_add(1) } else { ms });
    if let (Some(s), Some(e)) = (start_ms, end_ms)
        && s >= e
    {
        return Ok(Filter::Const(false));
    }
    Ok(Filter::Atom(Atom::Record(RecordTest::Time {
        start_ms,
        end_ms,
    })))
}

/// `tag:cloudtrail`, `tag:"vpc flow"`, `tag:cloud*`.
fn resolve_tag(m: &Match) -> Result<Filter, CompileError> {
    let test = match &m.value.kind {
        ValueKind::Term(t) | ValueKind::Phrase(t) => RecordTest::Tag(t.to_lowercase()),
        ValueKind::Wildcard(parts) => RecordTest::TagWildcard(Wildcard::lowercased(parts)),
        // The tag is one whole value already.
        ValueKind::Whole(parts) => match parts.as_slice() {
            [WildPart::Text(t)] => RecordTest::Tag(t.to_lowercase()),
            parts => RecordTest::TagWildcard(Wildcard::lowercased(parts)),
        },
        ValueKind::Exists => return Ok(Filter::Const(true)),
        _ => {
            return Err(CompileError::new(
                ErrorKind::Syntax,
                "`tag` takes a log type name",
            )
            .at(m.value.span, "not a tag name")
            .help("write `tag:cloudtrail`, `tag:json`, `tag:text` or a wildcard such as `tag:vpc*`"));
        }
    };
    Ok(Filter::Atom(Atom::Record(test)))
}

/// True when a wildcard's literal text holds a character no token holds
/// (a space, `/`, `=`...): it can only match a whole value.
pub fn spans_tokens(parts: &[WildPart]) -> bool {
    separator_in(parts).is_some()
}

/// The first character of the pattern's literal text that no token holds.
fn separator_in(parts: &[WildPart]) -> Option<char> {
    parts.iter().find_map(|p| match p {
        WildPart::Text(t) => t.chars().find(|&c| !is_run_char(c)),
        WildPart::Any | WildPart::One => None,
    })
}

/// A test of the field's whole values, with the index lookups that
/// narrow the records to those that may pass it ([`value_lookups`]): the
/// filter is the lookups AND the test, so it is exact, and the index
/// still decides which records are read.
fn value_test(field: Option<&str>, parts: &[WildPart], span: Span) -> Result<Filter, CompileError> {
    let Some(field) = field else {
        let separator = separator_in(parts).unwrap_or(' ');
        return Err(CompileError::new(
            ErrorKind::NotYetSupported,
            "a pattern over whole values needs a field, for now",
        )
        .at(
            span,
            format!("`{separator}` separates tokens: only a whole value holds it"),
        )
        .help("name the field (`userAgent:*S3\\ Browser*`), or search the words as a phrase (`\"S3 Browser\"`), which matches them anywhere"));
    };
    let mut parts_out: Vec<Filter> = value_lookups(Some(field), parts)
        .into_iter()
        .map(|l| Filter::Atom(Atom::Index(l)))
        .collect();
    parts_out.push(Filter::Atom(Atom::Record(RecordTest::Value(ValueTest {
        field: field.to_string(),
        pattern: Wildcard::lowercased(parts),
    }))));
    Ok(Filter::And(parts_out))
}

/// The index lookups every value matching the pattern holds, in `field`:
/// each whole token of the pattern's literal text (a run of token
/// characters with a separator or the value's edge on both sides), and
/// the last token of a run that a wildcard continues as a prefix lookup
/// (`browser*` of `*S3 Browser*`), unless that run could join into an IPv6
/// address or an e-mail address in the value (a `:`, an `@`, or hex digits
/// alone), where the value's token need not start with it. A run a
/// wildcard begins gives nothing: a suffix lookup reads every token of
/// the window, and a token cut at [`crate::tokenizer::MAX_TOKEN_BYTES`]
/// loses its end. With no token to look up, the field's presence.
pub fn value_lookups(field: Option<&str>, parts: &[WildPart]) -> Vec<Lookup> {
    let lookup = |pattern| Lookup {
        field: field.map(str::to_string),
        pattern,
    };
    let mut out: Vec<Lookup> = Vec::new();
    let mut push = |l: Lookup| {
        if !out.contains(&l) {
            out.push(l);
        }
    };
    let last = parts.len().saturating_sub(1);
    for (i, part) in parts.iter().enumerate() {
        let WildPart::Text(text) = part else {
            continue;
        };
        let open_left = i > 0;
        let open_right = i < last;
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let mut j = 0;
        while j < chars.len() {
            if !is_run_char(chars[j].1) {
                j += 1;
                continue;
            }
            let start = j;
            while j < chars.len() && is_run_char(chars[j].1) {
                j += 1;
            }
            let from = chars[start].0;
            let to = chars.get(j).map_or(text.len(), |&(b, _)| b);
            let run = &text[from..to];
            let left_closed = start > 0 || !open_left;
            let right_closed = j < chars.len() || !open_right;
            let tokens = tokenize(run);
            match (left_closed, right_closed) {
                (true, true) => {
                    for t in tokens {
                        push(lookup(Pattern::Tokens(vec![t])));
                    }
                }
                (true, false) => {
                    let joins =
                        run.contains([':', '@']) || run.chars().all(|c| c.is_ascii_hexdigit());
                    if let (false, Some(t)) = (joins, tokens.last()) {
                        push(lookup(Pattern::Wildcard(Wildcard(vec![
                            WildPart::Text(t.clone()),
                            WildPart::Any,
                        ]))));
                    }
                }
                _ => {}
            }
        }
    }
    if out.is_empty() {
        out.push(lookup(Pattern::Exists));
    }
    out
}

/// A wildcard term on one token. The literal parts must be text a single
/// token can hold.
fn token_wildcard(parts: &[WildPart], span: Span) -> Result<Wildcard, CompileError> {
    let mut literal = 0;
    for part in parts {
        match part {
            WildPart::Text(t) => {
                if let Some(bad) = t
                    .chars()
                    .find(|&c| !(is_word_char(c) || matches!(c, '.' | '-' | ':' | '@')))
                {
                    return Err(CompileError::new(
                        ErrorKind::BadWildcard,
                        "a wildcard term matches within one token",
                    )
                    .at(span, format!("`{bad}` separates tokens"))
                    .help("leave separators such as `/`, `,` or spaces out of a wildcard term: `ec2*`, `*admin*`, `10.0.*`; use a phrase for several words"));
                }
                literal += t.chars().count();
            }
            WildPart::Any | WildPart::One => {}
        }
    }
    // Tokens neither start nor end with `.`, `-` or `@` (the tokenizer
    // trims them): such a pattern could never match, which would be a
    // silent no-match.
    let joiner = |c: char| matches!(c, '.' | '-' | '@');
    let first = match parts.first() {
        Some(WildPart::Text(t)) => t.chars().next().filter(|&c| joiner(c)),
        _ => None,
    };
    let last = match parts.last() {
        Some(WildPart::Text(t)) => t.chars().next_back().filter(|&c| joiner(c)),
        _ => None,
    };
    if let Some(c) = first.or(last) {
        return Err(CompileError::new(
            ErrorKind::BadWildcard,
            format!("no token starts or ends with `{c}`"),
        )
        .at(span, "this pattern can never match")
        .help("the tokenizer drops `.`, `-` and `@` at the ends of a token: leave them out (`example.com*` rather than `.example.com*`)"));
    }
    if literal == 0 && !parts.contains(&WildPart::One) {
        unreachable!("only-star terms are `*`/`field:*`");
    }
    Ok(Wildcard::lowercased(parts))
}

/// Checks a regex against the subset glaux promises behaves the same on
/// Athena (Java) and the local engine (Rust): literals, `.`, classes,
/// groups, alternation, repetition, and escaped punctuation. Returns it
/// lowercased (tokens are); it matches whole tokens ([`Pattern::Regex`]).
fn check_regex(re: &str, span: Span) -> Result<String, CompileError> {
    let bad = |what: &str, help: &str| {
        CompileError::new(ErrorKind::BadRegex, format!("this regex uses {what}"))
            .at(span, "not in the portable subset")
            .help(help.to_string())
    };
    let chars: Vec<char> = re.chars().collect();
    // Inside `[...]`: set when a class opens, with the index of its first
    // member (a `]` there is a literal, not the end).
    let mut class_start: Option<usize> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '\\' => {
                match next {
                    // Escaped metacharacters are literal on both engines.
                    Some(
                        '.' | '\\' | '/' | '-' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{'
                        | '}' | '|' | '^' | '$',
                    ) => {}
                    Some(e) => {
                        return Err(bad(
                            &format!("`\\{e}`"),
                            "only metacharacters may be escaped (`\\.`, `\\(`, `\\-`...): escape classes and assertions such as `\\d`, `\\w`, `\\<` differ between engines; write `[0-9]` for `\\d`, `[a-z0-9_]` for `\\w`",
                        ));
                    }
                    None => {
                        return Err(bad("a trailing `\\`", "escape the backslash: `\\\\`"));
                    }
                }
                i += 2;
                continue;
            }
            '(' if class_start.is_none() && next == Some('?') => {
                return Err(bad(
                    "a `(?...)` group",
                    "flags, look-around and named groups differ between engines; matching is already case-insensitive and whole-token",
                ));
            }
            '[' if class_start.is_none() => {
                if posix_class(&chars[i + 1..]) {
                    return Err(bad("a POSIX class", "list the characters: `[a-z0-9]`"));
                }
                let first = if next == Some('^') { i + 2 } else { i + 1 };
                class_start = Some(first);
            }
            '[' => {
                return Err(bad(
                    "a nested class",
                    "nested classes differ between engines; list the characters: `[a-z0-9]`",
                ));
            }
            ']' if class_start.is_some_and(|first| i > first) => class_start = None,
            '&' | '-' | '~' if class_start.is_some() && next == Some(c) => {
                return Err(bad(
                    &format!("`{c}{c}` in a class"),
                    "class set operations (`&&`, `--`, `~~`) differ between engines; list the characters instead",
                ));
            }
            _ => {}
        }
        i += 1;
    }
    let lower = re.to_lowercase();
    regex::RegexBuilder::new(&format!("^(?:{lower})$"))
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            let detail = e.to_string();
            let last = detail.lines().last().unwrap_or("").trim().to_string();
            CompileError::new(ErrorKind::BadRegex, "this regex does not compile")
                .at(span, last)
                .help("regexes match whole tokens: `/admin[0-9]+/`, `/(get|put)object/`")
        })?;
    Ok(lower)
}

/// True if `rest` (after a `[`) starts with a POSIX class name, `:alpha:]`.
fn posix_class(rest: &[char]) -> bool {
    let letters = rest
        .iter()
        .skip(1)
        .take_while(|c| c.is_ascii_alphabetic())
        .count();
    rest.first() == Some(&':')
        && letters > 0
        && rest.get(1 + letters) == Some(&':')
        && rest.get(2 + letters) == Some(&']')
}

/// A range's bounds as numbers: both numbers, or both times (epoch ms).
fn number_range(r: &Range, span: Span, now: DateTime<Utc>) -> Result<NumberRange, CompileError> {
    let texts = [r.lower.text(), r.upper.text()];
    let numbers: Vec<Option<f64>> = texts.iter().map(|t| t.and_then(number_of)).collect();
    let is_time = texts
        .iter()
        .zip(&numbers)
        .any(|(t, n)| t.is_some() && n.is_none());
    let value = |b: &Bound, n: Option<f64>| -> Result<Option<(f64, bool)>, CompileError> {
        let Some(t) = b.text() else { return Ok(None) };
        let inc = matches!(b, Bound::Inclusive(_));
        if !is_time {
            return Ok(Some((n.expect("numeric bound"), inc)));
        }
        let ms = datemath::parse(t, now)
            .map_err(|_| {
                CompileError::new(
                    ErrorKind::BadRange,
                    format!("`{t}` is neither a number nor a time"),
                )
                .at(span, "in this range")
                .help("range ends are numbers (`1000`, `-2.5`, `1e6`) or times (`2024-05-01T10:00:00Z`, `2024-05-01`, `now-1h`), both of one kind; `*` leaves an end open")
            })?
            .timestamp_millis();
        Ok(Some((ms as f64, inc)))
    };
    let lower = value(&r.lower, numbers[0])?;
    let upper = value(&r.upper, numbers[1])?;
    check_order(lower.map(|x| x.0), upper.map(|x| x.0), r, span)?;
    Ok(NumberRange { lower, upper })
}

fn check_order(
    lower: Option<f64>,
    upper: Option<f64>,
    r: &Range,
    span: Span,
) -> Result<(), CompileError> {
    if let (Some(l), Some(u)) = (lower, upper)
        && l > u
    {
        return Err(CompileError::new(
            ErrorKind::BadRange,
            "this range is empty: its lower end is above its upper end",
        )
        .at(span, "lower > upper")
        .help(format!(
            "swap the ends: [{} TO {}]",
            r.upper.text().unwrap_or("*"),
            r.lower.text().unwrap_or("*")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::parse;

    fn lookups(pattern: &str) -> Vec<String> {
        let q = parse(&format!("f:={pattern}")).unwrap();
        let crate::ast::Expr::Match(m) = q.expr else {
            panic!("{pattern}")
        };
        let ValueKind::Whole(parts) = m.value.kind else {
            panic!("{pattern}")
        };
        value_lookups(Some("f"), &parts)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_value_test_looks_up_what_every_match_holds() {
        // Exact: every token of the value.
        assert_eq!(lookups(r#""Console Login""#), ["f:console", "f:login"]);
        // A wildcard continues the last word: a prefix; the first word a
        // wildcard begins gives nothing (a suffix reads every token).
        assert_eq!(lookups(r"*S3\ Browser*"), ["f:browser*"]);
        assert_eq!(lookups(r"Mozilla/5.0*"), ["f:mozilla", "f:5.0*"]);
        assert_eq!(lookups(r"*\ failed\ for\ *"), ["f:failed", "f:for"]);
        // A run that may join an IPv6 or e-mail address in the value, or
        // hex digits alone, is no prefix.
        assert_eq!(lookups(r"x\ fe80*"), ["f:x"]);
        assert_eq!(lookups(r"x\ a:b*"), ["f:x"]);
        assert_eq!(lookups(r"x\ bob@a*"), ["f:x"]);
        // Nothing whole: the field's presence.
        assert_eq!(lookups(r"*abc*"), ["f:*"]);
        assert_eq!(lookups(r#""""#), ["f:*"]);
        assert_eq!(lookups("*"), ["f:*"]);
    }

    #[test]
    fn a_wildcard_with_a_separator_tests_the_whole_value() {
        let r = |q: &str| {
            resolve(
                &parse(q).unwrap(),
                TimeWindow::fix(&crate::WindowSpec::Default, chrono::Utc::now()).unwrap(),
                chrono::Utc::now(),
            )
            .map(|r| r.filter.to_string())
        };
        assert_eq!(
            r(r"userAgent:*S3\ Browser*").unwrap(),
            r"userAgent:browser* AND userAgent:=*s3\ browser*"
        );
        assert_eq!(r("f:*abc*").unwrap(), "f:*abc*");
        assert_eq!(r(r#"tag:="VPC flow""#).unwrap(), "tag:vpc flow");
        let err = r(r"*S3\ Browser*").unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotYetSupported);
    }
}
