//! Writes one object's records of one hour as three Parquet files: its
//! index rows (sorted by token, field, seq, pos; page statistics and small
//! pages; zstd), its messages (sorted by seq) and its field values (sorted
//! by field, seq, value); and its token-hours pairs.
//!
//! Files are encoded in memory and handed to a [`crate::target::Target`],
//! which writes each atomically (a temporary name renamed into place
//! locally; one PutObject on S3), so a reader never sees half a file and a
//! crash leaves no partial data.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use glaux_compiler::layout::{
    ColumnType, HOURS_COLUMNS, INDEX_COLUMNS, MESSAGE_COLUMNS, PARTITION_COLUMN, VALUES_COLUMNS,
    columns as c,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::analyze::{Entry, FieldValue, Vocabulary};

fn arrow_type(ty: ColumnType) -> DataType {
    match ty {
        ColumnType::Text => DataType::Utf8,
        ColumnType::Int64 => DataType::Int64,
        ColumnType::Int32 => DataType::Int32,
        ColumnType::Float64 => DataType::Float64,
    }
}

fn schema_of(columns: &[glaux_compiler::layout::Column]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|col| Field::new(col.name, arrow_type(col.ty), col.nullable))
            .collect::<Vec<_>>(),
    ))
}

/// Arrow schema of the index table's files (without the `dt` partition column).
pub fn index_schema() -> SchemaRef {
    schema_of(INDEX_COLUMNS)
}

/// Arrow schema of the message table's files (without the `dt` partition column).
pub fn message_schema() -> SchemaRef {
    schema_of(MESSAGE_COLUMNS)
}

/// Arrow schema of the field-values table's files (without the `dt`
/// partition column).
pub fn values_schema() -> SchemaRef {
    schema_of(VALUES_COLUMNS)
}

/// Arrow schema of the token-hours table's files (without the `day`
/// partition column).
pub fn hours_schema() -> SchemaRef {
    schema_of(HOURS_COLUMNS)
}

/// Arrow schema of `table`'s files (without the partition column).
pub fn schema(table: glaux_compiler::layout::Table) -> SchemaRef {
    schema_of(table.columns())
}

/// A record ready to be written.
#[derive(Debug)]
pub struct Row {
    pub seq: i64,
    pub time_ms: i64,
    pub text: String,
    pub entries: Vec<Entry>,
    /// The record's distinct (field, value) pairs (none for a text line).
    pub values: Vec<FieldValue>,
}

/// Rows in one index file: at most this many per row group, so a token
/// lookup can skip most of a large file by statistics.
const INDEX_ROW_GROUP: usize = 256 * 1024;

fn sorted(column_idx: i32) -> SortingColumn {
    SortingColumn {
        column_idx,
        descending: false,
        nulls_first: false,
    }
}

/// Rows per data page of the index. A lookup that the page index narrows
/// to one page reads that page of `token` and of each key column, in every
/// file it opens: at parquet-rs's default of 20,000 rows that was ~100 kB a
/// file, most of a rare term's bytes (docs/performance.md).
const INDEX_PAGE_ROWS: usize = 4_096;

/// Who writes a file: ingest (one object's rows of an hour) or compaction
/// (every object's rows of an hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objects {
    One,
    Many,
}

/// Columns that hold one value in a file of one object (`object`, `tag`)
/// or are mostly null (`num`, `ip`): a few bytes of dictionary indices or
/// definition levels. Compressing them saves nothing, and each compressed
/// column chunk costs a zstd context (creating contexts was 5.5 % of
/// ingest's profile). A compacted file keeps them compressed: its
/// `object` dictionary lists every object of the hour, and a lookup reads
/// that dictionary page whole.
fn uncompressed(
    builder: parquet::file::properties::WriterPropertiesBuilder,
    columns: &[&str],
) -> parquet::file::properties::WriterPropertiesBuilder {
    columns.iter().fold(builder, |b, col| {
        b.set_column_compression(ColumnPath::from(*col), Compression::UNCOMPRESSED)
    })
}

pub(crate) fn index_properties(objects: Objects) -> WriterProperties {
    let token = ColumnPath::from(c::TOKEN);
    let builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).expect("zstd level"),
        ))
        .set_dictionary_enabled(true)
        // No dictionary for the columns with many distinct values per file.
        // A reader must fetch a column chunk's whole dictionary page before
        // it can decode any one of its data pages, so a lookup that the page
        // index narrows to one page still read most of the token, seq, pos
        // and time_ms bytes of every file it touched (docs/performance.md).
        // Plain pages, zstd-compressed, decode on their own.
        .set_column_dictionary_enabled(token, false)
        .set_column_dictionary_enabled(ColumnPath::from(c::SEQ), false)
        .set_column_dictionary_enabled(ColumnPath::from(c::POS), false)
        .set_column_dictionary_enabled(ColumnPath::from(c::TIME_MS), false)
        .set_statistics_enabled(EnabledStatistics::Page)
        // No lookup filters the index on `object`: no statistics, which
        // cost two string comparisons per row (most of the comparisons in
        // writing an index file, by ingest's profile).
        .set_column_statistics_enabled(ColumnPath::from(c::OBJECT), EnabledStatistics::None)
        // Nor on `field`: within a file sorted by token first, every page
        // and row group spans most fields, so its statistics prune nothing
        // in a compacted file and almost nothing in an ingest file (an
        // exists query read 3 % more without them on one uncompacted day,
        // the same with and without once compacted), while computing them
        // (two string comparisons per row) was a fifth of ingest's user
        // time (docs/performance.md).
        .set_column_statistics_enabled(ColumnPath::from(c::FIELD), EnabledStatistics::None)
        .set_max_row_group_row_count(Some(INDEX_ROW_GROUP))
        .set_data_page_row_count_limit(INDEX_PAGE_ROWS)
        // No Bloom filter. The column is sorted, so row-group statistics and
        // the page index already find the one page a token can be in; a
        // Bloom filter only spared reading that page when the token was
        // absent, at the price of reading the filter (72 kB an hour on the
        // 5M-record benchmark, more than the page) in every file a lookup
        // opens. The token-hours table now skips the absent hours instead.
        .set_sorting_columns(Some(vec![sorted(0), sorted(1), sorted(3), sorted(4)]))
        .set_created_by(concat!("glaux ", env!("CARGO_PKG_VERSION")).to_string());
    match objects {
        Objects::One => uncompressed(builder, &[c::OBJECT, c::NUM, c::IP]),
        Objects::Many => builder,
    }
    .build()
}

/// Bytes (before compression) per data page of the message table. A search
/// fetches its records by key (`glaux_compiler::fetch`), and the page index
/// then narrows each record to the page that holds it: at parquet-rs's
/// default (1 MiB) that page was most of the hour's file, ~190 kB a record.
/// Smaller pages compress a little worse (measured at 1M records: the
/// message table 63.4 → 73.4 MB at 32 KiB; a 0.01 % term's search 22.9 →
/// 5.4 MB read; docs/performance.md).
const MESSAGE_PAGE_BYTES: usize = 32 * 1024;

/// Rows the writer takes at a time, for the message table: it checks the
/// page size only between such batches (1,024 rows by default, a page of
/// ~1.5 MB of CloudTrail records whatever the limit).
const MESSAGE_WRITE_BATCH: usize = 64;

/// Rows per data page of the message table, for the key columns: a fetch
/// reads, per record, the page of `object`, `seq`, `time_ms` and `tag` that
/// holds it, besides its `message` page. At parquet-rs's default (20,000
/// rows) each was the whole hour's column, and `seq` and `time_ms` had a
/// dictionary page read whole besides: ~13 kB a fetched record on the
/// 5M-record benchmark, half of what the fetch read (docs/performance.md).
const MESSAGE_PAGE_ROWS: usize = 1_024;

pub(crate) fn message_properties(objects: Objects) -> WriterProperties {
    let builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).expect("zstd level"),
        ))
        .set_dictionary_enabled(true)
        .set_column_dictionary_enabled(ColumnPath::from(c::MESSAGE), false)
        // Nearly one value per row: a dictionary is as large as the column,
        // and a reader fetches it whole before any page.
        .set_column_dictionary_enabled(ColumnPath::from(c::SEQ), false)
        .set_column_dictionary_enabled(ColumnPath::from(c::TIME_MS), false)
        .set_data_page_row_count_limit(MESSAGE_PAGE_ROWS)
        .set_statistics_enabled(EnabledStatistics::Page)
        // Nothing filters on the message text by its statistics (a `LIKE
        // '%…%'` cannot use min/max), and a page's would be 128 bytes of
        // truncated text in the page index per page.
        .set_column_statistics_enabled(ColumnPath::from(c::MESSAGE), EnabledStatistics::None)
        .set_data_page_size_limit(MESSAGE_PAGE_BYTES)
        .set_write_batch_size(MESSAGE_WRITE_BATCH)
        .set_sorting_columns(Some(vec![sorted(1)]))
        .set_created_by(concat!("glaux ", env!("CARGO_PKG_VERSION")).to_string());
    match objects {
        Objects::One => uncompressed(builder, &[c::OBJECT, c::TAG]),
        Objects::Many => builder,
    }
    .build()
}

/// Rows per data page of the field-values table. A stage reads one
/// field's run of rows, and a selective search's records within it: small
/// pages keep both to about the pages that hold them. An object of a few
/// hundred records has runs of a few hundred rows: at 4,096 rows a page,
/// a one-field read took every field's values of the file (on the 1M/7d
/// set as ingested, 7.9 MB a day against 3.6 MB at 1,024).
const VALUES_PAGE_ROWS: usize = 1_024;

pub(crate) fn values_properties(objects: Objects) -> WriterProperties {
    let builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).expect("zstd level"),
        ))
        // Fields and objects are few: a dictionary, and data pages of
        // small indices.
        .set_dictionary_enabled(true)
        // Values and numbers are as many as the hour's distinct values of
        // every field, and a reader fetches a column's dictionary page
        // whole before any data page: on the 1M/7d set it was 131 kB of
        // an hour's 149 kB read for `stats count() by eventName`, a
        // field of 14 values. Plain text in pages sorted by (field, seq)
        // compresses well without it.
        .set_column_dictionary_enabled(ColumnPath::from(c::VALUE), false)
        .set_column_dictionary_enabled(ColumnPath::from(c::NUM), false)
        // Keys and times ascend (nearly, for times) within a field's run:
        // deltas of a few bits.
        .set_column_dictionary_enabled(ColumnPath::from(c::SEQ), false)
        .set_column_encoding(ColumnPath::from(c::SEQ), Encoding::DELTA_BINARY_PACKED)
        .set_column_dictionary_enabled(ColumnPath::from(c::TIME_MS), false)
        .set_column_encoding(ColumnPath::from(c::TIME_MS), Encoding::DELTA_BINARY_PACKED)
        .set_statistics_enabled(EnabledStatistics::Page)
        // A value's text may be long (a policy document): its statistics
        // would be truncated text in every page's index, and nothing
        // filters values by range.
        .set_column_statistics_enabled(ColumnPath::from(c::VALUE), EnabledStatistics::None)
        .set_data_page_row_count_limit(VALUES_PAGE_ROWS)
        .set_max_row_group_row_count(Some(INDEX_ROW_GROUP))
        .set_sorting_columns(Some(vec![sorted(0), sorted(3), sorted(4), sorted(1)]))
        .set_created_by(concat!("glaux ", env!("CARGO_PKG_VERSION")).to_string());
    match objects {
        // One object: its name is one dictionary entry.
        Objects::One => uncompressed(builder, &[c::OBJECT]),
        Objects::Many => builder,
    }
    .build()
}

/// Rows per data page of the token-hours table. A lookup reads one page of
/// each day's file (the page index finds it in a file sorted by token), so
/// pages are small: 2,048 tokens are a few kB.
const HOURS_PAGE_ROWS: usize = 2_048;

pub(crate) fn hours_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).expect("zstd level"),
        ))
        // Nearly every token is distinct: a dictionary page would be most
        // of the file, and a reader fetches it whole before any data page
        // (measured: 13.9 MB read per 30-day lookup with it, 0.3 MB without).
        .set_dictionary_enabled(false)
        // A day's objects are few (hundreds): their names as a dictionary,
        // a data page of small indices.
        .set_column_dictionary_enabled(ColumnPath::from(c::OBJECT), true)
        .set_statistics_enabled(EnabledStatistics::Page)
        // Nothing filters on the keys.
        .set_column_statistics_enabled(ColumnPath::from(c::OBJECT), EnabledStatistics::None)
        .set_column_statistics_enabled(ColumnPath::from(c::SEQ), EnabledStatistics::None)
        .set_data_page_row_count_limit(HOURS_PAGE_ROWS)
        .set_sorting_columns(Some(vec![sorted(0), sorted(1)]))
        .set_created_by(concat!("glaux ", env!("CARGO_PKG_VERSION")).to_string())
        .build()
}

/// The record a token-hours row names: `(object, seq)`.
pub type HourKey<'a> = (&'a str, i64);

/// A token-hours row to write: a token, an hour holding it, and the record
/// of that hour holding it when it is the only one (`None`: several, or
/// not known).
pub type HourRow<'a> = (&'a str, &'a str, Option<HourKey<'a>>);

/// Encodes token-hours rows as a file: sorted, one row per (token, hour).
/// Rows of the same pair merge: they keep their record only when they all
/// name the same one; two records, or one row that names none, make the
/// pair's record unknown (NULL), and the index decides that hour.
pub fn encode_hours(rows: &mut Vec<HourRow<'_>>) -> std::io::Result<Vec<u8>> {
    rows.sort_unstable();
    rows.dedup();
    let mut merged: Vec<HourRow<'_>> = Vec::with_capacity(rows.len());
    for &(token, dt, key) in rows.iter() {
        match merged.last_mut() {
            Some(last) if last.0 == token && last.1 == dt => last.2 = None,
            _ => merged.push((token, dt, key)),
        }
    }
    let tokens: StringArray = merged.iter().map(|r| Some(r.0)).collect();
    let hours: StringArray = merged.iter().map(|r| Some(r.1)).collect();
    let objects: StringArray = merged.iter().map(|r| r.2.map(|k| k.0)).collect();
    let seqs: Int64Array = merged.iter().map(|r| r.2.map(|k| k.1)).collect();
    let batch = RecordBatch::try_new(
        hours_schema(),
        vec![
            Arc::new(tokens) as ArrayRef,
            Arc::new(hours) as ArrayRef,
            Arc::new(objects) as ArrayRef,
            Arc::new(seqs) as ArrayRef,
        ],
    )
    .map_err(std::io::Error::other)?;
    encode(&batch, hours_properties())
}

/// A token-hours row as read back.
pub type OwnedHourRow = (String, String, Option<(String, i64)>);

/// The rows of a token-hours file. A file written before the table named
/// records (two columns) reads as rows with none.
pub fn decode_hours(bytes: bytes::Bytes) -> std::io::Result<Vec<OwnedHourRow>> {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Int64Type;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)
        .and_then(|b| b.build())
        .map_err(std::io::Error::other)?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(std::io::Error::other)?;
        let text = |name| {
            batch
                .column_by_name(name)
                .and_then(|col| col.as_string_opt::<i32>())
        };
        let (Some(tokens), Some(hours)) = (text(c::TOKEN), text(PARTITION_COLUMN)) else {
            return Err(std::io::Error::other(
                "a token-hours file without token or dt",
            ));
        };
        let objects = text(c::OBJECT);
        let seqs = batch
            .column_by_name(c::SEQ)
            .and_then(|col| col.as_primitive_opt::<Int64Type>());
        for i in 0..batch.num_rows() {
            if tokens.is_null(i) || hours.is_null(i) {
                continue;
            }
            let key = match (objects, seqs) {
                (Some(o), Some(s)) if o.is_valid(i) && s.is_valid(i) => {
                    Some((o.value(i).to_string(), s.value(i)))
                }
                _ => None,
            };
            rows.push((tokens.value(i).to_string(), hours.value(i).to_string(), key));
        }
    }
    Ok(rows)
}

/// [`OwnedHourRow`]s borrowed, to write again.
pub fn borrow_hours(rows: &[OwnedHourRow]) -> Vec<HourRow<'_>> {
    rows.iter()
        .map(|(t, h, k)| {
            (
                t.as_str(),
                h.as_str(),
                k.as_ref().map(|(o, s)| (o.as_str(), *s)),
            )
        })
        .collect()
}

/// One object's hour, encoded: the two files' bytes.
#[derive(Debug, Default, Clone)]
pub struct Encoded {
    pub index: Vec<u8>,
    pub messages: Vec<u8>,
    pub values: Vec<u8>,
    pub index_rows: u64,
}

/// Encodes `rows` (all of one object, one hour) as an index file and a
/// message file. `vocabulary` holds the object's tokens and fields, and
/// `ranks` their sort order ([`Ranks::of`], once per object).
pub fn encode_partition(
    object: &str,
    tag: &str,
    vocabulary: &Vocabulary,
    ranks: &Ranks,
    rows: &mut [Row],
) -> std::io::Result<Encoded> {
    rows.sort_by_key(|r| r.seq);
    // Sorted by (token, field, seq, pos) through the ids' ranks: no string
    // is compared or hashed per entry here (string comparisons in an
    // n log n sort were once the largest item of ingest's profile;
    // docs/performance.md).
    let mut keyed: Vec<(u32, u32, i64, i32, Entry, i64)> = rows
        .iter()
        .flat_map(|r| {
            r.entries.iter().map(move |e| {
                (
                    ranks.tokens[e.token as usize],
                    ranks.fields[e.field as usize],
                    r.seq,
                    e.pos,
                    *e,
                    r.time_ms,
                )
            })
        })
        .collect();
    keyed.sort_unstable_by_key(|k| (k.0, k.1, k.2, k.3));
    let n = keyed.len();
    let index_columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            keyed.iter().map(|k| vocabulary.token(k.4.token)),
        )),
        Arc::new(StringArray::from_iter_values(
            keyed.iter().map(|k| vocabulary.field(k.4.field)),
        )),
        Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
            object, n,
        ))),
        Arc::new(Int64Array::from_iter_values(keyed.iter().map(|k| k.2))),
        Arc::new(Int32Array::from_iter_values(keyed.iter().map(|k| k.3))),
        Arc::new(Int64Array::from_iter_values(keyed.iter().map(|k| k.5))),
        Arc::new(Float64Array::from_iter(keyed.iter().map(|k| k.4.num))),
        Arc::new(StringArray::from_iter(
            keyed.iter().map(|k| vocabulary.ip(k.4.token)),
        )),
    ];
    let index =
        RecordBatch::try_new(index_schema(), index_columns).map_err(std::io::Error::other)?;

    let m = rows.len();
    let message_columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
            object, m,
        ))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.seq))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.time_ms))),
        Arc::new(StringArray::from_iter_values(std::iter::repeat_n(tag, m))),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.text.as_str()),
        )),
    ];
    let messages =
        RecordBatch::try_new(message_schema(), message_columns).map_err(std::io::Error::other)?;

    // Sorted by (field, seq, value) through the ids' ranks.
    let mut pairs: Vec<(u32, i64, u32, FieldValue, i64)> = rows
        .iter()
        .flat_map(|r| {
            r.values.iter().map(move |v| {
                (
                    ranks.fields[v.field as usize],
                    r.seq,
                    ranks.values[v.value as usize],
                    *v,
                    r.time_ms,
                )
            })
        })
        .collect();
    pairs.sort_unstable_by_key(|k| (k.0, k.1, k.2));
    let v = pairs.len();
    let values_columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            pairs.iter().map(|k| vocabulary.field(k.3.field)),
        )),
        Arc::new(StringArray::from_iter_values(
            pairs.iter().map(|k| vocabulary.value(k.3.value)),
        )),
        Arc::new(Float64Array::from_iter(
            pairs.iter().map(|k| vocabulary.value_number(k.3.value)),
        )),
        Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
            object, v,
        ))),
        Arc::new(Int64Array::from_iter_values(pairs.iter().map(|k| k.1))),
        Arc::new(Int64Array::from_iter_values(pairs.iter().map(|k| k.4))),
    ];
    let values =
        RecordBatch::try_new(values_schema(), values_columns).map_err(std::io::Error::other)?;

    Ok(Encoded {
        index: encode(&index, index_properties(Objects::One))?,
        messages: encode(&messages, message_properties(Objects::One))?,
        values: encode(&values, values_properties(Objects::One))?,
        index_rows: n as u64,
    })
}

/// The sort order of an object's token and field ids: each id's rank.
#[derive(Debug)]
pub struct Ranks {
    pub tokens: Vec<u32>,
    pub fields: Vec<u32>,
    pub values: Vec<u32>,
}

impl Ranks {
    pub fn of(vocabulary: &Vocabulary) -> Ranks {
        Ranks {
            tokens: vocabulary.token_ranks(),
            fields: vocabulary.field_ranks(),
            values: vocabulary.value_ranks(),
        }
    }
}

pub(crate) fn encode(batch: &RecordBatch, props: WriterProperties) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(props))
        .map_err(std::io::Error::other)?;
    writer.write(batch).map_err(std::io::Error::other)?;
    writer.close().map_err(std::io::Error::other)?;
    Ok(out)
}
