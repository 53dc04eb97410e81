//! audit-sync: Google's REST `searchStream` answers HTTP 200 as soon as it
//! starts streaming; an error after the first batches arrives as the
//! array's last element, `{"error":{…}}` (the HTTP/JSON transcoding of a
//! server stream's failing status). No local stack needed: a one-answer
//! HTTP server on loopback.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use adhouse_connectors::google::Google;
use adhouse_connectors::http::{Http, Pacer};
use adhouse_connectors::{Account, Credentials, DateRange, Level, Platform};
use adhouse_core::settings::{GoogleSettings, Secret};
use time::macros::date;

/// Serves `body` with status 200 to every request, on a thread.
fn serve(body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            // Headers, then the body its Content-Length announces.
            loop {
                let n = stream.read(&mut buffer).unwrap();
                request.extend_from_slice(&buffer[..n]);
                let text = String::from_utf8_lossy(&request);
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end]
                        .lines()
                        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap()))
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let answer = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
            stream.write_all(answer.as_bytes()).unwrap();
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn a_search_stream_that_ends_in_an_error_element_is_an_error_not_a_short_answer() {
    // One batch of one campaign row, then the stream fails.
    let body = r#"[{"results":[{"campaign":{"id":"7","name":"Spring"},"metrics":{"impressions":"12","clicks":"3","costMicros":"4560000"},"segments":{"date":"2026-11-01"}}],"fieldMask":"segments.date,campaign.id","requestId":"r1"},
{"error":{"code":500,"message":"Internal error encountered.","status":"INTERNAL","details":[{"@type":"type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure","errors":[{"errorCode":{"internalError":"TRANSIENT_ERROR"},"message":"The request failed due to a transient error."}],"requestId":"r1"}]}}]"#;
    let url = serve(body);
    let settings = GoogleSettings {
        enabled: true,
        client_id: "c".into(),
        client_secret: Secret::new("s"),
        developer_token: Secret::new("d"),
        auth_url: format!("{url}/auth"),
        token_url: format!("{url}/token"),
        api_url: url.clone(),
        restate_days: 14,
    };
    let google = Google::new(&settings, Http::new(Duration::from_secs(10), 1, Pacer::default()));
    let credentials = Credentials::bearer("at".into(), "rt".into(), i64::MAX / 2);
    let account = Account {
        id: "1111111111".into(),
        kind: String::new(),
        name: "Shop".into(),
        currency: "USD".into(),
        timezone: "America/Los_Angeles".into(),
        manager_id: String::new(),
        active: true,
    };
    let range = DateRange { since: date!(2026 - 11 - 01), until: date!(2026 - 11 - 30) };
    let outcome = google.fetch_daily(&credentials, &account, Level::Campaign, range).await;
    // Ok here means the sync stores 1 row for 30 days and checkpoints all 30.
    assert!(outcome.is_err(), "a stream cut by an error was taken as the whole answer: {:?}", outcome.map(|d| d.rows.len()));
}
