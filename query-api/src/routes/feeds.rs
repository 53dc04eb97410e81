//! `GET /api/v1/feeds`: the health of the tenant's live-metrics feeds, as
//! the ingester recorded it after its last poll of each.

use actix_web::{HttpResponse, web};
use adhouse_connectors::partners::store::FeedStatus;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::auth::Tenant;
use crate::error::Result;
use crate::state::AppState;

#[derive(Debug, Serialize)]
struct FeedView {
    feed: String,
    /// `ok` or `failing`.
    status: &'static str,
    last_attempt_at: String,
    /// The data is as of this poll; null until a poll succeeded.
    last_success_at: Option<String>,
    last_error: String,
    consecutive_failures: u32,
    window_start: String,
    window_end: String,
    rows_stored: u64,
    rows_quarantined: u64,
    requests: u32,
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).expect("stored times format")
}

impl From<FeedStatus> for FeedView {
    fn from(status: FeedStatus) -> Self {
        Self {
            feed: status.feed,
            status: status.status.as_str(),
            last_attempt_at: rfc3339(status.last_attempt_at),
            last_success_at: status.last_success_at.map(rfc3339),
            last_error: status.last_error,
            consecutive_failures: status.consecutive_failures,
            window_start: rfc3339(status.window_start),
            window_end: rfc3339(status.window_end),
            rows_stored: status.rows_stored,
            rows_quarantined: status.rows_quarantined,
            requests: status.requests,
        }
    }
}

/// `GET /api/v1/feeds`.
pub async fn list(state: web::Data<AppState>, tenant: Tenant) -> Result<HttpResponse> {
    let feeds: Vec<FeedView> = state.feeds.statuses(&tenant.id).await?.into_iter().map(FeedView::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "feeds": feeds })))
}
