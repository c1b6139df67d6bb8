//! Times inside a query: absolute (`2024-05-01T10:00:00Z`, `2024-05-01`)
//! or relative to the injected clock with Elasticsearch-style date math:
//! `now`, `now-15m`, `now-1d/d` (rounded down to the day), `now/w+1d`,
//! and `2024-05-01||+1M`. Units: `s m h d w M y` (case matters: `m` is
//! minutes, `M` months). Rounding is down, in UTC; weeks start on Monday.

use chrono::{DateTime, Datelike, Duration, Months, TimeZone, Timelike, Utc};

use crate::error::{CompileError, ErrorKind};
use crate::window::parse_time;

/// Parses an absolute time or date math against `now`.
pub fn parse(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, CompileError> {
    let bad = |why: &str| {
        CompileError::new(ErrorKind::BadTime, format!("`{text}` is not a time: {why}"))
            .help("write RFC 3339 (`2024-05-01T10:00:00Z`), a UTC date (`2024-05-01`), or date math: `now-15m`, `now-1d/d`, `2024-05-01||+1d`")
    };
    let (anchor, mut ops) = if let Some(rest) = text.strip_prefix("now") {
        (now, rest)
    } else if let Some((abs, rest)) = text.split_once("||") {
        (
            parse_time(abs).map_err(|_| bad("the part before `||` is not a time"))?,
            rest,
        )
    } else {
        let t = parse_time(text).map_err(|_| bad("not RFC 3339, a date, or date math"))?;
        return check_year(t).map_err(|_| bad("outside the years 1 to 9999"));
    };
    let mut t = anchor;
    while let Some(op) = ops.chars().next() {
        ops = &ops[op.len_utf8()..];
        match op {
            '+' | '-' => {
                let digits = ops.find(|c: char| !c.is_ascii_digit()).unwrap_or(ops.len());
                let n: i64 = ops[..digits]
                    .parse()
                    .map_err(|_| bad("expected a number after `+`/`-`"))?;
                ops = &ops[digits..];
                let unit = ops.chars().next().ok_or_else(|| bad("missing unit"))?;
                ops = &ops[unit.len_utf8()..];
                let n = if op == '-' { -n } else { n };
                t = shift(t, n, unit).ok_or_else(|| bad("unknown unit or out of range"))?;
            }
            '/' => {
                let unit = ops
                    .chars()
                    .next()
                    .ok_or_else(|| bad("missing unit after `/`"))?;
                ops = &ops[unit.len_utf8()..];
                t = round_down(t, unit).ok_or_else(|| bad("unknown rounding unit"))?;
            }
            _ => return Err(bad("expected `+`, `-` or `/` in the date math")),
        }
    }
    check_year(t).map_err(|_| bad("outside the years 1 to 9999"))
}

/// Times glaux accepts lie in the years 1 to 9999: `dt` partition names are
/// four-digit years, and string order must stay time order.
pub fn check_year(t: DateTime<Utc>) -> Result<DateTime<Utc>, CompileError> {
    if (1..=9999).contains(&t.year()) {
        Ok(t)
    } else {
        Err(CompileError::new(
            ErrorKind::BadTime,
            format!("{t} is outside the years 1 to 9999"),
        )
        .help("partitions are named by four-digit years; pick a time between 0001 and 9999"))
    }
}

fn shift(t: DateTime<Utc>, n: i64, unit: char) -> Option<DateTime<Utc>> {
    let d = match unit {
        's' => Duration::try_seconds(n)?,
        'm' => Duration::try_minutes(n)?,
        'h' | 'H' => Duration::try_hours(n)?,
        'd' => Duration::try_days(n)?,
        'w' => Duration::try_weeks(n)?,
        'M' | 'y' => {
            let months = if unit == 'y' { n.checked_mul(12)? } else { n };
            let m = Months::new(u32::try_from(months.unsigned_abs()).ok()?);
            return if months >= 0 {
                t.checked_add_months(m)
            } else {
                t.checked_sub_months(m)
            };
        }
        _ => return None,
    };
    t.checked_add_signed(d)
}

fn round_down(t: DateTime<Utc>, unit: char) -> Option<DateTime<Utc>> {
    let day = |t: DateTime<Utc>| {
        Utc.with_ymd_and_hms(t.year(), t.month(), t.day(), 0, 0, 0)
            .single()
    };
    match unit {
        's' => t.with_nanosecond(0),
        'm' => t.with_nanosecond(0)?.with_second(0),
        'h' | 'H' => t.with_nanosecond(0)?.with_second(0)?.with_minute(0),
        'd' => day(t),
        'w' => day(t.checked_sub_signed(Duration::days(i64::from(
            t.weekday().num_days_from_monday(),
        )))?),
        'M' => Utc
            .with_ymd_and_hms(t.year(), t.month(), 1, 0, 0, 0)
            .single(),
        'y' => Utc.with_ymd_and_hms(t.year(), 1, 1, 0, 0, 0).single(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        parse_time(s).unwrap()
    }

    #[test]
    fn date_math() {
        let now = t("2024-05-15T10:20:30.500Z");
        let p = |s: &str| parse(s, now).unwrap();
        assert_eq!(p("now"), now);
        assert_eq!(p("now-15m"), t("2024-05-15T10:05:30.500Z"));
        assert_eq!(p("now-1d/d"), t("2024-05-14"));
        assert_eq!(p("now/d"), t("2024-05-15"));
        assert_eq!(p("now/h"), t("2024-05-15T10:00:00Z"));
        assert_eq!(p("now/w"), t("2024-05-13"));
        assert_eq!(p("now/M"), t("2024-05-01"));
        assert_eq!(p("now-1y/y"), t("2023-01-01"));
        assert_eq!(p("now+1h-30m"), t("2024-05-15T10:50:30.500Z"));
        assert_eq!(p("2024-01-31||+1M"), t("2024-02-29"));
        assert_eq!(p("2024-05-01T00:00:00Z"), t("2024-05-01"));
        assert_eq!(p("2024-05-01"), t("2024-05-01"));
        for bad in [
            "now-",
            "now-1",
            "now-1x",
            "now/x",
            "now*2",
            "yesterday",
            "now-99999999999999d",
            "x||+1d",
        ] {
            let e = parse(bad, now).unwrap_err();
            assert_eq!(e.kind, ErrorKind::BadTime, "{bad}");
        }
    }
}
