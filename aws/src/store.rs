//! S3 as a store's file system ([`S3Target`]) and as a source of raw
//! objects ([`S3Objects`]), for `glaux ingest`.
//!
//! Ingest runs on plain threads; these adapters block those threads on a
//! Tokio runtime they are given (never a runtime worker thread).

use std::io;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use glaux_store::{Fetched, Source, Target};
use tokio::runtime::Handle;

use crate::s3::{Listed, S3, S3Url};

/// A store under `s3://bucket/prefix/`.
pub struct S3Target {
    s3: S3,
    url: S3Url,
    runtime: Handle,
}

impl S3Target {
    pub fn new(s3: S3, url: S3Url, runtime: Handle) -> Self {
        S3Target { s3, url, runtime }
    }
}

impl Target for S3Target {
    fn put(&self, key: &str, bytes: Vec<u8>) -> io::Result<()> {
        let key = format!("{}{key}", self.url.prefix);
        self.runtime
            .block_on(self.s3.put(&self.url.bucket, &key, bytes))
            .map_err(io::Error::other)
    }

    fn create_new(&self, key: &str, bytes: Vec<u8>) -> io::Result<bool> {
        let key = format!("{}{key}", self.url.prefix);
        self.runtime
            .block_on(self.s3.put_if_absent(&self.url.bucket, &key, bytes))
            .map_err(io::Error::other)
    }

    fn get(&self, key: &str) -> io::Result<Vec<u8>> {
        let key = format!("{}{key}", self.url.prefix);
        self.runtime
            .block_on(self.s3.get(&self.url.bucket, &key))
            .map_err(io::Error::other)
    }

    fn delete(&self, key: &str) -> io::Result<()> {
        let key = format!("{}{key}", self.url.prefix);
        self.runtime
            .block_on(self.s3.delete(&self.url.bucket, &key))
            .map_err(io::Error::other)
    }

    fn list(&self, prefix: &str) -> io::Result<Vec<String>> {
        let full = format!("{}{prefix}", self.url.prefix);
        let listed = self
            .runtime
            .block_on(self.s3.list(&self.url.bucket, &full))
            .map_err(io::Error::other)?;
        Ok(listed
            .into_iter()
            .filter_map(|o| o.key.strip_prefix(&self.url.prefix).map(str::to_string))
            .collect())
    }

    fn describe(&self) -> String {
        self.url.to_string()
    }
}

/// Keys under a raw-log prefix that are not logs: "folder" markers, and
/// CloudTrail's digest files (hash chains for integrity validation, in
/// `AWSLogs/<account>/CloudTrail-Digest/`).
pub fn is_log_key(key: &str) -> bool {
    !key.ends_with('/') && !key.contains("/CloudTrail-Digest/")
}

/// Lists the raw objects `url` names (every page), logs only: everything
/// under it as a folder (`s3://b/logs` reads `logs/…`, not `logs-old/…`),
/// or, when nothing is, the one object whose key it is. Naming nothing at
/// all is an error: a mistyped prefix must not look like a quiet hour.
pub async fn list_logs(s3: &S3, url: &S3Url) -> Result<Vec<Listed>, String> {
    let under: Vec<Listed> = s3
        .list(&url.bucket, &url.prefix)
        .await?
        .into_iter()
        .filter(|o| is_log_key(&o.key))
        .collect();
    if !under.is_empty() {
        return Ok(under);
    }
    let key = url.prefix.trim_end_matches('/');
    if !key.is_empty() {
        let exact: Vec<Listed> = s3
            .list(&url.bucket, key)
            .await?
            .into_iter()
            .filter(|o| o.key == key)
            .collect();
        if !exact.is_empty() {
            return Ok(exact);
        }
    }
    Err(format!(
        "no log objects at {} (nothing under it, and no object by that name)",
        url
    ))
}

/// Raw objects fetched from S3, at most `concurrency` GETs in flight and at
/// most `concurrency` fetched objects waiting for a worker, so memory stays
/// bounded however many objects there are.
pub struct S3Objects {
    rx: Mutex<tokio::sync::mpsc::Receiver<Result<Fetched, (String, String)>>>,
}

impl S3Objects {
    /// Starts fetching `objects` (bucket, object) on `runtime`.
    pub fn start(
        s3: S3,
        objects: Vec<(String, Listed)>,
        concurrency: usize,
        runtime: &Handle,
    ) -> Self {
        let concurrency = concurrency.max(1);
        let (tx, rx) = tokio::sync::mpsc::channel(concurrency);
        runtime.spawn(async move {
            let mut fetched = futures::stream::iter(objects)
                .map(|(bucket, o)| {
                    let s3 = s3.clone();
                    async move {
                        let url = format!("s3://{bucket}/{}", o.key);
                        match s3.get(&bucket, &o.key).await {
                            Ok(bytes) => Ok(Fetched {
                                object: url,
                                bytes,
                                mtime: o
                                    .modified_ms
                                    .and_then(DateTime::<Utc>::from_timestamp_millis),
                            }),
                            Err(e) => Err((url, e)),
                        }
                    }
                })
                .buffer_unordered(concurrency);
            while let Some(item) = fetched.next().await {
                if tx.send(item).await.is_err() {
                    break; // ingest stopped taking objects
                }
            }
        });
        S3Objects { rx: Mutex::new(rx) }
    }
}

impl Source for S3Objects {
    fn next(&self) -> Option<Result<Fetched, (String, String)>> {
        self.rx.lock().expect("source lock").blocking_recv()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_folders_are_not_logs() {
        assert!(is_log_key(
            "AWSLogs/123456789012/CloudTrail/us-east-1/2024/05/01/123456789012_CloudTrail_us-east-1_20240501T1000Z_abc.json.gz"
        ));
        assert!(!is_log_key(
            "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/05/01/x.json.gz"
        ));
        assert!(!is_log_key("AWSLogs/123456789012/CloudTrail/"));
    }
}
