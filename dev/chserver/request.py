"""A query request's parameters, sorted the way ClickHouse's HTTP handler sorts them.

URL parameters are either reserved names the interface itself acts on
(`query`, `database`, `compress`, `session_id`, ...), query parameters
(`param_<name>` for `{name:Type}` placeholders) or, anything else, settings for
this one query.  A multipart/form-data body carries the same `query` and
`param_*` fields (clickhouse-rs sends bound parameters that way).
"""

import email.parser
import email.policy
import uuid
from dataclasses import dataclass

from .auth import Credentials, credentials_from
from .errors import ServerError

_RESERVED = frozenset(
    {
        "query",
        "database",
        "default_format",
        "compress",
        "decompress",
        "user",
        "password",
        "quota_key",
        "query_id",
        "stacktrace",
        "role",
        "buffer_size",
        "wait_end_of_query",
        "session_id",
        "session_timeout",
        "session_check",
        "client_protocol_version",
        "close_session",
    }
)
_PARAM_PREFIX = "param_"


@dataclass(frozen=True)
class QueryRequest:
    query: str  # the `query` parameter; the body may continue it
    database: str | None
    default_format: str | None
    settings: tuple[tuple[str, str], ...]
    params: dict[str, str]
    query_id: str
    credentials: Credentials
    compress_response: bool  # compress=1: response in ClickHouse block framing
    body_is_framed: bool  # decompress=1: request body in ClickHouse block framing

    def setting(self, name: str, default: str) -> str:
        return dict(self.settings).get(name, default)


def parse_query_request(
    method: str, url_params: list[tuple[str, str]], headers, form_fields: list[tuple[str, str]]
) -> QueryRequest:
    flat = dict(url_params)
    settings: dict[str, str] = {}
    params: dict[str, str] = {}
    for name, value in url_params:
        if name.startswith(_PARAM_PREFIX):
            params[name[len(_PARAM_PREFIX) :]] = value
        elif name and name not in _RESERVED:
            settings[name] = value
    query = flat.get("query", "")
    for name, value in form_fields:
        if name == "query":
            query += value
        elif name.startswith(_PARAM_PREFIX):
            params[name[len(_PARAM_PREFIX) :]] = value

    # Only read-only queries are allowed over GET, unless the client set readonly itself.
    if method == "GET" and "readonly" not in settings:
        settings["readonly"] = "2"
    # Once readonly is set no other setting may change, so it goes last.
    ordered = sorted(settings.items(), key=lambda item: item[0] == "readonly")

    return QueryRequest(
        query=query,
        database=headers.get("X-ClickHouse-Database") or flat.get("database") or None,
        default_format=headers.get("X-ClickHouse-Format") or flat.get("default_format") or None,
        settings=tuple(ordered),
        params=params,
        query_id=flat.get("query_id") or headers.get("X-ClickHouse-Query-Id") or str(uuid.uuid4()),
        credentials=credentials_from(headers, flat),
        compress_response=_flag(flat, "compress"),
        body_is_framed=_flag(flat, "decompress"),
    )


def _flag(params: dict[str, str], name: str) -> bool:
    value = params.get(name, "0").strip().lower()
    if value in ("1", "true"):
        return True
    if value in ("", "0", "false"):
        return False
    raise ServerError("CANNOT_PARSE_BOOL", f"Cannot parse boolean value '{value}' of parameter {name}")


def parse_form_fields(content_type: str, body: bytes) -> list[tuple[str, str]]:
    """The text fields of a multipart/form-data body.

    File parts are ClickHouse's "external data" (temporary tables sent with a
    query), which the engine cannot take from an HTTP request; they are refused
    rather than silently dropped.
    """
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    fields = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if part.get_filename() is not None:
            raise ServerError("NOT_IMPLEMENTED", "External data (file parts in multipart/form-data) is not supported")
        if name is None:
            continue
        payload = part.get_payload(decode=True) or b""
        fields.append((name, payload.decode(part.get_content_charset() or "utf-8")))
    return fields
