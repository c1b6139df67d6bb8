//! The stages of a query, checked: what each reads and what it makes.
//!
//! A search's records go into the first stage. `stats`, `top`, `rare`,
//! `timechart`, `summary` and `fields` turn records into a table of named
//! columns; `sort` and `where` need such a table (they name its columns);
//! `head` takes either, `dedup` records. This module checks a chain of
//! stages against those rules, with a diagnostic pointing at the stage or
//! column that breaks one, and gives the columns of the result
//! ([`Output`]), which the SQL, the reference evaluator and the output
//! formats all read.

use crate::ast::{AggFunc, Column, Condition, Literal, Span, Stage, StageKind};
use crate::error::{CompileError, ErrorKind};

/// What a chain of stages returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Records, newest first (no stages, or only `head` and `dedup`).
    Records,
    /// A table of these columns.
    Table(Vec<ColumnDef>),
}

/// A column of a stage's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: String,
    pub kind: ColumnKind,
}

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// A field's value as the record wrote it (a JSON string's text, a
    /// number's JSON text, `true`/`false`), or a time in RFC 3339.
    Text,
    /// A number (`count`, `dc`, `sum`, `avg`, `min`, `max`, `percent`).
    Number,
    /// A field's name (`summary`'s `field`): text that `where` compares
    /// with text only.
    Name,
    /// Several values of a field (`values(F)`; a `fields` column of a
    /// record with several).
    List,
    /// A `timechart` bucket's start: RFC 3339 text to `where` and the
    /// output (`2026-12-07T10:15:00Z`), the epoch ms in the SQL.
    Bucket,
    /// `timechart … by F`: a column per value of F, only known once the
    /// search ran, then `other`.
    ValueColumns,
}

fn col(name: &str, kind: ColumnKind) -> ColumnDef {
    ColumnDef {
        name: name.to_string(),
        kind,
    }
}

/// The column `timechart` and `fields` give the record time.
pub const TIME_COLUMN: &str = "time";
/// The column `fields` gives the record's tag.
pub const TAG_COLUMN: &str = "tag";
/// `top`/`rare`: each combination's share of the records that have the
/// fields, in percent.
pub const PERCENT_COLUMN: &str = "percent";
/// `top`/`rare`: how many records hold the combination.
pub const COUNT_COLUMN: &str = "count";
/// `timechart … by F limit=N`: the sum over the values past the N.
pub const OTHER_COLUMN: &str = "other";

/// The columns `summary` makes: per field, per top value.
pub const SUMMARY_COLUMNS: [&str; 6] =
    ["field", "records", "distinct", "value", "count", "percent"];
/// Top values `summary` shows per field.
pub const SUMMARY_TOP: u64 = 5;

/// The name of the table's column `i` in the SQL: `c0`, `c1`, … A
/// column's name is often user text (a field path, an `as` name), and
/// user text reaches the SQL only as a string literal; the header comment
/// of the statement maps each back (`-- columns: c0 = eventName, …`) and
/// the runner prints the names of [`Output::columns`].
pub fn sql_column(i: usize) -> String {
    format!("c{i}")
}

/// The hidden companion of a text column made from a field (a `by`
/// field's value, `earliest`, `latest`): `c<i>_num`, the value's number
/// when it is one, which `where` compares with numbers.
pub fn sql_number_column(i: usize) -> String {
    format!("c{i}{NUMBER_SUFFIX}")
}

/// The suffix of [`sql_number_column`]s, which the runner drops.
pub const NUMBER_SUFFIX: &str = "_num";

/// The hidden companion of a `values(F)` column: `c<i>_total`, how many
/// distinct values the group has (the column lists at most
/// [`crate::ast::MAX_VALUES`]), which the runner reports.
pub fn sql_total_column(i: usize) -> String {
    format!("c{i}{TOTAL_SUFFIX}")
}

/// The suffix of [`sql_total_column`]s.
pub const TOTAL_SUFFIX: &str = "_total";

/// What separates the values of a list column (`values(F)`) in its one
/// text cell; a `\` or a separator inside a value is escaped with `\`.
pub const LIST_SEPARATOR: &str = ",";

/// The values of a list cell as [`LIST_SEPARATOR`] and `\` escaping
/// wrote them.
pub fn split_list(text: &str) -> Vec<String> {
    let sep = LIST_SEPARATOR.chars().next().expect("one character");
    let mut values = vec![String::new()];
    let mut chars = text.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => values.last_mut().expect("never empty").extend(chars.next()),
            c if c == sep => values.push(String::new()),
            c => values.last_mut().expect("never empty").push(c),
        }
    }
    values
}

/// Most `by` fields (and `top`/`rare` fields) a stage groups by.
pub const MAX_BY: usize = 8;
/// Most aggregates one `stats` computes.
pub const MAX_AGGS: usize = 16;
/// Most distinct fields one stage reads (its `by` fields and aggregates').
pub const MAX_FIELDS: usize = 16;

/// Checks `stages` in order, and gives what each returns.
pub fn outputs(stages: &[Stage]) -> Result<Vec<Output>, CompileError> {
    let mut out: Vec<Output> = Vec::new();
    // The fields the whole query reads (each a relation of the statement).
    let mut read: Vec<&str> = Vec::new();
    for stage in stages {
        for (path, span) in stage_fields(&stage.kind) {
            if !read.contains(&path) {
                if read.len() == MAX_FIELDS {
                    return Err(CompileError::new(
                        ErrorKind::BadStage,
                        format!("one query's stages read at most {MAX_FIELDS} fields"),
                    )
                    .at(span, "one too many")
                    .help("split the question in several queries"));
                }
                read.push(path);
            }
        }
        // `fields` shows records as rows, newest first: `head` may take
        // fewer, and nothing else goes on from them.
        let after_fields = stages
            .iter()
            .take(out.len())
            .any(|s| matches!(s.kind, StageKind::Fields(_)));
        if after_fields && !matches!(stage.kind, StageKind::Head(_)) {
            return Err(CompileError::new(
                ErrorKind::BadStage,
                format!("`{}` cannot follow `fields`", stage.kind.name()),
            )
            .at(stage.span, "after `fields`")
            .help("`fields` shows the records newest first, and `head` may take fewer; filter them in the search (`user:alice | fields …`), or summarize them instead: `| stats count() by F | sort -count`"));
        }
        let input = out.last().unwrap_or(&Output::Records);
        let next = step(input, stage)?;
        out.push(next);
    }
    Ok(out)
}

/// Checks `stages` in order, and gives what the last returns.
pub fn check(stages: &[Stage]) -> Result<Output, CompileError> {
    Ok(outputs(stages)?.pop().unwrap_or(Output::Records))
}

/// The fields a stage reads, each with where it is named.
fn stage_fields(kind: &StageKind) -> Vec<(&str, Span)> {
    fn refs(fs: &[crate::ast::FieldRef]) -> Vec<(&str, Span)> {
        fs.iter().map(|f| (f.path.as_str(), f.span)).collect()
    }
    fn aggs(aggs: &[crate::ast::Agg]) -> Vec<(&str, Span)> {
        aggs.iter()
            .filter_map(|a| a.field.as_ref().map(|f| (f.path.as_str(), f.span)))
            .collect()
    }
    match kind {
        StageKind::Stats { aggs: a, by } => {
            let mut all = refs(by);
            all.extend(aggs(a));
            all
        }
        StageKind::Top { fields, .. }
        | StageKind::Fields(fields)
        | StageKind::Dedup(fields)
        | StageKind::Summary(fields) => refs(fields),
        StageKind::Timechart { agg, by, .. } => {
            let mut all: Vec<(&str, Span)> = by.iter().map(|f| (f.path.as_str(), f.span)).collect();
            all.extend(aggs(std::slice::from_ref(agg)));
            all
        }
        StageKind::Sort(_) | StageKind::Where(_) | StageKind::Head(_) => Vec::new(),
    }
}

/// Refuses what the SQL does not do yet, with the stage it is about.
pub fn not_yet(stages: &[Stage]) -> Result<(), CompileError> {
    let refuse = |span: Span, what: &str| {
        Err(CompileError::new(
            ErrorKind::NotYetSupported,
            format!("{what} is not supported yet"),
        )
        .at(span, "not yet")
        .help("`stats`, `top`, `rare`, `summary` and `timechart` (every aggregate, `by` too), then `where`, `sort` and `head` (after `timechart` without `by`); `fields`, `dedup` and `head` on records, run today; docs/language.md lists what is planned"))
    };
    for (i, stage) in stages.iter().enumerate() {
        match &stage.kind {
            StageKind::Stats { .. } => {}
            StageKind::Timechart { by: Some(_), .. } if i + 1 < stages.len() => {
                return refuse(stages[i + 1].span, "a stage after `timechart … by`");
            }
            StageKind::Timechart { .. } => {}
            StageKind::Summary(_)
            | StageKind::Fields(_)
            | StageKind::Dedup(_)
            | StageKind::Top { .. }
            | StageKind::Sort(_)
            | StageKind::Where(_)
            | StageKind::Head(_) => {}
        }
    }
    Ok(())
}

/// Refuses a stage past [`MAX_BY`], [`MAX_AGGS`] or [`MAX_FIELDS`]: each is
/// a relation of the statement, and past these the SQL is unreadable.
fn bounded(
    stage: &Stage,
    by: &[crate::ast::FieldRef],
    aggs: &[crate::ast::Agg],
) -> Result<(), CompileError> {
    let too_many = |span: Span, what: String| {
        Err(CompileError::new(ErrorKind::BadStage, what)
            .at(span, "one too many")
            .help("split the question in several queries"))
    };
    if let Some(f) = by.get(MAX_BY) {
        return too_many(
            f.span,
            format!("`{}` groups by at most {MAX_BY} fields", stage.kind.name()),
        );
    }
    if let Some(a) = aggs.get(MAX_AGGS) {
        return too_many(
            a.span,
            format!("`stats` computes at most {MAX_AGGS} aggregates"),
        );
    }
    let mut fields: Vec<&str> = Vec::new();
    let read = by.iter().map(|f| (f.path.as_str(), f.span)).chain(
        aggs.iter()
            .filter_map(|a| a.field.as_ref().map(|f| (f.path.as_str(), a.span))),
    );
    for (path, span) in read {
        if !fields.contains(&path) {
            if fields.len() == MAX_FIELDS {
                return too_many(span, format!("one stage reads at most {MAX_FIELDS} fields"));
            }
            fields.push(path);
        }
    }
    Ok(())
}

fn step(input: &Output, stage: &Stage) -> Result<Output, CompileError> {
    let on_records = |kind: &StageKind| -> Result<(), CompileError> {
        match input {
            Output::Records => Ok(()),
            Output::Table(_) => Err(CompileError::new(
                ErrorKind::BadStage,
                format!(
                    "`{}` reads records, and the stage before it made a table",
                    kind.name()
                ),
            )
            .at(stage.span, "after a table")
            .help(match kind {
                StageKind::Dedup(_) => "put `dedup` before the stage that summarizes: `… | dedup F | stats …`".to_string(),
                _ => "only `where`, `sort` and `head` go on from a table; ask this in a query of its own".to_string(),
            })),
        }
    };
    match &stage.kind {
        StageKind::Stats { aggs, by } => {
            on_records(&stage.kind)?;
            bounded(stage, by, aggs)?;
            let mut cols: Vec<ColumnDef> =
                by.iter().map(|f| col(&f.path, ColumnKind::Text)).collect();
            cols.extend(aggs.iter().map(|a| col(&a.column(), agg_kind(a.func))));
            Ok(Output::Table(cols))
        }
        StageKind::Top { fields, .. } => {
            on_records(&stage.kind)?;
            bounded(stage, fields, &[])?;
            let mut cols: Vec<ColumnDef> = fields
                .iter()
                .map(|f| col(&f.path, ColumnKind::Text))
                .collect();
            for extra in [COUNT_COLUMN, PERCENT_COLUMN] {
                if let Some(f) = fields.iter().find(|f| f.path == extra) {
                    return Err(CompileError::new(
                        ErrorKind::BadStage,
                        format!(
                            "`{}` makes a column named `{extra}` of its own",
                            stage.kind.name()
                        ),
                    )
                    .at(f.span, "a field of the same name")
                    .help(format!(
                        "count the field's values with `stats count() by {extra}` instead"
                    )));
                }
                cols.push(col(extra, ColumnKind::Number));
            }
            Ok(Output::Table(cols))
        }
        StageKind::Timechart { agg, by, .. } => {
            on_records(&stage.kind)?;
            let mut cols = vec![col(TIME_COLUMN, ColumnKind::Bucket)];
            match by {
                Some(_) => cols.push(col(OTHER_COLUMN, ColumnKind::ValueColumns)),
                None => cols.push(col(&agg.column(), agg_kind(agg.func))),
            }
            Ok(Output::Table(cols))
        }
        StageKind::Fields(fields) => {
            on_records(&stage.kind)?;
            bounded(stage, fields, &[])?;
            let mut cols = vec![
                col(TIME_COLUMN, ColumnKind::Text),
                col(TAG_COLUMN, ColumnKind::Text),
            ];
            for f in fields {
                if cols.iter().any(|c| c.name == f.path) {
                    return Err(CompileError::new(
                        ErrorKind::BadStage,
                        format!("`{}` is a column already", f.path),
                    )
                    .at(f.span, "named twice")
                    .help(
                        "`fields` keeps the record's `time` and `tag`; name each other field once",
                    ));
                }
                cols.push(col(&f.path, ColumnKind::List));
            }
            Ok(Output::Table(cols))
        }
        StageKind::Summary(fields) => {
            on_records(&stage.kind)?;
            for (i, f) in fields.iter().enumerate() {
                if fields[..i].iter().any(|g| g.path == f.path) {
                    return Err(CompileError::new(
                        ErrorKind::BadStage,
                        format!("`summary` names `{}` twice", f.path),
                    )
                    .at(f.span, "named again")
                    .help("name each field once; `summary` alone summarizes every field"));
                }
            }
            Ok(Output::Table(
                SUMMARY_COLUMNS
                    .iter()
                    .map(|n| {
                        let kind = match *n {
                            "field" => ColumnKind::Name,
                            "value" => ColumnKind::Text,
                            _ => ColumnKind::Number,
                        };
                        col(n, kind)
                    })
                    .collect(),
            ))
        }
        StageKind::Dedup(fields) => {
            on_records(&stage.kind)?;
            bounded(stage, fields, &[])?;
            Ok(Output::Records)
        }
        StageKind::Head(_) => Ok(input.clone()),
        StageKind::Sort(keys) => {
            let cols = table(input, stage)?;
            for k in keys {
                single(known(cols, &k.column, "sort")?, &k.column, "sort")?;
            }
            Ok(input.clone())
        }
        StageKind::Where(cond) => {
            let cols = table(input, stage)?;
            fn each_compare(
                c: &Condition,
                f: &mut dyn FnMut(&Column, &Literal) -> Result<(), CompileError>,
            ) -> Result<(), CompileError> {
                match c {
                    Condition::Compare { column, value, .. } => f(column, value),
                    Condition::And(cs) | Condition::Or(cs) => {
                        cs.iter().try_for_each(|c| each_compare(c, f))
                    }
                }
            }
            each_compare(cond, &mut |c, value| {
                let found = single(known(cols, c, "where")?, c, "where")?;
                // Text columns whose text is never a number.
                let (what, label, hint, example) = match (found.kind, value) {
                    (ColumnKind::Name, Literal::Number(_)) => (
                        "holds field names, and a name",
                        "field names",
                        "compare it with text",
                        "= \"eventName\"",
                    ),
                    (ColumnKind::Bucket, Literal::Number(_)) => (
                        "is a time, and a time",
                        "a time",
                        "compare it with a time in RFC 3339, as the column prints it",
                        ">= \"2026-12-07T10:15:00Z\"",
                    ),
                    _ => return Ok(()),
                };
                Err(CompileError::new(
                    ErrorKind::BadStage,
                    format!("`{}` {what} is not a number", c.name),
                )
                .at(c.span, label)
                .help(format!("{hint}: `where {} {example}`", c.name)))
            })?;
            Ok(input.clone())
        }
    }
}

/// The kind of an aggregate's column.
pub fn agg_kind(f: AggFunc) -> ColumnKind {
    match f {
        AggFunc::Count
        | AggFunc::Dc
        | AggFunc::Sum
        | AggFunc::Avg
        | AggFunc::Min
        | AggFunc::Max => ColumnKind::Number,
        AggFunc::Earliest | AggFunc::Latest => ColumnKind::Text,
        AggFunc::Values => ColumnKind::List,
    }
}

/// The columns of `input`, which `stage` needs to be a table.
fn table<'a>(input: &'a Output, stage: &Stage) -> Result<&'a [ColumnDef], CompileError> {
    match input {
        Output::Table(cols) => Ok(cols),
        Output::Records => Err(CompileError::new(
            ErrorKind::UnknownColumn,
            format!("`{}` needs columns, and no stage before it made any", stage.kind.name()),
        )
        .at(stage.span, "on records")
        .help(match stage.kind {
            StageKind::Where(_) => "filter records in the search itself (`eventName:ConsoleLogin`), or make columns first: `| stats count() by eventName | where count > 5`",
            _ => "records come newest first; to order something else, make columns first: `| stats count() by eventName | sort -count`",
        })),
    }
}

/// `found` itself if it holds one value per row: `sort` and `where`
/// compare single values, and a list (`values(F)`) is several.
fn single<'a>(
    found: &'a ColumnDef,
    c: &Column,
    stage: &str,
) -> Result<&'a ColumnDef, CompileError> {
    if found.kind != ColumnKind::List {
        return Ok(found);
    }
    Err(CompileError::new(
        ErrorKind::BadStage,
        format!(
            "`{stage}` compares single values, and `{}` is a list",
            c.name
        ),
    )
    .at(c.span, "a list of values")
    .help("compare its count instead: `dc(F)` is how many distinct values `values(F)` lists"))
}

/// The column of `cols` that `c` names.
fn known<'a>(
    cols: &'a [ColumnDef],
    c: &Column,
    stage: &str,
) -> Result<&'a ColumnDef, CompileError> {
    if let Some(found) = cols
        .iter()
        .find(|d| d.name == c.name && d.kind != ColumnKind::ValueColumns)
    {
        return Ok(found);
    }
    let names: Vec<&str> = cols
        .iter()
        .filter(|d| d.kind != ColumnKind::ValueColumns)
        .map(|d| d.name.as_str())
        .collect();
    let list = names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let help = match crate::parser::stages::closest(&c.name, names.iter().copied()) {
        Some(n) => format!("did you mean `{n}`? The columns here are {list}"),
        None if cols.iter().any(|d| d.kind == ColumnKind::ValueColumns) => format!(
            "the columns here are {list}, and one per value of `timechart`'s `by` field, known only once it ran"
        ),
        None => format!("the columns here are {list}"),
    };
    Err(CompileError::new(
        ErrorKind::UnknownColumn,
        format!("`{stage}` names `{}`, which no earlier stage makes", c.name),
    )
    .at(c.span, "no such column")
    .help(help))
}

impl Output {
    /// The position of the column named `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.columns().iter().position(|c| c.name == name)
    }

    /// The table's columns; none for records.
    pub fn columns(&self) -> &[ColumnDef] {
        match self {
            Output::Records => &[],
            Output::Table(cols) => cols,
        }
    }
}

/// The span of a chain of stages, from the first `|` to the end.
pub fn span_of(stages: &[Stage]) -> Option<Span> {
    Some(stages.first()?.span.to(stages.last()?.span))
}
