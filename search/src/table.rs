//! A stage's table (`| stats …`, `| top …`, `| timechart …`): Arrow
//! batches from either engine → named columns of typed cells. Drawing it
//! (a grid with bars, JSON, NDJSON, CSV) is the CLI's (`glaux-cli`'s
//! `grid.rs`).
//!
//! The statement names its columns `c0`, `c1`, … (a column's name is user
//! text, which reaches SQL only as a literal); they get their names from
//! the compiled stages here, and the hidden ones (`c<i>_num`, what `where`
//! compares with numbers) are dropped. A timechart's statement returns the buckets
//! that hold records, each as its start in epoch milliseconds; this adds
//! the empty ones (a count of 0; other aggregates empty) and writes each
//! start in RFC 3339, UTC.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, Int64Type, UInt64Type};
use chrono::{DateTime, SecondsFormat, Utc};
use glaux_compiler::Compiled;
use glaux_compiler::ast::MAX_VALUES;
use glaux_compiler::ast::{AggFunc, StageKind};
use glaux_compiler::pipeline::{
    ColumnKind, NUMBER_SUFFIX, OTHER_COLUMN, TIME_COLUMN, TOTAL_SUFFIX, split_list,
};
use glaux_compiler::plan::Timechart;

/// A cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    /// `values(F)`: distinct values in code-point order, and how many
    /// there were (more than listed past [`MAX_VALUES`]).
    List {
        values: Vec<String>,
        total: u64,
    },
}

impl Cell {
    /// The cell as a table prints it.
    pub fn text(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Int(i) => i.to_string(),
            Cell::Float(x) => float_text(*x),
            Cell::Text(t) => t.clone(),
            Cell::List { values, total } => {
                let mut text = values.join(", ");
                if let Some(more) = total.checked_sub(values.len() as u64).filter(|&m| m > 0) {
                    text.push_str(&format!(" … (+{more} more)"));
                }
                text
            }
        }
    }

    /// How many values a list cell left out.
    pub fn left_out(&self) -> u64 {
        match self {
            Cell::List { values, total } => total.saturating_sub(values.len() as u64),
            _ => 0,
        }
    }

    /// The cell as the JSON formats write it (every digit kept).
    pub fn json(&self) -> serde_json::Value {
        match self {
            Cell::Null => serde_json::Value::Null,
            Cell::Int(i) => (*i).into(),
            Cell::Float(x) => serde_json::Number::from_f64(*x)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Cell::Text(t) => t.clone().into(),
            Cell::List { values, .. } => values.clone().into(),
        }
    }

    /// The cell's number, for bars.
    pub fn number(&self) -> Option<f64> {
        match self {
            Cell::Int(i) => Some(*i as f64),
            Cell::Float(x) => Some(*x),
            _ => None,
        }
    }
}

/// A float as a table prints it: shortest form that reads back, a whole
/// number without a fraction, and at most four decimals for a percentage
/// or an average (the JSON formats keep every digit).
fn float_text(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        let s = format!("{x:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A stage's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// The column a bar is drawn for in the table view: `top`/`rare`'s
    /// count, a timechart's aggregate, `summary`'s percent.
    pub bar: Option<usize>,
    /// What a whole bar stands for: `None`, the column's largest value
    /// (`summary`: 100, a percent).
    pub bar_full: Option<f64>,
    /// The table view prints these leading columns once per run of rows
    /// that repeat them (`summary`'s field, records and distinct).
    pub grouped: usize,
}

/// The table of `compiled`'s stages from the rows its statement returned.
pub fn from_batches(compiled: &Compiled, batches: &[RecordBatch]) -> Result<Table, String> {
    let Some(schema) = batches.first().map(|b| b.schema()) else {
        // No batch at all: the columns are known, no rows.
        return Ok(fill(compiled, empty(compiled)));
    };
    let hidden = |name: &str| name.ends_with(NUMBER_SUFFIX) || name.ends_with(TOTAL_SUFFIX);
    let keep: Vec<usize> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| !hidden(f.name()))
        .map(|(i, _)| i)
        .collect();
    // `timechart … by`: a row per bucket and series, made columns in
    // `fill`.
    let columns = match by_series(compiled) {
        true => vec![
            "time".into(),
            "series".into(),
            "rank".into(),
            "value".into(),
        ],
        false => empty(compiled).columns,
    };
    if columns.len() != keep.len() {
        return Err(format!(
            "the statement returned {} columns, the stages make {}",
            keep.len(),
            columns.len()
        ));
    }
    // A list column's one text cell, and the column of its total.
    let kinds = compiled.plan.outputs.last().map(|o| o.columns());
    let long_values = by_series(compiled)
        && matches!(
            compiled.plan.table_stage(),
            Some(StageKind::Timechart { agg, .. }) if agg.func == AggFunc::Values
        );
    let lists: Vec<Option<usize>> = keep
        .iter()
        .enumerate()
        .map(|(at, &i)| {
            // `timechart values(F) by G`'s long rows: the value is the 4th.
            let list = match long_values {
                true => at == 3,
                false => kinds.and_then(|k| k.get(at)).map(|c| c.kind) == Some(ColumnKind::List),
            };
            let total = format!("{}{TOTAL_SUFFIX}", schema.field(i).name());
            list.then(|| schema.index_of(&total).ok()).flatten()
        })
        .collect();
    // `fields`: a record's time, and a field's one value as text.
    let fields = matches!(compiled.plan.table_stage(), Some(StageKind::Fields(_)));
    let mut rows = Vec::new();
    for batch in batches {
        for r in 0..batch.num_rows() {
            let mut row = Vec::with_capacity(keep.len());
            for (&i, list) in keep.iter().zip(&lists) {
                let cell = cell(batch.column(i).as_ref(), r)?;
                row.push(match list {
                    Some(t) => {
                        let total = self::cell(batch.column(*t).as_ref(), r)?;
                        list_cell(cell, &total, !fields)?
                    }
                    None => cell,
                });
            }
            if fields {
                row = row
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| record_cell(i, c))
                    .collect();
            }
            rows.push(row);
        }
    }
    let table = Table {
        columns,
        rows,
        bar: None,
        bar_full: None,
        grouped: 0,
    };
    Ok(fill(compiled, table))
}

/// A cell of a `fields` row: the record time (epoch ms) in RFC 3339 with
/// milliseconds, a field's values as a list only when it has several.
fn record_cell(i: usize, cell: Cell) -> Cell {
    match (i, cell) {
        (0, Cell::Int(ms)) => DateTime::<Utc>::from_timestamp_millis(ms)
            .map(|d| Cell::Text(d.to_rfc3339_opts(SecondsFormat::Millis, true)))
            .unwrap_or(Cell::Int(ms)),
        (_, Cell::List { values, .. }) if values.is_empty() => Cell::Null,
        (_, Cell::List { mut values, .. }) if values.len() == 1 => {
            Cell::Text(values.pop().expect("one"))
        }
        (_, cell) => cell,
    }
}

/// A list cell from its text (NULL: a group without the field) and its
/// total; `bounded`: a `values(F)` list, at most [`MAX_VALUES`] of them.
fn list_cell(text: Cell, total: &Cell, bounded: bool) -> Result<Cell, String> {
    let values = match text {
        Cell::Null => Vec::new(),
        Cell::Text(t) => split_list(&t),
        other => return Err(format!("a list cell that is not text: {other:?}")),
    };
    let total = match total {
        Cell::Int(n) => (*n).max(0) as u64,
        Cell::Null => 0,
        other => return Err(format!("a list's total that is not a count: {other:?}")),
    };
    if (bounded && values.len() > MAX_VALUES) || (values.len() as u64) > total {
        return Err(format!(
            "a list of {} values of {total}, more than the statement keeps",
            values.len()
        ));
    }
    Ok(Cell::List { values, total })
}

fn cell(array: &dyn Array, row: usize) -> Result<Cell, String> {
    if array.is_null(row) {
        return Ok(Cell::Null);
    }
    Ok(match array.data_type() {
        DataType::Int64 => Cell::Int(array.as_primitive::<Int64Type>().value(row)),
        // `row_number()` on DataFusion (a timechart's series rank).
        DataType::UInt64 => {
            let n = array.as_primitive::<UInt64Type>().value(row);
            Cell::Int(i64::try_from(n).map_err(|_| format!("a count past i64: {n}"))?)
        }
        DataType::Float64 => Cell::Float(array.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => Cell::Text(array.as_string::<i32>().value(row).to_string()),
        DataType::Utf8View => Cell::Text(array.as_string_view().value(row).to_string()),
        DataType::LargeUtf8 => Cell::Text(array.as_string::<i64>().value(row).to_string()),
        DataType::Null => Cell::Null,
        other => {
            let cast = arrow::compute::cast(&array.slice(row, 1), &DataType::Utf8)
                .map_err(|e| format!("a table cell of type {other}: {e}"))?;
            Cell::Text(cast.as_string::<i32>().value(0).to_string())
        }
    })
}

/// True if the stages end in `timechart … by`: the statement's rows are
/// long (bucket, series, rank, value) and become a column per series.
fn by_series(compiled: &Compiled) -> bool {
    compiled.plan.outputs.last().is_some_and(|o| {
        o.columns()
            .iter()
            .any(|c| c.kind == ColumnKind::ValueColumns)
    })
}

/// The table's columns with no rows, for a statement that returned none.
fn empty(compiled: &Compiled) -> Table {
    if by_series(compiled) {
        return Table {
            columns: vec![
                "time".into(),
                "series".into(),
                "rank".into(),
                "value".into(),
            ],
            rows: Vec::new(),
            bar: None,
            bar_full: None,
            grouped: 0,
        };
    }
    let columns = compiled
        .plan
        .outputs
        .last()
        .map(|o| o.columns().iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    Table {
        columns,
        rows: Vec::new(),
        bar: None,
        bar_full: None,
        grouped: 0,
    }
}

/// A timechart's times written out (`by`: its series made columns and
/// the empty cells added); the bar column chosen.
fn fill(compiled: &Compiled, mut table: Table) -> Table {
    let last = compiled.plan.stages.last().map(|s| &s.kind);
    if compiled.plan.timechart.is_some() && !by_series(compiled) {
        // Without `by`, the statement gives every bucket (and the
        // stages after it have kept some): their times written out.
        for row in &mut table.rows {
            if let Some(Cell::Int(b)) = row.first() {
                row[0] = Cell::Text(Timechart::time_text(*b));
            }
        }
        table.bar = Some(1);
        return table;
    }
    if let (Some(t), Some(StageKind::Timechart { agg, .. })) = (&compiled.plan.timechart, last) {
        let zero = match agg.func {
            AggFunc::Count | AggFunc::Dc => Cell::Int(0),
            AggFunc::Values => Cell::List {
                values: Vec::new(),
                total: 0,
            },
            _ => Cell::Null,
        };
        // Each series' column: the by values in rank order, then `other`
        // (a NULL series) if any record is in it.
        let mut series: Vec<(i64, String)> = Vec::new();
        let mut other = false;
        let mut cells: std::collections::BTreeMap<(i64, usize), Cell> = Default::default();
        for row in &table.rows {
            match (&row[1], &row[2]) {
                // The rank orders the columns; one that is not a count
                // (it always is) sorts last rather than losing the
                // series.
                (Cell::Text(v), r) if !series.iter().any(|(_, s)| s == v) => {
                    let r = match r {
                        Cell::Int(r) => *r,
                        _ => i64::MAX,
                    };
                    series.push((r, v.clone()))
                }
                (Cell::Null, _) => other = true,
                _ => {}
            }
        }
        series.sort();
        let columns = series.len() + usize::from(other);
        for row in table.rows {
            let Some(Cell::Int(b)) = row.first() else {
                continue;
            };
            let at = match row.get(1) {
                Some(Cell::Text(v)) => series.iter().position(|(_, s)| s == v).unwrap_or(0),
                _ => series.len(),
            };
            cells.insert((*b, at), row.get(3).cloned().unwrap_or(Cell::Null));
        }
        let mut rows = Vec::new();
        let mut b = t.first_ms;
        while b <= t.last_ms {
            let mut row = vec![Cell::Text(Timechart::time_text(b))];
            for at in 0..columns {
                row.push(cells.remove(&(b, at)).unwrap_or_else(|| zero.clone()));
            }
            rows.push(row);
            b += t.span_ms;
        }
        let field = match last {
            Some(StageKind::Timechart { by: Some(by), .. }) => by.path.as_str(),
            _ => "",
        };
        table.columns = series_columns(field, series.into_iter().map(|(_, v)| v), other);
        // The columns of a `by` are read side by side: no bar.
        table.bar = None;
        table.rows = rows;
        return table;
    }
    match compiled.plan.table_stage() {
        Some(StageKind::Top { .. }) => {
            table.bar = table
                .columns
                .iter()
                .position(|c| c == glaux_compiler::pipeline::COUNT_COLUMN);
        }
        Some(StageKind::Summary(_)) => {
            table.bar = table
                .columns
                .iter()
                .position(|c| c == glaux_compiler::pipeline::PERCENT_COLUMN);
            table.bar_full = Some(100.0);
            // A field's rows follow each other (unless a `sort` mixed
            // them: then a row repeats the cells of the one above only
            // when it is the same field's).
            table.grouped = 3;
        }
        _ => {}
    }
    table
}

/// A `timechart … by field` table's column names: `time`, a column per
/// series value, then `other` if `other`. A value that would repeat a name
/// (a series whose value is `time` or `other`) is named `field=value`
/// instead, then numbered, so JSON and NDJSON keys stay distinct.
fn series_columns(field: &str, values: impl Iterator<Item = String>, other: bool) -> Vec<String> {
    let mut taken: std::collections::HashSet<String> =
        [TIME_COLUMN, OTHER_COLUMN].map(String::from).into();
    let mut columns = vec![TIME_COLUMN.to_string()];
    for v in values {
        let mut name = v.clone();
        if taken.contains(&name) {
            name = format!("{field}={v}");
        }
        let base = name.clone();
        let mut n = 2;
        while taken.contains(&name) {
            name = format!("{base}#{n}");
            n += 1;
        }
        taken.insert(name.clone());
        columns.push(name);
    }
    if other {
        columns.push(OTHER_COLUMN.to_string());
    }
    columns
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Series named like the fixed columns, or like the renamed ones, get
    /// distinct names; the others keep their value.
    #[test]
    fn series_columns_never_repeat_a_name() {
        let values = ["time", "a", "other", "user=time", "user=other"].map(String::from);
        assert_eq!(
            series_columns("user", values.into_iter(), true),
            [
                "time",
                "user=time",
                "a",
                "user=other",
                "user=user=time",
                "user=user=other",
                "other"
            ]
        );
        assert_eq!(
            series_columns("user", ["b".to_string()].into_iter(), false),
            ["time", "b"]
        );
    }

    #[test]
    fn floats_print_short() {
        assert_eq!(float_text(3.0), "3");
        assert_eq!(float_text(33.333333), "33.3333");
        assert_eq!(float_text(0.5), "0.5");
    }
}
