//! `CREATE EXTERNAL TABLE` statements for Athena, from the layout: the two
//! tables over `<location>/indices/` and `<location>/messages/`, partitioned by
//! `dt`, and the token-hours table over `<location>/token_hours/`,
//! partitioned by `day`, all with partition projection (no `ALTER TABLE ADD PARTITION`, no Glue
//! partition calls), so a store copied with `aws s3 sync` is queryable at once.

use std::fmt::Write as _;

use crate::error::{CompileError, ErrorKind};
use crate::layout::{
    Column, DAY_COLUMN, DAY_FORMAT_JAVA, HOURS_COLUMNS, HOURS_TABLE, INDEX_COLUMNS, INDEX_TABLE,
    MESSAGE_COLUMNS, MESSAGE_TABLE, PARTITION_COLUMN, PARTITION_FORMAT_JAVA, VALUES_COLUMNS,
    VALUES_TABLE, day_of, is_valid_database_name,
};

/// How a table is partitioned, for its DDL.
struct Partitioning {
    column: &'static str,
    doc: &'static str,
    /// Java date format of the values.
    format: &'static str,
    /// Projection interval unit.
    unit: &'static str,
}

const BY_HOUR: Partitioning = Partitioning {
    column: PARTITION_COLUMN,
    doc: "hour of the record time, UTC",
    format: PARTITION_FORMAT_JAVA,
    unit: "HOURS",
};

const BY_DAY: Partitioning = Partitioning {
    column: DAY_COLUMN,
    doc: "day of the hours listed, UTC",
    format: DAY_FORMAT_JAVA,
    unit: "DAYS",
};

/// Options of the DDL.
#[derive(Debug, Clone)]
pub struct DdlOptions {
    /// `s3://bucket/prefix` (the store root).
    pub location: String,
    pub database: String,
    /// First `dt` the projection covers (`YYYY-MM-DD-HH`).
    pub projection_start: String,
}

/// Renders `CREATE DATABASE` and the three `CREATE EXTERNAL TABLE` statements,
/// each ending in `;`, separated by blank lines.
pub fn render(options: &DdlOptions) -> Result<String, CompileError> {
    Ok(statements(options)?
        .iter()
        .map(|s| format!("{s};\n"))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// The same statements one by one, without the `;` (Athena runs one
/// statement per query): what `glaux ddl --apply` submits.
pub fn statements(options: &DdlOptions) -> Result<Vec<String>, CompileError> {
    let location = options.location.trim_end_matches('/');
    let Some(rest) = location.strip_prefix("s3://") else {
        return Err(CompileError::new(
            ErrorKind::BadName,
            format!("`{}` is not an S3 location", options.location),
        )
        .help("write it as s3://bucket/prefix"));
    };
    if let Some(bad) = location
        .chars()
        .find(|c| c.is_control() || c.is_whitespace() || matches!(c, '\'' | '\\' | '`'))
    {
        return Err(CompileError::new(
            ErrorKind::BadName,
            format!("the location contains {bad:?}, which glaux does not put in DDL"),
        )
        .help("use an S3 prefix of letters, digits and `/-_.`"));
    }
    if rest.is_empty() || rest.starts_with('/') {
        return Err(CompileError::new(
            ErrorKind::BadName,
            format!("`{}` has no bucket name", options.location),
        )
        .help("write it as s3://bucket/prefix"));
    }
    if !is_valid_database_name(&options.database) {
        return Err(CompileError::new(
            ErrorKind::BadName,
            format!("`{}` is not a usable database name", options.database),
        )
        .help("use lower-case letters, digits and `_`, starting with a letter or `_`"));
    }
    let shape_ok = options.projection_start.len() == 13
        && options.projection_start.char_indices().all(|(i, c)| {
            if matches!(i, 4 | 7 | 10) {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shape_ok {
        return Err(CompileError::new(
            ErrorKind::BadTime,
            format!("`{}` is not an hour partition", options.projection_start),
        )
        .help("write it as YYYY-MM-DD-HH, e.g. 2024-01-01-00"));
    }
    let mut out = vec![format!(
        "CREATE DATABASE IF NOT EXISTS `{}`",
        options.database
    )];
    for (table, columns, doc, partitioning) in [
        (
            INDEX_TABLE,
            INDEX_COLUMNS,
            "one row per token occurrence",
            &BY_HOUR,
        ),
        (
            MESSAGE_TABLE,
            MESSAGE_COLUMNS,
            "one row per original record",
            &BY_HOUR,
        ),
        (
            HOURS_TABLE,
            HOURS_COLUMNS,
            "which hours hold a token, one small file per day",
            &BY_DAY,
        ),
        (
            VALUES_TABLE,
            VALUES_COLUMNS,
            "one row per distinct field value of a record, for stages",
            &BY_HOUR,
        ),
    ] {
        let mut one = String::new();
        table_ddl(
            &mut one,
            options,
            location,
            table,
            columns,
            doc,
            partitioning,
        );
        out.push(one);
    }
    Ok(out)
}

/// A Hive DDL string literal: Hive escapes with backslashes (a doubled
/// quote would be two adjacent literals), so `\` and `'` are escaped.
fn hive_literal(value: &str) -> String {
    let mut out = String::from("'");
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

fn table_ddl(
    out: &mut String,
    options: &DdlOptions,
    location: &str,
    table: &str,
    columns: &[Column],
    doc: &str,
    partitioning: &Partitioning,
) {
    let table_location = format!("{location}/{table}/");
    let _ = writeln!(out, "-- glaux {table}: {doc}");
    let _ = writeln!(
        out,
        "CREATE EXTERNAL TABLE IF NOT EXISTS `{}`.`{table}` (",
        options.database
    );
    let cols: Vec<String> = columns
        .iter()
        .map(|c| {
            format!(
                "  `{}` {} COMMENT {}",
                c.name,
                c.ty.hive_name(),
                hive_literal(c.doc)
            )
        })
        .collect();
    let _ = writeln!(out, "{}\n)", cols.join(",\n"));
    let Partitioning {
        column,
        doc,
        format,
        unit,
    } = partitioning;
    let _ = writeln!(
        out,
        "PARTITIONED BY (`{column}` string COMMENT '{doc}, {format}')"
    );
    let start = if *column == DAY_COLUMN {
        day_of(&options.projection_start)
    } else {
        &options.projection_start
    };
    let _ = writeln!(out, "STORED AS PARQUET");
    let _ = writeln!(out, "LOCATION {}", hive_literal(&table_location));
    let props = [
        ("projection.enabled", "true".to_string()),
        (&*format!("projection.{column}.type"), "date".to_string()),
        (&*format!("projection.{column}.format"), format.to_string()),
        (
            &*format!("projection.{column}.range"),
            format!("{start},NOW"),
        ),
        (&*format!("projection.{column}.interval"), "1".to_string()),
        (
            &*format!("projection.{column}.interval.unit"),
            unit.to_string(),
        ),
        (
            "storage.location.template",
            format!("{table_location}{column}=${{{column}}}/"),
        ),
        ("parquet.compression", "ZSTD".to_string()),
    ];
    let props: Vec<String> = props
        .iter()
        .map(|(k, v)| format!("  {}={}", hive_literal(k), hive_literal(v)))
        .collect();
    let _ = write!(out, "TBLPROPERTIES (\n{}\n)", props.join(",\n"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ddl(location: &str, database: &str, start: &str) -> Result<String, ErrorKind> {
        render(&DdlOptions {
            location: location.into(),
            database: database.into(),
            projection_start: start.into(),
        })
        .map_err(|e| e.kind)
    }

    #[test]
    fn hostile_inputs_are_refused() {
        assert!(ddl("s3://b/p", "glaux", "2024-01-01-00").is_ok());
        for loc in [
            "s3://b/p'x",
            "s3://b/p\\x",
            "s3://b/p x",
            "s3://b/p\nx",
            "s3://",
            "s3:///x",
            "/tmp",
            "s3://b/`x",
        ] {
            assert_eq!(
                ddl(loc, "glaux", "2024-01-01-00"),
                Err(ErrorKind::BadName),
                "{loc:?}"
            );
        }
        for db in ["Glaux", "a-b", "a`b", "", "1x"] {
            assert_eq!(
                ddl("s3://b/p", db, "2024-01-01-00"),
                Err(ErrorKind::BadName),
                "{db:?}"
            );
        }
        for start in ["2024-01-01", "2024-01-01-00',", "x"] {
            assert_eq!(
                ddl("s3://b/p", "glaux", start),
                Err(ErrorKind::BadTime),
                "{start:?}"
            );
        }
    }

    #[test]
    fn hive_literals_escape_with_backslashes() {
        assert_eq!(hive_literal("a'b\\c"), "'a\\'b\\\\c'");
    }
}
