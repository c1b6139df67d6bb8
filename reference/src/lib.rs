//! The reference evaluator: what a glaux query *means*, written as directly
//! as possible. It walks the parsed AST (not the optimized plan) over raw
//! records, and is the oracle of the differential tests: the compiled SQL,
//! run on an engine over the stored Parquet, must return exactly the
//! records this evaluator accepts.
//!
//! It shares with the product only what is shared by design: the parser
//! (the AST is the input), the tokenizer (one tokenizer for ingest and
//! query), date math (`now-1h`) and the value interpretation of
//! [`glaux_compiler::values`] (what counts as a number, an instant, an IP
//! address). JSON flattening, phrase adjacency, wildcard matching, ranges,
//! CIDR containment, field presence and the boolean logic are written again
//! here, simply and slowly, so a bug in the index layout, the optimizer or
//! the SQL cannot hide behind the same bug in the test.
#![forbid(unsafe_code)]

pub mod stages;

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use glaux_compiler::ast::{Bound, Expr, Query, Range, TAG_FIELD, TIME_FIELD, ValueKind, WildPart};
use glaux_compiler::datemath;
use glaux_compiler::tokenizer::{is_run_char, tokenize};
use glaux_compiler::values::{number_of, value_number};
use serde_json::Value;

/// A record as the evaluator sees it.
#[derive(Debug, Clone)]
pub struct Record {
    /// The record's time, epoch milliseconds.
    pub time_ms: i64,
    /// Its log type.
    pub tag: String,
    /// `(field path, value text)` of every non-null scalar: a JSON object
    /// flattened, or the whole text under the field `""`.
    pub values: Vec<(String, String)>,
}

impl Record {
    /// Builds the record from its stored text: a JSON object is flattened
    /// (keys joined by `.`, array elements under their parent's path, null
    /// skipped, numbers as JSON prints them), anything else is one value
    /// under the field `""`.
    pub fn new(time_ms: i64, tag: &str, text: &str) -> Record {
        let mut values = Vec::new();
        match serde_json::from_str::<Value>(text) {
            Ok(v @ Value::Object(_)) => flatten("", &v, &mut values),
            _ => values.push((String::new(), text.to_string())),
        }
        Record {
            time_ms,
            tag: tag.to_string(),
            values,
        }
    }
}

fn flatten(path: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                flatten(&p, v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| flatten(path, v, out)),
        Value::String(s) => out.push((path.to_string(), s.clone())),
        Value::Number(n) => out.push((path.to_string(), n.to_string())),
        Value::Bool(b) => out.push((path.to_string(), b.to_string())),
        Value::Null => {}
    }
}

/// The clock date math reads (`now-1h`).
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub now: DateTime<Utc>,
}

/// True if `record` matches `query`: the definition of the semantics. The
/// time window of the command line is not part of it: callers keep records
/// in their window, as they choose it.
pub fn matches(query: &Query, record: &Record, ctx: &Context) -> bool {
    eval(&query.expr, record, ctx)
}

fn eval(e: &Expr, r: &Record, ctx: &Context) -> bool {
    match e {
        Expr::And { clauses, .. } => clauses.iter().all(|c| eval(c, r, ctx)),
        Expr::Or { clauses, .. } => clauses.iter().any(|c| eval(c, r, ctx)),
        Expr::Not { expr, .. } => !eval(expr, r, ctx),
        Expr::All { .. } => true,
        Expr::Match(m) => {
            let field = m.field.as_ref().map(|f| f.name.as_str());
            let kind = &m.value.kind;
            match field {
                Some(TIME_FIELD) => time_matches(kind, r.time_ms, ctx),
                Some(TAG_FIELD) => tag_matches(kind, &r.tag),
                _ => value_matches(field, kind, r, ctx),
            }
        }
    }
}

fn time_matches(kind: &ValueKind, time_ms: i64, ctx: &Context) -> bool {
    match kind {
        ValueKind::Exists => true,
        ValueKind::Range(range) => {
            let ms = |t: &str| {
                datemath::parse(t, ctx.now)
                    .expect("the compiler accepted this time")
                    .timestamp_millis()
            };
            in_range(range, time_ms as f64, &|t| ms(t) as f64)
        }
        other => unreachable!("the compiler rejects @time:{other:?}"),
    }
}

fn tag_matches(kind: &ValueKind, tag: &str) -> bool {
    let tag = tag.to_lowercase();
    match kind {
        ValueKind::Exists => true,
        ValueKind::Term(t) | ValueKind::Phrase(t) => tag == t.to_lowercase(),
        ValueKind::Wildcard(parts) | ValueKind::Whole(parts) => wildcard(&lower_parts(parts), &tag),
        other => unreachable!("the compiler rejects tag:{other:?}"),
    }
}

/// True if `x` lies in `range`, with bound texts read by `time` when the
/// range is not numeric.
fn in_range(range: &Range, x: f64, time: &dyn Fn(&str) -> f64) -> bool {
    let texts = [range.lower.text(), range.upper.text()];
    let numeric = texts.iter().flatten().all(|t| number_of(t).is_some());
    let value = |t: &str| {
        if numeric {
            number_of(t).expect("numeric")
        } else {
            time(t)
        }
    };
    let lower_ok = match &range.lower {
        Bound::Unbounded => true,
        Bound::Inclusive(t) => x >= value(t),
        Bound::Exclusive(t) => x > value(t),
    };
    let upper_ok = match &range.upper {
        Bound::Unbounded => true,
        Bound::Inclusive(t) => x <= value(t),
        Bound::Exclusive(t) => x < value(t),
    };
    lower_ok && upper_ok
}

fn lower_parts(parts: &[WildPart]) -> Vec<WildPart> {
    parts
        .iter()
        .map(|p| match p {
            WildPart::Text(t) => WildPart::Text(t.to_lowercase()),
            p => p.clone(),
        })
        .collect()
}

/// True when literal text of the pattern holds a character that no token
/// can (the tokenizer's contract, shared by design: docs/language.md).
fn crosses_tokens(parts: &[WildPart]) -> bool {
    parts.iter().any(|p| match p {
        WildPart::Text(t) => t.chars().any(|c| !is_run_char(c)),
        _ => false,
    })
}

/// Glob matching over characters: `Any` is any run, `One` one character.
fn wildcard(parts: &[WildPart], text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    fn go(parts: &[WildPart], s: &[char]) -> bool {
        match parts.split_first() {
            None => s.is_empty(),
            Some((WildPart::Text(t), rest)) => {
                let t: Vec<char> = t.chars().collect();
                s.starts_with(&t) && go(rest, &s[t.len()..])
            }
            Some((WildPart::One, rest)) => !s.is_empty() && go(rest, &s[1..]),
            Some((WildPart::Any, rest)) => (0..=s.len()).any(|i| go(rest, &s[i..])),
        }
    }
    go(parts, &chars)
}

fn value_matches(field: Option<&str>, kind: &ValueKind, r: &Record, ctx: &Context) -> bool {
    let selected = || {
        r.values
            .iter()
            .filter(move |(f, _)| field.is_none_or(|want| want == f))
            .map(|(_, v)| v.as_str())
    };
    let any_token =
        |pred: &dyn Fn(&str) -> bool| selected().any(|v| tokenize(v).iter().any(|t| pred(t)));
    match kind {
        ValueKind::Term(t) | ValueKind::Phrase(t) => {
            let want = tokenize(t);
            selected().any(|v| {
                let have = tokenize(v);
                !want.is_empty() && have.windows(want.len()).any(|w| w == want.as_slice())
            })
        }
        // A pattern with a character no token holds (a space, `/`) is
        // about the whole value; `:=` always is.
        ValueKind::Wildcard(parts) | ValueKind::Whole(parts)
            if matches!(kind, ValueKind::Whole(_)) || crosses_tokens(parts) =>
        {
            let parts = lower_parts(parts);
            selected().any(|v| wildcard(&parts, &v.to_lowercase()))
        }
        ValueKind::Wildcard(parts) => {
            let parts = lower_parts(parts);
            any_token(&|t| wildcard(&parts, t))
        }
        ValueKind::Whole(_) => unreachable!("matched above"),
        ValueKind::Regex(re) => {
            let re = regex::Regex::new(&format!("^(?:{})$", re.to_lowercase()))
                .expect("the compiler accepted this regex");
            any_token(&|t| re.is_match(t))
        }
        ValueKind::Range(range) => selected().any(|v| {
            value_number(v).is_some_and(|x| {
                in_range(range, x, &|t| {
                    datemath::parse(t, ctx.now)
                        .expect("the compiler accepted this time")
                        .timestamp_millis() as f64
                })
            })
        }),
        ValueKind::Cidr(cidr) => {
            any_token(&|t| t.parse::<IpAddr>().is_ok_and(|ip| cidr.contains(ip)))
        }
        ValueKind::Exists => {
            let f = field.expect("presence always names a field");
            let below = format!("{f}.");
            r.values
                .iter()
                .any(|(p, _)| p == f || p.starts_with(&below))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glaux_compiler::parser::parse;

    fn m(q: &str, text: &str) -> bool {
        let ctx = Context {
            now: DateTime::from_timestamp_millis(10_000_000).unwrap(),
        };
        matches(
            &parse(q).unwrap(),
            &Record::new(5_000_000, "json", text),
            &ctx,
        )
    }

    #[test]
    fn terms_phrases_and_fields() {
        let rec = r#"{"a":{"b":"Failed password for root"},"ip":"10.0.0.1","n":[1,2]}"#;
        assert!(m("a.b:\"failed password\"", rec));
        assert!(!m("a.b:\"password failed\"", rec));
        assert!(m("10.0.0.1", rec));
        assert!(!m("10.0.0.11", rec));
        assert!(m("ip:10.0.0.*", rec));
        assert!(m("n:2 AND NOT n:3", rec));
        assert!(!m("a:failed", rec));
        assert!(m("text words", "plain text words"));
        assert!(m("\"text words\"", "plain text words"));
    }

    #[test]
    fn full_language() {
        let rec = r#"{"bytes":1500,"s":"404","t":"1970-01-01T00:00:01Z","ip":"10.1.2.3","e":"","o":{"k":null}}"#;
        assert!(m("bytes:[1000 TO 2000]", rec));
        assert!(!m("bytes:{1500 TO 2000]", rec));
        assert!(m("bytes:>=1500", rec));
        assert!(m("s:[400 TO 499]", rec));
        assert!(m("t:[1970-01-01 TO 1970-01-02]", rec));
        assert!(m("ip:10.0.0.0/8", rec));
        assert!(!m("ip:10.0.0.0/16", rec));
        assert!(m("_exists_:e", rec));
        assert!(!m("o:*", rec));
        assert!(!m("o.k:*", rec));
        assert!(m("1?.1.*", r#"{"x":"10.1.2.3"}"#));
        assert!(!m("1?0.*", r#"{"x":"10.1.2.3"}"#));
        assert!(m("/1[0-9]\\.1\\..*/", r#"{"x":"10.1.2.3"}"#));
        assert!(m("tag:json tag:j*", rec));
        assert!(m("@time:[1970-01-01T01:23:20Z TO now]", rec));
        assert!(!m("@time > now-1m", rec));
        assert!(m("*", rec));
        assert!(!m("NOT *", rec));
    }

    #[test]
    fn whole_values() {
        let rec = r#"{"ua":"S3 Browser 9","e":"ConsoleLogin","n":42,"s":"42","b":false,"t":["a b","c"],"o":{"k":1},"z":""}"#;
        assert!(m(r#"e:="consolelogin""#, rec));
        assert!(!m(r#"e:="console""#, rec));
        assert!(m(r"ua:*s3\ browser*", rec));
        assert!(m(r"ua:=S3\ B*", rec));
        assert!(!m(r"ua:=*browser", rec));
        assert!(m("n:=42 s:=42 b:=FALSE", rec));
        assert!(m(r#"t:="A B" t:=c"#, rec));
        assert!(!m("o:=*", rec));
        assert!(m("o.k:=1", rec));
        assert!(m(r#"z:="" z:=*"#, rec));
        assert!(!m("missing:=*", rec));
        // A wildcard with no separator stays on tokens.
        assert!(m("ua:brow*", rec));
        assert!(!m("ua:=brow*", rec));
    }

    #[test]
    fn glob() {
        let w = |p: &str, t: &str| match parse(p).unwrap().expr {
            Expr::Match(m) => match m.value.kind {
                ValueKind::Wildcard(parts) => wildcard(&lower_parts(&parts), t),
                k => panic!("{k:?}"),
            },
            e => panic!("{e:?}"),
        };
        assert!(w("a*", "a"));
        assert!(w("*b", "ab"));
        assert!(w("a?c", "abc"));
        assert!(!w("a?c", "ac"));
        assert!(w("*é*", "café"));
        assert!(w("a*b*c", "axxbyyc"));
        assert!(!w("a*b*c", "axxbyy"));
    }
}
