//! The SQL `--explain` (and the REPL's `\sql`) prints for a compiled
//! search, before anything runs.

use std::fmt::Write as _;

use glaux_compiler::Compiled;

/// The SQL as printed by `--explain`: a statement ends with `;`; a query
/// that runs nothing is its header comment alone. A search of several
/// statements shows the later ones as commented templates: `--explain`
/// runs nothing, so has none of the hours and keys that go into them, and
/// the output stays a script that runs (its first statement).
pub fn sql_statement(c: &Compiled) -> String {
    if !c.runs() {
        return c.sql.trim_end().to_string();
    }
    let mut out = format!("{};", c.sql);
    let later = glaux_compiler::search::templates(c);
    for (i, template) in later.iter().enumerate() {
        let _ = write!(
            out,
            "\n\n-- step {} of {}, with what the steps before return written in as literals:\n{};",
            i + 2,
            later.len() + 1,
            commented(template)
        );
    }
    if let Some(join) = &c.join {
        let _ = write!(
            out,
            "\n\n-- instead of step {}, when the index finds more than {} records:\n{};",
            later.len() + 1,
            c.plan.max_keys,
            commented(join)
        );
    }
    out
}

/// `sql` as comment lines. `comment_text`: a line break or carriage
/// return inside a literal must not end its comment.
fn commented(sql: &str) -> String {
    sql.lines()
        .map(|l| format!("--   {}", glaux_compiler::sql::comment_text(l)))
        .collect::<Vec<_>>()
        .join("\n")
}
