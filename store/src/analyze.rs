//! A record → its index entries: every token with its field path and position.
//!
//! JSON objects are walked depth-first; nested keys join with `.`, array
//! elements share their parent's path (arrays are flattened). Strings are
//! tokenized as they are; numbers as serde_json prints them (integers
//! exactly, floats in shortest round-trip form); booleans as `true`/`false`;
//! `null` adds nothing. Text lines are tokenized whole under the field `""`.
//!
//! Positions count tokens across the record; each value ends with a gap of
//! one position, so a phrase can never span two values.

use glaux_compiler::layout::TEXT_FIELD;
use glaux_compiler::tokenizer::tokenize_into;
use glaux_compiler::values::{ip_key, value_number};
use std::sync::Arc;

use serde_json::Value;

/// One token occurrence.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub token: String,
    /// Shared by the tokens of one value: one allocation per value, not
    /// per token (ingest's profile).
    pub field: Arc<str>,
    pub pos: i32,
    pub num: Option<f64>,
    pub ip: Option<String>,
}

/// Calls `emit(field, text)` for every scalar value of a JSON record.
pub fn for_each_value(value: &Value, emit: &mut dyn FnMut(&str, &str)) {
    let mut path = String::new();
    walk(value, &mut path, emit);
}

fn walk(value: &Value, path: &mut String, emit: &mut dyn FnMut(&str, &str)) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                walk(v, path, emit);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for v in items {
                walk(v, path, emit);
            }
        }
        Value::String(s) => emit(path, s),
        Value::Number(n) => emit(path, &n.to_string()),
        Value::Bool(b) => emit(path, if *b { "true" } else { "false" }),
        Value::Null => {}
    }
}

/// The index entries of a record: by field for a JSON object, else the text.
pub fn entries(json: Option<&Value>, text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut pos: i32 = 0;
    let mut add = |field: &str, value: &str| {
        let mut num = value_number(value);
        let start = out.len();
        let field: Arc<str> = Arc::from(field);
        tokenize_into(value, &mut |token| {
            out.push(Entry {
                ip: ip_key(&token),
                token,
                field: Arc::clone(&field),
                pos,
                num: num.take(),
            });
            pos = pos.saturating_add(1);
        });
        if out.len() == start {
            out.push(Entry {
                token: String::new(),
                field,
                pos,
                num,
                ip: None,
            });
            pos = pos.saturating_add(1);
        }
        pos = pos.saturating_add(1);
    };
    match json {
        Some(v) => for_each_value(v, &mut add),
        None => add(TEXT_FIELD, text),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn e(token: &str, field: &str, pos: i32) -> Entry {
        Entry {
            token: token.into(),
            field: field.into(),
            pos,
            num: None,
            ip: None,
        }
    }

    fn n(mut e: Entry, num: f64) -> Entry {
        e.num = Some(num);
        e
    }

    #[test]
    fn nested_and_arrays() {
        let v =
            json!({"a": {"b": "X y"}, "c": [{"d": 1}, {"d": true}], "n": null, "e": "", "t": "-5"});
        assert_eq!(
            entries(Some(&v), ""),
            vec![
                e("x", "a.b", 0),
                e("y", "a.b", 1),
                n(e("1", "c.d", 3), 1.0),
                e("true", "c.d", 5),
                e("", "e", 7),
                n(e("5", "t", 9), -5.0),
            ]
        );
    }

    #[test]
    fn text_lines_use_the_empty_field() {
        assert_eq!(
            entries(None, "Failed password from 10.0.0.1"),
            vec![
                e("failed", "", 0),
                e("password", "", 1),
                e("from", "", 2),
                Entry {
                    ip: ip_key("10.0.0.1"),
                    ..e("10.0.0.1", "", 3)
                },
            ]
        );
    }
}
