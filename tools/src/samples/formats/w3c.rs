//! pixel-w3c: CloudFront standard access logs of a tracking pixel. Two
//! header lines (`#Version`, `#Fields` with the full standard field list),
//! then one tab-separated request per line, `-` for empty, the user agent
//! URL-encoded as CloudFront writes it, and the event's attributes in the
//! query string of `GET /p.gif?ev=imp&pub=...`, values percent-encoded by
//! the pixel and the whole query string encoded once more by CloudFront
//! (the example source reads it with `decode = 2`).
//! Only `date`, `time` and `cs-uri-query` feed `events`; the other fields are
//! plausible noise.

use std::io::{self, Write};

use adhouse_core::event::EventType;
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};

use super::{BadReason, Civil, DIMENSION_KEYS, LineFormat, Units, dimensions, event_name};
use crate::samples::rng::{Rng, fnv1a, mix};
use crate::samples::traffic::SampleEvent;

/// The standard log fields, in CloudFront's order.
const FIELDS: [&str; 33] = [
    "date",
    "time",
    "x-edge-location",
    "sc-bytes",
    "c-ip",
    "cs-method",
    "cs(Host)",
    "cs-uri-stem",
    "sc-status",
    "cs(Referer)",
    "cs(User-Agent)",
    "cs-uri-query",
    "cs(Cookie)",
    "x-edge-result-type",
    "x-edge-request-id",
    "x-host-header",
    "cs-protocol",
    "cs-bytes",
    "time-taken",
    "x-forwarded-for",
    "ssl-protocol",
    "ssl-cipher",
    "x-edge-response-result-type",
    "cs-protocol-version",
    "fle-status",
    "fle-encrypted-fields",
    "c-port",
    "time-to-first-byte",
    "x-edge-detailed-result-type",
    "sc-content-type",
    "sc-content-len",
    "sc-range-start",
    "sc-range-end",
];

/// Fields dropped from the end of a `column_count` line.
const TRUNCATED_FIELDS: usize = 4;

/// Query values keep unreserved characters (RFC 3986) and encode the rest.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// What CloudFront percent-encodes when it logs a query string: controls,
/// space, non-ASCII and `"#%<>\^`{|}`. `&` and `=` stay, so the parameters
/// still split; every `%` of the pixel's own encoding becomes `%25`.
const CLOUDFRONT_LOGGED: &AsciiSet =
    &CONTROLS.add(b' ').add(b'"').add(b'#').add(b'%').add(b'<').add(b'>').add(b'\\').add(b'^').add(b'`').add(b'{').add(b'|').add(b'}');

/// CloudFront distribution id of a tenant's pixel: `E` and 13 characters.
pub fn distribution_id(tenant: &str) -> String {
    const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = Rng::new(fnv1a(tenant));
    std::iter::once('E').chain((0..13).map(|_| ALPHABET[rng.below(36) as usize] as char)).collect()
}

pub struct W3c {
    rng: Rng,
    /// `d` + 13 characters + `.cloudfront.net`, the distribution's domain.
    host: String,
}

impl W3c {
    pub fn new(tenant: &str, rng: Rng) -> Self {
        let host = format!("d{}.cloudfront.net", distribution_id(tenant)[1..].to_ascii_lowercase());
        Self { rng, host }
    }

    /// A request id like CloudFront's: 52 base64url characters and `==`.
    fn request_id(&mut self) -> String {
        const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut id: String = (0..54).map(|_| ALPHABET[self.rng.below(64) as usize] as char).collect();
        id.push_str("==");
        id
    }

    fn query(&mut self, event: &SampleEvent<'_>, fault: Option<BadReason>) -> String {
        let mut query = format!("ev={}", event_name(event, fault, true));
        let mut param = |name: &str, value: &str| {
            if !value.is_empty() {
                query.push('&');
                query.push_str(name);
                query.push('=');
                query.extend(utf8_percent_encode(value, QUERY_VALUE));
            }
        };
        for (key, value) in DIMENSION_KEYS.iter().zip(dimensions(event, fault)) {
            param(key, &value.to_string());
        }
        if event.kind == EventType::Impression {
            param("p", &Units(event.revenue_micros).to_string());
        }
        if event.error_code != 0 {
            param("err", &event.error_code.to_string());
        }
        if let Some(page) = page(event) {
            param("ref", &page);
        }
        let cache_buster = self.rng.below(100_000_000).to_string();
        param("cb", &cache_buster);
        utf8_percent_encode(&query, CLOUDFRONT_LOGGED).to_string()
    }
}

impl LineFormat for W3c {
    const FAULTS: [BadReason; 4] =
        [BadReason::ColumnCount, BadReason::BadTimestamp, BadReason::UnknownEnum, BadReason::MissingField];

    fn write_header(&mut self, out: &mut impl Write) -> io::Result<u64> {
        writeln!(out, "#Version: 1.0")?;
        writeln!(out, "#Fields: {}", FIELDS.join(" "))?;
        Ok(2)
    }

    fn write_record(
        &mut self,
        out: &mut impl Write,
        event: &SampleEvent<'_>,
        fault: Option<BadReason>,
    ) -> io::Result<()> {
        let at = Civil::from_ms(event.ts_ms);
        let query = self.query(event, fault);
        let client = match event.user {
            Some(user) => mix(user.id),
            None => self.rng.next_u64(),
        };
        let hit = self.rng.chance(900);
        let result = if hit { "Hit" } else { "Miss" };
        let millis_taken = self.rng.between(1, 12);
        let values: [String; 33] = [
            at.date(fault == Some(BadReason::BadTimestamp)).to_string(),
            at.time().to_string(),
            edge_location(event.country.code).to_owned(),
            self.rng.between(420, 520).to_string(),
            format!(
                "{}.{}.{}.{}",
                1 + client % 223,
                (client >> 8) % 256,
                (client >> 16) % 256,
                1 + (client >> 24) % 254
            ),
            "GET".to_owned(),
            self.host.clone(),
            "/p.gif".to_owned(),
            "200".to_owned(),
            page(event).unwrap_or_else(|| "-".to_owned()),
            user_agent(event.os).to_owned(),
            query,
            "-".to_owned(),
            result.to_owned(),
            self.request_id(),
            self.host.clone(),
            "https".to_owned(),
            self.rng.between(300, 900).to_string(),
            format!("0.{millis_taken:03}"),
            "-".to_owned(),
            "TLSv1.3".to_owned(),
            "TLS_AES_128_GCM_SHA256".to_owned(),
            result.to_owned(),
            "HTTP/2.0".to_owned(),
            "-".to_owned(),
            "-".to_owned(),
            self.rng.between(1024, 65535).to_string(),
            format!("0.{:03}", millis_taken.min(self.rng.between(1, 12))),
            result.to_owned(),
            "image/gif".to_owned(),
            "43".to_owned(),
            "-".to_owned(),
            "-".to_owned(),
        ];
        let kept = if fault == Some(BadReason::ColumnCount) { FIELDS.len() - TRUNCATED_FIELDS } else { FIELDS.len() };
        out.write_all(values[..kept].join("\t").as_bytes())?;
        out.write_all(b"\n")
    }
}

/// The page of a site that shows the ad, the same for every event of an
/// opportunity; apps have none.
fn page(event: &SampleEvent<'_>) -> Option<String> {
    let viewer = event.user.map_or(0, |user| user.id);
    (!event.publisher.is_app).then(|| {
        format!("https://{}/article/{}", event.publisher.domain, mix(viewer ^ u64::from(event.placement.id)) % 9973)
    })
}

/// CloudFront edge location near the viewer.
fn edge_location(country: &str) -> &'static str {
    match country {
        "US" | "CA" | "MX" => "IAD89-C1",
        "GB" => "LHR61-C2",
        "DE" | "PL" | "SE" | "NL" => "FRA56-P5",
        "FR" | "ES" | "IT" => "CDG50-C1",
        "JP" | "KR" => "NRT57-P2",
        "IN" | "ID" => "BOM78-P1",
        "BR" => "GRU3-C1",
        "AU" => "SYD1-C1",
        _ => "AMS1-C1",
    }
}

/// A user agent of the viewer's OS, URL-encoded as CloudFront logs it.
fn user_agent(os: &str) -> &'static str {
    match os {
        "ios" => {
            "Mozilla/5.0%20(iPhone;%20CPU%20iPhone%20OS%2017_4%20like%20Mac%20OS%20X)%20AppleWebKit/605.1.15%20(KHTML,%20like%20Gecko)%20Version/17.4%20Mobile/15E148%20Safari/604.1"
        }
        "android" => {
            "Mozilla/5.0%20(Linux;%20Android%2014;%20Pixel%208)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/124.0.0.0%20Mobile%20Safari/537.36"
        }
        "windows" => {
            "Mozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/124.0.0.0%20Safari/537.36"
        }
        "macos" => {
            "Mozilla/5.0%20(Macintosh;%20Intel%20Mac%20OS%20X%2010_15_7)%20AppleWebKit/605.1.15%20(KHTML,%20like%20Gecko)%20Version/17.4%20Safari/605.1.15"
        }
        "linux" => "Mozilla/5.0%20(X11;%20Linux%20x86_64;%20rv:125.0)%20Gecko/20100101%20Firefox/125.0",
        "roku" => "Roku/DVP-13.0%20(13.0.0.4193-C7)",
        "tvos" => "AppleCoreMedia/1.0.0.21L569%20(Apple%20TV;%20U;%20CPU%20OS%2017_4%20like%20Mac%20OS%20X;%20en_us)",
        "tizen" => {
            "Mozilla/5.0%20(SMART-TV;%20LINUX;%20Tizen%207.0)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Version/7.0%20TV%20Safari/537.36"
        }
        "webos" => {
            "Mozilla/5.0%20(Web0S;%20Linux/SmartTV)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/94.0.4606.128%20Safari/537.36%20WebAppManager"
        }
        _ => "Dalvik/2.1.0%20(Linux;%20U;%20Android%2012;%20BRAVIA%204K%20GB%20Build/STT1.211025.001.Z4)",
    }
}
