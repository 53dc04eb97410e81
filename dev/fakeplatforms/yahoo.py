"""A fake of Yahoo! JAPAN Ads: Business ID OAuth and the Search and Display Ads APIs.

Production → fake paths:
  https://biz-oauth.yahoo.co.jp/oauth/v1/authorize → /yahoo/biz-oauth/oauth/v1/authorize
  https://biz-oauth.yahoo.co.jp/oauth/v1/token     → /yahoo/biz-oauth/oauth/v1/token
  https://ads-search.yahooapis.jp/api/v18/…        → /yahoo/ads-search/api/v18/…
  https://ads-display.yahooapis.jp/api/v18/…       → /yahoo/ads-display/api/v18/…

What it follows, from Yahoo! JAPAN's public API documents
(github.com/yahoojp-marketing/ads-search-api-documents and
ads-display-api-documents):
* Every call a JSON POST to <base>/<version>/<Service>/<operation> with the
  bearer token and `x-z-base-account-id`, except BaseAccountService/get.
* Answers `{"errors": null, "rid", "rval": {...}}`; `get` pages with
  `startIndex`/`numberResults` (≤ 200) and `totalNumEntries`.
* Errors (bestpractice/en/errorcodes.md): `{"rid","errors":[{"code","message",
  "details":[{"requestKey","requestValue"}]}]}`; 0001 Invalid Request, 0002
  internal error, 0003 frequency limit, 0004 URL not found, 0098 permission
  denied, 0099 out of service, 0111 authentication failed (401); per-operand
  failures with 200 and `operationSucceeded: false` (e.g. LT001 "Over limit.").
* Reports (bestpractice/en/search_ads_report.md, display_ads_report.md):
  ReportDefinitionService add → get (`reportJobStatus` WAIT, IN_PROGRESS,
  COMPLETED, FAILED, UNKNOWN) → download, a CSV whose last row is the
  summary ("Total"; Display fills the other dimension cells with "--").
  ≤ 30 operands an add, ≤ 60 active jobs an account, jobs kept 7 days, rows
  without activity left out. Search names the level in `reportType`;
  Display has none.
Unverified details are marked where they are made: the HTTP status of 0003
(429 here), the fields of BaseAccountService and AccountLinkService, and
LT001 for the 61st active job.

Test controls and the oracle live under /_fake/yahoo/. The numbers come from
`common.stable_int` of (account, ad, day, metric, restatement version);
higher levels are sums of their ads.
"""

import csv
import io
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import escape
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from .common import Request, Response, Sums, controls, is_zeroed, reset, stable_int, zero

PREFIX = "/yahoo"
VERSION = "v18"
OAUTH = f"{PREFIX}/biz-oauth/oauth/v1"
APIS = {"search": f"{PREFIX}/ads-search/api", "display": f"{PREFIX}/ads-display/api"}

CLIENT_ID = "fake-yahoo-client"
CLIENT_SECRET = "fake-yahoo-secret"
SCOPE = "yahooads"
APP_NAME = "adhouse (local)"
ACCESS_TOKEN_SECS = 3600
MAX_PAGE = 200
MAX_OPERANDS = 30
MAX_ACTIVE_JOBS = 60
JOB_KEEP_DAYS = 7
RESTATE_DAYS = 7
TOKYO = ZoneInfo("Asia/Tokyo")


@dataclass(frozen=True)
class AdAccount:
    id: int
    kind: str  # search | display
    name: str
    status: str = "SERVING"


@dataclass(frozen=True)
class Base:
    """A base account of a Business ID: an MCC with linked accounts, or an
    ad account reached directly (no links)."""
    id: int
    kind: str
    name: str
    links: tuple[int, ...] = ()


def _accounts() -> dict[int, AdAccount]:
    accounts = [
        AdAccount(1000000011, "search", "デモ検索 東京"),
        AdAccount(1000000012, "search", "Demo Search Osaka"),
        AdAccount(1000000013, "search", "Demo Search (ended)", "ENDED"),
        AdAccount(1000000021, "search", "Demo Search Direct"),
        AdAccount(2000000031, "display", "デモディスプレイ"),
        AdAccount(1000000041, "search", "Other Search"),
        AdAccount(2000000051, "display", "Other Display"),
    ]
    # An agency MCC with more accounts than one page holds.
    accounts += [AdAccount(1100000000 + n, "search", f"Agency client {n}") for n in range(1, 206)]
    return {a.id: a for a in accounts}


ACCOUNTS = _accounts()
BASES = {b.id: b for b in [
    Base(1000000001, "search", "Demo MCC", (1000000011, 1000000012, 1000000013)),
    Base(1000000021, "search", "Demo Search Direct"),
    Base(2000000031, "display", "デモディスプレイ"),
    Base(1000000041, "search", "Other Search"),
    Base(2000000051, "display", "Other Display"),
    Base(1100000000, "search", "Agency MCC", tuple(range(1100000001, 1100000206))),
]}
USERS = {
    "demo": (1000000001, 1000000021, 2000000031),
    "other": (1000000041, 2000000051),
    "agency": (1100000000,),
}


@dataclass(frozen=True)
class Ad:
    id: str
    name: str
    ad_group_id: str
    ad_group_name: str
    campaign_id: str
    campaign_name: str


def _ads(account: AdAccount) -> list[Ad]:
    """2–3 campaigns of 2 ad groups of 2 ads."""
    ads = []
    base = (account.id % 100_000) * 100
    for c in range(1, 2 + stable_int(account.id, "campaigns", modulo=2) + 1):
        campaign_id = str(base + c)
        for g in range(1, 3):
            ad_group_id = f"{campaign_id}{g}"
            for a in range(1, 3):
                ads.append(Ad(f"{ad_group_id}{a}", f"広告 {c}.{g}.{a}", ad_group_id, f"Group {c}.{g}",
                              campaign_id, f"キャンペーン {c}, {account.name}"))
    return ads


@dataclass
class Metrics(Sums):
    imps: int = 0
    clicks: int = 0
    cost_yen: int = 0
    conversions_hundredths: int = 0
    conv_value_yen: int = 0


def _ad_day(account: AdAccount, ad: Ad, day: date, version: int) -> Metrics | None:
    """One ad's numbers for one JST day; None for no activity (left out of reports)."""
    if stable_int(account.id, ad.id, day, "active", modulo=8) == 0:
        return None
    key = (account.id, ad.id, day)
    imps = 1 + stable_int(*key, "imps", version, modulo=4000)
    clicks = stable_int(*key, "clicks", version, modulo=imps // 20 + 1)
    cost = clicks * (1 + stable_int(*key, "cpc", version, modulo=150))  # integer yen
    conversions = stable_int(*key, "conversions", version, modulo=clicks * 20 + 1)  # hundredths
    value = stable_int(*key, "value", version, modulo=clicks * 3000 + 1) if conversions else 0
    return Metrics(imps, clicks, cost, conversions, value)


# level → (report fields of its id and name, Search reportType, how an ad maps to its entity)
LEVELS = {
    "account": ("ACCOUNT_ID", "ACCOUNT_NAME", "ACCOUNT", None),
    "campaign": ("CAMPAIGN_ID", "CAMPAIGN_NAME", "CAMPAIGN", lambda ad: (ad.campaign_id, ad.campaign_name)),
    "ad_group": ("ADGROUP_ID", "ADGROUP_NAME", "ADGROUP", lambda ad: (ad.ad_group_id, ad.ad_group_name)),
    "ad": ("AD_ID", "AD_NAME", "AD", lambda ad: (ad.id, ad.name)),
}
REPORT_TYPES = {search_type: level for level, (_i, _n, search_type, _f) in LEVELS.items()}
METRIC_FIELDS = ["IMPS", "CLICKS", "COST", "CONVERSIONS", "CONV_VALUE"]
HEADERS = {
    "DAY": {"search": "Day", "display": "Daily"},
    "ACCOUNT_ID": "Account ID", "ACCOUNT_NAME": "Account Name", "CAMPAIGN_ID": "Campaign ID",
    "CAMPAIGN_NAME": "Campaign Name", "ADGROUP_ID": "Ad Group ID", "ADGROUP_NAME": "Ad Group Name",
    "AD_ID": "Ad ID", "AD_NAME": "Ad Name", "IMPS": "Impressions", "CLICKS": "Clicks", "COST": "Cost",
    "CONVERSIONS": "Conversions", "CONV_VALUE": "Conv. Value",
}


@dataclass
class Job:
    id: int
    account: int
    level: str
    since: date
    until: date
    fields: list[str]
    created: datetime
    polls: int = 0
    fail: bool = False

    def status(self) -> str:
        if self.fail and self.polls >= 2:
            return "FAILED"
        return ["WAIT", "IN_PROGRESS"][self.polls] if self.polls < 2 else "COMPLETED"


@dataclass
class Grant:
    user: str
    revoked: bool = False


@dataclass
class AccessToken:
    user: str
    refresh_token: str
    expires_at: float


@dataclass
class State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    codes: dict[str, tuple[str, str, bool]] = field(default_factory=dict)  # code → (user, redirect_uri, used)
    grants: dict[str, Grant] = field(default_factory=dict)  # refresh token → grant
    access: dict[str, AccessToken] = field(default_factory=dict)
    restatements: dict[int, list[date]] = field(default_factory=dict)
    # (account, campaign, ad group or ad id, day) restated to no activity
    # (`common.zero`); the account as text.
    zeroed: set[tuple[str, str, date]] = field(default_factory=set)
    throttles: dict[str, int] = field(default_factory=dict)  # account id or "" → throttled calls left
    denied: set[int] = field(default_factory=set)
    failing: dict[int, int] = field(default_factory=dict)  # account → jobs left to fail
    jobs: dict[int, Job] = field(default_factory=dict)
    next_job: int = 3_000_000_000
    calls: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str) -> None:
        self.calls[kind] = self.calls.get(kind, 0) + 1


STATE = State()


def handle(request: Request) -> Response:
    path = request.path
    if path.startswith("/_fake/yahoo/"):
        return _controls(request, path.removeprefix("/_fake/yahoo/"))
    if path == f"{OAUTH}/authorize" and request.method == "GET":
        return _count("authorize", _authorize(request))
    if path == f"{OAUTH}/consent" and request.method == "POST":
        return _count("consent", _consent(request))
    if path == f"{OAUTH}/token" and request.method == "POST":
        return _count("token", _token(request))
    for kind, api in APIS.items():
        if match := re.fullmatch(rf"{api}/(v\d+)/(\w+)/(\w+)", path):
            version, service, operation = match.groups()
            with STATE.lock:
                STATE.count(f"{service}/{operation}")
                STATE.count(f"{kind}.{service}/{operation}")
            if version != VERSION:
                return _error(404, "0004", "URL not found.")
            return _api(request, kind, f"{service}/{operation}")
    return _error(404, "0004", "URL not found.")


def _count(kind: str, response: Response) -> Response:
    with STATE.lock:
        STATE.count(kind)
    return response


# ---- OAuth (Business ID) ---------------------------------------------------

def _page_error(message: str) -> Response:
    return Response(400, f"<html><body><h1>エラー</h1><p>{escape(message)}</p></body></html>".encode(),
                    {"Content-Type": "text/html; charset=utf-8"})


def _authorize(request: Request) -> Response:
    q = request.query
    if q.get("client_id") != CLIENT_ID:
        return _page_error("invalid client_id")
    if q.get("response_type") != "code":
        return _page_error("unsupported response_type")
    if q.get("scope") != SCOPE:
        return _page_error("invalid scope: yahooads is required")
    if not q.get("redirect_uri", "").startswith(("http://", "https://")):
        return _page_error("invalid redirect_uri")
    hidden = "".join(f'<input type="hidden" name="{n}" value="{escape(q.get(n, ""))}">'
                     for n in ("client_id", "redirect_uri", "state", "scope"))
    options = "".join(f'<option value="{u}">{u} (Business ID)</option>' for u in USERS)
    return Response.html(
        "<!doctype html><html><head><title>Yahoo! JAPAN ビジネスID</title></head><body>"
        f"<h1>{escape(APP_NAME)} が Yahoo!広告 API へのアクセスを求めています</h1>"
        f"<p>Scope: <b>{SCOPE}</b></p>"
        f'<form method="post" action="{OAUTH}/consent">'
        f'<label>Business ID <select name="user">{options}</select></label>{hidden}'
        '<button type="submit" name="decision" value="allow">Allow</button></form></body></html>'
    )


def _consent(request: Request) -> Response:
    f = request.form()
    if f.get("user") not in USERS or f.get("client_id") != CLIENT_ID:
        return _page_error("unknown Business ID or client")
    redirect = f.get("redirect_uri", "")
    if f.get("decision", "allow") != "allow":
        return Response.redirect(f"{redirect}?{urlencode({'error': 'access_denied', 'state': f.get('state', '')})}")
    code = uuid.uuid4().hex
    with STATE.lock:
        STATE.codes[code] = (f["user"], redirect, False)
    return Response.redirect(f"{redirect}{'&' if '?' in redirect else '?'}{urlencode({'code': code, 'state': f.get('state', '')})}")


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response.json(status, {"error": error, "error_description": description})


def _token(request: Request) -> Response:
    f = request.form()
    if f.get("client_id") != CLIENT_ID or f.get("client_secret") != CLIENT_SECRET:
        return _oauth_error(401, "invalid_client", "client authentication failed")
    grant_type = f.get("grant_type")
    with STATE.lock:
        if grant_type == "authorization_code":
            entry = STATE.codes.get(f.get("code", ""))
            if entry is None or entry[2]:
                return _oauth_error(400, "invalid_grant", "authorization code is invalid")
            user, redirect, _ = entry
            STATE.codes[f["code"]] = (user, redirect, True)
            if f.get("redirect_uri") != redirect:
                return _oauth_error(400, "invalid_grant", "redirect_uri does not match")
            refresh = uuid.uuid4().hex + uuid.uuid4().hex
            STATE.grants[refresh] = Grant(user)
            return Response.json(200, {"access_token": _new_access(user, refresh), "token_type": "bearer",
                                       "expires_in": ACCESS_TOKEN_SECS, "refresh_token": refresh})
        if grant_type == "refresh_token":
            grant = STATE.grants.get(f.get("refresh_token", ""))
            if grant is None or grant.revoked:
                return _oauth_error(400, "invalid_grant", "refresh token is invalid or revoked")
            # No new refresh token: the old one stays valid (unverified: Yahoo! documents no rotation).
            return Response.json(200, {"access_token": _new_access(grant.user, f["refresh_token"]),
                                       "token_type": "bearer", "expires_in": ACCESS_TOKEN_SECS})
    return _oauth_error(400, "unsupported_grant_type", f"grant_type {grant_type!r}")


def _new_access(user: str, refresh: str) -> str:
    token = uuid.uuid4().hex
    STATE.access[token] = AccessToken(user, refresh, datetime.now().timestamp() + ACCESS_TOKEN_SECS)
    return token


# ---- API -------------------------------------------------------------------

class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: list | None = None):
        super().__init__(message)
        self.response = _error(status, code, message, details)


def _error(status: int, code: str, message: str, details: list | None = None) -> Response:
    return Response.json(status, {"rid": uuid.uuid4().hex, "errors": [{"code": code, "message": message, "details": details or []}]})


def _ok(rval: dict) -> Response:
    return Response.json(200, {"errors": None, "rid": uuid.uuid4().hex, "rval": rval})


def _invalid(key: str, value) -> ApiError:
    return ApiError(400, "0001", "Invalid Request.", [{"requestKey": key, "requestValue": str(value)}])


def _api(request: Request, kind: str, operation: str) -> Response:
    try:
        user = _authenticate(request)
        body = request.json() or {}
        if operation == "BaseAccountService/get":
            return _base_accounts(user, kind, body)
        base = _base(request, user, kind)
        with STATE.lock:
            STATE.count(f"{operation}.{base.id}")
        _throttle(base, body.get("accountId"))
        handler = OPERATIONS.get(operation)
        if handler is None:
            raise ApiError(404, "0004", "URL not found.")
        return handler(user, kind, base, body)
    except ApiError as err:
        return err.response


def _authenticate(request: Request) -> str:
    token = request.header("authorization").removeprefix("Bearer ").strip()
    with STATE.lock:
        access = STATE.access.get(token)
        grant = STATE.grants.get(access.refresh_token) if access else None
        if access is None or grant is None or grant.revoked or access.expires_at <= datetime.now().timestamp():
            raise ApiError(401, "0111", "Authentication failed.")
        return access.user


def _base(request: Request, user: str, kind: str) -> Base:
    text = request.header("x-z-base-account-id")
    if not text.isdigit():
        raise _invalid("x-z-base-account-id", text)
    base = BASES.get(int(text))
    if base is None or base.id not in USERS[user] or base.kind != kind:
        raise ApiError(403, "0098", "Permission denied.")
    return base


def _throttle(base: Base, account_id) -> None:
    with STATE.lock:
        for scope in (str(account_id or base.id), str(base.id), ""):
            if STATE.throttles.get(scope, 0) > 0:
                STATE.throttles[scope] -= 1
                STATE.count("throttled")
                STATE.count(f"throttled.{account_id or base.id}")
                # Status unverified: Yahoo! documents the code, not the status.
                raise ApiError(429, "0003", "Frequency limit exceeded. Please try your request again later.")


def _paging(body: dict) -> tuple[int, int]:
    start, number = body.get("startIndex", 1), body.get("numberResults", MAX_PAGE)
    if not isinstance(start, int) or start < 1:
        raise _invalid("startIndex", start)
    if not isinstance(number, int) or not 1 <= number <= MAX_PAGE:
        raise _invalid("numberResults", f"must be between 1 and {MAX_PAGE}")
    return start, number


def _page(values: list, body: dict) -> Response:
    start, number = _paging(body)
    return _ok({"totalNumEntries": len(values), "values": values[start - 1:start - 1 + number]})


def _base_accounts(user: str, kind: str, body: dict) -> Response:
    bases = [BASES[b] for b in USERS[user] if BASES[b].kind == kind]
    return _page([{"operationSucceeded": True, "baseAccount": {"accountId": b.id, "accountName": b.name,
                                                                "accountType": "MCC" if b.links else "SERVICE"}}
                  for b in bases], body)


def _account_links(user: str, kind: str, base: Base, body: dict) -> Response:
    if body.get("mccAccountId") != base.id:
        raise _invalid("mccAccountId", body.get("mccAccountId"))
    return _page([{"operationSucceeded": True, "accountLink": {"accountId": a, "accountName": ACCOUNTS[a].name,
                                                              "mccAccountId": base.id, "accountStatus": ACCOUNTS[a].status}}
                  for a in base.links], body)


def _reachable(base: Base, account_id: int) -> AdAccount | None:
    account = ACCOUNTS.get(account_id)
    if account is None or account.kind != base.kind or (account_id != base.id and account_id not in base.links):
        return None
    return account


def _account_get(user: str, kind: str, base: Base, body: dict) -> Response:
    ids = body.get("accountIds") or []
    if len(ids) > MAX_PAGE:
        raise ApiError(200, "L0002", "Over list size.", [{"requestKey": "accountIds", "requestValue": str(len(ids))}])
    found = [a for a in (_reachable(base, i) for i in ids) if a]
    return _page([{"operationSucceeded": True, "account": {"accountId": a.id, "accountName": a.name,
                                                          "accountStatus": a.status, "accountType": "INVOICE"}}
                  for a in found], body)


def _report_account(base: Base, body: dict) -> AdAccount:
    account = _reachable(base, body.get("accountId"))
    if account is None:
        raise ApiError(403, "0098", "Permission denied.")
    with STATE.lock:
        if account.id in STATE.denied:
            raise ApiError(403, "0098", "Permission denied.")
    return account


def _operand_error(code: str, message: str, key: str, value) -> dict:
    return {"operationSucceeded": False, "reportDefinition": None,
            "errors": [{"code": code, "message": message, "details": [{"requestKey": key, "requestValue": str(value)}]}]}


def _report_add(user: str, kind: str, base: Base, body: dict) -> Response:
    account = _report_account(base, body)
    operands = body.get("operand") or []
    if not 1 <= len(operands) <= MAX_OPERANDS:
        raise ApiError(200, "L0002", "Over list size.", [{"requestKey": "operand", "requestValue": str(len(operands))}])
    values = []
    now = datetime.now(TOKYO)
    with STATE.lock:
        for operand in operands:
            value = _new_job(account, kind, operand, now)
            values.append(value)
    return _ok({"values": values})


def _new_job(account: AdAccount, kind: str, operand: dict, now: datetime) -> dict:
    active = sum(1 for j in STATE.jobs.values() if j.account == account.id and j.status() in ("WAIT", "IN_PROGRESS"))
    if active >= MAX_ACTIVE_JOBS:
        return _operand_error("LT001", "Over limit.", "operand", f"{active} active report jobs")
    fields = operand.get("fields") or []
    if kind == "search":
        level = REPORT_TYPES.get(operand.get("reportType"))
        if level is None:
            return _operand_error("V0001", "Invalid value.", "reportType", operand.get("reportType"))
    else:
        if "reportType" in operand:
            return _operand_error("V0001", "Invalid value.", "reportType", operand["reportType"])
        level = next((lv for lv, spec in LEVELS.items() if spec[0] in fields), None)
    if level is None or fields[:3] != ["DAY", LEVELS[level][0], LEVELS[level][1]] or fields[3:] != METRIC_FIELDS:
        return _operand_error("V0001", "Invalid value.", "fields", ",".join(fields))
    if operand.get("reportDateRangeType") != "CUSTOM_DATE" or operand.get("reportDownloadFormat") != "CSV":
        return _operand_error("V0001", "Invalid value.", "reportDateRangeType", operand.get("reportDateRangeType"))
    dates = operand.get("dateRange") or {}
    try:
        since = datetime.strptime(dates.get("startDate", ""), "%Y%m%d").date()
        until = datetime.strptime(dates.get("endDate", ""), "%Y%m%d").date()
    except ValueError:
        return _operand_error("F0001", "Invalid format.", "dateRange/startDate", dates.get("startDate"))
    if since > until:
        return _operand_error("RL001", "Invalid relation.", "dateRange/startDate", dates.get("startDate"))
    STATE.next_job += 1
    job = Job(STATE.next_job, account.id, level, since, until, fields, now)
    if STATE.failing.get(account.id, 0) > 0:
        STATE.failing[account.id] -= 1
        job.fail = True
    STATE.jobs[job.id] = job
    return {"operationSucceeded": True, "errors": None, "reportDefinition": _definition(job, kind)}


def _definition(job: Job, kind: str) -> dict:
    return {
        "accountId": job.account, "reportJobId": job.id, "reportJobStatus": job.status(),
        "reportJobErrorDetail": "internal error" if job.status() == "FAILED" else None,
        "dateRange": {"startDate": job.since.strftime("%Y%m%d"), "endDate": job.until.strftime("%Y%m%d")},
        "fields": job.fields, "reportDateRangeType": "CUSTOM_DATE", "reportDownloadFormat": "CSV",
        "requestTime": job.created.strftime("%Y/%m/%d %H:%M:%S"),
        **({"reportType": LEVELS[job.level][2]} if kind == "search" else {}),
    }


def _kept(job: Job) -> bool:
    return datetime.now(TOKYO) - job.created < timedelta(days=JOB_KEEP_DAYS)


def _report_get(user: str, kind: str, base: Base, body: dict) -> Response:
    account = _report_account(base, body)
    ids = body.get("reportJobIds") or []
    values = []
    with STATE.lock:
        for job_id in ids:
            job = STATE.jobs.get(job_id)
            if job is None or job.account != account.id or not _kept(job):
                values.append(_operand_error("V0001", "Invalid value.", "reportJobIds", job_id))
                continue
            values.append({"operationSucceeded": True, "errors": None, "reportDefinition": _definition(job, kind)})
            job.polls += 1  # each look moves a job on: WAIT → IN_PROGRESS → COMPLETED
    return _page(values, body)


def _report_download(user: str, kind: str, base: Base, body: dict) -> Response:
    account = _report_account(base, body)
    with STATE.lock:
        job = STATE.jobs.get(body.get("reportJobId"))
        if job is None or job.account != account.id or not _kept(job):
            raise _invalid("reportJobId", body.get("reportJobId"))
        if job.status() != "COMPLETED":
            raise ApiError(200, "S0001", "Invalid Status.", [{"requestKey": "reportJobId", "requestValue": str(job.id)}])
    return Response(200, _csv(account, kind, job).encode(), {"Content-Type": "text/csv; charset=UTF-8"})


def _csv(account: AdAccount, kind: str, job: Job) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([HEADERS[f][kind] if isinstance(HEADERS[f], dict) else HEADERS[f] for f in job.fields])
    total = Metrics()
    for row in _generate(account, job.level, job.since, job.until):
        m = row.metrics
        total.add(m)
        writer.writerow([row.day.isoformat(), row.entity_id, row.entity_name, *_cells(m)])
    # The summary row (reportSkipReportSummary FALSE): Display writes "--" in
    # the other dimension cells, Search leaves them empty (unverified).
    filler = "--" if kind == "display" else ""
    writer.writerow(["Total", filler, filler, *_cells(total)])
    return "\ufeff" + out.getvalue()


def _cells(m: Metrics) -> list[str]:
    return [str(m.imps), str(m.clicks), str(m.cost_yen), _hundredths(m.conversions_hundredths), str(m.conv_value_yen)]


def _hundredths(n: int) -> str:
    return f"{n // 100}.{n % 100:02d}" if n % 100 else str(n // 100)


OPERATIONS = {
    "AccountLinkService/get": _account_links,
    "AccountService/get": _account_get,
    "ReportDefinitionService/add": _report_add,
    "ReportDefinitionService/get": _report_get,
    "ReportDefinitionService/download": _report_download,
}


@dataclass
class Row:
    day: date
    entity_id: str
    entity_name: str
    metrics: Metrics


def _today() -> date:
    return datetime.now(TOKYO).date()


def _version(account_id: int, day: date) -> int:
    return sum(1 for cutoff in STATE.restatements.get(account_id, []) if day >= cutoff)


def _generate(account: AdAccount, level: str, since: date, until: date) -> list[Row]:
    """What a report holds now: rows with activity, by day then id; no day after today (JST)."""
    entity_of = LEVELS[level][3] or (lambda _ad: (str(account.id), account.name))
    last = min(until, _today())
    with STATE.lock:
        versions = {since + timedelta(n): _version(account.id, since + timedelta(n)) for n in range((last - since).days + 1)}
        zeroed = set(STATE.zeroed)
    rows = []
    ads = _ads(account)
    for day, version in versions.items():
        by_entity: dict[str, Row] = {}
        for ad in ads:
            if is_zeroed(zeroed, str(account.id), (ad.id, ad.ad_group_id, ad.campaign_id), day):
                continue
            metrics = _ad_day(account, ad, day, version)
            if metrics is None:
                continue
            entity_id, entity_name = entity_of(ad)
            by_entity.setdefault(entity_id, Row(day, entity_id, entity_name, Metrics())).metrics.add(metrics)
        rows.extend(by_entity[k] for k in sorted(by_entity, key=int))
    return rows


# ---- Test controls and the oracle (never part of Yahoo!'s surface) --------

def _controls(request: Request, name: str) -> Response:
    return controls(request, name, STATE, _oracle, _action)


def _action(name: str, q: dict[str, str]) -> Response:
    if name == "revoke":
        dead = [t for t, g in STATE.grants.items() if (q.get("user") and g.user == q["user"]) or t == q.get("refresh_token")]
        for token in dead:
            STATE.grants[token].revoked = True
        return Response.json(200, {"revoked_grants": len(dead)})
    if name == "expire":
        expired = 0
        for access in STATE.access.values():
            if (not q.get("user") or access.user == q["user"]) and (
                    not q.get("refresh_token") or access.refresh_token == q["refresh_token"]):
                access.expires_at = 0
                expired += 1
        return Response.json(200, {"expired": expired})
    if name == "throttle":
        STATE.throttles[q.get("account", "")] = int(q.get("calls", "1"))
        return Response.json(200, {"account": q.get("account", ""), "calls": int(q.get("calls", "1"))})
    if name == "deny":
        STATE.denied.add(int(q["account"]))
        return Response.json(200, {"denied": int(q["account"])})
    if name == "fail_jobs":
        STATE.failing[int(q["account"])] = int(q.get("jobs", "1"))
        return Response.json(200, {"account": int(q["account"]), "jobs": int(q.get("jobs", "1"))})
    if name == "restate":
        targets = [int(q["account"])] if q.get("account") else [a.id for a in ACCOUNTS.values()]
        for account_id in targets:
            STATE.restatements.setdefault(account_id, []).append(_today() - timedelta(RESTATE_DAYS - 1))
        return Response.json(200, {"versions": {str(a): len(STATE.restatements[a]) for a in targets}})
    if name == "zero":
        return zero(STATE.zeroed, q, "account", {
            str(a.id): {e for ad in _ads(a) for e in (ad.id, ad.ad_group_id, ad.campaign_id)} for a in ACCOUNTS.values()})
    if name == "reset":
        reset(STATE)
        return Response.json(200, {"reset": True})
    return Response.json(404, {"error": f"no control {name}"})


def _oracle(q: dict[str, str]) -> Response:
    """Exactly what a report holds now, in the unified model's units (yen and
    conversions in millionths), from the generator rather than the CSV."""
    account = ACCOUNTS.get(int(q["account"])) if q.get("account", "").isdigit() else None
    level = q.get("level", "")
    if account is None or level not in LEVELS:
        return Response.json(400, {"error": "account (an ad account id) and level (account, campaign, ad_group, ad) are required"})
    since, until = date.fromisoformat(q["since"]), date.fromisoformat(q["until"])
    rows = [{
        "entity_id": r.entity_id, "entity_name": r.entity_name, "date": r.day.isoformat(),
        "impressions": r.metrics.imps, "clicks": r.metrics.clicks, "spend_micros": r.metrics.cost_yen * 1_000_000,
        "conversions_micros": r.metrics.conversions_hundredths * 10_000,
        "conversion_value_micros": r.metrics.conv_value_yen * 1_000_000, "reach": 0, "video_views": 0,
    } for r in _generate(account, level, since, until)]
    return Response.json(200, {"rows": rows})
