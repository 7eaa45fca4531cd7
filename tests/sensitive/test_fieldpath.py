"""JSON paths: the tokeniser's shortcuts give the paths of the plain tokeniser, broken JSON included."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apisight.sensitive.fieldpath import field_paths, json_paths, key_before

_PLAIN_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"(\s*:)?|[\[\]{},]')
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_VALUE_LIKE = re.compile(r"\d{6,}|@|[A-Za-z]{2}\d{2}[A-Za-z0-9]{8,}|eyJ")


def _plain_json_paths(text: bytes, offsets: list[int]) -> list[str]:
    """The reference: every token in turn, keys decoded as they come."""

    def render(stack: list[list]) -> str:
        parts = ["$"]
        for is_array, key in stack:
            if is_array:
                parts.append(f"[{key}]")
            elif key is not None:
                if _VALUE_LIKE.search(key):
                    parts.append(".*")
                elif _PLAIN_NAME.fullmatch(key):
                    parts.append(f".{key}")
                else:
                    parts.append('["' + key.replace('"', '\\"') + '"]')
            else:
                break
        return "".join(parts)

    out: list[str] = []
    stack: list[list] = []
    k = 0
    for m in _PLAIN_TOKEN.finditer(text):
        while k < len(offsets) and offsets[k] < m.end():
            out.append(render(stack))
            k += 1
        if k == len(offsets):
            break
        tok = text[m.start()]
        if tok == 0x22:
            if m.group(1) is not None and stack and not stack[-1][0]:
                stack[-1][1] = m.group(0)[1 : m.group(0).rindex(b'"')].decode("utf-8", "replace")
        elif tok == 0x7B:
            stack.append([False, None])
        elif tok == 0x5B:
            stack.append([True, 0])
        elif tok in (0x7D, 0x5D):
            if stack:
                stack.pop()
        elif tok == 0x2C and stack:
            if stack[-1][0]:
                stack[-1][1] += 1
            else:
                stack[-1][1] = None
    out.extend(render(stack) for _ in range(len(offsets) - k))
    return out


_json = st.recursive(
    st.one_of(
        st.none(), st.integers(), st.sampled_from(["v", "a,b", "{[", 'x"y', "\\", "4111111111111111", "é"])
    ),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["a", "b c", "iban", "4111111111111111", 'q"', "é", "x\\y"]), inner, max_size=4
        )
    ),
    max_leaves=12,
)
_noise = st.lists(
    st.sampled_from(['"', "\\", "{", "}", "[", "]", ",", ":", " ", "\n", "a", "1", "é", '"k":']), max_size=8
)


@settings(max_examples=400, deadline=None)
@given(
    doc=_json,
    seps=st.sampled_from([(",", ":"), (", ", ": "), (" , ", " :\t")]),
    cut=st.floats(0, 1),
    noise=_noise,
    where=st.floats(0, 1),
    picks=st.lists(st.floats(0, 1), max_size=4),
)
def test_json_paths_match_the_plain_tokeniser(
    doc: object, seps: tuple[str, str], cut: float, noise: list[str], where: float, picks: list[float]
) -> None:
    text = json.dumps(doc, ensure_ascii=False, separators=seps).encode()
    text = text[: int(len(text) * cut) if cut < 0.5 else len(text)]  # truncated bodies too
    at = int(len(text) * where)
    text = text[:at] + "".join(noise).encode() + text[at:]  # and broken ones
    offsets = sorted(int((len(text) + 1) * p) for p in picks) or [len(text)]
    assert json_paths(text, offsets) == _plain_json_paths(text, offsets)


def test_known_names_give_the_same_flat_paths() -> None:
    text = b'{"pan": "4111111111111111", "user": {"email": "a@b.io"}}'
    offsets = [9]
    names = [key_before(text, off, 0) for off in offsets]
    assert field_paths(text, offsets, "json", names=names) == field_paths(text, offsets, "json") == ["$.pan"]


@pytest.mark.parametrize(
    ("headers", "value", "path"),
    [
        ('{"x-user-email":"ann@example.com"}', "ann@example.com", "header:x-user-email"),
        ('{"host":"a","location":"/c?e=ann@example.com&x=1"}', "ann@example.com", "header:location"),
        ('{"a":"1", "x-customer-ssn" : "123-45-6789"}', "123-45-6789", "header:x-customer-ssn"),
        ('{"x-note":"say \\"hi\\" ann@example.com"}', "ann@example.com", "header:x-note"),
        ('{"x-\\u0041":"ann@example.com"}', "ann@example.com", "header:x-A"),  # JSON escapes decoded
        ('{"x-4111111111111111":"ann@example.com"}', "ann@example.com", "header:*"),  # a value-like name
        ('{"ann@example.com":"1"}', "ann@example.com", "header:*"),  # in a name
        ('not a map ann@example.com', "ann@example.com", "header"),
    ],
)
def test_header_paths(headers: str, value: str, path: str) -> None:
    text = headers.encode()
    at = text.index(value.encode())
    assert field_paths(text, [at], "headers") == [path]


def test_header_paths_several_in_order() -> None:
    text = b'{"a":"x@y.io","b":"1","c":"z@y.io z@y.io"}'
    offsets = [6, text.index(b"z@"), text.rindex(b"z@")]
    assert field_paths(text, offsets, "headers") == ["header:a", "header:c", "header:c"]
