"""The Facebook Pages and Instagram fake against Meta's documented behaviour, over real sockets."""

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

APP, SECRET = "fake-meta-app", "fake-meta-secret"
REDIRECT = "http://127.0.0.1:8080/oauth/callback/facebook"
PAGE, IG = "5001", "17841400000000501"


@pytest.fixture
def base(stack):
    base = stack["ADHOUSE_DEV_PLATFORMS_URL"]
    for reset in ("meta", "facebook"):
        requests.post(f"{base}/_fake/{reset}/reset").raise_for_status()
    yield base
    for reset in ("meta", "facebook"):
        requests.post(f"{base}/_fake/{reset}/reset").raise_for_status()


def graph(base: str, version: str = "v25.0") -> str:
    return f"{base}/meta/graph/{version}"


def user_token(base: str, user: str = "demo") -> str:
    form = {"user": user, "client_id": APP, "redirect_uri": REDIRECT, "state": "s", "scope": "pages_show_list"}
    consent = requests.post(f"{base}/meta/www/v25.0/dialog/oauth/consent", data=form, allow_redirects=False)
    assert consent.status_code == 302, consent.text
    code = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
    answer = requests.get(f"{graph(base)}/oauth/access_token", params={
        "client_id": APP, "client_secret": SECRET, "redirect_uri": REDIRECT, "code": code})
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def page_token(base: str, user_token_: str, page: str = PAGE) -> str:
    answer = requests.get(f"{graph(base)}/{page}", params={"fields": "access_token", "access_token": user_token_})
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def error_of(answer: requests.Response) -> dict:
    assert answer.status_code == 400, answer.text
    return answer.json()["error"]


def yesterday() -> dt.date:
    from zoneinfo import ZoneInfo
    return dt.datetime.now(ZoneInfo("America/Los_Angeles")).date() - dt.timedelta(days=1)


def oracle(base: str, product: str, account: str, since: dt.date, until: dt.date) -> list[dict]:
    answer = requests.get(f"{base}/_fake/{product}/oracle", params={
        "account": account, "level": "account", "since": since.isoformat(), "until": until.isoformat()})
    answer.raise_for_status()
    return answer.json()["rows"]


def test_me_accounts_lists_the_users_pages_and_their_instagram_accounts(base):
    token = user_token(base)
    answer = requests.get(f"{graph(base)}/me/accounts", params={
        "access_token": token, "fields": "id,name,instagram_business_account{id,username}"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == [
        {"id": PAGE, "name": "Demo Bakery", "instagram_business_account": {"id": IG, "username": "demobakery"}},
        {"id": "5002", "name": "Demo Books"},
    ]
    default = requests.get(f"{graph(base)}/me/accounts", params={"access_token": user_token(base, "other")}).json()
    assert [(p["id"], bool(p["access_token"])) for p in default["data"]] == [("5003", True)], "a Page token each"


def test_page_insights_are_daily_series_ending_at_pacific_midnight_and_equal_the_oracle(base):
    token = page_token(base, user_token(base))
    until = yesterday()
    since = until - dt.timedelta(days=2)
    answer = requests.get(f"{graph(base)}/{PAGE}/insights", params={
        "access_token": token, "metric": "page_follows,page_media_view", "period": "day",
        "since": since.isoformat(), "until": (until + dt.timedelta(days=1)).isoformat()})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    follows, views = body["data"]
    assert (follows["name"], follows["period"], follows["id"]) == ("page_follows", "day", f"{PAGE}/insights/page_follows/day")
    end_times = [v["end_time"] for v in follows["values"]]
    assert all(t.endswith(("T08:00:00+0000", "T07:00:00+0000")) for t in end_times), end_times
    assert end_times[-1].startswith((until + dt.timedelta(days=1)).isoformat())
    expected = oracle(base, "facebook", PAGE, since, until)
    assert [v["value"] for v in follows["values"]] == [r["followers"] for r in expected]
    assert [v["value"] for v in views["values"]] == [r["impressions"] for r in expected]
    # previous/next shift the time range; they are not more of this one.
    assert "since=" in body["paging"]["next"] and "after" not in body["paging"]["next"]


def test_page_insights_need_a_page_token_and_refuse_retired_metrics_and_long_ranges(base):
    user = user_token(base)
    params = {"metric": "page_follows", "period": "day", "since": "2026-01-01", "until": "2026-01-05"}
    assert error_of(requests.get(f"{graph(base)}/{PAGE}/insights", params=params | {"access_token": user}))["code"] == 190
    token = page_token(base, user)
    for retired in ("page_fans", "page_impressions", "page_impressions_unique"):
        error = error_of(requests.get(f"{graph(base)}/{PAGE}/insights", params=params | {"access_token": token, "metric": f"page_follows,{retired}"}))
        assert (error["code"], error["message"]) == (100, "(#100) The value must be a valid insights metric")
    error = error_of(requests.get(f"{graph(base)}/{PAGE}/insights", params=params | {"access_token": token, "until": "2026-06-01"}))
    assert error["code"] == 100 and "90 days" in error["message"]


def test_instagram_takes_metric_types_as_documented_and_retired_impressions_in_every_version(base):
    token = page_token(base, user_token(base))
    day = yesterday()
    params = {"access_token": token, "period": "day", "since": day.isoformat(), "until": (day + dt.timedelta(days=1)).isoformat()}
    total = requests.get(f"{graph(base)}/{IG}/insights", params=params | {"metric": "views,profile_views", "metric_type": "total_value"})
    assert total.status_code == 200, total.text
    expected = oracle(base, "instagram", IG, day, day)[0]
    assert [d["total_value"]["value"] for d in total.json()["data"]] == [expected["impressions"], expected["profile_views"]]
    error = error_of(requests.get(f"{graph(base)}/{IG}/insights", params=params | {"metric": "views", "metric_type": "time_series"}))
    assert error["code"] == 100 and "metric_type=total_value" in error["message"]
    for version in ("v21.0", "v25.0"):
        error = error_of(requests.get(f"{graph(base, version)}/{IG}/insights", params=params | {"metric": "reach,impressions"}))
        assert error["code"] == 100 and "impressions metric is no longer supported" in error["message"]


def test_restatement_changes_the_last_three_complete_days_only(base):
    until = yesterday()
    since = until - dt.timedelta(days=9)
    before = oracle(base, "facebook", PAGE, since, until)
    requests.post(f"{base}/_fake/facebook/restate").raise_for_status()
    after = oracle(base, "facebook", PAGE, since, until)
    assert [b["date"] for b, a in zip(before, after) if b != a] == [r["date"] for r in before[-3:]]


def test_throttling_and_revocation_answer_as_meta_does(base):
    user = user_token(base)
    token = page_token(base, user)
    params = {"access_token": token, "metric": "page_follows", "period": "day", "since": "2026-01-01", "until": "2026-01-02"}
    requests.post(f"{base}/_fake/facebook/throttle", params={"calls": "1", "code": "32"}).raise_for_status()
    throttled = error_of(requests.get(f"{graph(base)}/{PAGE}/insights", params=params))
    assert throttled["code"] == 32 and "Page request limit" in throttled["message"]
    assert requests.get(f"{graph(base)}/{PAGE}/insights", params=params).status_code == 200
    requests.post(f"{base}/_fake/facebook/revoke", params={"user": "demo"}).raise_for_status()
    revoked = error_of(requests.get(f"{graph(base)}/{PAGE}/insights", params=params))
    assert (revoked["code"], revoked["error_subcode"]) == (190, 460)
    assert error_of(requests.get(f"{graph(base)}/me/accounts", params={"access_token": user}))["code"] == 190
