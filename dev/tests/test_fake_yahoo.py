"""The Yahoo! JAPAN Ads fake against its documented surface: the Business ID
OAuth dance, discovery through base accounts and links with paging, the
report job lifecycle and its CSV summary row, error bodies and codes,
throttling, restatement. Each test makes its own grant."""

import csv
import io
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

CLIENT_ID = "fake-yahoo-client"
CLIENT_SECRET = "fake-yahoo-secret"
REDIRECT = "http://127.0.0.1:9/oauth/callback/yahoo"
FIELDS = ["DAY", "CAMPAIGN_ID", "CAMPAIGN_NAME", "IMPS", "CLICKS", "COST", "CONVERSIONS", "CONV_VALUE"]


@pytest.fixture(scope="module")
def fake(stack):
    url = stack["ADHOUSE_DEV_PLATFORMS_URL"]
    yield url
    # The report jobs, throttles and revocations these tests leave would meet
    # whatever uses the fake next (other suites, `make demo`).
    assert requests.post(f"{url}/_fake/yahoo/reset").json() == {"reset": True}


def _grant(fake: str, user: str = "demo") -> dict:
    page = requests.get(f"{fake}/yahoo/biz-oauth/oauth/v1/authorize", params={
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT, "scope": "yahooads", "state": "s1"})
    assert page.status_code == 200 and "Allow" in page.text
    consent = requests.post(f"{fake}/yahoo/biz-oauth/oauth/v1/consent", data={
        "user": user, "client_id": CLIENT_ID, "redirect_uri": REDIRECT, "state": "s1", "scope": "yahooads"},
        allow_redirects=False)
    assert consent.status_code == 302
    query = {k: v[0] for k, v in parse_qs(urlsplit(consent.headers["Location"]).query).items()}
    assert query["state"] == "s1"
    answer = requests.post(f"{fake}/yahoo/biz-oauth/oauth/v1/token", data={
        "grant_type": "authorization_code", "code": query["code"], "redirect_uri": REDIRECT,
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _call(fake: str, token: str, api: str, operation: str, body: dict, base: int | None = None, version: str = "v18"):
    headers = {"Authorization": f"Bearer {token}"}
    if base is not None:
        headers["x-z-base-account-id"] = str(base)
    return requests.post(f"{fake}/yahoo/ads-{api}/api/{version}/{operation}", json=body, headers=headers)


def _operand(since: date, until: date, report_type: str | None = "CAMPAIGN") -> dict:
    operand = {"reportDateRangeType": "CUSTOM_DATE", "fields": FIELDS, "reportDownloadFormat": "CSV",
               "dateRange": {"startDate": since.strftime("%Y%m%d"), "endDate": until.strftime("%Y%m%d")}}
    if report_type:
        operand["reportType"] = report_type
    return operand


def _report(fake: str, token: str, api: str, account: int, base: int, since: date, until: date) -> list[list[str]]:
    added = _call(fake, token, api, "ReportDefinitionService/add",
                  {"accountId": account, "operand": [_operand(since, until, "CAMPAIGN" if api == "search" else None)]}, base)
    value = added.json()["rval"]["values"][0]
    assert value["operationSucceeded"], value
    job = value["reportDefinition"]["reportJobId"]
    seen = []
    for _ in range(5):
        got = _call(fake, token, api, "ReportDefinitionService/get", {"accountId": account, "reportJobIds": [job]}, base)
        seen.append(got.json()["rval"]["values"][0]["reportDefinition"]["reportJobStatus"])
        if seen[-1] == "COMPLETED":
            break
    assert seen == ["WAIT", "IN_PROGRESS", "COMPLETED"]
    download = _call(fake, token, api, "ReportDefinitionService/download", {"accountId": account, "reportJobId": job}, base)
    assert download.headers["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))


def test_the_code_gives_an_hour_token_and_a_refresh_token_that_survives_refreshes(fake):
    grant = _grant(fake)
    assert grant["expires_in"] == 3600 and grant["refresh_token"]
    refreshed = requests.post(f"{fake}/yahoo/biz-oauth/oauth/v1/token", data={
        "grant_type": "refresh_token", "refresh_token": grant["refresh_token"],
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}).json()
    assert refreshed["access_token"] != grant["access_token"] and "refresh_token" not in refreshed
    wrong_scope = requests.get(f"{fake}/yahoo/biz-oauth/oauth/v1/authorize", params={
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT, "scope": "openid"})
    assert wrong_scope.status_code == 400


def test_discovery_pages_at_most_200_and_needs_the_base_account_header(fake):
    token = _grant(fake, "agency")["access_token"]
    bases = _call(fake, token, "search", "BaseAccountService/get", {}).json()["rval"]["values"]
    assert [b["baseAccount"]["accountId"] for b in bases] == [1100000000]
    first = _call(fake, token, "search", "AccountLinkService/get",
                  {"mccAccountId": 1100000000, "startIndex": 1, "numberResults": 200}, 1100000000).json()["rval"]
    assert first["totalNumEntries"] == 205 and len(first["values"]) == 200
    too_many = _call(fake, token, "search", "AccountLinkService/get",
                     {"mccAccountId": 1100000000, "numberResults": 201}, 1100000000)
    assert too_many.status_code == 400 and too_many.json()["errors"][0]["code"] == "0001"
    no_header = _call(fake, token, "search", "AccountService/get", {"accountIds": [1100000001]})
    assert no_header.json()["errors"][0]["details"][0]["requestKey"] == "x-z-base-account-id"
    not_mine = _call(fake, token, "search", "AccountService/get", {"accountIds": [1000000011]}, 1000000001)
    assert (not_mine.status_code, not_mine.json()["errors"][0]["code"]) == (403, "0098")


def test_a_report_runs_through_its_states_and_its_summary_row_totals_the_rows(fake):
    token = _grant(fake)["access_token"]
    until = date.today() - timedelta(days=1)
    since = until - timedelta(days=13)
    for api, account, filler in [("search", 1000000011, ""), ("display", 2000000031, "--")]:
        lines = _report(fake, token, api, account, 1000000001 if api == "search" else account, since, until)
        header, rows, summary = lines[0], lines[1:-1], lines[-1]
        assert header[0] == ("Day" if api == "search" else "Daily")
        assert summary[:3] == ["Total", filler, filler]
        assert int(summary[3]) == sum(int(r[3]) for r in rows) and int(summary[5]) == sum(int(r[5]) for r in rows)
        oracle = requests.get(f"{fake}/_fake/yahoo/oracle", params={
            "account": account, "level": "campaign", "since": since.isoformat(), "until": until.isoformat()}).json()["rows"]
        assert [(o["date"], o["entity_id"], o["spend_micros"]) for o in oracle] == \
               [(r[0], r[1], int(r[5]) * 1_000_000) for r in rows]


def test_per_operand_failures_come_with_200_and_the_61st_active_job_is_over_limit(fake):
    token = _grant(fake, "other")["access_token"]
    day = date.today() - timedelta(days=2)
    bad = _call(fake, token, "search", "ReportDefinitionService/add",
                {"accountId": 1000000041, "operand": [_operand(day, day), _operand(day, day - timedelta(days=1))]}, 1000000041)
    assert bad.status_code == 200
    values = bad.json()["rval"]["values"]
    assert [v["operationSucceeded"] for v in values] == [True, False] and values[1]["errors"][0]["code"] == "RL001"
    for _ in range(2):
        _call(fake, token, "search", "ReportDefinitionService/add",
              {"accountId": 1000000041, "operand": [_operand(day, day)] * 30}, 1000000041)
    over = _call(fake, token, "search", "ReportDefinitionService/add",
                 {"accountId": 1000000041, "operand": [_operand(day, day)]}, 1000000041).json()["rval"]["values"][0]
    assert not over["operationSucceeded"] and over["errors"][0]["code"] == "LT001"
    too_big = _call(fake, token, "search", "ReportDefinitionService/add",
                    {"accountId": 1000000041, "operand": [_operand(day, day)] * 31}, 1000000041)
    assert too_big.json()["errors"][0]["code"] == "L0002"


def test_errors_throttling_revocation_and_a_sunset_version(fake):
    grant = _grant(fake)
    token = grant["access_token"]
    requests.post(f"{fake}/_fake/yahoo/throttle", params={"account": "1000000021", "calls": "1"})
    throttled = _call(fake, token, "search", "AccountService/get", {"accountIds": [1000000021]}, 1000000021)
    assert throttled.json()["errors"][0]["code"] == "0003"
    assert _call(fake, token, "search", "AccountService/get", {"accountIds": [1000000021]}, 1000000021).status_code == 200
    old = _call(fake, token, "search", "AccountService/get", {"accountIds": [1000000021]}, 1000000021, version="v9")
    assert (old.status_code, old.json()["errors"][0]["code"]) == (404, "0004")
    requests.post(f"{fake}/_fake/yahoo/revoke", params={"refresh_token": grant["refresh_token"]})
    revoked = _call(fake, token, "search", "BaseAccountService/get", {})
    assert (revoked.status_code, revoked.json()["errors"][0]["code"]) == (401, "0111")
    refresh = requests.post(f"{fake}/yahoo/biz-oauth/oauth/v1/token", data={
        "grant_type": "refresh_token", "refresh_token": grant["refresh_token"],
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    assert (refresh.status_code, refresh.json()["error"]) == (400, "invalid_grant")


def test_a_restatement_changes_only_the_last_7_days(fake):
    params = {"account": "2000000051", "level": "ad", "since": (date.today() - timedelta(days=20)).isoformat(),
              "until": date.today().isoformat()}
    before = requests.get(f"{fake}/_fake/yahoo/oracle", params=params).json()["rows"]
    requests.post(f"{fake}/_fake/yahoo/restate", params={"account": "2000000051"})
    after = requests.get(f"{fake}/_fake/yahoo/oracle", params=params).json()["rows"]
    cutoff = (date.today() - timedelta(days=8)).isoformat()
    assert [r for r in before if r["date"] <= cutoff] == [r for r in after if r["date"] <= cutoff]
    assert before != after
