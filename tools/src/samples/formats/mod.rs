//! The four example log sources (`ingester/examples/sources/*.toml`) as
//! writers: object key, header lines, one line per event, and the ways a line
//! is made malformed. What a line holds is exactly what the source's
//! `[fields]` mapping reads, in the source's units.

mod csv;
mod jsonl;
mod tsv;
mod w3c;

use std::fmt;
use std::io::{self, Write};

use adhouse_core::event::EventType;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use adhouse_ingester::decode::Compression;

use super::rng::Rng;
use super::traffic::SampleEvent;

pub use self::csv::Csv;
pub use self::jsonl::Jsonl;
pub use self::tsv::Tsv;
pub use self::w3c::W3c;

/// A log format, i.e. one of the example sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExampleSource {
    /// vast-jsonl: JSON lines, gzip.
    Jsonl,
    /// ssp-csv: CSV with a header row, CPM prices, gzip.
    Csv,
    /// exchange-tsv: TSV without header, integer micros, zstd.
    Tsv,
    /// pixel-w3c: CloudFront standard access log, gzip.
    W3c,
}

/// Why a line is malformed; the codes of the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BadReason {
    /// Not a JSON object (a truncated line).
    BadJson,
    /// Fewer columns than the header or the declared columns.
    ColumnCount,
    /// The timestamp does not parse in the source's time format.
    BadTimestamp,
    /// The event type is not one the source maps (`zzz`).
    UnknownEnum,
    /// The publisher, a field without default, is missing or empty.
    MissingField,
}

impl ExampleSource {
    pub const ALL: [ExampleSource; 4] = [Self::Jsonl, Self::Csv, Self::Tsv, Self::W3c];

    /// `name` of the example source that reads this format.
    pub fn source(self) -> &'static str {
        match self {
            Self::Jsonl => "vast-jsonl",
            Self::Csv => "ssp-csv",
            Self::Tsv => "exchange-tsv",
            Self::W3c => "pixel-w3c",
        }
    }

    pub fn compression(self) -> Compression {
        match self {
            Self::Tsv => Compression::Zstd,
            Self::Jsonl | Self::Csv | Self::W3c => Compression::Gzip,
        }
    }

    /// Whether the source maps a cost column; the pixel has only a price, so
    /// its events reach `events` with `cost_micros = 0`.
    pub fn carries_cost(self) -> bool {
        self != Self::W3c
    }

    /// Object key as each source's header comment describes it. `hour` is the
    /// UTC hour of the file's first line, `unique` a per-file random number.
    pub fn key(self, tenant: &str, day: Date, index: u32, hour: u8, unique: u64) -> String {
        let (y, m, d) = (day.year(), u8::from(day.month()), day.day());
        match self {
            Self::Jsonl => format!("logs/{tenant}/vast/{y:04}/{m:02}/{d:02}/{hour:02}-{index}.jsonl.gz"),
            Self::Csv => format!("logs/{tenant}/ssp/{y:04}-{m:02}-{d:02}/{index}.csv.gz"),
            Self::Tsv => format!("logs/{tenant}/exchange/{y:04}{m:02}{d:02}/{index}.tsv.zst"),
            Self::W3c => format!(
                "logs/{tenant}/pixel/{}.{y:04}-{m:02}-{d:02}-{hour:02}.{:08x}.gz",
                w3c::distribution_id(tenant),
                unique as u32
            ),
        }
    }
}

impl fmt::Display for ExampleSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Jsonl => "jsonl",
            Self::Csv => "csv",
            Self::Tsv => "tsv",
            Self::W3c => "w3c",
        })
    }
}

/// Writes the lines of one file in one format.
pub trait LineFormat {
    /// The malformations this format carries, used in turn.
    const FAULTS: [BadReason; 4];

    /// Lines before the first record; returns how many (none by default).
    fn write_header(&mut self, _out: &mut impl Write) -> io::Result<u64> {
        Ok(0)
    }

    /// One record as one `\n`-terminated line, malformed when `fault` is set.
    fn write_record(
        &mut self,
        out: &mut impl Write,
        event: &SampleEvent<'_>,
        fault: Option<BadReason>,
    ) -> io::Result<()>;
}

/// The writer of one file, whichever its format.
pub enum Writer {
    Jsonl(Jsonl),
    Csv(Csv),
    Tsv(Tsv),
    W3c(W3c),
}

impl Writer {
    /// `rng` feeds the fields that carry no event data (CloudFront's request
    /// ids, byte counts, ...).
    pub fn new(format: ExampleSource, tenant: &str, rng: Rng) -> Self {
        match format {
            ExampleSource::Jsonl => Self::Jsonl(Jsonl),
            ExampleSource::Csv => Self::Csv(Csv),
            ExampleSource::Tsv => Self::Tsv(Tsv),
            ExampleSource::W3c => Self::W3c(W3c::new(tenant, rng)),
        }
    }

    pub fn faults(&self) -> [BadReason; 4] {
        match self {
            Self::Jsonl(_) => Jsonl::FAULTS,
            Self::Csv(_) => Csv::FAULTS,
            Self::Tsv(_) => Tsv::FAULTS,
            Self::W3c(_) => W3c::FAULTS,
        }
    }

    pub fn write_header(&mut self, out: &mut impl Write) -> io::Result<u64> {
        match self {
            Self::Jsonl(format) => format.write_header(out),
            Self::Csv(format) => format.write_header(out),
            Self::Tsv(format) => format.write_header(out),
            Self::W3c(format) => format.write_header(out),
        }
    }

    pub fn write_record(
        &mut self,
        out: &mut impl Write,
        event: &SampleEvent<'_>,
        fault: Option<BadReason>,
    ) -> io::Result<()> {
        match self {
            Self::Jsonl(format) => format.write_record(out, event, fault),
            Self::Csv(format) => format.write_record(out, event, fault),
            Self::Tsv(format) => format.write_record(out, event, fault),
            Self::W3c(format) => format.write_record(out, event, fault),
        }
    }
}

/// Short event codes of the JSON and pixel sources' `values` maps.
fn short_code(kind: EventType) -> &'static str {
    match kind {
        EventType::Request => "req",
        EventType::Impression => "imp",
        EventType::Click => "clk",
        EventType::VideoStart => "start",
        EventType::VideoFirstQuartile => "q1",
        EventType::VideoMidpoint => "mid",
        EventType::VideoThirdQuartile => "q3",
        EventType::VideoComplete => "complete",
        EventType::Error => "err",
    }
}

/// The unknown event type of `unknown_enum` lines.
const UNKNOWN_EVENT: &str = "zzz";

/// UTC calendar fields of a millisecond timestamp.
pub struct Civil {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub milli: u16,
}

impl Civil {
    pub fn from_ms(ts_ms: i64) -> Self {
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ts_ms) * 1_000_000)
            .expect("generated timestamps are in range");
        Self {
            year: at.year(),
            month: u8::from(at.month()),
            day: at.day(),
            hour: at.hour(),
            minute: at.minute(),
            second: at.second(),
            milli: at.millisecond(),
        }
    }

    /// `YYYY-MM-DD`, or an impossible date (month 13, day 45) when `broken`.
    pub fn date(&self, broken: bool) -> CivilDate {
        if broken { CivilDate(self.year, 13, 45) } else { CivilDate(self.year, self.month, self.day) }
    }

    /// `HH:MM:SS`.
    pub fn time(&self) -> CivilTime {
        CivilTime(self.hour, self.minute, self.second)
    }
}

pub struct CivilDate(i32, u8, u8);

impl fmt::Display for CivilDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.0, self.1, self.2)
    }
}

pub struct CivilTime(u8, u8, u8);

impl fmt::Display for CivilTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}:{:02}", self.0, self.1, self.2)
    }
}

/// Money in decimal currency units with 6 decimals: exact for integer micros.
pub struct Units(pub i64);

impl fmt::Display for Units {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let micros = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:06}", micros / 1_000_000, micros % 1_000_000)
    }
}

/// A price per thousand with 3 decimals: an impression of `n` micros is a CPM
/// of `n / 1000` currency units, exact to the micro.
pub struct Cpm(pub i64);

impl fmt::Display for Cpm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let micros = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:03}", micros / 1_000, micros % 1_000)
    }
}

/// One value of the dimensions every source carries.
pub enum Value<'e> {
    Text(&'e str),
    /// An id with its prefix, `cmp-4`; empty when unknown.
    Id(&'static str, Option<u32>),
    /// `u-` and 16 hex digits (distinct users, distinct ids); empty when unknown.
    User(Option<u64>),
    /// Left out of the line: a `missing_field` fault.
    Absent,
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Text(text) => f.write_str(text),
            Self::Id(prefix, Some(id)) => write!(f, "{prefix}-{id}"),
            Self::User(Some(id)) => write!(f, "u-{id:016x}"),
            Self::Id(_, None) | Self::User(None) | Self::Absent => Ok(()),
        }
    }
}

/// Keys of [`dimensions`] in the JSON lines and the pixel's query string.
pub const DIMENSION_KEYS: [&str; 11] = ["pub", "plc", "dp", "cmp", "cr", "fmt", "geo", "dev", "os", "dom", "uid"];

/// Publisher, placement, partner, campaign, creative, ad format, country,
/// device, os, domain and user: the order of every source's columns. The
/// publisher is [`Value::Absent`] on a `missing_field` line.
pub fn dimensions<'e>(event: &'e SampleEvent<'_>, fault: Option<BadReason>) -> [Value<'e>; 11] {
    [
        if fault == Some(BadReason::MissingField) { Value::Absent } else { Value::Id("pub", Some(event.publisher.id)) },
        Value::Id("plc", Some(event.placement.id)),
        Value::Text(event.partner),
        Value::Id("cmp", event.campaign),
        Value::Id("cr", event.creative),
        Value::Text(event.ad_format()),
        Value::Text(event.country.code),
        Value::Text(event.device),
        Value::Text(event.os),
        Value::Text(&event.publisher.domain),
        Value::User(event.user.map(|user| user.id)),
    ]
}

/// The event type as the source names it (`short` codes or schema names).
pub fn event_name(event: &SampleEvent<'_>, fault: Option<BadReason>, short: bool) -> &'static str {
    match fault {
        Some(BadReason::UnknownEnum) => UNKNOWN_EVENT,
        _ if short => short_code(event.kind),
        _ => event.kind.as_str(),
    }
}

/// The columns shared by the CSV and TSV sources, in their order, rendered
/// with `time` and `money` in the source's conventions.
pub fn write_delimited<M: fmt::Display>(
    out: &mut impl Write,
    separator: u8,
    event: &SampleEvent<'_>,
    fault: Option<BadReason>,
    time: impl fmt::Display,
    money: impl Fn(i64) -> M,
) -> io::Result<()> {
    let s = separator as char;
    write!(out, "{time}{s}{}", event_name(event, fault, false))?;
    for value in dimensions(event, fault) {
        write!(out, "{s}{value}")?;
    }
    write!(out, "{s}{}{s}{}", money(event.revenue_micros), money(event.cost_micros))?;
    // A short line: the error code column is missing.
    if fault != Some(BadReason::ColumnCount) {
        write!(out, "{s}{}", event.error_code)?;
    }
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_written_exactly_in_each_unit() {
        assert_eq!(Units(4_200).to_string(), "0.004200");
        assert_eq!(Units(12_345_678).to_string(), "12.345678");
        assert_eq!(Cpm(4_213).to_string(), "4.213");
        assert_eq!(Cpm(7).to_string(), "0.007");
    }

    #[test]
    fn keys_follow_the_source_header_comments() {
        let day = time::macros::date!(2026 - 05 - 10);
        assert_eq!(ExampleSource::Jsonl.key("acme", day, 0, 13, 0), "logs/acme/vast/2026/05/10/13-0.jsonl.gz");
        assert_eq!(ExampleSource::Csv.key("acme", day, 1, 0, 0), "logs/acme/ssp/2026-05-10/1.csv.gz");
        assert_eq!(ExampleSource::Tsv.key("acme", day, 2, 0, 0), "logs/acme/exchange/20260510/2.tsv.zst");
        let pixel = ExampleSource::W3c.key("acme", day, 0, 7, 0xdead_beef);
        assert!(pixel.starts_with("logs/acme/pixel/E") && pixel.ends_with(".2026-05-10-07.deadbeef.gz"), "{pixel}");
    }
}
