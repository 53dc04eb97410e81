"""A fake of Meta's Marketing API (Graph API v25.0) and Facebook Login.

Production bases and their paths here:
  https://graph.facebook.com/v25.0            -> /meta/graph/v25.0
  https://www.facebook.com/v25.0/dialog/oauth -> /meta/www/v25.0/dialog/oauth

What it follows, from Meta's documentation:
* Manual login flow, code exchange and long-lived tokens:
  https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow
  https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived
* Error bodies and codes (190 and its subcodes, 1/2/4/17/613, 100):
  https://developers.facebook.com/docs/graph-api/guides/error-handling
  https://developers.facebook.com/docs/marketing-api/error-reference
* Ad accounts of a user: https://developers.facebook.com/docs/marketing-api/reference/user/adaccounts
* Insights, synchronous and asynchronous (report runs), 37-month lookback:
  https://developers.facebook.com/docs/marketing-api/insights
  https://developers.facebook.com/docs/marketing-api/insights/best-practices
  https://developers.facebook.com/docs/marketing-api/reference/ad-report-run
* Cursor paging: https://developers.facebook.com/docs/graph-api/results
* Deleted and archived objects: act_<id>/insights?level=ad (and campaign,
  adset) leaves them out unless `filtering` on `<level>.effective_status`
  asks for them; their stats stay in their parents' and the account's, and
  a campaign's status is inherited by what is below it:
  https://developers.facebook.com/docs/marketing-api/best-practices/storing_adobjects
  Effective statuses per object as Meta's SDK lists them (facebook-python-
  business-sdk, adobjects/campaign.py, adset.py, ad.py). Malformed filtering
  answers (#100) "param filtering must be an array." and "Filtering field …
  is invalid" as users quote them (facebook/facebook-php-business-sdk#379);
  an invalid status is 100/1487561 "Invalid parameter" (facebook-python-
  business-sdk#388, said of the edges' effective_status; unverified here).
* Usage headers (x-app-usage, x-ad-account-usage, x-business-use-case-usage):
  https://developers.facebook.com/docs/graph-api/overview/rate-limiting
  https://developers.facebook.com/docs/marketing-api/overview/rate-limiting

Where Meta publishes no number, the fake picks one and says so (the "too much
data" thresholds, usage budgets, how many polls a report run takes).

Test controls and the oracle live under /_fake/meta/ (see `_action`).
"""

import base64
import datetime as dt
import html
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from .common import Request, Response, controls, is_zeroed, reset, stable_int, zero

PREFIX = "/meta"
GRAPH = "/meta/graph/v25.0"
DIALOG = "/meta/www/v25.0/dialog/oauth"

APP_ID = "fake-meta-app"
APP_SECRET = "fake-meta-secret"
APP_NAME = "adhouse (local)"
# Meta requires the exact redirect URI registered under "Valid OAuth Redirect
# URIs"; adhouse registers <public_url>/oauth/callback/<platform> for Meta Ads,
# Facebook Pages and Instagram (one app). The fake accepts those paths on
# loopback hosts on any port (tests pick their ports).
REDIRECT_PATHS = {"/oauth/callback/meta", "/oauth/callback/facebook", "/oauth/callback/instagram"}
# Any version's Graph path: the fake serves one surface for all (a version
# decides which organic metrics exist, see `organic`).
GRAPH_VERSIONED = re.compile(r"^/meta/graph/(v\d+\.0)(/.*)$")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}

# Documented lifetimes: a long-lived user token lasts about 60 days
# (expires_in 5183944 in Meta's examples); the code flow's token is shorter.
SHORT_LIVED_SECS = 2 * 3600
LONG_LIVED_SECS = 5183944
CODE_LIFETIME_SECS = 600

USERS = {"demo": "Demo User", "other": "Other User"}


@dataclass(frozen=True)
class AdAccount:
    number: str  # without act_
    name: str
    currency: str
    timezone: str
    user: str
    account_status: int = 1

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


ACCOUNTS = {
    a.number: a
    for a in [
        AdAccount("1001", "Demo US", "USD", "America/Los_Angeles", "demo"),
        AdAccount("1002", "Demo DE", "EUR", "Europe/Berlin", "demo"),
        AdAccount("2001", "Other UK", "GBP", "Europe/London", "other"),
    ]
}

# Deterministic entities: campaigns per account, ad sets per campaign, ads per
# ad set. Ids are numeric strings like Meta's, stable and unique across accounts.
CAMPAIGNS, ADSETS, ADS = 3, 2, 2
CAMPAIGN_THEMES = ["Prospecting", "Retargeting", "Brand"]


@dataclass(frozen=True)
class Entity:
    level: str
    id: str
    name: str
    campaign: tuple[str, str]  # (id, name) of its campaign
    adset: tuple[str, str] | None
    ad: tuple[str, str] | None


def _entities(account: str) -> dict[str, list[Entity]]:
    """The account's entities by level; the ads are the leaves."""
    by_level: dict[str, list[Entity]] = {"campaign": [], "adset": [], "ad": []}
    for c in range(1, CAMPAIGNS + 1):
        campaign = (f"238{account}{c:02d}", f"{CAMPAIGN_THEMES[c - 1]} {account}")
        by_level["campaign"].append(Entity("campaign", *campaign, campaign, None, None))
        for s in range(1, ADSETS + 1):
            adset = (f"239{account}{c:02d}{s:02d}", f"{campaign[1]} / Audience {s}")
            by_level["adset"].append(Entity("adset", *adset, campaign, adset, None))
            for a in range(1, ADS + 1):
                ad = (f"240{account}{c:02d}{s:02d}{a:02d}", f"{adset[1]} / Creative {a}")
                by_level["ad"].append(Entity("ad", *ad, campaign, adset, ad))
    return by_level


ENTITIES = {number: _entities(number) for number in ACCOUNTS}
LEVELS = ("account", "campaign", "adset", "ad")

# Meta publishes no threshold for "Please reduce the amount of data you're
# asking for"; it depends on rows x fields. The fake counts rows (days x
# entities at the level): a synchronous request may ask for 1,000 (a quarter at
# ad level of these accounts fails, so large reads go async, as Meta's best
# practices say), a report run for 2,500 (a year at ad level fails and must be
# split; 90 days at any level fit).
SYNC_MAX_ROWS = 1000
ASYNC_MAX_ROWS = 2500
DEFAULT_LIMIT = 25
MAX_LIMIT = 5000
LOOKBACK_MONTHS = 37
RESTATE_DAYS = 28
# How many status polls a report run takes: Not Started, Started, Running, Completed.
RUN_SEQUENCE = [("Job Not Started", 0), ("Job Started", 0), ("Job Running", 50), ("Job Completed", 100)]

# Usage budgets per rolling hour (Meta's real budgets depend on the app's
# tier and the account's spend; these make usage visible in tests).
USAGE_WINDOW_SECS = 3600
APP_BUDGET_CALLS = 5000
ACCOUNT_BUDGET_CALLS = 2000

INSIGHT_FIELDS = {
    "account_id", "account_name", "account_currency", "campaign_id", "campaign_name", "adset_id",
    "adset_name", "ad_id", "ad_name", "date_start", "date_stop", "impressions", "clicks", "spend",
    "reach", "actions", "action_values", "video_play_actions", "objective",
}
ACCOUNT_FIELDS = {"id", "account_id", "name", "currency", "timezone_name", "account_status"}
# What each level can report: ids and names of the level and the levels above.
LEVEL_FIELDS = {
    "account": {"account_id", "account_name", "account_currency"},
    "campaign": {"account_id", "account_name", "account_currency", "campaign_id", "campaign_name", "objective"},
    "adset": {"account_id", "account_name", "account_currency", "campaign_id", "campaign_name", "objective",
              "adset_id", "adset_name"},
    "ad": {"account_id", "account_name", "account_currency", "campaign_id", "campaign_name", "objective",
           "adset_id", "adset_name", "ad_id", "ad_name"},
}
# Effective statuses each object can have; DELETED and ARCHIVED ones are
# hidden from their own level unless `filtering` asks for them.
EFFECTIVE_STATUSES = {
    "campaign": ("ACTIVE", "PAUSED", "DELETED", "ARCHIVED", "IN_PROCESS", "WITH_ISSUES"),
    "adset": ("ACTIVE", "PAUSED", "DELETED", "CAMPAIGN_PAUSED", "ARCHIVED", "IN_PROCESS", "WITH_ISSUES"),
    "ad": ("ACTIVE", "PAUSED", "DELETED", "PENDING_REVIEW", "DISAPPROVED", "PREAPPROVED", "PENDING_BILLING_INFO",
           "CAMPAIGN_PAUSED", "ARCHIVED", "ADSET_PAUSED", "IN_PROCESS", "WITH_ISSUES"),
}
HIDDEN = {"DELETED", "ARCHIVED"}
# Pixel purchases are the conversions; `omni_purchase` repeats them across
# channels (adding both would count each purchase twice).
PURCHASE = "offsite_conversion.fb_pixel_purchase"


class GraphError(Exception):
    """An error answer in Meta's shape."""

    def __init__(self, message: str, code: int, subcode: int | None = None, status: int = 400,
                 type_: str = "OAuthException", regain_minutes: int | None = None):
        super().__init__(message)
        self.message, self.code, self.subcode, self.status, self.type = message, code, subcode, status, type_
        self.regain_minutes = regain_minutes


@dataclass
class Token:
    user: str
    expires_at: float
    revoked: bool = False
    expired: bool = False


@dataclass
class Code:
    user: str
    redirect_uri: str
    scope: str
    expires_at: float
    used: bool = False


@dataclass
class ReportRun:
    id: str
    user: str
    account: str
    level: str
    since: dt.date
    until: dt.date
    rows: list[dict]
    failed: bool
    polls: int = 0


@dataclass
class State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    tokens: dict[str, Token] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    runs: dict[str, ReportRun] = field(default_factory=dict)
    # Unix times of restatements, per account: a day is in restatement
    # version n when n restatements happened within 28 days after it.
    restated_at: dict[str, list[float]] = field(default_factory=dict)
    # (account, campaign, ad set or ad id, day) restated to no delivery
    # (`common.zero`).
    zeroed: set[tuple[str, str, dt.date]] = field(default_factory=set)
    # Campaigns, ad sets and ads set to DELETED or ARCHIVED (their delivery
    # data stays; only the level's own answers hide them).
    statuses: dict[str, str] = field(default_factory=dict)
    throttle_calls: int = 0
    throttle_code: int = 80000
    throttle_minutes: int = 1
    calls: dict[str, int] = field(default_factory=dict)
    app_calls: deque = field(default_factory=deque)
    account_calls: dict[str, deque] = field(default_factory=dict)
    serial: int = 0


STATE = State()


def _next_serial() -> int:
    STATE.serial += 1
    return STATE.serial


def _new_secret(kind: str) -> str:
    """A token-looking string, unique within this process."""
    raw = f"{kind}:{_next_serial()}:{time.time_ns()}".encode()
    return "EAA" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


# ---- numbers -------------------------------------------------------------------


def _today(account: AdAccount, at: float | None = None) -> dt.date:
    return dt.datetime.fromtimestamp(time.time() if at is None else at, account.zone).date()


def _version(account: AdAccount, day: dt.date) -> int:
    """How many restatements reached `day`: one reaches the days within the
    last 28 (account-local) at its time, so a day leaves the window for good."""
    return sum(
        1 for at in STATE.restated_at.get(account.number, [])
        if 0 <= (_today(account, at) - day).days < RESTATE_DAYS
    )


def _ad_day(account: str, ad: Entity, day: dt.date, version: int) -> dict | None:
    """An ad's delivery on one day, or None for a day without activity (its
    campaign paused about one day in seven, the ad itself one in five)."""
    if stable_int(account, ad.campaign[0], day, "paused", modulo=7) == 0:
        return None
    if stable_int(account, ad.id, day, "active", modulo=10) < 2:
        return None
    key = (account, ad.id, day, version)
    impressions = 200 + stable_int(*key, "impressions", modulo=6000)
    clicks = stable_int(*key, "clicks", modulo=impressions // 15 + 1)
    purchases = stable_int(*key, "purchases", modulo=clicks // 8 + 1)
    return {
        "impressions": impressions,
        "clicks": clicks,
        "spend_cents": 1 + stable_int(*key, "spend", modulo=9000),
        "purchases": purchases,
        "purchase_value_cents": sum(500 + stable_int(*key, "value", i, modulo=15000) for i in range(purchases)),
        "video_views": stable_int(*key, "video", modulo=impressions // 4 + 1),
        "link_clicks": stable_int(*key, "link", modulo=clicks + 1),
    }


def _status(entity: Entity) -> str:
    """Its effective status: its own, else the one it inherits from its ad
    set or campaign, else ACTIVE."""
    for owner in (entity.id, entity.adset and entity.adset[0], entity.campaign[0]):
        if owner and owner in STATE.statuses:
            return STATE.statuses[owner]
    return "ACTIVE"


def _rows(account: AdAccount, level: str, since: dt.date, until: dt.date,
          statuses: frozenset[str] | None = None) -> list[dict]:
    """Every (entity, day) with activity at `level`, in integer units: sums of
    the ads below it, reach drawn for the entity itself (it does not add up).
    Entities of a status outside `statuses` are left out (default: all but
    deleted and archived ones); the account level always counts every ad."""
    today = _today(account)
    parents = ENTITIES[account.number]["campaign"] if level == "campaign" else (
        ENTITIES[account.number]["adset"] if level == "adset" else ENTITIES[account.number]["ad"])
    out = []
    day = since
    while day <= min(until, today):
        version = _version(account, day)
        groups: list[tuple[Entity | None, list[Entity]]]
        if level == "account":
            groups = [(None, ENTITIES[account.number]["ad"])]
        else:
            groups = [(p, [ad for ad in ENTITIES[account.number]["ad"] if _under(ad, p)]) for p in parents]
        for entity, ads in groups:
            if entity and _status(entity) not in (
                    set(EFFECTIVE_STATUSES[level]) - HIDDEN if statuses is None else statuses):
                continue
            ads = [ad for ad in ads if not is_zeroed(STATE.zeroed, account.number, (ad.id, ad.adset[0], ad.campaign[0]), day)]
            days = [d for d in (_ad_day(account.number, ad, day, version) for ad in ads) if d]
            if not days:
                continue
            total = {k: sum(d[k] for d in days) for k in days[0]}
            entity_id = entity.id if entity else account.number
            total["reach"] = total["impressions"] * (55 + stable_int(
                account.number, entity_id, day, version, "reach", modulo=40)) // 100
            out.append({"entity": entity, "date": day, **total})
        day += dt.timedelta(days=1)
    return out


def _under(ad: Entity, parent: Entity) -> bool:
    return {"campaign": ad.campaign, "adset": ad.adset, "ad": ad.ad}[parent.level][0] == parent.id


def _decimal(cents: int) -> str:
    """Money as Meta writes it: a decimal string, trailing zeros dropped ("12.3", "12")."""
    text = f"{cents // 100}.{cents % 100:02d}".rstrip("0").rstrip(".")
    return text


def _api_row(account: AdAccount, level: str, fields: list[str], row: dict) -> dict:
    entity: Entity | None = row["entity"]
    names = {"account_id": account.number, "account_name": account.name, "account_currency": account.currency}
    if entity:
        names |= {"campaign_id": entity.campaign[0], "campaign_name": entity.campaign[1],
                  "objective": "OUTCOME_SALES"}
        if entity.adset:
            names |= {"adset_id": entity.adset[0], "adset_name": entity.adset[1]}
        if entity.ad:
            names |= {"ad_id": entity.ad[0], "ad_name": entity.ad[1]}
    day = row["date"].isoformat()
    values = {
        "impressions": str(row["impressions"]),
        "clicks": str(row["clicks"]),
        "spend": _decimal(row["spend_cents"]),
        "reach": str(row["reach"]),
    }
    actions = [{"action_type": "link_click", "value": str(row["link_clicks"])}] if row["link_clicks"] else []
    action_values = []
    if row["purchases"]:
        actions += [{"action_type": PURCHASE, "value": str(row["purchases"])},
                    {"action_type": "omni_purchase", "value": str(row["purchases"])}]
        action_values += [{"action_type": PURCHASE, "value": _decimal(row["purchase_value_cents"])},
                          {"action_type": "omni_purchase", "value": _decimal(row["purchase_value_cents"])}]
    if row["video_views"]:
        actions.append({"action_type": "video_view", "value": str(row["video_views"])})
    out = {}
    for f in fields:
        if f in names and f in LEVEL_FIELDS[level]:
            out[f] = names[f]
        elif f in values:
            out[f] = values[f]
        # Meta leaves an action list out when it would be empty.
        elif f == "actions" and actions:
            out[f] = actions
        elif f == "action_values" and action_values:
            out[f] = action_values
        elif f == "video_play_actions" and row["video_views"]:
            out[f] = [{"action_type": "video_view", "value": str(row["video_views"])}]
    out["date_start"] = out["date_stop"] = day
    return out


def _oracle_row(account: AdAccount, row: dict) -> dict:
    entity: Entity | None = row["entity"]
    return {
        "entity_id": entity.id if entity else account.number,
        "entity_name": entity.name if entity else account.name,
        "date": row["date"].isoformat(),
        "impressions": row["impressions"],
        "clicks": row["clicks"],
        "spend_micros": row["spend_cents"] * 10_000,
        "conversions_micros": row["purchases"] * 1_000_000,
        "conversion_value_micros": row["purchase_value_cents"] * 10_000,
        "reach": row["reach"],
        "video_views": row["video_views"],
    }


# ---- usage and throttling --------------------------------------------------------


def _usage_pct(calls: deque, budget: int, now: float) -> float:
    while calls and calls[0] < now - USAGE_WINDOW_SECS:
        calls.popleft()
    return min(100.0, round(len(calls) * 100 / budget, 2))


def _count_usage(account: str | None) -> tuple[float, float | None]:
    now = time.time()
    STATE.app_calls.append(now)
    app = _usage_pct(STATE.app_calls, APP_BUDGET_CALLS, now)
    if account is None:
        return app, None
    calls = STATE.account_calls.setdefault(account, deque())
    calls.append(now)
    return app, _usage_pct(calls, ACCOUNT_BUDGET_CALLS, now)


def _usage_headers(app: float, account: str | None, acc: float | None, regain_minutes: int) -> dict[str, str]:
    """Usage in percent of the budgets: whole percents in x-app-usage and the
    business use case, two decimals in acc_id_util_pct, as Meta's examples show."""
    app = int(app)
    headers = {"x-app-usage": json.dumps({"call_count": app, "total_cputime": app * 3 // 4, "total_time": app * 4 // 5})}
    if account is not None:
        headers["x-ad-account-usage"] = json.dumps(
            {"acc_id_util_pct": acc, "reset_time_duration": regain_minutes * 60 if acc >= 100 else 0,
             "ads_api_access_tier": "standard_access"})
        # The business use case usage is keyed by the object it counts against,
        # the ad account here, per type of call.
        whole = int(acc)
        headers["x-business-use-case-usage"] = json.dumps({account: [{
            "type": "ads_insights", "call_count": whole, "total_cputime": whole * 3 // 4, "total_time": whole * 4 // 5,
            "estimated_time_to_regain_access": regain_minutes if acc >= 100 else 0,
            "ads_api_access_tier": "standard_access"}]})
    return headers


THROTTLE_MESSAGES = {
    4: "Application request limit reached",
    17: "User request limit reached",
    613: "Calls to this api have exceeded the rate limit.",
    80000: "There have been too many calls from this ad-account. Wait a bit and try again.",
}


def _throttle_error(code: int, minutes: int) -> GraphError:
    # 80000 is the ads insights use case (80000-80014 are the other use
    # cases); its subcode 2446079 is documented with it.
    subcode = 2446079 if code in (17, 80000) else (1487742 if code == 613 else None)
    message = THROTTLE_MESSAGES.get(code, "There have been too many calls. Wait a bit and try again.")
    return GraphError(f"{message} For more info, please refer to "
                      "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
                      code, subcode, regain_minutes=minutes)


# ---- the surface -----------------------------------------------------------------


def handle(request: Request) -> Response:
    if request.path.startswith("/_fake/meta/"):
        return _control(request)
    if request.path.startswith(DIALOG):
        return _dialog(request)
    if (versioned := GRAPH_VERSIONED.match(request.path)) is not None:
        from . import organic  # it builds on this module
        version, path = versioned.groups()
        if organic.serves(path):
            return organic.graph(request, version, path, _params(request))
        request.path = GRAPH + path
        return _graph(request)
    return _error_response(GraphError(f"Unknown path components: {request.path}", 2500))


def _error_response(err: GraphError, headers: dict[str, str] | None = None) -> Response:
    body = {"message": err.message, "type": err.type, "code": err.code}
    if err.subcode is not None:
        body["error_subcode"] = err.subcode
    if err.code in (1, 2, 4, 17, 613) or 80000 <= err.code <= 80014:
        body["is_transient"] = True
    with STATE.lock:
        body["fbtrace_id"] = "A" + base64.urlsafe_b64encode(
            stable_int("trace", _next_serial(), modulo=2 ** 63).to_bytes(8, "big")).decode().rstrip("=")
    return Response.json(err.status, {"error": body}, headers)


def _params(request: Request) -> dict[str, str]:
    """Graph parameters from the query string and a form body, as Meta takes both."""
    params = dict(request.query)
    if request.method == "POST" and request.body and "json" not in request.header("content-type"):
        params.update(request.form())
    return params


def _page(items: list, params: dict[str, str], path: str) -> dict:
    """Cursor paging: opaque before/after cursors, `next` only when more follow."""
    try:
        limit = min(MAX_LIMIT, max(1, int(params.get("limit", DEFAULT_LIMIT))))
        start = int(base64.urlsafe_b64decode(params["after"]).decode()) if params.get("after") else 0
    except (ValueError, UnicodeDecodeError) as err:
        raise GraphError(f"(#100) Invalid parameter: {err}", 100) from err
    chunk = items[start:start + limit]
    cursor = lambda n: base64.urlsafe_b64encode(str(n).encode()).decode()  # noqa: E731
    page: dict = {"data": chunk}
    if chunk:
        page["paging"] = {"cursors": {"before": cursor(start), "after": cursor(start + len(chunk))}}
        if start + len(chunk) < len(items):
            rest = {k: v for k, v in params.items() if k != "after"} | {"after": cursor(start + len(chunk))}
            page["paging"]["next"] = f"https://graph.facebook.com/v25.0{path}?{urlencode(rest)}"
    return page


def _graph(request: Request) -> Response:
    path = request.path.removeprefix(GRAPH)
    params = _params(request)
    if path == "/oauth/access_token":
        kind, account = "oauth", None
    elif path == "/me/adaccounts":
        kind, account = "adaccounts", None
    elif path.startswith("/act_") and path.endswith("/insights"):
        kind = "insights_async" if request.method == "POST" else "insights_sync"
        account = path.removeprefix("/act_").removesuffix("/insights")
    elif path.endswith("/insights"):
        kind, account = "report_run_insights", _run_account(path.strip("/").split("/")[0])
    else:
        kind, account = "report_run", _run_account(path.strip("/"))
    with STATE.lock:
        STATE.calls[kind] = STATE.calls.get(kind, 0) + 1
        app, acc = _count_usage(account)
        minutes = STATE.throttle_minutes
        throttled = STATE.throttle_calls > 0
        if throttled:
            STATE.throttle_calls -= 1
            STATE.calls["throttled"] = STATE.calls.get("throttled", 0) + 1
            code = STATE.throttle_code
            # The budget the code names is the one at 100 %: the app's or
            # user's for 4 and 17, the ad account's for the others.
            if code in (4, 17) or account is None:
                app = 100
            else:
                acc = 100
        elif app >= 100 or (acc is not None and acc >= 100):
            throttled, code = True, (4 if app >= 100 else 80000)
    headers = _usage_headers(app, account, acc, minutes)
    try:
        if throttled:
            raise _throttle_error(code, minutes)
        if kind == "oauth":
            body = _access_token(params)
        else:
            user = _user(request, params)
            if kind == "adaccounts":
                body = _adaccounts(user, params, path)
            elif kind == "insights_sync":
                body = _insights_sync(user, account, params, path)
            elif kind == "insights_async":
                body = _insights_async(user, account, params)
            elif kind == "report_run":
                body = _report_run(user, path.strip("/"))
            else:
                body = _report_run_insights(user, path.strip("/").split("/")[0], params, path)
    except GraphError as err:
        with STATE.lock:
            STATE.calls["errors"] = STATE.calls.get("errors", 0) + 1
        return _error_response(err, headers)
    return Response.json(200, body, headers)


def _run_account(run_id: str) -> str | None:
    with STATE.lock:
        run = STATE.runs.get(run_id)
    return run.account if run else None


def _bearer(request: Request, params: dict[str, str]) -> str:
    """The token in `access_token` or an `Authorization: Bearer|OAuth` header."""
    token = params.get("access_token", "")
    auth = request.header("authorization")
    if not token and auth.split(" ")[0].lower() in ("bearer", "oauth"):
        token = auth.partition(" ")[2].strip()
    if not token:
        raise GraphError("An active access token must be used to query information about the current user.", 2500)
    return token


def _user(request: Request, params: dict[str, str]) -> str:
    """The user of the request's token."""
    return _user_of_token(_bearer(request, params))


def _user_of_token(token: str) -> str:
    with STATE.lock:
        found = STATE.tokens.get(token)
    if found is None:
        raise GraphError("Invalid OAuth access token - Cannot parse access token", 190)
    _check_token(found)
    return found.user


def _check_token(token: Token) -> None:
    if token.revoked:
        raise GraphError("Error validating access token: The session has been invalidated because the user "
                         "changed their password or Facebook has changed the session for security reasons.", 190, 460)
    if token.expired or token.expires_at < time.time():
        when = dt.datetime.fromtimestamp(token.expires_at, dt.timezone.utc).strftime("%A, %d-%b-%y %H:%M:%S UTC")
        raise GraphError(f"Error validating access token: Session has expired on {when}.", 190, 463)


def _access_token(params: dict[str, str]) -> dict:
    if params.get("client_id") != APP_ID:
        raise GraphError("Error validating application. Invalid application ID.", 101)
    if params.get("client_secret") != APP_SECRET:
        raise GraphError("Error validating client secret.", 1)
    if params.get("grant_type") == "fb_exchange_token":
        with STATE.lock:
            old = STATE.tokens.get(params.get("fb_exchange_token", ""))
            if old is None:
                raise GraphError("Invalid OAuth access token - Cannot parse access token", 190)
            _check_token(old)
            token = _new_secret("long")
            STATE.tokens[token] = Token(old.user, time.time() + LONG_LIVED_SECS)
        return {"access_token": token, "token_type": "bearer", "expires_in": LONG_LIVED_SECS}
    if "code" not in params:
        raise GraphError("Missing authorization code", 1)
    with STATE.lock:
        code = STATE.codes.get(params["code"])
        if code is None or code.expires_at < time.time():
            raise GraphError("Invalid verification code format.", 100)
        if code.used:
            raise GraphError("This authorization code has been used.", 100, 36009)
        if params.get("redirect_uri") != code.redirect_uri:
            raise GraphError("Error validating verification code. Please make sure your redirect_uri is identical "
                             "to the one you used in the OAuth dialog request", 100, 36008)
        code.used = True
        token = _new_secret("short")
        STATE.tokens[token] = Token(code.user, time.time() + SHORT_LIVED_SECS)
    return {"access_token": token, "token_type": "bearer", "expires_in": SHORT_LIVED_SECS}


def _adaccounts(user: str, params: dict[str, str], path: str) -> dict:
    fields = _fields(params, ACCOUNT_FIELDS, default="id")
    accounts = [a for a in ACCOUNTS.values() if a.user == user]
    values = lambda a: {"id": f"act_{a.number}", "account_id": a.number, "name": a.name,  # noqa: E731
                        "currency": a.currency, "timezone_name": a.timezone, "account_status": a.account_status}
    items = [{f: values(a)[f] for f in fields} | {"id": f"act_{a.number}"} for a in accounts]
    return _page(items, params, path)


def _fields(params: dict[str, str], allowed: set[str], default: str) -> list[str]:
    fields = [f.strip() for f in params.get("fields", default).split(",") if f.strip()]
    for f in fields:
        if f not in allowed:
            raise GraphError(f"(#100) {f} is not valid for fields param. please check "
                             "https://developers.facebook.com/docs/marketing-api/reference/ads-insights/ "
                             "for all valid values", 100)
    return fields


def _account_of(user: str, number: str | None) -> AdAccount:
    account = ACCOUNTS.get(number or "")
    if account is None or account.user != user:
        raise GraphError(f"Unsupported get request. Object with ID 'act_{number}' does not exist, cannot be loaded "
                         "due to missing permissions, or does not support this operation.", 100, 33)
    return account


def _query(user: str, number: str | None, params: dict[str, str]):
    """The account, level, fields and days of an insights request, validated as Meta does."""
    account = _account_of(user, number)
    level = params.get("level", "account")
    if level not in LEVELS:
        raise GraphError(f"(#100) param level must be one of {{{', '.join(LEVELS)}}}", 100)
    fields = _fields(params, INSIGHT_FIELDS, default="impressions,spend")
    if params.get("time_increment", "1") != "1":
        raise GraphError("(#100) The fake serves time_increment=1 only", 100)
    try:
        time_range = json.loads(params["time_range"])
        since = dt.date.fromisoformat(time_range["since"])
        until = dt.date.fromisoformat(time_range["until"])
    except (KeyError, ValueError, TypeError) as err:
        raise GraphError("(#100) param time_range must be a JSON object with since and until (YYYY-MM-DD)", 100) from err
    if since > until:
        raise GraphError("(#100) Must specify a valid time range: since must not be after until", 100)
    statuses = _filtering(level, params)
    today = _today(account)
    month = today.year * 12 + today.month - 1 - LOOKBACK_MONTHS
    first = dt.date(month // 12, month % 12 + 1, 1)
    oldest = first.replace(day=min(today.day, ((first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
                                               - dt.timedelta(days=1)).day))
    if since < oldest:
        raise GraphError("(#3018) The start date of the time range cannot be beyond 37 months from the current date",
                         3018)
    entities = 1 if level == "account" else len(ENTITIES[account.number][level])
    rows = ((min(until, today) - since).days + 1) * entities if since <= today else 0
    return account, level, fields, since, until, statuses, rows


def _filtering(level: str, params: dict[str, str]) -> frozenset[str] | None:
    """The effective statuses `filtering` asks for at `level`, or None
    without it. The fake serves one filter: `<level>.effective_status` IN
    statuses of that object, at the level of that object."""
    if "filtering" not in params:
        return None
    try:
        filters = json.loads(params["filtering"])
        if not isinstance(filters, list) or not all(isinstance(f, dict) for f in filters):
            raise ValueError
        parsed = [(f["field"], f["operator"], f["value"]) for f in filters]
    except (ValueError, KeyError) as err:
        raise GraphError("(#100) param filtering must be an array.", 100) from err
    statuses = None
    for name, operator, value in parsed:
        if level not in EFFECTIVE_STATUSES or name != f"{level}.effective_status":
            raise GraphError(f"(#100) Filtering field {name} is invalid", 100)
        if operator != "IN" or not isinstance(value, list) or not set(value) <= set(EFFECTIVE_STATUSES[level]):
            raise GraphError("Invalid parameter", 100, 1487561)
        statuses = frozenset(value) if statuses is None else statuses & frozenset(value)
    return statuses


def _insights_sync(user: str, number: str | None, params: dict[str, str], path: str) -> dict:
    account, level, fields, since, until, statuses, rows = _query(user, number, params)
    if rows > SYNC_MAX_ROWS:
        raise GraphError("Please reduce the amount of data you're asking for, then retry your request", 1)
    with STATE.lock:
        items = [_api_row(account, level, fields, r) for r in _rows(account, level, since, until, statuses)]
    return _page(items, params, path)


def _insights_async(user: str, number: str | None, params: dict[str, str]) -> dict:
    account, level, fields, since, until, statuses, rows = _query(user, number, params)
    with STATE.lock:
        items = [_api_row(account, level, fields, r) for r in _rows(account, level, since, until, statuses)]
        run_id = str(6_000_000_000_000 + _next_serial())
        # Too big a run is accepted and then fails, as Meta's do.
        STATE.runs[run_id] = ReportRun(run_id, user, account.number, level, since, until, items,
                                        failed=rows > ASYNC_MAX_ROWS)
    return {"report_run_id": run_id}


def _run_of(user: str, run_id: str) -> ReportRun:
    with STATE.lock:
        run = STATE.runs.get(run_id)
    if run is None or run.user != user:
        raise GraphError(f"Unsupported get request. Object with ID '{run_id}' does not exist, cannot be loaded due "
                         "to missing permissions, or does not support this operation.", 100, 33)
    return run


def _report_run(user: str, run_id: str) -> dict:
    run = _run_of(user, run_id)
    with STATE.lock:
        status, percent = RUN_SEQUENCE[min(run.polls, len(RUN_SEQUENCE) - 1)]
        if run.failed and run.polls >= 2:
            status, percent = "Job Failed", 50
        run.polls += 1
    return {"id": run.id, "account_id": run.account, "async_status": status, "async_percent_completion": percent,
            "date_start": run.since.isoformat(), "date_stop": run.until.isoformat(), "time_ref": 0}


def _report_run_insights(user: str, run_id: str, params: dict[str, str], path: str) -> dict:
    run = _run_of(user, run_id)
    with STATE.lock:
        completed = run.polls >= len(RUN_SEQUENCE) and not run.failed
    if not completed:
        raise GraphError("(#100) The report is not ready yet: poll the report run until async_status is "
                         "Job Completed", 100)
    return _page(run.rows, params, path)


# ---- the login dialog ---------------------------------------------------------------


def _redirect_ok(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS and parts.path in REDIRECT_PATHS


def _error_page(title: str, detail: str) -> Response:
    return Response.html(f"<!doctype html><title>Error</title><h1>{html.escape(title)}</h1>"
                         f"<p>{html.escape(detail)}</p>")


def _dialog_problem(params: dict[str, str]) -> Response | None:
    if params.get("client_id") != APP_ID:
        return _error_page("Invalid App ID", "The provided app ID does not look like a valid app ID.")
    if not _redirect_ok(params.get("redirect_uri", "")):
        return _error_page("URL Blocked", "This redirect failed because the redirect URI is not whitelisted in the "
                           "app's Client OAuth Settings. Make sure Client and Web OAuth Login are on and add all your "
                           "app domains as Valid OAuth Redirect URIs.")
    return None


def _dialog(request: Request) -> Response:
    if request.path == DIALOG + "/consent" and request.method == "POST":
        return _consent(request.form())
    if request.path != DIALOG:
        return _error_page("Page not found", request.path)
    params = request.query
    if (problem := _dialog_problem(params)) is not None:
        return problem
    if params.get("response_type", "code") != "code":
        return _error_page("Unsupported response type", "This fake serves response_type=code only.")
    esc = lambda v: html.escape(v, quote=True)  # noqa: E731
    hidden = "".join(f'<input type="hidden" name="{k}" value="{esc(params.get(k, ""))}">'
                     for k in ("client_id", "redirect_uri", "state", "scope"))
    users = "".join(f'<label><input type="radio" name="user" value="{u}"{" checked" if u == "demo" else ""}> '
                    f"{esc(name)}</label><br>" for u, name in USERS.items())
    scopes = "".join(f"<li>{esc(s)}</li>" for s in params.get("scope", "").split(",") if s)
    return Response.html(
        "<!doctype html><html><head><title>Log in with Facebook</title></head><body>"
        f"<h1>{esc(APP_NAME)} is requesting access to:</h1><ul>{scopes}</ul>"
        f'<form method="post" action="{DIALOG}/consent">{hidden}<p>Continue as:</p>{users}'
        '<button type="submit" name="decision" value="allow">Allow</button> '
        '<button type="submit" name="decision" value="cancel">Cancel</button></form></body></html>')


def _consent(form: dict[str, str]) -> Response:
    if (problem := _dialog_problem(form)) is not None:
        return problem
    redirect_uri, state = form["redirect_uri"], form.get("state", "")
    joiner = "&" if "?" in redirect_uri else "?"
    if form.get("decision") == "cancel":
        return Response.redirect(redirect_uri + joiner + urlencode({
            "error": "access_denied", "error_code": "200", "error_description": "Permissions error",
            "error_reason": "user_denied", "state": state}))
    user = form.get("user", "")
    if user not in USERS:
        return _error_page("Log in", "Choose who you are.")
    with STATE.lock:
        code = _new_secret("code")
        STATE.codes[code] = Code(user, redirect_uri, form.get("scope", ""), time.time() + CODE_LIFETIME_SECS)
    # Meta appends "#_=_" to the redirect; browsers drop fragments before the
    # request reaches the server, so the fake leaves it out.
    return Response.redirect(redirect_uri + joiner + urlencode({"code": code, "state": state}))


# ---- test controls and the oracle (never part of Meta's surface) -----------------------


def _control(request: Request) -> Response:
    return controls(request, request.path.removeprefix("/_fake/meta/"), STATE, _oracle, _action)


def _action(name: str, params: dict[str, str]) -> Response:
    if name == "reset":
        reset(STATE)
        return Response.json(200, {"reset": True})
    if name == "restate":
        numbers = [params["account"]] if params.get("account") else list(ACCOUNTS)
        now = time.time()
        for number in numbers:
            STATE.restated_at.setdefault(number, []).append(now)
        return Response.json(200, {"restated": numbers, "versions": {
            n: len(STATE.restated_at[n]) for n in numbers}})
    if name == "zero":
        return zero(STATE.zeroed, params, "account", {
            number: {e.id for es in by_level.values() for e in es} for number, by_level in ENTITIES.items()})
    if name in ("delete", "archive"):
        # The object's status; its delivery data stays.
        entity = params.get("entity", "")
        if not any(entity == e.id for by_level in ENTITIES.values() for es in by_level.values() for e in es):
            return Response.json(400, {"error": "entity (a campaign, ad set or ad) is required"})
        STATE.statuses[entity] = "DELETED" if name == "delete" else "ARCHIVED"
        return Response.json(200, {name: entity})
    if name in ("revoke", "expire"):
        user = params.get("user", "")
        hit = [t for t in STATE.tokens.values() if t.user == user]
        for token in hit:
            setattr(token, "revoked" if name == "revoke" else "expired", True)
        return Response.json(200, {name: user, "tokens": len(hit)})
    if name == "throttle":
        STATE.throttle_calls = int(params.get("calls", "1"))
        STATE.throttle_code = int(params.get("code", "80000"))
        STATE.throttle_minutes = int(params.get("minutes", "1"))
        return Response.json(200, {"throttle_calls": STATE.throttle_calls, "code": STATE.throttle_code,
                                   "minutes": STATE.throttle_minutes})
    return Response.json(404, {"error": f"no control {name}"})


def _oracle(params: dict[str, str]) -> Response:
    account = ACCOUNTS.get(params.get("account", ""))
    level = params.get("level", "account")
    try:
        since, until = dt.date.fromisoformat(params["since"]), dt.date.fromisoformat(params["until"])
    except (KeyError, ValueError):
        return Response.json(400, {"error": "since and until (YYYY-MM-DD) are required"})
    if account is None or level not in LEVELS:
        return Response.json(400, {"error": f"account one of {sorted(ACCOUNTS)}, level one of {LEVELS}"})
    with STATE.lock:
        # What a request asking for every effective status serves (adhouse's).
        statuses = frozenset(EFFECTIVE_STATUSES.get(level, ()))
        rows = [_oracle_row(account, r) for r in _rows(account, level, since, until, statuses)]
    return Response.json(200, {"rows": rows})
