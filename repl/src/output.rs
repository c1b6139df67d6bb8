//! Arrow batches from an engine → what the user sees: a table, JSON, NDJSON or
//! CSV. Both engines return the same five columns (time_ms, tag, object, seq,
//! message), so every format works the same whatever ran the query.

use std::io::{self, Write};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use chrono::{DateTime, SecondsFormat, Utc};

/// One search hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub time_ms: i64,
    pub tag: String,
    pub object: String,
    pub seq: i64,
    pub message: String,
}

impl Hit {
    /// RFC 3339 in UTC, milliseconds shown only when not zero.
    pub fn time(&self) -> String {
        DateTime::<Utc>::from_timestamp_millis(self.time_ms)
            .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
            .unwrap_or_else(|| self.time_ms.to_string())
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Ndjson,
    Csv,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        <Format as clap::ValueEnum>::from_str(s, true)
            .map_err(|_| format!("unknown format `{s}`; use table, json, ndjson or csv"))
    }
}

/// Decodes result batches into hits. Text columns may come back as Utf8,
/// LargeUtf8 or Utf8View depending on the engine; all are accepted.
pub fn hits_from_batches(batches: &[RecordBatch]) -> Result<Vec<Hit>, String> {
    let mut out = Vec::new();
    for batch in batches {
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| format!("result has no `{name}` column"))
        };
        let text = |name: &str| -> Result<arrow::array::StringArray, String> {
            let c = cast(col(name)?, &DataType::Utf8).map_err(|e| e.to_string())?;
            Ok(c.as_string::<i32>().clone())
        };
        let int = |name: &str| -> Result<arrow::array::Int64Array, String> {
            let c = cast(col(name)?, &DataType::Int64).map_err(|e| e.to_string())?;
            Ok(c.as_primitive::<Int64Type>().clone())
        };
        let (time, tag, object, seq, message) = (
            int("time_ms")?,
            text("tag")?,
            text("object")?,
            int("seq")?,
            text("message")?,
        );
        for i in 0..batch.num_rows() {
            out.push(Hit {
                time_ms: time.value(i),
                tag: if tag.is_null(i) {
                    String::new()
                } else {
                    tag.value(i).to_string()
                },
                object: object.value(i).to_string(),
                seq: seq.value(i),
                message: message.value(i).to_string(),
            });
        }
    }
    Ok(out)
}

/// Writes hits in `format`. `width` bounds table rows (message cut with `…`);
/// `None` prints whole messages.
pub fn write_hits(
    out: &mut dyn Write,
    hits: &[Hit],
    format: Format,
    width: Option<usize>,
) -> io::Result<()> {
    match format {
        Format::Table => write_table(out, hits, width),
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
fn one_line(s: &str) -> String {
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

fn write_table(out: &mut dyn Write, hits: &[Hit], width: Option<usize>) -> io::Result<()> {
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
        let mut msg = one_line(&h.message);
        if let Some(w) = width {
            let room = w.saturating_sub(tw + gw + 4).max(20);
            if msg.chars().count() > room {
                msg = msg.chars().take(room - 1).collect::<String>() + "…";
            }
        }
        writeln!(out, "{t:tw$}  {:gw$}  {msg}", h.tag)?;
    }
    Ok(())
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
        write_hits(&mut buf, &[hit()], format, Some(60)).unwrap();
        String::from_utf8(buf).unwrap()
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
