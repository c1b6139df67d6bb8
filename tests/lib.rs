//! Helpers for glaux's cross-crate tests: a reference evaluator that defines
//! what a query means by evaluating its AST directly over raw records, and a
//! way to run the real CLI in-process.
//!
//! The evaluator shares only the tokenizer and the parser with the product
//! (by design: one tokenizer). Flattening JSON into fields, phrase adjacency,
//! prefixes and the boolean logic are written again here, simply, so a bug in
//! the index layout or the SQL cannot hide behind the same bug in the test.

use std::ffi::OsString;

use glaux_compiler::ast::{Expr, Query, ValueKind};
use glaux_compiler::tokenizer::tokenize;
use serde_json::Value;

/// A record as the evaluator sees it: `(field path, value text)` pairs.
pub struct RefRecord {
    pub values: Vec<(String, String)>,
}

impl RefRecord {
    /// Builds the record from its original text: a JSON object is flattened
    /// (keys joined by `.`, arrays flattened, null skipped), anything else is
    /// one value under the field `""`.
    pub fn from_text(text: &str) -> RefRecord {
        let mut values = Vec::new();
        match serde_json::from_str::<Value>(text) {
            Ok(v @ Value::Object(_)) => flatten("", &v, &mut values),
            _ => values.push((String::new(), text.to_string())),
        }
        RefRecord { values }
    }
}

fn flatten(path: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                flatten(&p, v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| flatten(path, v, out)),
        Value::String(s) => out.push((path.to_string(), s.clone())),
        Value::Number(n) => out.push((path.to_string(), n.to_string())),
        Value::Bool(b) => out.push((path.to_string(), b.to_string())),
        Value::Null => {}
    }
}

/// True if `record` matches `query`: the definition of the semantics.
pub fn matches(query: &Query, record: &RefRecord) -> bool {
    eval(&query.expr, record)
}

fn eval(e: &Expr, r: &RefRecord) -> bool {
    match e {
        Expr::And { clauses, .. } => clauses.iter().all(|c| eval(c, r)),
        Expr::Or { clauses, .. } => clauses.iter().any(|c| eval(c, r)),
        Expr::Not { expr, .. } => !eval(expr, r),
        Expr::Match(m) => {
            let field = m.field.as_ref().map(|f| f.name.as_str());
            let values = r
                .values
                .iter()
                .filter(|(f, _)| field.is_none_or(|want| want == f));
            match &m.value.kind {
                ValueKind::Term(t) | ValueKind::Phrase(t) => {
                    let want = tokenize(t);
                    values.into_iter().any(|(_, v)| {
                        let have = tokenize(v);
                        !want.is_empty() && have.windows(want.len()).any(|w| w == want.as_slice())
                    })
                }
                ValueKind::Prefix(p) => {
                    let p = p.to_lowercase();
                    values
                        .into_iter()
                        .any(|(_, v)| tokenize(v).iter().any(|t| t.starts_with(&p)))
                }
            }
        }
    }
}

/// Output of one in-process CLI run.
pub struct CliRun {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the glaux CLI in-process with `args` (without the program name).
pub fn glaux<I, S>(args: I) -> CliRun
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let mut argv: Vec<OsString> = vec!["glaux".into()];
    argv.extend(args.into_iter().map(Into::into));
    let mut out = Vec::new();
    let mut err = Vec::new();
    let status = glaux_cli::run(argv, &mut out, &mut err, false);
    CliRun {
        status,
        stdout: String::from_utf8(out).expect("utf-8 stdout"),
        stderr: String::from_utf8(err).expect("utf-8 stderr"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glaux_compiler::parser::parse;

    fn m(q: &str, text: &str) -> bool {
        matches(&parse(q).unwrap(), &RefRecord::from_text(text))
    }

    #[test]
    fn evaluator_basics() {
        let rec = r#"{"a":{"b":"Failed password for root"},"ip":"10.0.0.1","n":[1,2]}"#;
        assert!(m("a.b:\"failed password\"", rec));
        assert!(!m("a.b:\"password failed\"", rec));
        assert!(m("10.0.0.1", rec));
        assert!(!m("10.0.0.11", rec));
        assert!(m("ip:10.0.0.*", rec));
        assert!(m("n:2 AND NOT n:3", rec));
        assert!(!m("a:failed", rec));
        assert!(m("text words", "plain text words"));
        assert!(m("\"text words\"", "plain text words"));
    }
}
