"""A fake of X (Twitter) Ads: OAuth 1.0a at api.x.com and the Ads API v12.

Production → fake paths:
  https://api.x.com/oauth/…       → /x/api/oauth/…
  https://ads-api.x.com/12/…      → /x/ads-api/12/…
  https://ton.twimg.com/… (job files) → /x/ton/…

What it follows, from X's developer documentation (developer.x.com):
* OAuth 1.0a ("Obtaining user access tokens", RFC 5849): POST
  /oauth/request_token with `oauth_callback` → `oauth_token`,
  `oauth_token_secret`, `oauth_callback_confirmed=true`; GET /oauth/authorize
  ?oauth_token= (the consent page); back to the callback with `oauth_token`
  and `oauth_verifier`, or `denied=<token>` on cancel; POST
  /oauth/access_token with the verifier → the user's token and secret.
  Every request is HMAC-SHA1 signed ("Authorizing a request", "Creating a
  signature"); this fake checks each signature, timestamp and nonce, so a
  signing bug fails. Tokens never expire. How each failure answers (all
  HTTP 401), at the OAuth endpoints in the standard API's numbered codes
  ("Response codes"; TwitterKit's TWTRAPIErrorCode.h): a bad signature or
  an unknown consumer key `{"errors":[{"code":32,"message":"Could not
  authenticate you."}]}`; an oauth_timestamp out of X's window
  `{"errors":[{"code":135,"message":"Timestamp out of bounds."}]}` (the
  window's width is unverified: 300 s here, TwitterKit corrects its clock
  beyond 600 s); an unknown or spent token `{"errors":[{"code":89,
  "message":"Invalid or expired token."}]}`. A replayed nonce answers 32
  (unverified). The Ads API answers every one of them alike, `{"errors":
  [{"code":"UNAUTHORIZED_ACCESS","message":"This request is not properly
  authenticated"}]}` (X's staff on twittercommunity.com, "What does 401
  unauthorized mean": "your authentication credentials were missing or
  incorrect"; SDK users report it for a wrong signature; for a revoked token
  and a timestamp out of bounds it is unverified). Every answer has a
  `Date` header of X's clock, which OAuth clients read to correct their
  timestamps (TwitterKit's TWTRAPIDateSync). `oauth_callback=oob` asks for
  the PIN flow ("POST oauth/request_token").
* Ads API: GET /12/accounts (cursor pages, `timezone`,
  `timezone_switch_at`), /12/accounts/:id/funding_instruments (`currency`),
  /12/accounts/:id/campaigns and /line_items (`…_ids`, `with_deleted`).
* Analytics ("Analytics", "Asynchronous analytics", "Active entities"):
  GET /12/stats/accounts/:id (≤ 20 entity_ids, ≤ 7 days, whole hours, DAY
  buckets from the account's local midnight, metrics as arrays with null for
  no activity, one `placement` a request); GET
  /12/stats/accounts/:id/active_entities (≤ 90 days); POST
  /12/stats/jobs/accounts/:id (≤ 90 days, ≤ 100 running jobs an account,
  `X-Concurrent-Job-Limit-Remaining`) → GET …?job_ids= (QUEUED, PROCESSING,
  SUCCESS) → a gzip JSON file at `url`.
* Errors `{"errors":[{"code":"INVALID_PARAMETER","message","parameter"}],
  "request":{"params":{}}}`; rate limits `x-rate-limit-limit/-remaining/
  -reset` and per account `x-account-rate-limit-*` on every answer; 429
  until the reset. Billing metrics are estimates
  for up to 3 days (restatement).
Unverified details are marked where they are made (the answer to a 101st
job, ROUTE_NOT_FOUND for a sunset version).

Test controls and the oracle live under /_fake/x/. The numbers come from
`common.stable_int` of (account, promoted post, day, placement, metric,
restatement version); higher levels are sums of their promoted posts.
"""

import base64
import gzip
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from email.utils import formatdate
from html import escape
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from .common import Request, Response, Sums, controls, is_zeroed, reset, stable_int, zero

PREFIX = "/x"
VERSION = "12"
OAUTH = f"{PREFIX}/api/oauth"
API = f"{PREFIX}/ads-api"
TON = f"{PREFIX}/ton"

CONSUMER_KEY = "fake-x-consumer-key"
CONSUMER_SECRET = "fake-x-consumer-secret"
APP_NAME = "adhouse (local)"
TIMESTAMP_SKEW_SECS = 300
MAX_ENTITY_IDS = 20
SYNC_MAX_DAYS = 7
JOB_MAX_DAYS = 90
MAX_RUNNING_JOBS = 100
RESTATE_DAYS = 3
PLACEMENTS = ("ALL_ON_TWITTER", "PUBLISHER_NETWORK")
BILLING_METRICS = {"billed_charge_local_micro"}
METRIC_GROUPS = {"ENGAGEMENT", "BILLING", "VIDEO", "MEDIA", "WEB_CONVERSION", "MOBILE_CONVERSION", "LIFE_TIME_VALUE_MOBILE_CONVERSION"}
# Requests a user token may make per endpoint family in a 15-minute window
# (X documents per-endpoint limits; these are the fake's, high enough that
# only the throttle control exhausts them).
LIMIT = 2000
WINDOW_SECS = 900


@dataclass(frozen=True)
class AdAccount:
    id: str
    name: str
    timezone: str
    currency: str | None  # of its funding instrument; None: it has none
    approval_status: str = "ACCEPTED"


ACCOUNTS = {a.id: a for a in [
    AdAccount("18ce54d4x5t", "Demo X Tokyo", "Asia/Tokyo", "JPY"),
    AdAccount("18ce54uhdp2", "Demo X US", "America/Los_Angeles", "USD"),
    AdAccount("18ce55a1b2c", "Demo X (in review)", "Europe/London", "GBP", "UNDER_REVIEW"),
    AdAccount("18ce55nofi0", "Demo X (no funding)", "UTC", None),
    AdAccount("5gvk9h", "Other X", "Europe/Berlin", "EUR"),
]}
USERS = {"demo": ("18ce54d4x5t", "18ce54uhdp2", "18ce55a1b2c", "18ce55nofi0"), "other": ("5gvk9h",)}
USER_IDS = {"demo": "1209000000000000001", "other": "1209000000000000002"}


@dataclass(frozen=True)
class Post:
    """A promoted post (PROMOTED_TWEET) in its line item and campaign."""
    id: str
    line_item_id: str
    line_item_name: str
    campaign_id: str
    campaign_name: str
    publisher_network: bool  # whether its line item also serves off X


def _posts(account: AdAccount) -> list[Post]:
    """2–3 campaigns of 2 line items of 2 promoted posts; ids base-36-like."""
    posts = []
    for c in range(1, 2 + stable_int(account.id, "campaigns", modulo=2) + 1):
        campaign = f"{account.id[-3:]}c{c}"
        for li in range(1, 3):
            line_item = f"{campaign}l{li}"
            for p in range(1, 3):
                posts.append(Post(f"{line_item}p{p}", line_item, f"Line item {c}.{li}", campaign,
                                  f"Campaign {c}, {account.name}", li == 2))
    return posts


@dataclass
class Metrics(Sums):
    impressions: int = 0
    clicks: int = 0
    billed_charge_local_micro: int = 0
    engagements: int = 0
    url_clicks: int = 0
    retweets: int = 0
    likes: int = 0
    follows: int = 0


def _post_day(account: AdAccount, post: Post, day: date, placement: str, version: int) -> Metrics | None:
    """One promoted post's numbers for one local day and placement; None: no activity."""
    if placement == "PUBLISHER_NETWORK" and not post.publisher_network:
        return None
    if stable_int(account.id, post.id, day, placement, "active", modulo=6) == 0:
        return None
    key = (account.id, post.id, day, placement)
    impressions = 1 + stable_int(*key, "impressions", modulo=5000)
    clicks = stable_int(*key, "clicks", modulo=impressions // 25 + 1)
    engagements = clicks + stable_int(*key, "engagements", modulo=impressions // 40 + 1)
    # Billing is the one group X restates (an estimate for up to 3 days).
    billed = clicks * (10_000 + stable_int(*key, "cpc", version, modulo=2_000_000))
    return Metrics(impressions, clicks, billed, engagements, stable_int(*key, "url", modulo=clicks + 1),
                   stable_int(*key, "rt", modulo=engagements // 10 + 1), stable_int(*key, "likes", modulo=engagements // 3 + 1),
                   stable_int(*key, "follows", modulo=3))


LEVELS = {"account": "ACCOUNT", "campaign": "CAMPAIGN", "ad_group": "LINE_ITEM", "ad": "PROMOTED_TWEET"}
ENTITY_OF = {
    "ACCOUNT": lambda account, post: account.id,
    "CAMPAIGN": lambda account, post: post.campaign_id,
    "LINE_ITEM": lambda account, post: post.line_item_id,
    "PROMOTED_TWEET": lambda account, post: post.id,
}


@dataclass
class Job:
    id: int
    account: str
    user: str
    params: dict[str, str]
    created: datetime
    polls: int = 0
    file: bytes | None = None

    def status(self) -> str:
        return ["QUEUED", "PROCESSING"][self.polls] if self.polls < 2 else "SUCCESS"


@dataclass
class State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    request_tokens: dict[str, dict] = field(default_factory=dict)  # token → {secret, callback, user, verifier, used}
    access: dict[str, dict] = field(default_factory=dict)  # token → {secret, user, revoked}
    nonces: set[tuple[str, str]] = field(default_factory=set)
    windows: dict[str, list] = field(default_factory=dict)  # limit key → [used, reset]
    restatements: dict[str, list[date]] = field(default_factory=dict)
    # (account, campaign, line item or promoted post id, day) restated to
    # no activity (`common.zero`): its stats are null that day, and it is
    # not active in a window of that day alone.
    zeroed: set[tuple[str, str, date]] = field(default_factory=set)
    throttles: dict[str, int] = field(default_factory=dict)  # account id or "" → throttled calls left
    clocks: dict[str, int] = field(default_factory=dict)  # access token → seconds X's clock is ahead for its requests
    jobs: dict[int, Job] = field(default_factory=dict)
    next_job: int = 1_310_000_000_000_000_000
    calls: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str) -> None:
        self.calls[kind] = self.calls.get(kind, 0) + 1


STATE = State()


class ApiError(Exception):
    def __init__(self, status: int, code, message: str, parameter: str | None = None, headers: dict | None = None):
        super().__init__(message)
        error = {"code": code, "message": message, **({"parameter": parameter} if parameter else {})}
        self.response = Response.json(status, {"errors": [error], "request": {"params": {}}}, headers)


def _invalid(parameter: str, message: str) -> ApiError:
    return ApiError(400, "INVALID_PARAMETER", message, parameter)


def handle(request: Request) -> Response:
    path = request.path
    if path.startswith("/_fake/x/"):
        return controls(request, path.removeprefix("/_fake/x/"), STATE, _oracle, _action)
    with STATE.lock:
        STATE.count(path.removeprefix(PREFIX).split("?")[0])
    response = _answer(request, path)
    response.headers["Date"] = formatdate(_now(request), usegmt=True)
    return response


def _answer(request: Request, path: str) -> Response:
    try:
        if path == f"{OAUTH}/request_token" and request.method == "POST":
            return _request_token(request)
        if path == f"{OAUTH}/authorize" and request.method == "GET":
            return _authorize(request)
        if path == f"{OAUTH}/consent" and request.method == "POST":
            return _consent(request)
        if path == f"{OAUTH}/access_token" and request.method == "POST":
            return _access_token(request)
        if match := re.fullmatch(rf"{TON}/data/ads-api-jobs/(\d+)\.json\.gz", path):
            return _download(int(match.group(1)))
        if match := re.fullmatch(rf"{API}/(\d+)/(.+)", path):
            version, route = match.groups()
            if version != VERSION:
                # Unverified: the code X answers for a version it no longer serves.
                raise ApiError(404, "ROUTE_NOT_FOUND", "The requested resource could not be found")
            return _api(request, route)
        raise ApiError(404, "ROUTE_NOT_FOUND", "The requested resource could not be found")
    except ApiError as err:
        return err.response


# ---- OAuth 1.0a --------------------------------------------------------------

def _encode(text: str) -> str:
    """RFC 5849 §3.6: only the unreserved characters stay."""
    return quote(text, safe="-._~")


def _oauth_params(request: Request) -> dict[str, str]:
    header = request.header("authorization")
    if not header.startswith("OAuth "):
        return {}
    pairs = re.findall(r'([\w-]+)="([^"]*)"', header[len("OAuth "):])
    return {unquote(k): unquote(v) for k, v in pairs}


def _signature(request: Request, oauth: dict[str, str], token_secret: str) -> str:
    """RFC 5849 §3.4: the base string from what arrived, keyed by both secrets."""
    host = request.header("host")
    base_uri = urlunsplit(("http", host.lower(), request.path, "", ""))
    params = list(request.query.items())
    if request.header("content-type").startswith("application/x-www-form-urlencoded"):
        params += parse_qsl(request.body.decode(), keep_blank_values=True)
    params += [(k, v) for k, v in oauth.items() if k != "oauth_signature"]
    normalized = "&".join(f"{k}={v}" for k, v in sorted((_encode(k), _encode(v)) for k, v in params))
    base = "&".join([request.method.upper(), _encode(base_uri), _encode(normalized)])
    key = f"{_encode(CONSUMER_SECRET)}&{_encode(token_secret)}"
    return base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()).decode()


def _now(request: Request) -> float:
    """X's clock as the request's token sees it (the clock control skews it
    for one grant, so that tests of a skewed host run beside others)."""
    with STATE.lock:
        return time.time() + STATE.clocks.get(_oauth_params(request).get("oauth_token", ""), 0)


def _not_authenticated() -> ApiError:
    return ApiError(401, 32, "Could not authenticate you.")


def _verify(request: Request, token_secret_of) -> dict[str, str]:
    """The request's OAuth parameters, once its signature, consumer,
    timestamp and nonce check out; `token_secret_of(token)` is the secret of
    its token ('' for none), or None for an unknown token."""
    oauth = _oauth_params(request)
    if oauth.get("oauth_consumer_key") != CONSUMER_KEY or oauth.get("oauth_signature_method") != "HMAC-SHA1" \
            or oauth.get("oauth_version", "1.0") != "1.0":
        raise _not_authenticated()
    timestamp = oauth.get("oauth_timestamp", "")
    if not timestamp.isdigit() or abs(int(timestamp) - _now(request)) > TIMESTAMP_SKEW_SECS:
        raise ApiError(401, 135, "Timestamp out of bounds.")
    secret = token_secret_of(oauth.get("oauth_token", ""))
    if secret is None or not hmac.compare_digest(_signature(request, oauth, secret), oauth.get("oauth_signature", "")):
        raise _not_authenticated()
    with STATE.lock:
        nonce = (oauth.get("oauth_nonce", ""), timestamp)
        if not nonce[0] or nonce in STATE.nonces:
            raise _not_authenticated()
        STATE.nonces.add(nonce)
    return oauth


def _form(values: dict[str, str]) -> Response:
    return Response(200, urlencode(values).encode(), {"Content-Type": "text/html; charset=utf-8"})


def _request_token(request: Request) -> Response:
    oauth = _verify(request, lambda token: "" if token == "" else None)
    callback = oauth.get("oauth_callback", "")
    if callback != "oob" and not callback.startswith(("http://", "https://")):
        raise ApiError(401, 417, "Desktop applications only support the oauth_callback value 'oob'")
    token, secret = uuid.uuid4().hex, uuid.uuid4().hex
    with STATE.lock:
        STATE.request_tokens[token] = {"secret": secret, "callback": callback, "user": None, "verifier": None, "used": False}
    return _form({"oauth_token": token, "oauth_token_secret": secret, "oauth_callback_confirmed": "true"})


def _page_error(message: str) -> Response:
    return Response(400, f"<html><body><h1>Something went wrong</h1><p>{escape(message)}</p></body></html>".encode(),
                    {"Content-Type": "text/html; charset=utf-8"})


def _authorize(request: Request) -> Response:
    token = request.query.get("oauth_token", "")
    with STATE.lock:
        pending = STATE.request_tokens.get(token)
    if pending is None or pending["used"]:
        return _page_error("This page is no longer valid. It looks like someone already used the token information you provided.")
    options = "".join(f'<option value="{u}">@{u}</option>' for u in USERS)
    return Response.html(
        "<!doctype html><html><head><title>Authorize access</title></head><body>"
        f"<h1>{escape(APP_NAME)} wants to access your X account</h1>"
        "<p>It will be able to read your ads accounts and their analytics.</p>"
        f'<form method="post" action="{OAUTH}/consent">'
        f'<input type="hidden" name="oauth_token" value="{escape(token)}">'
        f'<label>Account <select name="user">{options}</select></label>'
        '<button type="submit" name="decision" value="allow">Authorize app</button>'
        '<button type="submit" name="decision" value="cancel">Cancel</button></form></body></html>'
    )


def _with_query(url: str, values: dict[str, str]) -> str:
    """The callback as registered, with X's fields after its own query."""
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(values)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _consent(request: Request) -> Response:
    f = request.form()
    with STATE.lock:
        pending = STATE.request_tokens.get(f.get("oauth_token", ""))
        if pending is None or pending["used"] or f.get("user") not in USERS:
            return _page_error("unknown request token or account")
        if f.get("decision", "allow") != "allow":
            pending["used"] = True
            return Response.redirect(_with_query(pending["callback"], {"denied": f["oauth_token"]}))
        pending["user"], pending["verifier"] = f["user"], uuid.uuid4().hex[:20]
        if pending["callback"] == "oob":
            return Response.html(f"<html><body><p>Enter this PIN: <code>{pending['verifier']}</code></p></body></html>")
        return Response.redirect(_with_query(pending["callback"], {"oauth_token": f["oauth_token"], "oauth_verifier": pending["verifier"]}))


def _secret_in(tokens: dict[str, dict]):
    """`_verify`'s lookup of a token's secret in `tokens` (request or access tokens)."""
    def secret_of(token: str):
        with STATE.lock:
            entry = tokens.get(token)
            return entry["secret"] if entry else None
    return secret_of


def _access_token(request: Request) -> Response:
    oauth = _verify(request, _secret_in(STATE.request_tokens))
    verifier = oauth.get("oauth_verifier") or request.form().get("oauth_verifier", "")
    with STATE.lock:
        pending = STATE.request_tokens[oauth["oauth_token"]]
        if pending["used"] or pending["user"] is None or verifier != pending["verifier"]:
            raise ApiError(401, 89, "Invalid or expired token.")
        pending["used"] = True
        token = f"{USER_IDS[pending['user']]}-{uuid.uuid4().hex}"
        secret = uuid.uuid4().hex + uuid.uuid4().hex[:13]
        STATE.access[token] = {"secret": secret, "user": pending["user"], "revoked": False}
        user = pending["user"]
    return _form({"oauth_token": token, "oauth_token_secret": secret, "user_id": USER_IDS[user], "screen_name": user})


# ---- Ads API -----------------------------------------------------------------

def _authenticate(request: Request) -> str:
    """The user of an Ads API request; any failure is the Ads API's one 401."""
    try:
        oauth = _verify(request, _secret_in(STATE.access))
        with STATE.lock:
            access = STATE.access[oauth["oauth_token"]]
            if access["revoked"]:
                raise _not_authenticated()
            return access["user"]
    except ApiError as err:
        if err.response.status != 401:
            raise
        raise ApiError(401, "UNAUTHORIZED_ACCESS", "This request is not properly authenticated")


def _limits(user: str, family: str, account: str | None) -> dict[str, str]:
    """Counts the call in its windows; the headers X sends, or a 429."""
    now = int(time.time())
    headers = {}
    with STATE.lock:
        for prefix, key, scope in (("x-rate-limit", f"{user}:{family}", ""), ("x-account-rate-limit", f"{account}:{family}", account)):
            if scope is None:
                continue
            window = STATE.windows.setdefault(key, [0, now + WINDOW_SECS])
            if window[1] <= now:
                window[:] = [0, now + WINDOW_SECS]
            window[0] += 1
            headers.update({f"{prefix}-limit": str(LIMIT), f"{prefix}-remaining": str(max(LIMIT - window[0], 0)),
                            f"{prefix}-reset": str(window[1])})
        for scope in ((account or ""), ""):
            if STATE.throttles.get(scope, 0) > 0:
                STATE.throttles[scope] -= 1
                STATE.count("throttled")
                reset = str(now + 1)
                headers.update({"x-rate-limit-remaining": "0", "x-rate-limit-reset": reset})
                if account:
                    headers.update({"x-account-rate-limit-remaining": "0", "x-account-rate-limit-reset": reset})
                raise ApiError(429, "TOO_MANY_REQUESTS", "Rate limit exceeded", headers=headers)
    return headers


def _api(request: Request, route: str) -> Response:
    user = _authenticate(request)
    account_id = None
    if match := re.match(r"(?:stats/(?:jobs/)?)?accounts/([^/]+)", route):
        account_id = match.group(1)
        if account_id not in USERS[user]:
            raise ApiError(403, "UNAUTHORIZED_ACCESS", "The user does not have access to this account", "account_id")
    family = route.replace(account_id, ":id") if account_id else route
    headers = _limits(user, family, account_id)
    answer = _route(request, route, user, account_id)
    answer.headers.update(headers)
    return answer


def _route(request: Request, route: str, user: str, account_id: str | None) -> Response:
    q = request.query
    if route == "accounts" and request.method == "GET":
        return _paged([_account_json(ACCOUNTS[a]) for a in USERS[user]], q)
    account = ACCOUNTS.get(account_id or "")
    if account is None:
        raise ApiError(404, "ROUTE_NOT_FOUND", "The requested resource could not be found")
    if route == f"accounts/{account.id}/funding_instruments":
        return _paged(_funding(account), q)
    if route == f"accounts/{account.id}/campaigns":
        return _paged(_named(account, "campaign_ids", q, lambda p: (p.campaign_id, p.campaign_name)), q)
    if route == f"accounts/{account.id}/line_items":
        return _paged(_named(account, "line_item_ids", q, lambda p: (p.line_item_id, p.line_item_name)), q)
    if route == f"stats/accounts/{account.id}/active_entities":
        return _active_entities(account, q)
    if route == f"stats/accounts/{account.id}" and request.method == "GET":
        return Response.json(200, _stats(account, q, SYNC_MAX_DAYS))
    if route == f"stats/jobs/accounts/{account.id}" and request.method == "POST":
        return _new_job(account, user, q, request)
    if route == f"stats/jobs/accounts/{account.id}" and request.method == "GET":
        return _jobs(account, q, request)
    raise ApiError(404, "ROUTE_NOT_FOUND", "The requested resource could not be found")


def _account_json(a: AdAccount) -> dict:
    return {"id": a.id, "name": a.name, "timezone": a.timezone, "timezone_switch_at": "2024-03-01T08:00:00Z",
            "approval_status": a.approval_status, "deleted": False, "business_id": None,
            "created_at": "2024-03-01T08:00:00Z", "updated_at": "2026-01-10T12:00:00Z", "salt": uuid.uuid4().hex}


def _funding(a: AdAccount) -> list[dict]:
    if a.currency is None:
        return []
    return [{"id": f"{a.id[-4:]}fi1", "account_id": a.id, "currency": a.currency, "type": "CREDIT_CARD",
             "deleted": False, "entity_status": "ACTIVE", "funded_amount_local_micro": None}]


def _named(account: AdAccount, filter_name: str, q: dict, entity) -> list[dict]:
    wanted = set(q[filter_name].split(",")) if q.get(filter_name) else None
    if wanted is not None and len(wanted) > 200:
        raise _invalid(filter_name, "Expected at most 200 ids")
    seen = {}
    for post in _posts(account):
        entity_id, name = entity(post)
        if wanted is None or entity_id in wanted:
            seen[entity_id] = {"id": entity_id, "name": name, "account_id": account.id, "entity_status": "ACTIVE", "deleted": False}
    return list(seen.values())


def _paged(items: list, q: dict) -> Response:
    count = int(q.get("count", "200"))
    if not 1 <= count <= 1000:
        raise _invalid("count", "Expected an integer between 1 and 1000")
    start = int(q.get("cursor") or 0)
    page = items[start:start + count]
    next_cursor = str(start + count) if start + count < len(items) else None
    return Response.json(200, {"data": page, "next_cursor": next_cursor, "total_count": len(items),
                               "request": {"params": dict(q)}, "data_type": "list"})


def _instant(q: dict, name: str) -> datetime:
    text = q.get(name, "")
    try:
        at = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise _invalid(name, f"Expected time, got \"{text}\" for {name}")
    if at.minute or at.second:
        raise _invalid(name, f"Expected a whole hour for {name}")
    return at


def _offset(account: AdAccount) -> timedelta:
    return datetime.now(ZoneInfo(account.timezone)).utcoffset()


def _today(account: AdAccount) -> date:
    return datetime.now(ZoneInfo(account.timezone)).date()


def _days(account: AdAccount, q: dict, max_days: int) -> list[date]:
    """The DAY buckets of start_time .. end_time: local days at the account's
    current offset, each starting at its local midnight."""
    start, end = _instant(q, "start_time"), _instant(q, "end_time")
    if end <= start:
        raise _invalid("end_time", "end_time must be after start_time")
    if end - start > timedelta(days=max_days):
        raise _invalid("end_time", f"The time range must not exceed {max_days} days")
    local = start + _offset(account)
    if (local.hour, local.minute) != (0, 0) or (end - start) % timedelta(days=1):
        raise _invalid("start_time", "With DAY granularity, start_time and end_time must be at midnight in the account's timezone")
    return [local.date() + timedelta(n) for n in range((end - start).days)]


def _version(account: AdAccount, day: date) -> int:
    return sum(1 for cutoff in STATE.restatements.get(account.id, []) if day >= cutoff)


def _entity_day(account: AdAccount, entity: str, entity_id: str, day: date, placement: str) -> Metrics | None:
    """An entity's numbers: the sum of its promoted posts; None if none had activity."""
    if day > _today(account):
        return None
    with STATE.lock:
        version = _version(account, day)
        zeroed = set(STATE.zeroed)
    total, active = Metrics(), False
    for post in _posts(account):
        if ENTITY_OF[entity](account, post) != entity_id:
            continue
        if is_zeroed(zeroed, account.id, (post.id, post.line_item_id, post.campaign_id), day):
            continue
        metrics = _post_day(account, post, day, placement, version)
        if metrics is not None:
            total.add(metrics)
            active = True
    return total if active else None


def _entity_ids(account: AdAccount, entity: str) -> list[str]:
    return sorted({ENTITY_OF[entity](account, post) for post in _posts(account)})


def _stats(account: AdAccount, q: dict, max_days: int) -> dict:
    entity = q.get("entity", "")
    if entity not in ENTITY_OF:
        raise _invalid("entity", f"Expected enum value among {sorted(ENTITY_OF)}")
    ids = [i for i in q.get("entity_ids", "").split(",") if i]
    if not 1 <= len(ids) <= MAX_ENTITY_IDS:
        raise _invalid("entity_ids", f"Expected between 1 and {MAX_ENTITY_IDS} entity_ids")
    unknown = set(ids) - set(_entity_ids(account, entity))
    if unknown:
        raise _invalid("entity_ids", f"Unknown {entity} ids: {','.join(sorted(unknown))}")
    if q.get("granularity") != "DAY":
        raise _invalid("granularity", "The fake serves DAY granularity only")
    groups = set(q.get("metric_groups", "").split(","))
    if not groups or not groups <= METRIC_GROUPS:
        raise _invalid("metric_groups", f"Expected enum values among {sorted(METRIC_GROUPS)}")
    placement = q.get("placement", "")
    if placement not in PLACEMENTS:
        raise _invalid("placement", f"Expected enum value among {list(PLACEMENTS)}")
    days = _days(account, q, max_days)
    wanted = [name for name in Metrics.__dataclass_fields__
              if ("BILLING" if name in BILLING_METRICS else "ENGAGEMENT") in groups]
    data = []
    for entity_id in ids:
        per_day = [_entity_day(account, entity, entity_id, day, placement) for day in days]
        metrics = {name: [getattr(m, name) if m else None for m in per_day] for name in wanted}
        data.append({"id": entity_id, "id_data": [{"segment": None, "metrics": metrics}]})
    return {"data_type": "stats", "time_series_length": len(days), "data": data, "request": {"params": dict(q)}}


def _active_entities(account: AdAccount, q: dict) -> Response:
    entity = q.get("entity", "")
    if entity not in ("CAMPAIGN", "LINE_ITEM", "PROMOTED_TWEET", "FUNDING_INSTRUMENT", "MEDIA_CREATIVE", "PROMOTED_ACCOUNT"):
        raise _invalid("entity", "Expected enum value among CAMPAIGN, FUNDING_INSTRUMENT, LINE_ITEM, MEDIA_CREATIVE, PROMOTED_ACCOUNT, PROMOTED_TWEET")
    start, end = _instant(q, "start_time"), _instant(q, "end_time")
    if end <= start or end - start > timedelta(days=JOB_MAX_DAYS):
        raise _invalid("end_time", f"The time range must not exceed {JOB_MAX_DAYS} days")
    local = (start + _offset(account)).date()
    days = [local + timedelta(n) for n in range(max((end - start).days, 1))]
    data = []
    for entity_id in _entity_ids(account, entity) if entity in ENTITY_OF else []:
        active = [(p, d) for p in PLACEMENTS for d in days if _entity_day(account, entity, entity_id, d, p)]
        if active:
            data.append({"entity_id": entity_id, "activity_start_time": q["start_time"], "activity_end_time": q["end_time"],
                         "placements": sorted({p for p, _ in active})})
    return Response.json(200, {"data": data, "request": {"params": dict(q)}})


def _job_json(job: Job, request: Request) -> dict:
    url = f"http://{request.header('host')}{TON}/data/ads-api-jobs/{job.id}.json.gz" if job.status() == "SUCCESS" else None
    return {"id": job.id, "id_str": str(job.id), "status": job.status(), "url": url, "account_id": job.account,
            "entity": job.params.get("entity"), "entity_ids": job.params.get("entity_ids", "").split(","),
            "start_time": job.params.get("start_time"), "end_time": job.params.get("end_time"),
            "placement": job.params.get("placement"), "granularity": job.params.get("granularity"),
            "metric_groups": job.params.get("metric_groups", "").split(","), "segmentation_type": None,
            "expires_at": (job.created + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "created_at": job.created.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _running(account: AdAccount) -> int:
    return sum(1 for j in STATE.jobs.values() if j.account == account.id and j.status() != "SUCCESS")


def _new_job(account: AdAccount, user: str, q: dict, request: Request) -> Response:
    _stats(account, q, JOB_MAX_DAYS)  # the same checks as the synchronous endpoint, 90 days
    with STATE.lock:
        running = _running(account)
        if running >= MAX_RUNNING_JOBS:
            # Unverified: the status and code of the 101st running job.
            raise ApiError(429, "TOO_MANY_REQUESTS", "Concurrent job limit exceeded",
                           headers={"X-Concurrent-Job-Limit": str(MAX_RUNNING_JOBS), "X-Concurrent-Job-Limit-Remaining": "0"})
        STATE.next_job += 1
        job = Job(STATE.next_job, account.id, user, dict(q), datetime.now(timezone.utc))
        STATE.jobs[job.id] = job
        remaining = MAX_RUNNING_JOBS - running - 1
        STATE.count("jobs_created")
    return Response.json(200, {"data": _job_json(job, request), "request": {"params": dict(q)}},
                         {"X-Concurrent-Job-Limit": str(MAX_RUNNING_JOBS), "X-Concurrent-Job-Limit-Remaining": str(remaining)})


def _jobs(account: AdAccount, q: dict, request: Request) -> Response:
    wanted = {int(i) for i in q.get("job_ids", "").split(",") if i.isdigit()} or None
    data = []
    for job in list(STATE.jobs.values()):
        if job.account != account.id or (wanted is not None and job.id not in wanted):
            continue
        with STATE.lock:
            job.polls += 1  # each look moves a job on: QUEUED → PROCESSING → SUCCESS
            done = job.status() == "SUCCESS" and job.file is None
        if done:
            # The file is cut when the job succeeds: a later restatement is not in it.
            job.file = gzip.compress(json.dumps(_stats(account, job.params, JOB_MAX_DAYS)).encode())
        data.append(_job_json(job, request))
    return Response.json(200, {"data": data, "next_cursor": None, "request": {"params": dict(q)}})


def _download(job_id: int) -> Response:
    with STATE.lock:
        job = STATE.jobs.get(job_id)
    if job is None or job.file is None:
        return Response(404, b"<Error><Code>NoSuchKey</Code></Error>", {"Content-Type": "application/xml"})
    return Response(200, job.file, {"Content-Type": "application/gzip"})


# ---- Test controls and the oracle (never part of X's surface) ---------------

def _action(name: str, q: dict[str, str]) -> Response:
    if name == "revoke":
        dead = [t for t, a in STATE.access.items() if a["user"] == q.get("user") or t == q.get("token")]
        for token in dead:
            STATE.access[token]["revoked"] = True
        return Response.json(200, {"revoked_tokens": len(dead)})
    if name == "clock":
        STATE.clocks[q["token"]] = int(q.get("ahead_secs", "0"))
        return Response.json(200, {"token": q["token"], "ahead_secs": STATE.clocks[q["token"]]})
    if name == "throttle":
        STATE.throttles[q.get("account", "")] = int(q.get("calls", "1"))
        return Response.json(200, {"account": q.get("account", ""), "calls": int(q.get("calls", "1"))})
    if name == "zero":
        return zero(STATE.zeroed, q, "account", {
            a: {e for p in _posts(account) for e in (p.id, p.line_item_id, p.campaign_id)} for a, account in ACCOUNTS.items()})
    if name == "restate":
        targets = [q["account"]] if q.get("account") else list(ACCOUNTS)
        for account_id in targets:
            STATE.restatements.setdefault(account_id, []).append(_today(ACCOUNTS[account_id]) - timedelta(RESTATE_DAYS - 1))
        return Response.json(200, {"versions": {a: len(STATE.restatements[a]) for a in targets}})
    if name == "reset":
        reset(STATE)
        return Response.json(200, {"reset": True})
    return Response.json(404, {"error": f"no control {name} (X tokens never expire: there is no expire)"})


def _oracle(q: dict[str, str]) -> Response:
    """What the stats say now, in the unified model: both placements summed,
    days with activity only, names as the listings give them (promoted
    posts have none)."""
    account = ACCOUNTS.get(q.get("account", ""))
    level = q.get("level", "")
    if account is None or level not in LEVELS:
        return Response.json(400, {"error": "account (an ads account id) and level (account, campaign, ad_group, ad) are required"})
    entity = LEVELS[level]
    names = {post.campaign_id: post.campaign_name for post in _posts(account)}
    names |= {post.line_item_id: post.line_item_name for post in _posts(account)}
    names[account.id] = account.name
    since, until = date.fromisoformat(q["since"]), date.fromisoformat(q["until"])
    rows = []
    for n in range((until - since).days + 1):
        day = since + timedelta(n)
        for entity_id in _entity_ids(account, entity):
            placed = [m for m in (_entity_day(account, entity, entity_id, day, p) for p in PLACEMENTS) if m]
            if not placed:
                continue
            total = Metrics()
            for m in placed:
                total.add(m)
            rows.append({"entity_id": entity_id, "entity_name": "" if entity == "PROMOTED_TWEET" else names[entity_id],
                         "date": day.isoformat(), "impressions": total.impressions, "clicks": total.clicks,
                         "spend_micros": total.billed_charge_local_micro, "conversions_micros": 0,
                         "conversion_value_micros": 0, "reach": 0, "video_views": 0})
    return Response.json(200, {"rows": rows})
