"""Clause boundaries the HTTP interface must find in SQL text before the engine sees it.

ClickHouse's HTTP handler feeds `query` parameter + body to its parser and lets
it find where an INSERT's inline data begins.  chDB takes an INSERT's header
and its data separately, so the shim has to find that boundary itself; it also
names the output format in a response header.  This module knows just enough
of ClickHouse's lexical rules (comments, quoted strings and identifiers,
brackets) not to be fooled by a `FORMAT` inside a string.  Syntax, validation
and errors stay with the engine.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass

_SPACE = re.compile(rb"[ \t\n\r\f\v]+")
_WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_$]*")
_HEREDOC_TAG = re.compile(rb"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


@dataclass(frozen=True)
class Token:
    # word, quoted (identifier), string, group (a bracketed span), semicolon, other
    kind: str
    start: int
    end: int


def _scan(text: bytes) -> Iterator[Token]:
    pos, end = 0, len(text)
    while pos < end:
        c = text[pos : pos + 1]
        if c in b" \t\n\r\f\v":
            pos = _SPACE.match(text, pos).end()
        elif text.startswith(b"--", pos) or (c == b"#" and text[pos + 1 : pos + 2] in (b" ", b"!")):
            newline = text.find(b"\n", pos)
            pos = end if newline < 0 else newline + 1
        elif text.startswith(b"/*", pos):
            pos = _skip_block_comment(text, pos)
        elif c in (b"'", b'"', b"`"):
            close = _skip_quoted(text, pos)
            yield Token("string" if c == b"'" else "quoted", pos, close)
            pos = close
        elif c == b"$" and (tag := _HEREDOC_TAG.match(text, pos)):
            closing = text.find(tag.group(0), tag.end())
            close = end if closing < 0 else closing + len(tag.group(0))
            yield Token("string", pos, close)
            pos = close
        elif word := _WORD.match(text, pos):
            yield Token("word", pos, word.end())
            pos = word.end()
        else:
            kind = {b"(": "open", b"[": "open", b"{": "open", b")": "close", b"]": "close", b"}": "close"}
            yield Token(kind.get(c, "semicolon" if c == b";" else "other"), pos, pos + 1)
            pos += 1


def _skip_block_comment(text: bytes, pos: int) -> int:
    # ClickHouse block comments nest.
    depth, pos = 0, pos
    while pos < len(text):
        if text.startswith(b"/*", pos):
            depth, pos = depth + 1, pos + 2
        elif text.startswith(b"*/", pos):
            depth, pos = depth - 1, pos + 2
            if depth == 0:
                return pos
        else:
            pos += 1
    return pos


def _skip_quoted(text: bytes, pos: int) -> int:
    quote = text[pos : pos + 1]
    pos += 1
    while pos < len(text):
        c = text[pos : pos + 1]
        if c == b"\\":
            pos += 2
        elif c == quote:
            if text[pos + 1 : pos + 2] == quote:  # a doubled quote stands for itself
                pos += 2
            else:
                return pos + 1
        else:
            pos += 1
    return pos


def _top_level(text: bytes) -> Iterator[Token]:
    """Tokens outside brackets; each bracketed span comes out as one `group` token."""
    depth, group_start = 0, 0
    for token in _scan(text):
        if token.kind == "open":
            if depth == 0:
                group_start = token.start
            depth += 1
        elif token.kind == "close" and depth:
            depth -= 1
            if depth == 0:
                yield Token("group", group_start, token.end)
        elif depth == 0:
            yield token


def _keyword(text: bytes, token: Token | None) -> str:
    return text[token.start : token.end].decode().upper() if token and token.kind == "word" else ""


def _identifier(text: bytes, token: Token) -> str:
    raw = text[token.start : token.end].decode("utf-8", "replace")
    if token.kind == "quoted":
        quote = raw[0]
        return raw[1:-1].replace(quote * 2, quote).replace("\\" + quote, quote)
    return raw


@dataclass(frozen=True)
class InlineInsert:
    """An INSERT whose data follows its own text, as ClickHouse's HTTP interface allows."""

    target: str  # the statement up to its SETTINGS clause, or else up to VALUES / FORMAT <name>
    settings: str  # that `SETTINGS ...` clause, or ""
    data_format: str
    data_start: int  # offset in the scanned bytes where the data begins

    @property
    def header(self) -> str:
        """The statement up to, not including, VALUES / FORMAT <name>."""
        return self.target + self.settings


def find_inline_insert(text: bytes) -> InlineInsert | None:
    """Splits `INSERT ... VALUES <data>` or `INSERT ... FORMAT <name> <data>`.

    Returns None for anything else, INSERT ... SELECT and INSERT ... FROM INFILE
    included: those carry no inline data and go to the engine whole.
    """
    tokens = _top_level(text)
    if _keyword(text, next(tokens, None)) != "INSERT" or _keyword(text, next(tokens, None)) != "INTO":
        return None
    # Step over the target first: a table may well be named `format` or `values`.
    target = next(tokens, None)
    if _keyword(text, target) == "TABLE":
        target = next(tokens, None)
    if _keyword(text, target) == "FUNCTION":
        target = next(tokens, None)
    after_dot = False
    settings_start = None
    for token in tokens:
        if after_dot:  # the table half of `db.table`
            after_dot = False
            continue
        if text[token.start : token.end] == b".":
            after_dot = True
            continue
        keyword = _keyword(text, token)
        if keyword in ("SELECT", "WITH", "INFILE") or token.kind == "semicolon":
            return None
        if keyword == "SETTINGS" and settings_start is None:
            settings_start = token.start
        if keyword == "VALUES":
            return _inline_insert(text, settings_start, token.start, "Values", token.end)
        if keyword == "FORMAT":
            name = next(tokens, None)
            if name is None or name.kind not in ("word", "quoted"):
                return None
            return _inline_insert(
                text, settings_start, token.start, _identifier(text, name), _data_start_after_format(text, name.end)
            )
    return None


def _inline_insert(
    text: bytes, settings_start: int | None, header_end: int, data_format: str, data_start: int
) -> InlineInsert:
    target_end = header_end if settings_start is None else settings_start
    return InlineInsert(
        text[:target_end].decode("utf-8", "replace"),
        text[target_end:header_end].decode("utf-8", "replace"),
        data_format,
        data_start,
    )


def _data_start_after_format(text: bytes, pos: int) -> int:
    # As ClickHouse's ParserInsertQuery: skip blanks, then at most one line break.
    while text[pos : pos + 1] in (b" ", b"\t", b"\f"):
        pos += 1
    if text[pos : pos + 1] == b"\r":
        pos += 1
    if text[pos : pos + 1] == b"\n":
        pos += 1
    return pos


@dataclass(frozen=True)
class QueryShape:
    empty: bool
    statements: int
    output_format: str | None  # the last top-level `FORMAT <name>`, if any


def query_shape(sql: str) -> QueryShape:
    text = sql.encode()
    statements, pending, output_format = 0, False, None
    tokens = _top_level(text)
    for token in tokens:
        if token.kind == "semicolon":
            statements += int(pending)
            pending = False
            continue
        pending = True
        if _keyword(text, token) == "FORMAT":
            name = next(tokens, None)
            if name is not None and name.kind in ("word", "quoted"):
                output_format = _identifier(text, name)
    statements += int(pending)
    return QueryShape(statements == 0, statements, output_format)


def quote_identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def quote_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
