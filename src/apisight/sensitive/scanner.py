"""The scanner: one Hyperscan pass over a batch of texts, validation of candidates only.

All recognizer patterns are compiled once into one Hyperscan database. A batch of
texts (a Polars String column of bodies, query strings or header maps) is joined with
newlines into one buffer and scanned with a single call; match offsets are mapped
back to rows with a binary search over the row starts (measured faster than one
``scan`` per text: see ``bench/`` and the module's tests). Then, in Python and only
for candidates:

1. value patterns: the longest match at each start is validated first, a shorter one
   only if it fails (a grouped IBAN may end at any group);
2. field patterns: Hyperscan found a hinting field name; the value right after it is
   read (quoted, unquoted or XML text) and must fully match the pattern's regex;
3. validators confirm and normalise; a field name just before a value (``"pan":``,
   ``card_number=``, ``<iban>``) raises confidence and is the evidence some rules need;
4. overlapping findings in one text keep the most confident one;
5. field paths are resolved only for texts with findings.

Findings never hold a value: ``masked`` is a preview, ``fingerprint`` the keyed HMAC
of the normalised value (empty for masked PANs, which are not values).
``start``/``end`` are byte offsets into the row's text as UTF-8.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import hyperscan
import numpy as np
import polars as pl

from apisight.errors import ConfigError
from apisight.fingerprints import Fingerprinter
from apisight.sensitive import masking, validators
from apisight.sensitive.catalog import Catalog, PatternSpec, Recognizer, load_catalog
from apisight.sensitive.fieldpath import field_paths, key_before, sniff_format
from apisight.sensitive.validators import Context, Verdict

#: The findings frame.
FINDINGS_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.Int64(),
    "type": pl.String(),
    "field": pl.String(),
    "start": pl.Int64(),
    "end": pl.Int64(),
    "confidence": pl.Float64(),
    "validated": pl.Boolean(),
    "exposure": pl.String(),  # clear | masked
    "masked": pl.String(),
    "fingerprint": pl.String(),
    "severity": pl.String(),
    "pattern": pl.String(),  # recognizer.pattern that matched
    "reason": pl.String(),  # why it was accepted: checksum, hint, …
}

HINT_BONUS = 0.3
_SEP = b"\n"
#: A field name just before a value: JSON/YAML/form key or an XML element.
_QUOTED = {0x22: re.compile(rb'"((?:[^"\\\n]|\\.){0,512})"'), 0x27: re.compile(rb"'([^'\n]{0,512})'")}
_UNQUOTED = re.compile(rb"""[^\s&,;}\]<"']{1,512}""")
_XML_TEXT = re.compile(rb"[^<\n]{1,512}")
_DOTTED = re.compile(rb"\.\d")


@dataclass(frozen=True, slots=True)
class _Expr:
    """One Hyperscan expression: a value pattern, or a recognizer's field-name finder."""

    order: int  # the recognizer's position in the catalogue
    rec: Recognizer
    pattern: PatternSpec | None  # None: a field-name expression
    validate: Callable[[str, Context], Verdict] | None
    context: tuple[tuple[PatternSpec, re.Pattern[str], Callable[[str, Context], Verdict] | None], ...] = ()
    back: re.Pattern[bytes] | None = None  # finds the start from the end when Hyperscan gives none
    width: int = 0  # how far back the start can be


@dataclass(slots=True)
class _Finding:
    row: int
    order: int
    rec: Recognizer
    pattern: str
    start: int  # absolute offset in the buffer
    end: int
    confidence: float
    verdict: Verdict
    value: str


class Scanner:
    """Finds, validates, locates, masks and fingerprints sensitive values in batches of texts."""

    def __init__(
        self,
        fingerprint: Fingerprinter,
        catalog: Catalog | None = None,
        *,
        default_region: str = "GB",
        min_confidence: float = 0.5,
    ) -> None:
        self.catalog = catalog or load_catalog()
        self._fingerprint = fingerprint
        self._context_default = Context(hinted=False, default_region=default_region)
        self._context_hinted = Context(hinted=True, default_region=default_region)
        self.min_confidence = min_confidence
        self._exprs: list[_Expr] = []
        expressions: list[bytes] = []
        flags: list[int] = []
        som = hyperscan.HS_FLAG_SOM_LEFTMOST
        for order, rec in enumerate(self.catalog.recognizers):
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
                    self._exprs.append(_Expr(order, rec, pattern, check, back=back, width=width))
                    flags.append(caseless)
                else:
                    self._exprs.append(_Expr(order, rec, pattern, check))
                    flags.append(som | caseless)
                expressions.append(pattern.regex.encode())
            if context:
                # field names: only the end matters (the value starts there), so no SOM
                self._exprs.append(_Expr(order, rec, None, None, tuple(context)))
                expressions.append(rec.key_expression().encode())
                flags.append(hyperscan.HS_FLAG_CASELESS)
        self._needs_start = np.array(
            [e.back is not None or e.pattern is None for e in self._exprs], dtype=bool
        )
        self._cache: dict[tuple[object, str, bool], Verdict] = {}
        self._hints: dict[tuple[int, str], bool] = {}
        self._previews: dict[tuple[str, str, str], tuple[str, str | None]] = {}
        self._db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        try:
            self._db.compile(expressions=expressions, ids=list(range(len(expressions))), flags=flags)
        except hyperscan.error as e:
            raise ConfigError(
                f"recognizer patterns do not compile for Hyperscan: {_culprit(self._exprs, expressions, flags)}"
            ) from e

    # --- stage 1: candidates ------------------------------------------------------------

    def _buffer(self, texts: pl.Series) -> tuple[bytes, np.ndarray, np.ndarray]:
        s = texts.cast(pl.String).fill_null("")
        lengths = s.str.len_bytes().cast(pl.Int64).to_numpy()
        starts = np.zeros(len(lengths), dtype=np.int64)
        if len(lengths) > 1:
            np.cumsum(lengths[:-1] + len(_SEP), out=starts[1:])
        buf = s.str.join(_SEP.decode()).item().encode("utf-8") if len(s) else b""
        return buf, starts, starts + lengths

    def candidates(self, buf: bytes) -> np.ndarray:
        """Raw Hyperscan matches over ``buf`` as an (n, 3) array of expression id, start, end."""
        hits: list[tuple[int, int, int]] = []
        append = hits.append

        def on_match(expr_id: int, start: int, end: int, flags: int, context: object) -> None:
            append((expr_id, start, end))

        if buf:
            self._db.scan(buf, match_event_handler=on_match)
        return np.array(hits, dtype=np.int64).reshape(-1, 3)

    # --- the whole pass -------------------------------------------------------------------

    def scan(
        self,
        texts: pl.Series | Sequence[str | None],
        *,
        content_types: pl.Series | Sequence[str | None] | None = None,
        fmt: str | None = None,
    ) -> pl.DataFrame:
        """Findings in ``texts`` as a frame with :data:`FINDINGS_SCHEMA`; ``row`` indexes ``texts``.

        ``fmt`` (``json``, ``form``, ``xml``, ``text``) says how to locate field paths for
        every text; otherwise each text's content type, else a sniff of the text, decides.
        """
        series = texts if isinstance(texts, pl.Series) else pl.Series(list(texts), dtype=pl.String)
        buf, row_starts, row_ends = self._buffer(series)
        hits = self.candidates(buf)
        if not len(hits):
            return pl.DataFrame(schema=FINDINGS_SCHEMA)
        # rows from the end offset (expressions without SOM report no start); a match that
        # starts in an earlier row crossed the separator and is dropped
        rows = np.searchsorted(row_starts, hits[:, 2] - 1, side="right") - 1
        inside = (hits[:, 1] >= row_starts[rows]) | self._needs_start[hits[:, 0]]
        hits, rows = hits[inside], rows[inside]
        hits, rows = self._recover_starts(buf, hits, rows, row_starts)
        # longest first within (row, expression, start): sort by row, id, start, -end
        order = np.lexsort((-hits[:, 2], hits[:, 1], hits[:, 0], rows))
        hits, rows = hits[order], rows[order]
        findings = self._validate(buf, hits, rows, row_starts, row_ends)
        findings = _resolve_overlaps(findings, self.min_confidence)
        return self._frame(buf, findings, row_starts, row_ends, content_types, fmt)

    def _recover_starts(
        self, buf: bytes, hits: np.ndarray, rows: np.ndarray, row_starts: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Starts for expressions scanned without SOM; a field expression's start is its value's."""
        todo = np.flatnonzero(self._needs_start[hits[:, 0]])
        if not len(todo):
            return hits, rows
        keep = np.ones(len(hits), dtype=bool)
        exprs = self._exprs
        for i, (expr_id, _, end) in zip(todo.tolist(), hits[todo].tolist()):
            expr = exprs[expr_id]
            if expr.back is None:  # a field name: the value starts after blanks
                while end < len(buf) and buf[end] in (0x20, 0x09):
                    end += 1
                hits[i, 1] = end
                continue
            m = expr.back.search(buf, max(int(row_starts[rows[i]]), end - expr.width), end)
            if m is None:
                keep[i] = False
            else:
                hits[i, 1] = m.start()
        return hits[keep], rows[keep]

    # --- stage 2: validation ---------------------------------------------------------------

    def _validate(
        self, buf: bytes, hits: np.ndarray, rows: np.ndarray, row_starts: np.ndarray, row_ends: np.ndarray
    ) -> list[_Finding]:
        out: list[_Finding] = []
        exprs = self._exprs
        done: tuple[int, int, int] | None = None  # (row, id, start) already accepted
        for (expr_id, start, end), row in zip(hits.tolist(), rows.tolist()):
            key = (row, expr_id, start)
            if key == done:
                continue
            expr = exprs[expr_id]
            if expr.pattern is None:
                found = self._field_value(buf, expr, start, row, int(row_starts[row]), int(row_ends[row]))
                if found is not None:
                    out.append(found)
                    done = key
                continue
            if _DOTTED.match(buf, end) or (
                start >= 2 and buf[start - 1] == 0x2E and 0x30 <= buf[start - 2] <= 0x39
            ):
                continue  # part of a longer dotted number (version, OID, amount)
            value = buf[start:end].decode("utf-8", "replace")
            rec = expr.rec
            hinted = bool(rec.field_hints) and self._hinted(
                expr, key_before(buf, start, int(row_starts[row]))
            )
            verdict = self._verdict(expr_id, expr.validate, value, hinted)
            if not verdict.ok:
                continue
            out.append(
                _Finding(
                    row,
                    expr.order,
                    rec,
                    expr.pattern.name,
                    start,
                    end,
                    _confidence(expr.pattern.score, verdict, hinted),
                    verdict,
                    value,
                )
            )
            done = key
        return out

    def _hinted(self, expr: _Expr, key: str | None) -> bool:
        if key is None:
            return False
        found = self._hints.get((expr.order, key))
        if found is None:
            found = self._hints[(expr.order, key)] = expr.rec.hinted_by(key)
        return found

    def _verdict(
        self, which: object, check: Callable[[str, Context], Verdict] | None, value: str, hinted: bool
    ) -> Verdict:
        """Validation, memoised per batch-independent (pattern, value, hint): values repeat a lot
        in traffic (the same customer's card, IBAN, e-mail). The memo lives in memory only."""
        key = (which, value, hinted)
        verdict = self._cache.get(key)
        if verdict is None:
            ctx = self._context_hinted if hinted else self._context_default
            verdict = check(value, ctx) if check else Verdict(True, normalized=value)
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = verdict
        return verdict

    def _preview(self, f: _Finding) -> tuple[str, str | None]:
        key = (f.rec.name, f.value, f.verdict.normalized)
        out = self._previews.get(key)
        if out is None:
            norm = f.verdict.normalized
            out = (masking.MASKS[f.rec.mask](f.value, norm), self._fingerprint(norm) if norm else None)
            if len(self._previews) >= _CACHE_SIZE:
                self._previews.clear()
            self._previews[key] = out
        return out

    def _field_value(
        self, buf: bytes, expr: _Expr, end: int, row: int, row_start: int, row_end: int
    ) -> _Finding | None:
        name = key_before(buf, end, row_start)
        if name is None or not self._hinted(expr, name):
            return None
        lead = buf[end] if end < row_end else None
        if lead in _QUOTED:
            m = _QUOTED[lead].match(buf, end, row_end)
        elif buf[end - 1] == 0x3E:  # <element>
            m = _XML_TEXT.match(buf, end, row_end)
        else:
            m = _UNQUOTED.match(buf, end, row_end)
        if m is None:
            return None
        v_start, v_end = m.span(m.lastindex or 0)
        value = buf[v_start:v_end].decode("utf-8", "replace").strip()
        for k, (pattern, regex, check) in enumerate(expr.context):
            if not regex.fullmatch(value):
                continue
            verdict = self._verdict((expr.order, k), check, value, True)
            if verdict.ok:
                return _Finding(
                    row,
                    expr.order,
                    expr.rec,
                    pattern.name,
                    v_start,
                    v_end,
                    _confidence(pattern.score, verdict, True),
                    verdict,
                    value,
                )
        return None

    # --- stage 3: the frame ------------------------------------------------------------------

    def _frame(
        self,
        buf: bytes,
        findings: list[_Finding],
        row_starts: np.ndarray,
        row_ends: np.ndarray,
        content_types: pl.Series | Sequence[str | None] | None,
        fmt: str | None,
    ) -> pl.DataFrame:
        if not findings:
            return pl.DataFrame(schema=FINDINGS_SCHEMA)
        # already in (row, start) order: see _resolve_overlaps
        ctypes = content_types.to_list() if isinstance(content_types, pl.Series) else content_types
        fields: list[str] = []
        i = 0
        while i < len(findings):
            row = findings[i].row
            j = i
            while j < len(findings) and findings[j].row == row:
                j += 1
            base = int(row_starts[row])
            text = buf[base : int(row_ends[row])]
            kind = fmt or sniff_format(text, ctypes[row] if ctypes is not None else None)
            fields.extend(field_paths(text, [f.start - base for f in findings[i:j]], kind))
            i = j
        previews = [self._preview(f) for f in findings]
        columns = {
            "row": [f.row for f in findings],
            "type": [f.rec.name for f in findings],
            "field": fields,
            "start": [f.start - int(row_starts[f.row]) for f in findings],
            "end": [f.end - int(row_starts[f.row]) for f in findings],
            "confidence": [round(f.confidence, 3) for f in findings],
            "validated": [f.verdict.checksum or f.rec.validator is not None for f in findings],
            "exposure": [f.verdict.exposure for f in findings],
            "masked": [p[0] for p in previews],
            "fingerprint": [p[1] for p in previews],
            "severity": [f.rec.severity for f in findings],
            "pattern": [f"{f.rec.name}.{f.pattern}" for f in findings],
            "reason": [f.verdict.reason for f in findings],
        }
        return pl.DataFrame(columns, schema=FINDINGS_SCHEMA)


def _culprit(exprs: list[_Expr], expressions: list[bytes], flags: list[int]) -> str:
    """Name the pattern Hyperscan refuses (compiling alone), for an error that names the entry."""
    for expr, expression, flag in zip(exprs, expressions, flags):
        try:
            hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK).compile(expressions=[expression], flags=[flag])
        except hyperscan.error as e:
            which = f"{expr.rec.name}.{expr.pattern.name}" if expr.pattern else f"{expr.rec.name} field_hints"
            return f"{which}: {e}"
    return "the combined database is too large"


_CACHE_SIZE = 1 << 16


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


def _confidence(score: float, verdict: Verdict, hinted: bool) -> float:
    if verdict.checksum:
        return 1.0
    return min(0.99, score + (HINT_BONUS if hinted else 0.0))


def _resolve_overlaps(findings: list[_Finding], min_confidence: float) -> list[_Finding]:
    """Per text, overlapping findings keep the most confident (then earlier-declared, longer) one.

    Returned in (row, start) order. Offsets are absolute in the joined buffer, so rows occupy
    increasing, disjoint ranges: one running maximum of ends over the (row, start)-sorted
    findings flags every overlap at once, and only the rows that have one are ranked.
    """
    kept = [f for f in findings if f.confidence >= min_confidence]
    if len(kept) < 2:
        return kept
    kept.sort(key=_by_start)
    starts = np.fromiter((f.start for f in kept), dtype=np.int64, count=len(kept))
    ends = np.fromiter((f.end for f in kept), dtype=np.int64, count=len(kept))
    reach = np.maximum.accumulate(ends)
    clash = np.flatnonzero(starts[1:] < reach[:-1]) + 1
    if not len(clash):
        return kept
    bad = {kept[i].row for i in clash.tolist()}
    out = [f for f in kept if f.row not in bad]
    out.extend(_greedy([f for f in kept if f.row in bad]))
    out.sort(key=_by_start)
    return out


_by_start = operator.attrgetter("row", "start")


def _greedy(findings: list[_Finding]) -> list[_Finding]:
    ranked = sorted(findings, key=lambda f: (-f.confidence, f.order, f.start - f.end))
    taken: dict[int, list[tuple[int, int]]] = {}
    kept = []
    for f in ranked:
        spans = taken.setdefault(f.row, [])
        if any(f.start < e and s < f.end for s, e in spans):
            continue
        spans.append((f.start, f.end))
        kept.append(f)
    return kept
