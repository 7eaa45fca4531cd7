"""Batch decoding of JSON lines: the fast path, bad lines set aside, batch arrays split."""

from __future__ import annotations

import polars as pl
import pytest

from apisight.readers import jsonlines
from apisight.readers.jsonlines import decode_json_lines, decode_json_objects

from .helpers import lines_frame

DTYPE = pl.Struct({"a": pl.String, "b": pl.Struct({"c": pl.String})})


def reasons(malformed: pl.DataFrame) -> list[tuple[int, str]]:
    return list(malformed.select("line_no", "reason").iter_rows())


@pytest.mark.parametrize(
    ("line", "a", "c"),
    [
        ('{"a": "x", "b": {"c": "y"}}', "x", "y"),
        ('{"a": 200, "b": {"c": 1.5}}', "200", "1.5"),  # numbers as their text
        ('{"a": true, "b": null}', "true", None),
        ('{"a": {"k": [1, "v"]}}', '{"k": [1, "v"]}', None),  # objects and arrays as JSON text
        ('  {"z": 1}  ', None, None),  # unknown keys skipped
    ],
)
def test_values_decode_into_the_requested_fields(line: str, a: str | None, c: str | None) -> None:
    decoded = decode_json_objects(lines_frame([line]), DTYPE)
    assert decoded.malformed.height == 0
    assert decoded.values.row(0, named=True)["a"] == a
    assert decoded.values.select(pl.col("b").struct.field("c")).item() == c
    assert decoded.lines.row(0) == (1, line, None)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("", "empty line"),
        ("   ", "empty line"),
        ('{"a": ', "invalid JSON"),
        ('{"a": 1} {"a": 2}', "invalid JSON"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('"text"', "expected a JSON object, got str"),
        ('{"b": "not an object"}', "unexpected field type"),
        ('{"b": [1]}', "unexpected field type"),
    ],
)
def test_bad_lines_are_set_aside_with_their_reason(line: str, reason: str) -> None:
    good = '{"a": "x"}'
    decoded = decode_json_objects(lines_frame([good, line, good, good]), DTYPE)
    assert decoded.lines["line_no"].to_list() == [1, 3, 4]
    assert decoded.values["a"].to_list() == ["x", "x", "x"]
    [(line_no, got)] = reasons(decoded.malformed)
    assert line_no == 2 and got.startswith(reason)


def test_many_wrongly_typed_lines_are_found_by_halving() -> None:
    lines = ['{"a": "x"}' if n % 3 else '{"b": 5}' for n in range(30)]
    decoded = decode_json_objects(lines_frame(lines), DTYPE)
    assert decoded.lines["line_no"].to_list() == [n + 1 for n in range(30) if n % 3]
    assert decoded.malformed["line_no"].to_list() == [n + 1 for n in range(30) if not n % 3]


def test_arrays_are_rejected_unless_asked_for() -> None:
    decoded = decode_json_objects(lines_frame(['[{"a": "x"}]']), DTYPE)
    assert reasons(decoded.malformed) == [(1, "expected a JSON object, got list")]


def test_array_elements_become_records_of_their_line() -> None:
    lines = ['{"a": "1"}', '[{"a": "2"}, {"a": "3"}]', '{"a": "4"}', ' [{"a": "5"}]']
    decoded = decode_json_objects(lines_frame(lines), DTYPE, arrays=True)
    assert decoded.malformed.height == 0
    assert decoded.values["a"].to_list() == ["1", "2", "3", "4", "5"]
    assert decoded.lines.select("line_no", "element").rows() == [(1, None), (2, 0), (2, 1), (3, None), (4, 0)]
    assert decoded.lines["line"][1] == lines[1]  # the whole line, for excerpts


@pytest.mark.parametrize(
    ("line", "kept", "expected"),
    [
        ("[]", [], [(2, "empty JSON array")]),
        ('[{"a": "x"}, null]', [0], [(2, "array index 1: expected a JSON object, got null")]),
        ('[{"a": "x"}, 5, {"a": "y"}]', [0, 2], [(2, "array index 1: expected a JSON object, got int")]),
        ('[{"b": "no"}, {"a": "y"}]', [1], [(2, "array index 0: unexpected field type")]),
        ('[{"a": "x"}', [], [(2, "invalid JSON")]),
    ],
    ids=["empty", "null", "not-an-object", "wrong-type", "truncated"],
)
def test_bad_array_elements_are_reported_with_their_index(
    line: str, kept: list[int], expected: list[tuple[int, str]]
) -> None:
    decoded = decode_json_objects(lines_frame(['{"a": "first"}', line]), DTYPE, arrays=True)
    assert decoded.lines.select("line_no", "element").rows() == [(1, None)] + [(2, i) for i in kept]
    got = reasons(decoded.malformed)
    assert [n for n, _ in got] == [n for n, _ in expected]
    assert all(r.startswith(e) for (_, r), (_, e) in zip(got, expected, strict=True))


def test_the_slow_path_is_not_taken_for_good_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_slow_path(*args: object) -> None:
        raise AssertionError("decoded line by line")

    monkeypatch.setattr(jsonlines, "_decode_each", no_slow_path)
    monkeypatch.setattr(jsonlines, "_split_arrays", no_slow_path)
    lines = ['{"a": 1, "b": {"c": [1, {"d": 2}]}}', '[{"a": 2}, {"b": {"c": {"e": 1}}}]', ""]
    decoded = decode_json_objects(lines_frame(lines), DTYPE, arrays=True)
    assert decoded.values["a"].to_list() == ["1", "2", None]
    assert reasons(decoded.malformed) == [(3, "empty line")]


def test_two_value_form_keeps_line_numbers_with_the_fields() -> None:
    records, malformed = decode_json_lines(lines_frame(['{"a": "x"}', "oops", '{"a": "y"}']), DTYPE)
    assert records.columns == ["line_no", "a", "b"]
    assert records["line_no"].to_list() == [1, 3]
    assert malformed["line_no"].to_list() == [2]
