//! Report jobs: `ReportDefinitionService/add` (one operand per 30 days of
//! the range, ≤ 30 operands an add), `/get` until every job is COMPLETED,
//! then `/download` of each job's CSV.
//! Search: `bestpractice/en/search_ads_report.md` of
//! yahoojp-marketing/ads-search-api-documents; Display:
//! `bestpractice/en/display_ads_report.md` of ads-display-api-documents.
//!
//! The CSV ends with a summary row ("Total", or empty dimension cells). It is
//! never a row of the result: it is read as a checksum instead, and a
//! download whose rows do not add up to it is refused (a cut-off answer).

use std::collections::BTreeMap;

use adhouse_core::money::money_micros;
use adhouse_core::settings::MoneyUnit;
use serde::{Deserialize, Serialize};
use time::Date;
use time::macros::format_description;

use super::dialect::ApiError;
use super::{Call, Kind, Yahoo};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Account, Credentials, DailyRow, DateRange, Level, PlatformId};
use crate::poll::Polls;

/// Days of one report job.
const OPERAND_DAYS: i64 = 30;
/// Operands one `add` takes.
const MAX_OPERANDS: usize = 30;
/// The per-operand code of "Over limit." (LT001): here, more than the 60
/// jobs an account may have waiting or running at once. Those finish in
/// minutes, so the add is worth trying again.
const OVER_LIMIT: &str = "LT001";

/// The columns asked for, in order: the CSV has them in this order.
fn fields(level: Level) -> [&'static str; 8] {
    let (id, name) = match level {
        Level::Account => ("ACCOUNT_ID", "ACCOUNT_NAME"),
        Level::Campaign => ("CAMPAIGN_ID", "CAMPAIGN_NAME"),
        Level::AdGroup => ("ADGROUP_ID", "ADGROUP_NAME"),
        Level::Ad => ("AD_ID", "AD_NAME"),
    };
    ["DAY", id, name, "IMPS", "CLICKS", "COST", "CONVERSIONS", "CONV_VALUE"]
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AddRequest {
    account_id: u64,
    operand: Vec<Operand>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Operand {
    /// Search names the report's level; Display derives it from the fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    report_type: Option<&'static str>,
    report_name: String,
    report_date_range_type: &'static str,
    date_range: YahooRange,
    fields: [&'static str; 8],
    report_download_format: &'static str,
    /// Each API's own spelling of UTF-8 in its samples.
    report_download_encode: &'static str,
    report_language: &'static str,
    /// The summary row stays: it is the checksum of the download.
    report_skip_report_summary: &'static str,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct YahooRange {
    start_date: String,
    end_date: String,
}

#[derive(Deserialize)]
struct Values<T> {
    #[serde(default = "Vec::new")]
    values: Vec<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OperandResult {
    operation_succeeded: bool,
    errors: Option<Vec<ApiError>>,
    report_definition: Option<Definition>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Definition {
    report_job_id: u64,
    #[serde(default)]
    report_job_status: String,
    report_job_error_detail: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GetRequest<'a> {
    account_id: u64,
    report_job_ids: &'a [u64],
    start_index: u32,
    number_results: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DownloadRequest {
    account_id: u64,
    report_job_id: u64,
}

/// `reportJobStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JobStatus {
    Wait,
    InProgress,
    Completed,
    Failed,
    Unknown,
}

impl JobStatus {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "WAIT" => Self::Wait,
            "IN_PROGRESS" => Self::InProgress,
            "COMPLETED" => Self::Completed,
            "FAILED" => Self::Failed,
            "UNKNOWN" => Self::Unknown,
            _ => return None,
        })
    }
}

fn yahoo_date(day: Date) -> String {
    day.format(format_description!("[year][month][day]")).expect("a date formats")
}

fn decode(detail: String) -> Error {
    Error::Decode { remote: PlatformId::Yahoo.into(), detail }
}

fn job_error(code: &str, message: String, kind: ErrorKind) -> Error {
    Error::Platform { remote: PlatformId::Yahoo.into(), status: 200, code: code.into(), message, kind, retry_after: None }
}

impl Yahoo {
    /// Every row of `account` at `level` over `range`.
    pub(super) async fn report(&self, credentials: &Credentials, account: &Account, level: Level, range: DateRange) -> Result<Vec<DailyRow>> {
        let kind = Kind::of(account)?;
        let account_id: u64 = account.id.parse().map_err(|_| decode(format!("account id {:?} is not a number", account.id)))?;
        let base = if account.manager_id.is_empty() { &account.id } else { &account.manager_id };
        let call = |path| Call { kind, base_account: Some(base), path };
        let mut rows = Vec::new();
        for chunk in range.windows(OPERAND_DAYS).chunks(MAX_OPERANDS) {
            let operand = chunk.iter().map(|window| operand(kind, level, *window)).collect();
            let added: Values<OperandResult> = self.rval(credentials, &call("ReportDefinitionService/add"), &AddRequest { account_id, operand }).await?;
            let jobs = added.values.into_iter().map(created).collect::<Result<Vec<u64>>>()?;
            self.wait_for(credentials, &call("ReportDefinitionService/get"), account_id, &jobs).await?;
            for job in jobs {
                let csv = self.call(credentials, &call("ReportDefinitionService/download"), &DownloadRequest { account_id, report_job_id: job }).await?;
                rows.extend(parse_csv(&csv, level).map_err(|detail| decode(format!("report job {job}: {detail}")))?);
            }
        }
        Ok(rows)
    }

    /// Polls `jobs` until all are COMPLETED. FAILED is `Split` (Yahoo gives
    /// no reason; a shorter range is what helps), UNKNOWN or too long `Retry`.
    async fn wait_for(&self, credentials: &Credentials, call: &Call<'_>, account_id: u64, jobs: &[u64]) -> Result<()> {
        let mut polls = Polls::default();
        loop {
            let request = GetRequest { account_id, report_job_ids: jobs, start_index: 1, number_results: jobs.len() };
            let found: Values<OperandResult> = self.rval(credentials, call, &request).await?;
            let mut done = 0;
            for value in found.values {
                if !value.operation_succeeded {
                    created(value)?;
                    continue;
                }
                let definition = value.report_definition.ok_or_else(|| decode("a job without its reportDefinition".into()))?;
                let status = JobStatus::parse(&definition.report_job_status)
                    .ok_or_else(|| decode(format!("reportJobStatus {:?}", definition.report_job_status)))?;
                let job = definition.report_job_id;
                let detail = definition.report_job_error_detail.unwrap_or_default();
                match status {
                    JobStatus::Completed => done += 1,
                    JobStatus::Failed => return Err(job_error("report_job/failed", format!("report job {job} failed {detail}"), ErrorKind::Split)),
                    JobStatus::Unknown => return Err(job_error("report_job/unknown", format!("report job {job}: status UNKNOWN"), ErrorKind::Retry)),
                    JobStatus::Wait | JobStatus::InProgress => {}
                }
            }
            if done == jobs.len() {
                return Ok(());
            }
            if !polls.wait().await {
                return Err(job_error("report_job/stuck", format!("report jobs {jobs:?} did not complete"), ErrorKind::Retry));
            }
        }
    }
}

/// One report job's definition: `level`'s fields over `window`.
fn operand(kind: Kind, level: Level, window: DateRange) -> Operand {
    let report_type = match (kind, level) {
        (Kind::Display, _) => None,
        (Kind::Search, Level::Account) => Some("ACCOUNT"),
        (Kind::Search, Level::Campaign) => Some("CAMPAIGN"),
        (Kind::Search, Level::AdGroup) => Some("ADGROUP"),
        (Kind::Search, Level::Ad) => Some("AD"),
    };
    let (since, until) = (yahoo_date(window.since), yahoo_date(window.until));
    Operand {
        report_type,
        report_name: format!("adhouse {} {since}-{until}", level.as_str()),
        report_date_range_type: "CUSTOM_DATE",
        date_range: YahooRange { start_date: since, end_date: until },
        fields: fields(level),
        report_download_format: "CSV",
        report_download_encode: if kind == Kind::Search { "UTF8" } else { "UTF-8" },
        report_language: "EN",
        report_skip_report_summary: "FALSE",
    }
}

/// The job id of one operand of an `add` (or a `get`), or its failure:
/// "Over limit" is worth a retry, anything else is a request Yahoo refuses.
fn created(value: OperandResult) -> Result<u64> {
    match value {
        OperandResult { operation_succeeded: true, report_definition: Some(definition), .. } => Ok(definition.report_job_id),
        OperandResult { errors, .. } => {
            let first = errors.and_then(|e| e.into_iter().next());
            let (code, message) = first.map_or(("operation_failed".to_owned(), String::new()), |e| (e.code, e.message));
            let kind = if code == OVER_LIMIT { ErrorKind::Retry } else { ErrorKind::Fatal };
            Err(job_error(&code, format!("report operand refused: {message}"), kind))
        }
    }
}

/// The numbers of one CSV line, as the columns of [`fields`].
struct Line {
    impressions: u64,
    clicks: u64,
    cost_micros: i64,
}

/// The rows of a downloaded report at `level`, without its summary row,
/// checked against it. `Err` says what is wrong with the file.
fn parse_csv(csv: &[u8], level: Level) -> Result<Vec<DailyRow>, String> {
    let csv = csv.strip_prefix("\u{feff}".as_bytes()).unwrap_or(csv);
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(csv);
    let mut rows = Vec::new();
    let mut summary: Option<Line> = None;
    for (n, record) in reader.records().enumerate() {
        let record = record.map_err(|err| format!("CSV: {err}"))?;
        let cell = |i: usize| record.get(i).unwrap_or("").trim();
        if record.len() != 8 {
            return Err(format!("line {}: {} columns, not the 8 asked for", n + 2, record.len()));
        }
        if summary.is_some() {
            return Err(format!("line {}: a row after the summary row", n + 2));
        }
        let numbers = Line { impressions: count(cell(3))?, clicks: count(cell(4))?, cost_micros: decimal("COST", cell(5))? };
        let Some(date) = day(cell(0)) else {
            // "Total" (or nothing) where the day is: the summary row.
            summary = Some(numbers);
            continue;
        };
        if cell(1).is_empty() || cell(1) == "--" {
            return Err(format!("line {}: a {} row of {date} without its id", n + 2, level.as_str()));
        }
        rows.push(DailyRow {
            level,
            entity_id: cell(1).to_owned(),
            entity_name: cell(2).to_owned(),
            date,
            impressions: numbers.impressions,
            clicks: numbers.clicks,
            spend_micros: numbers.cost_micros,
            conversions_micros: decimal("CONVERSIONS", cell(6))?,
            conversion_value_micros: decimal("CONV_VALUE", cell(7))?,
            // Yahoo! JAPAN reports neither reach nor video views in these reports.
            reach: 0,
            video_views: 0,
            organic: Default::default(),
            extra: BTreeMap::new(),
        });
    }
    let summary = summary.ok_or("no summary row: the download is cut short")?;
    let sums = rows.iter().fold((0, 0, 0), |(i, c, m), r| (i + r.impressions, c + r.clicks, m + r.spend_micros));
    if sums != (summary.impressions, summary.clicks, summary.cost_micros) {
        return Err(format!("the rows add up to {sums:?} (impressions, clicks, cost micros), the summary row says {:?}", (summary.impressions, summary.clicks, summary.cost_micros)));
    }
    Ok(rows)
}

/// `2026-11-01`, `2026/11/01` or `20261101`.
fn day(text: &str) -> Option<Date> {
    let digits: String = text.chars().filter(|c| *c != '-' && *c != '/').collect();
    if digits.len() != 8 || text.len() > 10 {
        return None;
    }
    Date::parse(&digits, format_description!("[year][month][day]")).ok()
}

/// Empty and `--` are Yahoo's zero (the Display summary's empty cells).
fn blank(text: &str) -> bool {
    text.is_empty() || text == "--"
}

fn count(text: &str) -> Result<u64, String> {
    if blank(text) {
        return Ok(0);
    }
    text.parse().map_err(|_| format!("{text:?} is not a whole count"))
}

/// A decimal (yen are whole; conversions may be fractional) in millionths, exactly.
fn decimal(field: &str, text: &str) -> Result<i64, String> {
    if blank(text) {
        return Ok(0);
    }
    money_micros(text, MoneyUnit::Units).ok_or_else(|| format!("{field} {text:?} is not a decimal number"))
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    const CSV: &str = "\u{feff}Day,Campaign ID,Campaign Name,Impressions,Clicks,Cost,Conversions,Conv. Value\n\
        2026-11-01,101,\"Spring, sale\",1000,20,3456,1.5,12000\n\
        2026-11-02,101,\"Spring, sale\",10,0,0,0,0\n\
        Total,--,--,1010,20,3456,1.5,12000\n";

    #[test]
    fn the_summary_row_is_a_checksum_not_a_row() {
        let rows = parse_csv(CSV.as_bytes(), Level::Campaign).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].entity_id.as_str(), rows[0].entity_name.as_str(), rows[0].date), ("101", "Spring, sale", date!(2026 - 11 - 01)));
        assert_eq!((rows[0].spend_micros, rows[0].conversions_micros, rows[0].conversion_value_micros), (3_456_000_000, 1_500_000, 12_000_000_000));
    }

    #[test]
    fn a_download_without_its_summary_or_disagreeing_with_it_is_refused() {
        let cut = CSV.lines().take(3).collect::<Vec<_>>().join("\n");
        assert!(parse_csv(cut.as_bytes(), Level::Campaign).unwrap_err().contains("no summary row"));
        let wrong = CSV.replace("Total,--,--,1010", "Total,--,--,1011");
        assert!(parse_csv(wrong.as_bytes(), Level::Campaign).unwrap_err().contains("add up"));
        let empty = "Day,Campaign ID,Campaign Name,Impressions,Clicks,Cost,Conversions,Conv. Value\n,,,0,0,0,0,0\n";
        assert!(parse_csv(empty.as_bytes(), Level::Campaign).unwrap().is_empty());
    }

    #[test]
    fn operands_follow_each_apis_documented_shape() {
        let window = DateRange { since: date!(2026 - 11 - 01), until: date!(2026 - 11 - 30) };
        let search = serde_json::to_value(operand(Kind::Search, Level::AdGroup, window)).unwrap();
        assert_eq!(search["reportType"], "ADGROUP");
        assert_eq!(search["dateRange"], serde_json::json!({"startDate": "20261101", "endDate": "20261130"}));
        assert_eq!(search["fields"][1], "ADGROUP_ID");
        let display = serde_json::to_value(operand(Kind::Display, Level::Ad, window)).unwrap();
        assert!(display.get("reportType").is_none());
        assert_eq!(display["reportDownloadEncode"], "UTF-8");
    }

    #[test]
    fn every_documented_job_status_parses() {
        assert!(["WAIT", "IN_PROGRESS", "COMPLETED", "FAILED", "UNKNOWN"].iter().all(|s| JobStatus::parse(s).is_some()));
        assert_eq!(JobStatus::parse("DONE"), None);
    }
}
