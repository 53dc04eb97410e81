"""The Google Ads fake against its documented surface: the OAuth dance with
PKCE, discovery through a manager, searchStream batches, restatement and
error bodies. Each test makes its own grant, so tests do not share tokens."""

import base64
import hashlib
import secrets
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

CLIENT_ID = "fake-google-client.apps.googleusercontent.com"
CLIENT_SECRET = "fake-google-secret"
SCOPE = "https://www.googleapis.com/auth/adwords"
REDIRECT = "http://127.0.0.1:9/oauth/callback/google"


@pytest.fixture(scope="session")
def fake(stack) -> str:
    return stack["ADHOUSE_DEV_PLATFORMS_URL"]


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _code(fake: str, user: str, verifier: str, state: str = "s1") -> dict[str, str]:
    """Consent page → Allow → the callback's query."""
    page = requests.get(f"{fake}/google/accounts/o/oauth2/v2/auth", params={
        "client_id": CLIENT_ID, "redirect_uri": REDIRECT, "response_type": "code", "scope": SCOPE,
        "access_type": "offline", "prompt": "consent", "state": state,
        "code_challenge": _challenge(verifier), "code_challenge_method": "S256",
    })
    assert page.status_code == 200 and "Allow" in page.text and 'value="other"' in page.text
    consent = requests.post(f"{fake}/google/accounts/o/oauth2/v2/consent", data={
        "user": user, "client_id": CLIENT_ID, "redirect_uri": REDIRECT, "state": state,
        "code_challenge": _challenge(verifier), "scope": SCOPE, "access_type": "offline",
    }, allow_redirects=False)
    assert consent.status_code == 302
    location = urlsplit(consent.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def _exchange(fake: str, code: str, verifier: str) -> requests.Response:
    return requests.post(f"{fake}/google/oauth2/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code_verifier": verifier,
    })


def _grant(fake: str, user: str = "demo") -> dict:
    verifier = secrets.token_urlsafe(32)
    answer = _exchange(fake, _code(fake, user, verifier)["code"], verifier)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _headers(token: str, login: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}", "developer-token": "fake-developer-token"}
    if login:
        headers["login-customer-id"] = login
    return headers


def _stream(fake: str, token: str, cid: str, query: str, login: str | None = None) -> requests.Response:
    return requests.post(f"{fake}/google/ads/v26/customers/{cid}/googleAds:searchStream",
                         json={"query": query}, headers=_headers(token, login))


def _ads_error(response: requests.Response) -> tuple[int, str, dict]:
    return _ads_failure(response.json())


def _ads_failure(body: dict) -> tuple[int, str, dict]:
    """An error body's (or a cut stream's last element's) code, status and one GoogleAdsError."""
    error = body["error"]
    detail = error["details"][0]
    assert detail["@type"] == "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure"
    assert detail["requestId"]
    (failure,) = detail["errors"]
    return error["code"], error["status"], failure


def test_the_oauth_dance_with_pkce_gives_an_access_and_a_refresh_token_once(fake):
    verifier = secrets.token_urlsafe(32)
    callback = _code(fake, "demo", verifier, state="xyz")
    assert callback["state"] == "xyz" and callback["scope"] == SCOPE
    tokens = _exchange(fake, callback["code"], verifier).json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3599 and tokens["scope"] == SCOPE
    assert tokens["access_token"] and tokens["refresh_token"]
    again = _exchange(fake, callback["code"], verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    refreshed = requests.post(f"{fake}/google/oauth2/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
    }).json()
    assert refreshed["access_token"] != tokens["access_token"] and "refresh_token" not in refreshed


def test_a_wrong_verifier_or_secret_is_refused(fake):
    verifier = secrets.token_urlsafe(32)
    code = _code(fake, "demo", verifier)["code"]
    wrong = _exchange(fake, code, secrets.token_urlsafe(32))
    assert wrong.status_code == 400 and wrong.json() == {"error": "invalid_grant", "error_description": "Invalid code verifier."}
    bad_client = requests.post(f"{fake}/google/oauth2/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "client_id": CLIENT_ID, "client_secret": "nope", "code_verifier": verifier,
    })
    assert bad_client.status_code == 401 and bad_client.json()["error"] == "invalid_client"


def test_the_consent_page_demands_an_s256_challenge(fake):
    page = requests.get(f"{fake}/google/accounts/o/oauth2/v2/auth", params={
        "client_id": CLIENT_ID, "redirect_uri": REDIRECT, "response_type": "code", "scope": SCOPE, "state": "s",
    })
    assert page.status_code == 400 and "invalid_request" in page.text


def test_list_accessible_customers_is_direct_access_only(fake):
    for user, expected in [("demo", ["customers/9000000001", "customers/3333333333"]), ("other", ["customers/4444444444"])]:
        token = _grant(fake, user)["access_token"]
        answer = requests.get(f"{fake}/google/ads/v26/customers:listAccessibleCustomers", headers=_headers(token))
        assert answer.status_code == 200 and answer.json() == {"resourceNames": expected}


CLIENTS = ("SELECT customer_client.id, customer_client.descriptive_name, customer_client.manager, "
           "customer_client.currency_code, customer_client.time_zone, customer_client.status FROM customer_client")


def test_customer_client_under_the_manager_needs_login_customer_id_for_clients(fake):
    token = _grant(fake)["access_token"]
    answer = _stream(fake, token, "9000000001", CLIENTS, login="9000000001")
    assert answer.status_code == 200
    (batch,) = answer.json()
    assert batch["fieldMask"] == ("customerClient.id,customerClient.descriptiveName,customerClient.manager,"
                                  "customerClient.currencyCode,customerClient.timeZone,customerClient.status")
    rows = {r["customerClient"]["id"]: r["customerClient"] for r in batch["results"]}
    assert sorted(rows) == ["1111111111", "2222222222", "5555555555", "9000000001"]
    assert rows["2222222222"]["currencyCode"] == "JPY" and rows["2222222222"]["timeZone"] == "Asia/Tokyo"
    assert rows["9000000001"]["manager"] is True and rows["5555555555"]["status"] == "CANCELED"
    query = "SELECT campaign.id, metrics.clicks FROM campaign WHERE segments.date BETWEEN '2026-01-01' AND '2026-01-02'"
    for login in (None, "3333333333"):
        code, status, failure = _ads_error(_stream(fake, token, "1111111111", query, login=login))
        assert (code, status, failure["errorCode"]) == (403, "PERMISSION_DENIED", {"authorizationError": "USER_PERMISSION_DENIED"})
    code, _, failure = _ads_error(_stream(fake, token, "5555555555", query, login="9000000001"))
    assert (code, failure["errorCode"]) == (403, {"authorizationError": "CUSTOMER_NOT_ENABLED"})


def test_search_stream_answers_batches_of_camel_case_rows_with_string_int64s(fake):
    token = _grant(fake)["access_token"]
    until = date.today() - timedelta(days=20)
    since = until - timedelta(days=89)
    requests.post(f"{fake}/_fake/google/batch", params={"customer": "3333333333", "rows": "100"}).raise_for_status()
    try:
        answer = _stream(fake, token, "3333333333",
                         "SELECT segments.date, ad_group_ad.ad.id, ad_group_ad.ad.name, metrics.impressions, "
                         "metrics.cost_micros, metrics.conversions FROM ad_group_ad "
                         f"WHERE segments.date BETWEEN '{since}' AND '{until}'")
    finally:
        requests.post(f"{fake}/_fake/google/batch", params={"customer": "3333333333", "rows": "10000"})
    batches = answer.json()
    assert len(batches) > 1 and all(len(b["results"]) <= 100 for b in batches)
    assert {b["fieldMask"] for b in batches} == {"segments.date,adGroupAd.ad.id,adGroupAd.ad.name,metrics.impressions,metrics.costMicros,metrics.conversions"}
    rows = [r for b in batches for r in b["results"]]
    first = rows[0]
    assert set(first) == {"segments", "adGroupAd", "metrics"} and set(first["metrics"]) == {"impressions", "costMicros", "conversions"}
    assert isinstance(first["metrics"]["impressions"], str) and isinstance(first["metrics"]["costMicros"], str)
    assert isinstance(first["metrics"]["conversions"], float)
    oracle = requests.get(f"{fake}/_fake/google/oracle", params={
        "account": "3333333333", "level": "ad", "since": since, "until": until}).json()["rows"]
    assert [(r["segments"]["date"], r["adGroupAd"]["ad"]["id"], int(r["metrics"]["costMicros"])) for r in rows] == [
        (o["date"], o["entity_id"], o["spend_micros"]) for o in oracle]


def test_restatement_changes_only_the_last_14_days(fake):
    token = _grant(fake, "other")["access_token"]
    today = date.today()
    since = today - timedelta(days=40)
    query = ("SELECT segments.date, campaign.id, metrics.clicks FROM campaign "
             f"WHERE segments.date BETWEEN '{since}' AND '{today}'")

    def clicks():
        return {(r["segments"]["date"], r["campaign"]["id"]): r["metrics"]["clicks"]
                for b in _stream(fake, token, "4444444444", query).json() for r in b["results"]}

    before = clicks()
    requests.post(f"{fake}/_fake/google/restate", params={"customer": "4444444444"}).raise_for_status()
    after = clicks()
    assert before.keys() == after.keys()
    changed = {d for (d, _), v in after.items() if before[(d, _)] != v}
    old = str(today - timedelta(days=15))
    assert changed and all(d > old for d in changed)
    assert all(after[k] == before[k] for k in after if k[0] <= old)


def test_error_bodies_for_tokens_quota_dates_and_queries(fake):
    grant = _grant(fake)
    token = grant["access_token"]
    query = "SELECT segments.date, customer.id, metrics.clicks FROM customer WHERE segments.date BETWEEN '{}' AND '{}'"
    recent = date.today() - timedelta(days=3)

    old = _stream(fake, token, "3333333333", query.format("2020-01-01", "2020-01-31"))
    assert _ads_error(old)[2]["errorCode"] == {"dateRangeError": "REQUESTED_DATE_GRANULARITY_NOT_SUPPORTED"}
    bad = _stream(fake, token, "3333333333", "SELECT campaign.id, metrics.bogus FROM campaign WHERE segments.date BETWEEN '2026-01-01' AND '2026-01-01'")
    code, status, failure = _ads_error(bad)
    assert (code, status, failure["errorCode"]) == (400, "INVALID_ARGUMENT", {"queryError": "UNRECOGNIZED_FIELD"})
    assert failure["message"] == "Unrecognized field in the query: 'metrics.bogus'."
    # v22 replaced metrics.video_views with metrics.video_trueview_views.
    views = "SELECT segments.date, campaign.id, metrics.{} FROM campaign WHERE segments.date BETWEEN '{}' AND '{}'"
    removed = _stream(fake, token, "3333333333", views.format("video_views", recent, recent))
    assert _ads_error(removed)[2]["errorCode"] == {"queryError": "UNRECOGNIZED_FIELD"}
    trueview = _stream(fake, token, "3333333333", views.format("video_trueview_views", recent, recent))
    assert trueview.status_code == 200
    assert all(set(r["metrics"]) == {"videoTrueviewViews"} for b in trueview.json() for r in b.get("results", []))
    no_dates = _stream(fake, token, "3333333333", "SELECT campaign.id, metrics.clicks FROM campaign")
    assert _ads_error(no_dates)[2]["errorCode"] == {"queryError": "EXPECTED_FILTERS_ON_DATE_RANGE"}
    no_dev = requests.get(f"{fake}/google/ads/v26/customers:listAccessibleCustomers", headers={"Authorization": f"Bearer {token}"})
    assert _ads_error(no_dev)[2]["errorCode"] == {"authenticationError": "DEVELOPER_TOKEN_INVALID"}

    throttled_before = requests.get(f"{fake}/_fake/google/calls").json()["calls"].get("throttled.3333333333", 0)
    requests.post(f"{fake}/_fake/google/throttle", params={"customer": "3333333333", "calls": "1", "retry_delay_secs": "3"})
    code, status, failure = _ads_error(_stream(fake, token, "3333333333", query.format(recent, recent)))
    assert (code, status, failure["errorCode"]) == (429, "RESOURCE_EXHAUSTED", {"quotaError": "RESOURCE_EXHAUSTED"})
    assert failure["details"]["quotaErrorDetails"]["retryDelay"] == "3s"
    assert _stream(fake, token, "3333333333", query.format(recent, recent)).status_code == 200
    assert requests.get(f"{fake}/_fake/google/calls").json()["calls"]["throttled.3333333333"] == throttled_before + 1

    requests.post(f"{fake}/_fake/google/expire", params={"refresh_token": grant["refresh_token"]}).raise_for_status()
    code, status, failure = _ads_error(_stream(fake, token, "3333333333", query.format(recent, recent)))
    assert (code, status, failure["errorCode"]) == (401, "UNAUTHENTICATED", {"authenticationError": "OAUTH_TOKEN_EXPIRED"})

    requests.post(f"{fake}/_fake/google/revoke", params={"refresh_token": grant["refresh_token"]}).raise_for_status()
    refresh = requests.post(f"{fake}/google/oauth2/token", data={
        "grant_type": "refresh_token", "refresh_token": grant["refresh_token"],
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
    })
    assert refresh.status_code == 400
    assert refresh.json() == {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}


def test_a_cut_stream_answers_200_with_its_first_rows_then_an_error_element(fake):
    grant = _grant(fake)
    token = grant["access_token"]
    recent = date.today() - timedelta(days=3)
    query = ("SELECT segments.date, campaign.id, metrics.clicks FROM campaign "
             f"WHERE segments.date BETWEEN '{recent - timedelta(days=29)}' AND '{recent}'")
    whole = [r for b in _stream(fake, token, "3333333333", query).json() for r in b["results"]]
    requests.post(f"{fake}/_fake/google/cut", params={"refresh_token": grant["refresh_token"], "rows": "2"}).raise_for_status()
    requests.post(f"{fake}/_fake/google/cut", params={"customer": "3333333333", "error": "quota", "calls": "1"}).raise_for_status()
    try:
        cut = _stream(fake, token, "3333333333", query)
        assert cut.status_code == 200
        *batches, last = cut.json()
        assert [r for b in batches for r in b["results"]] == whole[:2] and len(whole) > 2
        code, status, failure = _ads_failure(last)
        assert (code, status, failure["errorCode"]) == (500, "INTERNAL", {"internalError": "TRANSIENT_ERROR"})
        # The grant's cut is spent; the customer's comes next, to any grant.
        *_, last = _stream(fake, token, "3333333333", query).json()
        code, status, failure = _ads_failure(last)
        assert (code, status, failure["errorCode"]) == (429, "RESOURCE_EXHAUSTED", {"quotaError": "RESOURCE_EXHAUSTED"})
        assert failure["details"]["quotaErrorDetails"]["retryDelay"] == "3s"
        again = _stream(fake, token, "3333333333", query).json()
        assert [r for b in again for r in b["results"]] == whole and "error" not in again[-1]
    finally:
        requests.post(f"{fake}/_fake/google/cut", params={"customer": "3333333333", "calls": "0"})


def test_revoking_a_user_kills_their_access_tokens(fake):
    token = _grant(fake, "other")["access_token"]
    other_user = _grant(fake, "demo")["access_token"]
    requests.post(f"{fake}/_fake/google/revoke", params={"user": "other"}).raise_for_status()
    answer = requests.get(f"{fake}/google/ads/v26/customers:listAccessibleCustomers", headers=_headers(token))
    assert _ads_error(answer)[2]["errorCode"] == {"authenticationError": "OAUTH_TOKEN_REVOKED"}
    assert requests.get(f"{fake}/google/ads/v26/customers:listAccessibleCustomers", headers=_headers(other_user)).status_code == 200


def test_a_day_restated_to_no_activity_leaves_the_stream(fake):
    token = _grant(fake, "other")["access_token"]
    today = date.today()
    since = today - timedelta(days=5)
    oracle = lambda: requests.get(f"{fake}/_fake/google/oracle", params={  # noqa: E731
        "account": "4444444444", "level": "campaign", "since": str(since), "until": str(today)}).json()["rows"]
    gone = oracle()[0]
    requests.post(f"{fake}/_fake/google/zero", params={
        "customer": "4444444444", "entity": gone["entity_id"], "date": gone["date"]}).raise_for_status()
    query = ("SELECT segments.date, campaign.id, metrics.cost_micros FROM campaign "
             f"WHERE segments.date BETWEEN '{since}' AND '{today}'")
    served = [(r["segments"]["date"], r["campaign"]["id"], int(r["metrics"]["costMicros"]))
              for b in _stream(fake, token, "4444444444", query).json() for r in b.get("results", [])]
    assert (gone["date"], gone["entity_id"], gone["spend_micros"]) not in served
    assert served == [(r["date"], r["entity_id"], r["spend_micros"]) for r in oracle()]
