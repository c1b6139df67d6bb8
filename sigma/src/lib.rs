//! Sigma detection rules, read and turned into glaux queries.
//!
//! A pipeline of plain stages, as the compiler's: rule text → YAML nodes
//! with byte spans ([`yaml`]) → the rule and its detection as a glaux
//! query ([`convert`], with the condition parsed by [`condition`] and the
//! values and modifiers by [`value`]). The query is then compiled and run
//! like any other; nothing here does I/O. Errors are [`SigmaError`]s
//! pointing into the rule file.
#![forbid(unsafe_code)]

pub mod condition;
pub mod convert;
pub mod error;
pub mod value;
pub mod yaml;

pub use convert::Rule;
pub use error::{Report, SigmaError};

/// The rules of one file's text: one per YAML document, each converted or
/// with the error that stopped it, so one bad rule does not hide the
/// others. A file that is not YAML is one error.
pub fn rules(text: &str) -> Vec<Result<Rule, SigmaError>> {
    match yaml::load(text) {
        Ok(docs) => docs.iter().map(convert::rule).collect(),
        Err(e) => vec![Err(e)],
    }
}
