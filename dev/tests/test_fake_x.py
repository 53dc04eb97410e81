"""The X Ads fake against its documented surface: the OAuth 1.0a dance with
signatures checked (signed here by oauthlib, an independent RFC 5849
implementation), discovery, active entities, synchronous stats as arrays,
async jobs with gzip files, limits and their headers, revocation,
restatement. Each test makes its own grant."""

import gzip
import json
from datetime import date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
from oauthlib.oauth1 import Client

CONSUMER_KEY = "fake-x-consumer-key"
CONSUMER_SECRET = "fake-x-consumer-secret"
CALLBACK = "http://127.0.0.1:9/oauth/callback/x?state=s1"
TOKYO = "18ce54d4x5t"


@pytest.fixture(scope="session")
def fake(stack) -> str:
    return stack["ADHOUSE_DEV_PLATFORMS_URL"]


def _signed(method: str, url: str, client: Client, params: dict | None = None) -> requests.Response:
    prepared = requests.Request(method, url, params=params).prepare()
    uri, headers, _ = client.sign(prepared.url, http_method=method)
    return requests.request(method, uri, headers=headers)


def _grant(fake: str, user: str = "demo") -> Client:
    """The whole dance; a client signing with the user's token."""
    client = Client(CONSUMER_KEY, client_secret=CONSUMER_SECRET, callback_uri=CALLBACK)
    answer = _signed("POST", f"{fake}/x/api/oauth/request_token", client)
    assert answer.status_code == 200, answer.text
    request_token = dict(parse_qsl(answer.text))
    assert request_token["oauth_callback_confirmed"] == "true"
    page = requests.get(f"{fake}/x/api/oauth/authorize", params={"oauth_token": request_token["oauth_token"]})
    assert page.status_code == 200 and "Authorize app" in page.text
    consent = requests.post(f"{fake}/x/api/oauth/consent", data={
        "oauth_token": request_token["oauth_token"], "user": user, "decision": "allow"}, allow_redirects=False)
    back = {k: v[0] for k, v in parse_qs(urlsplit(consent.headers["Location"]).query).items()}
    assert back["state"] == "s1" and back["oauth_token"] == request_token["oauth_token"]
    exchange = Client(CONSUMER_KEY, client_secret=CONSUMER_SECRET, resource_owner_key=request_token["oauth_token"],
                      resource_owner_secret=request_token["oauth_token_secret"], verifier=back["oauth_verifier"])
    answer = _signed("POST", f"{fake}/x/api/oauth/access_token", exchange)
    assert answer.status_code == 200, answer.text
    access = dict(parse_qsl(answer.text))
    assert access["screen_name"] == user
    return Client(CONSUMER_KEY, client_secret=CONSUMER_SECRET, resource_owner_key=access["oauth_token"],
                  resource_owner_secret=access["oauth_token_secret"])


def _get(fake: str, client: Client, path: str, **params) -> requests.Response:
    return _signed("GET", f"{fake}/x/ads-api/12/{path}", client, params)


def _window(account_tz: str, days: int, ago: int = 1) -> tuple[str, str, date]:
    """start_time/end_time at the account's local midnights, and the first day."""
    zone = ZoneInfo(account_tz)
    first = datetime.now(zone).date() - timedelta(days=days - 1 + ago)
    offset = datetime.now(zone).utcoffset()
    start = datetime(first.year, first.month, first.day, tzinfo=timezone.utc) - offset
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return start.strftime(fmt), (start + timedelta(days=days)).strftime(fmt), first


def test_a_bad_signature_a_replayed_nonce_and_a_spent_verifier_are_refused(fake):
    wrong = Client(CONSUMER_KEY, client_secret="not-the-secret", callback_uri=CALLBACK)
    refused = _signed("POST", f"{fake}/x/api/oauth/request_token", wrong)
    assert (refused.status_code, refused.json()["errors"][0]["code"]) == (401, 32)
    client = _grant(fake)
    prepared = requests.Request("GET", f"{fake}/x/ads-api/12/accounts").prepare()
    uri, headers, _ = client.sign(prepared.url)
    assert requests.get(uri, headers=headers).status_code == 200
    assert requests.get(uri, headers=headers).status_code == 401, "the same nonce twice"
    uri, headers, _ = client.sign(prepared.url)
    tampered = requests.get(uri + "?count=5", headers=headers)
    assert tampered.status_code == 401, "a query parameter outside the signature"


def test_each_failed_authentication_answers_as_x_does_and_the_date_is_xs_clock(fake):
    stale = Client(CONSUMER_KEY, client_secret=CONSUMER_SECRET, callback_uri=CALLBACK,
                   timestamp=str(int(datetime.now().timestamp()) - 3_600))
    late = _signed("POST", f"{fake}/x/api/oauth/request_token", stale)
    assert (late.status_code, late.json()["errors"][0]) == (401, {"code": 135, "message": "Timestamp out of bounds."})
    pin = _signed("POST", f"{fake}/x/api/oauth/request_token", Client(CONSUMER_KEY, client_secret=CONSUMER_SECRET, callback_uri="oob"))
    assert pin.status_code == 200 and dict(parse_qsl(pin.text))["oauth_callback_confirmed"] == "true"

    client = _grant(fake)
    wrong = Client(CONSUMER_KEY, client_secret="not-the-secret", resource_owner_key=client.resource_owner_key,
                   resource_owner_secret=client.resource_owner_secret)
    refused = _get(fake, wrong, "accounts")
    assert (refused.status_code, refused.json()["errors"][0]["code"]) == (401, "UNAUTHORIZED_ACCESS"), "the Ads API's one 401"
    requests.post(f"{fake}/_fake/x/clock", params={"token": client.resource_owner_key, "ahead_secs": "3600"})
    skewed = _get(fake, client, "accounts")
    assert (skewed.status_code, skewed.json()["errors"][0]["code"]) == (401, "UNAUTHORIZED_ACCESS")
    ahead = parsedate_to_datetime(skewed.headers["Date"]).timestamp() - datetime.now().timestamp()
    assert 3_590 < ahead < 3_610, skewed.headers["Date"]
    on_xs_clock = Client(CONSUMER_KEY, client_secret=CONSUMER_SECRET, resource_owner_key=client.resource_owner_key,
                         resource_owner_secret=client.resource_owner_secret, timestamp=str(int(datetime.now().timestamp()) + 3_600))
    assert _get(fake, on_xs_clock, "accounts").status_code == 200


def test_discovery_and_the_currency_of_funding_instruments(fake):
    client = _grant(fake)
    accounts = _get(fake, client, "accounts", count=2)
    body = accounts.json()
    assert [a["id"] for a in body["data"]] == [TOKYO, "18ce54uhdp2"] and body["next_cursor"] == "2"
    assert accounts.headers["x-rate-limit-remaining"].isdigit() and accounts.headers["x-rate-limit-reset"].isdigit()
    rest = _get(fake, client, "accounts", count=2, cursor=body["next_cursor"]).json()
    assert rest["next_cursor"] is None and len(rest["data"]) == 2
    funding = _get(fake, client, f"accounts/{TOKYO}/funding_instruments")
    assert funding.json()["data"][0]["currency"] == "JPY"
    assert "x-account-rate-limit-remaining" in funding.headers
    other = _get(fake, client, "accounts/5gvk9h/funding_instruments")
    assert other.status_code == 403


def test_sync_stats_are_arrays_from_local_midnight_and_sum_to_the_oracle(fake):
    client = _grant(fake)
    start, end, first = _window("Asia/Tokyo", 7)
    assert start.endswith("T15:00:00Z"), "Tokyo's midnight in UTC"
    active = _get(fake, client, f"stats/accounts/{TOKYO}/active_entities", entity="CAMPAIGN", start_time=start, end_time=end).json()["data"]
    ids = [e["entity_id"] for e in active]
    totals = {}
    for placement in ("ALL_ON_TWITTER", "PUBLISHER_NETWORK"):
        stats = _get(fake, client, f"stats/accounts/{TOKYO}", entity="CAMPAIGN", entity_ids=",".join(ids), start_time=start,
                     end_time=end, granularity="DAY", metric_groups="ENGAGEMENT,BILLING", placement=placement).json()
        assert stats["time_series_length"] == 7
        for entity in stats["data"]:
            values = entity["id_data"][0]["metrics"]["billed_charge_local_micro"]
            for i, value in enumerate(values):
                if value is not None:
                    key = (entity["id"], (first + timedelta(i)).isoformat())
                    totals[key] = totals.get(key, 0) + value
    oracle = requests.get(f"{fake}/_fake/x/oracle", params={"account": TOKYO, "level": "campaign", "since": first.isoformat(),
                                                             "until": (first + timedelta(6)).isoformat()}).json()["rows"]
    assert {(r["entity_id"], r["date"]): r["spend_micros"] for r in oracle} == totals
    not_midnight = _get(fake, client, f"stats/accounts/{TOKYO}", entity="CAMPAIGN", entity_ids=ids[0], start_time=end.replace("T15", "T16"),
                        end_time=end, granularity="DAY", metric_groups="ENGAGEMENT", placement="ALL_ON_TWITTER")
    assert not_midnight.json()["errors"][0]["code"] == "INVALID_PARAMETER"
    eight_days = _window("Asia/Tokyo", 8)
    too_long = _get(fake, client, f"stats/accounts/{TOKYO}", entity="CAMPAIGN", entity_ids=ids[0], start_time=eight_days[0],
                    end_time=eight_days[1], granularity="DAY", metric_groups="ENGAGEMENT", placement="ALL_ON_TWITTER")
    assert too_long.json()["errors"][0]["parameter"] == "end_time"


def test_an_async_job_goes_queued_processing_success_and_its_file_is_gzip_json(fake):
    client = _grant(fake)
    start, end, _first = _window("America/Los_Angeles", 90)
    params = {"entity": "ACCOUNT", "entity_ids": "18ce54uhdp2", "start_time": start, "end_time": end, "granularity": "DAY",
              "metric_groups": "ENGAGEMENT,BILLING", "placement": "ALL_ON_TWITTER"}
    created = _signed("POST", f"{fake}/x/ads-api/12/stats/jobs/accounts/18ce54uhdp2", client, params)
    assert created.status_code == 200 and created.headers["X-Concurrent-Job-Limit-Remaining"].isdigit()
    job = created.json()["data"]
    assert job["status"] == "QUEUED" and job["url"] is None
    seen = [_get(fake, client, "stats/jobs/accounts/18ce54uhdp2", job_ids=job["id_str"]).json()["data"][0] for _ in range(2)]
    assert [j["status"] for j in seen] == ["PROCESSING", "SUCCESS"]
    file = requests.get(seen[-1]["url"])
    assert file.headers["Content-Type"] == "application/gzip"
    stats = json.loads(gzip.decompress(file.content))
    assert stats["time_series_length"] == 90 and stats["data"][0]["id"] == "18ce54uhdp2"


def test_throttling_revocation_and_restatement(fake):
    client = _grant(fake, "other")
    requests.post(f"{fake}/_fake/x/throttle", params={"account": "5gvk9h", "calls": "1"})
    throttled = _get(fake, client, "accounts/5gvk9h/funding_instruments")
    assert throttled.status_code == 429 and throttled.headers["x-account-rate-limit-remaining"] == "0"
    assert int(throttled.headers["x-account-rate-limit-reset"]) >= int(datetime.now().timestamp())
    assert _get(fake, client, "accounts/5gvk9h/funding_instruments").status_code == 200

    params = {"account": "5gvk9h", "level": "ad", "since": (date.today() - timedelta(days=10)).isoformat(), "until": date.today().isoformat()}
    before = requests.get(f"{fake}/_fake/x/oracle", params=params).json()["rows"]
    requests.post(f"{fake}/_fake/x/restate", params={"account": "5gvk9h"})
    after = requests.get(f"{fake}/_fake/x/oracle", params=params).json()["rows"]
    settled = (datetime.now(ZoneInfo("Europe/Berlin")).date() - timedelta(days=3)).isoformat()
    assert [r for r in before if r["date"] <= settled] == [r for r in after if r["date"] <= settled]
    assert before != after and [r["impressions"] for r in before] == [r["impressions"] for r in after]

    token = client.resource_owner_key
    requests.post(f"{fake}/_fake/x/revoke", params={"token": token})
    revoked = _get(fake, client, "accounts")
    assert (revoked.status_code, revoked.json()["errors"][0]["code"]) == (401, "UNAUTHORIZED_ACCESS")
