//! `manifest.json`: what the generated files hold, counted while writing
//! them, so tests can compare what ClickHouse ends up with exactly.
//!
//! Only good lines count. Money is summed in integer micros as each source
//! maps it (the pixel source has no cost column, so its cost is 0). Lines are
//! physical, 1-based and include header lines, as a text editor numbers them.

use std::collections::BTreeMap;
use std::path::Path;

use adhouse_core::event::EventType;
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use time::Date;

use adhouse_ingester::decode::Compression;

use super::formats::{BadReason, ExampleSource};
use super::traffic::SampleEvent;

/// Key of the manifest, relative to the output directory or upload prefix;
/// no source's `key_pattern` matches it.
pub const MANIFEST_KEY: &str = "manifest.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The arguments the files were generated with.
    pub generator: GeneratorParams,
    /// Bucket the files were uploaded to, if they were.
    pub bucket: Option<String>,
    /// Key prefix of the upload, empty for none; a file's object key is
    /// `prefix/key`, its local path `out/key`.
    pub prefix: String,
    pub files: Vec<FileEntry>,
    /// Per tenant and event type, over every file.
    pub totals: Vec<Totals>,
    /// Per tenant, UTC day of the event's timestamp and event type.
    pub daily: Vec<DailyTotals>,
    /// Distinct non-empty user ids per tenant, over every file.
    pub users: Vec<TenantUsers>,
    /// Impressions and revenue per tenant, demand partner and UTC hour: what
    /// adhouse counts from the logs for each partner, from which the fake
    /// partner reporting API derives the partners' own numbers.
    #[serde(default)]
    pub partner_hours: Vec<PartnerHour>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratorParams {
    pub seed: u64,
    /// First UTC day, `YYYY-MM-DD`.
    pub start: String,
    pub days: u32,
    pub tenants: Vec<String>,
    pub formats: Vec<ExampleSource>,
    /// Files per format, tenant and day.
    pub files: u32,
    /// Data lines (good and bad) per file, header lines not included.
    pub rows_per_file: u64,
    /// The instant the traffic was cut at (`--until`), RFC 3339; files hold
    /// fewer lines from there on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Every this-many-th data line is malformed; 0 for none.
    pub bad_every: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Key relative to the output directory or upload prefix.
    pub key: String,
    pub tenant: String,
    /// `name` of the example source that reads the file.
    pub source: String,
    pub format: ExampleSource,
    pub compression: Compression,
    /// Compressed size.
    pub bytes: u64,
    pub header_lines: u64,
    /// Header lines plus data lines.
    pub physical_lines: u64,
    pub good_rows: u64,
    pub bad_lines: Vec<BadLine>,
    /// Good rows per event type (types without rows left out).
    pub events: Vec<TypeTotals>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadLine {
    /// 1-based physical line number, header lines included.
    pub line: u64,
    pub reason: BadReason,
}

/// Event count and money of a set of good rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sums {
    pub events: u64,
    pub revenue_micros: i64,
    pub cost_micros: i64,
}

impl Sums {
    fn add(&mut self, other: &Sums) {
        self.events += other.events;
        self.revenue_micros += other.revenue_micros;
        self.cost_micros += other.cost_micros;
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeTotals {
    /// `events.event_type` name, e.g. `impression`.
    pub event_type: String,
    #[serde(flatten)]
    pub sums: Sums,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub tenant: String,
    pub event_type: String,
    #[serde(flatten)]
    pub sums: Sums,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyTotals {
    pub tenant: String,
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub event_type: String,
    #[serde(flatten)]
    pub sums: Sums,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerHour {
    pub tenant: String,
    pub partner: String,
    /// Start of the UTC hour, Unix seconds.
    pub hour: i64,
    pub impressions: u64,
    pub revenue_micros: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantUsers {
    pub tenant: String,
    pub distinct_user_ids: u64,
}

impl Manifest {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_slice(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// Key of `file` in the bucket: the prefix joined with its key.
    pub fn object_key(&self, file: &FileEntry) -> String {
        if self.prefix.is_empty() { file.key.clone() } else { format!("{}/{}", self.prefix, file.key) }
    }

    /// The manifest of `files`, each with the tally of its lines.
    pub(super) fn assemble(
        generator: GeneratorParams,
        bucket: Option<String>,
        prefix: String,
        files: Vec<(FileEntry, FileTally)>,
    ) -> Self {
        let mut totals: BTreeMap<(&str, usize), Sums> = BTreeMap::new();
        let mut daily: BTreeMap<(&str, Date, usize), Sums> = BTreeMap::new();
        let mut users: BTreeMap<&str, UserSet> = BTreeMap::new();
        let mut partner_hours: BTreeMap<(&str, &str, i64), (u64, i64)> = BTreeMap::new();
        for (entry, tally) in &files {
            for (&(partner, hour), &(impressions, revenue)) in &tally.partner_hours {
                let sums = partner_hours.entry((&entry.tenant, partner, hour)).or_default();
                sums.0 += impressions;
                sums.1 += revenue;
            }
            for (day, by_type) in &tally.by_day {
                for (slot, sums) in by_type.iter().enumerate().filter(|(_, sums)| sums.events > 0) {
                    totals.entry((&entry.tenant, slot)).or_default().add(sums);
                    daily.entry((&entry.tenant, *day, slot)).or_default().add(sums);
                }
            }
            match users.get_mut(entry.tenant.as_str()) {
                Some(seen) => seen.union(&tally.users),
                None => {
                    users.insert(&entry.tenant, tally.users.clone());
                }
            }
        }
        let totals = totals
            .into_iter()
            .map(|((tenant, slot), sums)| Totals { tenant: tenant.to_owned(), event_type: type_name(slot), sums })
            .collect();
        let daily = daily
            .into_iter()
            .map(|((tenant, day, slot), sums)| DailyTotals {
                tenant: tenant.to_owned(),
                day: day.to_string(),
                event_type: type_name(slot),
                sums,
            })
            .collect();
        let users = users
            .into_iter()
            .map(|(tenant, seen)| TenantUsers { tenant: tenant.to_owned(), distinct_user_ids: seen.len() })
            .collect();
        let partner_hours = partner_hours
            .into_iter()
            .map(|((tenant, partner, hour), (impressions, revenue_micros))| PartnerHour {
                tenant: tenant.to_owned(),
                partner: partner.to_owned(),
                hour,
                impressions,
                revenue_micros,
            })
            .collect();
        let files = files.into_iter().map(|(entry, _)| entry).collect();
        Self { generator, bucket, prefix, files, totals, daily, users, partner_hours }
    }
}

/// Position of an event type in per-type arrays, in the schema's order.
fn slot(kind: EventType) -> usize {
    kind as usize - 1
}

fn type_name(slot: usize) -> String {
    EventType::ALL[slot].as_str().to_owned()
}

/// What one file holds, counted line by line while it is written.
#[derive(Debug)]
pub(super) struct FileTally {
    pub header_lines: u64,
    pub data_lines: u64,
    pub bad_lines: Vec<BadLine>,
    by_day: BTreeMap<Date, [Sums; 9]>,
    /// Impressions and revenue per demand partner and UTC hour start.
    partner_hours: BTreeMap<(&'static str, i64), (u64, i64)>,
    users: UserSet,
}

impl FileTally {
    pub fn new(header_lines: u64, user_pool: u64) -> Self {
        Self {
            header_lines,
            data_lines: 0,
            bad_lines: Vec::new(),
            by_day: BTreeMap::new(),
            partner_hours: BTreeMap::new(),
            users: UserSet::new(user_pool),
        }
    }

    /// A good line holding `event`; `with_cost` is false when the source maps
    /// no cost column.
    pub fn good(&mut self, event: &SampleEvent<'_>, with_cost: bool) {
        self.data_lines += 1;
        let day = time::OffsetDateTime::from_unix_timestamp(event.ts_ms.div_euclid(1000))
            .expect("generated timestamps are in range")
            .date();
        let sums = &mut self.by_day.entry(day).or_default()[slot(event.kind)];
        sums.events += 1;
        sums.revenue_micros += event.revenue_micros;
        if with_cost {
            sums.cost_micros += event.cost_micros;
        }
        if event.kind == EventType::Impression {
            let hour = event.ts_ms.div_euclid(3_600_000) * 3_600;
            let sums = self.partner_hours.entry((event.partner, hour)).or_default();
            sums.0 += 1;
            sums.1 += event.revenue_micros;
        }
        if let Some(user) = event.user {
            self.users.insert(user.index);
        }
    }

    pub fn bad(&mut self, reason: BadReason) {
        self.data_lines += 1;
        self.bad_lines.push(BadLine { line: self.header_lines + self.data_lines, reason });
    }

    /// The manifest entry of the file, without its key, size and identity.
    pub fn entry(&self, key: String, tenant: String, format: ExampleSource, bytes: u64) -> FileEntry {
        let mut by_type = [Sums::default(); 9];
        for sums in self.by_day.values() {
            for (total, sums) in by_type.iter_mut().zip(sums) {
                total.add(sums);
            }
        }
        let events = by_type
            .iter()
            .enumerate()
            .filter(|(_, sums)| sums.events > 0)
            .map(|(slot, sums)| TypeTotals { event_type: type_name(slot), sums: *sums })
            .collect();
        FileEntry {
            key,
            tenant,
            source: format.source().to_owned(),
            format,
            compression: format.compression(),
            bytes,
            header_lines: self.header_lines,
            physical_lines: self.header_lines + self.data_lines,
            good_rows: self.data_lines - self.bad_lines.len() as u64,
            bad_lines: self.bad_lines.clone(),
            events,
        }
    }
}

/// Distinct user indices of a tenant, as a bitmap over its user pool.
#[derive(Debug, Clone)]
struct UserSet(Vec<u64>);

impl UserSet {
    fn new(pool: u64) -> Self {
        Self(vec![0; pool.div_ceil(64) as usize])
    }

    fn insert(&mut self, index: u32) {
        self.0[index as usize / 64] |= 1 << (index % 64);
    }

    fn union(&mut self, other: &UserSet) {
        for (word, other) in self.0.iter_mut().zip(&other.0) {
            *word |= other;
        }
    }

    fn len(&self) -> u64 {
        self.0.iter().map(|word| u64::from(word.count_ones())).sum()
    }
}
