//! An asynchronous insights job ("report run"): created with a POST, polled
//! until Meta says it is done, then read page by page.
//! <https://developers.facebook.com/docs/marketing-api/insights/best-practices>,
//! <https://developers.facebook.com/docs/marketing-api/reference/ad-report-run>.
//!
//! Always async, even for small ranges: one code path, and Meta's own advice
//! for anything beyond a few days at ad level (synchronous requests fail with
//! "reduce the amount of data" or time out first).

use serde::Deserialize;

use super::Meta;
use super::insights::{InsightRow, fields, filtering, level_name};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Account, Credentials, DateRange, Level, PlatformId};
use crate::poll::Polls;

/// `async_status` of a report run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunStatus {
    NotStarted,
    Started,
    Running,
    Completed,
    Failed,
    Skipped,
}

impl RunStatus {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "Job Not Started" => Self::NotStarted,
            "Job Started" => Self::Started,
            "Job Running" => Self::Running,
            "Job Completed" => Self::Completed,
            "Job Failed" => Self::Failed,
            "Job Skipped" => Self::Skipped,
            _ => return None,
        })
    }
}

#[derive(Deserialize)]
struct Created {
    report_run_id: String,
}

#[derive(Deserialize)]
struct RunState {
    async_status: String,
    #[serde(default)]
    async_percent_completion: u32,
}

impl Meta {
    /// Every insights row of `account` at `level` for `range`, one per entity
    /// and day, through one report run.
    pub(super) async fn report(&self, credentials: &Credentials, account: &Account, level: Level, range: DateRange) -> Result<Vec<InsightRow>> {
        let token = credentials.access_token.as_str();
        let time_range = serde_json::json!({ "since": range.since.to_string(), "until": range.until.to_string() }).to_string();
        let mut params = vec![
            ("level", level_name(level).to_owned()),
            ("fields", fields(level)),
            ("time_range", time_range),
            ("time_increment", "1".to_owned()),
        ];
        params.extend(filtering(level).map(|filters| ("filtering", filters)));
        let created: Created = self.graph.post(Some(&account.id), &format!("act_{}/insights", account.id), token, &params, "report run").await?;
        let run = created.report_run_id;
        self.wait_for(&account.id, &run, token).await?;
        self.graph.pages(Some(&account.id), &format!("{run}/insights"), token, &[], "report run rows").await
    }

    /// Polls `run` until it completes. A failed run is `Split`: Meta gives no
    /// reason, and what fails is nearly always a job too big for it (a
    /// smaller range succeeds); a skipped or stuck one is `Retry`.
    async fn wait_for(&self, account_id: &str, run: &str, token: &str) -> Result<()> {
        let mut polls = Polls::default();
        loop {
            let state: RunState = self.graph.get(Some(account_id), run, token, &[], "report run status").await?;
            let status = RunStatus::parse(&state.async_status)
                .ok_or_else(|| Error::Decode { remote: PlatformId::Meta.into(), detail: format!("async_status {:?}", state.async_status) })?;
            match status {
                // Meta's advice: trust the rows only once both say done.
                RunStatus::Completed if state.async_percent_completion == 100 => return Ok(()),
                RunStatus::Failed => return Err(run_error(run, "failed", ErrorKind::Split)),
                RunStatus::Skipped => return Err(run_error(run, "skipped", ErrorKind::Retry)),
                RunStatus::NotStarted | RunStatus::Started | RunStatus::Running | RunStatus::Completed => {}
            }
            if !polls.wait().await {
                return Err(run_error(run, "stuck", ErrorKind::Retry));
            }
        }
    }
}

/// `report_run/failed`, `report_run/skipped`, `report_run/stuck`.
fn run_error(run: &str, what: &str, kind: ErrorKind) -> Error {
    Error::Platform {
        remote: PlatformId::Meta.into(),
        status: 200,
        code: format!("report_run/{what}"),
        message: format!("report run {run}: {what}"),
        kind,
        retry_after: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_async_status_parses() {
        let all = ["Job Not Started", "Job Started", "Job Running", "Job Completed", "Job Failed", "Job Skipped"];
        assert!(all.iter().all(|s| RunStatus::parse(s).is_some()));
        assert_eq!(RunStatus::parse("Job Exploded"), None);
    }
}
