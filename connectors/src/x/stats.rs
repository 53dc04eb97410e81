//! Daily stats of an X ads account (developer.x.com, Ads API → Analytics).
//!
//! * The entities to ask for come from `GET /12/stats/accounts/:id/
//!   active_entities` (with the placements each had), the account itself at
//!   account level.
//! * Synchronous `GET /12/stats/accounts/:id` takes ≤ 20 `entity_ids` and ≤ 7
//!   days; async jobs (`POST /12/stats/jobs/accounts/:id`, polled with
//!   `GET …?job_ids=`, then a gzip JSON file at `url`) take ≤ 90 days. Both
//!   answer the same shape: per entity, metrics as arrays, one value per
//!   day, `null` for a day without activity.
//! * Windows of ≤ 7 days (the daily sync's restated days) go synchronous:
//!   one call per batch and placement, no polling latency. Longer windows
//!   (backfills) go to jobs: one job replaces up to 13 synchronous calls,
//!   and jobs are X's path for history (their own limit of 100 running per
//!   account, `X-Concurrent-Job-Limit-Remaining`, paced in `dialect`).
//! * `placement` is one of ALL_ON_TWITTER and PUBLISHER_NETWORK a request;
//!   a day's row is the sum of both.
//! * With `granularity=DAY`, `start_time` and `end_time` are whole hours at
//!   local midnight of the account's current UTC offset (Tokyo:
//!   `…T15:00:00Z`), so bucket `i` is the account's day `since + i`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;

use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, UtcOffset};

use super::{Call, X};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Account, Credentials, DailyRow, DateRange, Level, PlatformId};
use crate::poll::Polls;

const MAX_ENTITY_IDS: usize = 20;
const SYNC_MAX_DAYS: i64 = 7;
/// Jobs one fetch keeps running at once: a fifth of the account's 100
/// slots, so that a few workers on one account never run out of them (an
/// account past 400 active entities a level waits for its first jobs).
const JOBS_IN_FLIGHT: usize = 20;
/// IDs one `job_ids` poll or one entity listing takes.
const MAX_LIST_IDS: usize = 200;
const PLACEMENTS: [&str; 2] = ["ALL_ON_TWITTER", "PUBLISHER_NETWORK"];
const METRIC_GROUPS: &str = "ENGAGEMENT,BILLING";
/// ENGAGEMENT counts kept under X's names beside the unified measures.
const EXTRA: [&str; 5] = ["engagements", "url_clicks", "retweets", "likes", "follows"];

fn entity(level: Level) -> &'static str {
    match level {
        Level::Account => "ACCOUNT",
        Level::Campaign => "CAMPAIGN",
        Level::AdGroup => "LINE_ITEM",
        Level::Ad => "PROMOTED_TWEET",
    }
}

#[derive(Deserialize)]
struct ActiveEntities {
    data: Vec<ActiveEntity>,
}

#[derive(Deserialize)]
struct ActiveEntity {
    entity_id: String,
    placements: Vec<String>,
}

#[derive(Deserialize)]
pub(super) struct Stats {
    data: Vec<EntityStats>,
}

#[derive(Deserialize)]
struct EntityStats {
    id: String,
    id_data: Vec<IdData>,
}

#[derive(Deserialize)]
struct IdData {
    metrics: Metrics,
}

/// One value per day; `None` for a day without activity, or for a whole
/// metric X has nothing of.
#[derive(Deserialize)]
struct Metrics {
    impressions: Option<Vec<Option<u64>>>,
    clicks: Option<Vec<Option<u64>>>,
    billed_charge_local_micro: Option<Vec<Option<i64>>>,
    engagements: Option<Vec<Option<u64>>>,
    url_clicks: Option<Vec<Option<u64>>>,
    retweets: Option<Vec<Option<u64>>>,
    likes: Option<Vec<Option<u64>>>,
    follows: Option<Vec<Option<u64>>>,
}

#[derive(Deserialize)]
struct JobAnswer {
    data: Job,
}

#[derive(Deserialize)]
struct JobsAnswer {
    data: Vec<Job>,
}

#[derive(Deserialize)]
struct Job {
    id_str: String,
    /// QUEUED, PROCESSING, UPLOADING, SUCCESS or FAILED.
    status: String,
    url: Option<String>,
}

#[derive(Deserialize)]
struct Named {
    id: String,
    name: Option<String>,
}

/// One stats request: a placement and ≤ 20 entities.
struct Batch {
    placement: &'static str,
    ids: Vec<String>,
}

/// An entity's day, summed over placements.
#[derive(Default)]
struct Day {
    active: bool,
    impressions: u64,
    clicks: u64,
    spend_micros: i64,
    extra: [u64; EXTRA.len()],
}

/// `since`'s and `until + 1`'s local midnight at the account's current
/// offset, in UTC (`2026-11-30T15:00:00Z`).
fn bounds(account: &Account, range: DateRange) -> Result<(String, String)> {
    let zone = jiff::tz::TimeZone::get(&account.timezone)
        .map_err(|_| Error::Decode { remote: PlatformId::X.into(), detail: format!("account {} has an unknown timezone {:?}", account.id, account.timezone) })?;
    let seconds = zone.to_offset(jiff::Timestamp::now()).seconds();
    let offset = UtcOffset::from_whole_seconds(seconds).expect("a time zone offset is under a day");
    let at = |day: time::Date| {
        day.midnight().assume_offset(offset).to_offset(UtcOffset::UTC).format(&Rfc3339).expect("an instant formats as RFC 3339")
    };
    Ok((at(range.since), at(range.until + Duration::days(1))))
}

fn decode(detail: String) -> Error {
    Error::Decode { remote: PlatformId::X.into(), detail }
}

impl X {
    pub(super) async fn stats(&self, credentials: &Credentials, account: &Account, level: Level, range: DateRange) -> Result<Vec<DailyRow>> {
        let mut rows = Vec::new();
        for window in range.windows(super::WINDOW_DAYS) {
            rows.extend(self.window(credentials, account, level, window).await?);
        }
        Ok(rows)
    }

    async fn window(&self, credentials: &Credentials, account: &Account, level: Level, range: DateRange) -> Result<Vec<DailyRow>> {
        let (start, end) = bounds(account, range)?;
        let batches = self.batches(credentials, account, level, &start, &end).await?;
        let answers = if range.days() <= SYNC_MAX_DAYS {
            let mut answers = Vec::with_capacity(batches.len());
            for batch in &batches {
                let query = stats_query(level, batch, &start, &end);
                answers.push(self.call(credentials, &Call { post: false, path: format!("stats/accounts/{}", account.id), query, account: Some(&account.id) }).await?);
            }
            answers
        } else {
            self.jobs(credentials, account, level, &batches, &start, &end).await?
        };
        let days = range.days() as usize;
        let mut by_entity: BTreeMap<(String, usize), Day> = BTreeMap::new();
        for answer in answers {
            add(&mut by_entity, answer, days)?;
        }
        let names = self.names(credentials, account, level, by_entity.keys().map(|(id, _)| id.as_str()).collect()).await?;
        Ok(by_entity
            .into_iter()
            .filter(|(_, day)| day.active)
            .map(|((entity_id, i), day)| DailyRow {
                level,
                entity_name: names.get(&entity_id).cloned().unwrap_or_default(),
                entity_id,
                date: range.since + Duration::days(i as i64),
                impressions: day.impressions,
                clicks: day.clicks,
                spend_micros: day.spend_micros,
                conversions_micros: 0,
                conversion_value_micros: 0,
                reach: 0,
                video_views: 0,
                organic: Default::default(),
                extra: EXTRA.iter().zip(day.extra).map(|(name, value)| ((*name).to_owned(), value.to_string())).collect(),
            })
            .collect())
    }

    /// The requests of a window: the account itself at account level, else
    /// the entities active in the window, per placement they had, ≤ 20 a batch.
    async fn batches(&self, credentials: &Credentials, account: &Account, level: Level, start: &str, end: &str) -> Result<Vec<Batch>> {
        let by_placement: Vec<(&'static str, Vec<String>)> = if level == Level::Account {
            PLACEMENTS.iter().map(|p| (*p, vec![account.id.clone()])).collect()
        } else {
            let query = vec![("entity", entity(level).to_owned()), ("start_time", start.to_owned()), ("end_time", end.to_owned())];
            let path = format!("stats/accounts/{}/active_entities", account.id);
            let active: ActiveEntities = self.call(credentials, &Call { post: false, path, query, account: Some(&account.id) }).await?;
            PLACEMENTS
                .iter()
                .map(|p| (*p, active.data.iter().filter(|e| e.placements.iter().any(|q| q == p)).map(|e| e.entity_id.clone()).collect()))
                .collect()
        };
        Ok(by_placement
            .into_iter()
            .flat_map(|(placement, ids)| ids.chunks(MAX_ENTITY_IDS).map(|ids| Batch { placement, ids: ids.to_vec() }).collect::<Vec<_>>())
            .collect())
    }

    /// One async job per batch, at most [`JOBS_IN_FLIGHT`] at a time.
    async fn jobs(&self, credentials: &Credentials, account: &Account, level: Level, batches: &[Batch], start: &str, end: &str) -> Result<Vec<Stats>> {
        let mut answers = Vec::with_capacity(batches.len());
        for group in batches.chunks(JOBS_IN_FLIGHT) {
            answers.extend(self.job_group(credentials, account, level, group, start, end).await?);
        }
        Ok(answers)
    }

    /// Jobs of `batches` created, polled together until every one
    /// succeeded, then each file downloaded.
    async fn job_group(&self, credentials: &Credentials, account: &Account, level: Level, batches: &[Batch], start: &str, end: &str) -> Result<Vec<Stats>> {
        let path = format!("stats/jobs/accounts/{}", account.id);
        let mut pending = BTreeSet::new();
        for batch in batches {
            let call = Call { post: true, path: path.clone(), query: stats_query(level, batch, start, end), account: Some(&account.id) };
            let created: JobAnswer = self.call(credentials, &call).await?;
            pending.insert(created.data.id_str);
        }
        let mut urls = Vec::with_capacity(pending.len());
        let mut polls = Polls::default();
        while !pending.is_empty() {
            if !polls.wait().await {
                return Err(Error::Platform {
                    remote: PlatformId::X.into(),
                    status: 0,
                    code: "job_stuck".into(),
                    message: format!("{} stats jobs of account {} did not finish", pending.len(), account.id),
                    kind: ErrorKind::Retry,
                    retry_after: None,
                });
            }
            let ids: Vec<String> = pending.iter().take(MAX_LIST_IDS).cloned().collect();
            let call = Call { post: false, path: path.clone(), query: vec![("job_ids", ids.join(","))], account: Some(&account.id) };
            let answer: JobsAnswer = self.call(credentials, &call).await?;
            for job in answer.data {
                match (job.status.as_str(), job.url) {
                    ("SUCCESS", Some(url)) => {
                        pending.remove(&job.id_str);
                        urls.push(url);
                    }
                    ("FAILED", _) => {
                        return Err(Error::Platform {
                            remote: PlatformId::X.into(),
                            status: 0,
                            code: "job_failed".into(),
                            message: format!("stats job {} of account {} failed", job.id_str, account.id),
                            kind: ErrorKind::Retry,
                            retry_after: None,
                        });
                    }
                    _ => {}
                }
            }
        }
        let mut answers = Vec::with_capacity(urls.len());
        for url in urls {
            answers.push(self.download(&url).await?);
        }
        Ok(answers)
    }

    /// A job's file: gzip JSON at a URL that needs no signature.
    async fn download(&self, url: &str) -> Result<Stats> {
        let dialect = self.dialect("download", None);
        let body = self.http.send(&dialect, &[], || self.http.client().get(url)).await?;
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(body.as_slice()).read_to_end(&mut text).map_err(|err| decode(format!("stats job file: not gzip: {err}")))?;
        crate::http::json(PlatformId::X, "stats job file", &text)
    }

    /// Entity names: campaigns' and line items' from their listings, the
    /// account's own; promoted posts have none.
    async fn names(&self, credentials: &Credentials, account: &Account, level: Level, ids: BTreeSet<&str>) -> Result<BTreeMap<String, String>> {
        let (path, filter) = match level {
            Level::Account => return Ok(BTreeMap::from([(account.id.clone(), account.name.clone())])),
            Level::Campaign => ("campaigns", "campaign_ids"),
            Level::AdGroup => ("line_items", "line_item_ids"),
            Level::Ad => return Ok(BTreeMap::new()),
        };
        let ids: Vec<&str> = ids.into_iter().collect();
        let mut names = BTreeMap::new();
        for chunk in ids.chunks(MAX_LIST_IDS) {
            let query = vec![(filter, chunk.join(",")), ("with_deleted", "true".to_owned())];
            let found: Vec<Named> = self.all(credentials, format!("accounts/{}/{path}", account.id), query, Some(&account.id)).await?;
            names.extend(found.into_iter().map(|n| (n.id, n.name.unwrap_or_default())));
        }
        Ok(names)
    }
}

fn stats_query(level: Level, batch: &Batch, start: &str, end: &str) -> Vec<(&'static str, String)> {
    vec![
        ("entity", entity(level).to_owned()),
        ("entity_ids", batch.ids.join(",")),
        ("start_time", start.to_owned()),
        ("end_time", end.to_owned()),
        ("granularity", "DAY".to_owned()),
        ("metric_groups", METRIC_GROUPS.to_owned()),
        ("placement", batch.placement.to_owned()),
    ]
}

/// Adds one answer's arrays into `by_entity`; arrays of another length than
/// the window's days are a cut-off or misread answer, refused.
fn add(by_entity: &mut BTreeMap<(String, usize), Day>, answer: Stats, days: usize) -> Result<()> {
    for entity in answer.data {
        for data in entity.id_data {
            let m = data.metrics;
            let counts = [&m.impressions, &m.clicks, &m.engagements, &m.url_clicks, &m.retweets, &m.likes, &m.follows];
            for values in counts.iter().filter_map(|v| v.as_ref()) {
                if values.len() != days {
                    return Err(decode(format!("stats of {}: {} values for {days} days", entity.id, values.len())));
                }
            }
            if m.billed_charge_local_micro.as_ref().is_some_and(|v| v.len() != days) {
                return Err(decode(format!("stats of {}: billed_charge_local_micro is not one value a day", entity.id)));
            }
            let at = |values: &Option<Vec<Option<u64>>>, i: usize| values.as_ref().and_then(|v| v[i]);
            for i in 0..days {
                let spend = m.billed_charge_local_micro.as_ref().and_then(|v| v[i]);
                let values = counts.map(|v| at(v, i));
                if spend.is_none() && values.iter().all(Option::is_none) {
                    continue;
                }
                let day = by_entity.entry((entity.id.clone(), i)).or_default();
                day.active = true;
                day.impressions += values[0].unwrap_or(0);
                day.clicks += values[1].unwrap_or(0);
                day.spend_micros += spend.unwrap_or(0);
                for (sum, value) in day.extra.iter_mut().zip(&values[2..]) {
                    *sum += value.unwrap_or(0);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn account(timezone: &str) -> Account {
        Account { id: "18ce54d4x5t".into(), kind: String::new(), name: "a".into(), currency: "JPY".into(), timezone: timezone.into(), manager_id: String::new(), active: true }
    }

    #[test]
    fn a_window_starts_at_local_midnight_in_utc() {
        let range = DateRange { since: date!(2026 - 11 - 01), until: date!(2026 - 11 - 07) };
        assert_eq!(bounds(&account("Asia/Tokyo"), range).unwrap(), ("2026-10-31T15:00:00Z".into(), "2026-11-07T15:00:00Z".into()));
        assert_eq!(bounds(&account("UTC"), range).unwrap(), ("2026-11-01T00:00:00Z".into(), "2026-11-08T00:00:00Z".into()));
        assert!(bounds(&account("Not/AZone"), range).is_err());
    }

    #[test]
    fn placements_add_up_nulls_are_no_activity_and_short_arrays_are_refused() {
        let answer = |impressions: &str, spend: &str| -> Stats {
            serde_json::from_str(&format!(
                r#"{{"data":[{{"id":"c1","id_data":[{{"segment":null,"metrics":{{"impressions":{impressions},"clicks":null,"billed_charge_local_micro":{spend}}}}}]}}],"data_type":"stats","time_series_length":3}}"#
            ))
            .unwrap()
        };
        let mut by_entity = BTreeMap::new();
        add(&mut by_entity, answer("[10,null,3]", "[1500000,null,null]"), 3).unwrap();
        add(&mut by_entity, answer("[1,null,null]", "[250000,null,null]"), 3).unwrap();
        let days: Vec<(usize, u64, i64)> = by_entity.iter().map(|((_, i), d)| (*i, d.impressions, d.spend_micros)).collect();
        assert_eq!(days, [(0, 11, 1_750_000), (2, 3, 0)]);
        assert!(add(&mut by_entity, answer("[1,2]", "null"), 3).is_err());
    }
}
