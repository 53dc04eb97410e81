//! Linking ad accounts over HTTP against the local stack and the platform
//! fakes (`dev/fakeplatforms`): connect → the fake's consent page → its
//! form → our callback → the grant → link → listed, and the backfill job on
//! a sync queue of the test's own in moto, read back and parsed with the
//! ingester's own parser.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

use actix_web::http::StatusCode;
use actix_web::{test, web};
use adhouse_api::AppState;
use adhouse_api::accounts::Linking;
use adhouse_connectors::local_today;
use adhouse_connectors::oauth::{StateClaims, StateSigner, random_token};
use adhouse_connectors::store::{AccountStatus, Store};
use adhouse_connectors::{DailyRow, DateRange, Level, PlatformId};
use adhouse_connectors::SyncJob;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::common::TestDb;
use crate::support::zone;

struct Stack {
    db: TestDb,
    state: web::Data<AppState>,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    acme: String,
    globex: String,
    /// Every body the API answered, to check that no secret ever left it.
    bodies: std::sync::Mutex<Vec<String>>,
}

struct Answer {
    status: StatusCode,
    location: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|err| panic!("{err}: {}", self.body))
    }
}

fn fake_url() -> String {
    std::env::var("ADHOUSE_DEV_PLATFORMS_URL").unwrap_or_else(|_| "http://127.0.0.1:14580".into())
}

impl Stack {
    /// A migrated database, a fresh sync queue, linking from the local
    /// stack's settings (`.dev/env`), and a token for acme and globex.
    async fn new(test: &str) -> Self {
        static QUEUES: AtomicU32 = AtomicU32::new(0);
        let mut db = TestDb::migrated(test).await;
        let sqs = aws_sdk_sqs::Client::new(&aws_config::load_from_env().await);
        let name = format!("t-{test}-{}-{}", std::process::id(), QUEUES.fetch_add(1, Ordering::Relaxed));
        let queue_url = sqs.create_queue().queue_name(&name).send().await.expect("moto creates a queue (source .dev/env)").queue_url.unwrap();
        db.settings.platforms.sync_queue_url = queue_url.clone();
        let linking = Linking::from_settings(&db.settings).await.expect("linking settings of .dev/env").expect("platforms enabled in .dev/env");
        let state = web::Data::new(AppState::new(&db.settings).await.expect("state").with_linking(Some(linking)));
        let acme = adhouse_api::auth::create(&db.client, "acme", &zone("UTC")).await.unwrap();
        let globex = adhouse_api::auth::create(&db.client, "globex", &zone("UTC")).await.unwrap();
        Self { db, state, sqs, queue_url, acme, globex, bodies: Default::default() }
    }

    async fn call(&self, request: test::TestRequest) -> Answer {
        let app = test::init_service(adhouse_api::app(self.state.clone())).await;
        let response = test::call_service(&app, request.to_request()).await;
        let status = response.status();
        let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let body = String::from_utf8_lossy(&test::read_body(response).await).into_owned();
        self.bodies.lock().unwrap().push(format!("{location}\n{body}"));
        Answer { status, location, body }
    }

    async fn get(&self, token: &str, uri: &str) -> Answer {
        self.call(test::TestRequest::get().uri(uri).insert_header(("Authorization", format!("Bearer {token}")))).await
    }

    async fn post(&self, token: &str, uri: &str, body: Value) -> Answer {
        self.call(test::TestRequest::post().uri(uri).insert_header(("Authorization", format!("Bearer {token}"))).set_json(body)).await
    }

    async fn delete(&self, token: &str, uri: &str) -> Answer {
        self.call(test::TestRequest::delete().uri(uri).insert_header(("Authorization", format!("Bearer {token}")))).await
    }

    /// `POST /api/v1/accounts/connect`, then the fake's consent page as a
    /// browser shows it, then its form submitted with `user` and `decision`:
    /// the callback URL the platform sends the browser to (path and query).
    async fn consent(&self, token: &str, platform: &str, user: &str, decision: &str) -> String {
        let connect = self.post(token, "/api/v1/accounts/connect", json!({ "platform": platform })).await;
        assert_eq!(connect.status, StatusCode::OK, "{}", connect.body);
        let authorize_url = connect.json()["authorize_url"].as_str().unwrap().to_owned();
        assert!(authorize_url.starts_with(&fake_url()), "{authorize_url}");
        let location = adhouse_connectors::fakes::consent(&authorize_url, user, decision).await;
        assert_eq!(location.path(), format!("/oauth/callback/{platform}"));
        format!("{}?{}", location.path(), location.query().unwrap_or(""))
    }

    /// The browser arriving back from the platform: no bearer token.
    async fn callback(&self, path_and_query: &str) -> Answer {
        self.call(test::TestRequest::get().uri(path_and_query)).await
    }

    /// The whole dance for `token` up to the grant's id.
    async fn grant(&self, token: &str, platform: &str, user: &str) -> String {
        let back = self.consent(token, platform, user, "allow").await;
        let answer = self.callback(&back).await;
        assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.body);
        let grant = answer.location.strip_prefix("/?grant=").and_then(|rest| rest.strip_suffix("#accounts"));
        grant.unwrap_or_else(|| panic!("redirected to {}", answer.location)).to_owned()
    }

    /// Every message now on the test's queue (deleted as read).
    async fn jobs(&self) -> Vec<SyncJob> {
        let mut jobs = Vec::new();
        loop {
            let received = self.sqs.receive_message().queue_url(&self.queue_url).max_number_of_messages(10).send().await.unwrap();
            let messages = received.messages.unwrap_or_default();
            if messages.is_empty() {
                return jobs;
            }
            for message in messages {
                jobs.push(SyncJob::parse(message.body().unwrap()).expect("the ingester parses the API's job"));
                self.sqs.delete_message().queue_url(&self.queue_url).receipt_handle(message.receipt_handle().unwrap()).send().await.unwrap();
            }
        }
    }

    fn linking(&self) -> &Linking {
        self.state.linking.as_ref().unwrap()
    }

    fn store(&self) -> Store {
        Store::new(self.db.client.clone())
    }

    /// No answer ever carried a bearer token or one of `secrets`.
    fn assert_no_secret_left(&self, secrets: &[&str]) {
        for body in self.bodies.lock().unwrap().iter() {
            for secret in [self.acme.as_str(), self.globex.as_str()].iter().chain(secrets) {
                assert!(!secret.is_empty() && !body.contains(secret), "a response carried a secret: {body}");
            }
        }
    }
}

/// connect → consent → callback → grant → link, for `platform`'s user
/// `demo`; then the same account linked again.
async fn the_whole_dance(test: &str, platform: PlatformId) {
    let stack = Stack::new(test).await;
    let name = platform.as_str();
    let grant = stack.grant(&stack.acme, name, "demo").await;

    let listed = stack.get(&stack.acme, &format!("/api/v1/accounts/grants/{grant}")).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let listed = listed.json();
    assert_eq!(listed["platform"], name);
    let accounts = listed["accounts"].as_array().unwrap().clone();
    assert!(!accounts.is_empty(), "the fake's demo user has accounts: {listed}");
    assert!(accounts.iter().all(|a| a["linked"].is_null() && !a["name"].as_str().unwrap().is_empty()), "{listed}");
    let account = &accounts[0];
    let id = account["id"].as_str().unwrap();

    let linked = stack.post(&stack.acme, "/api/v1/accounts", json!({ "grant": grant, "account_ids": [id] })).await;
    assert_eq!(linked.status, StatusCode::OK, "{}", linked.body);
    assert_eq!(linked.json()["linked"], json!([{ "platform": name, "id": id }]));

    let today = local_today(account["timezone"].as_str().unwrap(), jiff::Timestamp::now());
    let until = today - Duration::days(1);
    let since = until - Duration::days(i64::from(stack.linking().backfill_days) - 1);
    let all = stack.get(&stack.acme, "/api/v1/accounts").await.json();
    let names: Vec<&str> = all["platforms"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert!(names.contains(&name), "{names:?}");
    let [shown] = &all["accounts"].as_array().unwrap()[..] else { panic!("one account: {all}") };
    assert_eq!(shown["platform"], name);
    assert_eq!(shown["id"], id);
    assert_eq!(shown["name"], account["name"]);
    assert_eq!(shown["currency"], account["currency"]);
    assert_eq!(shown["status"], "active");
    assert!(shown.get("detail").is_none() && shown["last_sync_at"].is_null(), "{shown}");
    assert_eq!(shown["backfill"], json!({ "since": since.to_string(), "until": until.to_string(), "days_done": 0, "days_total": stack.linking().backfill_days }));

    let jobs = stack.jobs().await;
    let expected = SyncJob { tenant: "acme".into(), platform, account_id: id.into(), since, until, refetch_from: today };
    assert_eq!(jobs, std::slice::from_ref(&expected), "one pure backfill job, refetch_from past until");

    // The chooser marks it now; linking it again updates it and queues again.
    let again = stack.get(&stack.acme, &format!("/api/v1/accounts/grants/{grant}")).await.json();
    assert_eq!(again["accounts"][0]["linked"], "active");
    let relinked = stack.post(&stack.acme, "/api/v1/accounts", json!({ "grant": grant, "account_ids": [id, id] })).await;
    assert_eq!(relinked.status, StatusCode::OK, "{}", relinked.body);
    assert_eq!(relinked.json()["accounts"].as_array().unwrap().len(), 1);
    assert_eq!(stack.jobs().await, [expected]);
    assert_eq!(stack.db.count(&format!("SELECT count() FROM platform_accounts FINAL WHERE account_id = '{id}'")).await, 1);

    // The stored credentials open for the account; no answer carried them.
    let stored = stack.store().account("acme", name, id).await.unwrap().expect("stored");
    let credentials = stack.store().credentials(&stack.linking().vault, &stored).await.unwrap().expect("credentials");
    assert!(!credentials.access_token.is_empty());
    let sealed: String = stack.db.client.query("SELECT any(sealed) FROM platform_grants").fetch_one().await.unwrap();
    assert!(!sealed.contains(&credentials.access_token), "grants are stored sealed");
    let secrets: Vec<&str> = [credentials.access_token.as_str(), credentials.refresh_token.as_str(), credentials.token_secret.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();

    // Meta's grant ends with its ~60-day token, so the listing says when and
    // warns in its last two weeks; Google's renews itself and ends never.
    match platform {
        PlatformId::Meta => {
            let ends = shown["grant_ends_at"].as_str().expect("Meta's grant ends");
            let ends = OffsetDateTime::parse(ends, &time::format_description::well_known::Rfc3339).unwrap();
            let days = (ends - OffsetDateTime::now_utc()).whole_days();
            assert!((55..=60).contains(&days), "a long-lived token lasts about 60 days, not {days}");
            assert!(shown.get("warning").is_none(), "{shown}");
            stack
                .db
                .client
                .query(
                    "INSERT INTO platform_credentials SELECT * REPLACE (now64(3) + toIntervalDay(3) AS expires_at, now64(3) AS updated_at) \
                     FROM platform_credentials FINAL WHERE account_id = ?",
                )
                .bind(id)
                .execute()
                .await
                .unwrap();
            let soon = stack.get(&stack.acme, "/api/v1/accounts").await.json();
            let warning = soon["accounts"][0]["warning"].as_str().expect("a warning three days before the end");
            assert!(warning.starts_with("Meta's permission for adhouse ends on ") && warning.contains("re-link"), "{warning}");
        }
        _ => assert!(shown.get("grant_ends_at").is_none() && shown.get("warning").is_none(), "{shown}"),
    }
    stack.assert_no_secret_left(&secrets);
}

#[actix_web::test]
async fn meta_consent_links_an_account_lists_it_and_queues_its_backfill() {
    the_whole_dance("accounts_meta", PlatformId::Meta).await;
}

#[actix_web::test]
async fn google_consent_with_pkce_links_an_account_lists_it_and_queues_its_backfill() {
    the_whole_dance("accounts_google", PlatformId::Google).await;
}

/// Pages and Instagram log in through Meta's dialog, and the account keeps
/// its Page's own token, which does not expire: no end, no warning.
#[actix_web::test]
async fn facebook_and_instagram_consent_links_an_account_with_its_page_token_and_queues_its_backfill() {
    the_whole_dance("accounts_facebook", PlatformId::Facebook).await;
    the_whole_dance("accounts_instagram", PlatformId::Instagram).await;
}

#[actix_web::test]
async fn x_oauth_1_consent_links_an_account_lists_it_and_queues_its_backfill() {
    the_whole_dance("accounts_x", PlatformId::X).await;
}

/// X's OAuth 1.0a: the request token comes back beside the state, its
/// secret stays sealed in `oauth_flows`, and every way to misuse the
/// callback is refused.
#[actix_web::test]
async fn an_x_callback_replayed_or_carrying_another_flows_request_token_is_refused_and_cancel_says_so() {
    let stack = Stack::new("accounts_x_flow").await;
    let params = |back: &str| -> HashMap<String, String> { url::Url::parse(&format!("http://x{back}")).unwrap().query_pairs().into_owned().collect() };
    let first = stack.consent(&stack.acme, "x", "demo", "allow").await;
    let second = stack.consent(&stack.acme, "x", "demo", "allow").await;
    assert_eq!(stack.db.count("SELECT count() FROM oauth_flows").await, 2, "one kept request token per flow");
    let sealed: Vec<String> = stack.db.client.query("SELECT sealed FROM oauth_flows").fetch_all().await.unwrap();
    let (one, two) = (params(&first), params(&second));
    assert!(sealed.iter().all(|s| s.starts_with("dev1.") && !s.contains(&one["oauth_token"]) && !s.contains(&two["oauth_token"])), "sealed at rest");

    // The first flow's state with the second flow's token and verifier.
    let swapped = format!("/oauth/callback/x?state={}&oauth_token={}&oauth_verifier={}", one["state"], two["oauth_token"], two["oauth_verifier"]);
    let refused = stack.callback(&swapped).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    // The second goes through once; its replay is refused.
    assert_eq!(stack.callback(&second).await.status, StatusCode::FOUND);
    let replay = stack.callback(&second).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert!(replay.body.contains("This link has expired"), "{}", replay.body);
    assert_eq!(stack.db.count("SELECT count() FROM platform_grants").await, 1);

    // Cancel on X's page: `denied=<token>`, no verifier.
    let cancelled = stack.callback(&stack.consent(&stack.acme, "x", "demo", "cancel").await).await;
    assert_eq!(cancelled.status, StatusCode::OK);
    assert!(cancelled.body.contains("Nothing was linked") && cancelled.body.contains("X Ads"), "{}", cancelled.body);
    assert_eq!(stack.db.count("SELECT count() FROM platform_grants").await, 1);
    stack.assert_no_secret_left(&[]);
}

#[actix_web::test]
async fn a_replayed_state_is_refused_and_a_forged_or_expired_one_is_refused_before_the_platform() {
    let stack = Stack::new("accounts_state").await;
    let back = stack.consent(&stack.acme, "meta", "demo", "allow").await;
    assert_eq!(stack.callback(&back).await.status, StatusCode::FOUND);
    let replay = stack.callback(&back).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert!(replay.body.contains("This link has expired") && replay.body.contains("/#accounts"), "{}", replay.body);

    let query: HashMap<String, String> = url::Url::parse(&format!("http://x{back}")).unwrap().query_pairs().into_owned().collect();
    let claims = |expires_at: i64| StateClaims {
        platform: PlatformId::Meta,
        tenant: "acme".into(),
        requested_by: adhouse_api::auth::token_hash(&stack.acme),
        nonce: random_token(18),
        expires_at,
    };
    let now = jiff::Timestamp::now().as_second();
    let secret = stack.db.settings.platforms.state_secret.expose().as_bytes().to_vec();
    let forged = StateSigner::new(b"not the server's secret, but long enough to pass").sign(&claims(now + 600));
    let expired = StateSigner::new(&secret).sign(&claims(now - 1));
    let wrong_platform = StateSigner::new(&secret).sign(&StateClaims { platform: PlatformId::Google, ..claims(now + 600) });
    for state in [forged, expired, wrong_platform, "garbage".into()] {
        let uri = format!("/oauth/callback/meta?code={}&state={state}", query["code"]);
        let answer = stack.callback(&uri).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{state}: {}", answer.body);
    }
    assert_eq!(stack.db.count("SELECT count() FROM platform_grants").await, 1, "only the one genuine callback made a grant");
    assert_eq!(stack.db.count("SELECT count() FROM oauth_used_states").await, 1, "refused states spend no nonce");

    // The user clicking Cancel on the consent page gets a page that says so.
    let cancelled = stack.callback(&stack.consent(&stack.acme, "meta", "demo", "cancel").await).await;
    assert_eq!(cancelled.status, StatusCode::OK);
    assert!(cancelled.body.contains("Nothing was linked") && cancelled.body.contains("cancelled"), "{}", cancelled.body);
    assert_eq!(stack.db.count("SELECT count() FROM platform_grants").await, 1);

    let unknown = stack.post(&stack.acme, "/api/v1/accounts/connect", json!({ "platform": "tiktok" })).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.json()["code"], "invalid_choice");
    assert!(unknown.json()["choices"].as_array().unwrap().contains(&json!("meta")));
    stack.assert_no_secret_left(&[]);
}

#[actix_web::test]
async fn another_tenants_token_cannot_read_or_link_the_grant_or_see_the_accounts() {
    let stack = Stack::new("accounts_tenants").await;
    let grant = stack.grant(&stack.acme, "google", "demo").await;
    let second_acme_token = adhouse_api::auth::create(&stack.db.client, "acme", &zone("UTC")).await.unwrap();
    let id = stack.get(&stack.acme, &format!("/api/v1/accounts/grants/{grant}")).await.json()["accounts"][0]["id"].as_str().unwrap().to_owned();
    for token in [&stack.globex, &second_acme_token] {
        let read = stack.get(token, &format!("/api/v1/accounts/grants/{grant}")).await;
        assert_eq!(read.status, StatusCode::NOT_FOUND, "{}", read.body);
        let link = stack.post(token, "/api/v1/accounts", json!({ "grant": grant, "account_ids": [id] })).await;
        assert_eq!(link.status, StatusCode::NOT_FOUND, "{}", link.body);
        assert_eq!(link.json()["code"], "not_found");
    }
    assert!(stack.jobs().await.is_empty());
    let linked = stack.post(&stack.acme, "/api/v1/accounts", json!({ "grant": grant, "account_ids": [id] })).await;
    assert_eq!(linked.status, StatusCode::OK, "{}", linked.body);
    assert_eq!(stack.get(&stack.globex, "/api/v1/accounts").await.json()["accounts"], json!([]));
    assert_eq!(stack.get(&stack.acme, "/api/v1/accounts").await.json()["accounts"].as_array().unwrap().len(), 1);
    assert_eq!(stack.delete(&stack.globex, &format!("/api/v1/accounts/google/{id}")).await.status, StatusCode::NOT_FOUND);
    let foreign = stack.post(&stack.acme, "/api/v1/accounts", json!({ "grant": grant, "account_ids": ["999"] })).await;
    assert_eq!((foreign.status, foreign.json()["field"].clone()), (StatusCode::BAD_REQUEST, json!("account_ids[0]")));
    assert_eq!(stack.get(&stack.acme, "/api/v1/accounts").await.status, StatusCode::OK);
    assert_eq!(stack.call(test::TestRequest::get().uri("/api/v1/accounts")).await.status, StatusCode::UNAUTHORIZED);
    let app = test::init_service(adhouse_api::app(stack.state.clone())).await;
    let put = test::call_service(&app, test::TestRequest::put().uri("/api/v1/accounts").to_request()).await;
    assert_eq!((put.status(), put.headers().get("allow").unwrap().to_str().unwrap()), (StatusCode::METHOD_NOT_ALLOWED, "GET, POST"));
    stack.assert_no_secret_left(&[]);
}

#[actix_web::test]
async fn progress_counts_checkpointed_days_and_unlinking_keeps_the_data_while_purging_deletes_it() {
    let stack = Stack::new("accounts_unlink").await;
    let grant = stack.grant(&stack.acme, "meta", "demo").await;
    let id = stack.get(&stack.acme, &format!("/api/v1/accounts/grants/{grant}")).await.json()["accounts"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(stack.post(&stack.acme, "/api/v1/accounts", json!({ "grant": grant, "account_ids": [id] })).await.status, StatusCode::OK);

    // Ten checkpointed days inside the range at account level, days at
    // other levels and one before the range: progress is 10.
    let store = stack.store();
    let mut account = store.account("acme", "meta", &id).await.unwrap().unwrap();
    let until = account.backfill_until;
    let row = |date| DailyRow { impressions: 1, ..DailyRow::empty(Level::Account, id.clone(), "x".into(), date) };
    let now = OffsetDateTime::now_utc();
    let last_ten = DateRange { since: until - Duration::days(9), until };
    let rows: Vec<DailyRow> = (0..10).map(|d| row(last_ten.since + Duration::days(d))).collect();
    store.put_daily(&account, &rows, now).await.unwrap();
    store.mark_synced(&account, Level::Account, last_ten, &rows, now).await.unwrap();
    store.mark_synced(&account, Level::Account, last_ten, &rows, now + Duration::seconds(1)).await.unwrap();
    store.mark_synced(&account, Level::Campaign, last_ten, &[], now).await.unwrap();
    let before = account.backfill_since - Duration::days(1);
    store.mark_synced(&account, Level::Account, DateRange { since: before, until: before }, &[], now).await.unwrap();
    let listed = stack.get(&stack.acme, "/api/v1/accounts").await.json();
    assert_eq!(listed["accounts"][0]["backfill"]["days_done"], 10, "{listed}");

    // A revoked grant: the account asks for a re-link in plain words.
    account.status = AccountStatus::NeedsRelink;
    account.status_detail = "190/460 the session was invalidated".into();
    store.put_account(&mut account).await.unwrap();
    let listed = stack.get(&stack.acme, "/api/v1/accounts").await.json();
    assert_eq!(listed["accounts"][0]["status"], "needs_relink");
    assert!(listed["accounts"][0]["detail"].as_str().unwrap().contains("re-link"), "{listed}");

    let counts = |table: &'static str| {
        let sql = format!("SELECT count() FROM {table} WHERE tenant = 'acme' AND account_id = '{id}'");
        let db = &stack.db;
        async move { db.count(&sql).await }
    };
    let unlinked = stack.delete(&stack.acme, &format!("/api/v1/accounts/meta/{id}")).await;
    assert_eq!(unlinked.status, StatusCode::OK, "{}", unlinked.body);
    assert_eq!(unlinked.json(), json!({ "platform": "meta", "id": id, "status": "unlinked", "purged": false }));
    assert_eq!(stack.get(&stack.acme, "/api/v1/accounts").await.json()["accounts"], json!([]));
    assert_eq!(store.account("acme", "meta", &id).await.unwrap().unwrap().status, AccountStatus::Unlinked);
    assert_eq!(counts("platform_daily").await, 10, "unlinking keeps the numbers for analysts");
    assert_eq!(counts("platform_sync_days").await, 10 + 10 + 10 + 1);
    assert!(counts("platform_credentials").await >= 1);

    let purged = stack.delete(&stack.acme, &format!("/api/v1/accounts/meta/{id}?purge=true")).await;
    assert_eq!(purged.status, StatusCode::OK, "{}", purged.body);
    assert_eq!(purged.json()["purged"], true);
    for table in ["platform_daily", "platform_sync_days", "platform_credentials"] {
        assert_eq!(counts(table).await, 0, "{table} purged");
    }
    assert_eq!(stack.delete(&stack.acme, "/api/v1/accounts/meta/404404").await.status, StatusCode::NOT_FOUND);
    assert_eq!(stack.delete(&stack.acme, &format!("/api/v1/accounts/meta/{id}?purge=maybe")).await.status, StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn a_link_whose_job_cannot_be_queued_says_so_and_linking_again_once_the_queue_is_back_queues_it() {
    let stack = Stack::new("accounts_queue_down").await;
    let grant = stack.grant(&stack.acme, "meta", "demo").await;
    let id = stack.get(&stack.acme, &format!("/api/v1/accounts/grants/{grant}")).await.json()["accounts"][0]["id"].as_str().unwrap().to_owned();
    stack.sqs.delete_queue().queue_url(&stack.queue_url).send().await.unwrap();
    let failed = stack.post(&stack.acme, "/api/v1/accounts", json!({ "grant": grant, "account_ids": [id] })).await;
    assert_eq!(failed.status, StatusCode::SERVICE_UNAVAILABLE, "{}", failed.body);
    assert_eq!(failed.json()["code"], "sync_queue_unavailable");
    assert!(failed.json()["detail"].as_str().unwrap().contains("link it again"), "{}", failed.body);
    assert!(!failed.body.contains(&stack.queue_url), "the queue's address stays in the server log");

    let name = stack.queue_url.rsplit('/').next().unwrap();
    stack.sqs.create_queue().queue_name(name).send().await.unwrap();
    let linked = stack.post(&stack.acme, "/api/v1/accounts", json!({ "grant": grant, "account_ids": [id] })).await;
    assert_eq!(linked.status, StatusCode::OK, "{}", linked.body);
    let jobs = stack.jobs().await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].account_id, id);
    stack.assert_no_secret_left(&[]);
}
