//! SQS message bodies parsed into typed S3 object announcements: direct S3
//! event notifications, the same wrapped in SNS, and EventBridge events.

use serde::Deserialize;
use time::OffsetDateTime;

use crate::mapping::decode_component;

/// One object version to ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectCreated {
    pub bucket: String,
    /// The key as stored in S3 (decoded from the notification's form encoding).
    pub key: String,
    /// ETag (quotes removed) or, failing that, the version id: the content
    /// identity that de-duplication tokens are derived from.
    pub etag: String,
    pub size: u64,
    pub event_time: OffsetDateTime,
}

/// What a message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Announcement {
    Objects(Vec<ObjectCreated>),
    /// `s3:TestEvent`, sent when a notification is configured: nothing to do.
    Test,
}

#[derive(Debug, thiserror::Error)]
#[error("not an S3 event notification: {0}")]
pub struct NotAnEvent(String);

#[derive(Deserialize)]
#[serde(untagged)]
enum Body {
    Sns {
        #[serde(rename = "Type")]
        kind: String,
        #[serde(rename = "Message")]
        message: String,
    },
    Notification {
        #[serde(rename = "Records")]
        records: Vec<Record>,
    },
    Test {
        #[serde(rename = "Event")]
        event: String,
    },
    EventBridge {
        #[serde(rename = "detail-type")]
        detail_type: String,
        #[serde(with = "time::serde::rfc3339")]
        time: OffsetDateTime,
        detail: BridgeDetail,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    event_name: String,
    #[serde(with = "time::serde::rfc3339")]
    event_time: OffsetDateTime,
    s3: Entity,
}

#[derive(Deserialize)]
struct Entity {
    bucket: Named,
    object: NotifiedObject,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NotifiedObject {
    key: String,
    #[serde(default)]
    size: u64,
    e_tag: Option<String>,
    version_id: Option<String>,
}

#[derive(Deserialize)]
struct BridgeDetail {
    bucket: Named,
    object: BridgeObject,
}

#[derive(Deserialize)]
struct BridgeObject {
    key: String,
    #[serde(default)]
    size: u64,
    etag: Option<String>,
    #[serde(rename = "version-id")]
    version_id: Option<String>,
}

/// Parses a message body. Records of other event types (deletions, ...)
/// are dropped; a body that is none of the known shapes is an error.
pub fn parse(body: &str) -> Result<Announcement, NotAnEvent> {
    let body: Body = serde_json::from_str(body).map_err(|err| NotAnEvent(err.to_string()))?;
    match body {
        Body::Sns { kind, message } if kind == "Notification" => parse(&message),
        Body::Sns { kind, .. } => Err(NotAnEvent(format!("SNS message of type {kind}"))),
        Body::Test { event } if event == "s3:TestEvent" => Ok(Announcement::Test),
        Body::Test { event } => Err(NotAnEvent(format!("event {event}"))),
        Body::Notification { records } => Ok(Announcement::Objects(
            records
                .into_iter()
                .filter(|r| r.event_name.starts_with("ObjectCreated:"))
                .map(|r| ObjectCreated {
                    bucket: r.s3.bucket.name,
                    // Notification keys are form-encoded: `+` is a space.
                    key: decode_component(&r.s3.object.key).into_owned(),
                    etag: identity(r.s3.object.e_tag, r.s3.object.version_id),
                    size: r.s3.object.size,
                    event_time: r.event_time,
                })
                .collect(),
        )),
        Body::EventBridge { detail_type, time, detail } => Ok(Announcement::Objects(
            (detail_type == "Object Created")
                .then(|| ObjectCreated {
                    bucket: detail.bucket.name,
                    // EventBridge carries the key as stored, not encoded.
                    key: detail.object.key,
                    etag: identity(detail.object.etag, detail.object.version_id),
                    size: detail.object.size,
                    event_time: time,
                })
                .into_iter()
                .collect(),
        )),
    }
}

/// An EventBridge "Object Created" body announcing `object`, as `replay`
/// feeds the objects of a listing through the same path as S3's events.
pub fn object_created_event(object: &ObjectCreated) -> String {
    let time = object.event_time.format(&time::format_description::well_known::Rfc3339).expect("a valid time formats");
    serde_json::json!({
        "detail-type": "Object Created",
        "time": time,
        "detail": {
            "bucket": { "name": object.bucket },
            "object": { "key": object.key, "size": object.size, "etag": object.etag },
        },
    })
    .to_string()
}

fn identity(etag: Option<String>, version_id: Option<String>) -> String {
    etag.map(|etag| etag.trim_matches('"').to_owned())
        .filter(|etag| !etag.is_empty())
        .or(version_id)
        .unwrap_or_default()
}
