//! `GET /oauth/callback/{platform}`: where the platform sends the user's
//! browser after consent. No bearer token comes with a browser navigation:
//! the signed, single-use state is the authority. Success redirects to the
//! dashboard's account chooser; every failure is a short page in plain
//! words with the way back.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use adhouse_connectors::PlatformId;

use crate::accounts::flow::{self, CallbackError, CallbackParams};
use crate::accounts::listing::platform_label;
use crate::state::AppState;

/// The dashboard's account chooser for a new grant.
pub fn chooser_location(grant: &str) -> String {
    format!("/?grant={grant}#accounts")
}

pub async fn callback(state: web::Data<AppState>, platform: web::Path<String>, params: web::Query<CallbackParams>) -> HttpResponse {
    let (Some(platform), Some(linking)) = (PlatformId::parse(&platform), state.linking.as_ref()) else {
        return page(StatusCode::NOT_FOUND, "Nothing to link here", "This address does not belong to an ad platform adhouse can link.");
    };
    let now = jiff::Timestamp::now().as_second();
    match flow::callback(linking, state.db.client(), platform, &params, now).await {
        Ok(grant) => {
            state.metrics.observe_oauth_callback(platform.as_str(), "granted");
            HttpResponse::Found().insert_header(("Location", chooser_location(&grant))).finish()
        }
        Err(err) => {
            state.metrics.observe_oauth_callback(platform.as_str(), err.outcome());
            failure(platform, &err)
        }
    }
}

/// One log line and the page for a failed callback.
fn failure(platform: PlatformId, err: &CallbackError) -> HttpResponse {
    let name = platform_label(platform.as_str());
    match err {
        CallbackError::Denied => {
            tracing::info!(%platform, "OAuth consent cancelled by the user");
            page(
                StatusCode::OK,
                "Nothing was linked",
                &format!("You cancelled on {name}'s page, so adhouse got no access. You can connect an account any time from the dashboard."),
            )
        }
        CallbackError::PlatformRefused(code) => {
            tracing::warn!(%platform, error = %code, "OAuth callback with an error from the platform");
            page(
                StatusCode::BAD_REQUEST,
                "Nothing was linked",
                &format!(
                    "{name} did not give adhouse access. Try Connect account again; if it keeps failing, ask your {name} administrator whether you may give apps access."
                ),
            )
        }
        CallbackError::BadState(reason) => {
            tracing::warn!(%platform, reason, "OAuth callback refused");
            page(
                StatusCode::BAD_REQUEST,
                "This link has expired",
                "The page you came back from is no longer valid: it works once, within 10 minutes. Start again with Connect account in the dashboard.",
            )
        }
        CallbackError::Platform(source) => {
            tracing::warn!(%platform, error = %source, "OAuth code exchange or account discovery failed");
            let text = if flow::is_passing(source) {
                format!("{name} is not answering right now. Please try Connect account again in a few minutes.")
            } else {
                format!("{name} refused to let adhouse finish connecting. Start again with Connect account in the dashboard.")
            };
            page(StatusCode::BAD_GATEWAY, "Nothing was linked", &text)
        }
        CallbackError::Internal(message) => {
            tracing::error!(%platform, error = %message, "OAuth callback failed inside the server");
            page(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side", "It has been logged. Please try again in a few minutes.")
        }
    }
}

/// A minimal page under the API's content security policy (no inline style
/// or script). `title` and `text` are the server's own words, never request
/// input, so nothing needs escaping.
fn page(status: StatusCode, title: &str, text: &str) -> HttpResponse {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title} · adhouse</title></head>\n<body><main><h1>{title}</h1><p>{text}</p>\
         <p><a href=\"/#accounts\">Back to the dashboard</a></p></main></body></html>\n"
    );
    HttpResponse::build(status).content_type("text/html; charset=utf-8").body(html)
}
