//! The storage contract in one place: table names, column names and types,
//! the partition column and its format. The SQL emitter, the DDL printer, the
//! Parquet writer (glaux-store) and the local engine all read it from here.
//! `docs/storage.md` explains each choice.

/// Directory and table name of the index table.
pub const INDEX_TABLE: &str = "indices";
/// Directory and table name of the message table.
pub const MESSAGE_TABLE: &str = "messages";

/// Directory and table name of the field-values table: every scalar value
/// of every record, by field, as the record wrote it. Stages that group or
/// aggregate by a field (`| stats count() by eventName`) read its rows for
/// that field instead of every whole message (docs/storage.md, "Field
/// values").
pub const VALUES_TABLE: &str = "field_values";

/// Directory and table name of the token-hours table: which hours of a day
/// hold a token. A search over many hours reads it first (one small file per
/// day) and then opens only the hourly index files it names, instead of
/// paying every hour's footer and page index (docs/storage.md).
pub const HOURS_TABLE: &str = "token_hours";
/// The partition column of the token-hours table: the day, UTC.
pub const DAY_COLUMN: &str = "day";
/// Athena's partition-projection (Java) format of a `day` value: the first
/// ten characters of a `dt`.
pub const DAY_FORMAT_JAVA: &str = "yyyy-MM-dd";

/// The store's tables: code that picks one names it by this, so a table
/// that is not one of them cannot be asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    /// Which hours of a day hold a token ([`HOURS_TABLE`]).
    Hours,
    /// (object, seq, field, token) ([`INDEX_TABLE`]).
    Index,
    /// The records as they came ([`MESSAGE_TABLE`]).
    Messages,
    /// Every scalar value by field ([`VALUES_TABLE`]).
    Values,
}

impl Table {
    /// Every table, in the order compaction rewrites them.
    pub const ALL: [Table; 4] = [Table::Hours, Table::Index, Table::Messages, Table::Values];

    /// Directory and table name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Hours => HOURS_TABLE,
            Table::Index => INDEX_TABLE,
            Table::Messages => MESSAGE_TABLE,
            Table::Values => VALUES_TABLE,
        }
    }

    /// The partition column of its directories: `day` for the token-hours
    /// table, `dt` for the others.
    pub fn partition_column(self) -> &'static str {
        match self {
            Table::Hours => DAY_COLUMN,
            Table::Index | Table::Messages | Table::Values => PARTITION_COLUMN,
        }
    }

    /// Its columns, in file order.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Table::Hours => HOURS_COLUMNS,
            Table::Index => INDEX_COLUMNS,
            Table::Messages => MESSAGE_COLUMNS,
            Table::Values => VALUES_COLUMNS,
        }
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The `day` a `dt` value falls in.
pub fn day_of(dt: &str) -> &str {
    dt.get(..10).unwrap_or(dt)
}

/// The partition column of the index and message tables: the record's
/// hour, UTC.
pub const PARTITION_COLUMN: &str = "dt";
/// chrono format of a `dt` value: fixed width, so string order is time order.
pub const PARTITION_FORMAT: &str = "%Y-%m-%d-%H";
/// The same format in Athena's partition-projection (Java) notation.
pub const PARTITION_FORMAT_JAVA: &str = "yyyy-MM-dd-HH";

/// The field path stored for text that has no field (non-JSON lines).
pub const TEXT_FIELD: &str = "";

/// Column types, in the few kinds the two tables use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// UTF-8 text (Parquet BYTE_ARRAY/UTF8, Hive `string`).
    Text,
    /// 64-bit signed integer (Hive `bigint`).
    Int64,
    /// 32-bit signed integer (Hive `int`).
    Int32,
    /// 64-bit float (Hive `double`).
    Float64,
}

impl ColumnType {
    /// The type's name in Hive DDL, as Athena's `CREATE EXTERNAL TABLE` wants it.
    pub fn hive_name(self) -> &'static str {
        match self {
            ColumnType::Text => "string",
            ColumnType::Int64 => "bigint",
            ColumnType::Int32 => "int",
            ColumnType::Float64 => "double",
        }
    }
}

/// A column: name, type, and what it holds.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    pub doc: &'static str,
    /// True if the column may hold NULL.
    pub nullable: bool,
}

const fn col(name: &'static str, ty: ColumnType, doc: &'static str) -> Column {
    Column {
        name,
        ty,
        doc,
        nullable: false,
    }
}

const fn nullable(name: &'static str, ty: ColumnType, doc: &'static str) -> Column {
    Column {
        name,
        ty,
        doc,
        nullable: true,
    }
}

/// Index table columns, in file order. One row per token occurrence (and
/// one with the empty token for a value that has no token, so `field:*`
/// sees it); files sorted by (token, field, object, seq, pos).
pub const INDEX_COLUMNS: &[Column] = &[
    col(
        "token",
        ColumnType::Text,
        "the token, lowercased (see the tokenizer)",
    ),
    col(
        "field",
        ColumnType::Text,
        "dotted JSON path of the value, arrays flattened; the empty string for text lines",
    ),
    col(
        "object",
        ColumnType::Text,
        "the source object the record came from",
    ),
    col(
        "seq",
        ColumnType::Int64,
        "sequence number of the record within its object, from 0",
    ),
    col(
        "pos",
        ColumnType::Int32,
        "position of the token within the record (values separated by a gap of one)",
    ),
    col(
        "time_ms",
        ColumnType::Int64,
        "time of the record, epoch milliseconds UTC",
    ),
    nullable(
        "num",
        ColumnType::Float64,
        "on the first row of a value: its number, or epoch milliseconds if it is a timestamp; NULL otherwise",
    ),
    nullable(
        "ip",
        ColumnType::Text,
        "for a token that is an IP address: 32 hex digits of its IPv6 form, so CIDR blocks are ranges; NULL otherwise",
    ),
];

/// Message table columns, in file order. One row per record; files sorted by
/// (object, seq).
pub const MESSAGE_COLUMNS: &[Column] = &[
    col(
        "object",
        ColumnType::Text,
        "the source object the record came from",
    ),
    col(
        "seq",
        ColumnType::Int64,
        "sequence number of the record within its object, from 0",
    ),
    col(
        "time_ms",
        ColumnType::Int64,
        "time of the record, epoch milliseconds UTC",
    ),
    col(
        "tag",
        ColumnType::Text,
        "the log type: cloudtrail, json, text, or --tag",
    ),
    col("message", ColumnType::Text, "the original record text"),
];

/// Field-values table columns, in file order. One row per distinct
/// (field, value) of each JSON record (an array gives a row per distinct
/// element; `null` none; text lines none); files sorted by (field, object,
/// seq, value), so a field's rows are one run of pages and, within it, a
/// record's are together.
pub const VALUES_COLUMNS: &[Column] = &[
    col(
        "field",
        ColumnType::Text,
        "dotted JSON path of the value, arrays flattened",
    ),
    col(
        "value",
        ColumnType::Text,
        "the value as the record wrote it: a string's text, a number's JSON text, true or false",
    ),
    nullable(
        "num",
        ColumnType::Float64,
        "the value's number when its whole text is a decimal number (numeric strings too); NULL otherwise",
    ),
    col(
        "object",
        ColumnType::Text,
        "the source object the record came from",
    ),
    col(
        "seq",
        ColumnType::Int64,
        "sequence number of the record within its object, from 0",
    ),
    col(
        "time_ms",
        ColumnType::Int64,
        "time of the record, epoch milliseconds UTC",
    ),
];

/// Token-hours table columns, in file order. One row per distinct (token,
/// hour) of the index in each file (of the table, once compacted); files
/// sorted by (token, dt). It may list an hour
/// that no longer holds the token (a superset is safe: the index decides),
/// never miss one.
pub const HOURS_COLUMNS: &[Column] = &[
    col(
        "token",
        ColumnType::Text,
        "a token of the index table, as stored there",
    ),
    col(
        "dt",
        ColumnType::Text,
        "an hour (the index table's dt) holding the token",
    ),
    nullable(
        "object",
        ColumnType::Text,
        "when one record of the hour holds the token: its object; NULL otherwise",
    ),
    nullable(
        "seq",
        ColumnType::Int64,
        "when one record of the hour holds the token: its seq; NULL otherwise",
    ),
];

/// Column name constants, so code that builds SQL or Arrow arrays refers to
/// the layout instead of repeating string literals.
pub mod columns {
    pub const TOKEN: &str = "token";
    pub const FIELD: &str = "field";
    pub const OBJECT: &str = "object";
    pub const SEQ: &str = "seq";
    pub const POS: &str = "pos";
    pub const TIME_MS: &str = "time_ms";
    pub const NUM: &str = "num";
    pub const IP: &str = "ip";
    pub const TAG: &str = "tag";
    pub const MESSAGE: &str = "message";
    pub const VALUE: &str = "value";
}

/// The database (Athena) or schema (local engine) the tables live in.
pub const DEFAULT_DATABASE: &str = "glaux";

/// True if `name` is a database name Athena and the local engine both take
/// without surprises: lower-case ASCII letters, digits and `_`, starting with
/// a letter or `_`, at most 255 bytes.
pub fn is_valid_database_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
