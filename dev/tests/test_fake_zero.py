"""Every ad platform fake's `zero` control: one day of a campaign restated to
no activity leaves that day's answers at every level below the account, and
the account's day is what the other campaigns add up to."""

import datetime as dt

import pytest
import requests

# platform, the control's account parameter, an account, its ad group level
PLATFORMS = [
    ("google", "customer", "4444444444", "ad_group"),
    ("meta", "account", "1002", "adset"),
    ("yahoo", "account", "1000000041", "ad_group"),
    ("x", "account", "5gvk9h", "ad_group"),
]


@pytest.mark.parametrize(("platform", "key", "account", "ad_group"), PLATFORMS)
def test_a_campaigns_day_restated_to_no_activity_leaves_every_level_below_the_account(stack, platform, key, account, ad_group):
    base = stack["ADHOUSE_DEV_PLATFORMS_URL"]
    until = dt.date.today() - dt.timedelta(days=1)
    since = until - dt.timedelta(days=6)

    def oracle(level: str) -> list[dict]:
        answer = requests.get(f"{base}/_fake/{platform}/oracle", params={
            "account": account, "level": level, "since": since.isoformat(), "until": until.isoformat()})
        answer.raise_for_status()
        return answer.json()["rows"]

    before = {level: oracle(level) for level in ("account", "campaign", ad_group, "ad")}
    gone = before["campaign"][0]
    zeroed = requests.post(f"{base}/_fake/{platform}/zero", params={
        key: account, "entity": gone["entity_id"], "date": gone["date"]})
    assert zeroed.status_code == 200, zeroed.text
    assert oracle("campaign") == [r for r in before["campaign"] if r is not gone]
    # Its ad groups and ads of the day are gone too, other days untouched.
    for level in (ad_group, "ad"):
        after = oracle(level)
        assert after != before[level] and set(map(str, after)) < set(map(str, before[level]))
        assert [r for r in after if r["date"] != gone["date"]] == [r for r in before[level] if r["date"] != gone["date"]]
    spend = {r["date"]: r["spend_micros"] for r in oracle("account")}
    expected = sum(r["spend_micros"] for r in before["campaign"] if r["date"] == gone["date"] and r is not gone)
    assert spend.get(gone["date"], 0) == expected
    unknown = requests.post(f"{base}/_fake/{platform}/zero", params={key: account, "entity": "nope", "date": gone["date"]})
    assert unknown.status_code == 400
