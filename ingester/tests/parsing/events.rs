use adhouse_ingester::s3_event::{self, Announcement, ObjectCreated, parse};

const S3: &str = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventTime":"2026-05-10T12:00:00.123Z",
  "eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"logs"},"object":{"key":"a/odd+name%C3%A9%2B.gz",
  "size":42,"eTag":"\"abc\"","sequencer":"0A"}}},
  {"eventName":"ObjectRemoved:Delete","eventTime":"2026-05-10T12:00:01Z","s3":{"bucket":{"name":"logs"},"object":{"key":"gone"}}}]}"#;

fn objects(body: &str) -> Vec<(String, String, String, u64)> {
    match parse(body).unwrap() {
        Announcement::Objects(objects) => objects.into_iter().map(|o| (o.bucket, o.key, o.etag, o.size)).collect(),
        Announcement::Test => panic!("not a test event"),
    }
}

#[test]
fn s3_notifications_yield_created_objects_with_decoded_keys() {
    assert_eq!(objects(S3), [("logs".into(), "a/odd nameé+.gz".into(), "abc".into(), 42)]);
}

#[test]
fn sns_wrapped_and_eventbridge_events_yield_the_same_objects() {
    let sns = serde_json::json!({"Type": "Notification", "MessageId": "1", "Message": S3}).to_string();
    assert_eq!(objects(&sns), objects(S3));
    let bridge = r#"{"version":"0","detail-type":"Object Created","source":"aws.s3","time":"2026-05-10T12:00:00Z",
      "detail":{"bucket":{"name":"logs"},"object":{"key":"a/odd name+.gz","size":42,"etag":"abc"}}}"#;
    assert_eq!(objects(bridge), [("logs".into(), "a/odd name+.gz".into(), "abc".into(), 42)], "EventBridge keys are not encoded");
}

#[test]
fn the_s3_test_event_is_recognised_and_garbage_is_an_error() {
    let test = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-05-10T12:00:00Z","Bucket":"logs"}"#;
    assert_eq!(parse(test).unwrap(), Announcement::Test);
    assert!(parse("not json").is_err());
    assert!(parse(r#"{"hello":"world"}"#).is_err());
}

#[test]
fn a_replayed_object_reads_back_as_announced_whatever_its_key() {
    let object = ObjectCreated {
        bucket: "logs".into(),
        key: "logs/acme/odd name+plus é%41.jsonl".into(),
        etag: "abc123".into(),
        size: 42,
        event_time: time::macros::datetime!(2026-11-30 12:34:56.789 UTC),
    };
    assert_eq!(s3_event::parse(&s3_event::object_created_event(&object)).unwrap(), Announcement::Objects(vec![object]));
}
