//! [`Plan`] → Athena engine v3 (Trino) SQL: the statements the plan's
//! [`Shape`] names, each built as a tree ([`tree`]) and printed once.
//!
//! This module decides nothing about how a search runs: [`crate::plan`]
//! did, and [`crate::search`] asks for each statement in turn. It keeps
//! these rules (see `docs/architecture.md` and the Athena notes):
//! - Every value from the user reaches SQL only as a [`tree::Expr::Str`],
//!   which prints through [`string_literal`] (`LIKE` patterns are escaped
//!   first by `like_escape`, numbers are re-printed from
//!   parsed `f64`s); identifiers only through [`identifier`]. Nothing else
//!   formats user text into SQL.
//! - Every table scan carries a plain `dt` range against constants, so Athena
//!   prunes partitions, and an exact `time_ms` range.
//! - The index table is scanned once for the whole query.
//! - The plan summary goes in `--` comment lines at the top, which print
//!   through [`comment_text`].
//! - The same text runs on the local engine (DataFusion), so only functions
//!   both engines have are used: `bool_or`, `starts_with`, `lead … OVER`,
//!   `regexp_like`, `lower`, `coalesce`, `LIKE … ESCAPE`, and `DOUBLE`
//!   literals in exponent form.

mod stages;
pub mod tree;

use std::collections::BTreeMap;

pub use tree::{comment_text, identifier, string_literal};

use crate::ast::WildPart;
use crate::layout::{
    DAY_COLUMN, HOURS_TABLE, INDEX_TABLE, MESSAGE_TABLE, PARTITION_COLUMN, VALUES_TABLE,
    columns as c, day_of,
};
use crate::pipeline::Output;
use crate::plan::{
    Formula, HOUR_LAST_OBJECT, HOUR_LAST_SEQ, HOUR_UNNAMED, KEY_COLUMNS, Key, Plan, Scan, Shape,
};
use crate::resolve::{Lookup, NumberRange, Pattern, RecordTest, Wildcard};
use tree::{Body, Cte, Expr, Item, Join, Op, Order, Query, Relation, Select, Statement};

/// Where the tables are: the database (Athena) or schema (local engine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub database: String,
}

impl Tables {
    fn table(&self, name: &str, alias: Option<&'static str>) -> Relation {
        Relation::Table {
            name: vec![self.database.clone(), name.to_string()],
            alias,
        }
    }
    fn hours(&self) -> Relation {
        self.table(HOURS_TABLE, None)
    }
    fn index(&self) -> Relation {
        self.table(INDEX_TABLE, None)
    }
    fn messages(&self) -> Relation {
        self.table(MESSAGE_TABLE, Some("m"))
    }
    fn values(&self, alias: &'static str) -> Relation {
        self.table(VALUES_TABLE, Some(alias))
    }
}

/// A CTE (or other unqualified relation) by name.
fn named(name: &str, alias: Option<&'static str>) -> Relation {
    Relation::Table {
        name: vec![name.to_string()],
        alias,
    }
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

/// A column of the index rows in scope, or of the relation `table`.
fn col(table: Option<&'static str>, name: &str) -> Expr {
    Expr::Column {
        table,
        name: name.to_string(),
    }
}

/// The key of a record: `dt`, `object`, `seq`.
fn key_columns() -> Vec<Expr> {
    [PARTITION_COLUMN, c::OBJECT, c::SEQ]
        .map(|n| col(None, n))
        .to_vec()
}

/// The message table's columns, as the result has them.
fn record_columns(table: &'static str) -> Vec<Item> {
    [c::TIME_MS, c::TAG, c::OBJECT, c::SEQ, c::MESSAGE]
        .map(|n| col(Some(table), n).into())
        .to_vec()
}

/// A match's key and time, as a find returns them ([`KEY_COLUMNS`]).
fn match_columns(table: &'static str) -> Vec<Item> {
    KEY_COLUMNS.map(|n| col(Some(table), n).into()).to_vec()
}

/// The result order, newest first, ties broken by object and seq: written
/// once because the index-side limit must pick exactly the records the
/// outer `LIMIT` keeps.
fn newest_first(table: Option<&'static str>) -> Vec<Order> {
    vec![
        Order::desc(col(table, c::TIME_MS)),
        Order::asc(col(table, c::OBJECT)),
        Order::asc(col(table, c::SEQ)),
    ]
}

/// The `dt` range and exact `time_ms` range of the window, on `table`'s
/// columns: two conditions, each a line of its clause.
fn window_range(plan: &Plan, table: Option<&'static str>) -> [Expr; 2] {
    let (Some(w), Some(p)) = (&plan.window, &plan.partitions) else {
        unreachable!("only plans that run have a window");
    };
    let dt = || col(table, PARTITION_COLUMN);
    let t = || col(table, c::TIME_MS);
    [
        Expr::And(vec![
            dt().binary(Op::GtEq, Expr::str(&p.first)),
            dt().binary(Op::LtEq, Expr::str(&p.last)),
        ]),
        Expr::And(vec![
            t().binary(Op::GtEq, Expr::Int(w.start_ms())),
            t().binary(Op::Lt, Expr::Int(w.end_ms())),
        ]),
    ]
}

/// True if the row condition of `lookup` can be NULL: it reads a nullable
/// column (`num`, `ip`, or the `lead` of a record's last rows). Its
/// aggregate is then wrapped in `coalesce(…, false)`, so "unknown" is a
/// miss and `NOT` of a lookup that no row matched is true, as it must be.
fn may_be_null(lookup: &Lookup) -> bool {
    match &lookup.pattern {
        Pattern::Tokens(t) => t.len() > 1,
        Pattern::Number(_) | Pattern::Ip(_) => true,
        Pattern::Wildcard(_) | Pattern::Regex(_) | Pattern::Exists => false,
    }
}

/// The condition on one index row for `lookup`.
fn lookup_condition(lookup: &Lookup) -> Expr {
    let token = || col(None, c::TOKEN);
    let field = || col(None, c::FIELD);
    let mut parts = Vec::new();
    match (&lookup.field, &lookup.pattern) {
        (Some(f), Pattern::Exists) => parts.push(
            Expr::Or(vec![
                field().eq(Expr::str(f)),
                Expr::call("starts_with", vec![field(), Expr::str(&format!("{f}."))]),
            ])
            .nested(),
        ),
        (Some(f), _) => parts.push(field().eq(Expr::str(f))),
        (None, _) => {}
    }
    match &lookup.pattern {
        Pattern::Tokens(tokens) => {
            parts.push(token().eq(Expr::str(&tokens[0])));
            for (k, t) in tokens.iter().enumerate().skip(1) {
                parts.push(col(None, &format!("next_token_{k}")).eq(Expr::str(t)));
                parts.push(
                    col(None, &format!("next_pos_{k}"))
                        .eq(col(None, c::POS).binary(Op::Plus, Expr::Int(k as i64))),
                );
            }
        }
        Pattern::Wildcard(w) => parts.push(Expr::Like(Box::new(token()), like_pattern(w))),
        // Anchored: a regex matches whole tokens. The empty token stands
        // for a value without tokens; a regex that matches the empty
        // string must not see it.
        Pattern::Regex(r) => {
            let anchored = format!("^(?:{r})$");
            parts.push(Expr::call(
                "regexp_like",
                vec![token(), Expr::str(&anchored)],
            ));
            parts.push(token().binary(Op::NotEq, Expr::str("")));
        }
        Pattern::Number(r) => parts.extend(number_condition(r)),
        Pattern::Ip(cidr) => {
            let (lo, hi) = cidr.key_range();
            let ip = || col(None, c::IP);
            parts.push(ip().binary(Op::GtEq, Expr::str(&lo)));
            parts.push(ip().binary(Op::LtEq, Expr::str(&hi)));
        }
        Pattern::Exists => {}
    }
    Expr::all(parts)
}

fn number_condition(r: &NumberRange) -> Vec<Expr> {
    let num = || col(None, c::NUM);
    let mut parts = Vec::new();
    match r.lower {
        Some((x, true)) => parts.push(num().binary(Op::GtEq, Expr::Double(x))),
        Some((x, false)) => parts.push(num().binary(Op::Gt, Expr::Double(x))),
        None => {}
    }
    match r.upper {
        Some((x, true)) => parts.push(num().binary(Op::LtEq, Expr::Double(x))),
        Some((x, false)) => parts.push(num().binary(Op::Lt, Expr::Double(x))),
        None => {}
    }
    if parts.is_empty() {
        parts.push(Expr::IsNotNull(Box::new(num())));
    }
    parts
}

/// `"dt" IN (…)`: a walk's batch of listed hours as literals, or (the
/// window's hours) the hours the token-hours table lists for the
/// lookups' tokens ([`prefilter`], the index scan's own condition on them),
/// when it can narrow this search ([`Plan::reads_hours`]); or a walk's
/// batch of the window's hours as a range of them. `None`: every hour of
/// the window.
///
/// Both engines run the subquery first and skip the index partitions it
/// does not name (DataFusion: the join's dynamic filter on the partition
/// column; Trino: dynamic partition pruning), so a rare term over a month
/// opens a day file per day and its few hours, not every hour's index file.
fn hours_filter(
    plan: &Plan,
    tables: &Tables,
    prefilter: &[Expr],
    hours: Hours<'_>,
) -> Option<Expr> {
    let dt = || col(None, PARTITION_COLUMN);
    match hours {
        Hours::Listed(list) => Some(dt().in_list(list.iter().map(|h| Expr::str(h)).collect())),
        Hours::Placeholder => Some(dt().in_list(vec![Expr::Placeholder("the batch's hours")])),
        Hours::Between { oldest, newest } => Some(Expr::And(vec![
            dt().binary(Op::GtEq, Expr::str(oldest)),
            dt().binary(Op::LtEq, Expr::str(newest)),
        ])),
        Hours::BetweenPlaceholder => Some(Expr::And(vec![
            dt().binary(Op::GtEq, Expr::Placeholder("the batch's oldest hour")),
            dt().binary(Op::LtEq, Expr::Placeholder("its newest hour")),
        ])),
        Hours::Window if plan.reads_hours => Some(Expr::InQuery(
            Box::new(dt()),
            Box::new(hours_query(plan, tables, prefilter, false)),
        )),
        Hours::Window => None,
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
/// required tokens, when [`hours_hold_every_token`]). `listing` (a walk's
/// first statement, not a subquery): each hour once, and where the table
/// can answer the search (the shape says `named`) the least and greatest
/// record its rows name and how many name none (the record is the hour's
/// match only when every row names the same one).
fn hours_query(plan: &Plan, tables: &Tables, prefilter: &[Expr], listing: bool) -> Query {
    let Some(p) = &plan.partitions else {
        unreachable!("only plans that run have a window");
    };
    let dt = || col(None, PARTITION_COLUMN);
    let scan = |items: Vec<Item>, condition: Expr| {
        let day = || col(None, DAY_COLUMN);
        Select {
            compact: true,
            filter: Some(Expr::And(vec![
                Expr::And(vec![
                    day().binary(Op::GtEq, Expr::str(day_of(&p.first))),
                    day().binary(Op::LtEq, Expr::str(day_of(&p.last))),
                ]),
                Expr::And(vec![
                    dt().binary(Op::GtEq, Expr::str(&p.first)),
                    dt().binary(Op::LtEq, Expr::str(&p.last)),
                ]),
                condition,
            ])),
            ..Select::new(items, tables.hours())
        }
    };
    let body = if hours_hold_every_token(plan) {
        // Only the hours holding every token a match needs: `rare AND
        // common` walks the rare term's hours, not every hour of the
        // common one. One lookup per token, as cheap as a term's.
        Body::Intersect(
            plan.required_tokens()
                .iter()
                .take(MAX_INTERSECTED)
                .map(|t| scan(vec![dt().into()], col(None, c::TOKEN).eq(Expr::str(t))))
                .collect(),
        )
    } else {
        let condition = any_of(prefilter.to_vec());
        let named = matches!(plan.shape, Shape::WalkListed { named: true });
        let select = if listing && named {
            let (object, seq) = (|| col(None, c::OBJECT), || col(None, c::SEQ));
            let items = vec![
                dt().into(),
                Item::named(Expr::call("min", vec![object()]), c::OBJECT),
                Item::named(Expr::call("min", vec![seq()]), c::SEQ),
                Item::named(Expr::call("max", vec![object()]), HOUR_LAST_OBJECT),
                Item::named(Expr::call("max", vec![seq()]), HOUR_LAST_SEQ),
                Item::named(
                    Expr::call("count", vec![Expr::Star])
                        .binary(Op::Minus, Expr::call("count", vec![seq()])),
                    HOUR_UNNAMED,
                ),
            ];
            Select {
                group_by: vec![dt()],
                ..scan(items, condition)
            }
        } else if listing {
            Select {
                distinct: true,
                ..scan(vec![dt().into()], condition)
            }
        } else {
            scan(vec![dt().into()], condition)
        };
        Body::Select(Box::new(select))
    };
    Query {
        with: Vec::new(),
        body,
        order_by: Vec::new(),
        limit: None,
    }
}

/// Most tokens whose hours an hours statement intersects: any of the
/// required tokens narrow the hours safely, and a long phrase's every word
/// would be a scan of every day's file each.
const MAX_INTERSECTED: usize = 8;

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
/// use (ORed by [`any_of`]): an `IN` list of exact tokens (row groups and
/// pages prune by statistics), `LIKE` patterns (a prefix prunes as a
/// range), and the conditions of regex, range, CIDR and presence lookups.
fn prefilter(plan: &Plan) -> Vec<Expr> {
    let token = || col(None, c::TOKEN);
    let mut parts: Vec<Expr> = Vec::new();
    let exact = plan.exact_tokens();
    match exact.len() {
        0 => {}
        1 => parts.push(token().eq(Expr::str(exact[0]))),
        _ => parts.push(token().in_list(exact.iter().map(|t| Expr::str(t)).collect())),
    }
    for l in &plan.lookups {
        let cond = match &l.pattern {
            Pattern::Tokens(_) => continue,
            Pattern::Wildcard(_) | Pattern::Regex(_) => lookup_condition(&Lookup {
                field: None,
                pattern: l.pattern.clone(),
            }),
            _ => lookup_condition(l),
        };
        let cond = match cond {
            Expr::And(_) => cond.nested(),
            _ => cond,
        };
        if !parts.contains(&cond) {
            parts.push(cond);
        }
    }
    parts
}

/// The [`prefilter`] conditions as one: ORed, a part per line.
fn any_of(mut parts: Vec<Expr>) -> Expr {
    match parts.len() {
        1 => parts.remove(0),
        _ => Expr::OrLines {
            parts,
            deeper: true,
        },
    }
}

/// A record test as a condition on the message row `m` (and, for a
/// value test, on its row of `vals`, `v`, left-joined: NULL when no value
/// of the record passed, [`values_cte`]).
fn record_condition(plan: &Plan, test: &RecordTest) -> Expr {
    if let RecordTest::Value(v) = test {
        let id = plan
            .value_tests()
            .iter()
            .position(|t| *t == v)
            .expect("the plan lists every value test of its formula");
        return Expr::call(
            "coalesce",
            vec![col(Some("v"), &format!("v{id}")), Expr::Bool(false)],
        );
    }
    let time = || col(Some("m"), c::TIME_MS);
    let tag = || Expr::call("lower", vec![col(Some("m"), c::TAG)]);
    match test {
        RecordTest::Time { start_ms, end_ms } => {
            let mut parts = Vec::new();
            if let Some(s) = start_ms {
                parts.push(time().binary(Op::GtEq, Expr::Int(*s)));
            }
            if let Some(e) = end_ms {
                parts.push(time().binary(Op::Lt, Expr::Int(*e)));
            }
            if parts.is_empty() {
                Expr::Bool(true)
            } else {
                Expr::And(parts).nested()
            }
        }
        RecordTest::Tag(t) => tag().eq(Expr::str(t)),
        RecordTest::TagWildcard(w) => Expr::Like(Box::new(tag()), like_pattern(w)),
        RecordTest::Value(_) => unreachable!("answered above"),
    }
}

/// `vals`: for each record the index found (`hits`), whether some value
/// of each value test's field passes it (`v0`, `v1`, …), read from the
/// field-values table: only the tested fields' rows of the hits' hours.
/// The messages left-join it ([`record_condition`]).
fn values_cte(plan: &Plan, tables: &Tables) -> Option<Cte> {
    let tests = plan.value_tests();
    if tests.is_empty() {
        return None;
    }
    let fv = |name: &str| col(Some("fv"), name);
    let mut items: Vec<Item> = [PARTITION_COLUMN, c::OBJECT, c::SEQ]
        .map(|n| fv(n).into())
        .to_vec();
    let mut fields: Vec<&str> = Vec::new();
    for (id, t) in tests.iter().enumerate() {
        if !fields.contains(&t.field.as_str()) {
            fields.push(&t.field);
        }
        let value = Expr::call("lower", vec![fv(c::VALUE)]);
        let passes = match t.pattern.0.as_slice() {
            [WildPart::Text(text)] => value.eq(Expr::str(text)),
            _ => Expr::Like(Box::new(value), like_pattern(&t.pattern)),
        };
        let cond = Expr::And(vec![fv(c::FIELD).eq(Expr::str(&t.field)), passes]);
        items.push(Item::named(
            Expr::call("bool_or", vec![cond]),
            &format!("v{id}"),
        ));
    }
    let same = |name: &str| fv(name).eq(col(Some("h"), name));
    let [dt_range, _] = window_range(plan, Some("fv"));
    let field_filter = match fields.as_slice() {
        [one] => fv(c::FIELD).eq(Expr::str(one)),
        many => Expr::In(
            Box::new(fv(c::FIELD)),
            many.iter().map(|f| Expr::str(f)).collect(),
        ),
    };
    let group_by: Vec<Expr> = [PARTITION_COLUMN, c::OBJECT, c::SEQ].map(fv).to_vec();
    Some(Cte {
        name: "vals",
        query: select_query(Select {
            joins: vec![Join::inner(
                named("hits", Some("h")),
                Expr::And([PARTITION_COLUMN, c::OBJECT, c::SEQ].map(same).to_vec()),
            )],
            filter: Some(Expr::And(vec![dt_range, field_filter])),
            group_by,
            ..Select::new(items, tables.values("fv"))
        }),
    })
}

/// Renders the plan's first statement (no trailing `;`). A plan that
/// runs nothing renders as its header comment alone. A plan that
/// [fetches by keys](Plan::fetches_by_keys) starts with the hours
/// statement of a walk, or the find, which returns the keys
/// ([`KEY_COLUMNS`]); [`crate::search`] sequences the rest.
pub fn render(plan: &Plan, tables: &Tables, header: &Header) -> String {
    let query = match plan.shape {
        Shape::Nothing => None,
        Shape::WalkListed { .. } => Some(Query {
            order_by: vec![Order::desc(col(None, PARTITION_COLUMN))],
            ..hours_query(plan, tables, &prefilter(plan), true)
        }),
        Shape::FindThenFetch => Some(search_query(
            plan,
            tables,
            Hours::Window,
            Returns::Keys(plan.keys_wanted()),
        )),
        Shape::WalkWindow { first, .. } => {
            let Some(w) = &plan.window else {
                unreachable!("a plan that runs has a window");
            };
            // The walk's first batch (`search::Search::next` walks on from it).
            let (newest, oldest) = w.batch_back(0, first as u64);
            let hours = Hours::Between {
                oldest: &oldest,
                newest: &newest,
            };
            Some(search_query(
                plan,
                tables,
                hours,
                Returns::Keys(plan.keys_wanted()),
            ))
        }
        Shape::One if plan.dedups() && !plan.makes_table() => Some(stages::records(plan, tables)),
        Shape::One => Some(search_query(plan, tables, Hours::Window, Returns::Records)),
        Shape::Table => Some(stages::query(plan, tables)),
    };
    Statement {
        comments: header_lines(plan, header),
        query,
    }
    .to_string()
}

/// A find statement of a walk ([`Shape::WalkListed`],
/// [`Shape::WalkWindow`]): the index scan over `hours` only, the newest
/// `limit` keys, under a one-line `comment`.
pub(crate) fn render_find(
    plan: &Plan,
    tables: &Tables,
    hours: Hours<'_>,
    limit: u64,
    comment: &str,
) -> String {
    commented(
        comment,
        search_query(plan, tables, hours, Returns::Keys(limit)),
    )
}

/// The search as one statement, the index joined to the messages, under a
/// one-line `comment`: what a search that [may join](Plan::may_join) runs
/// instead of the fetch when its finds return more keys than a fetch
/// names. The index-side limit is the search's own ([`Plan::index_limit`]),
/// none for an export.
pub fn render_join(plan: &Plan, tables: &Tables, comment: &str) -> String {
    commented(
        comment,
        search_query(plan, tables, Hours::Window, Returns::Records),
    )
}

/// A statement after the first: under a one-line `comment` instead of the
/// header.
fn commented(comment: &str, query: Query) -> String {
    Statement {
        comments: vec![comment.to_string()],
        query: Some(query),
    }
    .to_string()
}

/// What [`search_query`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Returns {
    /// The keys of the newest `n` matches (a find).
    Keys(u64),
    /// The matching records (the one-statement search, or the join).
    Records,
    /// Every match's key and time ([`KEY_COLUMNS`]), each once, in no
    /// order: what stages read ([`stages`]).
    Matches,
}

/// The one-statement search (or the join), or the find of a search that
/// fetches by keys.
pub(crate) fn search_query(
    plan: &Plan,
    tables: &Tables,
    hours: Hours<'_>,
    returns: Returns,
) -> Query {
    let needs_flags = plan.scan == Scan::Window || plan.formula.has_record_tests();
    // Without a limit the message rows are the result, each once (see
    // `once_each`); with one they go through `once_each`'s outer query.
    let distinct = plan.limit.is_none();
    let [dt_range, time_range] = window_range(plan, Some("m"));

    if plan.scan == Scan::Messages {
        let mut filter = vec![dt_range, time_range];
        if plan.formula != Formula::Const(true) {
            // A value test comes with its lookups (`resolve::value_test`),
            // so never here.
            conjunct(
                &mut filter,
                &plan.formula,
                &|_| unreachable!("no lookups"),
                &|t| record_condition(plan, t),
            );
        }
        if returns == Returns::Matches {
            return select_query(Select {
                distinct: true,
                filter: Some(Expr::And(filter)),
                ..Select::new(match_columns("m"), tables.messages())
            });
        }
        let inner = Select {
            distinct,
            filter: Some(Expr::And(filter)),
            ..Select::new(record_columns("m"), tables.messages())
        };
        return once_each(Vec::new(), inner, plan.limit);
    }

    let top = match returns {
        Returns::Keys(n) => Some(n),
        Returns::Records => plan.index_limit(),
        Returns::Matches => None,
    };
    // The hits carry their record's time when they are the result's keys.
    let timed = top.is_some() || returns == Returns::Matches;
    let max_phrase = plan.max_phrase();
    let parts = prefilter(plan);
    let [index_dt, index_time] = window_range(plan, None);
    let mut scan_filter = vec![index_dt, index_time, any_of(parts.clone())];
    scan_filter.extend(hours_filter(plan, tables, &parts, hours));
    let mut with = Vec::new();
    let (scan_from, hits_filter) = if max_phrase > 1 {
        // Phrases: each row sees the next looked-up rows of its record in
        // position order; adjacency is `next_pos_k = pos + k`.
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
        if timed {
            names.push(c::TIME_MS);
        }
        let plain: Vec<Item> = key_columns()
            .into_iter()
            .chain(names.iter().map(|n| col(None, n)))
            .map(Item::from)
            .collect();
        let mut items = plain.clone();
        for k in 1..max_phrase {
            let lead = |name: &str| Expr::Window {
                call: Box::new(Expr::call(
                    "lead",
                    vec![col(None, name), Expr::Int(k as i64)],
                )),
                partition_by: key_columns(),
                order_by: vec![Order::asc(col(None, c::POS))],
            };
            items.push(Item::named(lead(c::TOKEN), &format!("next_token_{k}")));
            items.push(Item::named(lead(c::POS), &format!("next_pos_{k}")));
        }
        // The window reads each index row once: while compaction on S3
        // leaves a record's rows in two files, a doubled row would put
        // a copy of `pos + 1` where `pos + 2` belongs, and a phrase of
        // three words or more would not match (`once_each`).
        let rows = Select {
            distinct: true,
            filter: Some(Expr::And(scan_filter)),
            ..Select::new(plain, tables.index())
        };
        with.push(Cte {
            name: "rows",
            query: select_query(Select::new(
                items,
                Relation::Query {
                    query: Box::new(select_query(rows)),
                    alias: "\"i\"",
                },
            )),
        });
        (named("rows", None), None)
    } else {
        (tables.index(), Some(Expr::And(scan_filter)))
    };
    let agg = |id: usize| {
        let lookup = &plan.lookups[id];
        let cond = Expr::call("bool_or", vec![lookup_condition(lookup)]);
        if may_be_null(lookup) {
            Expr::call("coalesce", vec![cond, Expr::Bool(false)])
        } else {
            cond
        }
    };
    let mut items: Vec<Item> = key_columns().into_iter().map(Item::from).collect();
    if timed {
        // One value per record (every index row carries its record's
        // time); max() only names it through the GROUP BY.
        items.push(Item::named(
            Expr::call("max", vec![col(None, c::TIME_MS)]),
            c::TIME_MS,
        ));
    }
    if needs_flags {
        for id in 0..plan.lookups.len() {
            items.push(Item::named(agg(id), &format!("l{id}")));
        }
    }
    let having = match plan.formula.relaxed() {
        _ if plan.scan != Scan::Hits => None,
        Formula::Const(true) => None,
        relaxed => Some(formula_expr(&relaxed, &agg, &|_| unreachable!("relaxed"))),
    };
    let hits = Select {
        filter: hits_filter,
        group_by: key_columns(),
        having,
        ..Select::new(items, scan_from)
    };
    let same = |name: &str| col(Some("m"), name).eq(col(Some("h"), name));
    let mut join_on = vec![Expr::And(
        [PARTITION_COLUMN, c::OBJECT, c::SEQ].map(same).to_vec(),
    )];
    let hits = match top {
        // The same order as the outer query, so the index picks exactly
        // the records the outer LIMIT would keep.
        Some(limit) => {
            // Redundant for the result, but it gives the engines the hits'
            // time bounds to prune message row groups by statistics too.
            join_on.push(same(c::TIME_MS));
            Query {
                order_by: newest_first(None),
                limit: Some(limit),
                ..select_query(hits)
            }
        }
        None => select_query(hits),
    };
    with.push(Cte {
        name: "hits",
        query: hits,
    });
    if matches!(returns, Returns::Keys(_)) || (returns == Returns::Matches && !needs_flags) {
        // Step 1 of 2: the keys alone; `crate::fetch` decides step 2.
        let keys = KEY_COLUMNS.map(|n| col(None, n).into()).to_vec();
        return Query {
            with,
            ..select_query(Select::new(keys, named("hits", None)))
        };
    }
    let mut filter = vec![dt_range, time_range];
    if needs_flags {
        let flag = |id: usize| {
            let flag = col(Some("h"), &format!("l{id}"));
            if plan.scan == Scan::Window {
                Expr::call("coalesce", vec![flag, Expr::Bool(false)])
            } else {
                flag
            }
        };
        conjunct(&mut filter, &plan.formula, &flag, &|t| {
            record_condition(plan, t)
        });
    }
    let mut joins = vec![join_hits(plan, join_on)];
    if let Some(vals) = values_cte(plan, tables) {
        with.push(vals);
        let same = |name: &str| col(Some("m"), name).eq(col(Some("v"), name));
        joins.push(Join::left(
            named("vals", Some("v")),
            Expr::And([PARTITION_COLUMN, c::OBJECT, c::SEQ].map(same).to_vec()),
        ));
    }
    if returns == Returns::Matches {
        return Query {
            with,
            ..select_query(Select {
                distinct: true,
                joins,
                filter: Some(Expr::And(filter)),
                ..Select::new(match_columns("m"), tables.messages())
            })
        };
    }
    let inner = Select {
        distinct,
        joins,
        filter: Some(Expr::And(filter)),
        ..Select::new(record_columns("m"), tables.messages())
    };
    once_each(with, inner, plan.limit)
}

/// The messages' join to the hits: a left join when records with no hit
/// match too ([`Scan::Window`]).
fn join_hits(plan: &Plan, on: Vec<Expr>) -> Join {
    let hits = named("hits", Some("h"));
    if plan.scan == Scan::Window {
        Join::left(hits, Expr::And(on))
    } else {
        Join::inner(hits, Expr::And(on))
    }
}

/// A query of one `SELECT`, nothing around it.
fn select_query(select: Select) -> Query {
    Query {
        with: Vec::new(),
        body: Body::Select(Box::new(select)),
        order_by: Vec::new(),
        limit: None,
    }
}

/// The result query: the message rows of `inner` (a `SELECT … FROM
/// messages AS m …`), newest first, each record once, after `with`.
///
/// A record is in the message table once, except while `glaux compact`
/// rewrites its partition on S3: there the merged file is written before
/// the small files are deleted (S3 cannot swap a set of files), so a reader
/// may list both copies, byte-identical rows, never more than two
/// (docs/storage.md, "Compaction on S3"). Hence the newest `2 × limit` rows
/// hold the newest `limit` records, and `DISTINCT` over those few rows
/// drops the copies. Without a limit, `inner` selects `DISTINCT` itself.
fn once_each(with: Vec<Cte>, inner: Select, limit: Option<u64>) -> Query {
    match limit {
        Some(limit) => {
            let newest = Query {
                order_by: newest_first(Some("m")),
                limit: Some(limit.saturating_mul(2)),
                ..select_query(inner)
            };
            let outer = Select {
                distinct: true,
                ..Select::new(
                    record_columns("r"),
                    Relation::Query {
                        query: Box::new(newest),
                        alias: "r",
                    },
                )
            };
            Query {
                with,
                order_by: newest_first(Some("r")),
                limit: Some(limit),
                ..select_query(outer)
            }
        }
        None => Query {
            with,
            order_by: newest_first(Some("m")),
            ..select_query(inner)
        },
    }
}

/// Adds the formula to `filter`, the conditions of a `WHERE`: a
/// top-level `AND`'s parts each a line of their own, a top-level `OR` one
/// condition, a part per line.
fn conjunct(
    filter: &mut Vec<Expr>,
    formula: &Formula,
    leaf: &dyn Fn(usize) -> Expr,
    record: &dyn Fn(&RecordTest) -> Expr,
) {
    match formula_expr(formula, leaf, record) {
        Expr::And(parts) => filter.extend(parts),
        Expr::Or(parts) => filter.push(Expr::OrLines {
            parts,
            deeper: false,
        }),
        other => filter.push(other),
    }
}

/// The formula as a condition: its top-level `AND`/`OR` as such (a
/// clause puts their parts on lines of their own), nested ones in
/// parentheses.
fn formula_expr(
    formula: &Formula,
    leaf: &dyn Fn(usize) -> Expr,
    record: &dyn Fn(&RecordTest) -> Expr,
) -> Expr {
    fn go(
        f: &Formula,
        leaf: &dyn Fn(usize) -> Expr,
        record: &dyn Fn(&RecordTest) -> Expr,
        top: bool,
    ) -> Expr {
        match f {
            Formula::Lookup(id) => leaf(*id),
            Formula::Record(t) => record(t),
            Formula::Const(b) => Expr::Bool(*b),
            Formula::Not(inner) => go(inner, leaf, record, false).negated(),
            Formula::And(fs) | Formula::Or(fs) => {
                let parts: Vec<Expr> = fs.iter().map(|x| go(x, leaf, record, false)).collect();
                let e = if matches!(f, Formula::And(_)) {
                    Expr::And(parts)
                } else {
                    Expr::Or(parts)
                };
                if top { e } else { e.nested() }
            }
        }
    }
    go(formula, leaf, record, true)
}

/// The fetch statement for `keys` (no trailing `;`), newest first: the
/// messages of exactly those records. `None` when there are no keys:
/// nothing matched, nothing to read. Which keys go in which fetch is
/// [`crate::fetch`]'s to decide.
///
/// Every value reaches the SQL as a literal or a printed integer: an
/// object's name comes from the store, and a store on S3 holds whatever
/// key names its writers chose.
pub fn fetch(tables: &Tables, keys: &[Key]) -> Option<String> {
    if keys.is_empty() {
        return None;
    }
    // hour → object → seqs.
    let mut by_hour: BTreeMap<&str, BTreeMap<&str, Vec<i64>>> = BTreeMap::new();
    for k in keys {
        by_hour
            .entry(&k.dt)
            .or_default()
            .entry(&k.object)
            .or_default()
            .push(k.seq);
    }
    let hours = by_hour.keys().map(|h| Expr::str(h)).collect();
    let records = by_hour
        .into_iter()
        .map(|(hour, objects)| {
            let objects: Vec<Expr> = objects
                .into_iter()
                .map(|(object, mut seqs)| {
                    seqs.sort_unstable();
                    seqs.dedup();
                    fetched_object(object, &seqs)
                })
                .collect();
            hour_condition(hour, objects)
        })
        .collect();
    Some(fetch_query(tables, hours, records).to_string())
}

/// The fetch statement with placeholders where the keys go, for
/// `--explain` (which runs nothing, so has no keys).
pub fn fetch_template(tables: &Tables) -> String {
    let seqs = col(Some("m"), c::SEQ).in_list(vec![Expr::Placeholder("its seqs")]);
    let record = Expr::And(vec![
        col(Some("m"), c::OBJECT).eq(Expr::Placeholder("object")),
        seqs,
    ])
    .nested();
    fetch_query(
        tables,
        vec![Expr::Placeholder("the keys' hours")],
        vec![record],
    )
    .to_string()
}

fn fetch_query(tables: &Tables, hours: Vec<Expr>, records: Vec<Expr>) -> Query {
    let select = Select {
        distinct: true,
        filter: Some(Expr::And(vec![
            col(Some("m"), PARTITION_COLUMN).in_list(hours),
            Expr::OrLines {
                parts: records,
                deeper: true,
            },
        ])),
        ..Select::new(record_columns("m"), tables.messages())
    };
    Query {
        order_by: newest_first(Some("m")),
        ..select_query(select)
    }
}

/// `(m."dt" = 'h' AND …)`: one hour's records. The engines read one
/// partition per file and put its `dt` into the condition, so a file's
/// scan keeps only its own hour's part: the others fold to false (with a
/// flat list of every record, DataFusion tested all of them on every page
/// and row of every file: 1.4 s for 99 records).
fn hour_condition(hour: &str, mut objects: Vec<Expr>) -> Expr {
    let objects = match objects.len() {
        1 => objects.remove(0),
        _ => Expr::Or(objects).nested(),
    };
    Expr::And(vec![
        col(Some("m"), PARTITION_COLUMN).eq(Expr::str(hour)),
        objects,
    ])
    .nested()
}

/// `(m."object" = 'o' AND m."seq" IN (1, 5))`: one object's records.
fn fetched_object(object: &str, seqs: &[i64]) -> Expr {
    let seq = col(Some("m"), c::SEQ);
    let seq = match seqs {
        [one] => seq.eq(Expr::Int(*one)),
        _ => seq.in_list(seqs.iter().map(|s| Expr::Int(*s)).collect()),
    };
    Expr::And(vec![col(Some("m"), c::OBJECT).eq(Expr::str(object)), seq]).nested()
}

/// The header comment's lines: the query, the plan, the statements.
fn header_lines(plan: &Plan, header: &Header) -> Vec<String> {
    let mut lines = Vec::new();
    lines.push(format!("glaux query: {}", header.query));
    lines.push(format!("resolved: {}", header.before));
    lines.push(format!("optimized: {}", header.after));
    if plan.scan == Scan::Nothing {
        lines.push(if plan.makes_table() {
            "no record can match (a contradiction or an empty time range): the stages run over none"
                .to_string()
        } else {
            "nothing to run: no record can match (a contradiction or an empty time range)"
                .to_string()
        });
        return lines;
    }
    let (Some(window), Some(partitions)) = (&plan.window, &plan.partitions) else {
        unreachable!("a plan that runs has a window");
    };
    lines.push(format!("window: {}", window));
    lines.push(format!(
        "partitions: dt {} .. {} ({} hour{})",
        partitions.first,
        partitions.last,
        partitions.count,
        if partitions.count == 1 { "" } else { "s" }
    ));
    let lookups: Vec<String> = plan.lookups.iter().map(ToString::to_string).collect();
    if lookups.is_empty() {
        lines.push("index lookups: none".to_string());
    } else {
        lines.push(format!("index lookups: {}", lookups.join(", ")));
        if plan.reads_hours {
            lines.push(format!(
                "hours: only those the token-hours table lists for {}",
                if hours_hold_every_token(plan) {
                    "all the tokens every match holds"
                } else {
                    "these tokens"
                }
            ));
        }
    }
    let values: Vec<String> = plan.value_tests().iter().map(ToString::to_string).collect();
    if !values.is_empty() {
        lines.push(format!(
            "value tests: {} (the field-values table confirms each record the index found)",
            values.join(", ")
        ));
    }
    match plan.scan {
        Scan::Window => {
            lines.push("note: the query matches records with none of these lookups, so every message in the window is read".to_string());
        }
        Scan::Messages if plan.makes_table() && plan.formula == Formula::Const(true) => {
            lines.push(
                "note: every record of the window: the stages read the field-values table, and the messages' keys alone (no message text) to count records"
                    .to_string(),
            );
        }
        Scan::Messages => {
            lines.push(
                "note: nothing to look up in the index, so every message in the window is read"
                    .to_string(),
            );
        }
        _ => {}
    }
    if plan.scans_all_tokens() {
        lines.push("cost: a leading wildcard or a regex reads every token of the window's index (no row-group pruning)".to_string());
    }
    let fields = matches!(plan.table_stage(), Some(crate::ast::StageKind::Fields(_)));
    if fields {
        let stages: Vec<String> = plan.stages.iter().map(ToString::to_string).collect();
        lines.push(format!(
            "stages: the newest matches of the window, a row each: {}",
            stages.join(" | ")
        ));
        if let Some(Output::Table(columns)) = plan.outputs.last() {
            let named: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| match i {
                    0 => format!("c0 = {} (epoch ms)", c.name),
                    1 => format!("c1 = {}", c.name),
                    _ => format!("{} = {}", crate::pipeline::sql_column(i), c.name),
                })
                .collect();
            lines.push(format!(
                "columns: {}; a field's values in code-point order, joined by ',' (a ',' or '\\' in a value escaped by '\\'), with their count in c<i>_total",
                named.join(", ")
            ));
        }
    } else if plan.makes_table() {
        let stages: Vec<String> = plan.stages.iter().map(ToString::to_string).collect();
        lines.push(format!(
            "stages: over every match of the window, no limit: {}",
            stages.join(" | ")
        ));
        let by = plan.stages.last().and_then(|s| match &s.kind {
            crate::ast::StageKind::Timechart {
                agg,
                by: Some(by),
                limit,
                ..
            } => Some((agg, by, limit)),
            _ => None,
        });
        if let Some((agg, by, limit)) = by {
            lines.push(format!(
                "columns: c0 = time (bucket start, epoch ms), c1 = a value of {} (NULL: other, the records with a value past the first {}), c2 = the value's rank by records over the window, c3 = {}; glaux makes a column per value",
                by.path,
                limit,
                agg.column()
            ));
        } else if let Some(Output::Table(columns)) = plan.outputs.last() {
            let named: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| match plan.timechart.is_some() && i == 0 {
                    true => format!(
                        "{} = {} (bucket start, epoch ms)",
                        crate::pipeline::sql_column(i),
                        c.name
                    ),
                    false => format!("{} = {}", crate::pipeline::sql_column(i), c.name),
                })
                .collect();
            lines.push(format!("columns: {}", named.join(", ")));
        }
        if let Some(t) = &plan.timechart {
            let by = plan.stages.iter().any(|s| {
                matches!(
                    &s.kind,
                    crate::ast::StageKind::Timechart { by: Some(_), .. }
                )
            });
            let returns = match by {
                true => "the statement returns those with records, glaux adds the empty ones",
                false => "the statement returns each of them",
            };
            lines.push(format!(
                "buckets: {} of {} ms from {} ms (epoch, UTC); {returns}",
                t.count(),
                t.span_ms,
                t.first_ms
            ));
        }
    }
    if plan.dedups() && !plan.makes_table() {
        let stages: Vec<String> = plan.stages.iter().map(ToString::to_string).collect();
        lines.push(format!(
            "stages: over every match of the window, in order, then the messages of the records kept: {}",
            stages.join(" | ")
        ));
        lines.push("dedup: each combination of the fields' values keeps its newest record; a record without one of the fields is dropped".to_string());
    }
    lines.push(format!(
        "limit: {}",
        plan.limit
            .map_or("none".to_string(), |l| format!("{l} newest records"))
    ));
    if let Some(steps) = steps(plan) {
        lines.push(format!("steps: {steps}"));
    }
    lines.push(
        "copies: each record once, also while compaction on S3 leaves it in two files".to_string(),
    );
    lines
}

/// The header's `steps` line: what runs after the first statement, for a
/// search of several ([`Shape`]).
fn steps(plan: &Plan) -> Option<String> {
    let max = plan.max_keys;
    let limited = !plan.may_join();
    let until = if limited {
        "until the limit is reached".to_string()
    } else {
        format!("until every match is found or more than {max} are")
    };
    let (fetch, step) = match plan.shape {
        Shape::Nothing | Shape::One | Shape::Table => return None,
        Shape::WalkListed { named: true } => (
            format!(
                "1. this statement lists those hours, each with the one record holding the tokens there when the table names it; 2. newest hours first, {until}: an hour whose record is listed gives it without a search, and from an hour without one the index is searched, a batch of hours at a time; 3. only those records' messages are read, by key"
            ),
            3,
        ),
        Shape::WalkListed { named: false } => (
            format!(
                "1. this statement lists those hours; 2. the index is searched newest hours first, a batch at a time, {until}; 3. only those records' messages are read, by key"
            ),
            3,
        ),
        Shape::WalkWindow { .. } => (
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

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A wildcard pattern as `LIKE` text: `*` → `%`, `?` → `_`, literals
/// escaped ([`like_escape`]). Printed as a string literal by the tree.
fn like_pattern(w: &Wildcard) -> String {
    w.0.iter()
        .map(|p| match p {
            WildPart::Text(t) => like_escape(t),
            WildPart::Any => "%".to_string(),
            WildPart::One => "_".to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::ast::WildPart;
    use crate::resolve::Wildcard;

    #[test]
    fn like_patterns_escape_wildcards() {
        let like = |t: &str| super::string_literal(&super::like_escape(t));
        assert_eq!(like("a_b%c\\"), "'a\\_b\\%c\\\\'");
        assert_eq!(like("o'k"), "'o''k'");
        let w = Wildcard(vec![
            WildPart::Text("vpc_flow".into()),
            WildPart::Any,
            WildPart::One,
        ]);
        assert_eq!(super::like_pattern(&w), "vpc\\_flow%_");
    }
}
