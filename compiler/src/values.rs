//! What a stored value *means* besides its tokens: a number, an instant, an
//! IP address. One definition, used by ingest (the index's `num` and `ip`
//! columns), by the compiler (range and CIDR bounds) and by the reference
//! evaluator, so the three cannot disagree.
//!
//! - A value is *numeric* when its whole text is a decimal number
//!   (`-12`, `3.5`, `1e3`; no spaces, no `0x`, no `NaN`), whether it was a
//!   JSON number or a string. Its number is the nearest `f64`.
//! - Otherwise a value is an *instant* when its whole text is a timestamp
//!   (RFC 3339, or ISO 8601 date and time without offset, read as UTC); its
//!   number is then milliseconds since the epoch, so time ranges on fields
//!   such as `eventTime` compare numbers too.
//! - A *token* is an IP address when it parses as IPv4 or IPv6; its key is
//!   the 32 lowercase hex digits of the 16-byte IPv6 form (IPv4 mapped to
//!   `::ffff:a.b.c.d`). Keys sort as addresses do, so a CIDR block is a
//!   string range.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

/// The number of a numeric value's text, if its whole text is a decimal number.
pub fn number_of(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'-') || b.first() == Some(&b'+') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - s
    };
    if digits(&mut i) == 0 {
        return None;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return None;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    // `+ 0.0` turns -0 into 0: engines that order floats totally (arrow's
    // `total_cmp`) would otherwise put -0 below 0, where IEEE says equal.
    text.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .map(|x| x + 0.0)
}

/// The instant of a timestamp text (RFC 3339, or ISO 8601 date and time with
/// `T` or a space and no offset, read as UTC), in epoch milliseconds.
pub fn timestamp_ms_of(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    // Cheap shape check first (`dddd-dd-ddTdd:dd`): most values are not
    // timestamps, and chrono's parsers are not free.
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() < 16
        || !digits(0..4)
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b't' || b[10] == b' ')
        || b[13] != b':'
    {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, fmt) {
            return Some(Utc.from_utc_datetime(&t).timestamp_millis());
        }
    }
    None
}

/// What the index's `num` column holds for a value: its number, or for a
/// timestamp its epoch milliseconds.
pub fn value_number(text: &str) -> Option<f64> {
    number_of(text).or_else(|| timestamp_ms_of(text).map(|ms| ms as f64))
}

/// The sortable key of an IP address.
pub fn ip_key_of(addr: IpAddr) -> String {
    let v6 = match addr {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    };
    format!("{:032x}", u128::from(v6))
}

/// The key of a token that is an IP address (see the module docs).
pub fn ip_key(token: &str) -> Option<String> {
    // Called for every token at ingest: reject most words on their first byte.
    let first = *token.as_bytes().first()?;
    if !(first.is_ascii_hexdigit() || first == b':') || !token.contains(['.', ':']) {
        return None;
    }
    token.parse::<IpAddr>().ok().map(ip_key_of)
}

/// An IPv4 or IPv6 network: `10.0.0.0/8`, `2001:db8::/32`. Host bits are
/// cleared, as most tools do (`10.1.2.3/8` is `10.0.0.0/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    pub addr: IpAddr,
    pub len: u8,
}

/// Why a text is not a CIDR block, for the diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CidrError {
    /// Not an address followed by `/digits`.
    NotCidr,
    /// The address part does not parse.
    BadAddress,
    /// The length exceeds 32 (IPv4) or 128 (IPv6).
    BadLength { max: u8 },
}

impl Cidr {
    /// Parses `addr/len`. `Err(NotCidr)` means "this is not trying to be a CIDR".
    pub fn parse(text: &str) -> Result<Cidr, CidrError> {
        let (addr, len) = text.split_once('/').ok_or(CidrError::NotCidr)?;
        if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CidrError::NotCidr);
        }
        let looks_v4 = addr.bytes().filter(|&b| b == b'.').count() == 3
            && addr.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        let looks_v6 = addr.contains(':')
            && addr
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        if !looks_v4 && !looks_v6 {
            return Err(CidrError::NotCidr);
        }
        let addr: IpAddr = addr.parse().map_err(|_| CidrError::BadAddress)?;
        let len: u8 = len.parse().map_err(|_| CidrError::BadLength {
            max: if addr.is_ipv4() { 32 } else { 128 },
        })?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if len > max {
            return Err(CidrError::BadLength { max });
        }
        let addr = match addr {
            IpAddr::V4(v4) => {
                let mask = if len == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(len))
                };
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
            }
            IpAddr::V6(v6) => {
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(len))
                };
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        };
        Ok(Cidr { addr, len })
    }

    /// First and last address of the block, as IPv6 numbers.
    fn bounds(&self) -> (u128, u128) {
        let (base, host_bits) = match self.addr {
            IpAddr::V4(v4) => (u128::from(v4.to_ipv6_mapped()), 32 - u32::from(self.len)),
            IpAddr::V6(v6) => (u128::from(v6), 128 - u32::from(self.len)),
        };
        let span = if host_bits == 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        (base, base | span)
    }

    /// The block as an inclusive range of [`ip_key`]s.
    pub fn key_range(&self) -> (String, String) {
        let (lo, hi) = self.bounds();
        (format!("{lo:032x}"), format!("{hi:032x}"))
    }

    /// True if `addr` is in the block (IPv4 addresses and their IPv6-mapped
    /// forms are the same address).
    pub fn contains(&self, addr: IpAddr) -> bool {
        let n = match addr {
            IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
            IpAddr::V6(v6) => u128::from(v6),
        };
        let (lo, hi) = self.bounds();
        lo <= n && n <= hi
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_whole_decimal_texts() {
        for (t, n) in [
            ("0", 0.0),
            ("-12", -12.0),
            ("+3", 3.0),
            ("3.5", 3.5),
            ("1e3", 1000.0),
            ("2.5E-1", 0.25),
        ] {
            assert_eq!(number_of(t), Some(n), "{t}");
        }
        // -0 is 0, bit for bit, so every engine orders it as IEEE does.
        for t in ["-0", "-0.0", "-1e-400"] {
            assert_eq!(number_of(t).map(f64::to_bits), Some(0f64.to_bits()), "{t}");
        }
        for t in [
            "", "-", "1.", ".5", "1e", "0x10", "NaN", "inf", " 1", "1 ", "1.2.3", "1e999",
        ] {
            assert_eq!(number_of(t), None, "{t}");
        }
    }

    #[test]
    fn timestamps_are_epoch_millis() {
        assert_eq!(timestamp_ms_of("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(timestamp_ms_of("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(timestamp_ms_of("1970-01-01 00:00:00.250"), Some(250));
        assert_eq!(timestamp_ms_of("2024-05-01"), None);
        assert_eq!(timestamp_ms_of("not a time at all"), None);
        assert_eq!(value_number("1970-01-01T00:00:02Z"), Some(2000.0));
        assert_eq!(value_number("42"), Some(42.0));
    }

    #[test]
    fn ip_keys_sort_like_addresses() {
        let k = |s: &str| ip_key(s).unwrap();
        assert!(k("9.255.255.255") < k("10.0.0.0"));
        assert!(k("10.0.0.1") < k("10.0.0.11"));
        assert!(k("10.0.0.11") < k("110.0.0.1"));
        assert_eq!(k("::ffff:10.0.0.1"), k("10.0.0.1"));
        assert_eq!(ip_key("example.com"), None);
        assert_eq!(ip_key("10"), None);
    }

    #[test]
    fn cidr_blocks() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains("10.255.1.2".parse().unwrap()));
        assert!(!c.contains("11.0.0.0".parse().unwrap()));
        assert!(!c.contains("110.0.0.1".parse().unwrap()));
        let (lo, hi) = c.key_range();
        assert!(lo <= ip_key("10.0.0.0").unwrap() && ip_key("10.255.255.255").unwrap() <= hi);
        assert!(ip_key("11.0.0.0").unwrap() > hi);
        assert_eq!(Cidr::parse("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(
            Cidr::parse("10.16.0.0/12").unwrap().to_string(),
            "10.16.0.0/12"
        );
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        assert_eq!(
            Cidr::parse("0.0.0.0/0").unwrap().key_range().1,
            ip_key("255.255.255.255").unwrap()
        );
        assert_eq!(Cidr::parse("::/0").unwrap().key_range().1, "f".repeat(32));
        assert_eq!(
            Cidr::parse("10.0.0.0/33"),
            Err(CidrError::BadLength { max: 32 })
        );
        assert_eq!(Cidr::parse("10.0.0.256/8"), Err(CidrError::BadAddress));
        assert_eq!(Cidr::parse("user/x"), Err(CidrError::NotCidr));
        assert_eq!(Cidr::parse("a/8"), Err(CidrError::NotCidr));
        assert_eq!(Cidr::parse("12/25"), Err(CidrError::NotCidr));
        assert_eq!(Cidr::parse("1.1/2"), Err(CidrError::NotCidr));
        assert_eq!(Cidr::parse("10.0.0.0"), Err(CidrError::NotCidr));
    }
}
