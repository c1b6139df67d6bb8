//! Peers for glaux's AWS tests. Nothing here talks to real AWS.
//!
//! - [`peer`]: a small HTTP/1.1 server on 127.0.0.1 that answers AWS JSON
//!   protocol calls (`X-Amz-Target: AmazonAthena.*`) from a script, and
//!   records every call. It produces what moto cannot: FAILED queries with
//!   an `AthenaError`, CANCELLED, throttling bursts, a query that runs until
//!   stopped, results over several pages, malformed responses.
//! - [`moto`]: starts moto's server (a third-party implementation of the AWS
//!   APIs) on 127.0.0.1 and a free port, and stops it when dropped.
#![forbid(unsafe_code)]

pub mod moto;
pub mod peer;

/// Environment for a process that talks to a local peer: fixed test
/// credentials and region, and no shared AWS files or instance metadata,
/// so nothing can reach real AWS.
pub const AWS_TEST_ENV: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_SESSION_TOKEN", "testing"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_CONFIG_FILE", "/nonexistent/glaux-test-aws-config"),
    (
        "AWS_SHARED_CREDENTIALS_FILE",
        "/nonexistent/glaux-test-aws-credentials",
    ),
];

/// Runs `glaux … demo --no-repl [extra] --dir DIR/demo` with `glaux` (the
/// binary, its environment and global options set by the caller), asserts
/// it succeeded, and returns the demo store (`DIR/demo/store`).
pub fn demo_store(
    mut glaux: std::process::Command,
    dir: &std::path::Path,
    extra: &[&str],
) -> std::path::PathBuf {
    let demo = dir.join("demo");
    let out = glaux
        .args(["demo", "--no-repl"])
        .args(extra)
        .arg("--dir")
        .arg(&demo)
        .output()
        .expect("glaux runs");
    assert!(
        out.status.success(),
        "glaux demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    demo.join("store")
}
