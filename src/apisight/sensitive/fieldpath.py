"""Field paths for byte offsets in a body: ``$.accounts[0].iban``, ``$.card``, ``$``.

Only bodies with findings reach here, and only the prefix up to the last finding is
read: JSON is tokenised (strings, brackets, commas) rather than parsed, so a truncated
or slightly broken body still gives paths. Form bodies and query strings give
``$.<name>``; XML gives the chain of open elements; a header map (``{"name":"value"}``)
gives ``header:<name>`` for anything in a header's value (``header:x-user-email``,
``header:location``); anything else (paths, text) gives ``$``.

A name that itself looks like a sensitive value (a long digit run, an e-mail, an
IBAN-like code) is written as ``*`` so a path never carries a value.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Sequence
from functools import lru_cache
from urllib.parse import unquote_plus

#: A JSON string (the loop unrolled: same matches as ``"(?:[^"\\]|\\.)*"``, a third the time)
#: and whether a ':' makes it a key; or a bracket or comma.
_JSON_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"(\s*:)?|[\[\]{},]')
_XML_TAG = re.compile(rb"<(/?)([A-Za-z_][\w:.-]*)[^>]*?(/?)>")
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_VALUE_LIKE = re.compile(r"\d{6,}|@|[A-Za-z]{2}\d{2}[A-Za-z0-9]{8,}|eyJ")


def sniff_format(text: bytes, content_type: str | None = None) -> str:
    """``json``, ``form``, ``xml`` or ``text`` from the content type, else from the text."""
    ct = (content_type or "").lower()
    if "json" in ct:
        return "json"
    if "x-www-form-urlencoded" in ct:
        return "form"
    if "xml" in ct:
        return "xml"
    head = text[:64].lstrip()
    if head[:1] in (b"{", b"["):
        return "json"
    if head[:1] == b"<":
        return "xml"
    if re.fullmatch(rb"[^\s=&]+=[^\s&]*(?:&[^\s=&]+=[^\s&]*)*", text[:512]):
        return "form"
    return "text"


@lru_cache(maxsize=4096)
def _name(raw: str) -> str:
    if _VALUE_LIKE.search(raw):
        return ".*"
    return f".{raw}" if _PLAIN_NAME.fullmatch(raw) else '["' + raw.replace('"', '\\"') + '"]'


def json_paths(text: bytes, offsets: list[int]) -> list[str]:
    """The JSON path of the value at each offset (``offsets`` sorted ascending)."""
    out: list[str] = []
    stack: list[list] = []  # [is_array, raw key or index]
    k, n = 0, len(offsets)
    for m in _JSON_TOKEN.finditer(text):
        end = m.end()
        while k < n and offsets[k] < end:
            out.append(_render(stack))
            k += 1
        if k == n:
            break
        tok = text[m.start()]
        if tok == 0x22:  # a string: a key when followed by ':'
            if m.group(1) is not None and stack and not stack[-1][0]:
                token = m.group(0)
                stack[-1][1] = token[1 : token.rindex(b'"')]  # decoded only if rendered
        elif tok == 0x7B:  # {
            stack.append([False, None])
        elif tok == 0x5B:  # [
            stack.append([True, 0])
        elif tok in (0x7D, 0x5D):  # } ]
            if stack:
                stack.pop()
        elif tok == 0x2C and stack:  # ,
            if stack[-1][0]:
                stack[-1][1] += 1
            else:
                stack[-1][1] = None
    while k < n:
        out.append(_render(stack))
        k += 1
    return out


def _render(stack: list[list]) -> str:
    parts = ["$"]
    for is_array, key in stack:
        if is_array:
            parts.append(f"[{key}]")
        elif key is not None:
            parts.append(_raw_name(key))
        else:
            break
    return "".join(parts)


@lru_cache(maxsize=4096)
def _raw_name(raw: bytes) -> str:
    return _name(raw.decode("utf-8", "replace"))


def _flat(text: bytes, offset: int) -> str:
    return _key_path(key_before(text, offset, 0))


def _key_path(name: str | None) -> str:
    return "$" + _name(name) if name else "$"


def form_paths(text: bytes, offsets: list[int]) -> list[str]:
    out = []
    for off in offsets:
        start = max(text.rfind(b"&", 0, off), text.rfind(b"?", 0, off)) + 1
        eq = text.find(b"=", start, off)
        name = unquote_plus(text[start:eq].decode("utf-8", "replace")) if eq >= 0 else ""
        out.append("$" + _name(name) if name else "$")
    return out


def header_paths(text: bytes, offsets: list[int]) -> list[str]:
    """``header:<name>`` for each offset (ascending) in a flat JSON map of headers: the name
    of the header whose value holds it (``header:*`` for a name that looks like a value)."""
    out: list[str] = []
    key: bytes | None = None
    k, n = 0, len(offsets)
    for m in _JSON_TOKEN.finditer(text):
        name = m.group(1) is not None
        while k < n and offsets[k] < m.end():
            inside_name = name and offsets[k] >= m.start()  # a value in a header's name: not shown
            out.append("header:*" if inside_name else _header(key))
            k += 1
        if k == n:
            break
        if name:
            key = m.group(0)[1 : m.group(0).rindex(b'"')]
    out.extend([_header(key)] * (n - k))
    return out


@lru_cache(maxsize=1024)
def _header(raw: bytes | None) -> str:
    if raw is None:
        return "header"
    name = raw.decode("utf-8", "replace")
    if "\\" in name:
        with contextlib.suppress(ValueError):  # an escape JSON does not know: the name as written
            name = json.loads(f'"{name}"')
    return "header:*" if _VALUE_LIKE.search(name) else "header:" + name


def xml_paths(text: bytes, offsets: list[int]) -> list[str]:
    out: list[str] = []
    stack: list[str] = []
    k, n = 0, len(offsets)
    for m in _XML_TAG.finditer(text):
        if k == n:
            break
        while k < n and offsets[k] < m.start():
            out.append("$" + "".join(_name(t) for t in stack))
            k += 1
        closing, tag, selfclosing = m.group(1), m.group(2).decode("utf-8", "replace"), m.group(3)
        if closing:
            while stack and stack.pop() != tag:
                pass  # pop up to and including the element this tag closes
        elif not selfclosing:
            stack.append(tag)
    while k < n:
        out.append("$" + "".join(_name(t) for t in stack))
        k += 1
    return out


_BLANKS = (0x20, 0x09)
_QUOTES = (0x22, 0x27)


def key_before(buf: bytes, start: int, row_start: int) -> str | None:
    """The field name a value at ``start`` belongs to: ``"k": v``, ``k=v``, ``k: v``, ``<k>v``.

    Byte-wise backwards from the value (a regex search over a window cost 5 µs a
    candidate); ``None`` when the value does not follow a name (array items, free text).
    """
    lo = max(row_start, start - 128)
    p = start
    if p > lo and buf[p - 1] in _QUOTES:
        p -= 1
    if p > lo and buf[p - 1] == 0x5B:  # first item of an array: [" ...
        p -= 1
    while p > lo and buf[p - 1] in _BLANKS:
        p -= 1
    if p <= lo:
        return None
    c = buf[p - 1]
    if c == 0x3E:  # >
        q = buf.rfind(b"<", lo, p - 1)
        if q < 0:
            return None
        name = buf[q + 1 : p - 1].split(None, 1)
        return name[0].decode("ascii", "replace") if name and name[0][:1] not in (b"/", b"!", b"?") else None
    if c not in (0x3A, 0x3D):  # : =
        return None
    p -= 1
    while p > lo and buf[p - 1] in _BLANKS:
        p -= 1
    if p > lo and buf[p - 1] in _QUOTES:
        q = buf.rfind(buf[p - 1 : p], lo, p - 1)
        return buf[q + 1 : p - 1].decode("utf-8", "replace") if q >= 0 else None
    q = p
    while q > lo and (buf[q - 1] in _NAME_BYTES):
        q -= 1
    return buf[q:p].decode("ascii", "replace") if q < p else None


_NAME_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


def field_paths(
    text: bytes, offsets: list[int], fmt: str, *, names: Sequence[str | None] | None = None
) -> list[str]:
    """Paths for ``offsets`` (ascending) in a body of format ``fmt`` (see :func:`sniff_format`).

    ``names``, when given, is ``key_before(text, offset, 0)`` for each offset: a caller that
    already read the field names (the scanner, for hints) need not have them read twice.
    """
    if not offsets:
        return []
    if fmt == "json":
        if (
            text.count(b"[", 0, offsets[-1]) == 0
            and text.count(b"{", 0, offsets[-1]) == 1
            and text.count(b"}", 0, offsets[-1]) == 0
        ):
            # a flat object up to the last hit (most bodies): the name before each value is its path
            if names is None:
                return [_flat(text, off) for off in offsets]
            return [_key_path(name) for name in names]
        return json_paths(text, offsets)
    if fmt == "form":
        return form_paths(text, offsets)
    if fmt == "xml":
        return xml_paths(text, offsets)
    if fmt == "headers":
        return header_paths(text, offsets)
    return ["$"] * len(offsets)
