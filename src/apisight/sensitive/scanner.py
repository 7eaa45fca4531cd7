"""The scanner: one Hyperscan pass over a batch of texts, validation of distinct candidates only.

All recognizer patterns are compiled once into one Hyperscan database. A batch of
texts (a Polars String column of bodies, query strings or header maps) is joined with
newlines into one buffer and scanned with a single call; match offsets are mapped
back to rows with a binary search over the row starts (measured faster than one
``scan`` per text: see ``bench/`` and the module's tests). Then:

1. candidates stay columns (NumPy arrays of expression, start, end, row); the
   separator, dotted-number and start-of-value checks run on whole arrays;
2. value patterns: the longest match at each start is tried first, a shorter one
   only if it fails (a grouped IBAN may end at any group);
3. field patterns: Hyperscan found a hinting field name; the value right after it is
   read (quoted, unquoted or XML text) and must fully match the pattern's regex;
4. validators confirm and normalise **once per distinct value**: a candidate is keyed
   by (expression, bytes, field hint) and the outcome — verdict, confidence, mask and
   fingerprint — is memoised, since the same card, IBAN or e-mail recurs across
   events. A field name just before a value (``"pan":``, ``card_number=``, ``<iban>``)
   raises confidence and is the evidence some rules need;
5. overlapping findings in one text keep the most confident one: pairs (nearly every
   overlap) are decided on whole arrays, only larger clusters are ranked in Python;
6. field paths are resolved only for texts with findings; the per-value columns are
   built once per distinct outcome and gathered into the frame.

Findings never hold a value: ``masked`` is a preview, ``fingerprint`` the keyed HMAC
of the normalised value (empty for masked PANs, which are not values).
``start``/``end`` are byte offsets into the row's text as UTF-8.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

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
#: ``_QUOTED[0x22]`` unrolled and unbounded: the same match whenever the value is at most
#: 512 bytes (then it is at most 512 characters or escapes), at a fraction of the cost
_DOUBLE_QUOTED = re.compile(rb'"([^"\\\n]*(?:\\.[^"\\\n]*)*)"')
_UNQUOTED = re.compile(rb"""[^\s&,;}\]<"']{1,512}""")
_XML_TEXT = re.compile(rb"[^<\n]{1,512}")


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
class _Outcome:
    """What one distinct candidate came to: every column of its findings but place and path."""

    order: int  # the recognizer's position: breaks ties between overlapping findings
    rec: Recognizer
    pattern: str
    verdict: Verdict
    value: str
    confidence: float
    preview: tuple[str, str | None] | None = None  # (masked, fingerprint), filled for the frame


@dataclass(slots=True)
class _Found:
    """Accepted candidates of one batch, as columns; ``vid`` indexes ``outcomes``."""

    row: np.ndarray
    start: np.ndarray  # absolute offsets in the buffer
    end: np.ndarray
    expr: np.ndarray
    vid: np.ndarray
    outcomes: list[_Outcome]
    names: dict[int, str | None]  # field name before an absolute offset, as key_before gave it


@dataclass(slots=True)
class _Batch:
    """One batch's distinct outcomes (memo key -> index, -1 for rejected) and field names."""

    names: dict[int, str | None]  # field name before an absolute offset, as key_before gave it
    outcomes: list[_Outcome] = field(default_factory=list)
    vids: dict[tuple[object, ...], int] = field(default_factory=dict)

    def add(self, outcome: _Outcome | None) -> int:
        if outcome is None:
            return -1
        self.outcomes.append(outcome)
        return len(self.outcomes) - 1


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
        self._value_expr = np.array([e.pattern is not None for e in self._exprs], dtype=bool)
        self._hinted_expr = np.array([e.pattern is not None and bool(e.rec.field_hints) for e in self._exprs])
        #: (expression, candidate bytes[, hint]) -> outcome, or None when rejected; in memory only
        self._memo: dict[tuple[object, ...], _Outcome | None] = {}
        self._verdicts: dict[tuple[object, str, bool], Verdict] = {}
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
        # joined and handed over as bytes by Polars: no Python str of the whole batch
        buf = s.str.join(_SEP.decode()).cast(pl.Binary).item() if len(s) else b""
        return buf, starts, starts + lengths

    def candidates(self, buf: bytes) -> np.ndarray:
        """Raw Hyperscan matches over ``buf`` as an (n, 3) array of expression id, start, end."""
        hits: list[int] = []  # flat: one list of ints converts to NumPy faster than one of tuples
        extend = hits.extend

        def on_match(expr_id: int, start: int, end: int, flags: int, context: object) -> None:
            extend((expr_id, start, end))

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
        clean = ~self._dotted(buf, hits)
        hits, rows = hits[clean], rows[clean]
        # longest first within (row, expression, start): sort by row, id, start, -end
        order = np.lexsort((-hits[:, 2], hits[:, 1], hits[:, 0], rows))
        found = self._validate(buf, hits[order], rows[order], row_starts, row_ends)
        keep = _resolve_overlaps(found, self.min_confidence)
        return self._frame(buf, found, keep, row_starts, row_ends, content_types, fmt)

    def _recover_starts(
        self, buf: bytes, hits: np.ndarray, rows: np.ndarray, row_starts: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Starts for expressions scanned without SOM; a field expression's start is its value's."""
        needs = self._needs_start[hits[:, 0]]
        if not needs.any():
            return hits, rows
        exprs = self._exprs
        # a field name: the value starts after blanks (few have any: step them all at once)
        field_hits = np.flatnonzero(needs & ~self._value_expr[hits[:, 0]])
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
        back = np.flatnonzero(needs & self._value_expr[hits[:, 0]])
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
        return self._value_expr[hits[:, 0]] & (after | before)

    # --- stage 2: validation, once per distinct candidate ---------------------------------

    def _validate(
        self, buf: bytes, hits: np.ndarray, rows: np.ndarray, row_starts: np.ndarray, row_ends: np.ndarray
    ) -> _Found:
        """Accepted candidates. ``hits`` come in (row, expression, start, -end) order: within one
        (row, expression, start) the longest is tried first and the first accepted wins."""
        ids, starts, ends = hits[:, 0], hits[:, 1], hits[:, 2]
        batch = _Batch(names={})
        value = self._value_expr[ids]
        v = np.flatnonzero(value)
        v_vid = self._accept_values(buf, ids[v], starts[v], ends[v], rows[v], row_starts, batch)
        f = np.flatnonzero(~value)
        f_sel, f_start, f_end, f_vid = self._accept_fields(
            buf, ids[f], starts[f], rows[f], row_starts, row_ends, batch
        )
        v_ok = v_vid >= 0
        f = f[f_sel]
        return _Found(
            np.concatenate((rows[v][v_ok], rows[f])),
            np.concatenate((starts[v][v_ok], f_start)),
            np.concatenate((ends[v][v_ok], f_end)),
            np.concatenate((ids[v][v_ok], ids[f])),
            np.concatenate((v_vid[v_ok], f_vid)),
            batch.outcomes,
            batch.names,
        )

    def _names(
        self, buf: bytes, positions: np.ndarray, rows: np.ndarray, row_starts: np.ndarray, batch: _Batch
    ) -> list[str | None]:
        """The field name before each position (:func:`key_before`), read once per position."""
        uniq, first, inverse = np.unique(positions, return_index=True, return_inverse=True)
        names = batch.names
        found = []
        for pos, row_start in zip(uniq.tolist(), row_starts[rows[first]].tolist()):
            name = names.get(pos, _UNSEEN)
            if name is _UNSEEN:
                name = names[pos] = key_before(buf, pos, row_start)
            found.append(name)
        return [found[i] for i in inverse.tolist()]

    def _hinted_flags(self, ids: np.ndarray, names: list[str | None]) -> list[bool]:
        """Whether each name hints at its expression's recognizer (memoised per order and name)."""
        hints, exprs = self._hints, self._exprs
        out = []
        for expr_id, name in zip(ids.tolist(), names):
            if name is None:
                out.append(False)
                continue
            key = (exprs[expr_id].order, name)
            hinted = hints.get(key)
            if hinted is None:
                hinted = hints[key] = exprs[expr_id].rec.hinted_by(name)
            out.append(hinted)
        return out

    def _accept_values(
        self,
        buf: bytes,
        ids: np.ndarray,
        starts: np.ndarray,
        ends: np.ndarray,
        rows: np.ndarray,
        row_starts: np.ndarray,
        batch: _Batch,
    ) -> np.ndarray:
        """Per value-pattern candidate, its outcome in ``batch`` (-1: rejected or not tried)."""
        n = len(ids)
        vid = np.full(n, -1, dtype=np.int64)
        if not n:
            return vid
        hinted = [False] * n
        ask = np.flatnonzero(self._hinted_expr[ids])
        if len(ask):
            flags = self._hinted_flags(ids[ask], self._names(buf, starts[ask], rows[ask], row_starts, batch))
            for i, flag in zip(ask.tolist(), flags):
                hinted[i] = flag
        keys = list(zip(ids.tolist(), [buf[s:e] for s, e in zip(starts.tolist(), ends.tolist())], hinted))
        # groups of one (row, expression, start), longest first: try the k-th of every group
        # still open, k = 0, 1, ...; a group closes at its first accepted candidate
        opens = np.ones(n, dtype=bool)
        opens[1:] = (rows[1:] != rows[:-1]) | (ids[1:] != ids[:-1]) | (starts[1:] != starts[:-1])
        group = np.cumsum(opens) - 1
        rank = np.arange(n) - np.flatnonzero(opens)[group]
        closed = np.zeros(int(group[-1]) + 1, dtype=bool)
        vids, exprs = batch.vids, self._exprs
        for k in range(int(rank.max()) + 1):
            todo = np.flatnonzero((rank == k) & ~closed[group])
            if not len(todo):
                break
            for i in todo.tolist():
                key = keys[i]
                found = vids.get(key)
                if found is None:
                    found = vids[key] = batch.add(self._value_outcome(key, exprs[key[0]]))
                vid[i] = found
            closed[group[todo[vid[todo] >= 0]]] = True
        return vid

    def _accept_fields(
        self,
        buf: bytes,
        ids: np.ndarray,
        starts: np.ndarray,
        rows: np.ndarray,
        row_starts: np.ndarray,
        row_ends: np.ndarray,
        batch: _Batch,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Field-name hits that hint at their recognizer and are followed by a value that fully
        matches one of its patterns and validates: (which hits, value start, value end, outcome).

        A hit's outcome depends only on (row, expression, start), so of several hits there
        (a name followed by blanks ends at each blank) only the first is read.
        """
        none = np.zeros(0, dtype=np.int64)
        if not len(ids):
            return none, none, none, none
        first = np.ones(len(ids), dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (ids[1:] != ids[:-1]) | (starts[1:] != starts[:-1])
        sel = np.flatnonzero(first)
        hinted = self._hinted_flags(ids[sel], self._names(buf, starts[sel], rows[sel], row_starts, batch))
        sel = sel[np.array(hinted, dtype=bool)]
        exprs, vids = self._exprs, batch.vids
        keep, v_start, v_end, v_vid = [], [], [], []
        for i, expr_id, end, row_end in zip(
            sel.tolist(), ids[sel].tolist(), starts[sel].tolist(), row_ends[rows[sel]].tolist()
        ):
            span = _field_value(buf, end, row_end)
            if span is None:
                continue
            key = (expr_id, buf[span[0] : span[1]])
            found = vids.get(key)
            if found is None:
                found = vids[key] = batch.add(self._field_outcome(key, exprs[expr_id]))
            if found < 0:
                continue
            keep.append(i)
            v_start.append(span[0])
            v_end.append(span[1])
            v_vid.append(found)
        return (
            np.array(keep, dtype=np.int64),
            np.array(v_start, dtype=np.int64),
            np.array(v_end, dtype=np.int64),
            np.array(v_vid, dtype=np.int64),
        )

    def _remember(self, key: tuple[object, ...], outcome: _Outcome | None) -> _Outcome | None:
        if len(self._memo) >= _CACHE_SIZE:
            self._memo.clear()
        self._memo[key] = outcome
        return outcome

    def _value_outcome(self, key: tuple[object, ...], expr: _Expr) -> _Outcome | None:
        """A value pattern's candidate ``(expression, bytes, hinted)``, validated once."""
        if key in self._memo:
            return self._memo[key]
        _, raw, hinted = key
        value = raw.decode("utf-8", "replace")  # type: ignore[attr-defined]
        verdict = self._verdict(expr.validate, value, bool(hinted))
        if not verdict.ok:
            return self._remember(key, None)
        assert expr.pattern is not None
        confidence = _confidence(expr.pattern.score, verdict, bool(hinted))
        return self._remember(
            key, _Outcome(expr.order, expr.rec, expr.pattern.name, verdict, value, confidence)
        )

    def _field_outcome(self, key: tuple[object, ...], expr: _Expr) -> _Outcome | None:
        """The value after a hinting field name ``(expression, bytes)``: the first pattern that
        fully matches it and validates."""
        if key in self._memo:
            return self._memo[key]
        value = key[1].decode("utf-8", "replace").strip()  # type: ignore[attr-defined]
        for pattern, regex, check in expr.context:
            if not regex.fullmatch(value):
                continue
            verdict = self._verdict(check, value, True)
            if verdict.ok:
                confidence = _confidence(pattern.score, verdict, True)
                return self._remember(
                    key, _Outcome(expr.order, expr.rec, pattern.name, verdict, value, confidence)
                )
        return self._remember(key, None)

    def _verdict(self, check: Callable[[str, Context], Verdict] | None, value: str, hinted: bool) -> Verdict:
        """A validator's verdict, shared by every pattern using it: a phone number found as
        ``+44…`` and as the value of a ``phone`` field is parsed once."""
        if check is None:
            return Verdict(True, normalized=value)
        key = (check, value, hinted)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = check(value, self._context_hinted if hinted else self._context_default)
            if len(self._verdicts) >= _CACHE_SIZE:
                self._verdicts.clear()
            self._verdicts[key] = verdict
        return verdict

    def _preview(self, o: _Outcome) -> tuple[str, str | None]:
        """(masked, fingerprint), once per outcome and shared by outcomes of one value."""
        if o.preview is None:
            key = (o.rec.mask, o.value, o.verdict.normalized)
            o.preview = self._previews.get(key)
            if o.preview is None:
                norm = o.verdict.normalized
                o.preview = (
                    masking.MASKS[o.rec.mask](o.value, norm),
                    self._fingerprint(norm) if norm else None,
                )
                if len(self._previews) >= _CACHE_SIZE:
                    self._previews.clear()
                self._previews[key] = o.preview
        return o.preview

    # --- stage 3: the frame ------------------------------------------------------------------

    def _frame(
        self,
        buf: bytes,
        found: _Found,
        keep: np.ndarray,
        row_starts: np.ndarray,
        row_ends: np.ndarray,
        content_types: pl.Series | Sequence[str | None] | None,
        fmt: str | None,
    ) -> pl.DataFrame:
        if not len(keep):
            return pl.DataFrame(schema=FINDINGS_SCHEMA)
        rows, starts, ends, vids = found.row[keep], found.start[keep], found.end[keep], found.vid[keep]
        bases = row_starts[rows]
        # in (row, start) order (see _resolve_overlaps): one field-path call per row
        cuts = np.flatnonzero(np.diff(rows)) + 1
        firsts = np.concatenate(([0], cuts)).tolist()
        lasts = np.concatenate((cuts, [len(rows)])).tolist()
        text_rows = rows[firsts]
        ctypes: list[str | None] | None = None
        if fmt is None and content_types is not None:
            cts = (
                content_types
                if isinstance(content_types, pl.Series)
                else pl.Series(content_types, dtype=pl.String)
            )
            ctypes = cts.cast(pl.String).gather(text_rows).to_list()
        known = found.names  # field names read for the hints: a flat JSON body's paths
        starts_at = starts.tolist()
        offsets = (starts - bases).tolist()
        fields: list[str] = []
        for k, (base, end, i, j) in enumerate(
            zip(row_starts[text_rows].tolist(), row_ends[text_rows].tolist(), firsts, lasts)
        ):
            text = buf[base:end]
            kind = fmt or sniff_format(text, ctypes[k] if ctypes is not None else None)
            names = None
            if kind == "json":
                names = [known[at] if at in known else key_before(buf, at, base) for at in starts_at[i:j]]
            fields.extend(field_paths(text, offsets[i:j], kind, names=names))
        # one row per distinct outcome kept, gathered for the findings
        used, vids = np.unique(vids, return_inverse=True)
        outcomes = [found.outcomes[v] for v in used.tolist()]
        previews = [self._preview(o) for o in outcomes]
        per_value = pl.DataFrame(
            {
                "type": [o.rec.name for o in outcomes],
                "confidence": [round(o.confidence, 3) for o in outcomes],
                "validated": [o.verdict.checksum or o.rec.validator is not None for o in outcomes],
                "exposure": [o.verdict.exposure for o in outcomes],
                "masked": [p[0] for p in previews],
                "fingerprint": [p[1] for p in previews],
                "severity": [o.rec.severity for o in outcomes],
                "pattern": [f"{o.rec.name}.{o.pattern}" for o in outcomes],
                "reason": [o.verdict.reason for o in outcomes],
            },
            schema={k: v for k, v in FINDINGS_SCHEMA.items() if k not in _PLACE},
        )
        place = pl.DataFrame(
            {"row": rows, "field": fields, "start": starts - bases, "end": ends - bases},
            schema={k: FINDINGS_SCHEMA[k] for k in _PLACE},
        )
        return pl.concat([place, per_value[vids]], how="horizontal").select(list(FINDINGS_SCHEMA))


_PLACE = ("row", "field", "start", "end")
_UNSEEN = object()
_BLANK_BYTES = np.array([0x20, 0x09], dtype=np.uint8)


def _field_value(buf: bytes, end: int, row_end: int) -> tuple[int, int] | None:
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


def _resolve_overlaps(found: _Found, min_confidence: float) -> np.ndarray:
    """Indexes into ``found`` of the findings kept, in (row, start) order.

    Per text, overlapping findings keep the most confident (then earlier-declared, longer)
    one, greedily. Offsets are absolute in the joined buffer, so rows occupy increasing,
    disjoint ranges: a running maximum of ends over the (row, start)-sorted findings splits
    them into clusters that overlap nothing outside themselves, so greedy choices in one
    cluster never touch another. A cluster of two (nearly all: ``+4420…`` seen as two phone
    shapes, an ``access_token`` as a secret and a JWT) keeps its better-ranked finding,
    decided on whole arrays; larger clusters are ranked in Python.
    """
    if not len(found.vid):
        return found.vid
    confidence = np.array([o.confidence for o in found.outcomes], dtype=np.float64)[found.vid]
    idx = np.flatnonzero(confidence >= min_confidence)
    # (row, start), then the expression: the order candidates were validated in
    idx = idx[np.lexsort((found.expr[idx], found.start[idx], found.row[idx]))]
    if len(idx) < 2:
        return idx
    starts, ends = found.start[idx], found.end[idx]
    reach = np.maximum.accumulate(ends)
    opens = np.ones(len(idx), dtype=bool)
    opens[1:] = starts[1:] >= reach[:-1]
    if opens.all():
        return idx
    order = np.array([o.order for o in found.outcomes], dtype=np.int64)[found.vid]
    rank = (-confidence, order, found.start - found.end)
    if (starts == ends).any():
        # an empty span (only a custom field pattern can give one) overlaps nothing, so a
        # cluster need not be pairwise overlapping: rank whole rows, as written
        bad = np.isin(found.row[idx], np.unique(found.row[idx][~opens]))
        kept = _greedy(idx[bad], found.row[idx[bad]], rank, found)
        out = np.concatenate((idx[~bad], kept))
        return out[np.lexsort((found.start[out], found.row[out]))]
    cluster = np.cumsum(opens) - 1
    size = np.bincount(cluster)[cluster]
    keep = size == 1
    # a pair overlaps: the first stays unless the second ranks strictly higher (ties keep order)
    first = np.flatnonzero(opens & (size == 2))
    a, b = idx[first], idx[first + 1]
    b_wins = _lex_less(tuple(r[b] for r in rank), tuple(r[a] for r in rank))
    keep[first] = ~b_wins
    keep[first + 1] = b_wins
    big = size > 2
    out = np.concatenate((idx[keep], _greedy(idx[big], cluster[big], rank, found)))
    return out[np.lexsort((found.start[out], found.row[out]))]


def _lex_less(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> np.ndarray:
    """Element-wise ``a < b`` for tuples of arrays compared key by key."""
    less = np.zeros(len(a[0]), dtype=bool)
    equal = np.ones(len(a[0]), dtype=bool)
    for x, y in zip(a, b):
        less |= equal & (x < y)
        equal &= x == y
    return less


def _greedy(idx: np.ndarray, group: np.ndarray, rank: tuple[np.ndarray, ...], found: _Found) -> np.ndarray:
    """Per group, the best-ranked findings that overlap nothing taken before, in rank order.

    ``idx`` is in (row, start, expression) order, so the stable sort breaks rank ties by it.
    """
    if not len(idx):
        return idx
    keys = list(zip(*(r[idx].tolist() for r in rank)))
    spans_of = list(zip(found.start[idx].tolist(), found.end[idx].tolist(), group.tolist()))
    taken: dict[int, list[tuple[int, int]]] = {}
    kept = []
    for k in sorted(range(len(idx)), key=keys.__getitem__):
        s, e, g = spans_of[k]
        spans = taken.setdefault(g, [])
        if any(s < te and ts < e for ts, te in spans):
            continue
        spans.append((s, e))
        kept.append(k)
    return idx[np.array(kept, dtype=np.int64)]
