//! What a query costs on Athena: bytes scanned rounded up to the megabyte,
//! at least 10 MB, at a price per terabyte (default $5). Units are binary
//! (1 MB = 2^20 bytes, 1 TB = 2^40 bytes), as AWS bills data.

/// Athena's list price in most regions, USD per TB scanned.
pub const DEFAULT_PRICE_PER_TB: f64 = 5.0;

const MB: u64 = 1 << 20;
const TB: f64 = (1u64 << 40) as f64;

/// The minimum Athena bills for a query that scanned anything or nothing.
pub const MINIMUM_BILLED: u64 = 10 * MB;

/// Bytes Athena bills for a query that scanned `scanned` bytes.
pub fn billed_bytes(scanned: u64) -> u64 {
    scanned.div_ceil(MB).saturating_mul(MB).max(MINIMUM_BILLED)
}

/// Dollars for a query that scanned `scanned` bytes at `price_per_tb`.
pub fn cost_usd(scanned: u64, price_per_tb: f64) -> f64 {
    billed_bytes(scanned) as f64 / TB * price_per_tb
}

/// Bytes in the largest fitting binary unit: `0 B`, `512 B`, `1.5 MB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KB", "MB", "GB", "TB", "PB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Dollars with enough digits to see a small query's cost: `$0.000048`,
/// `$0.0012`, `$15.00`.
pub fn human_usd(v: f64) -> String {
    if v >= 1.0 {
        format!("${v:.2}")
    } else if v >= 0.01 {
        format!("${v:.4}")
    } else {
        format!("${v:.6}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimum_and_rounding() {
        assert_eq!(billed_bytes(0), 10 * MB);
        assert_eq!(billed_bytes(1), 10 * MB);
        assert_eq!(billed_bytes(10 * MB), 10 * MB);
        assert_eq!(billed_bytes(10 * MB + 1), 11 * MB);
        assert_eq!(billed_bytes(u64::MAX), u64::MAX); // saturates, no panic
    }

    #[test]
    fn worked_example() {
        // 3 TB of Parquet at $5/TB is $15 (AWS's pricing page example).
        let three_tb = 3u64 << 40;
        assert!((cost_usd(three_tb, 5.0) - 15.0).abs() < 1e-9);
        // The 10 MB minimum: $0.0000477 at $5/TB.
        assert_eq!(human_usd(cost_usd(0, 5.0)), "$0.000048");
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1536), "1.5 KB");
        assert_eq!(human_bytes(3 << 40), "3.0 TB");
    }
}
