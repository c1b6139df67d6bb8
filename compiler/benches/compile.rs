//! Compile time per query class: text → AST → resolved → optimized → plan →
//! SQL, no I/O. `cargo bench -p glaux-compiler --bench compile`; the p99
//! per class is in `glaux bench`'s report (criterion reports means and
//! confidence intervals, not percentiles).

use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use glaux_compiler::{CompileOptions, compile};

/// The query classes of `glaux bench`, as users type them.
pub const CLASSES: &[(&str, &str)] = &[
    ("term", "198.18.0.2"),
    ("field_value", "sourceIPAddress:198.18.0.3"),
    ("and", "198.18.0.2 AND 198.18.0.4"),
    ("or", "198.18.0.1 OR 198.18.0.2"),
    ("phrase", "\"failed password\""),
    ("prefix", "eventName:Describe*"),
    ("negation", "198.18.0.3 AND NOT 198.18.0.4"),
    ("range", "latency_ms:[990 TO *]"),
    ("cidr", "198.18.0.0/30"),
    (
        "realistic",
        "userIdentity.userName:alice AND 10.0.0.1 AND NOT eventName:Describe* AND @time > now-6h",
    ),
];

fn bench(c: &mut Criterion) {
    let now = DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
        .expect("time")
        .with_timezone(&Utc);
    let options = CompileOptions::at(now);
    let mut group = c.benchmark_group("compile");
    for (name, query) in CLASSES {
        group.bench_function(*name, |b| {
            b.iter(|| compile(std::hint::black_box(query), &options).expect("compiles"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
