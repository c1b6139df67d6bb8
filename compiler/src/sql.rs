//! [`Plan`] → Athena engine v3 (Trino) SQL text.
//!
//! Rules this module keeps (see `docs/architecture.md` and the Athena notes):
//! - Every value from the user reaches SQL only through [`string_literal`]
//!   (`LIKE` patterns are escaped first by [`crate::resolve::like_escape`],
//!   numbers are re-printed from parsed `f64`s); identifiers only through
//!   [`identifier`]. Nothing else formats user text into SQL.
//! - Every table scan carries a plain `dt` range against constants, so Athena
//!   prunes partitions, and an exact `time_ms` range.
//! - The index table is scanned once for the whole query.
//! - The plan summary goes in `--` comment lines at the top; anything from the
//!   user in them is stripped of line breaks by [`comment_text`].
//! - The same text runs on the local engine (DataFusion), so only functions
//!   both engines have are used: `bool_or`, `starts_with`, `lead … OVER`,
//!   `regexp_like`, `lower`, `coalesce`, `LIKE … ESCAPE`, and `DOUBLE`
//!   literals in exponent form.

use std::fmt::Write as _;

use crate::layout::{
    DAY_COLUMN, HOURS_TABLE, INDEX_TABLE, MESSAGE_TABLE, PARTITION_COLUMN, columns as c, day_of,
};
use crate::plan::{Formula, Plan, Scan};
use crate::resolve::{Lookup, NumberRange, Pattern, RecordTest};

/// Where the tables are: the database (Athena) or schema (local engine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub database: String,
    /// The token-hours table exists (see [`crate::layout::HOURS_TABLE`]).
    pub hours_table: bool,
}

impl Tables {
    fn hours(&self) -> String {
        format!("{}.{}", identifier(&self.database), identifier(HOURS_TABLE))
    }
    fn index(&self) -> String {
        format!("{}.{}", identifier(&self.database), identifier(INDEX_TABLE))
    }
    pub(crate) fn messages(&self) -> String {
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

/// What the header comment says about the query besides the plan.
#[derive(Debug, Clone, Default)]
pub struct Header {
    /// The canonical text of the query.
    pub query: String,
    /// The filter before and after the optimizer.
    pub before: String,
    pub after: String,
}

/// A number as a SQL `DOUBLE` literal (`1e3`, `-2.5e-1`): the same type on
/// Trino and DataFusion. Numbers come from parsed `f64`s, never user text.
fn double_literal(x: f64) -> String {
    format!("{x:e}")
}

/// Writes an index-row column, qualified by `alias` when there is one.
fn col(alias: &str, name: &str) -> String {
    if alias.is_empty() {
        identifier(name)
    } else {
        format!("{alias}.{}", identifier(name))
    }
}

/// The result order, newest first, ties broken by object and seq: written
/// once because the index-side limit must pick exactly the records the
/// outer `LIMIT` keeps.
fn newest_first(alias: &str) -> String {
    format!(
        "{} DESC, {}, {}",
        col(alias, c::TIME_MS),
        col(alias, c::OBJECT),
        col(alias, c::SEQ)
    )
}

/// The `dt` range and exact `time_ms` range of the window, on `alias`'s columns.
fn window_range(plan: &Plan, alias: &str, indent: &str) -> String {
    let (Some(w), Some(p)) = (&plan.window, &plan.partitions) else {
        unreachable!("only plans that run have a window");
    };
    format!(
        "{dt} >= {first} AND {dt} <= {last}\n{indent}AND {t} >= {start} AND {t} < {end}",
        dt = col(alias, PARTITION_COLUMN),
        first = string_literal(&p.first),
        last = string_literal(&p.last),
        t = col(alias, c::TIME_MS),
        start = w.start_ms(),
        end = w.end_ms(),
    )
}

/// True if the row condition of `lookup` can be NULL: it reads a nullable
/// column (`num`, `ip`, or the `lead` of a record's last rows). Its
/// aggregate is then wrapped in `coalesce(…, false)`, so "unknown" is a
/// miss and `NOT` of a lookup that no row matched is true, as it must be.
fn may_be_null(lookup: &Lookup) -> bool {
    match &lookup.pattern {
        Pattern::Tokens(t) => t.len() > 1,
        Pattern::Number(_) | Pattern::Ip(_) => true,
        Pattern::Like(_) | Pattern::Regex(_) | Pattern::Exists => false,
    }
}

/// The condition on one index row for `lookup`.
fn lookup_condition(lookup: &Lookup) -> String {
    let token = identifier(c::TOKEN);
    let field = identifier(c::FIELD);
    let mut parts = Vec::new();
    match (&lookup.field, &lookup.pattern) {
        (Some(f), Pattern::Exists) => parts.push(format!(
            "({field} = {} OR starts_with({field}, {}))",
            string_literal(f),
            string_literal(&format!("{f}."))
        )),
        (Some(f), _) => parts.push(format!("{field} = {}", string_literal(f))),
        (None, _) => {}
    }
    match &lookup.pattern {
        Pattern::Tokens(tokens) => {
            parts.push(format!("{token} = {}", string_literal(&tokens[0])));
            for (k, t) in tokens.iter().enumerate().skip(1) {
                parts.push(format!(
                    "\"next_token_{k}\" = {} AND \"next_pos_{k}\" = {} + {k}",
                    string_literal(t),
                    identifier(c::POS)
                ));
            }
        }
        Pattern::Like(p) => parts.push(format!("{token} LIKE {} ESCAPE '\\'", string_literal(p))),
        // The empty token stands for a value without tokens; a regex that
        // matches the empty string must not see it.
        Pattern::Regex(r) => parts.push(format!(
            "regexp_like({token}, {}) AND {token} <> ''",
            string_literal(r)
        )),
        Pattern::Number(r) => parts.push(number_condition(r)),
        Pattern::Ip(cidr) => {
            let (lo, hi) = cidr.key_range();
            let ip = identifier(c::IP);
            parts.push(format!(
                "{ip} >= {} AND {ip} <= {}",
                string_literal(&lo),
                string_literal(&hi)
            ));
        }
        Pattern::Exists => {}
    }
    parts.join(" AND ")
}

fn number_condition(r: &NumberRange) -> String {
    let num = identifier(c::NUM);
    let mut parts = Vec::new();
    match r.lower {
        Some((x, true)) => parts.push(format!("{num} >= {}", double_literal(x))),
        Some((x, false)) => parts.push(format!("{num} > {}", double_literal(x))),
        None => {}
    }
    match r.upper {
        Some((x, true)) => parts.push(format!("{num} <= {}", double_literal(x))),
        Some((x, false)) => parts.push(format!("{num} < {}", double_literal(x))),
        None => {}
    }
    if parts.is_empty() {
        parts.push(format!("{num} IS NOT NULL"));
    }
    parts.join(" AND ")
}

/// `AND "dt" IN (…)`: a walk's batch of listed hours as literals, or (the
/// window's hours) the hours the token-hours table lists for the
/// lookups' tokens ([`prefilter`], the index scan's own condition on them),
/// when it can narrow this search ([`Plan::narrows_hours`]); or a walk's
/// batch of the window's hours as a range of them.
/// Both engines run the subquery first and skip the index partitions it
/// does not name (DataFusion: the join's dynamic filter on the partition
/// column; Trino: dynamic partition pruning), so a rare term over a month
/// opens a day file per day and its few hours, not every hour's index file.
fn hours_filter(
    plan: &Plan,
    tables: &Tables,
    prefilter: &[String],
    hours: Hours<'_>,
    indent: &str,
) -> String {
    let dt = identifier(PARTITION_COLUMN);
    match hours {
        Hours::Listed(list) => {
            let list: Vec<String> = list.iter().map(|h| string_literal(h)).collect();
            format!("\n{indent}AND {dt} IN ({})", list.join(", "))
        }
        Hours::Placeholder => format!("\n{indent}AND {dt} IN (<the batch's hours>)"),
        Hours::Between { oldest, newest } => format!(
            "\n{indent}AND {dt} >= {} AND {dt} <= {}",
            string_literal(oldest),
            string_literal(newest)
        ),
        Hours::BetweenPlaceholder => {
            format!("\n{indent}AND {dt} >= <the batch's oldest hour> AND {dt} <= <its newest hour>")
        }
        Hours::Window if reads_hours(plan, tables) => format!(
            "\n{indent}AND {dt} IN (\n{indent}  {}\n{indent})",
            hours_query(plan, tables, prefilter, false, &format!("{indent}  ")),
        ),
        Hours::Window => String::new(),
    }
}

/// True if the hours statement lists only the hours holding every token
/// a match needs ([`Plan::required_tokens`]): one lookup per token, their
/// hours intersected.
fn hours_hold_every_token(plan: &Plan) -> bool {
    plan.required_tokens().len() >= 2
}

/// `SELECT "dt" FROM token_hours WHERE …`: the hours of the window that
/// the token-hours table lists for the [`prefilter`]'s tokens (for all the
/// required tokens, when [`hours_hold_every_token`]), on lines indented
/// by `indent` after the first. `listing` (a walk's first statement, not
/// a subquery): each hour once, and where the table can answer the search
/// ([`Plan::hours_name_records`]) the least and greatest record its rows
/// name and how many name none (the record is the hour's match only when
/// every row names the same one).
fn hours_query(
    plan: &Plan,
    tables: &Tables,
    prefilter: &[String],
    listing: bool,
    indent: &str,
) -> String {
    let Some(p) = &plan.partitions else {
        unreachable!("only plans that run have a window");
    };
    let dt = identifier(PARTITION_COLUMN);
    let day = identifier(DAY_COLUMN);
    let token = identifier(c::TOKEN);
    let scan = |select: &str, condition: &str| {
        format!(
            "SELECT {select} FROM {}\n{indent}WHERE {day} >= {} AND {day} <= {}\n{indent}  AND {dt} >= {} AND {dt} <= {}\n{indent}  AND {condition}",
            tables.hours(),
            string_literal(day_of(&p.first)),
            string_literal(day_of(&p.last)),
            string_literal(&p.first),
            string_literal(&p.last),
        )
    };
    if hours_hold_every_token(plan) {
        // Only the hours holding every token a match needs: `rare AND
        // common` walks the rare term's hours, not every hour of the
        // common one. One lookup per token, as cheap as a term's.
        return plan
            .required_tokens()
            .iter()
            .take(MAX_INTERSECTED)
            .map(|t| scan(&dt, &format!("{token} = {}", string_literal(t))))
            .collect::<Vec<_>>()
            .join(&format!("\n{indent}INTERSECT\n{indent}"));
    }
    let condition = any_of(prefilter, &format!("{indent}    "));
    if listing && plan.hours_name_records() {
        let (object, seq) = (identifier(c::OBJECT), identifier(c::SEQ));
        let select = format!(
            "{dt}, min({object}) AS {object}, min({seq}) AS {seq}, max({object}) AS {}, max({seq}) AS {}, count(*) - count({seq}) AS {}",
            identifier(HOUR_LAST_OBJECT),
            identifier(HOUR_LAST_SEQ),
            identifier(HOUR_UNNAMED),
        );
        format!("{}\n{indent}GROUP BY {dt}", scan(&select, &condition))
    } else if listing {
        scan(&format!("DISTINCT {dt}"), &condition)
    } else {
        scan(&dt, &condition)
    }
}

/// Most tokens whose hours an hours statement intersects: any of the
/// required tokens narrow the hours safely, and a long phrase's every word
/// would be a scan of every day's file each.
const MAX_INTERSECTED: usize = 8;

/// The columns of a walk's hours statement besides `dt` and the least
/// `object` and `seq` its rows name: the greatest, and how many rows name
/// no record. The hour's match is named only when every row names the
/// same one ([`crate::search::Listed::from_rows`]).
pub const HOUR_LAST_OBJECT: &str = "last_object";
pub const HOUR_LAST_SEQ: &str = "last_seq";
pub const HOUR_UNNAMED: &str = "unnamed";

/// Which hours an index scan opens.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Hours<'a> {
    /// The window's; the token-hours subquery narrows them when it can.
    Window,
    /// These (a walk's batch, newest first), as literals.
    Listed(&'a [String]),
    /// A placeholder where a batch's hours go (`--explain`'s template).
    Placeholder,
    /// The window's hours from `oldest` to `newest`, both included (a
    /// batch of a walk over the window, [`Shape::WalkWindow`]): a plain
    /// range, which prunes partitions on both engines whatever its length.
    Between { oldest: &'a str, newest: &'a str },
    /// A placeholder where such a range goes.
    BetweenPlaceholder,
}

/// The parts of the index predicate that keeps only rows some lookup can
/// use (ORed by [`any_of`]): an `IN`
/// list of exact tokens (row groups and pages prune by statistics),
/// `LIKE` patterns (a prefix prunes as a range), and the conditions of
/// regex, range, CIDR and presence lookups.
fn prefilter(plan: &Plan) -> Vec<String> {
    let token = identifier(c::TOKEN);
    let mut parts: Vec<String> = Vec::new();
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
    for l in &plan.lookups {
        let cond = match &l.pattern {
            Pattern::Tokens(_) => continue,
            Pattern::Like(_) | Pattern::Regex(_) => lookup_condition(&Lookup {
                field: None,
                pattern: l.pattern.clone(),
            }),
            _ => lookup_condition(l),
        };
        let cond = if cond.contains(" AND ") {
            format!("({cond})")
        } else {
            cond
        };
        if !parts.contains(&cond) {
            parts.push(cond);
        }
    }
    parts
}

/// The [`prefilter`] conditions as one: ORed, a part per line at `indent`.
fn any_of(parts: &[String], indent: &str) -> String {
    match parts {
        [one] => one.clone(),
        _ => format!("({})", parts.join(&format!("\n{indent}OR "))),
    }
}

/// True if the index scan reads the token-hours table first.
fn reads_hours(plan: &Plan, tables: &Tables) -> bool {
    tables.hours_table && plan.narrows_hours()
}

fn record_condition(test: &RecordTest) -> String {
    let time = col("m", c::TIME_MS);
    let tag = format!("lower({})", col("m", c::TAG));
    match test {
        RecordTest::Time { start_ms, end_ms } => {
            let mut parts = Vec::new();
            if let Some(s) = start_ms {
                parts.push(format!("{time} >= {s}"));
            }
            if let Some(e) = end_ms {
                parts.push(format!("{time} < {e}"));
            }
            if parts.is_empty() {
                "true".to_string()
            } else {
                format!("({})", parts.join(" AND "))
            }
        }
        RecordTest::Tag(t) => format!("{tag} = {}", string_literal(t)),
        RecordTest::TagLike(p) => format!("{tag} LIKE {} ESCAPE '\\'", string_literal(p)),
    }
}

/// Renders the plan's first statement (no trailing `;`). A plan that
/// runs nothing renders as its header comment alone. A plan that
/// [fetches by keys](Plan::fetches_by_keys) starts with the hours
/// statement of a walk, or the find, which returns the keys
/// ([`crate::fetch::KEY_COLUMNS`]); [`crate::search`] decides the rest.
pub fn render(plan: &Plan, tables: &Tables, header: &Header) -> String {
    let mut sql = String::new();
    write_header(&mut sql, plan, tables, header);
    match shape(plan, tables) {
        _ if plan.scan == Scan::Nothing => {}
        Shape::WalkListed => {
            let _ = write!(
                sql,
                "{}\nORDER BY {} DESC",
                hours_query(plan, tables, &prefilter(plan), true, ""),
                identifier(PARTITION_COLUMN)
            );
        }
        Shape::FindThenFetch => write_body(
            &mut sql,
            plan,
            tables,
            Hours::Window,
            Body::Keys(plan.keys_wanted()),
        ),
        Shape::WalkWindow => {
            let (Some(w), Some(p)) = (&plan.window, &plan.partitions) else {
                unreachable!("a plan that runs has a window");
            };
            // The walk's first batch (`search::Search::next` walks on from it).
            let first = crate::search::first_window_batch(p.count) as u64;
            let (newest, oldest) = w.batch_back(0, first);
            let hours = Hours::Between {
                oldest: &oldest,
                newest: &newest,
            };
            write_body(
                &mut sql,
                plan,
                tables,
                hours,
                Body::Keys(plan.keys_wanted()),
            );
        }
        Shape::One => write_body(&mut sql, plan, tables, Hours::Window, Body::Records),
    }
    sql
}

/// A find statement of a walk ([`Shape::WalkListed`],
/// [`Shape::WalkWindow`]): the index scan over
/// `hours` only, the newest `limit` keys, under a one-line `comment`.
pub(crate) fn render_find(
    plan: &Plan,
    tables: &Tables,
    hours: Hours<'_>,
    limit: u64,
    comment: &str,
) -> String {
    commented_body(plan, tables, hours, Body::Keys(limit), comment)
}

/// The search as one statement, the index joined to the messages, under a
/// one-line `comment`: what a search that [may join](Plan::may_join) runs
/// instead of the fetch when its finds return more keys than a fetch
/// names. The index-side limit is the search's own ([`Plan::index_limit`]),
/// none for an export.
pub fn render_join(plan: &Plan, tables: &Tables, comment: &str) -> String {
    commented_body(plan, tables, Hours::Window, Body::Records, comment)
}

/// A statement after the first: [`write_body`] under a one-line `comment`
/// instead of the header.
fn commented_body(
    plan: &Plan,
    tables: &Tables,
    hours: Hours<'_>,
    body: Body,
    comment: &str,
) -> String {
    let mut sql = format!("-- {}\n", comment_text(comment));
    write_body(&mut sql, plan, tables, hours, body);
    sql
}

/// What [`write_body`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    /// The keys of the newest `n` matches (a find).
    Keys(u64),
    /// The matching records (the one-statement search, or the join).
    Records,
}

/// How a search runs ([`crate::search`]): decided here once, for the
/// header, the first statement, the later ones and `--explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One statement returns the records.
    One,
    /// A find returns the newest keys; a fetch reads their messages
    /// ([`Plan::fetches_by_keys`]). A window of one hour.
    FindThenFetch,
    /// The token-hours table can narrow the hours: a statement lists
    /// them, and finds walk them newest first before the fetch.
    WalkListed,
    /// A window of several hours the token-hours table cannot narrow (a
    /// range, a CIDR block, a field's presence; or no such table): finds
    /// walk all the window's hours newest first, the first of them this
    /// search's first statement, a batch at a time, and stop at the limit.
    WalkWindow,
}

/// The [`Shape`] of `plan`'s search over `tables`.
pub fn shape(plan: &Plan, tables: &Tables) -> Shape {
    let one_hour = plan.partitions.as_ref().is_none_or(|p| p.count <= 1);
    match (plan.fetches_by_keys(), reads_hours(plan, tables)) {
        (false, _) => Shape::One,
        (true, true) => Shape::WalkListed,
        (true, false) if one_hour => Shape::FindThenFetch,
        (true, false) => Shape::WalkWindow,
    }
}

/// The statement after the header: the one-statement search (or the
/// join), or the find of a search that fetches by keys.
fn write_body(sql: &mut String, plan: &Plan, tables: &Tables, hours: Hours<'_>, body: Body) {
    let key = format!(
        "{}, {}, {}",
        identifier(PARTITION_COLUMN),
        identifier(c::OBJECT),
        identifier(c::SEQ)
    );
    let record = |t: &RecordTest| record_condition(t);
    let needs_flags = plan.scan == Scan::Window || plan.formula.has_record_tests();
    let columns = |alias: &str| {
        [c::TIME_MS, c::TAG, c::OBJECT, c::SEQ, c::MESSAGE]
            .map(|name| col(alias, name))
            .join(", ")
    };
    // Without a limit the message rows are the result, each once (see
    // `once_each`); with one they go through `once_each`'s outer query.
    let distinct = if plan.limit.is_none() {
        "DISTINCT "
    } else {
        ""
    };
    let select = format!("SELECT {distinct}{}", columns("m"));
    // The message rows go to `inner`; the CTEs stay in `sql`.
    let mut inner = String::new();

    if plan.scan == Scan::Messages {
        let _ = write!(inner, "{select}\nFROM {} AS m\n", tables.messages());
        let _ = write!(inner, "WHERE {}", window_range(plan, "m", "  "));
        if plan.formula != Formula::Const(true) {
            let cond = conjunct(&plan.formula, &|_| unreachable!("no lookups"), &record);
            let _ = write!(inner, "\n  AND {cond}");
        }
        inner.push('\n');
    } else {
        sql.push_str("WITH\n");
        let top = match body {
            Body::Keys(n) => Some(n),
            Body::Records => plan.index_limit(),
        };
        let max_phrase = plan.max_phrase();
        let parts = prefilter(plan);
        let pre = any_of(&parts, "        ");
        let scan_from = if max_phrase > 1 {
            // Phrases: each row sees the next looked-up rows of its record in
            // position order; adjacency is `next_pos_k = pos + k`.
            let over = format!("OVER (PARTITION BY {key} ORDER BY {})", identifier(c::POS));
            // Only the columns some lookup reads: Athena bills by column bytes.
            let reads = |p: fn(&Pattern) -> bool| plan.lookups.iter().any(|l| p(&l.pattern));
            let mut names = Vec::new();
            if plan.lookups.iter().any(|l| l.field.is_some()) {
                names.push(c::FIELD);
            }
            names.extend([c::TOKEN, c::POS]);
            if reads(|p| matches!(p, Pattern::Number(_))) {
                names.push(c::NUM);
            }
            if reads(|p| matches!(p, Pattern::Ip(_))) {
                names.push(c::IP);
            }
            if top.is_some() {
                names.push(c::TIME_MS);
            }
            let mut cols = vec![format!(
                "{key}, {}",
                names
                    .iter()
                    .map(|n| identifier(n))
                    .collect::<Vec<_>>()
                    .join(", ")
            )];
            for k in 1..max_phrase {
                cols.push(format!(
                    "lead({}, {k}) {over} AS \"next_token_{k}\"",
                    identifier(c::TOKEN)
                ));
                cols.push(format!(
                    "lead({}, {k}) {over} AS \"next_pos_{k}\"",
                    identifier(c::POS)
                ));
            }
            // The window reads each index row once: while compaction on S3
            // leaves a record's rows in two files, a doubled row would put
            // a copy of `pos + 1` where `pos + 2` belongs, and a phrase of
            // three words or more would not match (`once_each`).
            let _ = write!(
                sql,
                "  \"rows\" AS (\n    SELECT {}\n    FROM (\n      SELECT DISTINCT {}\n      FROM {}\n      WHERE {}\n        AND {}{}\n    ) AS \"i\"\n  ),\n",
                cols.join(",\n      "),
                cols[0],
                tables.index(),
                window_range(plan, "", "        "),
                any_of(&parts, "          "),
                hours_filter(plan, tables, &parts, hours, "        ")
            );
            "\"rows\"".to_string()
        } else {
            format!(
                "{}\n    WHERE {}\n      AND {}{}",
                tables.index(),
                window_range(plan, "", "      "),
                pre,
                hours_filter(plan, tables, &parts, hours, "      ")
            )
        };
        let agg = |id: usize| {
            let lookup = &plan.lookups[id];
            let cond = lookup_condition(lookup);
            if may_be_null(lookup) {
                format!("coalesce(bool_or({cond}), false)")
            } else {
                format!("bool_or({cond})")
            }
        };
        let mut select_cols = vec![key.clone()];
        if top.is_some() {
            // One value per record (every index row carries its record's
            // time); max() only names it through the GROUP BY.
            let time = identifier(c::TIME_MS);
            select_cols.push(format!("max({time}) AS {time}"));
        }
        if needs_flags {
            for id in 0..plan.lookups.len() {
                select_cols.push(format!("{} AS \"l{id}\"", agg(id)));
            }
        }
        let _ = write!(
            sql,
            "  \"hits\" AS (\n    SELECT {}\n    FROM {scan_from}\n    GROUP BY {key}\n",
            select_cols.join(",\n      ")
        );
        if plan.scan == Scan::Hits {
            let having = plan.formula.relaxed();
            if having != Formula::Const(true) {
                let _ = writeln!(
                    sql,
                    "    HAVING {}",
                    formula_sql(&having, &agg, &|_| unreachable!("relaxed"), "      ")
                );
            }
        }
        let mut join_on =
            "m.\"dt\" = h.\"dt\" AND m.\"object\" = h.\"object\" AND m.\"seq\" = h.\"seq\""
                .to_string();
        if let Some(limit) = top {
            // The same order as the outer query, so the index picks exactly
            // the records the outer LIMIT would keep.
            let _ = write!(
                sql,
                "    ORDER BY {}\n    LIMIT {limit}\n",
                newest_first("")
            );
            // Redundant for the result, but it gives the engines the hits'
            // time bounds to prune message row groups by statistics too.
            join_on.push_str("\n  AND m.\"time_ms\" = h.\"time_ms\"");
        }
        sql.push_str("  )\n");
        if matches!(body, Body::Keys(_)) {
            // Step 1 of 2: the keys alone; `crate::fetch` writes step 2.
            let _ = write!(
                sql,
                "SELECT {}\nFROM \"hits\"",
                crate::fetch::KEY_COLUMNS.map(identifier).join(", ")
            );
            return;
        }
        let _ = write!(inner, "{select}\nFROM {} AS m\n", tables.messages());
        let join = if plan.scan == Scan::Window {
            "LEFT JOIN"
        } else {
            "JOIN"
        };
        let _ = writeln!(inner, "{join} \"hits\" AS h ON {join_on}");
        let _ = write!(inner, "WHERE {}", window_range(plan, "m", "  "));
        if needs_flags {
            let flag = |id: usize| {
                if plan.scan == Scan::Window {
                    format!("coalesce(h.\"l{id}\", false)")
                } else {
                    format!("h.\"l{id}\"")
                }
            };
            let cond = conjunct(&plan.formula, &flag, &record);
            let _ = write!(inner, "\n  AND {cond}");
        }
        inner.push('\n');
    }
    once_each(sql, &inner, plan.limit, &columns("r"));
}

/// Appends the result query: the message rows of `inner` (a `SELECT … FROM
/// messages AS m …` without order or limit), newest first, each record
/// once.
///
/// A record is in the message table once, except while `glaux compact`
/// rewrites its partition on S3: there the merged file is written before
/// the small files are deleted (S3 cannot swap a set of files), so a reader
/// may list both copies, byte-identical rows, never more than two
/// (docs/storage.md, "Compaction on S3"). Hence the newest `2 × limit` rows
/// hold the newest `limit` records, and `DISTINCT` over those few rows
/// drops the copies. Without a limit, `inner` selects `DISTINCT` itself.
fn once_each(sql: &mut String, inner: &str, limit: Option<u64>, columns: &str) {
    let order = newest_first("m");
    match limit {
        Some(limit) => {
            let _ = writeln!(sql, "SELECT DISTINCT {columns}\nFROM (");
            for line in inner.lines() {
                let _ = writeln!(sql, "  {line}");
            }
            let _ = write!(
                sql,
                "  ORDER BY {order}\n  LIMIT {}\n) AS r\nORDER BY {}\nLIMIT {limit}",
                limit.saturating_mul(2),
                newest_first("r")
            );
        }
        None => {
            let _ = write!(sql, "{inner}ORDER BY {order}");
        }
    }
}

/// The formula as a condition that follows `AND`: a top-level `OR` needs
/// parentheses (SQL's `AND` binds tighter).
fn conjunct(
    formula: &Formula,
    leaf: &dyn Fn(usize) -> String,
    record: &dyn Fn(&RecordTest) -> String,
) -> String {
    let cond = formula_sql(formula, leaf, record, "  ");
    if matches!(formula, Formula::Or(_)) {
        format!("({cond})")
    } else {
        cond
    }
}

fn formula_sql(
    formula: &Formula,
    leaf: &dyn Fn(usize) -> String,
    record: &dyn Fn(&RecordTest) -> String,
    indent: &str,
) -> String {
    fn go(
        f: &Formula,
        leaf: &dyn Fn(usize) -> String,
        record: &dyn Fn(&RecordTest) -> String,
        top: Option<&str>,
    ) -> String {
        match f {
            Formula::Lookup(id) => leaf(*id),
            Formula::Record(t) => record(t),
            Formula::Const(b) => b.to_string(),
            Formula::Not(inner) => format!("NOT {}", go(inner, leaf, record, None)),
            Formula::And(fs) | Formula::Or(fs) => {
                let op = if matches!(f, Formula::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                let parts: Vec<String> = fs.iter().map(|x| go(x, leaf, record, None)).collect();
                if let Some(indent) = top {
                    // One clause per line at the top, where formulas get long.
                    parts.join(&format!("\n{indent}{}", op.trim_start()))
                } else {
                    format!("({})", parts.join(op))
                }
            }
        }
    }
    go(formula, leaf, record, Some(indent))
}

fn write_header(sql: &mut String, plan: &Plan, tables: &Tables, header: &Header) {
    let _ = writeln!(sql, "-- glaux query: {}", comment_text(&header.query));
    let _ = writeln!(sql, "-- resolved: {}", comment_text(&header.before));
    let _ = writeln!(sql, "-- optimized: {}", comment_text(&header.after));
    if plan.scan == Scan::Nothing {
        let _ = writeln!(
            sql,
            "-- nothing to run: no record can match (a contradiction or an empty time range)"
        );
        return;
    }
    let (Some(window), Some(partitions)) = (&plan.window, &plan.partitions) else {
        unreachable!("a plan that runs has a window");
    };
    let _ = writeln!(sql, "-- window: {}", comment_text(&window.to_string()));
    let _ = writeln!(
        sql,
        "-- partitions: dt {} .. {} ({} hour{})",
        partitions.first,
        partitions.last,
        partitions.count,
        if partitions.count == 1 { "" } else { "s" }
    );
    let lookups: Vec<String> = plan
        .lookups
        .iter()
        .map(|a| comment_text(&a.to_string()))
        .collect();
    if lookups.is_empty() {
        let _ = writeln!(sql, "-- index lookups: none");
    } else {
        let _ = writeln!(sql, "-- index lookups: {}", lookups.join(", "));
        if reads_hours(plan, tables) {
            let _ = writeln!(
                sql,
                "-- hours: only those the token-hours table lists for {}",
                if hours_hold_every_token(plan) {
                    "all the tokens every match holds"
                } else {
                    "these tokens"
                }
            );
        }
    }
    match plan.scan {
        Scan::Window => {
            let _ = writeln!(
                sql,
                "-- note: the query matches records with none of these lookups, so every message in the window is read"
            );
        }
        Scan::Messages => {
            let _ = writeln!(
                sql,
                "-- note: nothing to look up in the index, so every message in the window is read"
            );
        }
        _ => {}
    }
    if plan.scans_all_tokens() {
        let _ = writeln!(
            sql,
            "-- cost: a leading wildcard or a regex reads every token of the window's index (no row-group pruning)"
        );
    }
    let _ = writeln!(
        sql,
        "-- limit: {}",
        plan.limit
            .map_or("none".to_string(), |l| format!("{l} newest records"))
    );
    if let Some(steps) = steps(plan, tables) {
        let _ = writeln!(sql, "-- steps: {steps}");
    }
    let _ = writeln!(
        sql,
        "-- copies: each record once, also while compaction on S3 leaves it in two files"
    );
}

/// The header's `steps` line: what runs after the first statement, for a
/// search of several ([`Shape`]).
fn steps(plan: &Plan, tables: &Tables) -> Option<String> {
    let max = plan.max_keys;
    let limited = !plan.may_join();
    let until = if limited {
        "until the limit is reached".to_string()
    } else {
        format!("until every match is found or more than {max} are")
    };
    let (fetch, step) = match shape(plan, tables) {
        Shape::One => return None,
        Shape::WalkListed if plan.hours_name_records() => (
            format!(
                "1. this statement lists those hours, each with the one record holding the tokens there when the table names it; 2. newest hours first, {until}: an hour whose record is listed gives it without a search, and from an hour without one the index is searched, a batch of hours at a time; 3. only those records' messages are read, by key"
            ),
            3,
        ),
        Shape::WalkListed => (
            format!(
                "1. this statement lists those hours; 2. the index is searched newest hours first, a batch at a time, {until}; 3. only those records' messages are read, by key"
            ),
            3,
        ),
        Shape::WalkWindow => (
            format!(
                "1. this statement searches the index in the window's newest hour; 2. then in older hours, a batch at a time, {until}; 3. only those records' messages are read, by key"
            ),
            3,
        ),
        Shape::FindThenFetch if limited => (
            "1. this statement finds the newest records' keys in the index; 2. only their messages are read, by key".to_string(),
            2,
        ),
        Shape::FindThenFetch => (
            format!(
                "1. this statement finds the matches' keys in the index, up to {}; 2. only their messages are read, by key",
                plan.keys_wanted()
            ),
            2,
        ),
    };
    if limited {
        return Some(fetch);
    }
    Some(format!(
        "{fetch}; past {max} matches, step {step} is instead one statement joining the index to the window's messages, which can read every message of the window"
    ))
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
        let like = |t: &str| string_literal(&crate::resolve::like_escape(t));
        assert_eq!(like("a_b%c\\"), "'a\\_b\\%c\\\\'");
        assert_eq!(like("o'k"), "'o''k'");
    }

    #[test]
    fn doubles_are_exponent_literals() {
        assert_eq!(double_literal(1000.0), "1e3");
        assert_eq!(double_literal(-0.25), "-2.5e-1");
        assert_eq!(double_literal(0.0), "0e0");
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
