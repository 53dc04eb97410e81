use actix_web::{HttpResponse, web};

use crate::auth::Tenant;
use crate::error::Result;
use crate::query::{Context, Executor, Query, QueryRequest};
use crate::state::AppState;

/// `POST /api/v1/query`.
pub async fn query(state: web::Data<AppState>, tenant: Tenant, request: web::Json<QueryRequest>) -> Result<HttpResponse> {
    let now = jiff::Timestamp::now().as_second();
    let context = Context { default_zone: &tenant.zone, now, limits: state.limits };
    let query = Query::from_request(request.into_inner(), &context)?;
    let currency = state.api.currency_of(&tenant.id);
    let executor = Executor { db: &state.db, tables: &state.tables, tenant: &tenant.id, currency, now, metrics: &state.metrics };
    let response = executor.run(&query).await?;
    state.metrics.observe_clickhouse(response.meta.table, &response.meta.clickhouse);
    Ok(HttpResponse::Ok().json(response))
}
