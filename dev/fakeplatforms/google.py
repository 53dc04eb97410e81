"""A fake of Google's OAuth 2.0 endpoints and of the Google Ads API (v26 REST).

Production → fake paths:
  https://accounts.google.com/o/oauth2/v2/auth → /google/accounts/o/oauth2/v2/auth
  https://oauth2.googleapis.com/token          → /google/oauth2/token
  https://googleads.googleapis.com/v26         → /google/ads/v26

What it follows, from Google's public documentation:
* OAuth 2.0 for web server apps, with PKCE (S256):
  https://developers.google.com/identity/protocols/oauth2/web-server
  (`access_type=offline` gives a refresh token; `invalid_grant` "Token has
  been expired or revoked." for a dead refresh token:
  https://developers.google.com/google-ads/api/docs/get-started/common-errors)
* Call structure, `developer-token` and `login-customer-id` headers:
  https://developers.google.com/google-ads/api/rest/auth and
  https://developers.google.com/google-ads/api/docs/concepts/call-structure#cid
* `customers:listAccessibleCustomers`, `googleAds:searchStream` and the
  `customer_client` hierarchy:
  https://developers.google.com/google-ads/api/docs/account-management/get-account-hierarchy
* GAQL dates (`segments.date BETWEEN 'YYYY-MM-DD' AND 'YYYY-MM-DD'`):
  https://developers.google.com/google-ads/api/docs/query/date-ranges
* Errors: the `google.rpc.Status` body with a `GoogleAdsFailure` detail;
  enums AuthenticationError, AuthorizationError (USER_PERMISSION_DENIED,
  CUSTOMER_NOT_ENABLED), QuotaError with QuotaErrorDetails.retryDelay,
  QueryError, DateRangeError.REQUESTED_DATE_GRANULARITY_NOT_SUPPORTED ("only
  available for the last 37 months"):
  https://developers.google.com/google-ads/api/reference/rpc/v26/DateRangeErrorEnum.DateRangeError
  https://developers.google.com/google-ads/api/reference/rpc/latest/QueryErrorEnum.QueryError
  (an unknown field: `UNRECOGNIZED_FIELD`, "Unrecognized fields in the query:
  'a', 'b'." as client projects quote v25's answers; the singular for one
  field is their report too, unverified)
* Metrics of v26 (common/metrics.proto, googleapis/googleapis): v22 replaced
  `metrics.video_views` (field 154) with `metrics.video_trueview_views` (407),
  https://developers.google.com/google-ads/api/diff-tool/v22/versus-v21/diffs/full/common/metrics;
  the old name is an unknown field here, as in every version from v22.
* REST JSON: camelCase field names, int64 as JSON strings, doubles as numbers
  (the proto3 JSON mapping).
* A server stream over REST answers HTTP 200 before its first message; a
  failure after that is written as the array's last element, the same
  `{"error": Status}` as an error body with the HTTP code in `code`
  (Google's HTTP/JSON transcoding: https://github.com/googleapis/gapic-showcase/issues/1377).
  Unverified for searchStream itself: Google documents no example.
Unverified details are marked where they are made.

Test controls and the oracle live under /_fake/google/ (see `_controls`).
The numbers come from `common.stable_int` of (customer, ad, day, metric,
restatement version); higher levels are sums of their ads, so every level
agrees with the others like Google's do.
"""

import base64
import hashlib
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import escape
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from .common import Request, Response, Sums, controls, is_zeroed, reset, stable_int, zero

PREFIX = "/google"
VERSION = "v26"
API = f"{PREFIX}/ads/{VERSION}"

# The app registered with the fake: the same values as devstack's settings.
CLIENT_ID = "fake-google-client.apps.googleusercontent.com"
CLIENT_SECRET = "fake-google-secret"
DEVELOPER_TOKEN = "fake-developer-token"
APP_NAME = "adhouse (local)"
SCOPE = "https://www.googleapis.com/auth/adwords"

ACCESS_TOKEN_SECS = 3599
MAX_BATCH_ROWS = 10_000
RESTATE_DAYS = 14
LOOKBACK_MONTHS = 37
DEFAULT_RETRY_DELAY_SECS = 3


@dataclass(frozen=True)
class Customer:
    id: str
    name: str
    currency: str
    time_zone: str
    manager: bool = False
    status: str = "ENABLED"
    clients: tuple[str, ...] = ()


CUSTOMERS = {
    c.id: c
    for c in [
        Customer("9000000001", "Demo Agency (manager)", "USD", "America/New_York", manager=True,
                 clients=("1111111111", "2222222222", "5555555555")),
        Customer("1111111111", "Demo Shop US", "USD", "America/New_York"),
        Customer("2222222222", "デモショップ東京", "JPY", "Asia/Tokyo"),
        # Closed: listed under the manager, refused for reports.
        Customer("5555555555", "Demo Shop (closed)", "USD", "America/New_York", status="CANCELED"),
        Customer("3333333333", "Demo Boutique Paris", "EUR", "Europe/Paris"),
        Customer("4444444444", "Other Ltd", "GBP", "Europe/London"),
    ]
}
USERS = {"demo": ("9000000001", "3333333333"), "other": ("4444444444",)}


@dataclass(frozen=True)
class Ad:
    id: str
    name: str
    ad_group_id: str
    ad_group_name: str
    campaign_id: str
    campaign_name: str
    video: bool


def _ads(customer: Customer) -> list[Ad]:
    """2–4 campaigns of 2 ad groups of 2 ads; the first campaign is a video one."""
    ads = []
    base = int(customer.id[-4:]) * 1000
    local = customer.currency == "JPY"
    for c in range(1, 2 + stable_int(customer.id, "campaigns", modulo=3) + 1):
        campaign_id = str(20_000_000 + base + c)
        campaign_name = f"キャンペーン {c}" if local else f"Campaign {c} – {customer.name}"
        for g in range(1, 3):
            ad_group_id = f"{campaign_id}{g}0"
            for a in range(1, 3):
                ads.append(Ad(
                    id=f"{ad_group_id}{a}", name=f"Ad {c}.{g}.{a}",
                    ad_group_id=ad_group_id, ad_group_name=f"Ad group {c}.{g}",
                    campaign_id=campaign_id, campaign_name=campaign_name, video=c == 1,
                ))
    return ads


ADS = {cid: _ads(c) for cid, c in CUSTOMERS.items() if not c.manager}


@dataclass
class Metrics(Sums):
    impressions: int = 0
    clicks: int = 0
    cost_micros: int = 0
    conversions_micros: int = 0
    conversions_value_micros: int = 0
    video_trueview_views: int = 0


def _ad_day(customer: Customer, ad: Ad, day: date, version: int) -> Metrics | None:
    """One ad's numbers for one customer-local day; None for no activity."""
    if stable_int(customer.id, ad.id, day, "active", modulo=10) == 0:
        return None
    key = (customer.id, ad.id, day)
    impressions = 1 + stable_int(*key, "impressions", version, modulo=5000)
    clicks = stable_int(*key, "clicks", version, modulo=impressions // 10 + 1)
    # Cents for most currencies, whole yen for JPY.
    money_unit = 1_000_000 if customer.currency == "JPY" else 10_000
    cpc_units = 1 + stable_int(*key, "cpc", version, modulo=300)
    conversions_micros = stable_int(*key, "conversions", version, modulo=clicks * 200_000 + 1)
    value_units = stable_int(*key, "value", version, modulo=clicks * 5_000 + 1) if conversions_micros else 0
    views = stable_int(*key, "views", version, modulo=impressions // 3 + 1) if ad.video else 0
    return Metrics(impressions, clicks, clicks * cpc_units * money_unit, conversions_micros,
                   value_units * money_unit, views)


LEVELS = {
    # level: (GAQL resource, id field, name field, how an ad maps to its entity)
    "account": ("customer", "customer.id", "customer.descriptive_name", None),
    "campaign": ("campaign", "campaign.id", "campaign.name", lambda ad: (ad.campaign_id, ad.campaign_name)),
    "ad_group": ("ad_group", "ad_group.id", "ad_group.name", lambda ad: (ad.ad_group_id, ad.ad_group_name)),
    "ad": ("ad_group_ad", "ad_group_ad.ad.id", "ad_group_ad.ad.name", lambda ad: (ad.id, ad.name)),
}
RESOURCE_LEVEL = {resource: level for level, (resource, *_rest) in LEVELS.items()}
METRIC_FIELDS = {
    "metrics.impressions", "metrics.clicks", "metrics.cost_micros", "metrics.conversions",
    "metrics.conversions_value", "metrics.video_trueview_views",
}
CLIENT_FIELDS = {
    "customer_client.id", "customer_client.descriptive_name", "customer_client.manager",
    "customer_client.currency_code", "customer_client.time_zone", "customer_client.status",
    "customer_client.level", "customer_client.client_customer",
}


@dataclass
class Code:
    user: str
    redirect_uri: str
    challenge: str
    scope: str
    offline: bool
    used: bool = False


@dataclass
class AccessToken:
    user: str
    refresh_token: str
    expires_at: float
    revoked: bool = False


@dataclass
class Throttle:
    calls: int
    retry_delay_secs: int


@dataclass
class StreamCut:
    """searchStream answers that fail after `rows` rows: 200, then the error."""
    calls: int
    rows: int
    error: str


@dataclass
class State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    codes: dict[str, Code] = field(default_factory=dict)
    # refresh token → (user, revoked)
    grants: dict[str, list] = field(default_factory=dict)
    access: dict[str, AccessToken] = field(default_factory=dict)
    # customer → customer-local cutoff days of each restatement (days on or
    # after a cutoff answer that restatement's numbers).
    restatements: dict[str, list[date]] = field(default_factory=dict)
    # (customer, campaign, ad group or ad id, day) restated to no activity
    # (`common.zero`).
    zeroed: set[tuple[str, str, date]] = field(default_factory=set)
    # customer id, or "" for every customer → pending throttled calls
    throttles: dict[str, Throttle] = field(default_factory=dict)
    # refresh token (its grant's calls) or customer id → pending cut streams
    cuts: dict[str, StreamCut] = field(default_factory=dict)
    batch_rows: dict[str, int] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str) -> None:
        self.calls[kind] = self.calls.get(kind, 0) + 1


STATE = State()


def handle(request: Request) -> Response:
    path = request.path
    if path.startswith("/_fake/google/"):
        return _controls(request, path.removeprefix("/_fake/google/"))
    with STATE.lock:
        STATE.count(_kind(path))
        if match := re.fullmatch(rf"{API}/customers/(\d+)/googleAds:searchStream", path):
            STATE.count(f"searchStream.{match.group(1)}")
    if path == f"{PREFIX}/accounts/o/oauth2/v2/auth" and request.method == "GET":
        return _authorize(request)
    if path == f"{PREFIX}/accounts/o/oauth2/v2/consent" and request.method == "POST":
        return _consent(request)
    if path == f"{PREFIX}/oauth2/token" and request.method == "POST":
        return _token(request)
    if path == f"{API}/customers:listAccessibleCustomers" and request.method == "GET":
        return _api(request, None, _list_accessible)
    match = re.fullmatch(rf"{API}/customers/(\d+)/googleAds:searchStream", path)
    if match and request.method == "POST":
        return _api(request, match.group(1), _search_stream)
    if path.startswith(f"{PREFIX}/ads/") and not path.startswith(API):
        return _failure(400, "INVALID_ARGUMENT", "Version is not supported.", "requestError", "UNSUPPORTED_VERSION")
    return Response.json(404, {"error": {"code": 404, "message": f"Method not found: {path}", "status": "NOT_FOUND"}})


def _kind(path: str) -> str:
    if path.endswith("/auth"):
        return "auth"
    if path.endswith("/consent"):
        return "consent"
    if path.endswith("/token"):
        return "token"
    if path.endswith(":listAccessibleCustomers"):
        return "listAccessibleCustomers"
    if path.endswith(":searchStream"):
        return "searchStream"
    return "other"


# ---- OAuth ----------------------------------------------------------------

def _oauth_page_error(message: str) -> Response:
    # Google shows an "Error 400: invalid_request" page rather than redirecting.
    return Response(400, f"<html><body><h1>Error 400: invalid_request</h1><p>{escape(message)}</p></body></html>".encode(),
                    {"Content-Type": "text/html; charset=utf-8"})


def _authorize(request: Request) -> Response:
    q = request.query
    if q.get("client_id") != CLIENT_ID:
        return Response(401, b"<html><body><h1>Error 401: invalid_client</h1><p>The OAuth client was not found.</p></body></html>",
                        {"Content-Type": "text/html; charset=utf-8"})
    if q.get("response_type") != "code":
        return _oauth_page_error("Missing or unsupported response_type.")
    if not q.get("redirect_uri", "").startswith(("http://", "https://")):
        return _oauth_page_error("Missing required parameter: redirect_uri")
    if SCOPE not in q.get("scope", "").split():
        return _oauth_page_error("Missing required parameter: scope")
    if not q.get("code_challenge") or q.get("code_challenge_method") != "S256":
        # Google also takes `plain`; adhouse always sends S256, so the fake demands it.
        return _oauth_page_error("code_challenge with code_challenge_method=S256 is required.")
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{escape(q.get(name, ""))}">'
        for name in ("client_id", "redirect_uri", "state", "code_challenge", "scope", "access_type")
    )
    options = "".join(f'<option value="{u}">{u}@example.com</option>' for u in USERS)
    return Response.html(
        "<!doctype html><html><head><title>Sign in - Google Accounts</title></head><body>"
        f"<h1>{escape(APP_NAME)} wants to access your Google Account</h1>"
        f"<p>This will allow {escape(APP_NAME)} to: <b>See, edit, create and delete your Google Ads accounts and data</b>"
        f" ({escape(SCOPE)})</p>"
        f'<form method="post" action="{PREFIX}/accounts/o/oauth2/v2/consent">'
        f'<label>Account <select name="user">{options}</select></label>{hidden}'
        '<button type="submit">Allow</button></form></body></html>'
    )


def _consent(request: Request) -> Response:
    f = request.form()
    if f.get("user") not in USERS or f.get("client_id") != CLIENT_ID:
        return _oauth_page_error("Unknown user or client.")
    code = "4/0A" + uuid.uuid4().hex
    with STATE.lock:
        STATE.codes[code] = Code(f["user"], f.get("redirect_uri", ""), f.get("code_challenge", ""),
                                 f.get("scope", SCOPE), f.get("access_type") == "offline")
    query = urlencode({"state": f.get("state", ""), "code": code, "scope": f.get("scope", SCOPE)})
    separator = "&" if "?" in f.get("redirect_uri", "") else "?"
    return Response.redirect(f"{f.get('redirect_uri', '')}{separator}{query}")


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response.json(status, {"error": error, "error_description": description})


def _token(request: Request) -> Response:
    f = request.form()
    if f.get("client_id") != CLIENT_ID or f.get("client_secret") != CLIENT_SECRET:
        return _oauth_error(401, "invalid_client", "Unauthorized")
    grant = f.get("grant_type")
    with STATE.lock:
        if grant == "authorization_code":
            STATE.count("token.authorization_code")
            code = STATE.codes.get(f.get("code", ""))
            if code is None:
                return _oauth_error(400, "invalid_grant", "Malformed auth code.")
            if code.used:
                return _oauth_error(400, "invalid_grant", "Bad Request")
            code.used = True
            if f.get("redirect_uri") != code.redirect_uri:
                return _oauth_error(400, "redirect_uri_mismatch", "Bad Request")
            if not f.get("code_verifier"):
                return _oauth_error(400, "invalid_grant", "Missing code verifier.")
            if _s256(f["code_verifier"]) != code.challenge:
                return _oauth_error(400, "invalid_grant", "Invalid code verifier.")
            answer = {"scope": code.scope, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_SECS}
            refresh = ""
            if code.offline:
                refresh = "1//0" + uuid.uuid4().hex
                STATE.grants[refresh] = [code.user, False]
                answer["refresh_token"] = refresh
            answer["access_token"] = _new_access_token(code.user, refresh)
            return Response.json(200, answer)
        if grant == "refresh_token":
            STATE.count("token.refresh_token")
            grant_state = STATE.grants.get(f.get("refresh_token", ""))
            if grant_state is None or grant_state[1]:
                return _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
            token = _new_access_token(grant_state[0], f["refresh_token"])
            return Response.json(200, {"access_token": token, "expires_in": ACCESS_TOKEN_SECS,
                                       "scope": SCOPE, "token_type": "Bearer"})
    return _oauth_error(400, "unsupported_grant_type", "Invalid grant_type: " + (grant or ""))


def _s256(verifier: str) -> str:
    """The PKCE S256 challenge of `verifier` (RFC 7636 §4.2)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _new_access_token(user: str, refresh: str) -> str:
    token = "ya29.a0" + uuid.uuid4().hex
    STATE.access[token] = AccessToken(user, refresh, _now() + ACCESS_TOKEN_SECS)
    return token


def _now() -> float:
    return datetime.now().timestamp()


# ---- API ------------------------------------------------------------------

class ApiError(Exception):
    def __init__(self, status: int, rpc_status: str, message: str, kind: str, code: str, details: dict | None = None):
        super().__init__(message)
        self.response = _failure(status, rpc_status, message, kind, code, details)


def _failure(status: int, rpc_status: str, message: str, kind: str, code: str, details: dict | None = None) -> Response:
    return Response.json(status, _status(status, rpc_status, message, kind, code, details))


def _status(status: int, rpc_status: str, message: str, kind: str, code: str, details: dict | None = None) -> dict:
    """Google's error body: a google.rpc.Status whose details carry a GoogleAdsFailure."""
    error = {"errorCode": {kind: code}, "message": message}
    if details:
        error["details"] = details
    return {"error": {
        "code": status, "message": _RPC_MESSAGES.get(rpc_status, message), "status": rpc_status,
        "details": [{
            "@type": f"type.googleapis.com/google.ads.googleads.{VERSION}.errors.GoogleAdsFailure",
            "errors": [error],
            "requestId": uuid.uuid4().hex[:22],
        }],
    }}


_RPC_MESSAGES = {
    "UNAUTHENTICATED": "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
    "PERMISSION_DENIED": "The caller does not have permission",
    "INVALID_ARGUMENT": "Request contains an invalid argument.",
    "RESOURCE_EXHAUSTED": "Too many requests. Retry in a while.",
}


def _api(request: Request, customer_id: str | None, answer) -> Response:
    try:
        user = _authenticate(request)
        _throttle(customer_id)
        return answer(request, user, customer_id)
    except ApiError as err:
        return err.response


def _authenticate(request: Request) -> str:
    token = request.header("authorization").removeprefix("Bearer ").strip()
    with STATE.lock:
        access = STATE.access.get(token)
        if access is None:
            raise ApiError(401, "UNAUTHENTICATED", "Authentication of the request failed.", "authenticationError", "OAUTH_TOKEN_INVALID")
        if access.revoked:
            raise ApiError(401, "UNAUTHENTICATED", "The OAuth token has been revoked.", "authenticationError", "OAUTH_TOKEN_REVOKED")
        if access.expires_at <= _now():
            raise ApiError(401, "UNAUTHENTICATED", "The OAuth token in the header has expired.", "authenticationError", "OAUTH_TOKEN_EXPIRED")
    # Since v19.1 an invalid developer token answers DEVELOPER_TOKEN_INVALID
    # (https://developers.google.com/ads/blog/posts/2025/03/google-ads-api-introducing-new-error).
    if request.header("developer-token") != DEVELOPER_TOKEN:
        raise ApiError(401, "UNAUTHENTICATED", "The developer token is not valid.", "authenticationError", "DEVELOPER_TOKEN_INVALID")
    return access.user


def _throttle(customer_id: str | None) -> None:
    with STATE.lock:
        for scope in (customer_id or "", ""):
            throttle = STATE.throttles.get(scope)
            if throttle and throttle.calls > 0:
                throttle.calls -= 1
                STATE.count("throttled")
                if customer_id:
                    STATE.count(f"throttled.{customer_id}")
                raise ApiError(*_quota(throttle.retry_delay_secs))


def _quota(delay: int) -> tuple:
    return (429, "RESOURCE_EXHAUSTED", f"Too many requests. Retry in {delay} seconds.", "quotaError", "RESOURCE_EXHAUSTED",
            {"quotaErrorDetails": {"rateScope": "DEVELOPER", "rateName": "Number of operations for basic access",
                                   "retryDelay": f"{delay}s"}})


# What a cut stream's last element says (the `error` of the `cut` control).
CUT_ERRORS = {
    "transient": (500, "INTERNAL", "The request failed due to a transient error.", "internalError", "TRANSIENT_ERROR"),
    "quota": _quota(DEFAULT_RETRY_DELAY_SECS),
}


def _cut(request: Request, customer_id: str) -> StreamCut | None:
    """The pending cut for this call's grant, else its customer, counted."""
    token = request.header("authorization").removeprefix("Bearer ").strip()
    with STATE.lock:
        grant = STATE.access[token].refresh_token
        for scope in (grant, customer_id):
            cut = STATE.cuts.get(scope)
            if cut and cut.calls > 0:
                cut.calls -= 1
                STATE.count("cut")
                STATE.count(f"cut.{customer_id}")
                return cut
    return None


def _list_accessible(request: Request, user: str, _customer_id) -> Response:
    return Response.json(200, {"resourceNames": [f"customers/{cid}" for cid in USERS[user]]})


def _check_access(request: Request, user: str, customer_id: str) -> Customer:
    """Direct access, or through the manager named in `login-customer-id`."""
    customer = CUSTOMERS.get(customer_id)
    login = request.header("login-customer-id")
    direct = USERS[user]
    allowed = customer is not None and (
        (not login and customer_id in direct)
        or (login in direct and (login == customer_id or customer_id in CUSTOMERS[login].clients))
    )
    if not allowed:
        raise ApiError(403, "PERMISSION_DENIED",
                       "User doesn't have permission to access customer. Note: If you're accessing a client customer, "
                       "the manager's customer id must be set in the 'login-customer-id' header. "
                       "See https://developers.google.com/google-ads/api/docs/concepts/call-structure#cid",
                       "authorizationError", "USER_PERMISSION_DENIED")
    if customer.status != "ENABLED":
        raise ApiError(403, "PERMISSION_DENIED",
                       "The customer account can't be accessed because it is not yet enabled or has been deactivated.",
                       "authorizationError", "CUSTOMER_NOT_ENABLED")
    return customer


def _query_error(code: str, message: str, kind: str = "queryError") -> ApiError:
    return ApiError(400, "INVALID_ARGUMENT", message, kind, code)


def _unrecognized(fields: list[str]) -> ApiError:
    names = ", ".join(f"'{f}'" for f in fields)
    return _query_error("UNRECOGNIZED_FIELD", f"Unrecognized field{'s' if len(fields) > 1 else ''} in the query: {names}.")


_GAQL = re.compile(r"\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<resource>\w+)(?:\s+WHERE\s+(?P<where>.+?))?\s*", re.I | re.S)
_BETWEEN = re.compile(r"segments\.date\s+BETWEEN\s+'(\d{4}-\d{2}-\d{2})'\s+AND\s+'(\d{4}-\d{2}-\d{2})'", re.I)


def _search_stream(request: Request, user: str, customer_id: str) -> Response:
    customer = _check_access(request, user, customer_id)
    body = request.json() or {}
    match = _GAQL.fullmatch(body.get("query") or "")
    if not match:
        raise _query_error("QUERY_ERROR", "Error in query: expected SELECT ... FROM ...")
    fields = [f.strip() for f in match["fields"].split(",")]
    resource = match["resource"]
    if resource == "customer_client":
        unknown = [f for f in fields if f not in CLIENT_FIELDS]
        if unknown:
            raise _unrecognized(unknown)
        if match["where"]:
            raise _query_error("QUERY_ERROR", f"Unrecognized field in the query: '{match['where']}'.")
        return _stream(customer_id, fields, _client_rows(customer), _cut(request, customer_id))
    level = RESOURCE_LEVEL.get(resource)
    if level is None:
        raise _query_error("BAD_RESOURCE_TYPE_IN_FROM_CLAUSE", f"Invalid resource type in FROM clause: '{resource}'.")
    _, id_field, name_field, _ = LEVELS[level]
    allowed = {"segments.date", id_field, name_field} | METRIC_FIELDS
    unknown = [f for f in fields if f not in allowed]
    if unknown:
        raise _unrecognized(unknown)
    between = _BETWEEN.fullmatch(match["where"] or "")
    if not between:
        raise _query_error("EXPECTED_FILTERS_ON_DATE_RANGE", "Missing filters on date related fields.")
    try:
        since, until = date.fromisoformat(between[1]), date.fromisoformat(between[2])
    except ValueError:
        raise _query_error("INVALID_DATE", "Invalid date.", "dateRangeError") from None
    if since > until:
        raise _query_error("DATE_RANGE_TOO_NARROW", "Filters on date/week/month/quarter have a start date after end date.")
    if since < _earliest(customer):
        raise _query_error("REQUESTED_DATE_GRANULARITY_NOT_SUPPORTED",
                           "The requested time granularity is not supported for the date range in the query. "
                           "Metrics with daily, hourly, or weekly segmentation are only available for the last 37 months.",
                           "dateRangeError")
    if customer.manager:
        raise _query_error("REQUESTED_METRICS_FOR_MANAGER", "Metrics cannot be requested for a manager account.")
    rows = [_report_row(customer, level, r) for r in _generate(customer, level, since, until)]
    return _stream(customer_id, fields, rows, _cut(request, customer_id))


def _earliest(customer: Customer) -> date:
    """The first day of the month 37 months before the customer's today."""
    today = _today(customer)
    months = today.year * 12 + today.month - 1 - LOOKBACK_MONTHS
    return date(months // 12, months % 12 + 1, 1)


def _today(customer: Customer) -> date:
    return datetime.now(ZoneInfo(customer.time_zone)).date()


def _client_rows(customer: Customer) -> list[dict]:
    """The customer itself (level 0) and, for a manager, its clients (level 1)."""
    rows = []
    for level, cid in [(0, customer.id)] + [(1, c) for c in customer.clients]:
        c = CUSTOMERS[cid]
        rows.append({"customerClient": {
            "resourceName": f"customers/{customer.id}/customerClients/{cid}",
            "clientCustomer": f"customers/{cid}", "level": str(level), "id": cid,
            "descriptiveName": c.name, "manager": c.manager, "currencyCode": c.currency,
            "timeZone": c.time_zone, "status": c.status,
        }})
    return rows


@dataclass
class Row:
    day: date
    entity_id: str
    entity_name: str
    metrics: Metrics


def _version(customer_id: str, day: date) -> int:
    return sum(1 for cutoff in STATE.restatements.get(customer_id, []) if day >= cutoff)


def _generate(customer: Customer, level: str, since: date, until: date) -> list[Row]:
    """What Google serves now: one row per (entity, day) with activity, in
    date then id order; days after the customer's today are empty."""
    entity_of = LEVELS[level][3] or (lambda _ad: (customer.id, customer.name))
    last = min(until, _today(customer))
    rows = []
    with STATE.lock:
        versions = {since + timedelta(n): _version(customer.id, since + timedelta(n))
                    for n in range((last - since).days + 1)}
        zeroed = set(STATE.zeroed)
    for day, version in versions.items():
        by_entity: dict[str, Row] = {}
        for ad in ADS[customer.id]:
            if is_zeroed(zeroed, customer.id, (ad.id, ad.ad_group_id, ad.campaign_id), day):
                continue
            metrics = _ad_day(customer, ad, day, version)
            if metrics is None:
                continue
            entity_id, entity_name = entity_of(ad)
            by_entity.setdefault(entity_id, Row(day, entity_id, entity_name, Metrics())).metrics.add(metrics)
        rows.extend(by_entity[k] for k in sorted(by_entity, key=int))
    return rows


def _report_row(customer: Customer, level: str, row: Row) -> dict:
    """A row as the REST API writes it: camelCase, int64 as strings, doubles as numbers."""
    m = row.metrics
    cid = customer.id
    entity = {
        "account": lambda: {"customer": {"resourceName": f"customers/{cid}", "id": cid, "descriptiveName": row.entity_name}},
        "campaign": lambda: {"campaign": {"resourceName": f"customers/{cid}/campaigns/{row.entity_id}",
                                          "id": row.entity_id, "name": row.entity_name}},
        "ad_group": lambda: {"adGroup": {"resourceName": f"customers/{cid}/adGroups/{row.entity_id}",
                                         "id": row.entity_id, "name": row.entity_name}},
        "ad": lambda: {"adGroupAd": {"resourceName": f"customers/{cid}/adGroupAds/{row.entity_id[:-1]}~{row.entity_id}",
                                     "ad": {"resourceName": f"customers/{cid}/ads/{row.entity_id}",
                                            "id": row.entity_id, "name": row.entity_name}}},
    }[level]()
    return {
        **entity,
        "metrics": {
            "impressions": str(m.impressions), "clicks": str(m.clicks), "costMicros": str(m.cost_micros),
            # Doubles: the shortest text of a millionths value is its exact decimal.
            "conversions": m.conversions_micros / 1_000_000,
            "conversionsValue": m.conversions_value_micros / 1_000_000,
            "videoTrueviewViews": str(m.video_trueview_views),
        },
        "segments": {"date": row.day.isoformat()},
    }


def _camel(path: str) -> str:
    return ".".join(re.sub(r"_([a-z])", lambda m: m[1].upper(), part) for part in path.split("."))


def _select(row: dict, fields: list[str]) -> dict:
    """Only the selected fields (and each resource's resourceName), as Google does."""
    out: dict = {}
    for f in fields:
        parts = _camel(f).split(".")
        src, dst = row, out
        for part in parts[:-1]:
            src = src.get(part, {})
            dst = dst.setdefault(part, {})
            if "resourceName" in src:
                dst["resourceName"] = src["resourceName"]
        if parts[-1] in src:
            dst[parts[-1]] = src[parts[-1]]
    return out


def _stream(customer_id: str, fields: list[str], rows: list[dict], cut: StreamCut | None = None) -> Response:
    """searchStream's answer: a JSON array of batches of at most 10,000 rows
    (fewer when the test control `batch` says so); a `cut` stream stops
    after its first rows and ends with its error, still as HTTP 200."""
    if cut:
        rows = rows[:cut.rows]
    with STATE.lock:
        size = min(STATE.batch_rows.get(customer_id, MAX_BATCH_ROWS), MAX_BATCH_ROWS)
    mask = ",".join(_camel(f) for f in fields)
    request_id = uuid.uuid4().hex[:22]
    batches = [{"results": [_select(r, fields) for r in rows[i:i + size]], "fieldMask": mask, "requestId": request_id}
               for i in range(0, len(rows), size)]
    if cut:
        return Response.json(200, batches + [_status(*CUT_ERRORS[cut.error])])
    # An empty result is one batch without results (unverified: proto3 JSON omits the empty list).
    return Response.json(200, batches or [{"fieldMask": mask, "requestId": request_id}])


# ---- Test controls and the oracle (never part of Google's surface) ----------

def _controls(request: Request, name: str) -> Response:
    return controls(request, name, STATE, _oracle, _action)


def _action(name: str, q: dict[str, str]) -> Response:
    if name == "revoke":
        # By user (every grant of theirs) or one grant (`refresh_token`).
        dead = [t for t, (user, _r) in STATE.grants.items()
                if (q.get("user") and user == q["user"]) or t == q.get("refresh_token")]
        for token in dead:
            STATE.grants[token][1] = True
        for access in STATE.access.values():
            if access.refresh_token in dead or (q.get("user") and access.user == q["user"]):
                access.revoked = True
        return Response.json(200, {"revoked_grants": len(dead)})
    if name == "expire":
        # Every access token, or those of one user or one grant.
        expired = 0
        for access in STATE.access.values():
            if (not q.get("user") or access.user == q["user"]) and (
                    not q.get("refresh_token") or access.refresh_token == q["refresh_token"]):
                access.expires_at = 0
                expired += 1
        return Response.json(200, {"expired": expired})
    if name == "throttle":
        throttle = Throttle(int(q.get("calls", "1")), int(q.get("retry_delay_secs", DEFAULT_RETRY_DELAY_SECS)))
        STATE.throttles[q.get("customer", "")] = throttle
        return Response.json(200, {"customer": q.get("customer", ""), "calls": throttle.calls,
                                   "retry_delay_secs": throttle.retry_delay_secs})
    if name == "cut":
        # The next `calls` searchStreams of a grant (`refresh_token`) or a
        # customer: `rows` rows (default 1), then `error` (transient, quota).
        error = q.get("error", "transient")
        if error not in CUT_ERRORS:
            return Response.json(400, {"error": f"error is one of {sorted(CUT_ERRORS)}"})
        scope = q.get("refresh_token") or q.get("customer", "")
        if not scope:
            return Response.json(400, {"error": "refresh_token or customer is required"})
        STATE.cuts[scope] = StreamCut(int(q.get("calls", "1")), int(q.get("rows", "1")), error)
        return Response.json(200, {"scope": scope, "calls": STATE.cuts[scope].calls, "rows": STATE.cuts[scope].rows, "error": error})
    if name == "restate":
        targets = [q["customer"]] if q.get("customer") else list(ADS)
        for cid in targets:
            cutoff = _today(CUSTOMERS[cid]) - timedelta(RESTATE_DAYS - 1)
            STATE.restatements.setdefault(cid, []).append(cutoff)
        return Response.json(200, {"versions": {cid: len(STATE.restatements.get(cid, [])) for cid in targets}})
    if name == "zero":
        return zero(STATE.zeroed, q, "customer", {
            cid: {e for a in ads for e in (a.id, a.ad_group_id, a.campaign_id)} for cid, ads in ADS.items()})
    if name == "batch":
        STATE.batch_rows[q["customer"]] = int(q["rows"])
        return Response.json(200, {"customer": q["customer"], "rows": int(q["rows"])})
    if name == "reset":
        reset(STATE)
        return Response.json(200, {"reset": True})
    return Response.json(404, {"error": f"no control {name}"})


def _oracle(q: dict[str, str]) -> Response:
    """Exactly what searchStream serves now, in the unified model's units,
    computed from the generator (not through the API's formatting)."""
    customer = CUSTOMERS.get(q.get("account", ""))
    level = q.get("level", "")
    if customer is None or customer.manager or level not in LEVELS:
        return Response.json(400, {"error": "account (a non-manager customer id) and level (account, campaign, ad_group, ad) are required"})
    since, until = date.fromisoformat(q["since"]), date.fromisoformat(q["until"])
    rows = [{
        "entity_id": r.entity_id, "entity_name": r.entity_name, "date": r.day.isoformat(),
        "impressions": r.metrics.impressions, "clicks": r.metrics.clicks, "spend_micros": r.metrics.cost_micros,
        "conversions_micros": r.metrics.conversions_micros, "conversion_value_micros": r.metrics.conversions_value_micros,
        "reach": 0, "video_views": r.metrics.video_trueview_views,
    } for r in _generate(customer, level, since, until)]
    return Response.json(200, {"rows": rows})
