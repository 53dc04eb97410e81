"""The Meta fake against Meta's documented behaviour, over real sockets."""

import datetime as dt
import json
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests

APP, SECRET = "fake-meta-app", "fake-meta-secret"
REDIRECT = "http://127.0.0.1:8080/oauth/callback/meta"


@pytest.fixture
def meta(stack):
    """The fake's base URL, its controls reset before and after the test."""
    base = stack["ADHOUSE_DEV_PLATFORMS_URL"]
    requests.post(f"{base}/_fake/meta/reset").raise_for_status()
    yield base
    requests.post(f"{base}/_fake/meta/reset").raise_for_status()


def graph(base: str) -> str:
    return f"{base}/meta/graph/v25.0"


def code_for(base: str, user: str, state: str = "st", redirect: str = REDIRECT) -> str:
    form = {"user": user, "client_id": APP, "redirect_uri": redirect, "state": state, "scope": "ads_read"}
    answer = requests.post(f"{base}/meta/www/v25.0/dialog/oauth/consent", data=form, allow_redirects=False)
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect
    query = parse_qs(location.query)
    assert query["state"] == [state]
    return query["code"][0]


def short_token(base: str, user: str) -> str:
    answer = requests.get(f"{graph(base)}/oauth/access_token", params={
        "client_id": APP, "client_secret": SECRET, "redirect_uri": REDIRECT, "code": code_for(base, user)})
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def error_of(answer: requests.Response) -> dict:
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["type"] == "OAuthException" and error["fbtrace_id"], error
    return error


def insights(base: str, token: str, account: str, level: str, since: dt.date, until: dt.date, **extra):
    params = {
        "access_token": token, "level": level, "time_increment": "1",
        "fields": "account_id,campaign_id,campaign_name,adset_id,ad_id,impressions,clicks,spend,reach,"
                  "actions,action_values,video_play_actions",
        "time_range": json.dumps({"since": since.isoformat(), "until": until.isoformat()}),
        **extra,
    }
    return requests.get(f"{graph(base)}/act_{account}/insights", params=params)


def all_pages(first: requests.Response, get_next) -> list[dict]:
    rows, answer = [], first
    while True:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        rows += body["data"]
        if "next" not in body.get("paging", {}):
            return rows
        answer = get_next(body["paging"]["cursors"]["after"])


def local_today(zone: str) -> dt.date:
    return dt.datetime.now(ZoneInfo(zone)).date()


def oracle(base: str, account: str, level: str, since: dt.date, until: dt.date) -> list[dict]:
    answer = requests.get(f"{base}/_fake/meta/oracle", params={
        "account": account, "level": level, "since": since.isoformat(), "until": until.isoformat()})
    answer.raise_for_status()
    return answer.json()["rows"]


def to_unified(row: dict, id_field: str) -> dict:
    """What an API row means in the oracle's units (Decimal keeps it exact)."""
    micros = lambda text: int(Decimal(text) * 1_000_000)  # noqa: E731
    action = lambda name, kind: next(  # noqa: E731
        (a["value"] for a in row.get(name, []) if a["action_type"] == kind), "0")
    return {
        "entity_id": row[id_field], "date": row["date_start"], "impressions": int(row["impressions"]),
        "clicks": int(row["clicks"]), "spend_micros": micros(row["spend"]), "reach": int(row["reach"]),
        "conversions_micros": micros(action("actions", "offsite_conversion.fb_pixel_purchase")),
        "conversion_value_micros": micros(action("action_values", "offsite_conversion.fb_pixel_purchase")),
        "video_views": int(action("video_play_actions", "video_view")),
    }


def test_login_dialog_shows_the_app_scopes_and_users_and_its_code_buys_a_short_then_a_long_token(meta):
    page = requests.get(f"{meta}/meta/www/v25.0/dialog/oauth", params={
        "client_id": APP, "redirect_uri": REDIRECT, "state": "s1", "scope": "ads_read,business_management",
        "response_type": "code"})
    assert page.status_code == 200
    for text in ["adhouse (local)", "ads_read", "business_management", 'value="demo"', 'value="other"',
                 'action="/meta/www/v25.0/dialog/oauth/consent"', "Allow"]:
        assert text in page.text
    code = code_for(meta, "demo", state="s1")
    params = {"client_id": APP, "client_secret": SECRET, "redirect_uri": REDIRECT, "code": code}
    short = requests.get(f"{graph(meta)}/oauth/access_token", params=params)
    assert short.status_code == 200
    assert short.json()["token_type"] == "bearer" and 0 < short.json()["expires_in"] < 86400
    again = error_of(requests.get(f"{graph(meta)}/oauth/access_token", params=params))
    assert (again["code"], again["error_subcode"]) == (100, 36009)
    long = requests.get(f"{graph(meta)}/oauth/access_token", params={
        "grant_type": "fb_exchange_token", "client_id": APP, "client_secret": SECRET,
        "fb_exchange_token": short.json()["access_token"]})
    assert long.status_code == 200
    assert long.json()["expires_in"] == 5183944 and long.json()["token_type"] == "bearer"
    me = requests.get(f"{graph(meta)}/me/adaccounts", headers={"Authorization": f"Bearer {long.json()['access_token']}"})
    assert [a["id"] for a in me.json()["data"]] == ["act_1001", "act_1002"]


def test_a_code_is_checked_against_its_redirect_uri_and_the_app_secret(meta):
    code = code_for(meta, "demo")
    wrong_uri = error_of(requests.get(f"{graph(meta)}/oauth/access_token", params={
        "client_id": APP, "client_secret": SECRET, "redirect_uri": REDIRECT + "x", "code": code}))
    assert (wrong_uri["code"], wrong_uri["error_subcode"]) == (100, 36008)
    wrong_secret = error_of(requests.get(f"{graph(meta)}/oauth/access_token", params={
        "client_id": APP, "client_secret": "nope", "redirect_uri": REDIRECT, "code": code}))
    assert wrong_secret["code"] == 1 and "client secret" in wrong_secret["message"]


def test_the_dialog_refuses_an_unknown_app_or_an_unregistered_redirect_and_cancel_reports_user_denied(meta):
    dialog = f"{meta}/meta/www/v25.0/dialog/oauth"
    assert "Invalid App ID" in requests.get(dialog, params={"client_id": "x", "redirect_uri": REDIRECT}).text
    assert "URL Blocked" in requests.get(dialog, params={
        "client_id": APP, "redirect_uri": "https://evil.example/oauth/callback/meta"}).text
    cancelled = requests.post(f"{dialog}/consent", allow_redirects=False, data={
        "decision": "cancel", "user": "demo", "client_id": APP, "redirect_uri": REDIRECT, "state": "s9"})
    query = parse_qs(urlsplit(cancelled.headers["Location"]).query)
    assert query["error_reason"] == ["user_denied"] and query["state"] == ["s9"]


def test_ad_accounts_page_by_cursor_and_each_user_sees_their_own(meta):
    token = short_token(meta, "demo")
    fields = "account_id,name,currency,timezone_name,account_status"
    get = lambda after=None: requests.get(f"{graph(meta)}/me/adaccounts", params={  # noqa: E731
        "access_token": token, "fields": fields, "limit": "1", **({"after": after} if after else {})})
    first = get()
    assert len(first.json()["data"]) == 1 and first.json()["paging"]["next"].startswith("https://graph.facebook.com/")
    accounts = all_pages(first, get)
    assert accounts == [
        {"id": "act_1001", "account_id": "1001", "name": "Demo US", "currency": "USD",
         "timezone_name": "America/Los_Angeles", "account_status": 1},
        {"id": "act_1002", "account_id": "1002", "name": "Demo DE", "currency": "EUR",
         "timezone_name": "Europe/Berlin", "account_status": 1},
    ]
    other = requests.get(f"{graph(meta)}/me/adaccounts", params={"access_token": short_token(meta, "other"),
                                                                  "fields": "account_id,currency"})
    assert other.json()["data"] == [{"account_id": "2001", "currency": "GBP", "id": "act_2001"}]


def test_insights_numbers_are_strings_days_are_local_and_every_page_equals_the_oracle(meta):
    token = short_token(meta, "demo")
    until = local_today("America/Los_Angeles")
    since = until - dt.timedelta(days=20)
    get = lambda after=None: insights(meta, token, "1001", "campaign", since, until,  # noqa: E731
                                      limit="7", **({"after": after} if after else {}))
    rows = all_pages(get(), get)
    assert len(rows) > 7
    for row in rows:
        assert all(isinstance(row[k], str) for k in ("impressions", "clicks", "spend", "reach"))
        assert row["date_start"] == row["date_stop"] and "ad_id" not in row and "adset_id" not in row
        assert int(row["clicks"]) <= int(row["impressions"]) and int(row["reach"]) <= int(row["impressions"])
        assert all(isinstance(a["value"], str) for a in row.get("actions", []))
    assert max(r["date_start"] for r in rows) <= until.isoformat()
    expected = [{k: v for k, v in r.items() if k != "entity_name"}
                for r in oracle(meta, "1001", "campaign", since, until)]
    assert [to_unified(r, "campaign_id") for r in rows] == expected
    # Zero-activity days are absent: 3 campaigns x 21 days would be 63 rows.
    assert len(expected) < 63


def test_a_report_run_goes_not_started_started_running_completed_and_serves_the_same_rows_paged(meta):
    token = short_token(meta, "demo")
    until = local_today("Europe/Berlin") - dt.timedelta(days=3)
    since = until - dt.timedelta(days=30)
    body = {"access_token": token, "level": "ad", "time_increment": "1", "fields": "ad_id,ad_name,impressions,spend",
            "time_range": json.dumps({"since": since.isoformat(), "until": until.isoformat()})}
    run = requests.post(f"{graph(meta)}/act_1002/insights", data=body)
    run_id = run.json()["report_run_id"]
    early = requests.get(f"{graph(meta)}/{run_id}/insights", params={"access_token": token})
    assert error_of(early)["code"] == 100
    statuses = [requests.get(f"{graph(meta)}/{run_id}", params={"access_token": token}).json() for _ in range(5)]
    assert [s["async_status"] for s in statuses] == [
        "Job Not Started", "Job Started", "Job Running", "Job Completed", "Job Completed"]
    assert statuses[-1]["async_percent_completion"] == 100
    get = lambda after=None: requests.get(f"{graph(meta)}/{run_id}/insights", params={  # noqa: E731
        "access_token": token, "limit": "100", **({"after": after} if after else {})})
    rows = all_pages(get(), get)
    expected = oracle(meta, "1002", "ad", since, until)
    assert [(r["ad_id"], r["ad_name"], r["date_start"], r["impressions"]) for r in rows] == [
        (e["entity_id"], e["entity_name"], e["date"], str(e["impressions"])) for e in expected]
    assert len(rows) > 100
    stranger = requests.get(f"{graph(meta)}/{run_id}", params={"access_token": short_token(meta, "other")})
    assert (error_of(stranger)["code"], error_of(stranger)["error_subcode"]) == (100, 33)


def test_restatement_changes_the_last_28_local_days_and_never_older_ones(meta):
    until = local_today("America/Los_Angeles")
    since = until - dt.timedelta(days=60)
    before = {(r["entity_id"], r["date"]): r for r in oracle(meta, "1001", "campaign", since, until)}
    requests.post(f"{meta}/_fake/meta/restate").raise_for_status()
    after = {(r["entity_id"], r["date"]): r for r in oracle(meta, "1001", "campaign", since, until)}
    cutoff = (until - dt.timedelta(days=27)).isoformat()
    old = [k for k in before if k[1] < cutoff]
    recent = [k for k in set(before) & set(after) if k[1] >= cutoff]
    assert old and all(before[k] == after[k] for k in old)
    assert recent and all(before[k] != after[k] for k in recent)
    token = short_token(meta, "demo")
    served = all_pages(insights(meta, token, "1001", "campaign", since, until, limit="500"), None)
    assert [to_unified(r, "campaign_id") for r in served] == [
        {k: v for k, v in r.items() if k != "entity_name"} for r in after.values()]


def test_revoked_and_expired_tokens_answer_190_with_their_subcodes_and_an_expired_one_cannot_be_exchanged(meta):
    revoked, expired = short_token(meta, "other"), short_token(meta, "demo")
    requests.post(f"{meta}/_fake/meta/revoke", params={"user": "other"}).raise_for_status()
    requests.post(f"{meta}/_fake/meta/expire", params={"user": "demo"}).raise_for_status()
    for token, subcode in [(revoked, 460), (expired, 463)]:
        error = error_of(requests.get(f"{graph(meta)}/me/adaccounts", params={"access_token": token}))
        assert (error["code"], error["error_subcode"]) == (190, subcode)
    exchange = error_of(requests.get(f"{graph(meta)}/oauth/access_token", params={
        "grant_type": "fb_exchange_token", "client_id": APP, "client_secret": SECRET, "fb_exchange_token": expired}))
    assert (exchange["code"], exchange["error_subcode"]) == (190, 463)
    assert requests.get(f"{graph(meta)}/me/adaccounts", params={"access_token": short_token(meta, "other")}).ok


def test_bad_parameters_old_start_dates_and_too_much_data_answer_metas_errors(meta):
    token = short_token(meta, "demo")
    today = local_today("America/Los_Angeles")
    bad_level = error_of(insights(meta, token, "1001", "keyword", today, today))
    assert bad_level["code"] == 100
    bad_field = error_of(insights(meta, token, "1001", "ad", today, today, fields="ad_id,cost"))
    assert bad_field["code"] == 100 and "cost" in bad_field["message"]
    too_old = error_of(insights(meta, token, "1001", "account", today - dt.timedelta(days=1140), today))
    assert too_old["code"] == 3018 and too_old["message"].startswith("(#3018)")
    old_but_kept = today - dt.timedelta(days=1123)
    assert insights(meta, token, "1001", "account", old_but_kept, old_but_kept + dt.timedelta(days=9)).ok
    year = insights(meta, token, "1001", "ad", today - dt.timedelta(days=364), today)
    too_much = error_of(year)
    assert too_much["code"] == 1 and "reduce the amount of data" in too_much["message"]
    assert error_of(insights(meta, token, "1999", "ad", today, today))["error_subcode"] == 33


def test_a_report_run_of_a_year_at_ad_level_fails(meta):
    token = short_token(meta, "demo")
    today = local_today("America/Los_Angeles")
    run = requests.post(f"{graph(meta)}/act_1001/insights", data={
        "access_token": token, "level": "ad", "fields": "ad_id,impressions", "time_increment": "1",
        "time_range": json.dumps({"since": (today - dt.timedelta(days=364)).isoformat(), "until": today.isoformat()})})
    run_id = run.json()["report_run_id"]
    statuses = [requests.get(f"{graph(meta)}/{run_id}", params={"access_token": token}).json()["async_status"]
                for _ in range(4)]
    assert statuses == ["Job Not Started", "Job Started", "Job Failed", "Job Failed"]


def test_usage_headers_rise_with_calls_and_throttling_answers_at_100_percent_with_the_wait(meta):
    token = short_token(meta, "demo")
    today = local_today("Europe/Berlin")
    usage = []
    for _ in range(3):
        answer = insights(meta, token, "1002", "account", today, today)
        app = json.loads(answer.headers["x-app-usage"])
        account = json.loads(answer.headers["x-ad-account-usage"])
        buc = json.loads(answer.headers["x-business-use-case-usage"])
        assert set(app) == {"call_count", "total_cputime", "total_time"}
        assert buc["1002"][0]["type"] == "ads_insights" and "estimated_time_to_regain_access" in buc["1002"][0]
        usage.append(account["acc_id_util_pct"])
    assert usage == sorted(usage) and usage[0] < usage[-1]
    requests.post(f"{meta}/_fake/meta/throttle", params={"calls": "2", "minutes": "3"}).raise_for_status()
    for _ in range(2):
        throttled = insights(meta, token, "1002", "account", today, today)
        error = error_of(throttled)
        assert (error["code"], error["error_subcode"]) == (80000, 2446079)
        assert json.loads(throttled.headers["x-ad-account-usage"])["acc_id_util_pct"] == 100
        assert json.loads(throttled.headers["x-business-use-case-usage"])["1002"][0][
            "estimated_time_to_regain_access"] == 3
    assert insights(meta, token, "1002", "account", today, today).ok
    calls = requests.get(f"{meta}/_fake/meta/calls").json()["calls"]
    assert calls["insights_sync"] == 6 and calls["throttled"] == 2


def test_deleted_and_archived_objects_leave_their_levels_answers_unless_filtering_asks_for_them(meta):
    token = short_token(meta, "demo")
    until = local_today("America/Los_Angeles")
    since = until - dt.timedelta(days=6)
    every = {"ad": ["ACTIVE", "PAUSED", "DELETED", "PENDING_REVIEW", "DISAPPROVED", "PREAPPROVED",
                    "PENDING_BILLING_INFO", "CAMPAIGN_PAUSED", "ARCHIVED", "ADSET_PAUSED", "IN_PROCESS", "WITH_ISSUES"],
             "campaign": ["ACTIVE", "PAUSED", "DELETED", "ARCHIVED", "IN_PROCESS", "WITH_ISSUES"]}
    served = lambda level, **extra: {r[f"{level}_id"] for r in all_pages(  # noqa: E731
        insights(meta, token, "1001", level, since, until, limit="500", **extra), None)}
    account_before = all_pages(insights(meta, token, "1001", "account", since, until), None)
    ads = served("ad")
    deleted, campaign = sorted(ads)[0], sorted(served("campaign"))[-1]
    requests.post(f"{meta}/_fake/meta/delete", params={"account": "1001", "entity": deleted}).raise_for_status()
    requests.post(f"{meta}/_fake/meta/archive", params={"account": "1001", "entity": campaign}).raise_for_status()
    # The ads of the archived campaign inherit its status.
    hidden = served("ad")
    assert deleted not in hidden and not any(ad.startswith("240100103") for ad in hidden) and hidden < ads
    assert campaign not in served("campaign")
    filtering = lambda level: json.dumps([{"field": f"{level}.effective_status", "operator": "IN",  # noqa: E731
                                           "value": every[level]}])
    assert served("ad", filtering=filtering("ad")) == ads
    assert campaign in served("campaign", filtering=filtering("campaign"))
    only_deleted = json.dumps([{"field": "ad.effective_status", "operator": "IN", "value": ["DELETED"]}])
    assert served("ad", filtering=only_deleted) == {deleted}
    # The account level counts every ad, whatever its status.
    assert all_pages(insights(meta, token, "1001", "account", since, until), None) == account_before
    assert {r["entity_id"] for r in oracle(meta, "1001", "ad", since, until)} == ads


def test_malformed_filtering_answers_metas_errors(meta):
    token = short_token(meta, "demo")
    today = local_today("America/Los_Angeles")
    not_a_list = error_of(insights(meta, token, "1001", "ad", today, today, filtering='{"field":"ad.effective_status"}'))
    assert (not_a_list["code"], not_a_list["message"]) == (100, "(#100) param filtering must be an array.")
    field = json.dumps([{"field": "delivery_info", "operator": "IN", "value": ["active"]}])
    bad_field = error_of(insights(meta, token, "1001", "ad", today, today, filtering=field))
    assert (bad_field["code"], bad_field["message"]) == (100, "(#100) Filtering field delivery_info is invalid")
    value = json.dumps([{"field": "campaign.effective_status", "operator": "IN", "value": ["ADSET_PAUSED"]}])
    bad_value = error_of(insights(meta, token, "1001", "campaign", today, today, filtering=value))
    assert (bad_value["code"], bad_value["error_subcode"]) == (100, 1487561)


def test_a_day_restated_to_no_delivery_leaves_the_answers(meta):
    token = short_token(meta, "demo")
    until = local_today("Europe/Berlin")
    since = until - dt.timedelta(days=6)
    gone = oracle(meta, "1002", "campaign", since, until)[0]
    requests.post(f"{meta}/_fake/meta/zero", params={
        "account": "1002", "entity": gone["entity_id"], "date": gone["date"]}).raise_for_status()
    served = [to_unified(r, "campaign_id")
              for r in all_pages(insights(meta, token, "1002", "campaign", since, until, limit="500"), None)]
    assert (gone["entity_id"], gone["date"]) not in {(r["entity_id"], r["date"]) for r in served}
    assert served == [{k: v for k, v in r.items() if k != "entity_name"}
                      for r in oracle(meta, "1002", "campaign", since, until)]
