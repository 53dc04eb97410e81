"""A partner reporting API (a mediation platform reporting its demand
partners' hourly impressions and revenue), faithful where the poller can
go wrong: OAuth 2.0 client credentials with expiring tokens, cursor
pagination, 429s with Retry-After, 5xx, a malformed page, schema drift, a
bad row, a restated hour.

Its numbers come from the same generated traffic as the sample logs: a test
(or `make demo`) posts the generator's manifest.json, whose `partner_hours`
are what adhouse counts from the logs per partner and hour, and the partner
reports each with a designed difference (DESIGN, in permille, applied with
integer floor division), so the discrepancy report's differences are known
exactly. State is per account (the adhouse tenant), so concurrent tests
with their own tenants do not meet.

Surface (production base URL https://reports.partner.example → <fake>/partner):
  POST /partner/oauth/token      grant_type=client_credentials, client_id, client_secret
  GET  /partner/v2/report        account, start, end (RFC 3339, end exclusive), cursor, page_size
Controls and the oracle, under /_fake/partner/:
  POST load      {"manifest": {...}}              the generated truth, per tenant in it
  POST fail      {"account", "mode", "times"}     next report calls fail: 429, 500, malformed, drift
  POST bad_row   {"account", "on"}                a row with an unreadable revenue on the first page
  POST restate   {"account", "partner", "hour", "impressions", "revenue_micros"}  the partner's new numbers
  POST drop      {"account", "partner", "hour"}   the partner stops reporting that row
  POST garble    {"account", "partner", "hour", "field"}  that row's "revenue" or "hour" served as "n/a"
                                                  until it is garbled with "field": null
  GET  oracle    account, start, end              the rows the API serves, money in integer micros
  GET  design                                     the designed differences
  GET  stats     account                          requests served, by outcome
"""

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .common import Request, Response

PREFIX = "/partner"

CLIENT_ID = "fake-partner-client"
CLIENT_SECRET = "fake-partner-secret"
TOKEN_SECONDS = 3600
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100

# How each partner's own count differs from adhouse's, in permille of
# adhouse's number: theirs = ours * (1000 + delta) // 1000. appnexus agrees
# exactly; pubmatic is far off (above any sane threshold).
DESIGN: dict[str, tuple[int, int]] = {
    "google_adx": (-20, -15),
    "rubicon": (10, 5),
    "appnexus": (0, 0),
    "pubmatic": (-50, -80),
    "openx": (-30, -20),
    "index": (25, 40),
    "triplelift": (-10, -10),
    "amazon_tam": (5, -5),
}


def designed(partner: str, impressions: int, revenue_micros: int) -> tuple[int, int]:
    imp_delta, rev_delta = DESIGN.get(partner, (0, 0))
    return impressions * (1000 + imp_delta) // 1000, revenue_micros * (1000 + rev_delta) // 1000


@dataclass
class Account:
    # (partner, hour epoch) -> [impressions, revenue_micros] as the partner reports them
    rows: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    bad_row: bool = False
    # (partner, hour epoch) -> the field served unreadable
    garbled: dict[tuple[str, int], str] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)


@dataclass
class State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    accounts: dict[str, Account] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)


STATE = State()


def handle(request: Request) -> Response:
    path = request.path
    if path.startswith("/_fake/partner/"):
        return _controls(request, path.removeprefix("/_fake/partner/"))
    if path == "/partner/oauth/token" and request.method == "POST":
        return _token(request)
    if path == "/partner/v2/report" and request.method == "GET":
        return _report(request)
    return _error(404, "not_found", f"no such path {path}")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response.json(status, {"error": {"code": code, "message": message}}, headers)


def _token(request: Request) -> Response:
    form = request.form()
    if form.get("grant_type") != "client_credentials":
        return _error(400, "unsupported_grant_type", "only client_credentials")
    if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
        return _error(401, "invalid_client", "unknown client or wrong secret")
    token = secrets.token_urlsafe(24)
    with STATE.lock:
        STATE.tokens[token] = time.time() + TOKEN_SECONDS
    return Response.json(200, {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_SECONDS})


def _parse_time(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rows(account: Account, start: int, end: int) -> list[tuple[str, int, int, int]]:
    return sorted(
        (partner, hour, imps, revenue)
        for (partner, hour), (imps, revenue) in account.rows.items()
        if start <= hour < end
    )


def _count(account: Account, outcome: str) -> None:
    account.stats[outcome] = account.stats.get(outcome, 0) + 1


def _report(request: Request) -> Response:
    bearer = request.header("authorization").removeprefix("Bearer ")
    with STATE.lock:
        expires = STATE.tokens.get(bearer)
        if expires is None or expires < time.time():
            return _error(401, "invalid_token", "missing, unknown or expired access token")
        name = request.query.get("account", "")
        account = STATE.accounts.get(name)
        if account is None:
            return _error(403, "unknown_account", f"no account {name!r}")
        try:
            start, end = _parse_time(request.query["start"]), _parse_time(request.query["end"])
            offset = int(request.query.get("cursor") or 0)
            size = min(int(request.query.get("page_size") or DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
        except (KeyError, ValueError) as err:
            return _error(400, "bad_request", f"start and end are RFC 3339 times, cursor and page_size numbers: {err}")
        if account.failures:
            mode = account.failures.pop(0)
            _count(account, mode)
            if mode == "429":
                return _error(429, "rate_limited", "too many requests", {"Retry-After": "1"})
            if mode == "500":
                return _error(500, "internal", "the report service failed")
            if mode == "malformed":
                return Response(200, b'{"data": {"rows": [{"hour": "2026-', {"Content-Type": "application/json"})
        else:
            mode = ""
        rows = _rows(account, start, end)
        page = rows[offset:offset + size]
        revenue_key = "rev" if mode == "drift" else "revenue"
        out = [
            {"hour": _iso(hour), "bidder": partner, "impressions": imps,
             revenue_key: f"{revenue // 1_000_000}.{revenue % 1_000_000:06d}", "currency": "USD"}
            for partner, hour, imps, revenue in page
        ]
        for row, (partner, hour, _, _) in zip(out, page):
            if garbled := account.garbled.get((partner, hour)):
                row[garbled] = "n/a"
        if account.bad_row and offset == 0:
            out.append({"hour": _iso(start), "bidder": "rubicon", "impressions": 1, "revenue": "n/a", "currency": "USD"})
        if mode != "drift":
            _count(account, "ok")
        following = offset + size
        next_cursor = str(following) if following < len(rows) else None
    return Response.json(200, {"data": {"rows": out}, "paging": {"next_cursor": next_cursor}})


def _controls(request: Request, action: str) -> Response:
    if action == "load" and request.method == "POST":
        manifest = request.json()["manifest"]
        loaded: dict[str, Account] = {}
        for row in manifest.get("partner_hours", []):
            account = loaded.setdefault(row["tenant"], Account())
            account.rows[(row["partner"], row["hour"])] = list(designed(row["partner"], row["impressions"], row["revenue_micros"]))
        with STATE.lock:
            STATE.accounts.update(loaded)
        return Response.json(200, {"accounts": {name: len(a.rows) for name, a in loaded.items()}})
    if action == "design" and request.method == "GET":
        return Response.json(200, {p: {"impressions_permille": i, "revenue_permille": r} for p, (i, r) in DESIGN.items()})
    body = request.json() if request.method == "POST" else dict(request.query)
    with STATE.lock:
        account = STATE.accounts.get(body.get("account", ""))
        if account is None:
            return _error(404, "unknown_account", "load a manifest for this account first")
        if action == "fail" and request.method == "POST":
            account.failures.extend([str(body["mode"])] * int(body.get("times", 1)))
            return Response.json(200, {"queued": len(account.failures)})
        if action == "bad_row" and request.method == "POST":
            account.bad_row = bool(body.get("on", True))
            return Response.json(200, {"bad_row": account.bad_row})
        if action == "restate" and request.method == "POST":
            account.rows[(body["partner"], int(body["hour"]))] = [int(body["impressions"]), int(body["revenue_micros"])]
            return Response.json(200, {"restated": 1})
        if action == "garble" and request.method == "POST":
            key = (body["partner"], int(body["hour"]))
            if body.get("field") in ("revenue", "hour"):
                account.garbled[key] = body["field"]
            else:
                account.garbled.pop(key, None)
            return Response.json(200, {"garbled": len(account.garbled)})
        if action == "drop" and request.method == "POST":
            dropped = account.rows.pop((body["partner"], int(body["hour"])), None)
            return Response.json(200, {"dropped": int(dropped is not None)})
        if action == "oracle" and request.method == "GET":
            start, end = _parse_time(body["start"]), _parse_time(body["end"])
            # Garbled rows have no numbers to give.
            rows = [{"partner": p, "hour": h, "impressions": i, "revenue_micros": r, "currency": "USD"}
                    for p, h, i, r in _rows(account, start, end) if (p, h) not in account.garbled]
            return Response.json(200, {"rows": rows})
        if action == "stats" and request.method == "GET":
            return Response.json(200, dict(account.stats))
    return _error(404, "not_found", f"no control {action}")

