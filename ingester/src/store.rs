//! Reading log objects from S3 (or any S3-compatible store).

use aws_sdk_s3::error::ProvideErrorMetadata;
use time::OffsetDateTime;
use tokio::io::AsyncRead;

use crate::error::Error;
use crate::s3_event::ObjectCreated;

/// A streaming object body.
pub type Body = Box<dyn AsyncRead + Unpin + Send>;

#[derive(Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
}

impl S3Store {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        Self { client }
    }

    /// Client from the environment's AWS configuration (`AWS_ENDPOINT_URL`,
    /// `AWS_REGION`, credentials chain). Path-style addressing keeps
    /// S3-compatible stores (MinIO, moto) working without DNS per bucket.
    pub async fn from_env() -> Self {
        let config = aws_config::load_from_env().await;
        let s3 = aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build();
        Self::new(aws_sdk_s3::Client::from_conf(s3))
    }

    /// Streams the object if it still has `etag`; `Ok(None)` when it was
    /// replaced or deleted since (its successor has an event of its own).
    pub async fn get(&self, bucket: &str, key: &str, etag: &str) -> Result<Option<Body>, Error> {
        let mut request = self.client.get_object().bucket(bucket).key(key);
        if !etag.is_empty() {
            request = request.if_match(format!("\"{etag}\""));
        }
        match request.send().await {
            Ok(object) => Ok(Some(Box::new(object.body.into_async_read()))),
            Err(err) => match err.code() {
                Some("PreconditionFailed" | "NoSuchKey") => Ok(None),
                _ => Err(Error::Store {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                    message: format!("GetObject failed: {}", aws_error(&err)),
                }),
            },
        }
    }

    /// Every object under `prefix`, as if each had just been announced.
    pub async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectCreated>, Error> {
        let mut objects = Vec::new();
        let mut pages = self.client.list_objects_v2().bucket(bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| Error::Store {
                bucket: bucket.to_owned(),
                key: prefix.to_owned(),
                message: format!("ListObjectsV2 failed: {}", aws_error(&err)),
            })?;
            for object in page.contents() {
                let modified = object.last_modified().map_or(0, |t| t.secs());
                objects.push(ObjectCreated {
                    bucket: bucket.to_owned(),
                    key: object.key().unwrap_or_default().to_owned(),
                    etag: object.e_tag().unwrap_or_default().trim_matches('"').to_owned(),
                    size: object.size().unwrap_or_default().max(0) as u64,
                    event_time: OffsetDateTime::from_unix_timestamp(modified).unwrap_or(OffsetDateTime::UNIX_EPOCH),
                });
            }
        }
        Ok(objects)
    }
}

/// The service's code and message, which the SDK's Display hides behind
/// "service error".
pub fn aws_error<E: ProvideErrorMetadata + std::error::Error>(err: &E) -> String {
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => {
            let mut text = err.to_string();
            let mut source = err.source();
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            text
        }
    }
}
