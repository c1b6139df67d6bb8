//! Time windows: what the user asked for (`--since 1h`, `--from/--to`, the
//! default last 24 hours), fixed against an injected clock into absolute
//! instants, and mapped to the hour partitions (`dt=YYYY-MM-DD-HH`, UTC) that
//! hold them.

use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};

use crate::error::{CompileError, ErrorKind};
use crate::layout::PARTITION_FORMAT;

/// How long the default window is when no time option is given.
pub const DEFAULT_WINDOW: Duration = Duration::hours(24);

/// The time part of a search, as the user gave it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum WindowSpec {
    /// No time option: the last 24 hours.
    #[default]
    Default,
    /// `--since 1h`: from `now - d` to now.
    Since(Duration),
    /// `--from T [--to T]`: `to` defaults to now.
    Range {
        from: DateTime<Utc>,
        to: Option<DateTime<Utc>>,
    },
    /// `--to T` alone: the 24 hours before `to`.
    Until(DateTime<Utc>),
}

/// A fixed window `[start, end)` in UTC, and how it came about (for the plan
/// summary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeWindow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub origin: String,
    /// True when the user set no window: a time range in the query then
    /// replaces it instead of intersecting it.
    pub is_default: bool,
}

impl TimeWindow {
    /// Fixes `spec` against `now`. An empty or inverted window is an error.
    pub fn fix(spec: &WindowSpec, now: DateTime<Utc>) -> Result<TimeWindow, CompileError> {
        let before = |t: DateTime<Utc>, d: Duration| {
            t.checked_sub_signed(d).ok_or_else(|| {
                CompileError::new(
                    ErrorKind::BadTime,
                    "the time window reaches past the year -262143",
                )
                .help("use a shorter duration or a later --to")
            })
        };
        let (start, end, origin) = match spec {
            WindowSpec::Default => (
                before(now, DEFAULT_WINDOW)?,
                now,
                "last 24 hours, the default; set --since or --from/--to".to_string(),
            ),
            WindowSpec::Since(d) => (
                before(now, *d)?,
                now,
                format!("since {} ago", format_duration(*d)),
            ),
            WindowSpec::Range { from, to } => (
                *from,
                to.unwrap_or(now),
                if to.is_some() {
                    "from/to".to_string()
                } else {
                    "from, to now".to_string()
                },
            ),
            WindowSpec::Until(to) => (
                before(*to, DEFAULT_WINDOW)?,
                *to,
                "24 hours up to --to".to_string(),
            ),
        };
        // The tables hold milliseconds: so does the window.
        let (start, end) = (trunc_ms(start), trunc_ms(end));
        crate::datemath::check_year(start)?;
        crate::datemath::check_year(end)?;
        if start >= end {
            return Err(CompileError::new(
                ErrorKind::EmptyWindow,
                format!(
                    "the time window is empty: {} is not before {}",
                    start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            )
            .help("swap --from and --to, or widen the window"));
        }
        Ok(TimeWindow {
            start,
            end,
            origin,
            is_default: *spec == WindowSpec::Default,
        })
    }

    /// The hour partitions covering the window, first and last inclusive.
    pub fn partitions(&self) -> PartitionRange {
        let first = floor_hour(self.start);
        let last = floor_hour(self.end - Duration::milliseconds(1));
        let count = (last - first).num_hours() + 1;
        PartitionRange {
            first: partition_of(first),
            last: partition_of(last),
            count: count as u64,
        }
    }

    /// The `dt` of the hour `back` hours before the window's last one
    /// (0: the last, [`PartitionRange::last`]); a walk over the window's
    /// hours names its batches by them, newest first.
    ///
    /// # Panics
    /// When `back` reaches before the window's first hour (the caller's
    /// bug: a walk counts at most [`PartitionRange::count`] hours).
    pub fn hour_back(&self, back: u64) -> String {
        let last = floor_hour(self.end - Duration::milliseconds(1));
        let hour = i64::try_from(back)
            .ok()
            .and_then(|b| last.checked_sub_signed(Duration::hours(b)))
            .filter(|h| *h >= floor_hour(self.start))
            .expect("an hour of the window");
        partition_of(hour)
    }

    /// The `dt`s of the newest and the oldest of `batch` hours (at least
    /// one) starting `read` hours before the window's last: a batch of a
    /// walk over the window's hours, newest first ([`Self::hour_back`]).
    pub fn batch_back(&self, read: u64, batch: u64) -> (String, String) {
        (self.hour_back(read), self.hour_back(read + batch - 1))
    }

    pub fn start_ms(&self) -> i64 {
        self.start.timestamp_millis()
    }

    pub fn end_ms(&self) -> i64 {
        self.end.timestamp_millis()
    }
}

/// An inclusive range of `dt` partition values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionRange {
    pub first: String,
    pub last: String,
    pub count: u64,
}

/// The `dt` partition value (`YYYY-MM-DD-HH`, UTC) holding instant `t`.
pub fn partition_of(t: DateTime<Utc>) -> String {
    t.format(PARTITION_FORMAT).to_string()
}

fn trunc_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).expect("in range")
}

fn floor_hour(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_minute(0))
        .expect("valid hour floor")
}

/// Parses a duration like `90s`, `15m`, `1h`, `2d`, `1w` (one number, one unit).
pub fn parse_duration(text: &str) -> Result<Duration, CompileError> {
    let t = text.trim();
    let bad = || {
        CompileError::new(ErrorKind::BadTime, format!("`{text}` is not a duration"))
            .help("write a number and a unit: `30s`, `15m`, `1h`, `2d`, `1w`")
    };
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (num, unit) = t.split_at(split);
    let n: i64 = num.parse().map_err(|_| bad())?;
    let d = match unit {
        "s" => Duration::try_seconds(n),
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        _ => None,
    }
    .ok_or_else(bad)?;
    if d <= Duration::zero() {
        return Err(bad());
    }
    Ok(d)
}

fn format_duration(d: Duration) -> String {
    let s = d.num_seconds();
    for (unit, secs) in [("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)] {
        if s % secs == 0 {
            return format!("{}{unit}", s / secs);
        }
    }
    format!("{s}s")
}

/// Parses an instant: RFC 3339 (`2024-05-01T10:00:00Z`, any offset), or a
/// UTC date/time without offset (`2024-05-01`, `2024-05-01T10:00`,
/// `2024-05-01 10:00:00`).
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, CompileError> {
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(Utc.from_utc_datetime(&naive));
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight")));
    }
    Err(
        CompileError::new(ErrorKind::BadTime, format!("`{text}` is not a time"))
            .help("write RFC 3339 (`2024-05-01T10:00:00Z`) or a UTC date/time (`2024-05-01`, `2024-05-01T10:00`)"),
    )
}

impl fmt::Display for TimeWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} .. {} ({})",
            self.start
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            self.end
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            self.origin
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        parse_time(s).unwrap()
    }

    #[test]
    fn partitions_are_exact_at_hour_boundaries() {
        let w = |a, b| TimeWindow {
            start: t(a),
            end: t(b),
            origin: String::new(),
            is_default: false,
        };
        let p = w("2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z").partitions();
        assert_eq!(
            (p.first.as_str(), p.last.as_str(), p.count),
            ("2024-05-01-00", "2024-05-01-23", 24)
        );
        let p = w("2024-05-01T10:30:00Z", "2024-05-01T10:31:00Z").partitions();
        assert_eq!(
            (p.first.as_str(), p.last.as_str(), p.count),
            ("2024-05-01-10", "2024-05-01-10", 1)
        );
        let p = w("2024-05-01T10:59:59Z", "2024-05-01T11:00:00.001Z").partitions();
        assert_eq!(
            (p.first.as_str(), p.last.as_str(), p.count),
            ("2024-05-01-10", "2024-05-01-11", 2)
        );
        let p = w("2024-12-31T23:00:00Z", "2025-01-01T01:00:00Z").partitions();
        assert_eq!(
            (p.first.as_str(), p.last.as_str(), p.count),
            ("2024-12-31-23", "2025-01-01-00", 2)
        );
    }

    /// Counting back from the last hour reaches exactly the partitions'
    /// hours, across a day and a year, and refuses to go past the first.
    #[test]
    fn hours_back_from_the_last_are_the_partitions() {
        let w = TimeWindow {
            start: t("2024-12-31T22:30:00Z"),
            end: t("2025-01-01T01:00:00Z"),
            origin: String::new(),
            is_default: false,
        };
        let p = w.partitions();
        let back: Vec<String> = (0..p.count).map(|i| w.hour_back(i)).collect();
        assert_eq!(
            back,
            ["2025-01-01-00", "2024-12-31-23", "2024-12-31-22"],
            "{p:?}"
        );
        assert_eq!(back[0], p.last);
        assert_eq!(back[2], p.first);
        let past = std::panic::catch_unwind(|| w.hour_back(p.count));
        assert!(past.is_err());
    }

    #[test]
    fn fixing_windows() {
        let now = t("2024-05-01T12:00:00Z");
        let d = TimeWindow::fix(&WindowSpec::Default, now).unwrap();
        assert_eq!(d.start, t("2024-04-30T12:00:00Z"));
        assert_eq!(d.end, now);
        let s = TimeWindow::fix(&WindowSpec::Since(parse_duration("15m").unwrap()), now).unwrap();
        assert_eq!(s.start, t("2024-05-01T11:45:00Z"));
        let r = WindowSpec::Range {
            from: t("2024-05-02"),
            to: Some(t("2024-05-01")),
        };
        assert_eq!(
            TimeWindow::fix(&r, now).unwrap_err().kind,
            ErrorKind::EmptyWindow
        );
    }

    #[test]
    fn parsing_times_and_durations() {
        assert_eq!(t("2024-05-01T10:00:00+02:00"), t("2024-05-01T08:00:00Z"));
        assert_eq!(t("2024-05-01 10:00"), t("2024-05-01T10:00:00Z"));
        assert_eq!(t("2024-05-01T10:00:00.5"), t("2024-05-01T10:00:00.500Z"));
        assert!(parse_time("2024-13-01").is_err());
        assert!(parse_time("yesterday").is_err());
        assert_eq!(parse_duration("90s").unwrap(), Duration::seconds(90));
        assert_eq!(parse_duration("1w").unwrap(), Duration::days(7));
        for bad in ["", "h", "1", "1y", "-1h", "0m", "99999999999999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
