//! Keys → SQL: the second statement of a search that fetches by keys.
//!
//! When the index alone decides which records match
//! ([`crate::plan::Plan::fetches_by_keys`]), a search ends with two kinds
//! of statement ([`crate::search`]):
//!
//! 1. **find** ([`crate::sql::render`]): the index scan answers the newest
//!    records' keys, `(dt, object, seq, time_ms)`;
//! 2. **fetch** ([`statements`]): the message table is read for exactly
//!    those keys, written into the SQL as literals.
//!
//! Why not one statement joining the two: a join hands the message scan
//! only what the engine derives from the keys at run time. DataFusion
//! pushes the min and max of each key column, and the objects of a hundred
//! hits spread over the whole key space, so every page of every hour
//! between the oldest and the newest hit was read (19 MB for a 0.01 % term
//! at 5M records). Literals prune on both engines before anything is
//! opened: `dt IN (…)` names the partitions (Athena's static partition
//! pruning, the kind it documents), and `object = … AND seq IN (…)` lets
//! the page index skip every message page no hit lies in.
//!
//! The cost is a second round trip, and on Athena a second query with its
//! own 10 MB billing minimum. Hence only up to [`crate::plan::MAX_KEYS`] keys: a search
//! finding more (an export, or a limit past it) runs the one-statement
//! join instead. Athena refuses a query of more than 256 KiB, and an
//! object's name (an S3 key) may be 1,024 bytes: keys whose SQL would pass
//! [`MAX_KEYS_SQL_BYTES`] are fetched by several statements ([`statements`]); a
//! thousand keys of CloudTrail's names are about 180 kB.
//!
//! The compiler does no I/O: the engine runs the find statement, reads the
//! keys out of its rows, and [`crate::search`] asks [`statements`] for the
//! fetch.

use crate::plan::Key;
use crate::sql::{Tables, string_literal};

/// Most bytes of keys' SQL one fetch statement holds, besides its fixed
/// text (under 1 kB): Athena refuses a query over 256 KiB (262,144 bytes).
pub const MAX_KEYS_SQL_BYTES: usize = 240 * 1024;

/// The fetch statements for `keys`: one, unless their SQL would pass
/// [`MAX_KEYS_SQL_BYTES`]; then each holds part of the keys (newest hours
/// first), and the caller merges their rows in the order each has
/// (`time_ms` newest first, then `object`, `seq`). No statement when there
/// are no keys. The keys are each once in one statement.
pub fn statements(tables: &Tables, keys: &[Key]) -> Vec<String> {
    let mut keys: Vec<&Key> = keys.iter().collect();
    keys.sort_unstable_by(|a, b| {
        b.dt.cmp(&a.dt)
            .then_with(|| (&a.object, a.seq).cmp(&(&b.object, b.seq)))
    });
    keys.dedup();
    // An upper bound of the SQL a key adds after `last`: its hour's
    // literal twice (in `IN (…)` and its condition) when it starts the
    // hour, its object's literal when it starts the object, each with the
    // text around it, and its seq (at most 20 digits and a separator).
    // (1,000 keys of CloudTrail's 137-byte names: 201 kB estimated, 177
    // kB written.)
    let cost = |last: Option<&Key>, k: &Key| {
        let new_hour = last.is_none_or(|l| l.dt != k.dt);
        let new_object = new_hour || last.is_some_and(|l| l.object != k.object);
        let hour = match new_hour {
            true => 2 * string_literal(&k.dt).len() + 40,
            false => 0,
        };
        let object = match new_object {
            true => string_literal(&k.object).len() + 40,
            false => 0,
        };
        22 + hour + object
    };
    let mut out = Vec::new();
    let mut chunk: Vec<Key> = Vec::new();
    let mut bytes = 0;
    for k in keys {
        if !chunk.is_empty() && bytes + cost(chunk.last(), k) > MAX_KEYS_SQL_BYTES {
            out.extend(crate::sql::fetch(tables, &chunk));
            chunk.clear();
            bytes = 0;
        }
        bytes += cost(chunk.last(), k);
        chunk.push(k.clone());
    }
    out.extend(crate::sql::fetch(tables, &chunk));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::fetch as sql;

    fn tables() -> Tables {
        Tables {
            database: "glaux".into(),
        }
    }

    fn key(dt: &str, object: &str, seq: i64) -> Key {
        Key {
            dt: dt.into(),
            object: object.into(),
            seq,
        }
    }

    #[test]
    fn no_keys_no_statement() {
        assert_eq!(sql(&tables(), &[]), None);
    }

    /// A thousand keys of CloudTrail-like names are one statement; keys
    /// of 1,000-byte names full of quotes are several, each far inside
    /// Athena's 256 KiB, naming every key once between them.
    #[test]
    fn keys_too_long_for_one_statement_are_split() {
        let keys = |name: &dyn Fn(usize) -> String| -> Vec<Key> {
            (0..1_000)
                .map(|i| key(&format!("2024-05-01-{:02}", i % 24), &name(i), i as i64))
                .collect()
        };
        let cloudtrail = |i| {
            format!(
                "s3://trail/AWSLogs/123456789012/CloudTrail/eu-west-1/2024/05/01/123456789012_CloudTrail_eu-west-1_20240501T0600Z_{i:016x}.json.gz"
            )
        };
        assert_eq!(statements(&tables(), &keys(&cloudtrail)).len(), 1);
        // Ten times the most keys a search fetches, each in an object of
        // its own: a few statements, each within Athena's limit.
        let many: Vec<Key> = (0..10 * crate::plan::MAX_KEYS as usize)
            .map(|i| key(&format!("2024-05-01-{:02}", i % 24), &cloudtrail(i), 1))
            .collect();
        let split = statements(&tables(), &many);
        assert_eq!(split.len(), 9);
        assert!(split.iter().all(|sql| sql.len() <= crate::MAX_SQL_BYTES));
        let long = keys(&|i| format!("{i:04}{}", "'x".repeat(500)));
        let split = statements(&tables(), &long);
        assert!(split.len() > 1, "{}", split.len());
        for sql in &split {
            assert!(
                sql.len() <= MAX_KEYS_SQL_BYTES + 1_024,
                "{} bytes",
                sql.len()
            );
        }
        for (i, k) in long.iter().enumerate() {
            let literal = format!("{} AND m.\"seq\" = {i})", string_literal(&k.object));
            let holding = split.iter().filter(|sql| sql.contains(&literal)).count();
            assert_eq!(holding, 1, "key {i}");
        }
        assert!(statements(&tables(), &[]).is_empty());
    }

    #[test]
    fn keys_group_by_hour_then_object() {
        let sql = sql(
            &tables(),
            &[
                key("2024-05-01-10", "b", 7),
                key("2024-05-01-09", "a", 3),
                key("2024-05-01-10", "b", 2),
                key("2024-05-01-10", "c", 1),
                key("2024-05-01-10", "b", 7),
            ],
        )
        .unwrap();
        insta::assert_snapshot!(sql, @r#"
        SELECT DISTINCT m."time_ms", m."tag", m."object", m."seq", m."message"
        FROM "glaux"."messages" AS m
        WHERE m."dt" IN ('2024-05-01-09', '2024-05-01-10')
          AND ((m."dt" = '2024-05-01-09' AND (m."object" = 'a' AND m."seq" = 3))
            OR (m."dt" = '2024-05-01-10' AND ((m."object" = 'b' AND m."seq" IN (2, 7)) OR (m."object" = 'c' AND m."seq" = 1))))
        ORDER BY m."time_ms" DESC, m."object", m."seq"
        "#);
    }

    /// An object's name is data, whatever it holds: quotes, comment
    /// markers, line breaks, a statement end.
    #[test]
    fn hostile_object_names_stay_literals() {
        let hostile = "x') OR 1=1; DROP TABLE m --\n'";
        let sql = sql(&tables(), &[key("2024-05-01-09'--", hostile, 1)]).unwrap();
        assert!(
            sql.contains("m.\"object\" = 'x'') OR 1=1; DROP TABLE m --\n'''"),
            "{sql}"
        );
        assert!(sql.contains("IN ('2024-05-01-09''--')"), "{sql}");
    }
}
