"""What every platform fake shares: the request and response shapes and
deterministic numbers.

A fake module exposes `PREFIX` (its path prefix, e.g. "/meta") and
`handle(request) -> Response`. Paths below the prefix are the platform's own
(so a production base URL such as https://graph.facebook.com/v25.0 maps to
http://127.0.0.1:<port>/meta/graph/v25.0). Test controls and the oracle live
under /_fake/<platform>/ and are never part of a platform's surface.
"""

import hashlib
import json
from dataclasses import dataclass, field, fields
from datetime import date
from urllib.parse import parse_qs


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        """The body as application/x-www-form-urlencoded fields."""
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    def json(self):
        return json.loads(self.body or b"null")

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def json(status: int, value, headers: dict[str, str] | None = None) -> "Response":
        return Response(status, json.dumps(value).encode(), {"Content-Type": "application/json", **(headers or {})})

    @staticmethod
    def html(body: str) -> "Response":
        return Response(200, body.encode(), {"Content-Type": "text/html; charset=utf-8"})

    @staticmethod
    def redirect(location: str) -> "Response":
        return Response(302, b"", {"Location": location})


def stable_int(*parts, modulo: int) -> int:
    """A number in [0, modulo) that depends only on `parts`: the same on every
    run, machine and Python version (unlike hash())."""
    digest = hashlib.sha256("\x00".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") % modulo


class Sums:
    """Mixin of a dataclass of additive measures: an entity's day is the sum of its ads' days."""

    def add(self, other) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def controls(request: Request, name: str, state, oracle, action) -> Response:
    """The /_fake/<platform>/<name> controls: GET `oracle` and `calls` (what
    was called, from `state.calls`), and POST actions, each run as
    `action(name, query)` under `state.lock`."""
    if name == "oracle" and request.method == "GET":
        return oracle(request.query)
    if name == "calls" and request.method == "GET":
        with state.lock:
            return Response.json(200, {"calls": dict(state.calls)})
    if request.method != "POST":
        return Response.json(405, {"error": f"{name} wants POST"})
    with state.lock:
        return action(name, request.query)


def reset(state) -> None:
    """Puts every field of a fake's state dataclass back to its default, in
    place: handlers hold the object, and its lock stays the one they use."""
    fresh = type(state)()
    for f in fields(state):
        if f.name != "lock":
            setattr(state, f.name, getattr(fresh, f.name))


def zero(zeroed: set, q: dict[str, str], account_key: str, entities: dict[str, set[str]]) -> Response:
    """The `zero` control: one day (`date`) of a campaign, ad group or ad
    (`entity`) of an account restated to no activity (refunded invalid
    clicks, a removed conversion). Platforms omit rows without activity, so
    its row, its children's, and its parents' where nothing else was active,
    leave the answers and the oracle; see `is_zeroed`."""
    account, entity = q.get(account_key, ""), q.get("entity", "")
    if entity not in entities.get(account, set()):
        return Response.json(400, {"error": f"{account_key} and entity (one of its campaigns, ad groups or ads) are required"})
    day = date.fromisoformat(q["date"])
    zeroed.add((account, entity, day))
    return Response.json(200, {account_key: account, "entity": entity, "date": day.isoformat()})


def is_zeroed(zeroed: set, account: str, owners: tuple, day: date) -> bool:
    """Whether a leaf (ad) whose ids and its parents' are `owners` has no activity on `day`."""
    return any((account, owner, day) in zeroed for owner in owners)
