//! What the stages after a search mean, evaluated directly over the
//! search's records: the definition the compiled SQL is held to
//! (docs/language.md, "Stages").
//!
//! Written for clarity, not speed: every group is a `BTreeMap` of plain
//! values, every sort a `sort_by` over the rows.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, SecondsFormat, Utc};
use glaux_compiler::ast::{
    Agg, AggFunc, CompareOp, Condition, Literal, MAX_VALUES, Stage, StageKind,
};
use glaux_compiler::pipeline::{
    COUNT_COLUMN, OTHER_COLUMN, PERCENT_COLUMN, SUMMARY_COLUMNS, SUMMARY_TOP, TAG_COLUMN,
    TIME_COLUMN,
};
use glaux_compiler::values::number_of;

use crate::Record;

/// A record of the search's result, with its key.
#[derive(Debug, Clone, Copy)]
pub struct Keyed<'a> {
    pub object: &'a str,
    pub seq: i64,
    pub record: &'a Record,
}

impl<'a> Keyed<'a> {
    /// The distinct values of `field` in the record, in string order.
    fn values(&self, field: &str) -> BTreeSet<&'a str> {
        self.record
            .values
            .iter()
            .filter(|(f, _)| f == field)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The order of records in time: `(time_ms, object, seq)`.
    fn when(&self) -> (i64, &'a str, i64) {
        (self.record.time_ms, self.object, self.seq)
    }
}

/// A cell of a stage's table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Number(f64),
    Text(String),
    /// Values in string order; `total` how many there were (more than
    /// shown when `values(F)` stopped at [`MAX_VALUES`]).
    List {
        values: Vec<String>,
        total: usize,
    },
}

/// What the stages return.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Indices of the input records kept, in order.
    Records(Vec<usize>),
    Table {
        columns: Vec<String>,
        rows: Vec<Vec<Cell>>,
    },
}

/// The window a `timechart` covers: `[start_ms, end_ms)`.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start_ms: i64,
    pub end_ms: i64,
}

/// Runs `stages` over `records`: every match of the search in the window,
/// newest first (`time_ms` descending, then `object`, `seq`), no limit.
/// The bucket width of a `timechart` without `span=` is `default_span`
/// seconds (the compiler's choice for the window).
pub fn run(stages: &[Stage], records: &[Keyed<'_>], window: Window, default_span: u64) -> Output {
    let mut out = Output::Records((0..records.len()).collect());
    for stage in stages {
        out = step(stage, out, records, window, default_span);
    }
    out
}

fn step(
    stage: &Stage,
    input: Output,
    all: &[Keyed<'_>],
    window: Window,
    default_span: u64,
) -> Output {
    let recs = |input: &Output| -> Vec<Keyed<'_>> {
        match input {
            Output::Records(ix) => ix.iter().map(|&i| all[i]).collect(),
            Output::Table { .. } => unreachable!("the compiler checks stages read records"),
        }
    };
    match &stage.kind {
        StageKind::Stats { aggs, by } => {
            let by: Vec<&str> = by.iter().map(|f| f.path.as_str()).collect();
            let records = recs(&input);
            let mut columns: Vec<String> = by.iter().map(|s| s.to_string()).collect();
            columns.extend(aggs.iter().map(Agg::column));
            let rows = if by.is_empty() {
                vec![aggs.iter().map(|a| aggregate(a, &records)).collect()]
            } else {
                groups(&records, &by)
                    .into_iter()
                    .map(|(key, members)| {
                        let mut row: Vec<Cell> = key.into_iter().map(Cell::Text).collect();
                        row.extend(aggs.iter().map(|a| aggregate(a, &members)));
                        row
                    })
                    .collect()
            };
            Output::Table { columns, rows }
        }
        StageKind::Top {
            rare,
            limit,
            fields,
        } => {
            let fields: Vec<&str> = fields.iter().map(|f| f.path.as_str()).collect();
            let records = recs(&input);
            let having = records
                .iter()
                .filter(|r| fields.iter().all(|f| !r.values(f).is_empty()))
                .count();
            let mut combos: Vec<(Vec<String>, usize)> = groups(&records, &fields)
                .into_iter()
                .map(|(key, members)| (key, members.len()))
                .collect();
            combos.sort_by(|a, b| {
                let by_count = if *rare { a.1.cmp(&b.1) } else { b.1.cmp(&a.1) };
                by_count.then_with(|| a.0.cmp(&b.0))
            });
            let mut columns: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
            columns.push(COUNT_COLUMN.into());
            columns.push(PERCENT_COLUMN.into());
            let rows = combos
                .into_iter()
                .take(*limit as usize)
                .map(|(key, count)| {
                    let mut row: Vec<Cell> = key.into_iter().map(Cell::Text).collect();
                    row.push(Cell::Number(count as f64));
                    row.push(Cell::Number(count as f64 * 100.0 / having as f64));
                    row
                })
                .collect();
            Output::Table { columns, rows }
        }
        StageKind::Timechart {
            span,
            agg,
            by,
            limit,
        } => {
            let span_ms = span.map_or(default_span, |d| d.seconds) as i64 * 1_000;
            let records = recs(&input);
            let first = window.start_ms.div_euclid(span_ms) * span_ms;
            let last = (window.end_ms - 1).div_euclid(span_ms) * span_ms;
            let buckets: Vec<i64> = (0..)
                .map(|i| first + i * span_ms)
                .take_while(|b| *b <= last)
                .collect();
            let in_bucket = |b: i64| -> Vec<Keyed<'_>> {
                records
                    .iter()
                    .filter(|r| r.record.time_ms.div_euclid(span_ms) * span_ms == b)
                    .copied()
                    .collect()
            };
            let time = |b: i64| {
                Cell::Text(
                    DateTime::<Utc>::from_timestamp_millis(b)
                        .expect("in range")
                        .to_rfc3339_opts(SecondsFormat::Secs, true),
                )
            };
            let Some(by) = by else {
                let rows = buckets
                    .iter()
                    .map(|&b| vec![time(b), empty_as_zero(agg, aggregate(agg, &in_bucket(b)))])
                    .collect();
                return Output::Table {
                    columns: vec![TIME_COLUMN.into(), agg.column()],
                    rows,
                };
            };
            // The `limit` values with the most records over the window
            // (ties by value) get a column each; the rest sum in `other`.
            let ranked = rank_values(&records, &by.path);
            let top: Vec<&str> = ranked
                .iter()
                .take(*limit as usize)
                .map(|(v, _)| *v)
                .collect();
            let has_other = ranked.len() > top.len();
            let mut columns = vec![TIME_COLUMN.to_string()];
            columns.extend(top.iter().map(|v| v.to_string()));
            if has_other {
                columns.push(OTHER_COLUMN.into());
            }
            let rows = buckets
                .iter()
                .map(|&b| {
                    let members = in_bucket(b);
                    let mut row = vec![time(b)];
                    for v in &top {
                        let with: Vec<Keyed<'_>> = members
                            .iter()
                            .filter(|r| r.values(&by.path).contains(v))
                            .copied()
                            .collect();
                        row.push(empty_as_zero(agg, aggregate(agg, &with)));
                    }
                    if has_other {
                        let rest: Vec<Keyed<'_>> = members
                            .iter()
                            .filter(|r| r.values(&by.path).iter().any(|v| !top.contains(v)))
                            .copied()
                            .collect();
                        row.push(empty_as_zero(agg, aggregate(agg, &rest)));
                    }
                    row
                })
                .collect();
            Output::Table { columns, rows }
        }
        StageKind::Fields(fields) => {
            let records = recs(&input);
            let mut columns = vec![TIME_COLUMN.to_string(), TAG_COLUMN.to_string()];
            columns.extend(fields.iter().map(|f| f.path.clone()));
            let rows = records
                .iter()
                .map(|r| {
                    let mut row = vec![
                        Cell::Text(rfc3339_ms(r.record.time_ms)),
                        Cell::Text(r.record.tag.clone()),
                    ];
                    for f in fields {
                        let values: Vec<String> =
                            r.values(&f.path).into_iter().map(String::from).collect();
                        row.push(match values.len() {
                            0 => Cell::Null,
                            1 => Cell::Text(values[0].clone()),
                            total => Cell::List { values, total },
                        });
                    }
                    row
                })
                .collect();
            Output::Table { columns, rows }
        }
        StageKind::Dedup(fields) => {
            let Output::Records(ix) = input else {
                unreachable!("the compiler checks dedup reads records");
            };
            let mut seen = BTreeSet::new();
            let kept = ix
                .into_iter()
                .filter(|&i| {
                    let key: Vec<BTreeSet<&str>> =
                        fields.iter().map(|f| all[i].values(&f.path)).collect();
                    key.iter().all(|v| !v.is_empty()) && seen.insert(key)
                })
                .collect();
            Output::Records(kept)
        }
        StageKind::Head(n) => match input {
            Output::Records(mut ix) => {
                ix.truncate(*n as usize);
                Output::Records(ix)
            }
            Output::Table { columns, mut rows } => {
                rows.truncate(*n as usize);
                Output::Table { columns, rows }
            }
        },
        StageKind::Sort(keys) => {
            let Output::Table { columns, mut rows } = input else {
                unreachable!("the compiler checks sort reads a table");
            };
            let at: Vec<(usize, bool)> = keys
                .iter()
                .map(|k| (index(&columns, &k.column.name), k.descending))
                .collect();
            rows.sort_by(|a, b| {
                at.iter()
                    .map(|&(i, desc)| compare_cells(&a[i], &b[i], desc))
                    .find(|o| o.is_ne())
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            Output::Table { columns, rows }
        }
        StageKind::Where(cond) => {
            let Output::Table { columns, rows } = input else {
                unreachable!("the compiler checks where reads a table");
            };
            let rows = rows
                .into_iter()
                .filter(|row| holds(cond, &columns, row))
                .collect();
            Output::Table { columns, rows }
        }
        StageKind::Summary(fields) => {
            let records = recs(&input);
            let fields: Vec<String> = if fields.is_empty() {
                let mut count: BTreeMap<&str, usize> = BTreeMap::new();
                for r in &records {
                    let distinct: BTreeSet<&str> = r
                        .record
                        .values
                        .iter()
                        .map(|(f, _)| f.as_str())
                        .filter(|f| !f.is_empty())
                        .collect();
                    for f in distinct {
                        *count.entry(f).or_default() += 1;
                    }
                }
                let mut fields: Vec<(&str, usize)> = count.into_iter().collect();
                fields.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
                fields.into_iter().map(|(f, _)| f.to_string()).collect()
            } else {
                fields.iter().map(|f| f.path.clone()).collect()
            };
            let mut rows = Vec::new();
            for f in &fields {
                let having = records.iter().filter(|r| !r.values(f).is_empty()).count();
                let ranked = rank_values(&records, f);
                for (value, count) in ranked.iter().take(SUMMARY_TOP as usize) {
                    rows.push(vec![
                        Cell::Text(f.clone()),
                        Cell::Number(having as f64),
                        Cell::Number(ranked.len() as f64),
                        Cell::Text(value.to_string()),
                        Cell::Number(*count as f64),
                        Cell::Number(*count as f64 * 100.0 / having as f64),
                    ]);
                }
            }
            Output::Table {
                columns: SUMMARY_COLUMNS.iter().map(|c| c.to_string()).collect(),
                rows,
            }
        }
    }
}

/// `time` of `fields`: RFC 3339 with milliseconds, UTC.
pub fn rfc3339_ms(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .expect("a record time is in range")
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The records of each value combination of `by` (every distinct value of
/// each field, crossed), in the combinations' order; a record lacking a
/// field is in no group.
fn groups<'a>(records: &[Keyed<'a>], by: &[&str]) -> BTreeMap<Vec<String>, Vec<Keyed<'a>>> {
    let mut out: BTreeMap<Vec<String>, Vec<Keyed<'a>>> = BTreeMap::new();
    for r in records {
        let mut keys: Vec<Vec<String>> = vec![Vec::new()];
        for f in by {
            let values = r.values(f);
            keys = keys
                .into_iter()
                .flat_map(|k| {
                    values.iter().map(move |v| {
                        let mut k = k.clone();
                        k.push(v.to_string());
                        k
                    })
                })
                .collect();
        }
        for k in keys {
            out.entry(k).or_default().push(*r);
        }
    }
    out
}

/// The values of `field` with how many records hold each, most first,
/// ties by value.
fn rank_values<'a>(records: &[Keyed<'a>], field: &str) -> Vec<(&'a str, usize)> {
    let mut count: BTreeMap<&'a str, usize> = BTreeMap::new();
    for r in records {
        for v in r.values(field) {
            *count.entry(v).or_default() += 1;
        }
    }
    let mut ranked: Vec<(&str, usize)> = count.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    ranked
}

/// In a timechart, a bucket with no records counts 0.
fn empty_as_zero(agg: &Agg, cell: Cell) -> Cell {
    match (agg.func, cell) {
        (AggFunc::Count | AggFunc::Dc, Cell::Null) => Cell::Number(0.0),
        (_, cell) => cell,
    }
}

/// `agg` over the records of a group.
fn aggregate(agg: &Agg, records: &[Keyed<'_>]) -> Cell {
    let field = agg.field.as_ref().map(|f| f.path.as_str());
    // Each record's distinct values of the field.
    let values = || -> Vec<(Keyed<'_>, &str)> {
        let f = field.expect("the parser gives every aggregate but count() a field");
        records
            .iter()
            .flat_map(|r| r.values(f).into_iter().map(move |v| (*r, v)))
            .collect()
    };
    let numbers = || -> Vec<f64> {
        values()
            .into_iter()
            .filter_map(|(_, v)| number_of(v))
            .collect()
    };
    match agg.func {
        AggFunc::Count => Cell::Number(records.len() as f64),
        AggFunc::Dc => {
            let distinct: BTreeSet<&str> = values().into_iter().map(|(_, v)| v).collect();
            Cell::Number(distinct.len() as f64)
        }
        AggFunc::Min => numbers()
            .into_iter()
            .reduce(f64::min)
            .map_or(Cell::Null, Cell::Number),
        AggFunc::Max => numbers()
            .into_iter()
            .reduce(f64::max)
            .map_or(Cell::Null, Cell::Number),
        AggFunc::Sum => {
            let n = numbers();
            if n.is_empty() {
                Cell::Null
            } else {
                Cell::Number(n.iter().sum())
            }
        }
        AggFunc::Avg => {
            let n = numbers();
            if n.is_empty() {
                Cell::Null
            } else {
                Cell::Number(n.iter().sum::<f64>() / n.len() as f64)
            }
        }
        AggFunc::Earliest | AggFunc::Latest => {
            let vs = values();
            let pick = if agg.func == AggFunc::Earliest {
                vs.iter().map(|(r, _)| r.when()).min()
            } else {
                vs.iter().map(|(r, _)| r.when()).max()
            };
            // At that record, its least value.
            pick.and_then(|w| {
                vs.iter()
                    .filter(|(r, _)| r.when() == w)
                    .map(|(_, v)| *v)
                    .min()
            })
            .map_or(Cell::Null, |v| Cell::Text(v.to_string()))
        }
        AggFunc::Values => {
            let distinct: BTreeSet<&str> = values().into_iter().map(|(_, v)| v).collect();
            let total = distinct.len();
            Cell::List {
                values: distinct
                    .into_iter()
                    .take(MAX_VALUES)
                    .map(String::from)
                    .collect(),
                total,
            }
        }
    }
}

fn index(columns: &[String], name: &str) -> usize {
    columns
        .iter()
        .position(|c| c == name)
        .expect("the compiler checks columns exist")
}

/// Sort order of two cells: numbers as numbers, text as text, nulls last
/// whichever the direction.
fn compare_cells(a: &Cell, b: &Cell, descending: bool) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let key = |c: &Cell| -> Option<SortValue> {
        match c {
            Cell::Null => None,
            Cell::Number(x) => Some(SortValue::Number(*x)),
            Cell::Text(t) => Some(SortValue::Text(t.clone())),
            Cell::List { values, .. } => Some(SortValue::Text(values.join(","))),
        }
    };
    match (key(a), key(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => {
            let o = x.cmp(&y);
            if descending { o.reverse() } else { o }
        }
    }
}

#[derive(Debug)]
enum SortValue {
    Number(f64),
    Text(String),
}

impl SortValue {
    /// Numbers as SQL orders them (`-0` equals `0`), text by code point.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        match (self, other) {
            (SortValue::Number(a), SortValue::Number(b)) => {
                a.partial_cmp(b).unwrap_or(Ordering::Equal)
            }
            (SortValue::Text(a), SortValue::Text(b)) => a.cmp(b),
            (SortValue::Number(_), SortValue::Text(_)) => Ordering::Less,
            (SortValue::Text(_), SortValue::Number(_)) => Ordering::Greater,
        }
    }
}

/// True if `row` meets `cond`. A comparison with a number compares
/// numerically, and only values that are numbers (numeric text counts);
/// with text, it compares the text exactly. A null meets nothing.
fn holds(cond: &Condition, columns: &[String], row: &[Cell]) -> bool {
    match cond {
        Condition::And(cs) => cs.iter().all(|c| holds(c, columns, row)),
        Condition::Or(cs) => cs.iter().any(|c| holds(c, columns, row)),
        Condition::Compare { column, op, value } => {
            let cell = &row[index(columns, &column.name)];
            let ord = match (cell, value) {
                (Cell::Null, _) => return false,
                (Cell::Number(x), Literal::Number(y)) => x.partial_cmp(y),
                (Cell::Text(t), Literal::Number(y)) => number_of(t).and_then(|x| x.partial_cmp(y)),
                // A number is never text.
                (Cell::Number(_), Literal::Text(_)) => return false,
                (Cell::Text(s), Literal::Text(t)) => Some(s.as_str().cmp(t.as_str())),
                (Cell::List { .. }, _) => return false,
            };
            let Some(ord) = ord else { return false };
            use std::cmp::Ordering::*;
            match op {
                CompareOp::Eq => ord == Equal,
                CompareOp::NotEq => ord != Equal,
                CompareOp::Lt => ord == Less,
                CompareOp::LtEq => ord != Greater,
                CompareOp::Gt => ord == Greater,
                CompareOp::GtEq => ord != Less,
            }
        }
    }
}

/// A number as a table prints it: an integer without a fraction.
pub fn number_text(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}
