"""Errors as ClickHouse reports them over HTTP: code, text and status.

Two sources of errors exist.  The engine raises its own, already worded as
`Code: N. DB::Exception: ... (NAME)`; those pass through untouched.  The shim
detects a few itself (credentials, request framing, checksums) and names them
with ClickHouse's error names; their numeric codes come from the engine's
`system.errors`, so nothing here hard-codes a number.
"""

import re
from dataclasses import dataclass

# ClickHouse's table from exception name to HTTP status
# (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp); every other error is a 500.
_STATUS_BY_NAME = {
    "REQUIRED_PASSWORD": 401,
    **dict.fromkeys(
        (
            "UNKNOWN_USER",
            "WRONG_PASSWORD",
            "AUTHENTICATION_FAILED",
            "SET_NON_GRANTED_ROLE",
            "ACCESS_DENIED",
        ),
        403,
    ),
    **dict.fromkeys(
        (
            "BAD_ARGUMENTS",
            "CANNOT_COMPILE_REGEXP",
            "CANNOT_PARSE_TEXT",
            "CANNOT_PARSE_ESCAPE_SEQUENCE",
            "CANNOT_PARSE_QUOTED_STRING",
            "CANNOT_PARSE_DATE",
            "CANNOT_PARSE_DATETIME",
            "CANNOT_PARSE_NUMBER",
            "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING",
            "CANNOT_PARSE_IPV4",
            "CANNOT_PARSE_IPV6",
            "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
            "CANNOT_PARSE_UUID",
            "DUPLICATE_COLUMN",
            "ILLEGAL_COLUMN",
            "UNKNOWN_ELEMENT_IN_AST",
            "UNKNOWN_TYPE_OF_AST_NODE",
            "THERE_IS_NO_COLUMN",
            "TOO_DEEP_AST",
            "TOO_BIG_AST",
            "UNEXPECTED_AST_STRUCTURE",
            "SYNTAX_ERROR",
            "INCORRECT_DATA",
            "TYPE_MISMATCH",
            "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
        ),
        400,
    ),
    **dict.fromkeys(
        (
            "UNKNOWN_TABLE",
            "UNKNOWN_FUNCTION",
            "UNKNOWN_IDENTIFIER",
            "UNKNOWN_TYPE",
            "UNKNOWN_STORAGE",
            "UNKNOWN_DATABASE",
            "UNKNOWN_SETTING",
            "UNKNOWN_DIRECTION_OF_SORTING",
            "UNKNOWN_AGGREGATE_FUNCTION",
            "UNKNOWN_FORMAT",
            "UNKNOWN_DATABASE_ENGINE",
            "UNKNOWN_TYPE_OF_QUERY",
            "UNKNOWN_ROLE",
        ),
        404,
    ),
    "QUERY_IS_TOO_LARGE": 413,
    "NOT_IMPLEMENTED": 501,
    "SOCKET_TIMEOUT": 503,
    "CANNOT_OPEN_FILE": 503,
    "CANNOT_SCHEDULE_TASK": 503,
    "HTTP_LENGTH_REQUIRED": 411,
    "TIMEOUT_EXCEEDED": 408,
    "UNSUPPORTED_MEDIA_TYPE": 415,
}

_ENGINE_TEXT = re.compile(r"Code: (\d+)\. ", re.DOTALL)


class ServerError(Exception):
    """An error the shim detects itself, named the way ClickHouse names it."""

    def __init__(self, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


class EngineError(Exception):
    """An error the engine raised; `text` already reads `Code: N. DB::Exception: ...`."""

    def __init__(self, code: int, text: str):
        super().__init__(text)
        self.code = code
        self.text = text


def from_engine_exception(exc: Exception) -> EngineError | ServerError:
    """Recovers the engine's error from an exception chDB raised.

    chDB's Python wrappers sometimes prefix the engine text ("Streaming insert
    append failed: ..."), so the text is taken from where `Code:` starts.
    """
    message = str(exc)
    match = _ENGINE_TEXT.search(message)
    if match is None:
        return ServerError("STD_EXCEPTION", message)
    return EngineError(int(match.group(1)), message[match.start() :].rstrip())


def from_file_insert(error: EngineError, path: str) -> EngineError:
    """Words an error of `INSERT ... FROM INFILE path` as that of the same INSERT with inline data.

    An error met while reading the file comes wrapped once more (`Code: N.
    DB::Exception: Code: N. DB::Exception: ... (NAME) (version V). (NAME)`) and
    names the file, which the client never sent.
    """
    text = error.text
    prefix = f"Code: {error.code}. DB::Exception: "
    if text.startswith(prefix * 2):
        text = text[len(prefix) :].rpartition(". (")[0]
    for context in (f"(in file/uri {path}): ", ": While executing File: data for INSERT was parsed from file"):
        text = text.replace(context, "")
    return EngineError(error.code, text)


@dataclass(frozen=True)
class ErrorReport:
    status: int
    code: int
    body: bytes


class ErrorCatalog:
    """Turns errors into what a ClickHouse client expects to read."""

    def __init__(self, codes_by_name: dict[str, int], version: str):
        self._codes_by_name = codes_by_name
        self._names_by_code = {code: name for name, code in codes_by_name.items()}
        self._version = version

    def report(self, error: EngineError | ServerError) -> ErrorReport:
        if isinstance(error, EngineError):
            code, name, text = error.code, self._names_by_code.get(error.code, ""), error.text
        else:
            code = self._codes_by_name[error.name]
            name = error.name
            text = f"Code: {code}. DB::Exception: {error.message}. ({name})"
        if "(version " not in text:
            text = f"{text} (version {self._version})"
        return ErrorReport(_STATUS_BY_NAME.get(name, 500), code, (text + "\n").encode())
