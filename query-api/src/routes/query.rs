use actix_web::{HttpResponse, web};

use crate::auth::Tenant;
use crate::error::Result;
use crate::query::discrepancy::{self, DiscrepancyRequest};
use crate::query::{Context, Executor, Query, QueryRequest};
use crate::state::AppState;

/// `POST /api/v1/query`.
pub async fn query(state: web::Data<AppState>, tenant: Tenant, request: web::Json<QueryRequest>) -> Result<HttpResponse> {
    let now = jiff::Timestamp::now().as_second();
    let context = Context { default_zone: &tenant.zone, now, limits: state.limits };
    let query = Query::from_request(request.into_inner(), &context)?;
    let response = executor(&state, &tenant, now).run(&query).await?;
    state.metrics.observe_clickhouse(response.meta.table, &response.meta.clickhouse);
    Ok(HttpResponse::Ok().json(response))
}

/// `POST /api/v1/discrepancy`: ours (the logs) against theirs (partner feeds).
pub async fn discrepancy(state: web::Data<AppState>, tenant: Tenant, request: web::Json<DiscrepancyRequest>) -> Result<HttpResponse> {
    let now = jiff::Timestamp::now().as_second();
    let context = Context { default_zone: &tenant.zone, now, limits: state.limits };
    let report = discrepancy::run(&executor(&state, &tenant, now), &request, &context, state.api.currency_of(&tenant.id)).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The executor of `tenant`'s queries at `now`.
pub(super) fn executor<'a>(state: &'a AppState, tenant: &'a Tenant, now: i64) -> Executor<'a> {
    Executor {
        db: &state.db,
        tables: &state.tables,
        tenant: &tenant.id,
        currency: state.api.currency_of(&tenant.id),
        now,
        metrics: &state.metrics,
        source_labels: &state.api.source_labels,
    }
}
