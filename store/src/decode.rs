//! One object's bytes → records. Formats, detected per object:
//! - CloudTrail: one JSON document `{"Records": [...]}`; each element is a
//!   record, kept as its exact original text.
//! - One JSON object spanning the whole file (pretty-printed): one record.
//! - Lines: each non-blank line is a record; a line that parses as a JSON
//!   object is indexed by field, any other line as text. In an object whose
//!   records are mostly (at least half) JSON, a line that is not is counted
//!   as malformed — and still stored and indexed as text. In a text object,
//!   a line that starts with `{` but does not parse is counted as malformed.
//!
//! Gzip is recognised by its magic bytes, whatever the file is called.

use std::io::Read;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

/// Kind of an object's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    CloudTrail,
    Json,
    Lines,
}

impl Format {
    /// The tag used when the user gives none.
    pub fn default_tag(self, mostly_json: bool) -> &'static str {
        match self {
            Format::CloudTrail => "cloudtrail",
            Format::Json => "json",
            Format::Lines if mostly_json => "json",
            Format::Lines => "text",
        }
    }
}

/// A record as read: its sequence number in the object, its original text,
/// and the parsed JSON object when it is one.
#[derive(Debug)]
pub struct RawRecord {
    pub seq: i64,
    pub text: String,
    pub json: Option<Value>,
}

/// What was found in one object, with the counts of anything degraded.
#[derive(Debug, Default)]
pub struct Decoded {
    pub records: Vec<RawRecord>,
    pub format: Option<Format>,
    pub mostly_json: bool,
    pub blank_lines: u64,
    pub text_lines: u64,
    /// Lines in a JSON-lines object that were not JSON objects (stored as text).
    pub malformed_json_lines: u64,
    /// Lines with invalid UTF-8, stored with U+FFFD replacement characters.
    pub invalid_utf8_lines: u64,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "Records", borrow)]
    records: Option<Vec<&'a RawValue>>,
}

/// Decompresses if gzip (by magic bytes, including concatenated members).
pub fn decompress(bytes: Vec<u8>) -> std::io::Result<Vec<u8>> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(bytes.len() * 8);
        flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_end(&mut out)?;
        Ok(out)
    } else {
        Ok(bytes)
    }
}

/// Splits decompressed content into records.
pub fn decode(content: &[u8]) -> Decoded {
    let body = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{')
        && let Ok(text) = std::str::from_utf8(body)
        && let Ok(envelope) = serde_json::from_str::<Envelope>(text)
    {
        {
            match envelope.records {
                Some(records) => {
                    let mut out = Decoded {
                        format: Some(Format::CloudTrail),
                        mostly_json: true,
                        ..Decoded::default()
                    };
                    for (seq, raw) in records.into_iter().enumerate() {
                        let text = raw.get().to_string();
                        let json: Option<Value> = serde_json::from_str(&text).ok();
                        out.records.push(RawRecord {
                            seq: seq as i64,
                            json: json.filter(Value::is_object),
                            text,
                        });
                    }
                    return out;
                }
                None if body.iter().filter(|b| **b == b'\n').count() > 1 => {
                    // One pretty-printed object: one record.
                    let text = text.trim().to_string();
                    let json = serde_json::from_str(&text).ok();
                    return Decoded {
                        records: vec![RawRecord { seq: 0, text, json }],
                        format: Some(Format::Json),
                        mostly_json: true,
                        ..Decoded::default()
                    };
                }
                None => {}
            }
        }
    }
    decode_lines(body)
}

fn decode_lines(body: &[u8]) -> Decoded {
    let mut out = Decoded {
        format: Some(Format::Lines),
        ..Decoded::default()
    };
    let mut json_lines = 0u64;
    let mut invalid_json_like = 0u64;
    let last = body.iter().filter(|b| **b == b'\n').count();
    for (seq, line) in body.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            // The empty piece after a final newline is not a line.
            if !(line.is_empty() && seq == last) {
                out.blank_lines += 1;
            }
            continue;
        }
        let text = match std::str::from_utf8(line) {
            Ok(s) => s.to_string(),
            Err(_) => {
                out.invalid_utf8_lines += 1;
                String::from_utf8_lossy(line).into_owned()
            }
        };
        let looks_json = text.trim_start().starts_with('{');
        let json: Option<Value> = if looks_json {
            serde_json::from_str::<Value>(&text)
                .ok()
                .filter(Value::is_object)
        } else {
            None
        };
        match (&json, looks_json) {
            (Some(_), _) => json_lines += 1,
            (None, true) => invalid_json_like += 1,
            (None, false) => out.text_lines += 1,
        }
        out.records.push(RawRecord {
            seq: seq as i64,
            text,
            json,
        });
    }
    let non_json = out.text_lines + invalid_json_like;
    out.mostly_json = json_lines > 0 && json_lines >= non_json;
    if out.mostly_json {
        out.malformed_json_lines = non_json;
        out.text_lines = 0;
    } else {
        out.malformed_json_lines = invalid_json_like;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudtrail_records_keep_their_text() {
        let doc = br#"{"Records":[{"eventName":"A", "x": 1},{"eventName":"B"}]}"#;
        let d = decode(doc);
        assert_eq!(d.format, Some(Format::CloudTrail));
        assert_eq!(d.records.len(), 2);
        assert_eq!(d.records[0].text, r#"{"eventName":"A", "x": 1}"#);
        assert_eq!(d.records[1].seq, 1);
        assert!(d.records[1].json.is_some());
    }

    #[test]
    fn ndjson_with_a_broken_line() {
        let doc = b"{\"a\":1}\n\n{\"a\":\n{\"b\":2}\r\nplain words\n";
        let d = decode(doc);
        assert_eq!(d.format, Some(Format::Lines));
        assert!(d.mostly_json);
        let seqs: Vec<i64> = d.records.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, vec![0, 2, 3, 4]);
        assert_eq!(d.malformed_json_lines, 2);
        assert_eq!(d.blank_lines, 1);
        assert_eq!(d.records[1].text, "{\"a\":");
        assert!(d.records[1].json.is_none());
        assert_eq!(d.records[2].text, "{\"b\":2}");
    }

    #[test]
    fn text_lines_and_bad_utf8() {
        let doc = b"line one\nline \xff two\n";
        let d = decode(doc);
        assert!(!d.mostly_json);
        assert_eq!(d.text_lines, 2);
        assert_eq!(d.invalid_utf8_lines, 1);
        assert_eq!(d.malformed_json_lines, 0);
        assert_eq!(d.records[1].text, "line \u{FFFD} two");
        assert_eq!(d.blank_lines, 0);
    }

    #[test]
    fn pretty_json_is_one_record() {
        let doc = b"{\n  \"a\": 1,\n  \"b\": 2\n}\n";
        let d = decode(doc);
        assert_eq!(d.format, Some(Format::Json));
        assert_eq!(d.records.len(), 1);
    }

    #[test]
    fn gzip_by_magic() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"hello\n").unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(decompress(gz).unwrap(), b"hello\n");
        assert_eq!(decompress(b"plain".to_vec()).unwrap(), b"plain");
    }
}
