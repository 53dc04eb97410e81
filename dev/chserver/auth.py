"""Who a request claims to be, read the three ways ClickHouse accepts.

`X-ClickHouse-User`/`X-ClickHouse-Key` headers, HTTP Basic auth, or
`user`/`password` URL parameters; mixing schemes is refused, as ClickHouse
refuses it.  The dev server knows one user (default `default`) whose password
is empty unless configured.
"""

import base64
import hmac
from dataclasses import dataclass

from .errors import ServerError


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str


def credentials_from(headers, url_params: dict[str, str]) -> Credentials:
    header_user = headers.get("X-ClickHouse-User", "")
    header_key = headers.get("X-ClickHouse-Key", "")
    authorization = headers.get("Authorization", "")
    in_params = "user" in url_params or "password" in url_params

    if header_user or header_key:
        if authorization or in_params:
            raise ServerError(
                "AUTHENTICATION_FAILED",
                "Invalid authentication: it is not allowed to use X-ClickHouse HTTP headers "
                "and other authentication methods simultaneously",
            )
        return Credentials(header_user or "default", header_key)
    if authorization:
        if in_params:
            raise ServerError(
                "AUTHENTICATION_FAILED",
                "Invalid authentication: it is not allowed to use Authorization HTTP header "
                "and authentication via parameters simultaneously",
            )
        return _basic(authorization)
    return Credentials(url_params.get("user", "default"), url_params.get("password", ""))


def _basic(authorization: str) -> Credentials:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        raise ServerError(
            "AUTHENTICATION_FAILED",
            f"Invalid authentication: '{scheme}' HTTP Authorization scheme is not supported",
        )
    try:
        user, _, password = base64.b64decode(encoded.strip()).decode().partition(":")
    except ValueError:
        raise ServerError("AUTHENTICATION_FAILED", "Invalid authentication: malformed Basic credentials") from None
    return Credentials(user or "default", password)


class Authenticator:
    def __init__(self, user: str, password: str):
        self._user = user
        self._password = password

    def check(self, credentials: Credentials) -> None:
        known = credentials.user == self._user
        # Compared in constant time even on a dev box: the habit costs nothing.
        matches = hmac.compare_digest(credentials.password.encode(), self._password.encode())
        if not (known and matches):
            raise ServerError(
                "AUTHENTICATION_FAILED",
                f"{credentials.user}: Authentication failed: password is incorrect, "
                "or there is no user with such name.",
            )
