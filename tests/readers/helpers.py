"""Small helpers shared by the reader tests."""

import polars as pl
from hypothesis import strategies as st

#: Arbitrary text lines for parser property tests (no lone surrogates: not encodable).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)


@st.composite
def mutated(draw: st.DrawFn, samples: list[str]) -> str:
    """A real line truncated, or with a few characters inserted or overwritten."""
    line = draw(st.sampled_from(samples))
    cut = draw(st.integers(0, len(line)))
    noise = draw(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=3))
    kind = draw(st.sampled_from(["truncate", "insert", "replace"]))
    if kind == "truncate":
        return line[:cut]
    if kind == "insert":
        return line[:cut] + noise + line[cut:]
    return line[:cut] + noise + line[cut + len(noise) :]


def lines_frame(lines: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"line_no": list(range(1, len(lines) + 1)), "line": lines},
                        schema={"line_no": pl.Int64, "line": pl.String})


def one(records: pl.DataFrame) -> dict:
    assert records.height == 1, records
    return records.to_dicts()[0]
