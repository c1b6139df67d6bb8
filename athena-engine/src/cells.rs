//! Athena returns every value as a string (`VarCharValue`, absent for
//! NULL) beside column metadata naming each column's type. This stage turns
//! one page of such rows into an Arrow batch with the types the embedded
//! engine would give, so the rest of glaux cannot tell the engines apart.
//!
//! Plain types in, Arrow out: no SDK types here, so the decoding is tested
//! without a peer.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, RecordBatchOptions, StringArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

/// One result column as the metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMeta {
    pub name: String,
    /// Athena's type name: `varchar`, `bigint`, `integer`, `double`,
    /// `boolean`, `timestamp`, `decimal`, …
    pub ty: String,
}

/// A malformed result: the wrong number of cells, or a cell that is not a
/// value of its column's type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("row {row} has {got} values but the result has {want} columns")]
    Width { row: usize, got: usize, want: usize },
    #[error("row {row}, column `{column}` ({ty}): `{value}` is not a {ty}")]
    Value {
        row: usize,
        column: String,
        ty: String,
        value: String,
    },
}

/// The Arrow type for an Athena type: integers as Int64, floating point as
/// Float64, booleans as Boolean; everything else (varchar, char, json,
/// decimal, date, timestamp, arrays, maps) keeps Athena's text.
pub fn arrow_type(athena: &str) -> DataType {
    let base = athena
        .split(['(', ' '])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match base.as_str() {
        "bigint" | "integer" | "int" | "smallint" | "tinyint" => DataType::Int64,
        "double" | "float" | "real" => DataType::Float64,
        "boolean" => DataType::Boolean,
        _ => DataType::Utf8,
    }
}

/// The Arrow schema of a result.
pub fn schema(columns: &[ColumnMeta]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| Field::new(&c.name, arrow_type(&c.ty), true))
            .collect::<Vec<_>>(),
    ))
}

/// True when `row` is the header Athena puts first on the first page of a
/// SELECT's results: each cell is its column's name.
pub fn is_header(columns: &[ColumnMeta], row: &[Option<String>]) -> bool {
    row.len() == columns.len()
        && row
            .iter()
            .zip(columns)
            .all(|(cell, c)| cell.as_deref() == Some(c.name.as_str()))
}

/// Each cell parsed (`None`: NULL); the first cell that does not parse is
/// the error `bad(row index, text)`.
fn parse_cells<'a, T>(
    cells: impl Iterator<Item = Option<&'a str>>,
    parse: impl Fn(&str) -> Option<T>,
    bad: impl Fn(usize, &str) -> DecodeError,
) -> Result<Vec<Option<T>>, DecodeError> {
    cells
        .enumerate()
        .map(|(i, c)| match c {
            None => Ok(None),
            Some(v) => parse(v).map(Some).ok_or_else(|| bad(i, v)),
        })
        .collect()
}

/// Decodes one page. `first_row` numbers rows in messages (1-based, over the
/// whole result).
pub fn page(
    columns: &[ColumnMeta],
    rows: &[Vec<Option<String>>],
    first_row: usize,
) -> Result<RecordBatch, DecodeError> {
    for (i, r) in rows.iter().enumerate() {
        if r.len() != columns.len() {
            return Err(DecodeError::Width {
                row: first_row + i,
                got: r.len(),
                want: columns.len(),
            });
        }
    }
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns.len());
    for (j, col) in columns.iter().enumerate() {
        let cells = rows.iter().map(|r| r[j].as_deref());
        let bad = |i: usize, v: &str| DecodeError::Value {
            row: first_row + i,
            column: col.name.clone(),
            ty: col.ty.clone(),
            value: v.chars().take(64).collect(),
        };
        let array: ArrayRef = match arrow_type(&col.ty) {
            DataType::Int64 => Arc::new(Int64Array::from(parse_cells(
                cells,
                |v| v.parse().ok(),
                bad,
            )?)),
            // Trino prints non-finite doubles as NaN/Infinity, which parse.
            DataType::Float64 => Arc::new(Float64Array::from(parse_cells(
                cells,
                |v| v.parse().ok(),
                bad,
            )?)),
            DataType::Boolean => Arc::new(BooleanArray::from(parse_cells(
                cells,
                |v| match v {
                    "true" => Some(true),
                    "false" => Some(false),
                    _ => None,
                },
                bad,
            )?)),
            _ => Arc::new(StringArray::from_iter(cells)),
        };
        arrays.push(array);
    }
    // A statement without result columns (DDL) still has a row count.
    let options = RecordBatchOptions::new().with_row_count(Some(rows.len()));
    Ok(
        RecordBatch::try_new_with_options(schema(columns), arrays, &options)
            .expect("arrays are built to the schema, with the row count given"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Int64Type;

    fn cols() -> Vec<ColumnMeta> {
        [
            ("time_ms", "bigint"),
            ("tag", "varchar"),
            ("ok", "boolean"),
            ("x", "double"),
        ]
        .iter()
        .map(|(n, t)| ColumnMeta {
            name: n.to_string(),
            ty: t.to_string(),
        })
        .collect()
    }

    fn row(cells: &[Option<&str>]) -> Vec<Option<String>> {
        cells.iter().map(|c| c.map(str::to_string)).collect()
    }

    #[test]
    fn types_and_nulls() {
        let b = page(
            &cols(),
            &[
                row(&[
                    Some("1714557600123"),
                    Some("cloudtrail"),
                    Some("true"),
                    Some("1.5"),
                ]),
                row(&[None, None, None, Some("NaN")]),
            ],
            1,
        )
        .unwrap();
        assert_eq!(b.num_rows(), 2);
        let t = b.column(0).as_primitive::<Int64Type>();
        assert_eq!(t.value(0), 1_714_557_600_123);
        assert!(t.is_null(1));
        assert!(b.column(1).is_null(1));
        assert_eq!(b.column(1).as_string::<i32>().value(0), "cloudtrail");
        assert!(b.column(2).as_boolean().value(0));
        assert!(
            b.column(3)
                .as_primitive::<arrow::datatypes::Float64Type>()
                .value(1)
                .is_nan()
        );
    }

    #[test]
    fn header_is_recognised() {
        let c = cols();
        assert!(is_header(
            &c,
            &row(&[Some("time_ms"), Some("tag"), Some("ok"), Some("x")])
        ));
        assert!(!is_header(
            &c,
            &row(&[Some("1"), Some("tag"), Some("ok"), Some("x")])
        ));
        assert!(!is_header(&c, &row(&[Some("time_ms")])));
    }

    #[test]
    fn malformed_rows_are_errors_not_panics() {
        assert_eq!(
            page(&cols(), &[row(&[Some("1")])], 7).unwrap_err(),
            DecodeError::Width {
                row: 7,
                got: 1,
                want: 4
            }
        );
        let e = page(
            &cols(),
            &[row(&[Some("12x"), Some("a"), Some("true"), Some("1")])],
            1,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "row 1, column `time_ms` (bigint): `12x` is not a bigint"
        );
        assert!(
            page(
                &cols(),
                &[row(&[Some("1"), Some("a"), Some("yes"), Some("1")])],
                1
            )
            .is_err()
        );
    }

    #[test]
    fn results_without_columns_decode() {
        // DDL statements return no columns and no rows.
        let b = page(&[], &[], 1).unwrap();
        assert_eq!((b.num_columns(), b.num_rows()), (0, 0));
        assert_eq!(page(&[], &[vec![]], 1).unwrap().num_rows(), 1);
    }

    #[test]
    fn type_names() {
        assert_eq!(arrow_type("varchar(12)"), DataType::Utf8);
        assert_eq!(arrow_type("BIGINT"), DataType::Int64);
        assert_eq!(arrow_type("timestamp(3) with time zone"), DataType::Utf8);
        assert_eq!(arrow_type("decimal(10,2)"), DataType::Utf8);
        assert_eq!(arrow_type("real"), DataType::Float64);
    }
}
