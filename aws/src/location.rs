//! Where a store is: a directory on this machine or an S3 prefix, told
//! apart once, at the edge (the `--store` setting), so nothing after asks
//! a string whether it starts with `s3://`.

use glaux_store::Store;

use crate::s3::S3Url;

/// A store's location.
#[derive(Debug, Clone)]
pub enum StoreLocation {
    /// A directory on this machine: the local engine searches it, ingest
    /// and compaction write it with file locks and an atomic swap.
    Local(Store),
    /// An S3 prefix: Athena searches it, ingest and compaction write it
    /// through `glaux-aws` (a lock object, write-then-delete).
    S3(S3Url),
}

impl StoreLocation {
    /// `s3://bucket[/prefix]` is on S3 (an error when malformed); anything
    /// else is a directory.
    pub fn parse(text: &str) -> Result<StoreLocation, String> {
        match S3Url::parse(text) {
            None => Ok(StoreLocation::Local(Store::new(text))),
            Some(url) => url.map(StoreLocation::S3),
        }
    }

    /// The local store, if this is one.
    pub fn local(&self) -> Option<&Store> {
        match self {
            StoreLocation::Local(store) => Some(store),
            StoreLocation::S3(_) => None,
        }
    }
}

impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Local(store) => write!(f, "{}", store.root().display()),
            StoreLocation::S3(url) => write!(f, "{url}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_are_s3_and_the_rest_directories() {
        assert!(matches!(
            StoreLocation::parse("s3://logs-1/glaux").unwrap(),
            StoreLocation::S3(S3Url { ref bucket, ref prefix }) if bucket == "logs-1" && prefix == "glaux/"
        ));
        let local = StoreLocation::parse("/var/glaux/store").unwrap();
        assert_eq!(
            local.local().map(|s| s.root().to_path_buf()),
            Some("/var/glaux/store".into())
        );
        // A relative path that merely mentions s3 is a directory.
        assert!(
            StoreLocation::parse("backup/s3:/x")
                .unwrap()
                .local()
                .is_some()
        );
        assert!(StoreLocation::parse("s3://Upper/x").is_err());
        assert_eq!(
            StoreLocation::parse("s3://logs-1").unwrap().to_string(),
            "s3://logs-1/"
        );
    }
}
