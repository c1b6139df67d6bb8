//! Trino functions DataFusion lacks, as UDFs with Trino's semantics.
//!
//! The compiler's own SQL uses none of them; they are here so that the SQL an
//! analyst would write by hand against the same tables (the baseline of
//! `glaux bench`, a query pasted from the Athena console) runs on the
//! embedded engine too and answers as Athena would.
//!
//! - `json_extract_scalar(json, path)`: the scalar at a JSONPath as text. A
//!   string unquoted, a number as its JSON text, `true`/`false`; NULL for an
//!   object, an array, `null`, a missing member, or text that is not JSON.
//!   Paths: `$`, then `.name`, `["name"]` or `[index]` segments. A path
//!   outside that subset is an error, as an invalid path is on Trino.
//! - `array_join(array, delimiter)`: the array's elements joined by the
//!   delimiter, NULL elements left out; NULL for a NULL array. The compiler
//!   uses it for `values(F)` (`array_join(array_agg(…), ',')`), since
//!   DataFusion has it only with its nested-types feature, which glaux does
//!   not build.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringArray};
use arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use serde_json::value::RawValue;

/// Every UDF of this module, for registration on a session.
pub fn functions() -> Vec<ScalarUDF> {
    vec![
        ScalarUDF::from(JsonExtractScalar::new()),
        ScalarUDF::from(ArrayJoin::new()),
    ]
}

/// One step of a JSONPath.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Member(String),
    Index(usize),
}

/// Parses the subset of JSONPath Trino's `json_extract_scalar` documents
/// (`$.store.book[0]["title"]`).
fn parse_path(path: &str) -> std::result::Result<Vec<Step>, String> {
    let bad = |why: &str| format!("invalid JSON path {path:?}: {why}");
    let mut rest = path
        .strip_prefix('$')
        .ok_or_else(|| bad("it must start with $"))?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let name = &after[..end];
            if name.is_empty() {
                return Err(bad("empty member name"));
            }
            steps.push(Step::Member(name.to_string()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix("[\"") {
            let end = after.find("\"]").ok_or_else(|| bad("unclosed [\""))?;
            steps.push(Step::Member(after[..end].to_string()));
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').ok_or_else(|| bad("unclosed ["))?;
            let index = after[..end]
                .trim()
                .parse()
                .map_err(|_| bad("an index must be a non-negative integer"))?;
            steps.push(Step::Index(index));
            rest = &after[end + 1..];
        } else {
            return Err(bad("expected . or [ after a step"));
        }
    }
    Ok(steps)
}

/// The scalar at `steps` in `json`, as `json_extract_scalar` returns it.
fn extract_scalar(json: &str, steps: &[Step]) -> Option<String> {
    let mut here: &RawValue = serde_json::from_str(json).ok()?;
    for step in steps {
        here = match step {
            Step::Member(name) => {
                let object: HashMap<String, &RawValue> = serde_json::from_str(here.get()).ok()?;
                object.get(name).copied()?
            }
            Step::Index(i) => {
                let array: Vec<&RawValue> = serde_json::from_str(here.get()).ok()?;
                array.get(*i).copied()?
            }
        };
    }
    let raw = here.get().trim();
    match raw.as_bytes().first()? {
        b'"' => serde_json::from_str::<String>(raw).ok(),
        b'{' | b'[' | b'n' => None,
        _ => Some(raw.to_string()),
    }
}

/// The text of an argument written as a string literal (a JSON path, a
/// delimiter): `None` for a column or a NULL.
fn literal_text(arg: &ColumnarValue) -> Option<&str> {
    match arg {
        ColumnarValue::Scalar(v) => v.try_as_str().flatten(),
        ColumnarValue::Array(_) => None,
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonExtractScalar {
    signature: Signature,
}

impl JsonExtractScalar {
    fn new() -> Self {
        JsonExtractScalar {
            signature: Signature::string(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for JsonExtractScalar {
    fn name(&self) -> &str {
        "json_extract_scalar"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [json, path] = args.args.as_slice() else {
            return exec_err!("json_extract_scalar takes two arguments");
        };
        let Some(path) = literal_text(path) else {
            return exec_err!("json_extract_scalar: the path must be a string literal");
        };
        let steps = match parse_path(path) {
            Ok(steps) => steps,
            Err(e) => return exec_err!("json_extract_scalar: {e}"),
        };
        match json {
            ColumnarValue::Scalar(json) => {
                let Some(json) = json.try_as_str() else {
                    return exec_err!("json_extract_scalar: the JSON must be text");
                };
                let value = json.and_then(|j| extract_scalar(j, &steps));
                Ok(ColumnarValue::Scalar(ScalarValue::Utf8(value)))
            }
            ColumnarValue::Array(array) => {
                let text = arrow::compute::cast(array, &DataType::Utf8)?;
                let Some(strings) = text.as_any().downcast_ref::<StringArray>() else {
                    return exec_err!("json_extract_scalar: the JSON must be text");
                };
                let out: StringArray = strings
                    .iter()
                    .map(|j| j.and_then(|j| extract_scalar(j, &steps)))
                    .collect();
                Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ArrayJoin {
    signature: Signature,
}

impl ArrayJoin {
    fn new() -> Self {
        ArrayJoin {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for ArrayJoin {
    fn name(&self) -> &str {
        "array_join"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [array, delimiter] = args.args.as_slice() else {
            return exec_err!("array_join takes two arguments");
        };
        let Some(delimiter) = literal_text(delimiter) else {
            return exec_err!("array_join: the delimiter must be a string literal");
        };
        let lists = array.to_array(args.number_rows)?;
        let DataType::List(_) = lists.data_type() else {
            return exec_err!("array_join: expected an array, got {}", lists.data_type());
        };
        let lists = lists.as_list::<i32>();
        let mut out = arrow::array::StringBuilder::new();
        for row in 0..lists.len() {
            if lists.is_null(row) {
                out.append_null();
                continue;
            }
            let items = arrow::compute::cast(&lists.value(row), &DataType::Utf8)?;
            let items = items.as_string::<i32>();
            let joined: Vec<&str> = items.iter().flatten().collect();
            out.append_value(joined.join(delimiter));
        }
        let out: ArrayRef = Arc::new(out.finish());
        Ok(match array {
            ColumnarValue::Scalar(_) => {
                ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)
            }
            ColumnarValue::Array(_) => ColumnarValue::Array(out),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(json: &str, path: &str) -> Option<String> {
        extract_scalar(json, &parse_path(path).unwrap())
    }

    /// Trino's documented behaviour: scalars as text, NULL for the rest.
    #[test]
    fn extracts_scalars_as_trino_does() {
        let j = r#"{"a":{"b":"x\"y","n":1.50,"t":true,"z":null,"o":{},"l":[1,{"c":"d"}]},"dotted.key":7}"#;
        assert_eq!(x(j, "$.a.b").as_deref(), Some("x\"y"));
        assert_eq!(x(j, "$.a.n").as_deref(), Some("1.50"));
        assert_eq!(x(j, "$.a.t").as_deref(), Some("true"));
        assert_eq!(x(j, "$.a.z"), None);
        assert_eq!(x(j, "$.a.o"), None);
        assert_eq!(x(j, "$.a.l"), None);
        assert_eq!(x(j, "$.a.l[0]").as_deref(), Some("1"));
        assert_eq!(x(j, "$.a.l[1].c").as_deref(), Some("d"));
        assert_eq!(x(j, "$.a.l[2]"), None);
        assert_eq!(x(j, r#"$["dotted.key"]"#).as_deref(), Some("7"));
        assert_eq!(x(j, "$.missing"), None);
        assert_eq!(x(j, "$.a.b.c"), None);
        assert_eq!(x("not json", "$.a"), None);
        assert_eq!(x("\"top\"", "$").as_deref(), Some("top"));
    }

    #[test]
    fn refuses_paths_outside_the_subset() {
        for bad in ["a.b", "$.", "$..a", "$[x]", "$[\"a", "$a"] {
            assert!(parse_path(bad).is_err(), "{bad}");
        }
    }
}
