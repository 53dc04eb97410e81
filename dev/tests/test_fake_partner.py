"""The fake partner reporting API against its own surface: client-credentials
tokens, cursor pages that add up to the oracle exactly, throttling with
Retry-After, a malformed page, drift, a bad row, a restated and a dropped
hour. Each test loads an account of its own."""

import uuid

import pytest
import requests

CLIENT = {"grant_type": "client_credentials", "client_id": "fake-partner-client", "client_secret": "fake-partner-secret"}
START, END = "2026-11-30T00:00:00Z", "2026-11-30T06:00:00Z"
HOUR0 = 1796083200 - 86400  # 2026-11-30T00:00:00Z


@pytest.fixture()
def fake(stack) -> str:
    return stack["ADHOUSE_DEV_PLATFORMS_URL"]


@pytest.fixture()
def account(fake) -> str:
    name = f"test-{uuid.uuid4().hex[:8]}"
    hours = [{"tenant": name, "partner": p, "hour": HOUR0 + 3600 * h, "impressions": 1000 + h, "revenue_micros": 5_000_000 + h}
             for h in range(8) for p in ("rubicon", "pubmatic", "appnexus")]
    assert requests.post(f"{fake}/_fake/partner/load", json={"manifest": {"partner_hours": hours}}).ok
    return name


def _token(fake: str) -> str:
    answer = requests.post(f"{fake}/partner/oauth/token", data=CLIENT)
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def _page(fake, account, token, **params):
    return requests.get(f"{fake}/partner/v2/report", headers={"Authorization": f"Bearer {token}"},
                        params={"account": account, "start": START, "end": END, **params})


def _control(fake, action, **body):
    answer = requests.post(f"{fake}/_fake/partner/{action}", json=body)
    assert answer.ok, answer.text


def _oracle(fake, account):
    return requests.get(f"{fake}/_fake/partner/oracle", params={"account": account, "start": START, "end": END}).json()["rows"]


def test_a_wrong_secret_or_no_token_is_refused(fake, account):
    assert requests.post(f"{fake}/partner/oauth/token", data={**CLIENT, "client_secret": "nope"}).status_code == 401
    assert _page(fake, account, "not-a-token").status_code == 401


def test_cursor_pages_add_up_to_the_oracle_with_the_designed_differences(fake, account):
    token = _token(fake)
    rows, cursor, pages = [], None, 0
    while True:
        answer = _page(fake, account, token, page_size=4, **({"cursor": cursor} if cursor else {}))
        assert answer.status_code == 200
        body = answer.json()
        rows += body["data"]["rows"]
        pages += 1
        cursor = body["paging"]["next_cursor"]
        if cursor is None:
            break
    oracle = _oracle(fake, account)
    assert (len(rows), pages) == (18, 5)
    assert len(oracle) == 18
    micros = lambda text: int(text.replace(".", ""))
    assert sorted((r["bidder"], micros(r["revenue"]), r["impressions"]) for r in rows) == \
        sorted((o["partner"], o["revenue_micros"], o["impressions"]) for o in oracle)
    pubmatic = next(o for o in oracle if o["partner"] == "pubmatic" and o["hour"] == HOUR0)
    assert (pubmatic["impressions"], pubmatic["revenue_micros"]) == (1000 * 950 // 1000, 5_000_000 * 920 // 1000)


def test_failures_come_in_the_order_asked_then_the_report_again(fake, account):
    token = _token(fake)
    _control(fake, "fail", account=account, mode="429")
    _control(fake, "fail", account=account, mode="malformed")
    _control(fake, "fail", account=account, mode="drift")
    throttled = _page(fake, account, token)
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "1")
    with pytest.raises(ValueError):
        _page(fake, account, token).json()
    assert "rev" in _page(fake, account, token).json()["data"]["rows"][0]
    assert "revenue" in _page(fake, account, token).json()["data"]["rows"][0]
    stats = requests.get(f"{fake}/_fake/partner/stats", params={"account": account}).json()
    assert stats == {"429": 1, "malformed": 1, "drift": 1, "ok": 1}


def test_a_bad_row_a_restated_and_a_dropped_hour(fake, account):
    token = _token(fake)
    _control(fake, "bad_row", account=account, on=True)
    rows = _page(fake, account, token, page_size=100).json()["data"]["rows"]
    assert [r["revenue"] for r in rows].count("n/a") == 1
    _control(fake, "restate", account=account, partner="rubicon", hour=HOUR0, impressions=7, revenue_micros=8)
    _control(fake, "drop", account=account, partner="appnexus", hour=HOUR0)
    oracle = {(o["partner"], o["hour"]): o for o in _oracle(fake, account)}
    assert (oracle[("rubicon", HOUR0)]["impressions"], oracle[("rubicon", HOUR0)]["revenue_micros"]) == (7, 8)
    assert ("appnexus", HOUR0) not in oracle
