//! Sigma's values: strings with wildcards and escapes, and the value
//! modifiers that change them (`contains`, `base64offset`, `windash`, …).
//! Everything here is about text; [`crate::convert`] makes clauses of it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use glaux_compiler::ast::WildPart;

/// A Sigma string as a pattern: `*` any run, `?` one character; `\*`,
/// `\?` and `\\` are the literal characters, and a backslash before
/// anything else is itself (`C:\Windows` needs no doubling).
pub fn pattern(text: &str) -> Vec<WildPart> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars().peekable();
    let flush = |literal: &mut String, parts: &mut Vec<WildPart>| {
        if !literal.is_empty() {
            parts.push(WildPart::Text(std::mem::take(literal)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    chars.next();
                    literal.push(n);
                }
                _ => literal.push('\\'),
            },
            '*' => {
                flush(&mut literal, &mut parts);
                if parts.last() != Some(&WildPart::Any) {
                    parts.push(WildPart::Any);
                }
            }
            '?' => {
                flush(&mut literal, &mut parts);
                parts.push(WildPart::One);
            }
            c => literal.push(c),
        }
    }
    flush(&mut literal, &mut parts);
    if parts.is_empty() {
        parts.push(WildPart::Text(String::new()));
    }
    parts
}

/// The text of a pattern with no wildcard, or `None`.
pub fn plain(parts: &[WildPart]) -> Option<String> {
    parts
        .iter()
        .map(|p| match p {
            WildPart::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()
        .map(|t| t.concat())
}

/// `contains`, `startswith`, `endswith`: a `*` added where none is.
pub fn around(mut parts: Vec<WildPart>, before: bool, after: bool) -> Vec<WildPart> {
    let empty = |p: &Vec<WildPart>| p == &[WildPart::Text(String::new())];
    if empty(&parts) {
        parts.clear();
    }
    if before && parts.first() != Some(&WildPart::Any) {
        parts.insert(0, WildPart::Any);
    }
    if after && parts.last() != Some(&WildPart::Any) {
        parts.push(WildPart::Any);
    }
    if parts.is_empty() {
        parts.push(WildPart::Text(String::new()));
    }
    parts
}

/// `base64`: the standard base64 of the value's UTF-8 bytes.
pub fn base64(text: &str) -> String {
    STANDARD.encode(text.as_bytes())
}

/// `base64offset`: the three texts that the value's base64 holds
/// wherever it starts in a longer encoded text (at an offset of 0, 1 or
/// 2 bytes modulo 3): each encoding of the value behind 0, 1 or 2 bytes,
/// without the characters those bytes or the unknown next ones touch.
pub fn base64_offsets(text: &str) -> Vec<String> {
    let data = text.as_bytes();
    let starts = [0usize, 2, 3];
    // How many characters at the end depend on bytes after the value.
    let ends = [0usize, 3, 2];
    (0..3)
        .map(|i| {
            let mut shifted = vec![b' '; i];
            shifted.extend_from_slice(data);
            let encoded = STANDARD.encode(&shifted);
            let cut = ends[(data.len() + i) % 3];
            encoded[starts[i]..encoded.len() - cut].to_string()
        })
        .collect()
}

/// The dashes `windash` tries for a `-` or `/` that starts an option.
pub const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// `windash`: every spelling of the value with each option character (a
/// `-` or `/` starting a word: after the start or a non-word character,
/// before a word character) replaced by each of [`DASHES`].
pub fn windash(parts: &[WildPart]) -> Vec<Vec<WildPart>> {
    let mut out = vec![Vec::new()];
    for part in parts {
        let WildPart::Text(t) = part else {
            for v in &mut out {
                v.push(part.clone());
            }
            continue;
        };
        let chars: Vec<char> = t.chars().collect();
        // Each text part's spellings, then the product with the others.
        let mut spellings = vec![String::new()];
        for (i, &c) in chars.iter().enumerate() {
            let word = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric() || *c == '_');
            let option = matches!(c, '-' | '/')
                && !word(i.checked_sub(1).and_then(|j| chars.get(j)))
                && word(chars.get(i + 1));
            spellings = if option {
                spellings
                    .iter()
                    .flat_map(|s| DASHES.iter().map(move |d| format!("{s}{d}")))
                    .collect()
            } else {
                spellings.into_iter().map(|s| s + &c.to_string()).collect()
            };
        }
        out = out
            .iter()
            .flat_map(|v| {
                spellings.iter().map(move |s| {
                    let mut v = v.clone();
                    v.push(WildPart::Text(s.clone()));
                    v
                })
            })
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use WildPart::{Any, One, Text};

    fn t(s: &str) -> WildPart {
        Text(s.to_string())
    }

    #[test]
    fn wildcards_and_escapes_as_the_specification_reads_them() {
        assert_eq!(pattern("S3 Browser"), [t("S3 Browser")]);
        assert_eq!(pattern("*admin?"), [Any, t("admin"), One]);
        assert_eq!(pattern(r"a\*b\?c"), [t("a*b?c")]);
        assert_eq!(pattern(r"C:\Windows\System32"), [t(r"C:\Windows\System32")]);
        assert_eq!(pattern(r"a\\*"), [t(r"a\"), Any]);
        assert_eq!(pattern(r"a\\\*"), [t(r"a\*")]);
        assert_eq!(pattern(r"end\"), [t(r"end\")]);
        assert_eq!(pattern(""), [t("")]);
        assert_eq!(pattern("**"), [Any]);
    }

    #[test]
    fn contains_startswith_endswith_add_one_star() {
        assert_eq!(around(pattern("x"), true, true), [Any, t("x"), Any]);
        assert_eq!(around(pattern("*x"), true, true), [Any, t("x"), Any]);
        assert_eq!(around(pattern("x"), false, true), [t("x"), Any]);
        assert_eq!(around(pattern(""), true, true), [Any]);
    }

    #[test]
    fn base64_offsets_of_known_values() {
        assert_eq!(base64("/bin/bash"), "L2Jpbi9iYXNo");
        assert_eq!(
            base64_offsets("/bin/bash"),
            ["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"]
        );
        assert_eq!(base64_offsets("IEX"), ["SUVY", "lFW", "JRV"]);
    }

    #[test]
    fn windash_spells_every_option_dash() {
        let v = windash(&[t(" -enc a-b")]);
        assert_eq!(v.len(), 5);
        assert!(v.contains(&vec![t(" /enc a-b")]));
        assert!(v.contains(&vec![t(" \u{2014}enc a-b")]));
    }
}
