"""The scanner's first stage: the catalogue as one Hyperscan database, and raw candidates.

Every recognizer pattern that can be found on its own is compiled into one database;
a recognizer whose patterns need context adds one expression that finds its field
names instead. A batch of texts is joined with newlines into one buffer and scanned
with a single call; match offsets are mapped back to rows with a binary search over the
row starts. Candidates stay columns (NumPy arrays of expression, start, end, row): the
separator, dotted-number and start-of-value checks run on whole arrays.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import hyperscan
import numpy as np
import polars as pl

from apisight.errors import ConfigError
from apisight.sensitive import validators
from apisight.sensitive.catalog import Catalog, PatternSpec, Recognizer
from apisight.sensitive.hsdb import block_database
from apisight.sensitive.validators import Context, Verdict

_SEP = b"\n"
_BLANK_BYTES = np.array([0x20, 0x09], dtype=np.uint8)
#: The value after a field name: JSON/YAML/form key or an XML element.
_QUOTED = {0x22: re.compile(rb'"((?:[^"\\\n]|\\.){0,512})"'), 0x27: re.compile(rb"'([^'\n]{0,512})'")}
#: ``_QUOTED[0x22]`` unrolled and unbounded: the same match whenever the value is at most
#: 512 bytes (then it is at most 512 characters or escapes), at a fraction of the cost
_DOUBLE_QUOTED = re.compile(rb'"([^"\\\n]*(?:\\.[^"\\\n]*)*)"')
_UNQUOTED = re.compile(rb"""[^\s&,;}\]<"']{1,512}""")
_XML_TEXT = re.compile(rb"[^<\n]{1,512}")


@dataclass(frozen=True, slots=True)
class Expr:
    """One Hyperscan expression: a value pattern, or a recognizer's field-name finder."""

    order: int  # the recognizer's position in the catalogue
    rec: Recognizer
    pattern: PatternSpec | None  # None: a field-name expression
    validate: Callable[[str, Context], Verdict] | None
    context: tuple[tuple[PatternSpec, re.Pattern[str], Callable[[str, Context], Verdict] | None], ...] = ()
    back: re.Pattern[bytes] | None = None  # finds the start from the end when Hyperscan gives none
    width: int = 0  # how far back the start can be


class CandidateFinder:
    """A catalogue compiled into one Hyperscan database; finds raw candidates in a buffer.

    ``exprs[i]`` is the expression Hyperscan reports as id ``i``; the boolean arrays say,
    per id, whether its start must be found in Python (``needs_start``), whether it is a
    value pattern rather than a field-name finder (``value_expr``), and whether it is a
    value pattern of a recognizer with field hints (``hinted_expr``).
    """

    def __init__(self, catalog: Catalog) -> None:
        self.exprs: list[Expr] = []
        expressions: list[bytes] = []
        flags: list[int] = []
        som = hyperscan.HS_FLAG_SOM_LEFTMOST
        for order, rec in enumerate(catalog.recognizers):
            context = []
            for pattern in rec.patterns:
                check = validators.VALIDATORS[v] if (v := rec.validator_for(pattern)) else None
                if rec.needs_context(pattern):
                    context.append((pattern, re.compile(pattern.regex, re.DOTALL), check))
                    continue
                caseless = hyperscan.HS_FLAG_CASELESS if pattern.caseless else 0
                if _leading_repeat(pattern.regex):
                    # Hyperscan's start-of-match tracking costs 5-30x scan speed on patterns that
                    # open with a variable-width class (e-mail local parts): find the start in
                    # Python from the end instead, only for candidates.
                    back = re.compile(
                        b"(?:" + pattern.regex.encode() + rb")\Z", re.IGNORECASE if caseless else 0
                    )
                    width = min(_max_width(pattern.regex), 512)
                    self.exprs.append(Expr(order, rec, pattern, check, back=back, width=width))
                    flags.append(caseless)
                else:
                    self.exprs.append(Expr(order, rec, pattern, check))
                    flags.append(som | caseless)
                expressions.append(pattern.regex.encode())
            if context:
                # field names: only the end matters (the value starts there), so no SOM
                self.exprs.append(Expr(order, rec, None, None, tuple(context)))
                expressions.append(rec.key_expression().encode())
                flags.append(hyperscan.HS_FLAG_CASELESS)
        self.needs_start = np.array([e.back is not None or e.pattern is None for e in self.exprs], dtype=bool)
        self.value_expr = np.array([e.pattern is not None for e in self.exprs], dtype=bool)
        self.hinted_expr = np.array([e.pattern is not None and bool(e.rec.field_hints) for e in self.exprs])
        try:
            self._db = block_database(expressions, flags)
        except hyperscan.error as e:
            raise ConfigError(
                f"recognizer patterns do not compile for Hyperscan: {_culprit(self.exprs, expressions, flags)}"
            ) from e

    def matches(self, buf: bytes) -> np.ndarray:
        """Raw Hyperscan matches over ``buf`` as an (n, 3) array of expression id, start, end."""
        hits: list[int] = []  # flat: one list of ints converts to NumPy faster than one of tuples
        extend = hits.extend

        def on_match(expr_id: int, start: int, end: int, flags: int, context: object) -> None:
            extend((expr_id, start, end))

        if buf:
            self._db.scan(buf, match_event_handler=on_match)
        return np.array(hits, dtype=np.int64).reshape(-1, 3)

    def candidates(
        self, buf: bytes, hits: np.ndarray, row_starts: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``hits`` (from :meth:`matches`) that stay candidates, with their starts found, and
        their rows; in (row, expression, start, -end) order, so the longest comes first."""
        # rows from the end offset (expressions without SOM report no start); a match that
        # starts in an earlier row crossed the separator and is dropped
        rows = np.searchsorted(row_starts, hits[:, 2] - 1, side="right") - 1
        inside = (hits[:, 1] >= row_starts[rows]) | self.needs_start[hits[:, 0]]
        hits, rows = hits[inside], rows[inside]
        hits, rows = self._recover_starts(buf, hits, rows, row_starts)
        clean = ~self._dotted(buf, hits)
        hits, rows = hits[clean], rows[clean]
        # longest first within (row, expression, start): sort by row, id, start, -end
        order = np.lexsort((-hits[:, 2], hits[:, 1], hits[:, 0], rows))
        return hits[order], rows[order]

    def _recover_starts(
        self, buf: bytes, hits: np.ndarray, rows: np.ndarray, row_starts: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Starts for expressions scanned without SOM; a field expression's start is its value's."""
        needs = self.needs_start[hits[:, 0]]
        if not needs.any():
            return hits, rows
        exprs = self.exprs
        # a field name: the value starts after blanks (few have any: step them all at once)
        field_hits = np.flatnonzero(needs & ~self.value_expr[hits[:, 0]])
        pos = hits[field_hits, 2].copy()
        data = np.frombuffer(buf, dtype=np.uint8)
        todo = np.arange(len(field_hits))
        while len(todo):
            p = pos[todo]
            todo = todo[p < len(buf)]
            blank = np.isin(data[pos[todo]], _BLANK_BYTES)
            todo = todo[blank]
            pos[todo] += 1
        hits[field_hits, 1] = pos
        keep = np.ones(len(hits), dtype=bool)
        back = np.flatnonzero(needs & self.value_expr[hits[:, 0]])
        for i, expr_id, end, row_start in zip(
            back.tolist(), hits[back, 0].tolist(), hits[back, 2].tolist(), row_starts[rows[back]].tolist()
        ):
            expr = exprs[expr_id]
            m = expr.back.search(buf, max(row_start, end - expr.width), end)  # type: ignore[union-attr]
            if m is None:
                keep[i] = False
            else:
                hits[i, 1] = m.start()
        return hits[keep], rows[keep]

    def _dotted(self, buf: bytes, hits: np.ndarray) -> np.ndarray:
        """Value matches that are part of a longer dotted number (version, OID, amount)."""
        data = np.frombuffer(buf, dtype=np.uint8)
        starts, ends = hits[:, 1], hits[:, 2]
        after = (_byte_at(data, ends) == 0x2E) & _is_digit(_byte_at(data, ends + 1))
        before = (_byte_at(data, starts - 1) == 0x2E) & _is_digit(_byte_at(data, starts - 2))
        return self.value_expr[hits[:, 0]] & (after | before)


def join_texts(texts: pl.Series) -> tuple[bytes, np.ndarray, np.ndarray]:
    """``texts`` joined with newlines as one buffer, with each row's start and end offset in it."""
    s = texts.cast(pl.String).fill_null("")
    lengths = s.str.len_bytes().cast(pl.Int64).to_numpy()
    starts = np.zeros(len(lengths), dtype=np.int64)
    if len(lengths) > 1:
        np.cumsum(lengths[:-1] + len(_SEP), out=starts[1:])
    # joined and handed over as bytes by Polars: no Python str of the whole batch
    buf = s.str.join(_SEP.decode()).cast(pl.Binary).item() if len(s) else b""
    return buf, starts, starts + lengths


def field_value(buf: bytes, end: int, row_end: int) -> tuple[int, int] | None:
    """The span of the value right after a field name ending at ``end``: quoted, XML text or bare."""
    lead = buf[end] if end < row_end else None
    if lead == 0x22:
        m = _DOUBLE_QUOTED.match(buf, end, row_end)
        if m is not None and m.end() - m.start() > 514:  # may hold over 512 characters
            m = _QUOTED[lead].match(buf, end, row_end)
    elif lead in _QUOTED:
        m = _QUOTED[lead].match(buf, end, row_end)
    elif buf[end - 1] == 0x3E:  # <element>
        m = _XML_TEXT.match(buf, end, row_end)
    else:
        m = _UNQUOTED.match(buf, end, row_end)
    if m is None:
        return None
    return m.span(m.lastindex or 0)


def _byte_at(data: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``data[at]``, 0 where ``at`` falls outside."""
    inside = (at >= 0) & (at < len(data))
    out = np.zeros(len(at), dtype=np.uint8)
    out[inside] = data[at[inside]]
    return out


def _is_digit(b: np.ndarray) -> np.ndarray:
    return (b >= 0x30) & (b <= 0x39)


def _culprit(exprs: list[Expr], expressions: list[bytes], flags: list[int]) -> str:
    """Name the pattern Hyperscan refuses (compiling alone), for an error that names the entry."""
    for expr, expression, flag in zip(exprs, expressions, flags):
        try:
            hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK).compile(expressions=[expression], flags=[flag])
        except hyperscan.error as e:
            which = f"{expr.rec.name}.{expr.pattern.name}" if expr.pattern else f"{expr.rec.name} field_hints"
            return f"{which}: {e}"
    return "the combined database is too large"


def _leading_repeat(regex: str) -> bool:
    """Whether a pattern opens with a variable-width repeat (where SOM is expensive)."""
    import re._parser as sre_parse

    first = list(sre_parse.parse(regex))[:1]
    if not first:
        return False
    op, arg = first[0]
    if op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT):
        return arg[0] != arg[1]
    if op is sre_parse.SUBPATTERN:
        return _leading_repeat_items(list(arg[-1]))
    if op is sre_parse.BRANCH:
        return any(_leading_repeat_items(list(b)) for b in arg[1])
    return False


def _leading_repeat_items(items: list) -> bool:
    import re._parser as sre_parse

    if not items:
        return False
    op, arg = items[0]
    return op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT) and arg[0] != arg[1]


def _max_width(regex: str) -> int:
    import re._parser as sre_parse

    return int(sre_parse.parse(regex).getwidth()[1])
