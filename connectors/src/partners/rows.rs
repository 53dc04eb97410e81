//! A partner's answer turned into canonical rows at the edge: the body is
//! parsed once (JSON at the configured rows path, or CSV) into [`RawRow`]s
//! of named text fields, and each is mapped by the feed's field settings
//! into a typed [`PartnerRow`] or set aside as [`Quarantined`] with its
//! reason. Numbers are read from their text, so money stays exact.

use std::collections::{BTreeMap, BTreeSet};

use adhouse_core::money::money_micros;
use adhouse_core::settings::{FeedSettings, MoneyUnit, PeriodFormat, ResponseFormat, ValueRule};
use serde_json::value::RawValue;
use time::OffsetDateTime;

/// One row of a partner's answer: field name (dotted for nested JSON
/// objects, the header for CSV) → text; `None` for a JSON null.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRow {
    pub fields: BTreeMap<String, Option<String>>,
    /// The row as received, for the quarantine.
    pub excerpt: String,
}

/// One page of an answer: its rows and, for JSON, the body's other values
/// that pagination reads (next link, cursor).
#[derive(Debug)]
pub struct Page {
    pub rows: Vec<RawRow>,
    /// Rows that are not objects, with their text (quarantined as `not_an_object`).
    pub not_objects: Vec<String>,
    /// Scalar values of the body outside the rows, by dotted path.
    pub scalars: BTreeMap<String, Option<String>>,
}

/// A canonical partner-metrics row, as `partner_metrics` stores it (the
/// tenant, feed, grain and fetch time are the poll's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerRow {
    pub partner: String,
    pub period_start: OffsetDateTime,
    pub publisher_id: String,
    pub placement_id: String,
    pub country: String,
    pub currency: String,
    pub impressions: u64,
    pub revenue_micros: i64,
    pub extra: Vec<(String, i64)>,
}

/// The storage key within a feed (partner, period, publisher, placement,
/// country): rows with equal keys replace each other.
pub type RowKey<'a> = (&'a str, OffsetDateTime, &'a str, &'a str, &'a str);

impl PartnerRow {
    pub fn key(&self) -> RowKey<'_> {
        (&self.partner, self.period_start, &self.publisher_id, &self.placement_id, &self.country)
    }
}

/// A row that cannot be stored, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// Stable code (`missing_field`, `bad_number`, `bad_period`,
    /// `unaligned_period`, `bad_currency`, `not_an_object`, `duplicate_key`).
    pub reason: &'static str,
    pub detail: String,
    pub excerpt: String,
    /// The row's key when the fault is in a measure: the row is there,
    /// unreadable, so its stored numbers stay. `None` when the key itself
    /// cannot be read.
    pub key: Option<Box<KeyOf>>,
}

/// The parts of a [`RowKey`], owned.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyOf {
    pub partner: String,
    pub period_start: OffsetDateTime,
    pub publisher_id: String,
    pub placement_id: String,
    pub country: String,
}

impl KeyOf {
    pub fn key(&self) -> RowKey<'_> {
        (&self.partner, self.period_start, &self.publisher_id, &self.placement_id, &self.country)
    }
}

impl From<&PartnerRow> for KeyOf {
    fn from(row: &PartnerRow) -> Self {
        let (partner, period_start, publisher_id, placement_id, country) = row.key();
        Self { partner: partner.into(), period_start, publisher_id: publisher_id.into(), placement_id: placement_id.into(), country: country.into() }
    }
}

const EXCERPT_BYTES: usize = 1_024;

fn excerpt(text: &str) -> String {
    let mut end = text.len().min(EXCERPT_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Parses one body; `Err` is a body that is not what the format says
/// (malformed JSON, no array at the rows path, broken CSV).
pub fn parse_page(format: &ResponseFormat, body: &[u8]) -> Result<Page, String> {
    match format {
        ResponseFormat::Json { rows_path } => parse_json(rows_path, body),
        ResponseFormat::Csv => parse_csv(body),
    }
}

fn parse_json(rows_path: &str, body: &[u8]) -> Result<Page, String> {
    let root: &RawValue = serde_json::from_slice(body).map_err(|err| format!("the body is not JSON: {err}"))?;
    let mut scalars = BTreeMap::new();
    let mut rows_value = None;
    flatten_body(root, "", rows_path, &mut scalars, &mut rows_value)?;
    let rows_value = rows_value.ok_or_else(|| format!("the body has no value at the rows path {rows_path:?}"))?;
    let items: Vec<&RawValue> = serde_json::from_str(rows_value.get())
        .map_err(|_| format!("the value at the rows path {rows_path:?} is not an array"))?;
    let (mut rows, mut not_objects) = (Vec::new(), Vec::new());
    for item in items {
        let mut fields = BTreeMap::new();
        if flatten_object(item, "", &mut fields) {
            rows.push(RawRow { fields, excerpt: excerpt(item.get()) });
        } else {
            not_objects.push(excerpt(item.get()));
        }
    }
    Ok(Page { rows, not_objects, scalars })
}

/// Walks the body, keeping scalars by path and the value at `rows_path`.
fn flatten_body<'a>(
    value: &'a RawValue,
    path: &str,
    rows_path: &str,
    scalars: &mut BTreeMap<String, Option<String>>,
    rows: &mut Option<&'a RawValue>,
) -> Result<(), String> {
    if path == rows_path {
        *rows = Some(value);
        return Ok(());
    }
    if let Ok(object) = serde_json::from_str::<BTreeMap<String, &RawValue>>(value.get()) {
        for (key, child) in object {
            let child_path = if path.is_empty() { key } else { format!("{path}.{key}") };
            flatten_body(child, &child_path, rows_path, scalars, rows)?;
        }
    } else if let Some(text) = scalar(value) {
        scalars.insert(path.to_owned(), text);
    }
    Ok(())
}

/// An object's scalar fields by dotted path; false when `value` is no object.
fn flatten_object(value: &RawValue, prefix: &str, fields: &mut BTreeMap<String, Option<String>>) -> bool {
    let Ok(object) = serde_json::from_str::<BTreeMap<String, &RawValue>>(value.get()) else { return false };
    for (key, child) in object {
        let path = if prefix.is_empty() { key } else { format!("{prefix}.{key}") };
        if !flatten_object(child, &path, fields)
            && let Some(text) = scalar(child)
        {
            fields.insert(path, text);
        }
    }
    true
}

/// The text of a scalar: a string unescaped, a number exactly as written,
/// `None` for null; arrays are not scalars.
fn scalar(value: &RawValue) -> Option<Option<String>> {
    let text = value.get().trim();
    match text.as_bytes().first()? {
        b'"' => serde_json::from_str::<String>(text).ok().map(Some),
        b'n' if text == "null" => Some(None),
        b'[' | b'{' => None,
        _ => Some(Some(text.to_owned())),
    }
}

fn parse_csv(body: &[u8]) -> Result<Page, String> {
    let body = body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(body);
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(body);
    let headers = reader.headers().map_err(|err| format!("the CSV header cannot be read: {err}"))?.clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|err| format!("the CSV body is malformed: {err}"))?;
        let fields = headers.iter().zip(record.iter()).map(|(name, value)| (name.to_owned(), Some(value.to_owned()))).collect();
        rows.push(RawRow { fields, excerpt: excerpt(&record.iter().collect::<Vec<_>>().join(",")) });
    }
    Ok(Page { rows, not_objects: Vec::new(), scalars: BTreeMap::new() })
}

/// Fields the feed maps that no row of a non-empty page has: the partner
/// changed its report (schema drift), which fails the poll rather than
/// quarantining every row.
pub fn missing_fields(feed: &FeedSettings, rows: &[RawRow]) -> Vec<String> {
    if rows.is_empty() {
        return Vec::new();
    }
    let present: BTreeSet<&str> = rows.iter().flat_map(|row| row.fields.keys().map(String::as_str)).collect();
    mapped_fields(feed).into_iter().filter(|name| !present.contains(name.as_str())).collect()
}

fn mapped_fields(feed: &FeedSettings) -> Vec<String> {
    let f = &feed.fields;
    let mut names = vec![f.period.clone(), f.impressions.clone(), f.revenue.clone()];
    for rule in [&feed.partner, &f.currency] {
        if let ValueRule::Field(name) = rule {
            names.push(name.clone());
        }
    }
    names.extend([&f.publisher, &f.placement, &f.country].into_iter().flatten().cloned());
    names.extend(f.extra.values().cloned());
    names
}

/// Why a row cannot be mapped: its reason code and detail.
type Fault = (&'static str, String);

fn required<'a>(row: &'a RawRow, name: &str) -> Result<&'a str, Fault> {
    match row.fields.get(name) {
        Some(Some(text)) if !text.trim().is_empty() => Ok(text.trim()),
        _ => Err(("missing_field", format!("field {name:?} is missing or empty"))),
    }
}

fn rule(row: &RawRow, rule: &ValueRule) -> Result<String, Fault> {
    match rule {
        ValueRule::Constant(value) => Ok(value.clone()),
        ValueRule::Field(name) => required(row, name).map(str::to_owned),
    }
}

/// Maps one raw row by the feed's fields: its key first, so that a row
/// quarantined for a measure is known by its key.
pub fn map_row(feed: &FeedSettings, row: &RawRow) -> Result<PartnerRow, Quarantined> {
    let quarantine = |key: Option<Box<KeyOf>>| move |(reason, detail): Fault| Quarantined { reason, detail, excerpt: row.excerpt.clone(), key };
    let key = row_key(feed, row).map_err(quarantine(None))?;
    let Measures { impressions, revenue_micros, currency, extra } = measures(feed, row).map_err(|fault| quarantine(Some(Box::new(key.clone())))(fault))?;
    let KeyOf { partner, period_start, publisher_id, placement_id, country } = key;
    Ok(PartnerRow { partner, period_start, publisher_id, placement_id, country, currency, impressions, revenue_micros, extra })
}

fn row_key(feed: &FeedSettings, row: &RawRow) -> Result<KeyOf, Fault> {
    let optional = |name: &Option<String>| name.as_ref().and_then(|name| row.fields.get(name).cloned().flatten()).unwrap_or_default();
    let f = &feed.fields;
    let period_text = required(row, &f.period)?;
    let period_start = parse_period(f.period_format, period_text)
        .ok_or_else(|| ("bad_period", format!("field {:?} = {period_text:?} is not {:?}", f.period, f.period_format)))?;
    if period_start.unix_timestamp().rem_euclid(feed.grain.secs()) != 0 {
        return Err(("unaligned_period", format!("{period_text:?} does not start a whole {} (UTC)", feed.grain.as_str())));
    }
    Ok(KeyOf {
        partner: rule(row, &feed.partner)?,
        period_start,
        publisher_id: optional(&f.publisher),
        placement_id: optional(&f.placement),
        country: optional(&f.country),
    })
}

/// The parts of a [`PartnerRow`] that are not its key.
struct Measures {
    impressions: u64,
    revenue_micros: i64,
    currency: String,
    extra: Vec<(String, i64)>,
}

fn measures(feed: &FeedSettings, row: &RawRow) -> Result<Measures, Fault> {
    let f = &feed.fields;
    let impressions_text = required(row, &f.impressions)?;
    let impressions = impressions_text
        .parse::<u64>()
        .map_err(|_| ("bad_number", format!("field {:?} = {impressions_text:?} is not a whole count", f.impressions)))?;
    let revenue_text = required(row, &f.revenue)?;
    let revenue_micros = money_micros(revenue_text, f.revenue_unit)
        .ok_or_else(|| ("bad_number", format!("field {:?} = {revenue_text:?} is not a decimal amount", f.revenue)))?;
    let currency = rule(row, &f.currency)?;
    if !(currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase())) {
        return Err(("bad_currency", format!("currency {currency:?} is not an ISO 4217 code")));
    }
    let mut extra = Vec::with_capacity(f.extra.len());
    for (name, field) in &f.extra {
        let value = match row.fields.get(field) {
            Some(Some(text)) if !text.trim().is_empty() => money_micros(text.trim(), MoneyUnit::Units)
                .ok_or_else(|| ("bad_number", format!("field {field:?} = {text:?} is not a decimal")))?,
            _ => continue,
        };
        extra.push((name.clone(), value));
    }
    Ok(Measures { impressions, revenue_micros, currency, extra })
}

fn parse_period(format: PeriodFormat, text: &str) -> Option<OffsetDateTime> {
    match format {
        PeriodFormat::Rfc3339 => OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok(),
        PeriodFormat::Date => {
            let date = time::Date::parse(text, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
            Some(date.midnight().assume_utc())
        }
        PeriodFormat::EpochS => OffsetDateTime::from_unix_timestamp(text.parse().ok()?).ok(),
        PeriodFormat::EpochMs => {
            let ms: i64 = text.parse().ok()?;
            OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).ok().filter(|_| ms % 1000 == 0)
        }
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    fn feed(format: &str) -> FeedSettings {
        let text = format!(
            r#"
name = "f"
tenant = "acme"
partner = {{ field = "bidder" }}
url = "http://x/"
interval_secs = 60
reread_hours = 3
grain = "hour"
format = {format}
[fields]
period = "hour"
period_format = "rfc3339"
impressions = "stats.imps"
revenue = "stats.revenue"
revenue_unit = "units"
currency = {{ constant = "USD" }}
country = "geo"
extra = {{ bids = "stats.bids" }}
"#
        );
        config::Config::builder()
            .add_source(config::File::from_str(&text, config::FileFormat::Toml))
            .build()
            .and_then(config::Config::try_deserialize)
            .unwrap()
    }

    #[test]
    fn json_rows_map_exactly_and_bad_rows_say_why() {
        let feed = feed(r#"{ type = "json", rows_path = "data.rows" }"#);
        let body = br#"{"data":{"rows":[
            {"hour":"2026-11-30T10:00:00Z","bidder":"rubicon","geo":"US","stats":{"imps":1200,"revenue":3.123456789,"bids":"2.5"}},
            {"hour":"2026-11-30T10:30:00Z","bidder":"rubicon","stats":{"imps":1,"revenue":1,"bids":1}},
            {"hour":"2026-11-30T11:00:00Z","bidder":"rubicon","stats":{"imps":"x","revenue":1}},
            7
        ]},"paging":{"next":null,"cursor":"abc"}}"#;
        let page = parse_page(&feed.format, body).unwrap();
        assert_eq!(page.not_objects, vec!["7".to_owned()]);
        assert_eq!(page.scalars.get("paging.cursor"), Some(&Some("abc".to_owned())));
        assert_eq!(page.scalars.get("paging.next"), Some(&None));
        let mapped: Vec<_> = page.rows.iter().map(|row| map_row(&feed, row)).collect();
        let first = mapped[0].as_ref().unwrap();
        assert_eq!((first.impressions, first.revenue_micros, first.country.as_str()), (1200, 3_123_457, "US"));
        assert_eq!(first.extra, vec![("bids".to_owned(), 2_500_000)]);
        assert_eq!(mapped[1].as_ref().unwrap_err().reason, "unaligned_period");
        assert_eq!(mapped[2].as_ref().unwrap_err().reason, "bad_number");
        assert!(missing_fields(&feed, &page.rows).is_empty());
    }

    #[test]
    fn a_mapped_field_missing_from_every_row_is_schema_drift() {
        let feed = feed("{ type = \"csv\" }");
        let body = b"hour,bidder,geo,stats.impressions,stats.revenue,stats.bids\n2026-11-30T10:00:00Z,openx,DE,5,0.5,1\n";
        let page = parse_page(&feed.format, body).unwrap();
        assert_eq!(missing_fields(&feed, &page.rows), vec!["stats.imps".to_owned()]);
    }

    #[test]
    fn a_body_that_is_not_json_is_malformed() {
        let feed = feed(r#"{ type = "json", rows_path = "rows" }"#);
        assert!(parse_page(&feed.format, b"{\"rows\": [").unwrap_err().contains("not JSON"));
        assert!(parse_page(&feed.format, b"{\"rows\": 3}").unwrap_err().contains("not an array"));
    }
}
