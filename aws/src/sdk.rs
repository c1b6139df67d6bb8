//! Settings → a checked SDK configuration.

use std::time::Duration;

pub use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_http_client::tls;

/// What the user chose (flags, config file); `None` means "let the AWS
/// chain decide", as the AWS CLI would.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsSettings {
    pub profile: Option<String>,
    pub region: Option<String>,
    /// Send every AWS call here instead of the regional endpoint (a VPC
    /// endpoint, LocalStack, moto). S3 then uses path-style addresses.
    pub endpoint_url: Option<String>,
    /// Attempts per AWS call, first one included (throttling and transient
    /// errors are retried with jittered exponential backoff).
    pub max_attempts: Option<u32>,
}

/// How long finding credentials and region may take before glaux gives up:
/// the chain ends at the instance metadata endpoint, which on a laptop does
/// not answer; its own timeouts are 1 s per attempt.
pub const CREDENTIALS_TIMEOUT: Duration = Duration::from_secs(10);

/// Default attempts per call (the SDK's default is 3; Athena's
/// `TooManyRequestsException` under a burst needs a few more).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 6;

/// Errors of setting up AWS access.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error(
        "no AWS region: pass --region, set AWS_REGION, or put `region` in the profile (or in glaux's config file)"
    )]
    NoRegion,
    #[error(
        "no AWS credentials{profile}: {detail}\n  glaux looks where the AWS CLI does: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, \
         ~/.aws/credentials and ~/.aws/config (--profile or AWS_PROFILE; run `aws sso login` for SSO profiles), \
         web identity, ECS, and EC2 instance metadata"
    )]
    NoCredentials { profile: String, detail: String },
    #[error(
        "looking for AWS credentials took longer than {0:?}; is the instance metadata endpoint unreachable? set credentials explicitly"
    )]
    Timeout(Duration),
    #[error("bad --endpoint-url `{0}`: it must start with http:// or https://")]
    BadEndpoint(String),
}

/// Loads the SDK configuration for `settings` and checks, within
/// [`CREDENTIALS_TIMEOUT`], that a region and credentials exist, so the
/// first real call does not fail (or hang) on them.
pub async fn load(settings: &AwsSettings) -> Result<SdkConfig, AwsError> {
    let loader = loader(settings)?;
    let checked = async {
        let config = loader.load().await;
        if config.region().is_none() {
            return Err(AwsError::NoRegion);
        }
        let provider = config
            .credentials_provider()
            .ok_or_else(|| AwsError::NoCredentials {
                profile: profile_note(settings),
                detail: "no credentials provider is configured".into(),
            })?;
        provider
            .provide_credentials()
            .await
            .map_err(|e| AwsError::NoCredentials {
                profile: profile_note(settings),
                detail: error_chain(&e),
            })?;
        Ok(config)
    };
    tokio::time::timeout(CREDENTIALS_TIMEOUT, checked)
        .await
        .map_err(|_| AwsError::Timeout(CREDENTIALS_TIMEOUT))?
}

/// The configuration loader glaux uses (HTTP client, retries, timeouts,
/// profile, region, endpoint), before any check: [`load`] is this plus the
/// checks; tests add fixed credentials to it.
pub fn loader(settings: &AwsSettings) -> Result<aws_config::ConfigLoader, AwsError> {
    if let Some(url) = &settings.endpoint_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(AwsError::BadEndpoint(url.clone()));
    }
    // The SDK's hyper + rustls client with the ring provider (no cmake
    // build of aws-lc); certificates from the platform's roots.
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(settings.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS).max(1))
                .with_initial_backoff(Duration::from_millis(100))
                .with_max_backoff(Duration::from_secs(5)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .read_timeout(Duration::from_secs(60))
                .build(),
        );
    if let Some(p) = &settings.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &settings.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(u) = &settings.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    Ok(loader)
}

fn profile_note(settings: &AwsSettings) -> String {
    settings
        .profile
        .as_ref()
        .map(|p| format!(" for profile `{p}`"))
        .unwrap_or_default()
}

/// An error and its sources on one line: the SDK's top-level messages
/// ("service error", "dispatch failure") say little without their causes.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        let msg = s.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        next = s.source();
    }
    out
}
