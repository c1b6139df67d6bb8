//! Engine rows → what a search returned: the records of a search
//! ([`Hit`]), the hours of an hours statement and the keys of a find. Both
//! engines return the same columns, in types that may differ (text as Utf8,
//! LargeUtf8 or Utf8View), so every reader here casts first.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use chrono::{DateTime, SecondsFormat, Utc};
use glaux_compiler::layout::PARTITION_COLUMN;
use glaux_compiler::layout::columns::{MESSAGE, OBJECT, SEQ, TAG, TIME_MS};
use glaux_compiler::plan::Key;
use glaux_compiler::plan::{HOUR_LAST_OBJECT, HOUR_LAST_SEQ, HOUR_UNNAMED};
use glaux_compiler::search::Listed;

/// One search hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub time_ms: i64,
    pub tag: String,
    pub object: String,
    pub seq: i64,
    pub message: String,
}

impl Hit {
    /// RFC 3339 in UTC, milliseconds shown only when not zero.
    pub fn time(&self) -> String {
        DateTime::<Utc>::from_timestamp_millis(self.time_ms)
            .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
            .unwrap_or_else(|| self.time_ms.to_string())
    }
}

/// Column `name` of `batch`, cast to `ty`: engines differ in the types
/// they return (text as Utf8, LargeUtf8 or Utf8View).
fn column(
    batch: &RecordBatch,
    name: &str,
    ty: &DataType,
) -> Result<arrow::array::ArrayRef, String> {
    let c = batch
        .column_by_name(name)
        .ok_or_else(|| format!("result has no `{name}` column"))?;
    cast(c, ty).map_err(|e| e.to_string())
}

fn text_column(batch: &RecordBatch, name: &str) -> Result<arrow::array::StringArray, String> {
    Ok(column(batch, name, &DataType::Utf8)?
        .as_string::<i32>()
        .clone())
}

fn int_column(batch: &RecordBatch, name: &str) -> Result<arrow::array::Int64Array, String> {
    Ok(column(batch, name, &DataType::Int64)?
        .as_primitive::<Int64Type>()
        .clone())
}

/// Decodes result batches into hits.
pub fn hits_from_batches(batches: &[RecordBatch]) -> Result<Vec<Hit>, String> {
    let mut out = Vec::new();
    for batch in batches {
        let (time, tag, object, seq, message) = (
            int_column(batch, TIME_MS)?,
            text_column(batch, TAG)?,
            text_column(batch, OBJECT)?,
            int_column(batch, SEQ)?,
            text_column(batch, MESSAGE)?,
        );
        for i in 0..batch.num_rows() {
            // A record always has these: a NULL is a broken result (or a
            // hand-edited table), said so rather than printed as "" or 0.
            let empty = [
                (TIME_MS, time.is_null(i)),
                (OBJECT, object.is_null(i)),
                (SEQ, seq.is_null(i)),
                (MESSAGE, message.is_null(i)),
            ]
            .into_iter()
            .find_map(|(name, null)| null.then_some(name));
            if let Some(name) = empty {
                return Err(format!("a record of the result has no `{name}` (NULL)"));
            }
            out.push(Hit {
                time_ms: time.value(i),
                tag: if tag.is_null(i) {
                    String::new()
                } else {
                    tag.value(i).to_string()
                },
                object: object.value(i).to_string(),
                seq: seq.value(i),
                message: message.value(i).to_string(),
            });
        }
    }
    Ok(out)
}

/// Decodes the rows of an hours statement (`glaux_compiler::search`):
/// the hours, in the order returned, with the record the token-hours
/// table names for each when the statement asked for it.
pub fn hours_from_batches(batches: &[RecordBatch]) -> Result<Vec<Listed>, String> {
    let mut out = Vec::new();
    for batch in batches {
        let dt = text_column(batch, PARTITION_COLUMN)?;
        // The records the hour's token-hours rows name, only when the
        // statement asked for them (`Listed::from_rows` says when one is
        // the hour's match).
        let named = match batch.schema().index_of(HOUR_UNNAMED) {
            Ok(_) => Some((
                (text_column(batch, OBJECT)?, int_column(batch, SEQ)?),
                (
                    text_column(batch, HOUR_LAST_OBJECT)?,
                    int_column(batch, HOUR_LAST_SEQ)?,
                ),
                int_column(batch, HOUR_UNNAMED)?,
            )),
            Err(_) => None,
        };
        for i in 0..batch.num_rows() {
            if dt.is_null(i) {
                continue;
            }
            let dt = dt.value(i).to_string();
            out.push(match &named {
                Some((first, last, unnamed)) => {
                    fn at(
                        (object, seq): &(arrow::array::StringArray, arrow::array::Int64Array),
                        i: usize,
                    ) -> Option<(&str, i64)> {
                        (object.is_valid(i) && seq.is_valid(i))
                            .then(|| (object.value(i), seq.value(i)))
                    }
                    let unnamed = if unnamed.is_valid(i) {
                        unnamed.value(i)
                    } else {
                        1
                    };
                    Listed::from_rows(dt, at(first, i), at(last, i), unnamed)
                }
                None => Listed { dt, record: None },
            });
        }
    }
    Ok(out)
}

/// Decodes the rows of a find statement into the keys its fetch names
/// (`glaux_compiler::fetch`).
pub fn keys_from_batches(batches: &[RecordBatch]) -> Result<Vec<Key>, String> {
    let mut out = Vec::new();
    for batch in batches {
        let (dt, object, seq) = (
            text_column(batch, PARTITION_COLUMN)?,
            text_column(batch, OBJECT)?,
            int_column(batch, SEQ)?,
        );
        for i in 0..batch.num_rows() {
            if dt.is_null(i) || object.is_null(i) || seq.is_null(i) {
                return Err("a key of the index has an empty column".to_string());
            }
            out.push(Key {
                dt: dt.value(i).to_string(),
                object: object.value(i).to_string(),
                seq: seq.value(i),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record row with a NULL where every record has a value is an error
    /// naming the column; a NULL tag is the empty tag.
    #[test]
    fn null_record_columns_are_errors_not_empty() {
        use arrow::array::{ArrayRef, Int64Array, StringArray};
        use std::sync::Arc;
        let batch = |object: Option<&str>, message: Option<&str>, tag: Option<&str>| {
            let columns: Vec<(&str, ArrayRef)> = vec![
                ("time_ms", Arc::new(Int64Array::from(vec![Some(1)]))),
                ("tag", Arc::new(StringArray::from(vec![tag]))),
                ("object", Arc::new(StringArray::from(vec![object]))),
                ("seq", Arc::new(Int64Array::from(vec![Some(2)]))),
                ("message", Arc::new(StringArray::from(vec![message]))),
            ];
            RecordBatch::try_from_iter(columns).unwrap()
        };
        assert_eq!(
            hits_from_batches(&[batch(Some("o"), None, Some("json"))]).unwrap_err(),
            "a record of the result has no `message` (NULL)"
        );
        assert_eq!(
            hits_from_batches(&[batch(None, Some("m"), Some("json"))]).unwrap_err(),
            "a record of the result has no `object` (NULL)"
        );
        let hits = hits_from_batches(&[batch(Some("o"), Some("m"), None)]).unwrap();
        assert_eq!((hits[0].tag.as_str(), hits[0].message.as_str()), ("", "m"));
    }
}
