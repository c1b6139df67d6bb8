//! [`Plan`] → Athena engine v3 (Trino) SQL text.
//!
//! Rules this module keeps (see `docs/architecture.md` and the Athena notes):
//! - Every value from the user reaches SQL only through [`string_literal`]
//!   (or [`like_prefix`], which calls it); identifiers only through
//!   [`identifier`]. Nothing else formats user text into SQL.
//! - Every table scan carries a plain `dt` range against constants, so Athena
//!   prunes partitions, and an exact `time_ms` range.
//! - The index table is scanned once for the whole query.
//! - The plan summary goes in `--` comment lines at the top; anything from the
//!   user in them is stripped of line breaks by [`comment_text`].
//! - The same text runs on the local engine (DataFusion), so only functions
//!   both engines have are used: `bool_or`, `starts_with`, `count(DISTINCT)`,
//!   `max`, `coalesce`, `LIKE … ESCAPE`.

use std::fmt::Write as _;

use crate::layout::{INDEX_TABLE, MESSAGE_TABLE, PARTITION_COLUMN, columns as c};
use crate::plan::{Formula, MessageScan, Plan};
use crate::resolve::{Atom, Pattern};

/// Where the tables are: the database (Athena) or schema (local engine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub database: String,
}

impl Tables {
    fn index(&self) -> String {
        format!("{}.{}", identifier(&self.database), identifier(INDEX_TABLE))
    }
    fn messages(&self) -> String {
        format!(
            "{}.{}",
            identifier(&self.database),
            identifier(MESSAGE_TABLE)
        )
    }
}

/// A Trino string literal: `'` doubled, nothing else is special.
pub fn string_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for ch in value.chars() {
        if ch == '\'' {
            out.push('\'');
        }
        out.push(ch);
    }
    out.push('\'');
    out
}

/// A quoted identifier: `"` doubled inside.
pub fn identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `LIKE` operand matching strings that start with `prefix`: `\`, `%`, `_`
/// escaped with `\`, used with `ESCAPE '\'`.
pub fn like_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for ch in prefix.chars() {
        if matches!(ch, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    string_literal(&pattern)
}

/// Text safe inside a `--` comment: control characters (line breaks among
/// them) and Unicode line separators are written as `\u{..}` escapes.
pub fn comment_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if ch.is_control() || matches!(ch, '\u{2028}' | '\u{2029}' | '\u{85}') {
            let _ = write!(out, "\\u{{{:x}}}", ch as u32);
        } else {
            out.push(ch);
        }
    }
    out
}

fn ms(t: i64) -> String {
    t.to_string()
}

/// Renders the plan as one SQL statement (no trailing `;`). `query` is the
/// canonical text of the query, shown in the header comment.
pub fn render(plan: &Plan, tables: &Tables, query: &str) -> String {
    let mut sql = String::new();
    header(&mut sql, plan, query);
    let range = |alias: &str, indent: &str| {
        let p = |col: &str| {
            if alias.is_empty() {
                identifier(col)
            } else {
                format!("{alias}.{}", identifier(col))
            }
        };
        format!(
            "{dt} >= {first} AND {dt} <= {last}\n{indent}AND {t} >= {start} AND {t} < {end}",
            dt = p(PARTITION_COLUMN),
            first = string_literal(&plan.partitions.first),
            last = string_literal(&plan.partitions.last),
            t = p(c::TIME_MS),
            start = ms(plan.window.start_ms()),
            end = ms(plan.window.end_ms()),
        )
    };
    let key = format!(
        "{}, {}, {}",
        identifier(PARTITION_COLUMN),
        identifier(c::OBJECT),
        identifier(c::SEQ)
    );
    let last_cte = match plan.message_scan {
        MessageScan::Hits => "hits",
        MessageScan::Window => "flags",
    };

    sql.push_str("WITH\n");
    if plan.needs_positions() {
        // Phrases: join the index rows to the lookup table, group occurrences
        // by where their phrase would start, and keep complete ones.
        let _ = writeln!(
            sql,
            "  \"lookups\" (\"lookup\", \"field\", \"token\", \"prefix\", \"offset\", \"width\") AS (\n    VALUES"
        );
        let mut rows = Vec::new();
        for (id, atom) in plan.lookups.iter().enumerate() {
            let field = atom
                .field
                .as_deref()
                .map_or("CAST(NULL AS varchar)".to_string(), string_literal);
            match &atom.pattern {
                Pattern::Tokens(tokens) => {
                    for (offset, token) in tokens.iter().enumerate() {
                        rows.push(format!(
                            "      ({id}, {field}, {}, false, {offset}, {})",
                            string_literal(token),
                            tokens.len()
                        ));
                    }
                }
                Pattern::Prefix(p) => {
                    rows.push(format!(
                        "      ({id}, {field}, {}, true, 0, 1)",
                        string_literal(p)
                    ));
                }
            }
        }
        sql.push_str(&rows.join(",\n"));
        sql.push_str("\n  ),\n");
        let token_match = if plan.has_prefixes() {
            "(i.\"token\" = l.\"token\" OR (l.\"prefix\" AND starts_with(i.\"token\", l.\"token\")))"
        } else {
            "i.\"token\" = l.\"token\""
        };
        let _ = write!(
            sql,
            "  \"occurrences\" AS (\n    SELECT i.\"dt\", i.\"object\", i.\"seq\", l.\"lookup\", i.\"field\", i.\"pos\" - l.\"offset\" AS \"start\", l.\"offset\", l.\"width\"\n    FROM {index} AS i\n    JOIN \"lookups\" AS l\n      ON {token_match}\n      AND (l.\"field\" IS NULL OR i.\"field\" = l.\"field\")\n    WHERE {range}\n      AND {token_filter}\n  ),\n",
            index = tables.index(),
            range = range("i", "      "),
            token_filter = token_filter(plan, "i."),
        );
        let _ = write!(
            sql,
            "  \"found\" AS (\n    SELECT \"dt\", \"object\", \"seq\", \"lookup\"\n    FROM \"occurrences\"\n    GROUP BY \"dt\", \"object\", \"seq\", \"lookup\", \"field\", \"start\"\n    HAVING count(DISTINCT \"offset\") = max(\"width\")\n  ),\n"
        );
        let hit = |id: usize| format!("bool_or(\"lookup\" = {id})");
        write_last_cte(&mut sql, plan, last_cte, "\"found\"", &key, &hit);
    } else {
        let hit = |id: usize| format!("bool_or({})", single_token_condition(&plan.lookups[id]));
        let from = format!(
            "{}\n    WHERE {}\n      AND {}",
            tables.index(),
            range("", "      "),
            token_filter(plan, "")
        );
        write_last_cte(&mut sql, plan, last_cte, &from, &key, &hit);
    }

    let select = format!(
        "SELECT m.{}, m.{}, m.{}, m.{}, m.{}",
        identifier(c::TIME_MS),
        identifier(c::TAG),
        identifier(c::OBJECT),
        identifier(c::SEQ),
        identifier(c::MESSAGE)
    );
    let join_on = |alias: &str| {
        format!(
            "m.\"dt\" = {alias}.\"dt\" AND m.\"object\" = {alias}.\"object\" AND m.\"seq\" = {alias}.\"seq\""
        )
    };
    let _ = write!(sql, "{select}\nFROM {} AS m\n", tables.messages());
    match plan.message_scan {
        MessageScan::Hits => {
            let _ = writeln!(sql, "JOIN \"hits\" AS h ON {}", join_on("h"));
            let _ = writeln!(sql, "WHERE {}", range("m", "  "));
        }
        MessageScan::Window => {
            let _ = writeln!(sql, "LEFT JOIN \"flags\" AS f ON {}", join_on("f"));
            let flag = |id: usize| format!("coalesce(f.\"l{id}\", false)");
            let _ = write!(
                sql,
                "WHERE {}\n  AND {}\n",
                range("m", "  "),
                formula_sql(&plan.formula, &flag)
            );
        }
    }
    let _ = write!(
        sql,
        "ORDER BY m.{} DESC, m.{}, m.{}",
        identifier(c::TIME_MS),
        identifier(c::OBJECT),
        identifier(c::SEQ)
    );
    if let Some(limit) = plan.limit {
        let _ = write!(sql, "\nLIMIT {limit}");
    }
    sql
}

/// Writes the CTE that reduces the index rows to one row per record: `hits`
/// (records where the formula holds) or `flags` (which lookups hit, for the
/// left join of a window scan).
fn write_last_cte(
    sql: &mut String,
    plan: &Plan,
    name: &str,
    from: &str,
    key: &str,
    hit: &dyn Fn(usize) -> String,
) {
    match plan.message_scan {
        MessageScan::Hits => {
            let _ = write!(
                sql,
                "  \"{name}\" AS (\n    SELECT {key}\n    FROM {from}\n    GROUP BY {key}\n    HAVING {}\n  )\n",
                formula_sql(&plan.formula, hit)
            );
        }
        MessageScan::Window => {
            let flags: Vec<String> = (0..plan.lookups.len())
                .map(|id| format!("{} AS \"l{id}\"", hit(id)))
                .collect();
            let _ = write!(
                sql,
                "  \"{name}\" AS (\n    SELECT {key}, {}\n    FROM {from}\n    GROUP BY {key}\n  )\n",
                flags.join(", ")
            );
        }
    }
}

/// The index predicate that keeps only rows of looked-up tokens: an `IN` list
/// for exact tokens (row groups prune by statistics and Bloom filter) and a
/// `LIKE 'prefix%'` per prefix (prunes as a range).
fn token_filter(plan: &Plan, alias: &str) -> String {
    let token = format!("{alias}{}", identifier(c::TOKEN));
    let mut parts = Vec::new();
    let exact = plan.exact_tokens();
    match exact.len() {
        0 => {}
        1 => parts.push(format!("{token} = {}", string_literal(exact[0]))),
        _ => parts.push(format!(
            "{token} IN ({})",
            exact
                .iter()
                .map(|t| string_literal(t))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
    for p in plan.prefixes() {
        parts.push(format!("{token} LIKE {} ESCAPE '\\'", like_prefix(p)));
    }
    if parts.len() == 1 {
        parts.pop().expect("one part")
    } else {
        format!("({})", parts.join(" OR "))
    }
}

/// The per-row condition of a single-token or prefix lookup.
fn single_token_condition(atom: &Atom) -> String {
    let token = match &atom.pattern {
        Pattern::Tokens(t) => format!("\"token\" = {}", string_literal(&t[0])),
        Pattern::Prefix(p) => format!("\"token\" LIKE {} ESCAPE '\\'", like_prefix(p)),
    };
    match &atom.field {
        Some(f) => format!("\"field\" = {} AND {token}", string_literal(f)),
        None => token,
    }
}

fn formula_sql(formula: &Formula, leaf: &dyn Fn(usize) -> String) -> String {
    fn go(f: &Formula, leaf: &dyn Fn(usize) -> String, top: bool) -> String {
        match f {
            Formula::Lookup(id) => leaf(*id),
            Formula::Not(inner) => format!("NOT {}", go(inner, leaf, false)),
            Formula::And(fs) | Formula::Or(fs) => {
                let op = if matches!(f, Formula::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                let body = fs
                    .iter()
                    .map(|x| go(x, leaf, false))
                    .collect::<Vec<_>>()
                    .join(op);
                if top { body } else { format!("({body})") }
            }
        }
    }
    go(formula, leaf, true)
}

fn header(sql: &mut String, plan: &Plan, query: &str) {
    let _ = writeln!(sql, "-- glaux query: {}", comment_text(query));
    let _ = writeln!(sql, "-- window: {}", comment_text(&plan.window.to_string()));
    let _ = writeln!(
        sql,
        "-- partitions: dt {} .. {} ({} hour{})",
        plan.partitions.first,
        plan.partitions.last,
        plan.partitions.count,
        if plan.partitions.count == 1 { "" } else { "s" }
    );
    let lookups: Vec<String> = plan
        .lookups
        .iter()
        .map(|a| comment_text(&a.to_string()))
        .collect();
    let _ = writeln!(sql, "-- index lookups: {}", lookups.join(", "));
    if plan.message_scan == MessageScan::Window {
        let _ = writeln!(
            sql,
            "-- note: the query matches records with none of these tokens, so every message in the window is read"
        );
    }
    let _ = writeln!(
        sql,
        "-- limit: {}",
        plan.limit
            .map_or("none".to_string(), |l| format!("{l} newest records"))
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_double_quotes_only() {
        assert_eq!(string_literal("alice"), "'alice'");
        assert_eq!(string_literal("it's"), "'it''s'");
        assert_eq!(string_literal("''"), "''''''");
        assert_eq!(string_literal("a\\b"), "'a\\b'");
        assert_eq!(string_literal("--; DROP"), "'--; DROP'");
        assert_eq!(string_literal("é\n"), "'é\n'");
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_prefix("a_b%c\\"), "'a\\_b\\%c\\\\%'");
        assert_eq!(like_prefix("o'k"), "'o''k%'");
    }

    #[test]
    fn identifiers_double_quotes() {
        assert_eq!(identifier("dt"), "\"dt\"");
        assert_eq!(identifier("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn comments_cannot_be_escaped() {
        assert_eq!(comment_text("a\nDROP"), "a\\u{a}DROP");
        assert_eq!(comment_text("a\r\u{2028}b"), "a\\u{d}\\u{2028}b");
    }
}
