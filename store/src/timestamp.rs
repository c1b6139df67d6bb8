//! Where a record's time comes from. In order: the record's own time field
//! (`--time-field`, or the first of [`AUTO_FIELDS`] present), for a text line
//! the first timestamp among its first fields, then a time in the object's
//! name, then the file's modification time. Every fallback is counted.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

/// Top-level fields tried, in order, when no `--time-field` is given.
pub const AUTO_FIELDS: &[&str] = &["eventTime", "@timestamp", "timestamp", "time", "ts"];

/// How a record's time was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSource {
    Record,
    ObjectName,
    Mtime,
}

/// Reads the time of a JSON record from `field` (a dotted path) or the
/// automatic candidates.
pub fn from_json(record: &Value, field: Option<&str>) -> Option<DateTime<Utc>> {
    match field {
        Some(path) => lookup(record, path).and_then(from_value),
        None => AUTO_FIELDS
            .iter()
            .find_map(|f| record.get(*f).and_then(from_value)),
    }
}

fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(v) = value.get(path) {
        return Some(v);
    }
    let mut cur = value;
    for part in path.split('.') {
        cur = cur.get(part)?;
    }
    Some(cur)
}

/// A JSON value as an instant: an RFC 3339-like string, or epoch
/// seconds/milliseconds/microseconds/nanoseconds as a number or numeric string.
pub fn from_value(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => {
            parse_text(s).or_else(|| s.trim().parse::<f64>().ok().and_then(from_epoch))
        }
        Value::Number(n) => n.as_f64().and_then(from_epoch),
        _ => None,
    }
}

/// Epoch number, unit guessed by magnitude: below 1e11 seconds (until year
/// 5138), below 1e14 milliseconds, below 1e17 microseconds, else nanoseconds.
pub fn from_epoch(x: f64) -> Option<DateTime<Utc>> {
    if !x.is_finite() || x < 0.0 {
        return None;
    }
    let ms = if x < 1e11 {
        x * 1e3
    } else if x < 1e14 {
        x
    } else if x < 1e17 {
        x / 1e3
    } else {
        x / 1e6
    };
    Utc.timestamp_millis_opt(ms as i64).single()
}

/// Parses the timestamp spellings seen in logs: RFC 3339, ISO 8601 without
/// offset (UTC), with a space instead of `T`.
pub fn parse_text(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.len() < 10 || !s.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    None
}

/// The first timestamp among the first fields of a text line: RFC 3339
/// (ALB, syslog RFC 5424) or the access-log form `[06/Feb/2019:00:00:38 +0000]`
/// (S3 server access logs, Apache/nginx).
pub fn from_text_line(line: &str) -> Option<DateTime<Utc>> {
    let fields: Vec<&str> = line.split_ascii_whitespace().take(8).collect();
    for (i, f) in fields.iter().enumerate() {
        let f = f.trim_matches(|c| matches!(c, '"' | '\'' | ',' | ']'));
        if let Some(inner) = f.strip_prefix('[') {
            if let Some(zone) = fields.get(i + 1) {
                let zone = zone.trim_end_matches(']');
                let joined = format!("{inner} {zone}");
                if let Ok(t) = DateTime::parse_from_str(&joined, "%d/%b/%Y:%H:%M:%S %z") {
                    return Some(t.with_timezone(&Utc));
                }
            }
            if let Some(t) = parse_text(inner) {
                return Some(t);
            }
        } else if let Some(t) = parse_text(f) {
            return Some(t);
        }
    }
    None
}

/// A time in an object's name: `20240501T1005Z` (CloudTrail, VPC flow logs),
/// `2024-05-01-10-05-00` (S3 access logs), or a `YYYY/MM/DD` path (midnight).
pub fn from_object_name(name: &str) -> Option<DateTime<Utc>> {
    let b = name.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    // Latest match wins: the file name is more precise than its directories.
    for i in (0..b.len()).rev() {
        if b.len() - i >= 14
            && digits(&b[i..i + 8])
            && b[i + 8] == b'T'
            && digits(&b[i + 9..i + 13])
            && b[i + 13] == b'Z'
        {
            let s = std::str::from_utf8(&b[i..i + 13]).ok()?;
            if let Ok(t) = NaiveDateTime::parse_from_str(&format!("{s}00"), "%Y%m%dT%H%M%S") {
                return Some(Utc.from_utc_datetime(&t));
            }
        }
        if b.len() - i >= 19 {
            let s = &b[i..i + 19];
            let dash_at = [4, 7, 10, 13, 16];
            let shape = s.iter().enumerate().all(|(j, c)| {
                if dash_at.contains(&j) {
                    *c == b'-'
                } else {
                    c.is_ascii_digit()
                }
            });
            if shape {
                let s = std::str::from_utf8(s).ok()?;
                if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%d-%H-%M-%S") {
                    return Some(Utc.from_utc_datetime(&t));
                }
            }
        }
    }
    // A date path: .../2024/05/01/..., to the hour when an hour folder
    // follows (.../2024/05/01/10/..., as Kinesis Firehose writes).
    let parts: Vec<&str> = name.split('/').collect();
    for (i, w) in parts.windows(3).enumerate().rev() {
        if w[0].len() == 4
            && w[1].len() == 2
            && w[2].len() == 2
            && w.iter().all(|p| digits(p.as_bytes()))
        {
            let hour = parts
                .get(i + 3)
                .filter(|h| {
                    h.len() == 2 && digits(h.as_bytes()) && **h <= "23" && i + 4 < parts.len()
                })
                .copied()
                .unwrap_or("00");
            let s = format!("{}-{}-{}T{hour}:00:00", w[0], w[1], w[2]);
            if let Ok(t) = NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S") {
                return Some(Utc.from_utc_datetime(&t));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn json_fields() {
        let r = json!({"eventTime": "2024-05-01T10:00:00Z", "ts": 1});
        assert_eq!(from_json(&r, None), Some(t("2024-05-01T10:00:00Z")));
        let r = json!({"@timestamp": "2024-05-01T10:00:00.123+02:00"});
        assert_eq!(from_json(&r, None), Some(t("2024-05-01T08:00:00.123Z")));
        let r = json!({"ts": 1714557600});
        assert_eq!(from_json(&r, None), Some(t("2024-05-01T10:00:00Z")));
        let r = json!({"time": 1714557600123_i64});
        assert_eq!(from_json(&r, None), Some(t("2024-05-01T10:00:00.123Z")));
        let r = json!({"timestamp": "1714557600"});
        assert_eq!(from_json(&r, None), Some(t("2024-05-01T10:00:00Z")));
        let r = json!({"meta": {"at": "2024-05-01 10:00:00"}});
        assert_eq!(
            from_json(&r, Some("meta.at")),
            Some(t("2024-05-01T10:00:00Z"))
        );
        assert_eq!(from_json(&r, None), None);
        assert_eq!(from_json(&json!({"time": "soon"}), None), None);
        assert_eq!(from_json(&json!({"time": -5}), None), None);
    }

    #[test]
    fn text_lines() {
        let alb = "https 2024-05-01T10:00:00.123456Z app/my-lb/50dc6c495c0c9188 10.0.0.1:2817 10.0.0.2:80";
        assert_eq!(from_text_line(alb), Some(t("2024-05-01T10:00:00.123456Z")));
        let s3 =
            "79a5 awsexamplebucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 79a5 3E57427F3EXAMPLE";
        assert_eq!(from_text_line(s3), Some(t("2019-02-06T00:00:38Z")));
        let syslog = "<34>1 2024-05-01T10:00:00Z host app - - - started";
        assert_eq!(from_text_line(syslog), Some(t("2024-05-01T10:00:00Z")));
        assert_eq!(
            from_text_line("2 123456789010 eni-1 10.0.0.1 10.0.0.2 443"),
            None
        );
        assert_eq!(from_text_line(""), None);
    }

    #[test]
    fn object_names() {
        let ct = "AWSLogs/1/CloudTrail/us-east-1/2024/05/01/1_CloudTrail_us-east-1_20240501T1005Z_abc.json.gz";
        assert_eq!(from_object_name(ct), Some(t("2024-05-01T10:05:00Z")));
        assert_eq!(
            from_object_name("logs/2024-05-01-10-05-09-ABCDEF"),
            Some(t("2024-05-01T10:05:09Z"))
        );
        assert_eq!(
            from_object_name("x/2024/05/01/y.log"),
            Some(t("2024-05-01T00:00:00Z"))
        );
        // An hour folder after the date (Firehose's YYYY/MM/DD/HH/ prefix);
        // a two-digit file name is not an hour.
        assert_eq!(
            from_object_name("app/2024/05/01/10/auth.ndjson"),
            Some(t("2024-05-01T10:00:00Z"))
        );
        assert_eq!(
            from_object_name("app/2024/05/01/10"),
            Some(t("2024-05-01T00:00:00Z"))
        );
        assert_eq!(
            from_object_name("app/2024/05/01/99/x.log"),
            Some(t("2024-05-01T00:00:00Z"))
        );
        assert_eq!(from_object_name("plain.log"), None);
        assert_eq!(from_object_name("99999999T9999Z"), None);
    }
}
