//! Token lifecycle: expiry, listing, revocation without `ALTER … DELETE`,
//! the cache's bound on revocation, and the last use recorded.

use std::time::Duration;

use actix_web::http::StatusCode;
use adhouse_api::auth::{self, Revoke, Revoked, TokenStore};
use serde_json::json;

use crate::support::{Api, zone};

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

#[actix_web::test]
async fn an_expired_token_is_refused_and_one_not_yet_expired_works() {
    let api = Api::loaded("token_expiry").await;
    let body = json!({ "metrics": ["requests"], "time_range": { "preset": "today" } });
    let past = auth::create_expiring(&api.db.client, "acme", &zone("UTC"), Some(now() - 1)).await.unwrap();
    let future = auth::create_expiring(&api.db.client, "acme", &zone("UTC"), Some(now() + 86_400)).await.unwrap();
    assert_eq!(api.post(&past, &body).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(api.post(&future, &body).await.0, StatusCode::OK);
}

#[actix_web::test]
async fn a_revoked_token_is_refused_at_the_next_lookup_and_cached_ones_within_the_cache_bound() {
    let api = Api::loaded("token_revoke").await;
    let client = &api.db.client;
    let token = auth::create(client, "acme", &zone("UTC")).await.unwrap();
    let uncached = TokenStore::new(client.clone(), Duration::ZERO);
    let cached = TokenStore::new(client.clone(), Duration::from_secs(3_600));
    assert_eq!(uncached.tenant(&token).await.unwrap().id, "acme");
    assert_eq!(cached.tenant(&token).await.unwrap().id, "acme");

    let id = auth::token_hash(&token)[..12].to_owned();
    assert_eq!(auth::revoke(client, &Revoke::Id(id.clone())).await.unwrap(), Revoked::Now(vec![id.clone()]));
    assert!(uncached.tenant(&token).await.is_err(), "a lookup after the revocation refuses it");
    assert_eq!(cached.tenant(&token).await.unwrap().id, "acme", "a cached entry lives out api.token_cache_secs: the documented bound");
    assert!(TokenStore::new(client.clone(), Duration::from_secs(3_600)).tenant(&token).await.is_err(), "a fresh cache refuses it");
    assert_eq!(auth::revoke(client, &Revoke::Id(id)).await.unwrap(), Revoked::Now(vec![]), "revoking twice changes nothing");

    let globex = auth::revoke(client, &Revoke::Tenant("globex".into())).await.unwrap();
    assert_eq!(globex, Revoked::Now(vec![auth::token_hash(&api.globex)[..12].to_owned()]));
    assert!(uncached.tenant(&api.globex).await.is_err());
    assert_eq!(uncached.tenant(&api.acme).await.unwrap().id, "acme", "other tenants' tokens keep working");
}

#[actix_web::test]
async fn tokens_are_listed_with_expiry_last_use_and_revocation_but_never_the_token() {
    let api = Api::loaded("token_list").await;
    let client = &api.db.client;
    let expiring = auth::create_expiring(client, "initech", &zone("Europe/Berlin"), Some(now() + 86_400)).await.unwrap();
    let (status, _) = api.post(&api.acme, &json!({ "metrics": ["requests"], "time_range": { "preset": "today" } })).await;
    assert_eq!(status, StatusCode::OK);
    auth::revoke(client, &Revoke::Tenant("globex".into())).await.unwrap();

    let tokens = auth::list(client, None).await.unwrap();
    assert_eq!(tokens.iter().map(|t| t.tenant.as_str()).collect::<Vec<_>>(), ["acme", "globex", "initech"]);
    let [acme, globex, initech] = &tokens[..] else { panic!("{tokens:?}") };
    assert_eq!(acme.id, auth::token_hash(&api.acme)[..12]);
    assert!(!acme.last_used_at.is_empty() && acme.revoked_at.is_empty() && acme.expires_at.is_empty(), "{acme:?}");
    assert!(globex.last_used_at.is_empty() && !globex.revoked_at.is_empty(), "{globex:?}");
    assert!(!initech.expires_at.is_empty() && initech.timezone == "Europe/Berlin", "{initech:?}");
    let listed = format!("{tokens:?}");
    for token in [&api.acme, &api.globex, &expiring] {
        assert!(!listed.contains(token.as_str()), "no token in the list");
    }
    assert_eq!(auth::list(client, Some("initech")).await.unwrap().len(), 1);

    // More lookups within the minute write no second `used` event.
    let uncached = TokenStore::new(client.clone(), Duration::ZERO);
    for _ in 0..3 {
        uncached.tenant(&api.acme).await.unwrap();
    }
    let uses = api.db.count(&format!("SELECT count() FROM api_token_events WHERE event = 'used' AND token_sha256 = '{}'", auth::token_hash(&api.acme))).await;
    assert_eq!(uses, 1);
}

