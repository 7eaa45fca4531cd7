"""Request and response JSON schemas per endpoint, merged across samples and runs (genson).

Bodies arrive as stored: secret and sensitive-looking values are already masked, which
changes values but not structure, so the inferred schema is the API's real shape.
"""

from __future__ import annotations

from typing import Any

import orjson
import polars as pl
from genson import SchemaBuilder

KEYS = ["host", "method", "path"]


def merge_body_schemas(samples: pl.DataFrame, previous: pl.DataFrame) -> pl.DataFrame:
    """``request_schema`` and ``response_schema`` (JSON text) per endpoint.

    Starts from the schemas stored for each endpoint by earlier runs and adds this run's
    sampled bodies; a body that is not valid JSON (cut at the size cap, or not JSON
    despite its content type) is skipped.
    """
    builders: dict[tuple[str, str, str], dict[str, SchemaBuilder]] = {}

    def builder(key: tuple[str, str, str], side: str) -> SchemaBuilder:
        per = builders.setdefault(key, {})
        if side not in per:
            per[side] = SchemaBuilder(schema_uri=None)
        return per[side]

    if previous.height:
        for row in previous.select(*KEYS, "request_schema", "response_schema").iter_rows(named=True):
            key = (row["host"], row["method"], row["path"])
            for side in ("request_schema", "response_schema"):
                if row[side]:
                    builder(key, side).add_schema(orjson.loads(row[side]))
    if samples.height:
        for row in samples.iter_rows(named=True):
            key = (row["host"], row["method"], row["path"])
            for side, body, ctype in (
                ("request_schema", row["request_body"], row["request_content_type"]),
                ("response_schema", row["response_body"], row["response_content_type"]),
            ):
                value = _json(body, ctype)
                if value is not None:
                    builder(key, side).add_object(value)
    rows = [
        {
            "host": k[0],
            "method": k[1],
            "path": k[2],
            "request_schema": _dump(per.get("request_schema")),
            "response_schema": _dump(per.get("response_schema")),
        }
        for k, per in builders.items()
    ]
    schema = {**{k: pl.String for k in KEYS}, "request_schema": pl.String, "response_schema": pl.String}
    return pl.DataFrame(rows, schema=schema)


def _json(body: str | None, content_type: str | None) -> Any:
    if not body or not content_type or "json" not in content_type.lower():
        return None
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict | list) else None


def _dump(b: SchemaBuilder | None) -> str | None:
    if b is None:
        return None
    schema = b.to_schema()
    schema.pop("$schema", None)
    return orjson.dumps(schema, option=orjson.OPT_SORT_KEYS).decode()
