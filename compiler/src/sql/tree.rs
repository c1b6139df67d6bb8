//! SQL as a tree, printed once: the statements [`crate::sql`] builds.
//!
//! The emitter composes relations as values (a CTE, a subquery wrapped
//! in another `SELECT`, a set operation) and this module prints them, the
//! way sqlparser's AST and PRQL's compiler do. Printing is the only place
//! a value becomes SQL text, so the rules hold by construction:
//! - a string value prints only through [`string_literal`], an identifier
//!   only through [`identifier`]; numbers print from `i64`s and `f64`s;
//! - comment lines print through [`comment_text`], which no line break
//!   escapes;
//! - names that are not quoted ([`Expr::Column`]'s table alias, a
//!   relation's alias) are `&'static str`: the emitter's own, never user
//!   text.
//!
//! The layout is fixed by the tree: a clause's top-level `AND`/`OR` parts
//! go one per line, two spaces in; nested ones stay on their line; the
//! items of a `SELECT` stay on its line but for named ones (`… AS "x"`),
//! which get a line each; a subquery is a block two spaces in.

use std::fmt::{self, Write as _};

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

/// A number as a SQL `DOUBLE` literal (`1e3`, `-2.5e-1`): the same type on
/// Trino and DataFusion.
fn double_literal(x: f64) -> String {
    format!("{x:e}")
}

/// A statement: comment lines, then the query (no trailing `;`).
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// Each printed as `-- line` through [`comment_text`].
    pub comments: Vec<String>,
    /// `None`: the comments alone (a search that runs nothing).
    pub query: Option<Query>,
}

/// `[WITH …] body [ORDER BY …] [LIMIT n]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub with: Vec<Cte>,
    pub body: Body,
    pub order_by: Vec<Order>,
    pub limit: Option<u64>,
}

/// `"name" AS (query)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cte {
    pub name: &'static str,
    pub query: Query,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Select(Box<Select>),
    /// Each row of every part: `a INTERSECT b …`.
    Intersect(Vec<Select>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    pub distinct: bool,
    pub items: Vec<Item>,
    pub from: Relation,
    pub joins: Vec<Join>,
    pub filter: Option<Expr>,
    pub group_by: Vec<Expr>,
    pub having: Option<Expr>,
    /// `SELECT … FROM …` on one line: a short lookup (the hours statement).
    pub compact: bool,
}

impl Select {
    /// `SELECT items FROM from`, nothing else yet.
    pub fn new(items: Vec<Item>, from: Relation) -> Self {
        Select {
            distinct: false,
            items,
            from,
            joins: Vec::new(),
            filter: None,
            group_by: Vec::new(),
            having: None,
            compact: false,
        }
    }
}

/// A `SELECT` item, named (`expr AS "name"`) or not.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub expr: Expr,
    pub name: Option<String>,
}

impl Item {
    pub fn named(expr: Expr, name: &str) -> Self {
        Item {
            expr,
            name: Some(name.to_string()),
        }
    }
}

impl From<Expr> for Item {
    fn from(expr: Expr) -> Self {
        Item { expr, name: None }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Relation {
    /// A table or CTE, by its (quoted) name parts: `"db"."table"`.
    Table {
        name: Vec<String>,
        alias: Option<&'static str>,
    },
    /// `(query) AS alias`, the query a block of its own.
    Query {
        query: Box<Query>,
        alias: &'static str,
    },
    /// `(VALUES (0), (1), …) AS alias (column)`: rows of one number.
    Values {
        rows: Vec<i64>,
        alias: &'static str,
        column: &'static str,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    pub kind: JoinKind,
    pub relation: Relation,
    /// `ON …`; none for a cross join.
    pub on: Option<Expr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    /// Every row of the left with every row of the right (a one-row
    /// relation, here).
    Cross,
}

impl Join {
    pub fn inner(relation: Relation, on: Expr) -> Join {
        Join {
            kind: JoinKind::Inner,
            relation,
            on: Some(on),
        }
    }
    pub fn left(relation: Relation, on: Expr) -> Join {
        Join {
            kind: JoinKind::Left,
            relation,
            on: Some(on),
        }
    }
    pub fn cross(relation: Relation) -> Join {
        Join {
            kind: JoinKind::Cross,
            relation,
            on: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub expr: Expr,
    pub descending: bool,
    /// `DESC NULLS LAST`: Trino's default, not DataFusion's (which puts
    /// NULLs first when descending); ascending, both put them last.
    pub nulls_last: bool,
}

impl Order {
    pub fn asc(expr: Expr) -> Self {
        Order {
            expr,
            descending: false,
            nulls_last: false,
        }
    }
    pub fn desc(expr: Expr) -> Self {
        Order {
            expr,
            descending: true,
            nulls_last: false,
        }
    }
    /// Descending with NULLs last, on either engine.
    pub fn desc_nulls_last(expr: Expr) -> Self {
        Order {
            nulls_last: true,
            ..Order::desc(expr)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Plus,
    Minus,
    Times,
    Divide,
    Modulo,
}

impl Op {
    fn text(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::NotEq => "<>",
            Op::Lt => "<",
            Op::LtEq => "<=",
            Op::Gt => ">",
            Op::GtEq => ">=",
            Op::Plus => "+",
            Op::Minus => "-",
            Op::Times => "*",
            Op::Divide => "/",
            Op::Modulo => "%",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `alias."name"` or `"name"`.
    Column {
        table: Option<&'static str>,
        name: String,
    },
    /// A string literal ([`string_literal`]).
    Str(String),
    Int(i64),
    /// A `DOUBLE` literal in exponent form.
    Double(f64),
    Bool(bool),
    /// `*`, as in `count(*)`.
    Star,
    /// `<what goes here>`: where a later statement's literals go, in
    /// `--explain`'s templates (which run nothing, so have none).
    Placeholder(&'static str),
    Binary(Box<Expr>, Op, Box<Expr>),
    /// Parts joined by `AND` (no parentheses: [`Expr::Nested`] adds them).
    And(Vec<Expr>),
    Or(Vec<Expr>),
    /// `(a OR b …)` with a part per line: at the line's own indent, or
    /// two spaces deeper when `deeper`.
    OrLines {
        parts: Vec<Expr>,
        deeper: bool,
    },
    Not(Box<Expr>),
    /// `(expr)`.
    Nested(Box<Expr>),
    /// `name(args)`.
    Call(&'static str, Vec<Expr>),
    /// `call OVER ([PARTITION BY …] ORDER BY …)`.
    Window {
        call: Box<Expr>,
        partition_by: Vec<Expr>,
        order_by: Vec<Order>,
    },
    /// `DISTINCT expr`, as an aggregate's argument: `count(DISTINCT x)`.
    Distinct(Box<Expr>),
    /// An aggregate with an order and a filter:
    /// `array_agg(x ORDER BY y) FILTER (WHERE …)`.
    Aggregate {
        name: &'static str,
        args: Vec<Expr>,
        order_by: Vec<Order>,
        filter: Option<Box<Expr>>,
    },
    /// `CAST(expr AS type)`; the type is the emitter's, never user text.
    Cast(Box<Expr>, &'static str),
    /// `expr LIKE 'pattern' ESCAPE '\'`; the pattern already `LIKE` text
    /// (the emitter's `like_pattern`).
    Like(Box<Expr>, String),
    /// `expr IN (a, b, …)`.
    In(Box<Expr>, Vec<Expr>),
    /// `expr IN (query)`, the query a block of its own.
    InQuery(Box<Expr>, Box<Query>),
    IsNotNull(Box<Expr>),
    /// `CASE expr WHEN a THEN x … END` (NULL past the last).
    Case(Box<Expr>, Vec<(Expr, Expr)>),
}

impl Expr {
    /// A column of the relation in scope.
    pub fn col(name: &str) -> Expr {
        Expr::Column {
            table: None,
            name: name.to_string(),
        }
    }

    /// A column of the relation aliased `table`.
    pub fn qualified(table: &'static str, name: &str) -> Expr {
        Expr::Column {
            table: Some(table),
            name: name.to_string(),
        }
    }

    pub fn str(value: &str) -> Expr {
        Expr::Str(value.to_string())
    }

    pub fn binary(self, op: Op, right: Expr) -> Expr {
        Expr::Binary(Box::new(self), op, Box::new(right))
    }

    pub fn eq(self, right: Expr) -> Expr {
        self.binary(Op::Eq, right)
    }

    pub fn call(name: &'static str, args: Vec<Expr>) -> Expr {
        Expr::Call(name, args)
    }

    pub fn nested(self) -> Expr {
        Expr::Nested(Box::new(self))
    }

    pub fn negated(self) -> Expr {
        Expr::Not(Box::new(self))
    }

    /// `parts` joined by `AND`; one part is itself.
    pub fn all(mut parts: Vec<Expr>) -> Expr {
        match parts.len() {
            1 => parts.remove(0),
            _ => Expr::And(parts),
        }
    }

    pub fn in_list(self, list: Vec<Expr>) -> Expr {
        Expr::In(Box::new(self), list)
    }
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.comments {
            writeln!(f, "-- {}", comment_text(line))?;
        }
        if let Some(query) = &self.query {
            let mut out = String::new();
            query.print(&mut out, 0);
            f.write_str(&out)?;
        }
        Ok(())
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.print(&mut out, 0);
        f.write_str(&out)
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.print(&mut out, 0);
        f.write_str(&out)
    }
}

fn pad(n: usize) -> String {
    " ".repeat(n)
}

impl Query {
    /// Prints the query with its clauses at `indent`, the first line
    /// unindented (the caller is already there).
    fn print(&self, out: &mut String, indent: usize) {
        let at = pad(indent);
        if !self.with.is_empty() {
            out.push_str("WITH\n");
            for (i, cte) in self.with.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                let _ = write!(
                    out,
                    "{}{} AS (\n{}",
                    pad(indent + 2),
                    identifier(cte.name),
                    pad(indent + 4)
                );
                cte.query.print(out, indent + 4);
                let _ = write!(out, "\n{})", pad(indent + 2));
            }
            let _ = write!(out, "\n{at}");
        }
        match &self.body {
            Body::Select(select) => select.print(out, indent),
            Body::Intersect(parts) => {
                for (i, select) in parts.iter().enumerate() {
                    if i > 0 {
                        let _ = write!(out, "\n{at}INTERSECT\n{at}");
                    }
                    select.print(out, indent);
                }
            }
        }
        if !self.order_by.is_empty() {
            let _ = write!(out, "\n{at}ORDER BY ");
            order_list(out, &self.order_by, indent);
        }
        if let Some(limit) = self.limit {
            let _ = write!(out, "\n{at}LIMIT {limit}");
        }
    }
}

impl Select {
    fn print(&self, out: &mut String, indent: usize) {
        let at = pad(indent);
        out.push_str("SELECT ");
        if self.distinct {
            out.push_str("DISTINCT ");
        }
        for (i, item) in self.items.iter().enumerate() {
            match (i, &item.name) {
                (0, _) => {}
                (_, Some(_)) if !self.compact => {
                    let _ = write!(out, ",\n{}", pad(indent + 2));
                }
                _ => out.push_str(", "),
            }
            item.expr.print(out, indent + 2);
            if let Some(name) = &item.name {
                let _ = write!(out, " AS {}", identifier(name));
            }
        }
        if self.compact {
            out.push_str(" FROM ");
        } else {
            let _ = write!(out, "\n{at}FROM ");
        }
        self.from.print(out, indent);
        for join in &self.joins {
            let kind = match join.kind {
                JoinKind::Inner => "JOIN",
                JoinKind::Left => "LEFT JOIN",
                JoinKind::Cross => "CROSS JOIN",
            };
            let _ = write!(out, "\n{at}{kind} ");
            join.relation.print(out, indent);
            if let Some(on) = &join.on {
                out.push_str(" ON ");
                clause(out, on, indent);
            }
        }
        if let Some(filter) = &self.filter {
            let _ = write!(out, "\n{at}WHERE ");
            clause(out, filter, indent);
        }
        if !self.group_by.is_empty() {
            let _ = write!(out, "\n{at}GROUP BY ");
            list(out, &self.group_by, indent);
        }
        if let Some(having) = &self.having {
            let _ = write!(out, "\n{at}HAVING ");
            clause(out, having, indent);
        }
    }
}

impl Relation {
    fn print(&self, out: &mut String, indent: usize) {
        match self {
            Relation::Table { name, alias } => {
                out.push_str(
                    &name
                        .iter()
                        .map(|n| identifier(n))
                        .collect::<Vec<_>>()
                        .join("."),
                );
                if let Some(alias) = alias {
                    let _ = write!(out, " AS {alias}");
                }
            }
            Relation::Query { query, alias } => {
                let _ = write!(out, "(\n{}", pad(indent + 2));
                query.print(out, indent + 2);
                let _ = write!(out, "\n{}) AS {alias}", pad(indent));
            }
            Relation::Values {
                rows,
                alias,
                column,
            } => {
                let rows: Vec<String> = rows.iter().map(|r| format!("({r})")).collect();
                let _ = write!(out, "(VALUES {}) AS {alias} ({column})", rows.join(", "));
            }
        }
    }
}

/// A clause's condition at `indent`: its top-level `AND` or `OR` parts
/// one per line, two spaces in.
fn clause(out: &mut String, expr: &Expr, indent: usize) {
    let (parts, op) = match expr {
        Expr::And(parts) => (parts, "AND"),
        Expr::Or(parts) => (parts, "OR"),
        other => {
            other.print(out, indent);
            return;
        }
    };
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            part.print(out, indent);
        } else {
            let _ = write!(out, "\n{}{op} ", pad(indent + 2));
            part.print(out, indent + 2);
        }
    }
}

/// `a DESC, b`: a `DESC` key first, nulls last either way
/// (`NULLS LAST` where that is not both engines' default).
fn order_list(out: &mut String, order: &[Order], indent: usize) {
    for (i, o) in order.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        o.expr.print(out, indent);
        if o.descending {
            out.push_str(" DESC");
        }
        if o.descending && o.nulls_last {
            out.push_str(" NULLS LAST");
        }
    }
}

fn list(out: &mut String, exprs: &[Expr], indent: usize) {
    for (i, e) in exprs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        e.print(out, indent);
    }
}

impl Expr {
    /// Prints the expression on the current line, whose indent is `line`
    /// (where the blocks it opens are indented from).
    fn print(&self, out: &mut String, line: usize) {
        match self {
            Expr::Column { table, name } => {
                if let Some(t) = table {
                    let _ = write!(out, "{t}.");
                }
                out.push_str(&identifier(name));
            }
            Expr::Str(s) => out.push_str(&string_literal(s)),
            Expr::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Expr::Double(x) => out.push_str(&double_literal(*x)),
            Expr::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            Expr::Star => out.push('*'),
            Expr::Placeholder(p) => {
                let _ = write!(out, "<{p}>");
            }
            Expr::Binary(l, op, r) => {
                l.print(out, line);
                let _ = write!(out, " {} ", op.text());
                r.print(out, line);
            }
            Expr::And(parts) | Expr::Or(parts) => {
                let op = if matches!(self, Expr::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        out.push_str(op);
                    }
                    p.print(out, line);
                }
            }
            Expr::OrLines { parts, deeper } => {
                let at = pad(line + if *deeper { 2 } else { 0 });
                out.push('(');
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        let _ = write!(out, "\n{at}OR ");
                    }
                    p.print(out, line);
                }
                out.push(')');
            }
            Expr::Not(e) => {
                out.push_str("NOT ");
                e.print(out, line);
            }
            Expr::Nested(e) => {
                out.push('(');
                e.print(out, line);
                out.push(')');
            }
            Expr::Call(name, args) => {
                let _ = write!(out, "{name}(");
                list(out, args, line);
                out.push(')');
            }
            Expr::Window {
                call,
                partition_by,
                order_by,
            } => {
                call.print(out, line);
                out.push_str(" OVER (");
                if !partition_by.is_empty() {
                    out.push_str("PARTITION BY ");
                    list(out, partition_by, line);
                    if !order_by.is_empty() {
                        out.push(' ');
                    }
                }
                if !order_by.is_empty() {
                    out.push_str("ORDER BY ");
                    order_list(out, order_by, line);
                }
                out.push(')');
            }
            Expr::Aggregate {
                name,
                args,
                order_by,
                filter,
            } => {
                let _ = write!(out, "{name}(");
                list(out, args, line);
                if !order_by.is_empty() {
                    out.push_str(" ORDER BY ");
                    order_list(out, order_by, line);
                }
                out.push(')');
                if let Some(filter) = filter {
                    out.push_str(" FILTER (WHERE ");
                    filter.print(out, line);
                    out.push(')');
                }
            }
            Expr::Distinct(e) => {
                out.push_str("DISTINCT ");
                e.print(out, line);
            }
            Expr::Cast(e, ty) => {
                out.push_str("CAST(");
                e.print(out, line);
                let _ = write!(out, " AS {ty})");
            }
            Expr::Like(e, pattern) => {
                e.print(out, line);
                let _ = write!(out, " LIKE {} ESCAPE '\\'", string_literal(pattern));
            }
            Expr::In(e, items) => {
                e.print(out, line);
                out.push_str(" IN (");
                list(out, items, line);
                out.push(')');
            }
            Expr::InQuery(e, query) => {
                e.print(out, line);
                let _ = write!(out, " IN (\n{}", pad(line + 2));
                query.print(out, line + 2);
                let _ = write!(out, "\n{})", pad(line));
            }
            Expr::Case(e, whens) => {
                out.push_str("CASE ");
                e.print(out, line);
                for (when, then) in whens {
                    out.push_str(" WHEN ");
                    when.print(out, line);
                    out.push_str(" THEN ");
                    then.print(out, line);
                }
                out.push_str(" END");
            }
            Expr::IsNotNull(e) => {
                e.print(out, line);
                out.push_str(" IS NOT NULL");
            }
        }
    }
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
        let s = Statement {
            comments: vec!["x\n; DROP TABLE t".into()],
            query: None,
        };
        assert_eq!(s.to_string(), "-- x\\u{a}; DROP TABLE t\n");
    }

    /// A clause's top-level parts go one per line; nested ones stay on
    /// theirs; a subquery is a block; named items get a line each.
    #[test]
    fn layout() {
        let inner = Query {
            with: Vec::new(),
            body: Body::Select(Box::new(Select {
                compact: true,
                filter: Some(Expr::col("b").eq(Expr::Int(1))),
                ..Select::new(
                    vec![Expr::col("a").into()],
                    Relation::Table {
                        name: vec!["t".into()],
                        alias: None,
                    },
                )
            })),
            order_by: Vec::new(),
            limit: None,
        };
        let select = Select {
            filter: Some(Expr::And(vec![
                Expr::And(vec![Expr::col("x").eq(Expr::str("it's")), Expr::Bool(true)]),
                Expr::InQuery(Box::new(Expr::col("a")), Box::new(inner)),
                Expr::OrLines {
                    parts: vec![Expr::col("p"), Expr::col("q").nested()],
                    deeper: true,
                },
            ])),
            group_by: vec![Expr::col("k")],
            having: Some(Expr::Or(vec![Expr::col("h1"), Expr::col("h2")])),
            ..Select::new(
                vec![
                    Expr::col("k").into(),
                    Item::named(Expr::call("count", vec![Expr::Star]), "n"),
                ],
                Relation::Table {
                    name: vec!["db".into(), "t\"x".into()],
                    alias: Some("m"),
                },
            )
        };
        let query = Query {
            with: Vec::new(),
            body: Body::Select(Box::new(select)),
            order_by: vec![Order::desc(Expr::col("n"))],
            limit: Some(5),
        };
        assert_eq!(
            query.to_string(),
            "SELECT \"k\",\n  count(*) AS \"n\"\nFROM \"db\".\"t\"\"x\" AS m\nWHERE \"x\" = 'it''s' AND true\n  AND \"a\" IN (\n    SELECT \"a\" FROM \"t\"\n    WHERE \"b\" = 1\n  )\n  AND (\"p\"\n    OR (\"q\"))\nGROUP BY \"k\"\nHAVING \"h1\"\n  OR \"h2\"\nORDER BY \"n\" DESC\nLIMIT 5"
        );
    }
}
