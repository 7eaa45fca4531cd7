"""The scanner: one Hyperscan pass over a batch of texts, validation of distinct candidates only.

All recognizer patterns are compiled once into one Hyperscan database. A batch of
texts (a Polars String column of bodies, query strings or header maps) is joined with
newlines into one buffer and scanned with a single call; match offsets are mapped
back to rows with a binary search over the row starts (measured faster than one
``scan`` per text: see ``bench/`` and the module's tests). Then:

1. candidates stay columns (NumPy arrays of expression, start, end, row); the
   separator, dotted-number and start-of-value checks run on whole arrays
   (:mod:`apisight.sensitive.candidates`);
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
   overlap) are decided on whole arrays, only larger clusters are ranked in Python
   (:mod:`apisight.sensitive.overlaps`);
6. field paths are resolved only for texts with findings; the per-value columns are
   built once per distinct outcome and gathered into the frame.

Percent-encoded query strings, paths, header maps and form bodies are scanned decoded
and their offsets mapped back (:mod:`apisight.sensitive.urlcoding`).

Findings never hold a value: ``masked`` is a preview, ``fingerprint`` the keyed HMAC
of the normalised value (empty for masked PANs, which are not values).
``start``/``end`` are byte offsets into the row's text as UTF-8.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from apisight.fingerprints import Fingerprinter
from apisight.sensitive import masking
from apisight.sensitive.candidates import CandidateFinder, Expr, field_value, join_texts
from apisight.sensitive.catalog import Catalog, load_catalog
from apisight.sensitive.fieldpath import field_paths, key_before, sniff_format
from apisight.sensitive.overlaps import Found, Outcome, resolve_overlaps
from apisight.sensitive.urlcoding import UrlDecoder
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


@dataclass(slots=True)
class _Batch:
    """One batch's distinct outcomes (memo key -> index, -1 for rejected) and field names."""

    names: dict[int, str | None]  # field name before an absolute offset, as key_before gave it
    outcomes: list[Outcome] = field(default_factory=list)
    vids: dict[tuple[object, ...], int] = field(default_factory=dict)

    def add(self, outcome: Outcome | None) -> int:
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
        self._finder = CandidateFinder(self.catalog)
        self._decoder = UrlDecoder()
        self._exprs = self._finder.exprs
        self._value_expr = self._finder.value_expr
        self._hinted_expr = self._finder.hinted_expr
        self._expr_types = np.array([e.rec.name for e in self._exprs], dtype=object)
        #: (expression, candidate bytes[, hint]) -> outcome, or None when rejected; in memory only
        self._memo: dict[tuple[object, ...], Outcome | None] = {}
        self._verdicts: dict[tuple[object, str, bool], Verdict] = {}
        self._hints: dict[tuple[int, str], bool] = {}
        self._previews: dict[tuple[str, str, str], tuple[str, str | None]] = {}

    # --- stage 1: candidates ------------------------------------------------------------

    def _buffer(self, texts: pl.Series) -> tuple[bytes, np.ndarray, np.ndarray]:
        """The batch as one buffer with row starts and ends (:func:`join_texts`; bench/ times it)."""
        return join_texts(texts)

    def candidates(self, buf: bytes) -> np.ndarray:
        """Raw Hyperscan matches over ``buf`` as an (n, 3) array of expression id, start, end."""
        return self._finder.matches(buf)

    # --- the whole pass -------------------------------------------------------------------

    def scan(
        self,
        texts: pl.Series | Sequence[str | None],
        *,
        content_types: pl.Series | Sequence[str | None] | None = None,
        fmt: str | None = None,
        ignore_types: Collection[str] = (),
    ) -> pl.DataFrame:
        """Findings in ``texts`` as a frame with :data:`FINDINGS_SCHEMA`; ``row`` indexes ``texts``.

        ``fmt`` (``json``, ``form``, ``xml``, ``text``, ``path``, ``url``, ``headers``) says how to
        locate field paths for every text; otherwise each text's content type, else a sniff
        of the text, decides. Query strings (``form``), paths and header maps, and form
        bodies, are scanned percent-decoded (:mod:`apisight.sensitive.urlcoding`); offsets
        are always into the text as given. Findings of ``ignore_types`` are left out (after
        overlaps are settled, so the others are those a full scan gives).
        """
        series = texts if isinstance(texts, pl.Series) else pl.Series(list(texts), dtype=pl.String)
        coded = self._decoder.prepare(series, content_types, fmt)
        if coded is not None:  # percent-encoded rows: scan them decoded, report original offsets
            series, content_types = coded.texts, coded.content_types
        buf, row_starts, row_ends = self._buffer(series)
        hits = self.candidates(buf)
        if not len(hits):
            return pl.DataFrame(schema=FINDINGS_SCHEMA)
        hits, rows = self._finder.candidates(buf, hits, row_starts)
        found = self._validate(buf, hits, rows, row_starts, row_ends)
        keep = resolve_overlaps(found, self.min_confidence)
        if ignore_types:
            keep = keep[~np.isin(self._expr_types[found.expr[keep]], list(ignore_types))]
        out = self._frame(buf, found, keep, row_starts, row_ends, content_types, fmt)
        return coded.restore(out) if coded is not None else out

    # --- stage 2: validation, once per distinct candidate ---------------------------------

    def _validate(
        self, buf: bytes, hits: np.ndarray, rows: np.ndarray, row_starts: np.ndarray, row_ends: np.ndarray
    ) -> Found:
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
        return Found(
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
            span = field_value(buf, end, row_end)
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

    def _remember(self, key: tuple[object, ...], outcome: Outcome | None) -> Outcome | None:
        if len(self._memo) >= _CACHE_SIZE:
            self._memo.clear()
        self._memo[key] = outcome
        return outcome

    def _value_outcome(self, key: tuple[object, ...], expr: Expr) -> Outcome | None:
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
            key, Outcome(expr.order, expr.rec, expr.pattern.name, verdict, value, confidence)
        )

    def _field_outcome(self, key: tuple[object, ...], expr: Expr) -> Outcome | None:
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
                    key, Outcome(expr.order, expr.rec, pattern.name, verdict, value, confidence)
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

    def _preview(self, o: Outcome) -> tuple[str, str | None]:
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
        found: Found,
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
        # in (row, start) order (see resolve_overlaps): one field-path call per row
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


_CACHE_SIZE = 1 << 16


def _confidence(score: float, verdict: Verdict, hinted: bool) -> float:
    if verdict.checksum:
        return 1.0
    return min(0.99, score + (HINT_BONUS if hinted else 0.0))
