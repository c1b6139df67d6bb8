//! A rule file's YAML as plain nodes with byte spans, so every diagnostic
//! can point into the file. saphyr reads the YAML (1.2, pure Rust) and
//! marks each node in characters; this module turns its tree into
//! [`Node`]s with byte offsets and owned text, and nothing else.

use std::ops::Range;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use crate::error::SigmaError;

/// A YAML node and where it is in the file, in bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub span: Range<usize>,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    /// A number, with the text it was written as (`4624`, `1.50`).
    Number(String),
    Str(String),
    List(Vec<Node>),
    /// Entries in the file's order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The value under `key`, when this is a map with that string key.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.kind == Kind::Str(key.to_string()))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// What kind of node this is, for messages.
    pub fn what(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Number(_) => "a number",
            Kind::Str(_) => "a string",
            Kind::List(_) => "a list",
            Kind::Map(_) => "a map",
        }
    }
}

/// The documents of a YAML file (a rule file holds one; a correlation
/// bundle several, separated by `---`).
pub fn load(text: &str) -> Result<Vec<Node>, SigmaError> {
    // saphyr's markers count characters; diagnostics need bytes.
    let bytes: Vec<usize> = text
        .char_indices()
        .map(|(b, _)| b)
        .chain(std::iter::once(text.len()))
        .collect();
    let at = |chars: usize| bytes.get(chars).copied().unwrap_or(text.len());
    let docs = MarkedYaml::load_from_str(text).map_err(|e| {
        let start = at(e.marker().index());
        SigmaError::new(
            "glaux::sigma_yaml",
            format!("this is not valid YAML: {}", e.info()),
        )
        .at(start..start, "here")
        .help("check the indentation and the quoting around this point")
    })?;
    docs.iter().map(|d| convert(d, text, &at)).collect()
}

fn convert(
    node: &MarkedYaml<'_>,
    text: &str,
    at: &dyn Fn(usize) -> usize,
) -> Result<Node, SigmaError> {
    let start = at(node.span.start.index());
    let end = at(node.span.end.index()).max(start);
    let span = start..end;
    let kind = match &node.data {
        YamlData::Value(s) => scalar(s, &text[span.clone()]),
        YamlData::Representation(raw, _, _) => Kind::Str(raw.to_string()),
        YamlData::Sequence(items) => Kind::List(
            items
                .iter()
                .map(|i| convert(i, text, at))
                .collect::<Result<_, _>>()?,
        ),
        YamlData::Mapping(entries) => Kind::Map(
            entries
                .iter()
                .map(|(k, v)| Ok((convert(k, text, at)?, convert(v, text, at)?)))
                .collect::<Result<_, SigmaError>>()?,
        ),
        YamlData::Tagged(_, inner) => return convert(inner, text, at),
        YamlData::Alias(_) => {
            return Err(SigmaError::new(
                "glaux::sigma_yaml",
                "YAML aliases (`*name`) are not supported in rules",
            )
            .at(span, "an alias")
            .help("write the value out where it is used"));
        }
        YamlData::BadValue => {
            return Err(
                SigmaError::new("glaux::sigma_yaml", "this YAML value cannot be read")
                    .at(span, "here"),
            );
        }
    };
    Ok(Node { span, kind })
}

fn scalar(s: &Scalar<'_>, source: &str) -> Kind {
    match s {
        Scalar::Null => Kind::Null,
        Scalar::Boolean(b) => Kind::Bool(*b),
        Scalar::Integer(i) => Kind::Number(i.to_string()),
        // As written (`1.50` stays `1.50`), when the span holds it.
        Scalar::FloatingPoint(f) => {
            let written = source.trim();
            if written.parse::<f64>().is_ok() {
                Kind::Number(written.to_string())
            } else {
                Kind::Number(f.to_string())
            }
        }
        Scalar::String(s) => Kind::Str(s.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_keep_byte_spans_and_order() {
        let text = "title: Été\nn: 4624\nf: 1.50\nb: true\nz: ~\nl:\n  - 'a b'\n  - \"c\"\n";
        let doc = &load(text).unwrap()[0];
        let title = doc.get("title").unwrap();
        assert_eq!(&text[title.span.clone()], "Été");
        assert_eq!(doc.get("n").unwrap().kind, Kind::Number("4624".into()));
        assert_eq!(doc.get("f").unwrap().kind, Kind::Number("1.50".into()));
        assert_eq!(doc.get("b").unwrap().kind, Kind::Bool(true));
        assert_eq!(doc.get("z").unwrap().kind, Kind::Null);
        let Kind::List(items) = &doc.get("l").unwrap().kind else {
            panic!()
        };
        assert_eq!(items[0].kind, Kind::Str("a b".into()));
        let Kind::Map(entries) = &doc.kind else {
            panic!()
        };
        let keys: Vec<_> = entries.iter().filter_map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["title", "n", "f", "b", "z", "l"]);
    }

    #[test]
    fn bad_yaml_is_an_error_with_a_place() {
        let err = load("a: [1, 2\nb: c\n").unwrap_err();
        assert_eq!(err.code, "glaux::sigma_yaml");
        assert!(err.span.is_some());
    }
}
