//! A search's records ([`Hit`]s, decoded by `glaux_search::rows`) → what the
//! user sees: a table, raw lines, vertical JSON, JSON, NDJSON or CSV. Both
//! engines return the same records, so every format works the same whatever
//! ran the query.

use std::io::{self, Write};

use glaux_search::Hit;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// time, tag and a line of the record's fields each (CloudTrail's
    /// event, who, from where, error; another JSON record's most frequent
    /// fields), fitted to the width.
    Table,
    /// time, tag and the whole message on one line each, fitted to the
    /// width.
    Raw,
    /// Each record as indented JSON with sorted keys (like psql's `\x`).
    Vertical,
    Json,
    Ndjson,
    Csv,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        <Format as clap::ValueEnum>::from_str(s, true).map_err(|_| {
            format!("unknown format `{s}`; use table, raw, vertical, json, ndjson or csv")
        })
    }
}

impl Format {
    /// The format a file name asks for (`\export`): by extension.
    pub fn of_path(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            "csv" => Some(Format::Csv),
            "txt" | "log" => Some(Format::Raw),
            _ => None,
        }
    }
}

/// How the human formats (table, vertical) look.
#[derive(Debug, Clone, Default)]
pub struct Look {
    /// Table rows are cut to this many columns; `None`: whole messages.
    pub width: Option<usize>,
    /// ANSI colours (never in pipes, never with NO_COLOR).
    pub color: bool,
    /// The words to highlight in messages (what the query looks for).
    pub marks: Marks,
    /// The table view's line of a JSON record that is not CloudTrail:
    /// these fields' values ([`record_line`]); none: its message.
    pub fields: Vec<String>,
}

/// The fields the table view shows of a CloudTrail record, in order
/// (`userIdentity.type` when there is no ARN: a service or the root
/// account's anonymous calls have none).
pub const CLOUDTRAIL_LINE: [&str; 4] = [
    "eventName",
    "userIdentity.arn",
    "sourceIPAddress",
    "errorCode",
];

/// What the table view shows of a record after its time and tag: for a
/// CloudTrail record (an object with `eventName` and `eventSource`), the
/// values of [`CLOUDTRAIL_LINE`], two spaces apart; for another JSON
/// object, `field=value` for each of `fields` it has; else (text, or
/// none of the fields) the message. `\format raw` shows every message
/// whole.
pub fn record_line(message: &str, fields: &[String]) -> String {
    let Ok(serde_json::Value::Object(record)) = serde_json::from_str::<serde_json::Value>(message)
    else {
        return message.to_string();
    };
    let record = serde_json::Value::Object(record);
    if record.get("eventName").is_some() && record.get("eventSource").is_some() {
        let mut parts = Vec::new();
        for f in CLOUDTRAIL_LINE {
            let v = match (value_at(&record, f), f) {
                (None, "userIdentity.arn") => value_at(&record, "userIdentity.type"),
                (v, _) => v,
            };
            if let Some(v) = v {
                parts.push(v);
            }
        }
        return parts.join("  ");
    }
    let parts: Vec<String> = fields
        .iter()
        .filter_map(|f| Some(format!("{f}={}", value_at(&record, f)?)))
        .collect();
    match parts.is_empty() {
        true => message.to_string(),
        false => parts.join(" "),
    }
}

/// The value at the dotted `path` of `record` as the record wrote it (a
/// string's text, a number's JSON text); an array's scalars joined by
/// `,`; `None` when absent, `null`, or not a scalar.
fn value_at(record: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    let mut at = record;
    for part in path.split('.') {
        at = at.get(part)?;
    }
    match at {
        Value::Array(items) => {
            let items: Vec<String> = items.iter().filter_map(scalar).collect();
            (!items.is_empty()).then(|| items.join(","))
        }
        v => scalar(v),
    }
}

/// What to highlight in results: the tokens a query's positive lookups
/// match (plain terms and the words of phrases, wildcard and regex
/// patterns, CIDR blocks). A message is cut into tokens by the same
/// tokenizer ingest uses and each token is tested like the index would
/// test it, so a marked word is one the search could have matched:
/// `10.0.0.1` is never marked inside `110.0.0.119` or `10.0.0.1.5`.
/// Field scoping and numeric ranges are not applied (a display cannot
/// tell which field a word of the raw line came from); the engines decide
/// what matches, this only shows where.
#[derive(Debug, Clone, Default)]
pub struct Marks {
    tokens: std::collections::BTreeSet<String>,
    patterns: Vec<regex::Regex>,
    cidrs: Vec<glaux_compiler::values::Cidr>,
}

impl Marks {
    /// Marks these exact (lowercase) tokens.
    pub fn tokens<S: Into<String>>(tokens: impl IntoIterator<Item = S>) -> Marks {
        Marks {
            tokens: tokens.into_iter().map(Into::into).collect(),
            ..Marks::default()
        }
    }

    /// What `plan`'s positive lookups match (not those under `NOT`).
    pub fn of(plan: &glaux_compiler::plan::Plan) -> Marks {
        use glaux_compiler::plan::Formula;
        use glaux_compiler::resolve::Pattern;
        fn positive(f: &Formula, out: &mut Vec<usize>) {
            match f {
                Formula::Lookup(i) => out.push(*i),
                Formula::And(v) | Formula::Or(v) => v.iter().for_each(|f| positive(f, out)),
                Formula::Not(_) | Formula::Record(_) | Formula::Const(_) => {}
            }
        }
        let mut ids = Vec::new();
        positive(&plan.formula, &mut ids);
        let mut marks = Marks::default();
        for lookup in ids.into_iter().filter_map(|i| plan.lookups.get(i)) {
            match &lookup.pattern {
                Pattern::Tokens(t) => {
                    marks
                        .tokens
                        .extend(t.iter().filter(|t| !t.is_empty()).cloned());
                }
                Pattern::Wildcard(w) => marks.patterns.extend(anchored(&w.to_regex())),
                Pattern::Regex(re) => marks.patterns.extend(anchored(re)),
                Pattern::Ip(cidr) => marks.cidrs.push(*cidr),
                Pattern::Number(_) | Pattern::Exists => {}
            }
        }
        marks
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty() && self.patterns.is_empty() && self.cidrs.is_empty()
    }

    /// True when a search for these marks would match `token`.
    pub fn matches(&self, token: &str) -> bool {
        self.tokens.contains(token)
            || self.patterns.iter().any(|p| p.is_match(token))
            || (!self.cidrs.is_empty()
                && token
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| self.cidrs.iter().any(|c| c.contains(ip))))
    }
}

/// `^(?:re)$`, or nothing when the regex does not compile here (the
/// engines may accept syntax this crate does not; no mark is better than
/// a wrong one).
fn anchored(re: &str) -> Option<regex::Regex> {
    regex::Regex::new(&format!("^(?s:{re})$")).ok()
}

/// Writes hits in `format`; the human formats follow `look`.
pub fn write_hits(
    out: &mut dyn Write,
    hits: &[Hit],
    format: Format,
    look: &Look,
) -> io::Result<()> {
    match format {
        Format::Table => write_table(out, hits, look, true),
        Format::Raw => write_table(out, hits, look, false),
        Format::Vertical => write_vertical(out, hits, look),
        Format::Json => {
            writeln!(out, "[")?;
            for (i, h) in hits.iter().enumerate() {
                let sep = if i + 1 < hits.len() { "," } else { "" };
                writeln!(out, "  {}{sep}", hit_json(h))?;
            }
            writeln!(out, "]")
        }
        Format::Ndjson => {
            for h in hits {
                writeln!(out, "{}", hit_json(h))?;
            }
            Ok(())
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(["time", "tag", "object", "seq", "message"])?;
            for h in hits {
                w.write_record([
                    h.time(),
                    h.tag.clone(),
                    h.object.clone(),
                    h.seq.to_string(),
                    h.message.clone(),
                ])?;
            }
            w.flush()
        }
    }
}

/// One hit as a JSON object with keys in a fixed order: time, tag, object,
/// seq, message.
fn hit_json(h: &Hit) -> String {
    let s = |v: &str| serde_json::Value::from(v).to_string();
    format!(
        "{{\"time\":{},\"tag\":{},\"object\":{},\"seq\":{},\"message\":{}}}",
        s(&h.time()),
        s(&h.tag),
        s(&h.object),
        h.seq,
        s(&h.message)
    )
}

/// Messages shown on one line and safe for a terminal: tabs become spaces,
/// line breaks `\n`/`\r`, and every other control character (ESC among
/// them: log text must not drive the terminal) a `\u{..}` escape.
pub(crate) fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' => out.push(' '),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

fn write_table(out: &mut dyn Write, hits: &[Hit], look: &Look, lines: bool) -> io::Result<()> {
    let width = look.width;
    let times: Vec<String> = hits.iter().map(Hit::time).collect();
    let tw = times
        .iter()
        .map(|t| t.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let gw = hits
        .iter()
        .map(|h| h.tag.chars().count())
        .max()
        .unwrap_or(0)
        .max(3);
    writeln!(out, "{:tw$}  {:gw$}  message", "time", "tag")?;
    writeln!(
        out,
        "{}  {}  {}",
        "─".repeat(tw),
        "─".repeat(gw),
        "─".repeat(7)
    )?;
    for (h, t) in hits.iter().zip(&times) {
        let line = match lines {
            true => one_line(&record_line(&h.message, &look.fields)),
            false => one_line(&h.message),
        };
        let room = width.map(|w| w.saturating_sub(tw + gw + 4).max(20));
        let msg = match room {
            Some(room) if line.chars().count() > room => {
                let cut = line
                    .char_indices()
                    .nth(room - 1)
                    .map_or(line.len(), |(i, _)| i);
                mark_cut(&line, cut, &look.marks, look.color) + "…"
            }
            _ => mark_terms(&line, &look.marks, look.color),
        };
        writeln!(out, "{t:tw$}  {:gw$}  {msg}", h.tag)?;
    }
    Ok(())
}

/// `text[..cut]` marked, where a word that the cut splits is not: its
/// visible start may match what the whole word does not (`alice…` of
/// `alicebob`).
fn mark_cut(text: &str, cut: usize, marks: &Marks, color: bool) -> String {
    if !color || marks.is_empty() {
        return text[..cut].to_string();
    }
    let mut out = String::with_capacity(cut + 16);
    let mut at = 0;
    for (range, token) in glaux_compiler::tokenizer::token_spans(text) {
        if range.end > cut {
            break; // the word the cut splits, and everything after it
        }
        if !marks.matches(&token) {
            continue;
        }
        out.push_str(&text[at..range.start]);
        out.push_str("\x1b[1;33m");
        out.push_str(&text[range.clone()]);
        out.push_str("\x1b[0m");
        at = range.end;
    }
    out.push_str(&text[at..cut]);
    out
}

/// `text` with each token that `marks` matches in bold yellow.
pub fn mark_terms(text: &str, marks: &Marks, color: bool) -> String {
    mark_cut(text, text.len(), marks, color)
}

/// Each record as a header line and its message as indented JSON with
/// sorted keys (coloured when `look.color`); a message that is not a JSON
/// object is shown as text.
fn write_vertical(out: &mut dyn Write, hits: &[Hit], look: &Look) -> io::Result<()> {
    for (i, h) in hits.iter().enumerate() {
        let head = format!(
            "── {} ── {} · {} · {} #{}",
            i + 1,
            h.time(),
            if h.tag.is_empty() { "-" } else { &h.tag },
            h.object,
            h.seq
        );
        if look.color {
            writeln!(out, "\x1b[2m{head}\x1b[0m")?;
        } else {
            writeln!(out, "{head}")?;
        }
        match serde_json::from_str::<serde_json::Value>(&h.message) {
            Ok(v @ serde_json::Value::Object(_)) => {
                let mut s = String::new();
                pretty(&v, 0, look, &mut s);
                writeln!(out, "{s}")?;
            }
            _ => writeln!(
                out,
                "{}",
                mark_terms(&one_line(&h.message), &look.marks, look.color)
            )?,
        }
    }
    Ok(())
}

fn paint(s: &mut String, text: &str, sgr: &str, color: bool) {
    if color {
        s.push_str(&format!("\x1b[{sgr}m{text}\x1b[0m"));
    } else {
        s.push_str(text);
    }
}

/// Indented JSON, keys sorted at every level (so records compare by eye).
fn pretty(v: &serde_json::Value, indent: usize, look: &Look, s: &mut String) {
    use serde_json::Value;
    let pad = |n: usize| "  ".repeat(n);
    match v {
        Value::Object(map) if map.is_empty() => s.push_str("{}"),
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            s.push_str("{\n");
            for (i, k) in keys.iter().enumerate() {
                s.push_str(&pad(indent + 1));
                paint(s, &Value::from(k.as_str()).to_string(), "36", look.color);
                s.push_str(": ");
                pretty(&map[k.as_str()], indent + 1, look, s);
                if i + 1 < keys.len() {
                    s.push(',');
                }
                s.push('\n');
            }
            s.push_str(&pad(indent));
            s.push('}');
        }
        Value::Array(items) if items.is_empty() => s.push_str("[]"),
        Value::Array(items) => {
            s.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                s.push_str(&pad(indent + 1));
                pretty(item, indent + 1, look, s);
                if i + 1 < items.len() {
                    s.push(',');
                }
                s.push('\n');
            }
            s.push_str(&pad(indent));
            s.push(']');
        }
        Value::String(text) => {
            // JSON escaping also neutralises control characters.
            let quoted = Value::from(text.as_str()).to_string();
            if look.color {
                s.push_str("\x1b[32m");
                s.push_str(
                    &mark_terms(&quoted, &look.marks, true).replace("\x1b[0m", "\x1b[0;32m"),
                );
                s.push_str("\x1b[0m");
            } else {
                s.push_str(&quoted);
            }
        }
        Value::Number(n) => paint(s, &n.to_string(), "33", look.color),
        Value::Bool(_) | Value::Null => paint(s, &v.to_string(), "35", look.color),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit() -> Hit {
        Hit {
            time_ms: 1_714_557_600_123,
            tag: "cloudtrail".into(),
            object: "/x/a.json.gz".into(),
            seq: 3,
            message: "{\"a\":\"b\nc\"}".into(),
        }
    }

    fn render(format: Format) -> String {
        let mut buf = Vec::new();
        let look = Look {
            width: Some(60),
            ..Look::default()
        };
        write_hits(&mut buf, &[hit()], format, &look).unwrap();
        String::from_utf8(buf).unwrap()
    }

    /// Fixed records for the view snapshots: CloudTrail JSON, nested and
    /// with arrays, a text line with a control character, Unicode.
    fn sample() -> Vec<Hit> {
        vec![
            Hit {
                time_ms: 1_714_557_600_123,
                tag: "cloudtrail".into(),
                object: "s3://raw/AWSLogs/123/CloudTrail/us-east-1/2024/05/01/a.json.gz".into(),
                seq: 3,
                message: r#"{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","sourceIPAddress":"10.0.0.1","userIdentity":{"type":"IAMUser","userName":"alice","arn":"arn:aws:iam::123:user/alice"},"resources":[{"ARN":"x"},{"ARN":"y"}],"errorCode":null,"readOnly":false,"bytes":1024}"#.into(),
            },
            Hit {
                time_ms: 1_714_557_601_000,
                tag: "text".into(),
                object: "/var/log/auth.log".into(),
                seq: 41,
                message: "sshd[311]: Failed password for root from 110.0.0.119 and 10.0.0.1\u{1b}[31m — Größe".into(),
            },
            Hit {
                time_ms: 1_714_557_602_000,
                tag: "app".into(),
                object: "/var/log/app.ndjson".into(),
                seq: 7,
                message: r#"{"time":"2024-05-01T10:00:02Z","level":"warn","msg":"slow login","user":"alice","tags":["a","b"]}"#.into(),
            },
            Hit {
                time_ms: 1_714_557_603_000,
                tag: "cloudtrail".into(),
                object: "s3://raw/AWSLogs/123/CloudTrail/us-east-1/2024/05/01/b.json.gz".into(),
                seq: 0,
                message: r#"{"eventName":"GetObject","eventSource":"s3.amazonaws.com","sourceIPAddress":"s3.amazonaws.com","userIdentity":{"type":"AWSService"},"errorCode":"AccessDenied"}"#.into(),
            },
        ]
    }

    fn view(format: Format, color: bool, width: Option<usize>) -> String {
        let look = Look {
            width,
            color,
            marks: Marks::tokens(["10.0.0.1", "alice"]),
            fields: vec!["level".into(), "user".into()],
        };
        let mut buf = Vec::new();
        write_hits(&mut buf, &sample(), format, &look).unwrap();
        // Escape codes made visible, so a snapshot shows where colour goes.
        String::from_utf8(buf).unwrap().replace('\u{1b}', "␛")
    }

    #[test]
    fn table_view_snapshots() {
        insta::assert_snapshot!("table_80_plain", view(Format::Table, false, Some(80)));
        insta::assert_snapshot!("table_140_color", view(Format::Table, true, Some(140)));
        insta::assert_snapshot!("table_unbounded", view(Format::Table, false, None));
        insta::assert_snapshot!("raw_80_plain", view(Format::Raw, false, Some(80)));
    }

    #[test]
    fn vertical_view_snapshots() {
        insta::assert_snapshot!("vertical_plain", view(Format::Vertical, false, None));
        insta::assert_snapshot!("vertical_color", view(Format::Vertical, true, None));
    }

    #[test]
    fn a_word_cut_at_the_edge_is_not_marked() {
        let marks = Marks::tokens(["alice"]);
        let text = "user alice and alicebob";
        let cut = text.find("bob").unwrap();
        assert_eq!(
            mark_cut(text, cut, &marks, true),
            "user \x1b[1;33malice\x1b[0m and alice"
        );
        // Cut exactly after a whole word: it is marked.
        assert_eq!(
            mark_cut("user alice", 10, &marks, true),
            "user \x1b[1;33malice\x1b[0m"
        );
    }

    #[test]
    fn marks_whole_tokens_only() {
        let terms = Marks::tokens(["10.0.0.1", "alice"]);
        assert_eq!(
            mark_terms("from 10.0.0.1 not 110.0.0.119, user Alice", &terms, true),
            "from \x1b[1;33m10.0.0.1\x1b[0m not 110.0.0.119, user \x1b[1;33mAlice\x1b[0m"
        );
        assert_eq!(mark_terms("alice", &terms, false), "alice");
        assert_eq!(mark_terms("Ωalice é", &terms, true), "Ωalice é");
        // The tokenizer decides what a word is: 10.0.0.1.5 is one token,
        // alice@example.com too; neither is a match for these terms.
        assert_eq!(
            mark_terms("10.0.0.1.5 alice@example.com", &terms, true),
            "10.0.0.1.5 alice@example.com"
        );
    }

    fn marks_of(query: &str) -> Marks {
        let now = chrono::DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let compiled =
            glaux_compiler::compile(query, &glaux_compiler::CompileOptions::at(now)).unwrap();
        Marks::of(&compiled.plan)
    }

    #[test]
    fn marks_follow_wildcards_regexes_cidrs_and_skip_negations() {
        let line = "DescribeInstances by alice from 10.1.2.3, not 10.2.0.1; Describe";
        let on = |q: &str| mark_terms(line, &marks_of(q), true).replace('\x1b', "␛");
        assert_eq!(
            on("eventName:Describe*"),
            "␛[1;33mDescribeInstances␛[0m by alice from 10.1.2.3, not 10.2.0.1; ␛[1;33mDescribe␛[0m"
        );
        assert_eq!(
            on("/al.ce/ AND sourceIPAddress:10.1.0.0/16"),
            "DescribeInstances by ␛[1;33malice␛[0m from ␛[1;33m10.1.2.3␛[0m, not 10.2.0.1; Describe"
        );
        // `_` in a wildcard is literal in the query language, so the LIKE
        // escape must hold here too; NOT-ed terms are not marked.
        assert_eq!(
            on("desc?ibe AND NOT alice"),
            "DescribeInstances by alice from 10.1.2.3, not 10.2.0.1; ␛[1;33mDescribe␛[0m"
        );
        assert!(marks_of("NOT alice").is_empty());
    }

    #[test]
    fn terminal_escapes_are_neutralised() {
        assert_eq!(
            one_line("a\u{1b}[31mred\u{7}\tb\nc"),
            "a\\u{1b}[31mred\\u{7} b\\nc"
        );
    }

    #[test]
    fn formats() {
        assert_eq!(
            render(Format::Ndjson),
            "{\"time\":\"2024-05-01T10:00:00.123Z\",\"tag\":\"cloudtrail\",\"object\":\"/x/a.json.gz\",\"seq\":3,\"message\":\"{\\\"a\\\":\\\"b\\nc\\\"}\"}\n"
        );
        assert_eq!(
            render(Format::Csv),
            "time,tag,object,seq,message\n2024-05-01T10:00:00.123Z,cloudtrail,/x/a.json.gz,3,\"{\"\"a\"\":\"\"b\nc\"\"}\"\n"
        );
        assert_eq!(
            render(Format::Table),
            "time                      tag         message\n────────────────────────  ──────────  ───────\n2024-05-01T10:00:00.123Z  cloudtrail  {\"a\":\"b\\nc\"}\n"
        );
    }
}
