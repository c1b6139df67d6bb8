//! The S3 operations glaux needs: list a prefix, get, put and delete an
//! object. Errors carry the bucket, key and the SDK's cause chain.

use aws_sdk_s3::primitives::ByteStream;

use crate::sdk::{SdkConfig, error_chain};

/// `s3://bucket/prefix` split into its parts. The prefix has no leading
/// slash and, when not empty, ends with one, so `prefix + name` is a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    pub prefix: String,
}

impl S3Url {
    /// Parses `s3://bucket[/prefix]`. `None` when `s` is not an S3 URL at
    /// all (a local path); `Some(Err)` when it is one but malformed.
    pub fn parse(s: &str) -> Option<Result<S3Url, String>> {
        let rest = s.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // Bucket names: 3-63 characters of lower-case letters, digits, dots
        // and hyphens (S3's rules, minus the legacy upper-case buckets).
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !valid_bucket {
            return Some(Err(format!(
                "`{s}` is not an S3 location: the bucket name `{bucket}` must be 3-63 lower-case letters, digits, dots or hyphens"
            )));
        }
        let mut prefix = prefix.trim_start_matches('/').to_string();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        Some(Ok(S3Url {
            bucket: bucket.to_string(),
            prefix,
        }))
    }

    /// `s3://bucket/key` of a key in this bucket.
    pub fn url_of(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// One listed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub size: i64,
    /// Last modified, milliseconds since the epoch.
    pub modified_ms: Option<i64>,
}

/// An S3 client.
#[derive(Debug, Clone)]
pub struct S3 {
    client: aws_sdk_s3::Client,
}

impl S3 {
    /// A client for `config`. With a custom endpoint (moto, MinIO,
    /// LocalStack) addresses are path-style, which those servers need.
    pub fn new(config: &SdkConfig, path_style: bool) -> Self {
        let conf = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .build();
        S3 {
            client: aws_sdk_s3::Client::from_conf(conf),
        }
    }

    /// Every object under `prefix` in `bucket`, in key order, all pages.
    pub async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<Listed>, String> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                format!("listing s3://{bucket}/{prefix} failed: {}", error_chain(&e))
            })?;
            for o in page.contents() {
                let Some(key) = o.key() else { continue };
                out.push(Listed {
                    key: key.to_string(),
                    size: o.size().unwrap_or(0),
                    modified_ms: o.last_modified().and_then(|t| t.to_millis().ok()),
                });
            }
        }
        Ok(out)
    }

    /// The whole content of one object.
    pub async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, String> {
        let what = || format!("s3://{bucket}/{key}");
        let resp = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| format!("reading {} failed: {}", what(), error_chain(&e)))?;
        let body = resp
            .body
            .collect()
            .await
            .map_err(|e| format!("reading {} failed: {}", what(), error_chain(&e)))?;
        Ok(body.into_bytes().to_vec())
    }

    /// Writes one object. S3 replaces objects atomically: readers see the
    /// old content or the new, never a part.
    pub async fn put(&self, bucket: &str, key: &str, bytes: Vec<u8>) -> Result<(), String> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("writing s3://{bucket}/{key} failed: {}", error_chain(&e)))
    }

    /// Writes one object only if the key is free (`If-None-Match: *`);
    /// `false` when an object is there (412) or another conditional write
    /// to the key is under way (409).
    pub async fn put_if_absent(
        &self,
        bucket: &str,
        key: &str,
        bytes: Vec<u8>,
    ) -> Result<bool, String> {
        let sent = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .if_none_match("*")
            .body(ByteStream::from(bytes))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.raw_response().map(|r| r.status().as_u16()),
                    Some(409 | 412)
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(format!(
                "writing s3://{bucket}/{key} failed: {}",
                error_chain(&e)
            )),
        }
    }

    /// Deletes one object; deleting a missing key succeeds (S3's rule).
    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), String> {
        self.client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("deleting s3://{bucket}/{key} failed: {}", error_chain(&e)))
    }

    /// The SDK client, for tests that set up buckets.
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls() {
        assert_eq!(S3Url::parse("/tmp/x"), None);
        assert_eq!(
            S3Url::parse("s3://logs-1/AWSLogs/123").unwrap().unwrap(),
            S3Url {
                bucket: "logs-1".into(),
                prefix: "AWSLogs/123/".into()
            }
        );
        assert_eq!(
            S3Url::parse("s3://logs-1").unwrap().unwrap().prefix,
            String::new()
        );
        assert_eq!(
            S3Url::parse("s3://logs-1/").unwrap().unwrap().to_string(),
            "s3://logs-1/"
        );
        assert!(S3Url::parse("s3://").unwrap().is_err());
        assert!(S3Url::parse("s3://Upper/x").unwrap().is_err());
        assert!(S3Url::parse("s3://a b/x").unwrap().is_err());
    }
}
