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

use std::sync::Arc;

use glaux_compiler::layout::TEXT_FIELD;
use glaux_compiler::tokenizer::for_each_token;
use glaux_compiler::values::{ip_key, number_of, value_number};

use serde_json::Value;

/// One token occurrence. The token and the field are ids in the object's
/// [`Vocabulary`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    pub token: u32,
    pub field: u32,
    pub pos: i32,
    pub num: Option<f64>,
}

/// One distinct (field, value) pair of a record: ids in the object's
/// [`Vocabulary`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FieldValue {
    pub field: u32,
    pub value: u32,
}

/// The distinct tokens, field paths and values of one object, each held
/// once.
///
/// Ingest's cost is per index row (docs/performance.md): an `Entry` that
/// owned its token cost an allocation and a free per occurrence, and every
/// later step hashed or compared the token's text again (the sort's ranks,
/// the token-hours pairs, the IP key). With ids, the text is hashed once
/// per occurrence here, and the rest is done once per distinct token.
#[derive(Debug, Default)]
pub struct Vocabulary {
    tokens: Interner,
    fields: Interner,
    /// The IP key of each token (by id), when it is an address.
    ips: Vec<Option<String>>,
    /// Scalar values of JSON records, as written.
    values: Interner,
    /// The number of each value (by id), when its whole text is one.
    numbers: Vec<Option<f64>>,
}

#[derive(Debug, Default)]
struct Interner {
    texts: Vec<Arc<str>>,
    ids: foldhash::HashMap<Arc<str>, u32>,
}

impl Interner {
    fn id(&mut self, text: &str) -> (u32, bool) {
        if let Some(&id) = self.ids.get(text) {
            return (id, false);
        }
        let id = u32::try_from(self.texts.len()).expect("fewer than 2^32 distinct values");
        let text: Arc<str> = Arc::from(text);
        self.ids.insert(Arc::clone(&text), id);
        self.texts.push(text);
        (id, true)
    }

    /// Each id's rank in the sorted order of the texts.
    fn ranks(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.texts.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| self.texts[a as usize].cmp(&self.texts[b as usize]));
        let mut ranks = vec![0; order.len()];
        for (rank, id) in order.into_iter().enumerate() {
            ranks[id as usize] = rank as u32;
        }
        ranks
    }
}

impl Vocabulary {
    fn token_id(&mut self, token: &str) -> u32 {
        let (id, new) = self.tokens.id(token);
        if new {
            self.ips.push(ip_key(token));
        }
        id
    }

    fn value_id(&mut self, value: &str) -> u32 {
        let (id, new) = self.values.id(value);
        if new {
            self.numbers.push(number_of(value));
        }
        id
    }

    pub fn value(&self, id: u32) -> &str {
        &self.values.texts[id as usize]
    }

    /// The value's number ([`glaux_compiler::values::number_of`]).
    pub fn value_number(&self, id: u32) -> Option<f64> {
        self.numbers[id as usize]
    }

    /// Each value id's rank in sorted value order.
    pub fn value_ranks(&self) -> Vec<u32> {
        self.values.ranks()
    }

    pub fn token(&self, id: u32) -> &str {
        &self.tokens.texts[id as usize]
    }

    pub fn field(&self, id: u32) -> &str {
        &self.fields.texts[id as usize]
    }

    /// The token's IP key (`glaux_compiler::values::ip_key`).
    pub fn ip(&self, id: u32) -> Option<&str> {
        self.ips[id as usize].as_deref()
    }

    /// Each token id's rank in sorted token order.
    pub fn token_ranks(&self) -> Vec<u32> {
        self.tokens.ranks()
    }

    /// Each field id's rank in sorted field order.
    pub fn field_ranks(&self) -> Vec<u32> {
        self.fields.ranks()
    }

    /// Field paths by id.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.fields.texts.iter().map(|f| &**f)
    }
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

/// The index entries of a record: by field for a JSON object, else the
/// text. `scratch` is the tokenizer's buffer, kept across calls.
pub fn entries(
    vocabulary: &mut Vocabulary,
    scratch: &mut String,
    json: Option<&Value>,
    text: &str,
) -> Vec<Entry> {
    analyze(vocabulary, scratch, json, text).0
}

/// The index entries of a record ([`entries`]) and its distinct (field,
/// value) pairs, sorted by id: every scalar of a JSON object, an array's
/// elements under their parent's path; none for a text line.
pub fn analyze(
    vocabulary: &mut Vocabulary,
    scratch: &mut String,
    json: Option<&Value>,
    text: &str,
) -> (Vec<Entry>, Vec<FieldValue>) {
    let mut values = Vec::new();
    let mut out = Vec::new();
    let mut pos: i32 = 0;
    let mut add = |field: &str, value: &str| {
        let mut num = value_number(value);
        let start = out.len();
        let field = vocabulary.fields.id(field).0;
        if json.is_some() {
            values.push(FieldValue {
                field,
                value: vocabulary.value_id(value),
            });
        }
        for_each_token(value, scratch, &mut |token| {
            out.push(Entry {
                token: vocabulary.token_id(token),
                field,
                pos,
                num: num.take(),
            });
            pos = pos.saturating_add(1);
        });
        if out.len() == start {
            out.push(Entry {
                token: vocabulary.token_id(""),
                field,
                pos,
                num,
            });
            pos = pos.saturating_add(1);
        }
        pos = pos.saturating_add(1);
    };
    match json {
        Some(v) => for_each_value(v, &mut add),
        None => add(TEXT_FIELD, text),
    }
    values.sort_unstable();
    values.dedup();
    (out, values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An entry as text: token, field, position, number, IP key.
    type Seen = (String, String, i32, Option<f64>, Option<String>);

    fn analyze(json: Option<&Value>, text: &str) -> Vec<Seen> {
        let mut vocabulary = Vocabulary::default();
        entries(&mut vocabulary, &mut String::new(), json, text)
            .into_iter()
            .map(|e| {
                (
                    vocabulary.token(e.token).to_string(),
                    vocabulary.field(e.field).to_string(),
                    e.pos,
                    e.num,
                    vocabulary.ip(e.token).map(str::to_string),
                )
            })
            .collect()
    }

    fn e(token: &str, field: &str, pos: i32) -> Seen {
        (token.into(), field.into(), pos, None, None)
    }

    fn n(mut e: Seen, num: f64) -> Seen {
        e.3 = Some(num);
        e
    }

    #[test]
    fn nested_and_arrays() {
        let v =
            json!({"a": {"b": "X y"}, "c": [{"d": 1}, {"d": true}], "n": null, "e": "", "t": "-5"});
        assert_eq!(
            analyze(Some(&v), ""),
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
        let mut ip = e("10.0.0.1", "", 3);
        ip.4 = ip_key("10.0.0.1");
        assert_eq!(
            analyze(None, "Failed password from 10.0.0.1"),
            vec![
                e("failed", "", 0),
                e("password", "", 1),
                e("from", "", 2),
                ip,
            ]
        );
    }

    #[test]
    fn a_token_is_held_once_and_ranked_by_its_text() {
        let mut vocabulary = Vocabulary::default();
        let mut scratch = String::new();
        let first = entries(&mut vocabulary, &mut scratch, None, "b a b");
        let second = entries(&mut vocabulary, &mut scratch, None, "a c");
        assert_eq!(first[0].token, first[2].token);
        assert_eq!(first[1].token, second[0].token);
        let ranks = vocabulary.token_ranks();
        let text_order = |id: u32| ranks[id as usize];
        assert!(text_order(first[1].token) < text_order(first[0].token));
        assert!(text_order(first[0].token) < text_order(second[1].token));
    }
}
