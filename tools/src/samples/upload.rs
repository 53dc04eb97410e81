//! `--upload s3://bucket[/prefix]`: PutObject of each file and the manifest.

use std::path::Path;
use std::str::FromStr;

use anyhow::Context as _;
use aws_sdk_s3::primitives::ByteStream;

/// Bucket and key prefix of an `s3://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Target {
    pub bucket: String,
    /// Without leading or trailing `/`; empty for the bucket root.
    pub prefix: String,
}

impl S3Target {
    pub fn key(&self, relative: &str) -> String {
        if self.prefix.is_empty() { relative.to_owned() } else { format!("{}/{relative}", self.prefix) }
    }
}

impl FromStr for S3Target {
    type Err = String;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| format!("{url:?} is not an s3://bucket[/prefix] URL"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("{url:?} names no bucket"));
        }
        Ok(Self { bucket: bucket.to_owned(), prefix: prefix.trim_matches('/').to_owned() })
    }
}

pub struct Uploader {
    client: aws_sdk_s3::Client,
    target: S3Target,
}

impl Uploader {
    /// A client from the default chain (environment, profile, instance
    /// role). With a custom endpoint (`AWS_ENDPOINT_URL`, e.g. the local moto
    /// server) path-style addressing is used, since `bucket.localhost` does
    /// not resolve.
    pub async fn new(target: S3Target) -> Self {
        let shared = aws_config::load_from_env().await;
        let config =
            aws_sdk_s3::config::Builder::from(&shared).force_path_style(shared.endpoint_url().is_some()).build();
        Self { client: aws_sdk_s3::Client::from_conf(config), target }
    }

    /// Uploads the file at `path` as `relative` under the prefix, streaming
    /// it from disk. Failures are retried by the SDK's standard retry policy
    /// (throttling, 5xx, connection errors); what remains fails the run.
    pub async fn put(&self, relative: &str, path: &Path) -> anyhow::Result<String> {
        let key = self.target.key(relative);
        let url = format!("s3://{}/{key}", self.target.bucket);
        let body = ByteStream::from_path(path).await.with_context(|| format!("reading {}", path.display()))?;
        self.client
            .put_object()
            .bucket(&self.target.bucket)
            .key(&key)
            .body(body)
            .send()
            .await
            .with_context(|| format!("uploading {url}"))?;
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_split_into_bucket_and_prefix() {
        let target: S3Target = "s3://adhouse-logs".parse().unwrap();
        assert_eq!((target.bucket.as_str(), target.key("manifest.json").as_str()), ("adhouse-logs", "manifest.json"));
        let target: S3Target = "s3://adhouse-logs/runs/7/".parse().unwrap();
        assert_eq!(target.key("logs/acme/x.gz"), "runs/7/logs/acme/x.gz");
        assert!("adhouse-logs/x".parse::<S3Target>().is_err());
        assert!("s3:///x".parse::<S3Target>().is_err());
    }
}
