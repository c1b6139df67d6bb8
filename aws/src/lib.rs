//! glaux's edge to AWS: one place that turns settings (profile, region,
//! endpoint) into an SDK configuration, and the few S3 operations ingest
//! needs. Everything AWS-specific that is not Athena lives here, so the
//! store crate stays free of network code and the Athena engine only runs
//! queries.
//!
//! Credentials and region come from aws-config's standard chains (env vars,
//! shared config and credentials files with `--profile`, SSO, web identity,
//! ECS, instance metadata), exactly as the AWS CLI finds them. What glaux
//! adds is bounds: every step that can wait on the network has a timeout, so
//! a laptop without credentials gets a clear error in seconds instead of a
//! hang on the instance metadata endpoint.
#![forbid(unsafe_code)]

pub mod location;
pub mod s3;
mod sdk;
pub mod store;

pub use location::StoreLocation;
pub use sdk::{AwsError, AwsSettings, DEFAULT_MAX_ATTEMPTS, SdkConfig, error_chain, load, loader};
