"""A fake of the organic insights of Facebook Pages and Instagram business
accounts, on the Meta fake's Graph host, login, tokens and error shapes
(`meta.py` routes its Graph paths here). `facebook.py` and `instagram.py`
give each product its test controls under /_fake/facebook/ and
/_fake/instagram/.

What it follows, from Meta's documentation:
* Pages of a user, each with its Page token, and the connected Instagram
  business account: https://developers.facebook.com/docs/graph-api/reference/user/accounts
  https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/getting-started
* Page insights, period=day, since/until (at most 90 days apart, about two
  years kept), values with the end of their day as end_time, previous/next
  links that shift the time range: https://developers.facebook.com/docs/graph-api/reference/insights
  A Page token is required (error 190 otherwise).
* The retirement of the page_impressions family and page_fans on
  2025-11-15, in every version: error 100 "The value must be a valid
  insights metric".
* Instagram account insights: metric_type time_series or total_value (some
  metrics only the latter), since/until at most 30 days apart;
  `impressions` no longer supported from v22.0 and, since 2025-04-21, in
  every version (error 100): https://developers.facebook.com/docs/instagram-platform/api-reference/instagram-user/insights
* Page-level throttling, code 32 (Page request limit) or 4 (app), and the
  usage headers: https://developers.facebook.com/docs/graph-api/overview/rate-limiting

Where Meta publishes no number, the fake picks one and says so (the
restatement window: 3 days).
"""

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from . import meta
from .common import Request, Response, controls, reset, stable_int

# Insights days are Pacific days (Meta's reporting zone), whatever the Page's place.
PACIFIC = ZoneInfo("America/Los_Angeles")
HISTORY_DAYS = 730
PAGE_MAX_DAYS = 90
INSTAGRAM_MAX_DAYS = 30
# Organic numbers settle within days (unverified): a restatement reaches the last three.
RESTATE_DAYS = 3
PRODUCTS = ("facebook", "instagram")


@dataclass(frozen=True)
class PageFixture:
    id: str
    name: str
    user: str
    instagram: tuple[str, str] | None  # (ig user id, username)


PAGES = {p.id: p for p in [
    PageFixture("5001", "Demo Bakery", "demo", ("17841400000000501", "demobakery")),
    PageFixture("5002", "Demo Books", "demo", None),
    PageFixture("5003", "Other Cafe", "other", ("17841400000000503", "othercafe")),
]}
INSTAGRAM = {p.instagram[0]: p for p in PAGES.values() if p.instagram}

# name -> the day value's key. Page metrics are daily series.
PAGE_METRICS = {
    "page_media_view": "views",
    "page_total_media_view_unique": "reach",
    "page_follows": "followers",
    "page_daily_follows_unique": "follows",
    "page_views_total": "profile_views",
    "page_post_engagements": "engagements",
    "page_video_views": "video_views",
}
PAGE_RETIRED = {"page_impressions", "page_impressions_unique", "page_fans", "page_fans_online"}
# name -> (the day value's key, metric types it takes).
INSTAGRAM_METRICS = {
    "reach": ("reach", {"time_series", "total_value"}),
    "follower_count": ("follows", {"time_series"}),
    "views": ("views", {"total_value"}),
    "profile_views": ("profile_views", {"total_value"}),
    "total_interactions": ("engagements", {"total_value"}),
}
INSTAGRAM_RETIRED = {"impressions", "plays"}


@dataclass
class PageToken:
    user: str
    page: str
    revoked: bool = False


@dataclass
class State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    page_tokens: dict[str, PageToken] = field(default_factory=dict)
    # Unix times of restatements, per product.
    restated_at: dict[str, list[float]] = field(default_factory=dict)
    # Metrics retired by a control (a deprecation the connector's table does not know yet).
    retired: dict[str, set[str]] = field(default_factory=dict)
    throttle_calls: int = 0
    throttle_code: int = 32
    calls: dict[str, int] = field(default_factory=dict)


STATE = State()


# ---- numbers -------------------------------------------------------------------


def _today(at: float | None = None) -> dt.date:
    return dt.datetime.fromtimestamp(time.time() if at is None else at, PACIFIC).date()


def _served(day: dt.date) -> bool:
    """Only complete days, and none older than the history kept."""
    today = _today()
    return today - dt.timedelta(days=HISTORY_DAYS) <= day < today


def _version(product: str, day: dt.date) -> int:
    """How many restatements reached `day`: one reaches the last three
    complete days at its time."""
    return sum(1 for at in STATE.restated_at.get(product, []) if 0 < (_today(at) - day).days <= RESTATE_DAYS)


def _day(product: str, account: str, day: dt.date) -> dict:
    """Every measure of an account's day. Followers are a gauge: the
    audience at the end of the day, drifting up by the day (Pages only;
    Instagram keeps no follower history)."""
    key = (product, account, day, _version(product, day))
    views = 100 + stable_int(*key, "views", modulo=5000)
    values = {
        "views": views,
        "reach": views * (40 + stable_int(*key, "reach", modulo=50)) // 100,
        "video_views": stable_int(*key, "video", modulo=views // 5 + 1),
        "follows": stable_int(*key, "follows", modulo=30),
        "profile_views": stable_int(*key, "profile", modulo=200),
        "engagements": stable_int(*key, "engagements", modulo=views // 10 + 1),
    }
    if product == "facebook":
        values["followers"] = 1000 + day.toordinal() % 10000 * 3 + stable_int(account, day, "followers", modulo=20)
    else:
        values["video_views"] = 0
    return values


def _end_time(day: dt.date) -> str:
    """The end of a Pacific day, as Graph writes it (UTC, +0000)."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), PACIFIC).astimezone(dt.timezone.utc)
    return end.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _days(since: dt.date, until: dt.date) -> list[dt.date]:
    """The served days d with since <= d < until."""
    count = max(0, (until - since).days)
    return [d for d in (since + dt.timedelta(days=i) for i in range(count)) if _served(d)]


# ---- the Graph surface -----------------------------------------------------------


def serves(path: str) -> bool:
    """Whether a Graph path (below the version) is the organic surface's."""
    head = path.strip("/").split("/")[0]
    return path == "/me/accounts" or head in PAGES or head in INSTAGRAM


def graph(request: Request, version: str, path: str, params: dict[str, str]) -> Response:
    parts = path.strip("/").split("/")
    kind = "accounts" if path == "/me/accounts" else ("insights" if parts[-1] == "insights" else "node")
    with STATE.lock:
        STATE.calls[kind] = STATE.calls.get(kind, 0) + 1
        throttled = STATE.throttle_calls > 0
        if throttled:
            STATE.throttle_calls -= 1
            STATE.calls["throttled"] = STATE.calls.get("throttled", 0) + 1
        code = STATE.throttle_code
    with meta.STATE.lock:
        app, _ = meta._count_usage(None)
    headers = meta._usage_headers(100 if throttled and code == 4 else app, None, None, 1)
    try:
        if throttled:
            message = "Page request limit reached" if code == 32 else meta.THROTTLE_MESSAGES.get(code, "Too many calls")
            raise meta.GraphError(f"({code}) {message}", code)
        token = meta._bearer(request, params)
        if kind == "accounts":
            body = _accounts(meta._user_of_token(token), params, version)
        elif kind == "node":
            body = _page_token(meta._user_of_token(token), parts[0], params)
        elif parts[0] in PAGES:
            body = _page_insights(token, parts[0], params, version, path)
        else:
            body = _instagram_insights(token, parts[0], params, version)
    except meta.GraphError as err:
        with STATE.lock:
            STATE.calls["errors"] = STATE.calls.get("errors", 0) + 1
        return meta._error_response(err, headers)
    return Response.json(200, body, headers)


def _page_of_token(token: str) -> PageToken | None:
    with STATE.lock:
        found = STATE.page_tokens.get(token)
    if found is not None and found.revoked:
        raise meta.GraphError("Error validating access token: The session has been invalidated because the user "
                              "changed their password or Facebook has changed the session for security reasons.", 190, 460)
    return found


def _accounts(user: str, params: dict[str, str], version: str) -> dict:
    fields = [f for f in _split_fields(params.get("fields", "id,name,access_token"))]
    items = []
    for page in (p for p in PAGES.values() if p.user == user):
        values = {"id": page.id, "name": page.name, "category": "Local business",
                  "tasks": ["ANALYZE", "ADVERTISE", "CREATE_CONTENT", "MODERATE", "MANAGE"]}
        item = {"id": page.id}
        for f in fields:
            if f == "access_token":
                item[f] = _new_page_token(user, page.id)
            elif f.startswith("instagram_business_account"):
                if page.instagram:
                    wanted = _split_fields(f.partition("{")[2].rstrip("}")) or ["id"]
                    ig = {"id": page.instagram[0], "username": page.instagram[1]}
                    item["instagram_business_account"] = {k: ig[k] for k in wanted if k in ig} | {"id": ig["id"]}
            elif f in values:
                item[f] = values[f]
            else:
                raise meta.GraphError(f"(#100) Tried accessing nonexisting field ({f}) on node type (Page)", 100)
        items.append(item)
    return meta._page(items, params, "/me/accounts")


def _split_fields(text: str) -> list[str]:
    """Top-level fields of a `fields` parameter, with their `{...}` expansions."""
    out, depth, current = [], 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            out.append(current.strip())
            current = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        current += ch
    if current.strip():
        out.append(current.strip())
    return [f for f in out if f]


def _new_page_token(user: str, page: str) -> str:
    token = meta._new_secret("page")
    with STATE.lock:
        STATE.page_tokens[token] = PageToken(user, page)
    return token


def _page_token(user: str, page_id: str, params: dict[str, str]) -> dict:
    page = PAGES.get(page_id)
    if page is None or page.user != user:
        raise meta.GraphError(f"Unsupported get request. Object with ID '{page_id}' does not exist, cannot be loaded "
                              "due to missing permissions, or does not support this operation.", 100, 33)
    if params.get("fields", "id") != "access_token":
        raise meta.GraphError("(#100) The fake serves fields=access_token on a Page", 100)
    return {"access_token": _new_page_token(user, page.id), "id": page.id}


def _range(params: dict[str, str], max_days: int) -> tuple[dt.date, dt.date]:
    try:
        since, until = (_when(params[k]) for k in ("since", "until"))
    except (KeyError, ValueError) as err:
        raise meta.GraphError("(#100) since and until are required (a date or a Unix time)", 100) from err
    if until <= since:
        raise meta.GraphError("(#100) The since parameter must be before the until parameter", 100)
    if (until - since).days > max_days:
        raise meta.GraphError(f"(#100) There cannot be more than {max_days} days ({max_days * 86400} s) between "
                              "since and until", 100)
    return since, until


def _when(text: str) -> dt.date:
    """A Pacific date from `YYYY-MM-DD` or a Unix time."""
    if text.isdigit():
        return dt.datetime.fromtimestamp(int(text), PACIFIC).date()
    return dt.date.fromisoformat(text)


def _metrics(params: dict[str, str]) -> list[str]:
    names = [m.strip() for m in params.get("metric", "").split(",") if m.strip()]
    if not names:
        raise meta.GraphError("(#100) The parameter metric is required", 100)
    return names


def _page_insights(token: str, page_id: str, params: dict[str, str], version: str, path: str) -> dict:
    owner = _page_of_token(token)
    if owner is None:
        meta._user_of_token(token)  # a dead user token says so first
        raise meta.GraphError("(#190) This method must be called with a Page Access Token", 190)
    if owner.page != page_id:
        raise meta.GraphError(f"(#10) The Page token is not for Page {page_id}", 10)
    if params.get("period", "day") != "day":
        raise meta.GraphError("(#100) The fake serves period=day only", 100)
    names = _metrics(params)
    with STATE.lock:
        retired = PAGE_RETIRED | STATE.retired.get("facebook", set())
    for name in names:
        if name in retired or name not in PAGE_METRICS:
            raise meta.GraphError("(#100) The value must be a valid insights metric", 100)
    since, until = _range(params, PAGE_MAX_DAYS)
    with STATE.lock:
        days = {d: _day("facebook", page_id, d) for d in _days(since, until)}
    data = [{
        "name": name, "period": "day",
        "values": [{"value": v[PAGE_METRICS[name]], "end_time": _end_time(d)} for d, v in days.items()],
        "title": name.replace("_", " ").capitalize(), "description": f"Daily: {name}",
        "id": f"{page_id}/insights/{name}/day",
    } for name in names]
    span = until - since
    shift = lambda a, b: f"https://graph.facebook.com/{version}{path}?" + urlencode(  # noqa: E731
        {"metric": ",".join(names), "period": "day", "since": a.isoformat(), "until": b.isoformat()})
    return {"data": data, "paging": {"previous": shift(since - span, since), "next": shift(until, until + span)}}


def _instagram_insights(token: str, ig_id: str, params: dict[str, str], version: str) -> dict:
    page = INSTAGRAM[ig_id]
    owner = _page_of_token(token)
    if owner is None:
        if meta._user_of_token(token) != page.user:
            raise meta.GraphError("(#10) Application does not have permission for this action", 10)
    elif owner.page != page.id:
        raise meta.GraphError("(#10) Application does not have permission for this action", 10)
    if params.get("period", "day") != "day":
        raise meta.GraphError("(#100) The fake serves period=day only", 100)
    names = _metrics(params)
    metric_type = params.get("metric_type", "time_series")
    with STATE.lock:
        retired = INSTAGRAM_RETIRED | STATE.retired.get("instagram", set())
    for name in names:
        if name in retired:
            raise meta.GraphError(f"(#100) Starting from version v22.0 and above, the {name} metric is no longer "
                                  "supported for IG user insights. Please use the views metric instead.", 100)
        if name not in INSTAGRAM_METRICS:
            raise meta.GraphError(f"(#100) metric[0] must be one of the following values: "
                                  f"{', '.join(INSTAGRAM_METRICS)}", 100)
        if metric_type not in INSTAGRAM_METRICS[name][1]:
            raise meta.GraphError(f"(#100) The following metrics ({name}) should be specified with parameter "
                                  f"metric_type={'total_value' if metric_type == 'time_series' else 'time_series'}", 100)
    since, until = _range(params, INSTAGRAM_MAX_DAYS)
    with STATE.lock:
        days = {d: _day("instagram", ig_id, d) for d in _days(since, until)}
    data = []
    for name in names:
        key = INSTAGRAM_METRICS[name][0]
        item = {"name": name, "period": "day", "title": name.replace("_", " ").capitalize(),
                "description": f"Daily: {name}", "id": f"{ig_id}/insights/{name}/day"}
        if metric_type == "total_value":
            item["total_value"] = {"value": sum(v[key] for v in days.values())}
        else:
            item["values"] = [{"value": v[key], "end_time": _end_time(d)} for d, v in days.items()]
        data.append(item)
    return {"data": data}


# ---- test controls and the oracle (never part of Meta's surface) -----------------------


def handler(product: str):
    """The `handle` of a product's module: its controls under /_fake/<product>/."""
    def handle(request: Request) -> Response:
        if request.path.startswith(f"/_fake/{product}/"):
            return control(product, request)
        return Response.json(404, {"error": {"message": f"no such path {request.path}: the Graph surface is under /meta/graph"}})
    return handle


def control(product: str, request: Request) -> Response:
    return controls(request, request.path.removeprefix(f"/_fake/{product}/"), STATE,
                    lambda params: _oracle(product, params), lambda name, params: _action(product, name, params))


def _action(product: str, name: str, params: dict[str, str]) -> Response:
    if name == "revoke":
        # The user's grant and every Page token issued from it so far.
        user = params.get("user", "")
        meta.handle(Request("POST", "/_fake/meta/revoke", {"user": user}, {}, b""))
        hit = [t for t in STATE.page_tokens.values() if t.user == user]
        for token in hit:
            token.revoked = True
        return Response.json(200, {"revoke": user, "page_tokens": len(hit)})
    if name == "reset":
        # Both products share the Graph: a reset is of the whole organic surface.
        reset(STATE)
        return Response.json(200, {"reset": True})
    if name == "restate":
        STATE.restated_at.setdefault(product, []).append(time.time())
        return Response.json(200, {"restated": product, "versions": len(STATE.restated_at[product])})
    if name == "retire":
        STATE.retired.setdefault(product, set()).add(params["metric"])
        return Response.json(200, {"retired": sorted(STATE.retired[product])})
    if name == "throttle":
        STATE.throttle_calls = int(params.get("calls", "1"))
        STATE.throttle_code = int(params.get("code", "32"))
        return Response.json(200, {"throttle_calls": STATE.throttle_calls, "code": STATE.throttle_code})
    return Response.json(404, {"error": f"no control {name}"})


def _oracle(product: str, params: dict[str, str]) -> Response:
    accounts = {p.id: p.name for p in PAGES.values()} if product == "facebook" else {
        ig: page.instagram[1] for ig, page in INSTAGRAM.items()}
    account = params.get("account", "")
    try:
        since, until = dt.date.fromisoformat(params["since"]), dt.date.fromisoformat(params["until"])
    except (KeyError, ValueError):
        return Response.json(400, {"error": "since and until (YYYY-MM-DD) are required"})
    if account not in accounts or params.get("level", "account") != "account":
        return Response.json(400, {"error": f"account one of {sorted(accounts)}, level account"})
    rows = []
    with STATE.lock:
        for d in _days(since, until + dt.timedelta(days=1)):
            v = _day(product, account, d)
            rows.append({
                "entity_id": account, "entity_name": accounts[account], "date": d.isoformat(),
                "impressions": v["views"], "clicks": 0, "spend_micros": 0, "conversions_micros": 0,
                "conversion_value_micros": 0, "reach": v["reach"], "video_views": v["video_views"],
                "followers": v.get("followers"), "follows": v["follows"], "profile_views": v["profile_views"],
                "engagements": v["engagements"],
            })
    return Response.json(200, {"rows": rows})
