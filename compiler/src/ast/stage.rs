//! The stages after a search (`… | stats count() by eventName | head 5`):
//! what the user wrote, with spans, and printed back in canonical form.
//!
//! Each stage reads the rows of the one before it: the search's records
//! first, then whatever table a stage makes. docs/language.md, "Stages",
//! gives each one's exact meaning; the reference evaluator (crate
//! `glaux-reference`) defines it.

use std::fmt;

use super::Span;

/// One stage, `| name …`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub kind: StageKind,
    /// From the `|` to the stage's last character.
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StageKind {
    /// `stats count(), dc(sourceIPAddress) as ips by eventName`
    Stats { aggs: Vec<Agg>, by: Vec<FieldRef> },
    /// `top 5 eventName` (`rare` when `rare`): the most (least) frequent
    /// value combinations.
    Top {
        rare: bool,
        limit: u64,
        fields: Vec<FieldRef>,
    },
    /// `timechart span=15m count() by eventName limit=5`
    Timechart {
        /// `None`: chosen from the window.
        span: Option<Duration>,
        agg: Agg,
        by: Option<FieldRef>,
        /// The most `by` values given a column of their own; the records
        /// with other values are aggregated together as `other`.
        limit: u64,
    },
    /// `fields eventName, sourceIPAddress`
    Fields(Vec<FieldRef>),
    /// `sort -count, eventName`
    Sort(Vec<SortKey>),
    /// `head 20`
    Head(u64),
    /// `dedup userIdentity.arn`: the first (newest) record per value
    /// combination.
    Dedup(Vec<FieldRef>),
    /// `where count > 5 AND eventName != "x"`
    Where(Condition),
    /// `summary` / `summary eventName, sourceIPAddress`: per field, its
    /// record count, distinct count and top values.
    Summary(Vec<FieldRef>),
}

impl StageKind {
    /// The stage's name as written in a query.
    pub fn name(&self) -> &'static str {
        match self {
            StageKind::Stats { .. } => "stats",
            StageKind::Top { rare: false, .. } => "top",
            StageKind::Top { rare: true, .. } => "rare",
            StageKind::Timechart { .. } => "timechart",
            StageKind::Fields(_) => "fields",
            StageKind::Sort(_) => "sort",
            StageKind::Head(_) => "head",
            StageKind::Dedup(_) => "dedup",
            StageKind::Where(_) => "where",
            StageKind::Summary(_) => "summary",
        }
    }
}

/// The stage names, for completion and "did you mean".
pub const STAGE_NAMES: &[&str] = &[
    "stats",
    "top",
    "rare",
    "timechart",
    "fields",
    "sort",
    "head",
    "dedup",
    "where",
    "summary",
];

/// Rows `top`, `rare` and `head` keep when no number is given.
pub const DEFAULT_TOP: u64 = 10;
/// Columns `timechart … by` gives values when no `limit=` is given.
pub const DEFAULT_TIMECHART_LIMIT: u64 = 10;
/// Most series (columns besides `time` and `other`) `timechart … by F
/// limit=N` draws.
pub const MAX_SERIES: u64 = 100;
/// Most distinct values `values(F)` lists.
pub const MAX_VALUES: usize = 100;

/// A field path as written in a stage: `userIdentity.arn`, `@time`, `tag`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRef {
    pub path: String,
    pub span: Span,
}

/// An aggregate: `count()`, `dc(F)`, … with an optional `as NAME`.
#[derive(Debug, Clone, PartialEq)]
pub struct Agg {
    pub func: AggFunc,
    /// `None` only for `count()`.
    pub field: Option<FieldRef>,
    pub alias: Option<String>,
    pub span: Span,
}

impl Agg {
    /// The output column's name: `count` for `count()`, else the alias or
    /// the aggregate as written in canonical form (`dc(eventName)`).
    pub fn column(&self) -> String {
        if let Some(a) = &self.alias {
            return a.clone();
        }
        match (&self.func, &self.field) {
            (AggFunc::Count, None) => "count".to_string(),
            (f, Some(field)) => format!("{}({})", f.name(), field.path),
            (f, None) => format!("{}()", f.name()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggFunc {
    /// `count()`: records in the group.
    Count,
    /// `dc(F)`: distinct values of F.
    Dc,
    Min,
    Max,
    Sum,
    Avg,
    /// `earliest(F)`: F's value at the group's earliest record.
    Earliest,
    /// `latest(F)`: F's value at the group's latest record.
    Latest,
    /// `values(F)`: F's distinct values, at most [`MAX_VALUES`].
    Values,
}

impl AggFunc {
    pub const ALL: [AggFunc; 9] = [
        AggFunc::Count,
        AggFunc::Dc,
        AggFunc::Min,
        AggFunc::Max,
        AggFunc::Sum,
        AggFunc::Avg,
        AggFunc::Earliest,
        AggFunc::Latest,
        AggFunc::Values,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AggFunc::Count => "count",
            AggFunc::Dc => "dc",
            AggFunc::Min => "min",
            AggFunc::Max => "max",
            AggFunc::Sum => "sum",
            AggFunc::Avg => "avg",
            AggFunc::Earliest => "earliest",
            AggFunc::Latest => "latest",
            AggFunc::Values => "values",
        }
    }

    pub fn from_name(name: &str) -> Option<AggFunc> {
        AggFunc::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// True if the result is a number whatever the field holds.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            AggFunc::Count | AggFunc::Dc | AggFunc::Sum | AggFunc::Avg
        )
    }
}

/// `span=15m`: a bucket width, whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration {
    pub seconds: u64,
    pub span: Span,
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.seconds;
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
            if s.is_multiple_of(size) {
                return write!(f, "{}{unit}", s / size);
            }
        }
        write!(f, "{s}s")
    }
}

/// `-count` sorts descending, `count` or `+count` ascending.
#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    pub column: Column,
    pub descending: bool,
}

/// A column of an earlier stage's output, by name: a field path, `count`,
/// `percent`, `time`, an alias, or an aggregate as written (`dc(x)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub span: Span,
}

/// `where`'s condition: comparisons joined by `AND` (binding tighter) and
/// `OR`.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Compare {
        column: Column,
        op: CompareOp,
        value: Literal,
    },
    And(Vec<Condition>),
    Or(Vec<Condition>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

impl CompareOp {
    pub fn text(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::NotEq => "!=",
            CompareOp::Lt => "<",
            CompareOp::LtEq => "<=",
            CompareOp::Gt => ">",
            CompareOp::GtEq => ">=",
        }
    }
}

/// A value in `where`: a number (compared as a number) or a string
/// (compared as text).
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Number(f64),
    Text(String),
}

impl Stage {
    /// The same stage with every span zeroed: equality up to positions.
    pub fn without_spans(&self) -> Stage {
        let z = Span::default();
        let f = |fs: &[FieldRef]| -> Vec<FieldRef> {
            fs.iter()
                .map(|x| FieldRef {
                    path: x.path.clone(),
                    span: z,
                })
                .collect()
        };
        let agg = |a: &Agg| Agg {
            field: a.field.as_ref().map(|x| FieldRef {
                path: x.path.clone(),
                span: z,
            }),
            span: z,
            ..a.clone()
        };
        let col = |c: &Column| Column {
            name: c.name.clone(),
            span: z,
        };
        fn cond(c: &Condition, col: &dyn Fn(&Column) -> Column) -> Condition {
            match c {
                Condition::Compare { column, op, value } => Condition::Compare {
                    column: col(column),
                    op: *op,
                    value: value.clone(),
                },
                Condition::And(cs) => Condition::And(cs.iter().map(|c| cond(c, col)).collect()),
                Condition::Or(cs) => Condition::Or(cs.iter().map(|c| cond(c, col)).collect()),
            }
        }
        let kind = match &self.kind {
            StageKind::Stats { aggs, by } => StageKind::Stats {
                aggs: aggs.iter().map(agg).collect(),
                by: f(by),
            },
            StageKind::Top {
                rare,
                limit,
                fields,
            } => StageKind::Top {
                rare: *rare,
                limit: *limit,
                fields: f(fields),
            },
            StageKind::Timechart {
                span,
                agg: a,
                by,
                limit,
            } => StageKind::Timechart {
                span: span.map(|d| Duration {
                    seconds: d.seconds,
                    span: z,
                }),
                agg: agg(a),
                by: by.as_ref().map(|x| FieldRef {
                    path: x.path.clone(),
                    span: z,
                }),
                limit: *limit,
            },
            StageKind::Fields(fs) => StageKind::Fields(f(fs)),
            StageKind::Sort(keys) => StageKind::Sort(
                keys.iter()
                    .map(|k| SortKey {
                        column: col(&k.column),
                        descending: k.descending,
                    })
                    .collect(),
            ),
            StageKind::Head(n) => StageKind::Head(*n),
            StageKind::Dedup(fs) => StageKind::Dedup(f(fs)),
            StageKind::Where(c) => StageKind::Where(cond(c, &col)),
            StageKind::Summary(fs) => StageKind::Summary(f(fs)),
        };
        Stage { kind, span: z }
    }
}

/// Writes `items` separated by `, `.
fn comma<T>(
    f: &mut fmt::Formatter<'_>,
    items: &[T],
    each: impl Fn(&mut fmt::Formatter<'_>, &T) -> fmt::Result,
) -> fmt::Result {
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        each(f, x)?;
    }
    Ok(())
}

fn paths(f: &mut fmt::Formatter<'_>, fields: &[FieldRef]) -> fmt::Result {
    comma(f, fields, |f, x| f.write_str(&x.path))
}

impl fmt::Display for Agg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.func.name())?;
        if let Some(field) = &self.field {
            f.write_str(&field.path)?;
        }
        f.write_str(")")?;
        if let Some(alias) = &self.alias {
            write!(f, " as {alias}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Number(x) => write!(f, "{x}"),
            Literal::Text(t) => f.write_str(&super::quoted(t)),
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Compare { column, op, value } => {
                write!(f, "{} {} {value}", column.name, op.text())
            }
            Condition::And(cs) => {
                for (i, c) in cs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" AND ")?;
                    }
                    match c {
                        Condition::Or(_) => write!(f, "({c})")?,
                        _ => write!(f, "{c}")?,
                    }
                }
                Ok(())
            }
            Condition::Or(cs) => {
                for (i, c) in cs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" OR ")?;
                    }
                    write!(f, "{c}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.name())?;
        match &self.kind {
            StageKind::Stats { aggs, by } => {
                f.write_str(" ")?;
                comma(f, aggs, |f, a| write!(f, "{a}"))?;
                if !by.is_empty() {
                    f.write_str(" by ")?;
                    paths(f, by)?;
                }
                Ok(())
            }
            StageKind::Top { limit, fields, .. } => {
                write!(f, " {limit} ")?;
                paths(f, fields)
            }
            StageKind::Timechart {
                span,
                agg,
                by,
                limit,
            } => {
                if let Some(span) = span {
                    write!(f, " span={span}")?;
                }
                write!(f, " {agg}")?;
                if let Some(by) = by {
                    write!(f, " by {} limit={limit}", by.path)?;
                }
                Ok(())
            }
            StageKind::Fields(fs) | StageKind::Dedup(fs) => {
                f.write_str(" ")?;
                paths(f, fs)
            }
            StageKind::Summary(fs) => {
                if !fs.is_empty() {
                    f.write_str(" ")?;
                    paths(f, fs)?;
                }
                Ok(())
            }
            StageKind::Sort(keys) => {
                f.write_str(" ")?;
                comma(f, keys, |f, k| {
                    let sign = if k.descending { "-" } else { "" };
                    write!(f, "{sign}{}", k.column.name)
                })
            }
            StageKind::Head(n) => write!(f, " {n}"),
            StageKind::Where(c) => write!(f, " {c}"),
        }
    }
}
