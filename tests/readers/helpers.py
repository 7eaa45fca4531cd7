"""Small helpers shared by the reader tests."""

import polars as pl


def lines_frame(lines: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"line_no": list(range(1, len(lines) + 1)), "line": lines},
                        schema={"line_no": pl.Int64, "line": pl.String})


def one(records: pl.DataFrame) -> dict:
    assert records.height == 1, records
    return records.to_dicts()[0]
