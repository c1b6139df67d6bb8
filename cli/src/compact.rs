//! `glaux compact`: a local store (atomic swap) or an S3 store
//! (write, then delete; see `glaux_store::compact_s3`).

use std::io::Write;

use glaux_aws::StoreLocation;
use glaux_aws::s3::{S3, S3Url};
use glaux_aws::store::S3Target;

use crate::config::Settings;
use crate::{EXIT_ERROR, EXIT_OK};

/// Runs the compact command on `store`; returns the exit status.
pub fn run(
    store: &StoreLocation,
    settings: &Settings,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let result = match store {
        StoreLocation::Local(local) => glaux_store::compact::compact(local, &|_| {}),
        StoreLocation::S3(url) => on_s3(url.clone(), settings),
    };
    match result {
        Ok(report) => {
            let _ = writeln!(out, "{report}");
            EXIT_OK
        }
        Err(e) => {
            let _ = writeln!(err, "error: compacting {store}: {e}");
            EXIT_ERROR
        }
    }
}

fn on_s3(url: S3Url, settings: &Settings) -> std::io::Result<glaux_store::compact::CompactReport> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let aws = settings.aws();
    let config = runtime
        .block_on(glaux_aws::load(&aws))
        .map_err(std::io::Error::other)?;
    let s3 = S3::new(&config, aws.endpoint_url.is_some());
    let target = S3Target::new(s3, url, runtime.handle().clone());
    let _lock = glaux_store::compact_s3::lock(&target, "compact")?;
    glaux_store::compact_s3::compact(&target, &|_| {})
}
