//! Tab completion: a pure function of the line, the cursor and what the
//! store knows (the field catalog: names, counts, example values), so it is
//! tested without a terminal.
//!
//! - `\` at the start of a line: backslash commands, then their arguments
//!   (`\format v` → `vertical`, `\engine a` → `athena`, `\fields ev` → field
//!   names, `\run ` → saved searches, `\help ` → topics).
//! - In a query: field names as `field:` (with how many records have them),
//!   `AND`/`OR`/`NOT`, `_exists_:`, `@time`, `tag:`; after `field:`, that
//!   field's example values, quoted when they need it.
//! - After the search's `|`: stage names, aggregate names and `by` in
//!   `stats`/`timechart`, field names where a stage takes a field.

use glaux_store::catalog::FieldCatalog;

/// One completion: what the list shows, and what replaces the word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub display: String,
    pub replacement: String,
}

/// What completion draws on besides the line.
#[derive(Debug, Default, Clone, Copy)]
pub struct Vocabulary<'a> {
    pub catalog: Option<&'a FieldCatalog>,
    /// Names of saved searches, for `\run` and `\save`.
    pub saved: &'a [String],
}

/// Backslash commands, as completion offers them.
pub const COMMAND_NAMES: &[&str] = &[
    "\\help",
    "\\quit",
    "\\explain",
    "\\since",
    "\\from",
    "\\to",
    "\\window",
    "\\limit",
    "\\format",
    "\\sql",
    "\\engine",
    "\\fields",
    "\\summary",
    "\\timing",
    "\\save",
    "\\run",
    "\\saved",
    "\\jq",
    "\\export",
    "\\refresh",
];

/// Topics of `\help TOPIC`.
pub const HELP_TOPICS: &[&str] = &[
    "commands",
    "syntax",
    "fields",
    "ranges",
    "time",
    "regex",
    "wildcards",
    "stages",
    "examples",
];

fn argument_words(command: &str) -> &'static [&'static str] {
    match command {
        "\\format" => &["table", "vertical", "json", "ndjson", "csv"],
        "\\engine" => &["local", "athena"],
        "\\sql" | "\\timing" => &["on", "off"],
        "\\window" => &["reset"],
        "\\to" => &["now"],
        "\\help" => HELP_TOPICS,
        _ => &[],
    }
}

/// Completes `line` at byte offset `pos`: where the replaced word starts,
/// and the candidates.
pub fn complete(line: &str, pos: usize, vocab: Vocabulary<'_>) -> (usize, Vec<Candidate>) {
    let pos = floor_char_boundary(line, pos);
    let before = &line[..pos];
    let trimmed = before.trim_start();
    if trimmed.starts_with('\\') {
        let offset = before.len() - trimmed.len();
        return complete_command(trimmed, offset, vocab);
    }
    match glaux_compiler::parser::stages_start(before) {
        Some(pipe) => complete_stage(before, pipe, vocab),
        None => complete_query(before, 0, vocab),
    }
}

/// After the search's `|`: stage names at the start of a stage, then what
/// the stage takes: aggregate names (and `by`) in `stats` and `timechart`,
/// fields after `by`, inside an aggregate's parentheses and in `top`,
/// `rare`, `fields` and `dedup`.
fn complete_stage(text: &str, pipe: usize, vocab: Vocabulary<'_>) -> (usize, Vec<Candidate>) {
    use glaux_compiler::ast::{AggFunc, STAGE_NAMES};
    // The stage being typed: after the last `|` outside quotes.
    let mut at = pipe + 1;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text[pipe + 1..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            '|' if !quoted => at = pipe + 1 + i + 1,
            _ => {}
        }
    }
    let stage = &text[at..];
    let start = stage
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace() || matches!(c, '(' | ',' | '-'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let (head, word) = stage.split_at(start);
    let offset = at + start;
    let words: Vec<&str> = head
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let starts = |name: &str| name.starts_with(&word.to_lowercase()) && name != word;
    let Some(name) = words.first().map(|w| w.to_lowercase()) else {
        let found = STAGE_NAMES
            .iter()
            .filter(|n| starts(n))
            .map(|n| Candidate {
                display: n.to_string(),
                replacement: format!("{n} "),
            })
            .collect();
        return (offset, found);
    };
    let in_call = head.ends_with('(');
    let after_by = words.iter().any(|w| w.eq_ignore_ascii_case("by"));
    let fields = match name.as_str() {
        "stats" | "timechart" => in_call || after_by,
        "top" | "rare" | "fields" | "dedup" => true,
        _ => false,
    };
    if fields {
        return (offset, field_candidates(word, vocab.catalog, false));
    }
    let mut found = Vec::new();
    if matches!(name.as_str(), "stats" | "timechart") {
        for f in AggFunc::ALL {
            let call = match f {
                AggFunc::Count => "count()".to_string(),
                _ => format!("{}(", f.name()),
            };
            if starts(f.name()) {
                found.push(Candidate {
                    display: call.clone(),
                    replacement: call,
                });
            }
        }
        if !word.is_empty() && starts("by") && words.len() > 1 {
            found.push(Candidate {
                display: "by".into(),
                replacement: "by ".into(),
            });
        }
    }
    (offset, found)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn complete_command(text: &str, offset: usize, vocab: Vocabulary<'_>) -> (usize, Vec<Candidate>) {
    let Some(space) = text.find(char::is_whitespace) else {
        let found = COMMAND_NAMES
            .iter()
            .filter(|c| c.starts_with(text))
            .map(|c| Candidate {
                display: c.to_string(),
                replacement: format!("{c} "),
            })
            .collect();
        return (offset, found);
    };
    let command = &text[..space];
    let rest_start = space + text[space..].len() - text[space..].trim_start().len();
    let rest = &text[rest_start..];
    let start = offset + rest_start;
    match command {
        // The argument of \explain is a query.
        "\\explain" => complete_query(rest, start, vocab),
        "\\fields" => (start, field_candidates(rest, vocab.catalog, false)),
        // Fields, separated by spaces or commas: the last one.
        "\\summary" => {
            let at = rest
                .rfind(|c: char| c == ',' || c.is_whitespace())
                .map_or(0, |i| {
                    i + rest[i..].chars().next().map_or(1, char::len_utf8)
                });
            (
                start + at,
                field_candidates(&rest[at..], vocab.catalog, false),
            )
        }
        "\\run" | "\\save" => (
            start,
            vocab
                .saved
                .iter()
                .filter(|n| n.starts_with(rest))
                .map(|n| Candidate {
                    display: n.clone(),
                    replacement: n.clone(),
                })
                .collect(),
        ),
        _ => (
            start,
            argument_words(command)
                .iter()
                .filter(|w| w.starts_with(rest))
                .map(|w| Candidate {
                    display: w.to_string(),
                    replacement: w.to_string(),
                })
                .collect(),
        ),
    }
}

/// Where the word under the cursor starts, as the compiler's lexer reads
/// the line: a value from its `field:`, after whitespace, a parenthesis, or
/// a leading `+`, `-`, `!`.
fn word_start(text: &str) -> usize {
    glaux_compiler::lex::lex(text).last_word_start(text)
}

fn complete_query(text: &str, offset: usize, vocab: Vocabulary<'_>) -> (usize, Vec<Candidate>) {
    let start = word_start(text);
    let word = &text[start..];
    if let Some(colon) = word.find(':') {
        let field = &word[..colon];
        let typed = word[colon + 1..].trim_start_matches('"');
        let value_start = offset + start + colon + 1;
        let Some(catalog) = vocab.catalog else {
            return (value_start, Vec::new());
        };
        let typed_lower = typed.to_lowercase();
        let found = catalog
            .examples_of(field)
            .into_iter()
            .filter(|(v, _)| v.to_lowercase().starts_with(&typed_lower))
            .map(|(v, n)| Candidate {
                display: format!("{v}  ({n})"),
                replacement: quote_value(v),
            })
            .collect();
        return (value_start, found);
    }
    let mut found = field_candidates(word, vocab.catalog, true);
    if !word.is_empty() {
        for kw in ["AND", "OR", "NOT"] {
            if kw.starts_with(word) && kw != word {
                found.push(Candidate {
                    display: kw.to_string(),
                    replacement: format!("{kw} "),
                });
            }
        }
    }
    for special in ["_exists_:", "@time", "tag:"] {
        if !word.is_empty() && special.starts_with(word) && special != word {
            found.push(Candidate {
                display: special.to_string(),
                replacement: special.to_string(),
            });
        }
    }
    (offset + start, found)
}

/// Fields whose name starts with `typed` (case-insensitive), with counts.
fn field_candidates(typed: &str, catalog: Option<&FieldCatalog>, colon: bool) -> Vec<Candidate> {
    let Some(catalog) = catalog else {
        return Vec::new();
    };
    let typed = typed.to_lowercase();
    catalog
        .fields
        .iter()
        .filter(|(f, _)| f.to_lowercase().starts_with(&typed))
        .map(|(f, n)| Candidate {
            display: format!("{f}  ({n})"),
            replacement: if colon { format!("{f}:") } else { f.clone() },
        })
        .collect()
}

/// A value as the query language reads it literally: bare when it is plain
/// letters, digits and `.`, `_`, `@`; otherwise quoted, with `"` and `\`
/// escaped (inside quotes nothing else is special).
pub fn quote_value(v: &str) -> String {
    let plain = !v.is_empty()
        && !v.starts_with(['-', '+', '!'])
        && !matches!(v, "AND" | "OR" | "NOT")
        && v.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'));
    if plain {
        v.to_string()
    } else {
        glaux_compiler::ast::quoted(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> FieldCatalog {
        let mut c = FieldCatalog::default();
        for (f, n) in [
            ("eventName", 2920),
            ("eventSource", 2920),
            ("errorCode", 310),
            ("userIdentity.arn", 2900),
        ] {
            c.fields.insert(f.into(), n);
        }
        for (v, n) in [
            ("ConsoleLogin", 12),
            ("AssumeRole", 400),
            ("Get Object", 3),
            ("say \"hi\"", 1),
        ] {
            c.examples
                .entry("eventName".into())
                .or_default()
                .insert(v.into(), n);
        }
        c
    }

    fn run(line: &str) -> (usize, Vec<String>) {
        let c = catalog();
        let saved = vec!["hunt-1".to_string(), "hunt-2".to_string()];
        let (start, found) = complete(
            line,
            line.len(),
            Vocabulary {
                catalog: Some(&c),
                saved: &saved,
            },
        );
        (start, found.into_iter().map(|c| c.replacement).collect())
    }

    #[test]
    fn fields_values_keywords() {
        assert_eq!(
            run("ev"),
            (0, vec!["eventName:".into(), "eventSource:".into()])
        );
        assert_eq!(
            run("10.0.0.1 AND (EVENTs"),
            (14, vec!["eventSource:".into()])
        );
        assert_eq!(run("-err"), (1, vec!["errorCode:".into()]));
        assert_eq!(run("a AN"), (2, vec!["AND ".into()]));
        assert_eq!(run("_ex"), (0, vec!["_exists_:".into()]));
        // Values: most frequent first, quoted when needed.
        assert_eq!(
            run("eventName:"),
            (
                10,
                vec![
                    "AssumeRole".into(),
                    "ConsoleLogin".into(),
                    "\"Get Object\"".into(),
                    "\"say \\\"hi\\\"\"".into()
                ]
            )
        );
        assert_eq!(
            run("x AND eventName:con"),
            (16, vec!["ConsoleLogin".into()])
        );
        assert_eq!(run("eventName:\"get"), (10, vec!["\"Get Object\"".into()]));
        assert!(run("nofield:").1.is_empty());
    }

    /// After the search's `|`: stage names, aggregates, `by`, and fields
    /// where a stage takes one; a `|` inside a phrase or a regex of the
    /// search is not a stage.
    #[test]
    fn stages_aggregates_and_their_fields() {
        assert_eq!(run("* | st"), (4, vec!["stats ".into()]));
        assert_eq!(
            run("a | stats count() | s").1,
            ["stats ", "sort ", "summary "]
        );
        assert_eq!(run("* | stats d"), (10, vec!["dc(".into()]));
        assert_eq!(run("* | stats dc(ev").1, ["eventName", "eventSource"]);
        assert_eq!(run("* | stats count() b").1, ["by "]);
        assert_eq!(run("* | stats count() by user").1, ["userIdentity.arn"]);
        assert_eq!(
            run("* | stats count() by a,ev").1,
            ["eventName", "eventSource"]
        );
        assert_eq!(run("* | top 5 eventS").1, ["eventSource"]);
        assert_eq!(run("* | timechart span=1h c").1, ["count()"]);
        assert_eq!(run("* | dedup user").1, ["userIdentity.arn"]);
        // Still the search: no `|` outside a phrase or regex yet.
        assert_eq!(run("\"a | b\" AND ev").1, ["eventName:", "eventSource:"]);
        assert_eq!(run("/a|b/ AND ev").1, ["eventName:", "eventSource:"]);
    }

    #[test]
    fn commands_and_arguments() {
        assert_eq!(run("\\fo"), (0, vec!["\\format ".into()]));
        assert_eq!(
            run("\\s").1,
            ["\\since ", "\\sql ", "\\summary ", "\\save ", "\\saved "]
        );
        assert_eq!(run("\\format v"), (8, vec!["vertical".into()]));
        assert_eq!(run("\\engine "), (8, vec!["local".into(), "athena".into()]));
        assert_eq!(run("\\fields user"), (8, vec!["userIdentity.arn".into()]));
        assert_eq!(
            run("\\summary eventName, user"),
            (20, vec!["userIdentity.arn".into()])
        );
        assert_eq!(run("\\run h"), (5, vec!["hunt-1".into(), "hunt-2".into()]));
        assert_eq!(run("\\explain a AND ev").1, ["eventName:", "eventSource:"]);
        assert_eq!(run("\\help ra"), (6, vec!["ranges".into()]));
    }

    #[test]
    fn no_catalog_no_panic_any_cursor() {
        for line in ["évent:Ωx AND (b", "é | stats dc(Ω), \"é|\" by ü | wh"] {
            any_cursor(line);
        }
    }

    fn any_cursor(line: &str) {
        for pos in 0..=line.len() + 2 {
            let _ = complete(line, pos, Vocabulary::default());
            let c = catalog();
            let _ = complete(
                line,
                pos,
                Vocabulary {
                    catalog: Some(&c),
                    saved: &[],
                },
            );
        }
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_value("ConsoleLogin"), "ConsoleLogin");
        assert_eq!(quote_value("10.0.0.1"), "10.0.0.1");
        assert_eq!(quote_value("-5"), "\"-5\"");
        assert_eq!(quote_value("OR"), "\"OR\"");
        assert_eq!(quote_value("a*b"), "\"a*b\"");
        assert_eq!(quote_value("C:\\x"), "\"C:\\\\x\"");
    }
}
