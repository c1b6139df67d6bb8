//! The stages of a search as one statement: the search's matches, the
//! field values each stage reads, and a relation per stage wrapped around
//! the one before (docs/engines.md, "Stages").
//!
//! - `matches`: every match's key and time, each once (the search with no
//!   limit, [`Returns::Matches`]). A search of every record whose stage
//!   reads only fields needs none: the field-values rows hold the records
//!   that have the fields, with their time.
//! - a CTE per field a stage reads: that field's rows of the
//!   field-values table in the window (joined to `matches`), `DISTINCT`
//!   because compaction on S3 may show a file twice.
//! - `groups`: a row per record and combination of its `by` values.
//! - an aggregate is a relation of its own, grouped by the `by` values,
//!   joined to the others on them: aggregates over different fields never
//!   multiply each other's rows.
//! - `sort`, `where` and `head` wrap the table so far; the last `ORDER BY`
//!   is the table's order, ties broken by the order before.

use super::tree::{Cte, Expr, Item, Join, Op, Order, Query, Relation, Select};
use super::{Hours, Returns, Tables, col, named, search_query, select_query, window_range};
use crate::ast::{Agg, AggFunc, CompareOp, Condition, Literal, MAX_VALUES, Stage, StageKind};
use crate::layout::{PARTITION_COLUMN, VALUES_TABLE, columns as c};
use crate::pipeline::{
    ColumnDef, ColumnKind, LIST_SEPARATOR, Output, SUMMARY_TOP, sql_column, sql_number_column,
    sql_total_column,
};
use crate::plan::{Formula, KEY_COLUMNS, Plan, Scan, Timechart};

/// The statement of a search whose stages make a table.
pub(crate) fn query(plan: &Plan, tables: &Tables) -> Query {
    let mut b = Builder::new(plan, tables);
    // Records stages before the table's (`… | dedup F | stats …`): the
    // table reads the records they keep instead of every match.
    let kept = plan
        .stages
        .iter()
        .take_while(|s| matches!(s.kind, StageKind::Head(_) | StageKind::Dedup(_)))
        .count();
    if kept > 0 {
        let rel = b.kept(&plan.stages[..kept]);
        let keys = KEY_COLUMNS.map(|n| Item::from(col(Some("p"), n))).to_vec();
        b.with.push(Cte {
            name: "kept",
            query: select_query(Select::new(keys, rel)),
        });
        b.source = "kept";
    }
    if let Some(StageKind::Fields(fields)) = plan.table_stage() {
        // Only `head` follows `fields` (pipeline::outputs): the newest
        // records, at most the least of the limit and the heads.
        let heads = plan.stages[kept + 1..].iter().filter_map(|s| match s.kind {
            StageKind::Head(n) => Some(n),
            _ => None,
        });
        let limit = heads.chain(plan.limit).min();
        let paths: Vec<String> = fields.iter().map(|f| f.path.clone()).collect();
        let query = b.fields(&paths, limit);
        return Query {
            with: b.ctes(),
            ..query
        };
    }
    let (first, rest) = plan.stages[kept..]
        .split_first()
        .expect("a table comes from a stage");
    let mut table = b.first(&first.kind);
    for (i, stage) in rest.iter().enumerate() {
        table = b.wrap(table, &stage.kind, plan.input_of(kept + i + 1));
    }
    let with = b.ctes();
    Query {
        with,
        order_by: table.order,
        ..select_query(table.select)
    }
}

/// The statement of a search whose stages keep records (`head` and
/// `dedup`, one of them a `dedup`): each stage a relation of the keys of
/// the one before (`dedup`: each value combination's newest record), and
/// the messages of the last, newest first.
pub(crate) fn records(plan: &Plan, tables: &Tables) -> Query {
    let mut b = Builder::new(plan, tables);
    let rel = b.kept(&plan.stages);
    let [dt, time] = window_range(plan, Some("m"));
    let mut inner = Select {
        distinct: plan.limit.is_none(),
        filter: Some(Expr::And(vec![dt, time])),
        ..Select::new(super::record_columns("m"), tables.messages())
    };
    inner
        .joins
        .push(Join::inner(rel, Expr::And(vec![same_record("m", "p")])));
    let with = b.ctes();
    super::once_each(with, inner, plan.limit)
}

impl<'a> Builder<'a> {
    fn new(plan: &'a Plan, tables: &'a Tables) -> Self {
        Builder {
            plan,
            tables,
            with: Vec::new(),
            fields: Vec::new(),
            keyed: Vec::new(),
            needs_matches: false,
            source: "matches",
        }
    }

    /// The records `stages` (`head`s and `dedup`s, in order) keep of the
    /// matches: keys and time ([`KEY_COLUMNS`]), as a relation `p`.
    fn kept(&mut self, stages: &[Stage]) -> Relation {
        let mut rel = self.matches("p");
        let newest = || {
            vec![
                Order::desc(col(Some("p"), c::TIME_MS)),
                Order::asc(col(Some("p"), c::OBJECT)),
                Order::asc(col(Some("p"), c::SEQ)),
            ]
        };
        let keys = || KEY_COLUMNS.map(|n| Item::from(col(Some("p"), n))).to_vec();
        for stage in stages {
            let query = match &stage.kind {
                StageKind::Head(n) => Query {
                    order_by: newest(),
                    limit: Some(*n),
                    ..select_query(Select::new(keys(), rel))
                },
                StageKind::Dedup(fields) => {
                    let mut ranked = Select::new(keys(), rel);
                    let mut partition = Vec::new();
                    for (i, f) in fields.iter().enumerate() {
                        let cte = self.key_of(&f.path);
                        let alias = KEY_ALIASES[i];
                        ranked.joins.push(Join::inner(
                            from(cte, alias),
                            Expr::And(vec![same_record("p", alias)]),
                        ));
                        partition.push(col(Some(alias), "k"));
                    }
                    ranked.items.push(Item::named(
                        Expr::Window {
                            call: Box::new(Expr::call("row_number", Vec::new())),
                            partition_by: partition,
                            order_by: newest(),
                        },
                        "rn",
                    ));
                    select_query(Select {
                        filter: Some(col(Some("p"), "rn").eq(Expr::Int(1))),
                        ..Select::new(
                            keys(),
                            Relation::Query {
                                query: Box::new(select_query(ranked)),
                                alias: "p",
                            },
                        )
                    })
                }
                other => unreachable!("`{}` keeps no records (pipeline::check)", other.name()),
            };
            rel = Relation::Query {
                query: Box::new(query),
                alias: "p",
            };
        }
        rel
    }

    /// The statement's CTEs: the search's and `matches` if a relation
    /// reads them, then the builder's.
    fn ctes(self) -> Vec<Cte> {
        let (plan, tables) = (self.plan, self.tables);
        let mut with = Vec::new();
        if self.needs_matches && plan.scan == Scan::Nothing {
            // No record can match: no window to read, none of them.
            with.push(Cte {
                name: "matches",
                query: select_query(Select {
                    filter: Some(Expr::Bool(false)),
                    ..Select::new(
                        KEY_COLUMNS.map(|n| col(Some("m"), n).into()).to_vec(),
                        tables.messages(),
                    )
                }),
            });
        } else if self.needs_matches {
            let search = search_query(plan, tables, Hours::Window, Returns::Matches);
            with.extend(search.with.clone());
            with.push(Cte {
                name: "matches",
                query: Query {
                    with: Vec::new(),
                    ..search
                },
            });
        }
        with.extend(self.with);
        with
    }
}

/// `values(F)`'s relation over `select` (the groups' records joined to
/// F's values as `f`, or F's values alone): per group `x`, its first
/// [`MAX_VALUES`] distinct values in code-point order, each with `\` and
/// the separator escaped, joined by [`LIST_SEPARATOR`] (one text column:
/// Athena returns an array as text that cannot be split back); `xt`, how
/// many distinct values the group has.
fn values_of(mut select: Select, exprs: &[Expr], nullable: bool) -> Select {
    let keys = &KEY_NAMES[..exprs.len()];
    // Each group's distinct values.
    let mut items: Vec<Item> = exprs
        .iter()
        .zip(keys)
        .map(|(e, k)| Item::named(e.clone(), k))
        .collect();
    items.push(Item::named(col(Some("f"), c::VALUE), "v"));
    select.items = items;
    select.distinct = true;
    // Ranked in code-point order, and escaped.
    let v = col(Some("d"), "v");
    let escaped = escaped(v.clone());
    let mut items: Vec<Item> = keys.iter().map(|k| col(Some("d"), k).into()).collect();
    items.push(v.clone().into());
    items.push(Item::named(escaped, "e"));
    items.push(Item::named(
        Expr::Window {
            call: Box::new(Expr::call("row_number", Vec::new())),
            partition_by: keys.iter().map(|k| col(Some("d"), k)).collect(),
            order_by: vec![Order::asc(v)],
        },
        "rn",
    ));
    let ranked = Select::new(
        items,
        Relation::Query {
            query: Box::new(select_query(select)),
            alias: "d",
        },
    );
    let mut items: Vec<Item> = keys.iter().map(|k| col(Some("r"), k).into()).collect();
    let listed = Expr::Aggregate {
        name: "array_agg",
        args: vec![col(Some("r"), "e")],
        order_by: vec![Order::asc(col(Some("r"), "v"))],
        filter: Some(Box::new({
            let first = col(Some("r"), "rn").binary(Op::LtEq, Expr::Int(MAX_VALUES as i64));
            match nullable {
                // A group's row without a value ranks last, and is no value.
                true => Expr::And(vec![first, Expr::IsNotNull(Box::new(col(Some("r"), "v")))]),
                false => first,
            }
        })),
    };
    items.push(Item::named(
        Expr::call("array_join", vec![listed, Expr::str(LIST_SEPARATOR)]),
        "x",
    ));
    let total = match nullable {
        true => Expr::call("count", vec![col(Some("r"), "v")]),
        false => Expr::call("count", vec![Expr::Star]),
    };
    items.push(Item::named(total, "xt"));
    Select {
        group_by: keys.iter().map(|k| col(Some("r"), k)).collect(),
        ..Select::new(
            items,
            Relation::Query {
                query: Box::new(select_query(ranked)),
                alias: "r",
            },
        )
    }
}

/// `value` with `\` and [`LIST_SEPARATOR`] escaped by `\`, so values
/// joined by the separator split back.
fn escaped(value: Expr) -> Expr {
    Expr::call(
        "replace",
        vec![
            Expr::call("replace", vec![value, Expr::str("\\"), Expr::str("\\\\")]),
            Expr::str(LIST_SEPARATOR),
            Expr::str(&format!("\\{LIST_SEPARATOR}")),
        ],
    )
}

/// What an aggregate's rows are grouped by.
#[derive(Debug, Clone, Copy)]
enum Keys {
    /// Nothing: one group of every match.
    None,
    /// `groups`' first n keys (`stats … by`).
    Groups(usize),
    /// The bucket of `span` ms a record's time falls in (`timechart`).
    Buckets(i64),
    /// `labeled`'s bucket of `span` ms, series and rank (`timechart …
    /// by`); the field's values LEFT JOINed, so every series' group is
    /// there.
    Series(i64),
}

/// `groups`' first `n` keys, as `g`.
fn group_keys(n: usize) -> Vec<Expr> {
    KEY_NAMES[..n].iter().map(|k| col(Some("g"), k)).collect()
}

/// `labeled`'s keys, as `l`: the bucket, the series (NULL for `other`)
/// and its rank.
fn series_keys(span_ms: i64) -> Vec<Expr> {
    vec![
        bucket_of(col(Some("l"), c::TIME_MS), span_ms),
        col(Some("l"), "s"),
        col(Some("l"), "r"),
    ]
}

/// The keys as the columns `k0`, `k1`, … of an aggregate's relation.
fn key_items(keys: &[Expr]) -> Vec<Item> {
    keys.iter()
        .enumerate()
        .map(|(i, k)| match k {
            Expr::Column { name, .. } if name == KEY_NAMES[i] => Item::from(k.clone()),
            _ => Item::named(k.clone(), KEY_NAMES[i]),
        })
        .collect()
}

/// The hidden columns beside aggregate column `at` of a table made from
/// an aggregate's relation `a`: the number of an `earliest`/`latest`,
/// the count of a `values`.
fn extra_items(func: AggFunc, at: usize) -> Vec<Item> {
    let a = |n: &str| col(Some("a"), n);
    match func {
        AggFunc::Earliest | AggFunc::Latest => vec![Item::named(a("xn"), &sql_number_column(at))],
        AggFunc::Values => vec![Item::named(a("xt"), &sql_total_column(at))],
        _ => Vec::new(),
    }
}

/// Aliases of the digit relations [`buckets`] multiplies.
const DIGITS: [&str; 5] = ["i0", "i1", "i2", "i3", "i4"];
const _: () = assert!(crate::plan::MAX_BUCKETS <= 100_000);

/// Every bucket of `t` as a relation `b` of one column `b`, its start:
/// the numbers below the count made of decimal digits (`VALUES` of
/// 0-9 cross joined), which both engines read without a table.
fn buckets(t: &Timechart) -> Relation {
    let count = t.count().max(0);
    let mut digits = 1;
    while 10_i64.pow(digits as u32) < count {
        digits += 1;
    }
    let digit = |alias: &'static str| Relation::Values {
        rows: (0..10).collect(),
        alias,
        column: "i",
    };
    let mut index: Option<Expr> = None;
    for (k, alias) in DIGITS[..digits].iter().enumerate() {
        let d = col(Some(alias), "i");
        let d = match k {
            0 => d,
            _ => Expr::Int(10_i64.pow(k as u32)).binary(Op::Times, d),
        };
        index = Some(match index {
            None => d,
            Some(i) => i.binary(Op::Plus, d),
        });
    }
    let index = index.expect("one digit at least");
    let start = Expr::Int(t.first_ms).binary(
        Op::Plus,
        index
            .clone()
            .nested()
            .binary(Op::Times, Expr::Int(t.span_ms)),
    );
    let mut select = Select {
        filter: Some(index.binary(Op::Lt, Expr::Int(count))),
        ..Select::new(vec![Item::named(start, "b")], digit(DIGITS[0]))
    };
    for alias in &DIGITS[1..digits] {
        select.joins.push(Join::cross(digit(alias)));
    }
    Relation::Query {
        query: Box::new(select_query(select)),
        alias: "b",
    }
}

/// A table so far: the select making it, and its order.
struct Table {
    select: Select,
    order: Vec<Order>,
}

struct Builder<'a> {
    plan: &'a Plan,
    tables: &'a Tables,
    /// CTEs after `matches` (and the search's own before it).
    with: Vec<Cte>,
    /// The fields whose values have a CTE, by position (`f0`, `f1`, …),
    /// with the records they are read over ([`Builder::source`]).
    fields: Vec<(String, &'static str)>,
    /// The fields (positions in `fields`) whose per-record key has a CTE
    /// (`d0`, …: [`Builder::key_of`]).
    keyed: Vec<usize>,
    needs_matches: bool,
    /// The records the table stages read: `matches`, or `kept` (what the
    /// records stages before them keep).
    source: &'static str,
}

/// The CTE names a builder makes: they are `&'static str` in the tree
/// (never user text), so the numbered ones come from this list.
/// A field may have two: read by a `dedup` over every match, and by a
/// table stage after it over the records it kept.
const FIELD_CTES: [&str; 32] = [
    "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11", "f12", "f13", "f14",
    "f15", "f16", "f17", "f18", "f19", "f20", "f21", "f22", "f23", "f24", "f25", "f26", "f27",
    "f28", "f29", "f30", "f31",
];
const AGG_ALIASES: [&str; 16] = [
    "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10", "a11", "a12", "a13", "a14",
    "a15",
];
const KEY_CTES: [&str; 16] = [
    "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11", "d12", "d13", "d14",
    "d15",
];
const KEY_ALIASES: [&str; 8] = ["q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7"];
const KEY_NAMES: [&str; 8] = ["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"];
const KEY_NUMS: [&str; 8] = ["n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7"];

// pipeline::check bounds a stage by these lists' lengths.
const _: () = assert!(FIELD_CTES.len() == 2 * crate::pipeline::MAX_FIELDS);
const _: () = assert!(KEY_NAMES.len() == crate::pipeline::MAX_BY);
const _: () = assert!(KEY_ALIASES.len() == crate::pipeline::MAX_BY);
const _: () = assert!(KEY_CTES.len() == crate::pipeline::MAX_FIELDS);
const _: () = assert!(KEY_NUMS.len() == crate::pipeline::MAX_BY);
const _: () = assert!(AGG_ALIASES.len() == crate::pipeline::MAX_AGGS);

/// `a.dt = b.dt AND a.object = b.object AND a.seq = b.seq`.
fn same_record(a: &'static str, b: &'static str) -> Expr {
    Expr::And(
        [PARTITION_COLUMN, c::OBJECT, c::SEQ]
            .map(|n| col(Some(a), n).eq(col(Some(b), n)))
            .to_vec(),
    )
}

fn from(name: &str, alias: &'static str) -> Relation {
    named(name, Some(alias))
}

impl Builder<'_> {
    /// True if the search keeps every record of the window: the stage's
    /// records are then all those holding its fields.
    fn every_record(&self) -> bool {
        self.source == "matches"
            && self.plan.scan == Scan::Messages
            && self.plan.formula == Formula::Const(true)
    }

    /// `columns` of the field-values rows (`v`) in the window that `which`
    /// picks, each once (compaction on S3 may show a file twice), of the
    /// records the stages read ([`Builder::source`]; all of them, with no
    /// join, when the search keeps every record).
    fn values_rows(&mut self, columns: &[&str], which: Expr) -> Select {
        let mut filter = match self.plan.scan {
            Scan::Nothing => vec![Expr::Bool(false)],
            _ => window_range(self.plan, Some("v")).to_vec(),
        };
        filter.push(which);
        let mut select = Select {
            distinct: true,
            filter: Some(Expr::And(filter)),
            ..Select::new(
                columns.iter().map(|n| col(Some("v"), n).into()).collect(),
                self.tables.table(VALUES_TABLE, Some("v")),
            )
        };
        if !self.every_record() {
            self.needs_matches = true;
            select.joins.push(Join::inner(
                from(self.source, "k"),
                Expr::And(vec![same_record("v", "k")]),
            ));
        }
        select
    }

    /// The CTE of `field`'s values in the matches: `dt`, `object`, `seq`,
    /// `time_ms`, `value`, `num`.
    fn field(&mut self, field: &str) -> &'static str {
        // A field's CTE reads the records of one source: a `dedup`'s
        // over every match, a later table's over those it kept.
        let source = self.source;
        if let Some(i) = self
            .fields
            .iter()
            .position(|(f, s)| f == field && *s == source)
        {
            return FIELD_CTES[i];
        }
        let i = self.fields.len();
        let name = FIELD_CTES[i];
        self.fields.push((field.to_string(), source));
        let columns = [
            PARTITION_COLUMN,
            c::OBJECT,
            c::SEQ,
            c::TIME_MS,
            c::VALUE,
            c::NUM,
        ];
        let field_is = col(Some("v"), c::FIELD).eq(Expr::str(field));
        let select = self.values_rows(&columns, field_is);
        self.with.push(Cte {
            name,
            query: select_query(select),
        });
        name
    }

    /// The CTE of each record's key of `field` for `dedup`: `dt`,
    /// `object`, `seq` and `k`, the record's distinct values of the field
    /// in code-point order, escaped and joined as a `values(F)` list is
    /// (two records have the same `k` exactly when they hold the same
    /// values), and `n`, how many there are. A record without the field
    /// has no row.
    fn key_of(&mut self, field: &str) -> &'static str {
        let values = self.field(field);
        let at = FIELD_CTES
            .iter()
            .position(|n| *n == values)
            .expect("a field CTE's name");
        if !self.keyed.contains(&at) {
            self.keyed.push(at);
            let keys: Vec<Expr> = [PARTITION_COLUMN, c::OBJECT, c::SEQ]
                .map(|n| col(Some("f"), n))
                .to_vec();
            let mut items: Vec<Item> = keys.iter().cloned().map(Item::from).collect();
            let listed = Expr::Aggregate {
                name: "array_agg",
                args: vec![escaped(col(Some("f"), c::VALUE))],
                order_by: vec![Order::asc(col(Some("f"), c::VALUE))],
                filter: None,
            };
            items.push(Item::named(
                Expr::call("array_join", vec![listed, Expr::str(LIST_SEPARATOR)]),
                "k",
            ));
            items.push(Item::named(Expr::call("count", vec![Expr::Star]), "n"));
            self.with.push(Cte {
                name: KEY_CTES[at],
                query: select_query(Select {
                    group_by: keys,
                    ..Select::new(items, from(values, "f"))
                }),
            });
        }
        KEY_CTES[at]
    }

    /// `fields`: the newest `limit` matches, each a row of its time
    /// (`c0`, epoch ms), tag (`c1`) and per field its values as a
    /// `values(F)` list is (`c2`, … with their counts `c2_total`, …; NULL
    /// when the record has none), newest first.
    fn fields(&mut self, fields: &[String], limit: Option<u64>) -> Query {
        let newest = vec![
            Order::desc(col(Some("p"), c::TIME_MS)),
            Order::asc(col(Some("p"), c::OBJECT)),
            Order::asc(col(Some("p"), c::SEQ)),
        ];
        let keys = KEY_COLUMNS.map(|n| Item::from(col(Some("p"), n))).to_vec();
        let matches = self.matches("p");
        let base = Query {
            order_by: newest.clone(),
            limit,
            ..select_query(Select::new(keys, matches))
        };
        // Each record's tag, once (a file shown twice during compaction).
        let filter = match self.plan.scan {
            Scan::Nothing => Expr::Bool(false),
            _ => Expr::And(window_range(self.plan, Some("m")).to_vec()),
        };
        let tags = Select {
            distinct: true,
            filter: Some(filter),
            ..Select::new(
                [PARTITION_COLUMN, c::OBJECT, c::SEQ, c::TAG]
                    .map(|n| col(Some("m"), n).into())
                    .to_vec(),
                self.tables.messages(),
            )
        };
        let mut items = vec![
            Item::named(col(Some("p"), c::TIME_MS), &sql_column(0)),
            Item::named(col(Some("m"), c::TAG), &sql_column(1)),
        ];
        let mut select = Select::new(
            Vec::new(),
            Relation::Query {
                query: Box::new(base),
                alias: "p",
            },
        );
        select.joins.push(Join::inner(
            Relation::Query {
                query: Box::new(select_query(tags)),
                alias: "m",
            },
            Expr::And(vec![same_record("p", "m")]),
        ));
        for (i, field) in fields.iter().enumerate() {
            let cte = self.key_of(field);
            let alias = KEY_ALIASES[i];
            select.joins.push(Join::left(
                from(cte, alias),
                Expr::And(vec![same_record("p", alias)]),
            ));
            items.push(Item::named(col(Some(alias), "k"), &sql_column(2 + i)));
            items.push(Item::named(col(Some(alias), "n"), &sql_total_column(2 + i)));
        }
        select.items = items;
        Query {
            order_by: newest,
            ..select_query(select)
        }
    }

    /// The matches, as a relation aliased `alias`.
    /// (For a search of every record, still `matches`: the search's own
    /// statement, every record's key once, without the message text.)
    fn matches(&mut self, alias: &'static str) -> Relation {
        self.needs_matches = true;
        from(self.source, alias)
    }

    /// `groups`: a row per record and combination of its values of `by`
    /// (`k0`, `k1`, … and their numbers `n0`, …), with the record's key
    /// and time.
    fn groups(&mut self, by: &[String]) {
        let ctes: Vec<&'static str> = by.iter().map(|f| self.field(f)).collect();
        let first = ctes[0];
        let mut items: Vec<Item> = [PARTITION_COLUMN, c::OBJECT, c::SEQ, c::TIME_MS]
            .map(|n| col(Some("g0"), n).into())
            .to_vec();
        const G: [&str; 8] = ["g0", "g1", "g2", "g3", "g4", "g5", "g6", "g7"];
        for (i, _) in ctes.iter().enumerate() {
            items.push(Item::named(col(Some(G[i]), c::VALUE), KEY_NAMES[i]));
            items.push(Item::named(col(Some(G[i]), c::NUM), KEY_NUMS[i]));
        }
        let mut select = Select::new(items, from(first, G[0]));
        for (i, cte) in ctes.iter().enumerate().skip(1) {
            select.joins.push(Join::inner(
                from(cte, G[i]),
                Expr::And(vec![same_record("g0", G[i])]),
            ));
        }
        self.with.push(Cte {
            name: "groups",
            query: select_query(select),
        });
    }

    /// The table the first stage makes from the matches.
    fn first(&mut self, stage: &StageKind) -> Table {
        match stage {
            StageKind::Stats { aggs, by } => {
                let by: Vec<String> = by.iter().map(|f| f.path.clone()).collect();
                self.stats(aggs, &by)
            }
            StageKind::Top {
                rare,
                limit,
                fields,
            } => {
                let by: Vec<String> = fields.iter().map(|f| f.path.clone()).collect();
                self.top(*rare, *limit, &by)
            }
            StageKind::Timechart { agg, by, limit, .. } => match by {
                None => self.timechart(agg),
                Some(by) => self.timechart_by(agg, &by.path, *limit),
            },
            StageKind::Summary(fields) => {
                let fields: Vec<String> = fields.iter().map(|f| f.path.clone()).collect();
                self.summary(&fields)
            }
            other => unreachable!("`{}` makes no table here (plan::plan)", other.name()),
        }
    }

    /// `summary`: per field (those named, or every field the matches
    /// have), a row per top value: `c0` the field, `c1` how many records
    /// have it, `c2` its distinct values, `c3` the value, `c4` the records
    /// holding it and `c5` their percent of `c1`. The top
    /// [`SUMMARY_TOP`] values by records, ties by value; the fields in
    /// the order named, or by records (most first), ties by name.
    ///
    /// One read of the field-values table for every field: the matches'
    /// (field, value) pairs, each record's once.
    fn summary(&mut self, fields: &[String]) -> Table {
        let which = match fields {
            // Every field a stage can name: not the empty path of a JSON key `""`.
            [] => col(Some("v"), c::FIELD).binary(Op::NotEq, Expr::str("")),
            named => col(Some("v"), c::FIELD).in_list(named.iter().map(|f| Expr::str(f)).collect()),
        };
        let columns = [
            PARTITION_COLUMN,
            c::OBJECT,
            c::SEQ,
            c::FIELD,
            c::VALUE,
            c::NUM,
        ];
        let pairs = self.values_rows(&columns, which);
        self.with.push(Cte {
            name: "summarized",
            query: select_query(pairs),
        });
        let p = |n: &str| col(Some("p"), n);
        let count = || Expr::call("count", vec![Expr::Star]);
        let by_field = |call: Expr| Expr::Window {
            call: Box::new(call),
            partition_by: vec![p(c::FIELD)],
            order_by: Vec::new(),
        };
        // Each pair, and `rn` = 1 on one pair per record and field: the
        // records that have a field are its pairs with `rn` = 1.
        let marked = Select::new(
            vec![
                col(None, c::FIELD).into(),
                col(None, c::VALUE).into(),
                col(None, c::NUM).into(),
                Item::named(
                    Expr::Window {
                        call: Box::new(Expr::call("row_number", Vec::new())),
                        partition_by: [c::FIELD, PARTITION_COLUMN, c::OBJECT, c::SEQ]
                            .map(|n| col(None, n))
                            .to_vec(),
                        order_by: vec![Order::asc(col(None, c::VALUE))],
                    },
                    "rn",
                ),
            ],
            named("summarized", None),
        );
        // Per (field, value): its records `n`, its rank in the field, the
        // field's distinct values (its groups) and records. One read of
        // the pairs: Athena reads a CTE once per reference.
        let ranked = Select {
            // `num` is the value's: grouping by it too splits nothing.
            group_by: vec![p(c::FIELD), p(c::VALUE), p(c::NUM)],
            ..Select::new(
                vec![
                    p(c::FIELD).into(),
                    p(c::VALUE).into(),
                    p(c::NUM).into(),
                    Item::named(count(), "n"),
                    Item::named(
                        Expr::Window {
                            call: Box::new(Expr::call("row_number", Vec::new())),
                            partition_by: vec![p(c::FIELD)],
                            order_by: vec![Order::desc(count()), Order::asc(p(c::VALUE))],
                        },
                        "r",
                    ),
                    Item::named(by_field(count()), "dc"),
                    Item::named(
                        by_field(Expr::call(
                            "sum",
                            vec![Expr::Aggregate {
                                name: "count",
                                args: vec![Expr::Star],
                                order_by: Vec::new(),
                                filter: Some(Box::new(p("rn").eq(Expr::Int(1)))),
                            }],
                        )),
                        "records",
                    ),
                ],
                Relation::Query {
                    query: Box::new(select_query(marked)),
                    alias: "p",
                },
            )
        };
        let t = |n: &str| col(Some("t"), n);
        let select = Select {
            filter: Some(t("r").binary(Op::LtEq, Expr::Int(SUMMARY_TOP as i64))),
            ..Select::new(
                vec![
                    Item::named(t(c::FIELD), &sql_column(0)),
                    Item::named(t("records"), &sql_column(1)),
                    Item::named(t("dc"), &sql_column(2)),
                    Item::named(t(c::VALUE), &sql_column(3)),
                    Item::named(t(c::NUM), &sql_number_column(3)),
                    Item::named(t("n"), &sql_column(4)),
                    Item::named(
                        Expr::Cast(Box::new(t("n")), "DOUBLE")
                            .binary(Op::Times, Expr::Double(100.0))
                            .binary(Op::Divide, t("records")),
                        &sql_column(5),
                    ),
                ],
                Relation::Query {
                    query: Box::new(select_query(ranked)),
                    alias: "t",
                },
            )
        };
        let out = |i: usize| col(None, &sql_column(i));
        let mut order = match fields {
            [] => vec![Order::desc(out(1)), Order::asc(out(0))],
            named => vec![Order::asc(Expr::Case(
                Box::new(out(0)),
                named
                    .iter()
                    .enumerate()
                    .map(|(i, f)| (Expr::str(f), Expr::Int(i as i64)))
                    .collect(),
            ))],
        };
        order.extend([Order::desc(out(4)), Order::asc(out(3))]);
        Table {
            select: self.wrapped(select),
            order,
        }
    }

    fn stats(&mut self, aggs: &[Agg], by: &[String]) -> Table {
        let keys = &KEY_NAMES[..by.len()];
        let nums = &KEY_NUMS[..by.len()];
        if !by.is_empty() {
            self.groups(by);
        }
        // A relation per aggregate: the by values and one column `x`;
        // with `by`, `count()` is the groups' own count, no relation.
        let counted = |a: &Agg| !by.is_empty() && a.func == AggFunc::Count;
        let grouping = match by.len() {
            0 => Keys::None,
            n => Keys::Groups(n),
        };
        let mut parts: Vec<Select> = Vec::new();
        for agg in aggs.iter().filter(|a| !counted(a)) {
            parts.push(self.aggregate(agg, grouping));
        }
        let mut items: Vec<Item> = Vec::new();
        let mut select = if by.is_empty() {
            let mut select = Select::new(
                Vec::new(),
                Relation::Query {
                    query: Box::new(select_query(parts.remove(0))),
                    alias: AGG_ALIASES[0],
                },
            );
            for (i, part) in parts.into_iter().enumerate() {
                select.joins.push(Join::cross(Relation::Query {
                    query: Box::new(select_query(part)),
                    alias: AGG_ALIASES[i + 1],
                }));
            }
            select
        } else {
            // Every group once, its keys, their numbers (a value's number
            // is the value's, so they group alike) and its records.
            let mut k: Vec<Expr> = keys.iter().map(|n| col(None, n)).collect();
            k.extend(nums.iter().map(|n| col(None, n)));
            let mut each: Vec<Item> = k.iter().cloned().map(Item::from).collect();
            each.push(Item::named(Expr::call("count", vec![Expr::Star]), "c"));
            let all = Select {
                group_by: k,
                ..Select::new(each, named("groups", None))
            };
            for i in 0..by.len() {
                items.push(Item::named(col(Some("g"), keys[i]), &sql_column(i)));
                items.push(Item::named(col(Some("g"), nums[i]), &sql_number_column(i)));
            }
            let mut select = Select::new(
                Vec::new(),
                Relation::Query {
                    query: Box::new(select_query(all)),
                    alias: "g",
                },
            );
            let aliases = aggs.iter().enumerate().filter(|(_, a)| !counted(a));
            for ((i, _), part) in aliases.zip(parts) {
                let alias = AGG_ALIASES[i];
                select.joins.push(Join::left(
                    Relation::Query {
                        query: Box::new(select_query(part)),
                        alias,
                    },
                    Expr::And(vec![Expr::And(
                        keys.iter()
                            .map(|k| col(Some("g"), k).eq(col(Some(alias), k)))
                            .collect(),
                    )]),
                ));
            }
            select
        };
        for (i, agg) in aggs.iter().enumerate() {
            let x = match counted(agg) {
                true => col(Some("g"), "c"),
                false => col(Some(AGG_ALIASES[i]), "x"),
            };
            // A group without the field has no row in the aggregate's
            // relation: its count of values is 0, the rest NULL.
            let x = match agg.func {
                AggFunc::Dc if !by.is_empty() => Expr::call("coalesce", vec![x, Expr::Int(0)]),
                _ => x,
            };
            let at = by.len() + i;
            items.push(Item::named(x, &sql_column(at)));
            if matches!(agg.func, AggFunc::Earliest | AggFunc::Latest) {
                items.push(Item::named(
                    col(Some(AGG_ALIASES[i]), "xn"),
                    &sql_number_column(at),
                ));
            }
            if agg.func == AggFunc::Values {
                items.push(Item::named(
                    col(Some(AGG_ALIASES[i]), "xt"),
                    &sql_total_column(at),
                ));
            }
        }
        select.items = items;
        let order = (0..by.len())
            .map(|i| Order::asc(col(None, &sql_column(i))))
            .collect();
        // Without `by`, one row. `LIMIT 1` changes nothing on Trino; on
        // DataFusion 55 it keeps a later `where` above the aggregate: its
        // optimizer folds a contradiction (`count = 0 AND count = 1`) to
        // `false` and pushes that below an aggregate without groups,
        // which then counts no rows and returns a row of 0.
        let select = match by.is_empty() {
            true => self.wrapped_query(select, Vec::new(), Some(1)),
            false => self.wrapped(select),
        };
        Table { select, order }
    }

    /// A relation of the keys (`k0`, …) and `x`, the aggregate over each
    /// group (one row when there are no keys); `earliest`/`latest` add
    /// `xn`, its number, and `values` `xt`, how many values it has.
    fn aggregate(&mut self, agg: &Agg, grouping: Keys) -> Select {
        // The rows aggregated: the groups' records (or the matches), and
        // for an aggregate of a field its values in them.
        let Some(field) = &agg.field else {
            // count(): records per group.
            let (rel, keys) = match grouping {
                Keys::None => (self.matches("g"), Vec::new()),
                Keys::Groups(n) => (from("groups", "g"), group_keys(n)),
                Keys::Buckets(span) => (
                    self.matches("g"),
                    vec![bucket_of(col(Some("g"), c::TIME_MS), span)],
                ),
                Keys::Series(span) => (from("labeled", "l"), series_keys(span)),
            };
            let mut items = key_items(&keys);
            items.push(Item::named(Expr::call("count", vec![Expr::Star]), "x"));
            return Select {
                group_by: keys,
                ..Select::new(items, rel)
            };
        };
        let cte = self.field(&field.path);
        // The keyed records joined, record by record, to the field's values.
        let joined = |keyed: &str, alias: &'static str, join: fn(Relation, Expr) -> Join| {
            let mut s = Select::new(Vec::new(), from(keyed, alias));
            s.joins.push(join(
                from(cte, "f"),
                Expr::And(vec![same_record(alias, "f")]),
            ));
            s
        };
        let (mut select, keys) = match grouping {
            Keys::None => (Select::new(Vec::new(), from(cte, "f")), Vec::new()),
            Keys::Groups(n) => (joined("groups", "g", Join::inner), group_keys(n)),
            Keys::Buckets(span) => (
                Select::new(Vec::new(), from(cte, "f")),
                vec![bucket_of(col(Some("f"), c::TIME_MS), span)],
            ),
            // A series' records without the field still make its group (a
            // count of 0 values, the rest NULL).
            Keys::Series(span) => (joined("labeled", "l", Join::left), series_keys(span)),
        };
        // Only a LEFT JOIN's groups have rows without a value.
        let nullable = matches!(grouping, Keys::Series(_));
        let value = col(Some("f"), c::VALUE);
        let num = col(Some("f"), c::NUM);
        let x = match agg.func {
            AggFunc::Dc => Expr::call("count", vec![Expr::Distinct(Box::new(value))]),
            AggFunc::Min => Expr::call("min", vec![num]),
            AggFunc::Max => Expr::call("max", vec![num]),
            AggFunc::Sum => Expr::call("sum", vec![num]),
            AggFunc::Avg => Expr::call("avg", vec![num]),
            AggFunc::Earliest | AggFunc::Latest => {
                let ranked = picked(agg.func, keys.clone(), nullable);
                // Inside, the keys are named for the outer GROUP BY.
                let mut inner_items: Vec<Item> = keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| Item::named(k.clone(), KEY_NAMES[i]))
                    .collect();
                inner_items.push(Item::named(value, "v"));
                inner_items.push(Item::named(num, "vn"));
                inner_items.push(Item::named(ranked, "rn"));
                select.items = inner_items;
                let mut outer_items: Vec<Item> = KEY_NAMES[..keys.len()]
                    .iter()
                    .map(|k| col(Some("r"), k).into())
                    .collect();
                outer_items.push(Item::named(
                    Expr::call("max", vec![col(Some("r"), "v")]),
                    "x",
                ));
                outer_items.push(Item::named(
                    Expr::call("max", vec![col(Some("r"), "vn")]),
                    "xn",
                ));
                return Select {
                    filter: Some(col(Some("r"), "rn").eq(Expr::Int(1))),
                    group_by: KEY_NAMES[..keys.len()]
                        .iter()
                        .map(|k| col(Some("r"), k))
                        .collect(),
                    ..Select::new(
                        outer_items,
                        Relation::Query {
                            query: Box::new(select_query(select)),
                            alias: "r",
                        },
                    )
                };
            }
            AggFunc::Values => return values_of(select, &keys, nullable),
            AggFunc::Count => unreachable!("count() has no field"),
        };
        let mut items = key_items(&keys);
        items.push(Item::named(x, "x"));
        select.items = items;
        select.group_by = keys;
        select
    }

    fn top(&mut self, rare: bool, limit: u64, by: &[String]) -> Table {
        self.groups(by);
        let keys = &KEY_NAMES[..by.len()];
        let nums = &KEY_NUMS[..by.len()];
        let distinct_records = Select {
            distinct: true,
            ..Select::new(
                [PARTITION_COLUMN, c::OBJECT, c::SEQ]
                    .map(|n| col(None, n).into())
                    .to_vec(),
                named("groups", None),
            )
        };
        let total = Select::new(
            vec![Item::named(Expr::call("count", vec![Expr::Star]), "total")],
            Relation::Query {
                query: Box::new(select_query(distinct_records)),
                alias: "r",
            },
        );
        let mut items: Vec<Item> = Vec::new();
        for i in 0..by.len() {
            items.push(Item::named(col(Some("g"), keys[i]), &sql_column(i)));
            items.push(Item::named(col(Some("g"), nums[i]), &sql_number_column(i)));
        }
        let count = Expr::call("count", vec![Expr::Star]);
        items.push(Item::named(count.clone(), &sql_column(by.len())));
        items.push(Item::named(
            Expr::Cast(Box::new(count), "DOUBLE")
                .binary(Op::Times, Expr::Double(100.0))
                .binary(Op::Divide, col(Some("t"), "total")),
            &sql_column(by.len() + 1),
        ));
        let mut group_by: Vec<Expr> = keys.iter().map(|k| col(Some("g"), k)).collect();
        group_by.extend(nums.iter().map(|k| col(Some("g"), k)));
        group_by.push(col(Some("t"), "total"));
        let mut select = Select {
            group_by,
            ..Select::new(items, named("groups", Some("g")))
        };
        select.joins.push(Join::cross(Relation::Query {
            query: Box::new(select_query(total)),
            alias: "t",
        }));
        let count_col = col(None, &sql_column(by.len()));
        let mut order = vec![if rare {
            Order::asc(count_col)
        } else {
            Order::desc(count_col)
        }];
        order.extend((0..by.len()).map(|i| Order::asc(col(None, &sql_column(i)))));
        let inner = Query {
            order_by: order.clone(),
            limit: Some(limit),
            ..select_query(select)
        };
        Table {
            select: Select::new(
                vec![Item::from(Expr::Star)],
                Relation::Query {
                    query: Box::new(inner),
                    alias: "t",
                },
            ),
            order,
        }
    }

    /// `timechart AGG`: a row per bucket of the window, `c0` its start
    /// (`time_ms`) and `c1` the aggregate over its records (`count` and
    /// `dc` 0 in a bucket without, the rest NULL); `earliest`/`latest`
    /// add `c1_num`, `values` `c1_total`. The buckets are the statement's
    /// own ([`buckets`]), so later stages see the empty ones.
    fn timechart(&mut self, agg: &Agg) -> Table {
        let Some(t) = self.plan.timechart else {
            unreachable!("a timechart's plan has its buckets (plan::plan)");
        };
        let part = self.aggregate(agg, Keys::Buckets(t.span_ms));
        let a = |n: &str| col(Some("a"), n);
        let x = match agg.func {
            AggFunc::Count | AggFunc::Dc => Expr::call("coalesce", vec![a("x"), Expr::Int(0)]),
            _ => a("x"),
        };
        let mut items = vec![
            Item::named(col(Some("b"), "b"), &sql_column(0)),
            Item::named(x, &sql_column(1)),
        ];
        items.extend(extra_items(agg.func, 1));
        let mut select = Select::new(items, buckets(&t));
        select.joins.push(Join::left(
            Relation::Query {
                query: Box::new(select_query(part)),
                alias: "a",
            },
            Expr::And(vec![a(KEY_NAMES[0]).eq(col(Some("b"), "b"))]),
        ));
        Table {
            select: self.wrapped(select),
            order: vec![Order::asc(col(None, &sql_column(0)))],
        }
    }

    /// `timechart … by F limit=N`, long: a row per bucket and series
    /// with records, `c0` the bucket's start (`time_ms`), `c1` the series
    /// (one of the N values of F with the most records over the window,
    /// or NULL for `other`: the records with a value past them), `c2` its
    /// rank (NULL for `other`), `c3` the aggregate over the bucket's
    /// records in the series (and its `c3_num` or `c3_total`, as
    /// [`Builder::timechart`]). The runner makes a column per series and
    /// adds the empty buckets ([`Timechart`]).
    fn timechart_by(&mut self, agg: &Agg, by: &str, limit: u64) -> Table {
        let Some(Timechart { span_ms, .. }) = self.plan.timechart else {
            unreachable!("a timechart's plan has its buckets (plan::plan)");
        };
        let values = self.field(by);
        // The N values with the most records, ties by value, and rank.
        let ranked = Select {
            group_by: vec![col(None, c::VALUE)],
            ..Select::new(
                vec![
                    Item::named(col(None, c::VALUE), "v"),
                    Item::named(
                        Expr::Window {
                            call: Box::new(Expr::call("row_number", Vec::new())),
                            partition_by: Vec::new(),
                            order_by: vec![
                                Order::desc(Expr::call("count", vec![Expr::Star])),
                                Order::asc(col(None, c::VALUE)),
                            ],
                        },
                        "r",
                    ),
                ],
                named(values, None),
            )
        };
        let series = Select {
            filter: Some(col(Some("s"), "r").binary(Op::LtEq, Expr::Int(limit as i64))),
            ..Select::new(
                vec![col(Some("s"), "v").into(), col(Some("s"), "r").into()],
                Relation::Query {
                    query: Box::new(select_query(ranked)),
                    alias: "s",
                },
            )
        };
        self.with.push(Cte {
            name: "series",
            query: select_query(series),
        });
        // Each record once per series it is in: a record with two values
        // past the N is in `other` once.
        let mut labeled = Select {
            distinct: true,
            ..Select::new(
                vec![
                    col(Some("f"), PARTITION_COLUMN).into(),
                    col(Some("f"), c::OBJECT).into(),
                    col(Some("f"), c::SEQ).into(),
                    col(Some("f"), c::TIME_MS).into(),
                    Item::named(col(Some("s"), "v"), "s"),
                    Item::named(col(Some("s"), "r"), "r"),
                ],
                from(values, "f"),
            )
        };
        labeled.joins.push(Join::left(
            from("series", "s"),
            Expr::And(vec![col(Some("f"), c::VALUE).eq(col(Some("s"), "v"))]),
        ));
        self.with.push(Cte {
            name: "labeled",
            query: select_query(labeled),
        });
        let part = self.aggregate(agg, Keys::Series(span_ms));
        let a = |n: &str| col(Some("a"), n);
        let mut items = vec![
            Item::named(a(KEY_NAMES[0]), &sql_column(0)),
            Item::named(a(KEY_NAMES[1]), &sql_column(1)),
            Item::named(a(KEY_NAMES[2]), &sql_column(2)),
            Item::named(a("x"), &sql_column(3)),
        ];
        items.extend(extra_items(agg.func, 3));
        let select = Select::new(
            items,
            Relation::Query {
                query: Box::new(select_query(part)),
                alias: "a",
            },
        );
        Table {
            select: self.wrapped(select),
            order: vec![
                Order::asc(col(None, &sql_column(0))),
                Order::asc(col(None, &sql_column(2))),
            ],
        }
    }

    /// `SELECT * FROM (select) AS "t…"`: a table other stages wrap.
    fn wrapped(&self, select: Select) -> Select {
        Select::new(
            vec![Item::from(Expr::Star)],
            Relation::Query {
                query: Box::new(select_query(select)),
                alias: "t",
            },
        )
    }

    /// `table` with a later stage around it.
    fn wrap(&mut self, table: Table, stage: &StageKind, input: &Output) -> Table {
        let columns = input.columns();
        match stage {
            StageKind::Where(cond) => {
                let filter = condition(cond, columns, self.plan.timechart.as_ref());
                // A table is `SELECT * FROM (…) AS t`: the filter goes
                // on it, or on another such around it.
                let select = match table.select.filter {
                    None => table.select,
                    Some(_) => self.wrapped_query(table.select, Vec::new(), None),
                };
                Table {
                    select: Select {
                        filter: Some(filter),
                        ..select
                    },
                    order: table.order,
                }
            }
            StageKind::Sort(keys) => {
                let mut order: Vec<Order> = keys
                    .iter()
                    .map(|k| {
                        let i = input.position(&k.column.name).expect("pipeline::check");
                        let e = col(None, &sql_column(i));
                        if k.descending {
                            Order::desc_nulls_last(e)
                        } else {
                            Order::asc(e)
                        }
                    })
                    .collect();
                order.extend(table.order);
                Table {
                    select: table.select,
                    order,
                }
            }
            StageKind::Head(n) => Table {
                select: self.wrapped_query(table.select, table.order.clone(), Some(*n)),
                order: table.order,
            },
            other => unreachable!("`{}` reads records (pipeline::check)", other.name()),
        }
    }

    fn wrapped_query(&self, select: Select, order_by: Vec<Order>, limit: Option<u64>) -> Select {
        Select::new(
            vec![Item::from(Expr::Star)],
            Relation::Query {
                query: Box::new(Query {
                    order_by,
                    limit,
                    ..select_query(select)
                }),
                alias: "t",
            },
        )
    }
}

/// The start of `t`'s bucket of `span_ms`: `t` floored to a multiple of
/// the span, also before 1970.
fn bucket_of(t: Expr, span_ms: i64) -> Expr {
    let m = t.clone().binary(Op::Modulo, Expr::Int(span_ms));
    let m = m
        .binary(Op::Plus, Expr::Int(span_ms))
        .nested()
        .binary(Op::Modulo, Expr::Int(span_ms));
    t.binary(Op::Minus, m.nested())
}

/// `earliest`/`latest`'s rank of the field-values rows `f` within each
/// `partition`: 1 at the value of the first record in time, then object
/// and line (`latest`: the last), the least value at a tie.
/// With `nullable`, rows without a value (a LEFT JOIN's) rank last.
fn picked(func: AggFunc, partition: Vec<Expr>, nullable: bool) -> Expr {
    let f = |n: &str| col(Some("f"), n);
    let dir = |e: Expr| match func {
        AggFunc::Earliest => Order::asc(e),
        _ if nullable => Order::desc_nulls_last(e),
        _ => Order::desc(e),
    };
    Expr::Window {
        call: Box::new(Expr::call("row_number", Vec::new())),
        partition_by: partition,
        order_by: vec![
            dir(f(c::TIME_MS)),
            dir(f(c::OBJECT)),
            dir(f(c::SEQ)),
            Order::asc(f(c::VALUE)),
        ],
    }
}

/// `where`'s condition on the table's `columns`.
/// `buckets`: a timechart's, which its `time` column is.
fn condition(cond: &Condition, columns: &[ColumnDef], buckets: Option<&Timechart>) -> Expr {
    match cond {
        Condition::And(cs) => Expr::And(
            cs.iter()
                .map(|c| condition(c, columns, buckets).nested())
                .collect(),
        ),
        Condition::Or(cs) => Expr::Or(
            cs.iter()
                .map(|c| condition(c, columns, buckets).nested())
                .collect(),
        ),
        Condition::Compare { column, op, value } => {
            let i = columns
                .iter()
                .position(|d| d.name == column.name)
                .expect("pipeline::check found the column");
            let kind = columns[i].kind;
            let op = match op {
                CompareOp::Eq => Op::Eq,
                CompareOp::NotEq => Op::NotEq,
                CompareOp::Lt => Op::Lt,
                CompareOp::LtEq => Op::LtEq,
                CompareOp::Gt => Op::Gt,
                CompareOp::GtEq => Op::GtEq,
            };
            match (kind, value) {
                (ColumnKind::Number, Literal::Number(x)) => {
                    col(None, &sql_column(i)).binary(op, Expr::Double(*x))
                }
                // A text column's number: numeric text only.
                (ColumnKind::Text, Literal::Number(x)) => {
                    col(None, &sql_number_column(i)).binary(op, Expr::Double(*x))
                }
                (ColumnKind::Bucket, Literal::Text(t)) => bucket_condition(
                    buckets.expect("a bucket column comes from a timechart"),
                    col(None, &sql_column(i)),
                    op,
                    t,
                ),
                (ColumnKind::Text | ColumnKind::Name, Literal::Text(t)) => {
                    col(None, &sql_column(i)).binary(op, Expr::str(t))
                }
                // Text never equals a number, nor a list anything (and
                // pipeline::check refuses a name compared with a number).
                _ => Expr::Bool(false),
            }
        }
    }
}

/// `where time OP "text"` on a timechart's buckets, whose `time` is
/// their start as RFC 3339 text ([`Timechart::time_text`]) compared as
/// text, code point by code point. The compiler compares each bucket's
/// text and gives the SQL the buckets that hold as numbers on `column`
/// (their start in ms): a range, all but one, or a list. The text never
/// reaches the SQL.
fn bucket_condition(t: &Timechart, column: Expr, op: Op, text: &str) -> Expr {
    use std::cmp::Ordering::*;
    let starts: Vec<i64> = (0..t.count().max(0))
        .map(|i| t.first_ms + i * t.span_ms)
        .collect();
    let holds: Vec<bool> = starts
        .iter()
        .map(|&b| {
            let o = Timechart::time_text(b).as_str().cmp(text);
            match op {
                Op::Eq => o == Equal,
                Op::NotEq => o != Equal,
                Op::Lt => o == Less,
                Op::LtEq => o != Greater,
                Op::Gt => o == Greater,
                _ => o != Less,
            }
        })
        .collect();
    let kept: Vec<i64> = starts
        .iter()
        .zip(&holds)
        .filter(|(_, h)| **h)
        .map(|(b, _)| *b)
        .collect();
    let (Some(first), Some(last)) = (
        holds.iter().position(|h| *h),
        holds.iter().rposition(|h| *h),
    ) else {
        return Expr::Bool(false);
    };
    if kept.len() == starts.len() {
        return Expr::Bool(true);
    }
    if kept.len() == last - first + 1 {
        // One run: from its first bucket, to its last.
        let mut parts = Vec::new();
        if first > 0 {
            parts.push(column.clone().binary(Op::GtEq, Expr::Int(starts[first])));
        }
        if last + 1 < starts.len() {
            parts.push(column.binary(Op::LtEq, Expr::Int(starts[last])));
        }
        return match parts.len() {
            1 => parts.remove(0),
            _ => Expr::And(parts),
        };
    }
    if kept.len() + 1 == starts.len() {
        let gap = holds.iter().position(|h| !*h).expect("one bucket fails");
        return column.binary(Op::NotEq, Expr::Int(starts[gap]));
    }
    column.in_list(kept.into_iter().map(Expr::Int).collect())
}
