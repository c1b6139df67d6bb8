//! `\jq FILTER`: a jq filter over the last results, with the jaq crates (a
//! jq implementation in Rust), as Strix let analysts reshape hits.
//!
//! Each record's message is the input: parsed as JSON when it is JSON,
//! otherwise the text as a JSON string, so `.` always works. Outputs are
//! printed one per line, compact. A filter that fails on some records
//! (`.a.b` on a string) reports how many, with the first error, and still
//! prints the others.

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;

use glaux_search::Hit;

/// What a filter produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct JqOutput {
    /// Each output value, compact JSON.
    pub values: Vec<String>,
    /// Records the filter raised an error on, and the first message.
    pub failed: usize,
    pub first_error: Option<String>,
}

/// Compiles `filter` and runs it on every hit's message.
pub fn apply(filter: &str, hits: &[Hit]) -> Result<JqOutput, String> {
    let program = File {
        code: filter,
        path: (),
    };
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs());
    let loader = Loader::new(defs);
    let arena = Arena::default();
    let modules = loader.load(&arena, program).map_err(|errs| {
        format!(
            "cannot parse the jq filter `{filter}` ({} error{})",
            errs.len(),
            if errs.len() == 1 { "" } else { "s" }
        )
    })?;
    let compiled = Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|errs| {
            let names: Vec<String> = errs
                .iter()
                .flat_map(|(_, es)| es.iter().map(|(name, _)| name.to_string()))
                .collect();
            format!(
                "cannot compile the jq filter `{filter}`: undefined {}",
                names.join(", ")
            )
        })?;
    let mut out = JqOutput::default();
    for hit in hits {
        let input = jaq_json::read::parse_single(hit.message.as_bytes())
            .unwrap_or_else(|_| Val::from(hit.message.clone()));
        let ctx = Ctx::<data::JustLut<Val>>::new(&compiled.lut, Vars::new([]));
        for v in compiled.id.run((ctx, input)).map(unwrap_valr) {
            match v {
                Ok(v) => out.values.push(v.to_string()),
                Err(e) => {
                    // jq stops a record's outputs at its first error.
                    out.failed += 1;
                    if out.first_error.is_none() {
                        out.first_error = Some(format!("{e}"));
                    }
                    break;
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(message: &str) -> Hit {
        Hit {
            time_ms: 0,
            tag: "t".into(),
            object: "o".into(),
            seq: 0,
            message: message.into(),
        }
    }

    #[test]
    fn filters_messages() {
        let hits = [
            hit(r#"{"eventName":"ConsoleLogin","user":{"name":"alice"}}"#),
            hit(r#"{"eventName":"AssumeRole","user":{"name":"bob"}}"#),
            hit("plain text line"),
        ];
        let out = apply(".user.name?", &hits).unwrap();
        assert_eq!(out.values, ["\"alice\"", "\"bob\""]);
        let out = apply("select(type == \"object\") | {e: .eventName}", &hits).unwrap();
        assert_eq!(
            out.values,
            ["{\"e\":\"ConsoleLogin\"}", "{\"e\":\"AssumeRole\"}"]
        );
        // A text line is a string; `.user` on it is an error, counted.
        let out = apply(".user.name", &hits).unwrap();
        assert_eq!(out.values.len(), 2);
        assert_eq!(out.failed, 1);
        assert!(out.first_error.is_some());
        let out = apply("ascii_downcase? // empty", &hits).unwrap();
        assert_eq!(out.values, ["\"plain text line\""]);
    }

    #[test]
    fn bad_filters_are_errors() {
        assert!(apply(".a |", &[]).unwrap_err().starts_with("cannot parse"));
        assert!(
            apply("nosuchfn(1)", &[])
                .unwrap_err()
                .contains("undefined nosuchfn")
        );
    }
}
