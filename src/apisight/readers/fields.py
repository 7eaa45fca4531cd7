"""Field conversions shared by readers: raw log text to canonical column values.

Each function maps one column of log text to one canonical value, vectorised: a
timestamp in any common shape, a duration with or without a unit, a peer address
without its port, the ``-``/empty conventions for "absent", and header maps as the flat
``{lower-case name: "string"}`` JSON the normaliser reads. Unparseable values become
null; the reader decides whether that rejects the record.
"""

from __future__ import annotations

import orjson
import polars as pl

from apisight.events import TIMESTAMP

_DURATION = r"^\s*(?P<n>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(?P<unit>ns|us|µs|μs|ms|s)?\s*$"
_UNIT_MS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "μs": 1e-3, "ms": 1.0, "s": 1000.0}
_NAME = r'"(?:[^"\\A-Z]|\\.)*"'
_TEXT = r'"(?:[^"\\]|\\.)*"'
#: A header map already flat: lower-case names, string values; compact or as Polars
#: writes JSON (``{"a": "b", "c": "d"}``). Anything else is rewritten in Python.
_FLAT_HEADERS = rf"^\{{(?:{_NAME}: ?{_TEXT}(?:, ?{_NAME}: ?{_TEXT})*)?\}}$"


def parse_timestamp(value: pl.Expr) -> pl.Expr:
    """A UTC timestamp from ISO 8601 (any offset, optional fraction, ``T`` or space),
    nginx ``10/Oct/2000:13:55:36 -0700``, RFC 1123, or epoch s / ms / µs / ns numbers.
    Unparseable values become null."""
    s = value.cast(pl.String).str.strip_chars()
    iso = s.str.replace(r"^(\d{4}-\d\d-\d\d) (\d)", "${1}T${2}")
    number = s.cast(pl.Float64, strict=False)
    epoch_us = (
        pl.when(number >= 1e17)
        .then(number / 1000)
        .when(number >= 1e14)
        .then(number)
        .when(number >= 1e11)
        .then(number * 1000)
        .otherwise(number * 1e6)
    )
    from_epoch = pl.from_epoch(epoch_us.cast(pl.Int64, strict=False), "us").dt.replace_time_zone("UTC")
    parsed = pl.coalesce(
        iso.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%#z", time_unit="us", time_zone="UTC", strict=False),
        iso.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", time_unit="us", time_zone="UTC", strict=False),
        s.str.to_datetime("%d/%b/%Y:%H:%M:%S %z", time_unit="us", time_zone="UTC", strict=False),
        s.str.to_datetime("%a, %d %b %Y %H:%M:%S GMT", time_unit="us", time_zone="UTC", strict=False),
    )
    is_number = s.str.contains(r"^\d+(?:\.\d+)?$")
    return pl.when(is_number).then(from_epoch).otherwise(parsed).cast(TIMESTAMP)


def epoch_ms(value: pl.Expr) -> pl.Expr:
    """A UTC timestamp from epoch milliseconds (number or numeric text); others null."""
    ms = value.cast(pl.Float64, strict=False)
    ok = ms.is_between(0, 1e14)  # up to year 5138: anything else is not a timestamp
    us = pl.when(ok).then((ms * 1000).round(0)).cast(pl.Int64)
    return pl.from_epoch(us, "us").dt.replace_time_zone("UTC").cast(TIMESTAMP)


def duration_ms(value: pl.Expr, default_unit: str = "ms") -> pl.Expr:
    """Milliseconds from a number (in ``default_unit``) or a string such as ``"12ms"``/``"0.5s"``."""
    parts = value.cast(pl.String).str.extract_groups(_DURATION)
    number = parts.struct.field("n").cast(pl.Float64, strict=False)
    unit = parts.struct.field("unit").fill_null(default_unit)
    factor = unit.replace_strict(_UNIT_MS, default=None, return_dtype=pl.Float64)
    return number * factor


def peer_address(value: pl.Expr) -> pl.Expr:
    """An IP without its port: ``1.2.3.4:5`` -> ``1.2.3.4``, ``[::1]:5`` -> ``::1``; ``-`` -> null."""
    s = value.cast(pl.String).str.strip_chars()
    s = s.str.replace(r"^\[([^\]]*)\](?::\d+)?$", "${1}").str.replace(
        r"^(\d{1,3}(?:\.\d{1,3}){3}):\d+$", "${1}"
    )
    return null_dash(s)


def null_dash(value: pl.Expr) -> pl.Expr:
    """``value`` with the log conventions for "absent" (``-``, empty) turned into null."""
    return pl.when(value.is_in(["-", ""])).then(None).otherwise(value)


def flat_headers(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """``frame`` with the JSON header maps in ``columns`` as compact ``{lower-case name: "string"}``.

    Values that are not JSON objects become null. Most maps already are flat, compact or
    as Polars writes JSON (``{"a": "b"}``): those only lose the spaces, which is safe
    because a quote inside a string is always escaped. The rare ones with repeated
    headers (arrays), non-string values or upper-case names are rewritten one by one, so
    the normaliser's key lookups and secret stripping always see flat string values.
    """
    if not columns:
        return frame
    # One select for all columns, so Polars works on them in parallel.
    checked = frame.select(
        *[pl.col(c).str.contains(_FLAT_HEADERS).fill_null(True).alias(f"{c}.flat") for c in columns],
        *[
            pl.col(c)
            .str.replace_all('": "', '":"', literal=True)
            .str.replace_all('", "', '","', literal=True)
            for c in columns
        ],
    )
    out = []
    for c in columns:
        flat = checked[f"{c}.flat"]
        if flat.all():
            out.append(checked[c])
            continue
        headers = frame[c]
        odd = headers.filter(~flat & headers.str.starts_with("{")).unique()
        fixed = headers.replace_strict(
            {value: _flatten_headers(value) for value in odd}, default=None, return_dtype=pl.String
        )
        out.append(pl.select(pl.when(flat).then(checked[c]).otherwise(fixed)).to_series().alias(c))
    return frame.with_columns(out)


def header_values(headers: pl.Expr, names: list[str]) -> pl.Expr:
    """A struct of the ``names`` headers' values, from flat header JSON
    (:func:`flat_headers`); absent headers are null."""
    return headers.str.json_decode(pl.Struct({name: pl.String for name in names}))


def _flatten_headers(text: str) -> str | None:
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    flat: dict[str, str] = {}
    for name, value in obj.items():
        if value is None:
            continue
        if isinstance(value, list):
            value = ", ".join(v if isinstance(v, str) else orjson.dumps(v).decode() for v in value)
        elif not isinstance(value, str):
            value = orjson.dumps(value).decode()
        key = str(name).lower()
        flat[key] = f"{flat[key]}, {value}" if key in flat else value
    return orjson.dumps(flat).decode()
