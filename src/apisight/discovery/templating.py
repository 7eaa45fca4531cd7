"""Raw request paths -> path templates, as a careful engineer reading the traffic would.

``/v1/accounts/8812/transactions`` and ``/v1/accounts/9913/transactions`` become
``/v1/accounts/{account_id}/transactions``; ``/users/alice``, ``/users/bob``, … become
``/users/{user}`` once enough distinct names are seen, while ``/accounts/me`` stays
literal beside ``/accounts/{account_id}``.

API
---
::

    t = Templater(state=None, min_distinct=8)
    out = t.assign(paths)   # in: host, method, path[, count]; out: same rows + template, params
    t.changes               # generalisations made by the last assign() (old -> new template)
    t.stats                 # counters: distinct_paths, matched, learned (cumulative)
    t.to_dict()             # JSON-serialisable state; Templater(state=...) restores it

``assign`` works on *distinct* (host, method, path) values: repeated traffic costs nothing
more. Paths that match a template already learned (kept in the state) take it with a
trie lookup; only the others are learned, per host, together with the known templates.

How a template is learned
-------------------------
Distinct paths of one host (all methods pooled: a position is the same resource
whatever the method) go into a prefix tree, processed from the root down. At each node:

1. **Patterns.** Children whose segment is identifier-like (``segments.ID_KINDS``:
   integers, UUIDs, ULIDs, hex/object ids, prefixed ids, opaque tokens, dates, emails,
   phone- and card-like numbers) become the node's one parameter; their subtrees merge.
   A date right after the root or after ``api`` is an API version and stays literal.
2. **Cardinality.** The other children (words, slugs, versions, file names) are
   *candidates*. Candidates that look like fixed API vocabulary stay literal: words such
   as ``me``, ``search``, ``summary`` (:data:`VOCABULARY`), names starting with ``_``, and
   sub-collections (a candidate with an identifier-like child, like ``runs`` in
   ``/actions/runs/42``). The remaining candidates become part of the parameter when
   there are at least ``min_distinct`` of them **and** either

   - the position is an *item position* — right after a plural literal (``users``,
     ``merchants``; version segments in between are skipped, as in ``/users/v1/alice``),
     where REST puts identifiers; or
   - elsewhere (after the root, a singular word or a parameter), the candidates are
     interchangeable: none is a plural noun, at least ``min_distinct`` of them have
     children, and they share child names (mean share >= 0.5) — ``/repos/{owner}/<repo>``
     where every repo has ``issues`` and ``pulls`` beneath it, but not
     ``/repos/{owner}/{repo}/<stats|traffic|…>``, whose children differ.

   So a small stable set of literals stays literal, and a position with many
   look-alike values becomes a parameter.
3. **Names** come from the nearest literal before the parameter: singular + ``_id``
   for identifiers (``categories`` -> ``{category_id}``), singular for learned slugs
   (``merchants`` -> ``{merchant}``), ``{date}``, ``{email}``, ``{phone}``,
   ``{card_number}``; ``{id}`` when a parameter follows a parameter; repeats get ``_2``.
   Names depend on the set of values, never on arrival order, and a name once stored in
   the state is kept.

Stability: a path matching a known template keeps it. New evidence may generalise a
known literal template (``/users/alice`` -> ``/users/{user}``); that is recorded in
:attr:`Templater.changes` and the state.
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from apisight.discovery.naming import dedupe, is_plural, param_name
from apisight.discovery.segments import ID_KINDS, classify, segment_kinds

STATE_VERSION = 1
DEFAULT_MIN_DISTINCT = 8
#: Templates a host may have: far above any real API's (GitHub's whole REST API has about
#: a thousand paths), far below what a scanner's random paths would make of each.
DEFAULT_MAX_TEMPLATES = 20_000
#: Where the paths go that a host at its cap cannot learn: one endpoint, counted and reported.
UNMAPPED = "/{unmapped_path}"
#: mean share of child names above which values at a non-item position are interchangeable
SHARED_CHILDREN = 0.5
#: share of plural nouns among values at a non-item position that marks sub-collections
PLURAL_SHARE = 0.3
#: values seen as parameter values elsewhere in the host that make a position variable
KNOWN_VALUES_MIN = 3

#: words that name fixed endpoints, never a value, even among many siblings
VOCABULARY: frozenset[str] = frozenset(
    """me self current mine my all search lookup query recent latest popular trending featured
    summary count stats statistics export import bulk batch public private starred status
    health healthz ping login logout signin signout signup register verify validate settings
    config configuration profile preferences upcoming pending history info meta metadata
    schema openapi swagger callback token refresh revoke authorize oauth auth session
    password reset forgot otp mfa available options overview dashboard report feed timeline
    inbox upload download create update delete edit list public-key public_key""".split()  # noqa: SIM905
)

_ROOTISH = frozenset({"api", "rest", "apis", "services"})

_NAME_ORDER = ("id", "slug", "date", "email", "phone", "card")  # tie-break for dominant kind


class _Node:
    """A prefix-tree node. ``ends`` maps method -> refs of paths ending here
    (ref >= 0: row of the batch; ref < 0: known template ``-ref - 1``)."""

    __slots__ = ("accepts_any", "children", "ends", "kinds", "name", "param")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.param: _Node | None = None
        self.ends: dict[str, list[int]] = {}
        self.kinds: Counter[str] = Counter()
        self.name: str | None = None  # kept from the state
        self.accepts_any = False


def _merge(dst: _Node, src: _Node) -> _Node:
    for key, child in src.children.items():
        if key in dst.children:
            _merge(dst.children[key], child)
        else:
            dst.children[key] = child
    if src.param is not None:
        dst.param = src.param if dst.param is None else _merge(dst.param, src.param)
    for method, refs in src.ends.items():
        dst.ends.setdefault(method, []).extend(refs)
    dst.kinds.update(src.kinds)
    if src.name is not None and (dst.name is None or src.name < dst.name):
        dst.name = src.name
    dst.accepts_any = dst.accepts_any or src.accepts_any
    return dst


@dataclass
class _Template:
    method: str
    template: str
    params: list[str]
    accepts_any: list[bool]  # per parameter: matches any segment (learned slug) or ids only

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "template": self.template,
            "params": self.params,
            "accepts_any": self.accepts_any,
        }


@dataclass
class _Host:
    """Known templates of one host and a per-method segment trie to match them."""

    templates: list[_Template] = field(default_factory=list)
    tries: dict[str, dict[str, Any]] = field(default_factory=dict)

    def rebuild(self) -> None:
        self.tries = {}
        for i, t in enumerate(self.templates):
            node = self.tries.setdefault(t.method, {})
            p = 0
            for seg in _split(t.template):
                if seg.startswith("{") and seg.endswith("}"):
                    key = "\0any" if t.accepts_any[p] else "\0id"
                    p += 1
                else:
                    key = seg
                node = node.setdefault(key, {})
            node["\0end"] = i

    def match(self, method: str, segs: list[str], kinds: dict[str, str]) -> int | None:
        trie = self.tries.get(method)
        return None if trie is None else _match(trie, segs, 0, kinds)


def _match(node: dict[str, Any], segs: list[str], i: int, kinds: dict[str, str]) -> int | None:
    if i == len(segs):
        end = node.get("\0end")
        return end if isinstance(end, int) else None
    seg = segs[i]
    nxt = node.get(seg)
    if nxt is not None:
        found = _match(nxt, segs, i + 1, kinds)
        if found is not None:
            return found
    if seg and (kinds.get(seg) or classify(seg)) in ID_KINDS and "\0id" in node:
        found = _match(node["\0id"], segs, i + 1, kinds)
        if found is not None:
            return found
    if seg and "\0any" in node:
        return _match(node["\0any"], segs, i + 1, kinds)
    return None


def _shapes(distinct: pl.DataFrame, split: pl.Series, segments: pl.DataFrame) -> pl.DataFrame:
    """Paths of the same shape (host, method, segments with ids replaced by their kind), one
    row per shape: ``rep`` (its first row in ``distinct``) and ``rows`` (all of its rows).

    Identifier-like segments become parameters whatever their number, so paths that
    differ only in such values (``/accounts/8812`` and ``/accounts/9913``) are decided
    once. Dates stay out: where they sit decides whether they are versions. Done in
    Polars: a day of traffic has hundreds of thousands of distinct paths and a few
    hundred shapes, and only the shapes reach Python.
    """
    collapse = sorted(ID_KINDS - {"date"})
    tokens = (
        split.rename("segment").to_frame().with_row_index("__row").explode("segment")
        .join(segments, on="segment", how="left", maintain_order="left")
        .select(
            "__row",
            pl.when(pl.col("kind").is_in(collapse)).then(pl.lit("\x00") + pl.col("kind"))
            .otherwise(pl.col("segment")).alias("token"),
        )
        .group_by("__row", maintain_order=True)
        .agg(pl.col("token").str.join("/"))
    )
    return (
        distinct.select("host", "method", pl.col("path").str.starts_with("/").alias("__rooted"))
        .with_columns(tokens["token"].alias("__shape"), pl.int_range(pl.len(), dtype=pl.Int64).alias("__row"))
        .group_by("host", "method", "__rooted", "__shape", maintain_order=True)
        .agg(pl.col("__row").first().alias("rep"), pl.col("__row").alias("rows"))
        .select("rep", "rows")
    )


def _split(path: str) -> list[str]:
    return path[1:].split("/")


class Templater:
    """Assigns path templates to distinct raw paths and remembers them (see module doc)."""

    def __init__(self, state: dict[str, Any] | None = None, *, min_distinct: int | None = None,
                 max_templates: int = DEFAULT_MAX_TEMPLATES) -> None:
        state = state or {}
        self.max_templates = max_templates
        if state and state.get("version") != STATE_VERSION:
            raise ValueError(f"templating state version {state.get('version')!r} is not {STATE_VERSION}")
        self.min_distinct = min_distinct or state.get("min_distinct") or DEFAULT_MIN_DISTINCT
        if self.min_distinct < 2:
            raise ValueError("min_distinct must be at least 2")
        self._hosts: dict[str, _Host] = {}
        for host, items in state.get("hosts", {}).items():
            h = _Host([_Template(**item) for item in items])
            h.rebuild()
            self._hosts[host] = h
        self.changes: list[dict[str, str]] = []
        self.stats: Counter[str] = Counter()
        self._promoted: set[str] = set()
        self._seen_values: set[str] | None = None

    @classmethod
    def from_dict(cls, state: dict[str, Any], **kwargs: Any) -> Templater:
        """A templater that resumes from :meth:`to_dict` output."""
        return cls(state, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """The learned templates per host, as plain JSON-serialisable data."""
        return {
            "version": STATE_VERSION,
            "min_distinct": self.min_distinct,
            "hosts": {
                host: [t.to_dict() for t in sorted(h.templates, key=lambda t: (t.template, t.method))]
                for host, h in sorted(self._hosts.items())
            },
        }

    def templates(self, host: str | None = None) -> list[tuple[str, str, str]]:
        """Known ``(host, method, template)`` triples, sorted."""
        return sorted(
            (hk, t.method, t.template)
            for hk, h in self._hosts.items()
            if host is None or hk == host
            for t in h.templates
        )

    # -- assigning -----------------------------------------------------------------

    def assign(self, paths: pl.DataFrame) -> pl.DataFrame:
        """Add ``template`` (str) and ``params`` (list[str]) to each row of ``paths``.

        ``paths`` has ``host``, ``method`` and ``path`` columns (``count`` optional, not
        needed for the decision). Work is done once per distinct (host, method, path).
        """
        self.changes = []
        keys = ["host", "method", "path"]
        distinct = (
            paths.select(
                pl.col("host").fill_null("").cast(pl.String),
                pl.col("method").fill_null("GET").cast(pl.String).str.to_uppercase(),
                pl.col("path").cast(pl.String),
            )
            .unique()
            .sort(keys)
        )
        split = distinct["path"].str.strip_prefix("/").str.split("/")
        segments = segment_kinds(split.explode().drop_nulls())
        shapes = _shapes(distinct, split, segments)
        reps = distinct[shapes["rep"]]  # one path per shape: the only ones Python looks at
        sizes: list[int] = shapes["rows"].list.len().to_list()
        hosts, methods, raw = (reps[c].to_list() for c in keys)
        rep_split = split.gather(shapes["rep"])
        present = segments.filter(pl.col("segment").is_in(rep_split.explode().drop_nulls().implode()))
        kinds = dict(zip(present["segment"].to_list(), present["kind"].to_list(), strict=True))
        segs_list: list[list[str] | None] = [
            s if p is not None and p.startswith("/") else None for s, p in zip(rep_split.to_list(), raw)
        ]
        self.stats["distinct_paths"] += distinct.height

        result: list[_Template | None] = [None] * len(raw)
        pending: dict[str, list[int]] = {}
        for i, (host, method, segs) in enumerate(zip(hosts, methods, segs_list)):
            if segs is None:
                continue
            h = self._hosts.get(host)
            found = h.match(method, segs, kinds) if h is not None else None
            if found is None:
                pending.setdefault(host, []).append(i)
            else:
                result[i] = h.templates[found] if h is not None else None
        self.stats["matched"] += sum(n for n, r in zip(sizes, result) if r is not None)

        overflow = _Template("*", UNMAPPED, ["unmapped_path"], [True])
        for host, rows in pending.items():
            h = self._hosts.setdefault(host, _Host())
            rows, rest = self._within_cap(h, rows, raw)
            self.stats["learned"] += sum(sizes[i] for i in rows)
            changed = len(self.changes)
            for row, idx in self._learn(host, h, rows, methods, segs_list, kinds).items():
                result[row] = h.templates[idx]
            if len(self.changes) > changed:  # known paths of this host may now sit under a new template
                waiting = set(rows)
                for i, segs in enumerate(segs_list):
                    if hosts[i] == host and i not in waiting and segs is not None:
                        found = h.match(methods[i], segs, kinds)
                        result[i] = None if found is None else h.templates[found]
            for i in rest:  # past the cap: what the learned templates cover, else the host's bucket
                found = h.match(methods[i], segs_list[i], kinds)  # type: ignore[arg-type]
                result[i] = overflow if found is None else h.templates[found]
                self.stats["unmapped"] += sizes[i] if found is None else 0

        # each shape points at one of few templates: pass indexes, not a Python object per shape
        unique: dict[int, int] = {}
        chosen: list[_Template] = []
        index: list[int | None] = []
        for t in result:
            if t is not None and id(t) not in unique:
                unique[id(t)] = len(chosen)
                chosen.append(t)
            index.append(None if t is None else unique[id(t)])
        table = pl.DataFrame(
            {"tid": range(len(chosen)), "template": [t.template for t in chosen],
             "params": [list(t.params) for t in chosen]},
            schema={"tid": pl.Int64, "template": pl.String, "params": pl.List(pl.String)},
        )
        decided = (
            pl.DataFrame({"rows": shapes["rows"], "tid": pl.Series(index, dtype=pl.Int64)})
            .explode("rows").sort("rows")
            .join(table, on="tid", how="left", maintain_order="left")
        )
        # a path no template covers (not absolute, or nothing learned) is its own template
        mapping = distinct.with_columns(
            pl.coalesce(decided["template"], pl.col("path")).alias("template"),
            decided["params"].fill_null(pl.lit([], dtype=pl.List(pl.String))).alias("params"),
        )
        left = paths.with_columns(
            pl.col("host").fill_null("").cast(pl.String).alias("__h"),
            pl.col("method").fill_null("GET").cast(pl.String).str.to_uppercase().alias("__m"),
        )
        return left.join(
            mapping.rename({"host": "__h", "method": "__m"}),
            on=["__h", "__m", "path"],
            how="left",
            maintain_order="left",
        ).drop("__h", "__m")

    def _within_cap(self, h: _Host, rows: list[int], raw: list[str]) -> tuple[list[int], list[int]]:
        """The rows to learn from, at most what keeps the host under :attr:`max_templates`,
        and the rest. The share learned is a fixed sample (by a hash of the path, not by
        arrival or spelling), so a long tail like ``/users/<name>`` still teaches its template."""
        room = max(self.max_templates - len(h.templates), 0)
        if len(rows) <= room:
            return rows, []
        ranked = sorted(rows, key=lambda i: zlib.crc32(raw[i].encode("utf-8", "surrogatepass")))
        return ranked[:room], ranked[room:]

    # -- learning ------------------------------------------------------------------

    def _learn(
        self,
        host: str,
        h: _Host,
        rows: list[int],
        methods: list[str],
        segs_list: list[list[str] | None],
        kinds: dict[str, str],
    ) -> dict[int, int]:
        """Learn templates for ``rows`` together with the host's known templates.

        Returns row -> index of its template in the (rebuilt) host template list.
        """
        known = h.templates
        # pass 1 finds which literal values vary; pass 2 also uses them as evidence at
        # positions that alone would not say so (/user/starred/<owner>/<repo>)
        self._promoted = set()
        self._seen_values = None
        self._process(self._build(known, rows, methods, segs_list), [], [], [], kinds, [])
        self._seen_values = self._promoted
        self._promoted = set()
        out: list[tuple[str, str, list[str], list[bool], list[int]]] = []
        self._process(self._build(known, rows, methods, segs_list), [], [], [], kinds, out)
        self._seen_values = None

        templates: dict[tuple[str, str], int] = {}
        new_list: list[_Template] = []
        row_index: dict[int, int] = {}
        for method, template, names, accepts, refs in sorted(out, key=lambda o: (o[1], o[0])):
            key = (method, template)
            if key not in templates:
                templates[key] = len(new_list)
                new_list.append(_Template(method, template, names, accepts))
            for ref in refs:
                if ref >= 0:
                    row_index[ref] = templates[key]
                else:
                    old = known[-ref - 1]
                    if old.template != template:
                        self.changes.append(
                            {"host": host, "method": method, "old": old.template, "new": template}
                        )
        h.templates = new_list
        h.rebuild()
        return row_index

    @staticmethod
    def _build(
        known: list[_Template], rows: list[int], methods: list[str], segs_list: list[list[str] | None]
    ) -> _Node:
        root = _Node()
        for k, t in enumerate(known):
            node = root
            p = 0
            for seg in _split(t.template):
                if seg.startswith("{") and seg.endswith("}"):
                    if node.param is None:
                        node.param = _Node()
                    node = node.param
                    node.name = node.name or t.params[p]
                    node.accepts_any = node.accepts_any or t.accepts_any[p]
                    p += 1
                else:
                    node = node.children.setdefault(seg, _Node())
            node.ends.setdefault(t.method, []).append(-k - 1)
        for i in rows:
            node = root
            for seg in segs_list[i] or []:
                node = node.children.setdefault(seg, _Node())
            node.ends.setdefault(methods[i], []).append(i)
        return root

    def _process(
        self,
        node: _Node,
        segs: list[str],
        names: list[str],
        accepts: list[bool],
        kinds: dict[str, str],
        out: list[tuple[str, str, list[str], list[bool], list[int]]],
    ) -> None:
        if node.ends:
            template = "/" + "/".join(segs)
            for method, refs in node.ends.items():
                out.append((method, template, list(names), list(accepts), refs))
        children = node.children
        if not children and node.param is None:
            return
        depth = len(segs)
        prev = segs[-1] if segs else None

        def kind_of(seg: str) -> str:
            kind = kinds.get(seg) or classify(seg)
            if kind == "date" and (depth == 0 or (prev is not None and prev.lower() in _ROOTISH)):
                return "version"  # a dated API version: /2023-10-16/..., /api/2023-10-16/...
            return kind

        child_kinds = {seg: kind_of(seg) for seg in children}
        ids = [seg for seg, k in child_kinds.items() if k in ID_KINDS]
        candidates = [seg for seg, k in child_kinds.items() if k not in ID_KINDS]
        promoted = self._variable(children, candidates, child_kinds, segs, kinds)
        if ids or promoted:
            param = node.param or _Node()
            for seg in sorted(ids):
                param.kinds[_category(child_kinds[seg])] += 1
                _merge(param, children.pop(seg))
            for seg in sorted(promoted):
                param.kinds["slug"] += 1
                _merge(param, children.pop(seg))
            param.accepts_any = param.accepts_any or bool(promoted)
            node.param = param
        for seg in sorted(children):
            self._process(children[seg], [*segs, seg], names, accepts, kinds, out)
        if node.param is not None:
            param = node.param
            name = param.name or param_name(_noun(segs, kinds), _dominant(param.kinds))
            name = dedupe([*names, name])[-1]
            param.name = name
            self._process(
                param, [*segs, "{" + name + "}"], [*names, name], [*accepts, param.accepts_any], kinds, out
            )

    def _variable(
        self,
        children: dict[str, _Node],
        candidates: list[str],
        child_kinds: dict[str, str],
        segs: list[str],
        kinds: dict[str, str],
    ) -> list[str]:
        """Candidates (non-identifier children) that cardinality says are values."""
        rest = [
            seg
            for seg in candidates
            if child_kinds[seg] != "empty"
            and seg.lower() not in VOCABULARY
            and not seg.startswith(("_", "$", "@"))
            and not _is_collection(children[seg], kinds)
        ]
        if not rest:
            return []
        promoted = self._decide(children, rest, child_kinds, segs, kinds)
        self._promoted.update(promoted)
        return promoted

    def _decide(
        self,
        children: dict[str, _Node],
        rest: list[str],
        child_kinds: dict[str, str],
        segs: list[str],
        kinds: dict[str, str],
    ) -> list[str]:
        if self._seen_values is not None:
            # values already learned as parameter values elsewhere in this host
            # (the same users, repos, merchants recur across endpoints)
            known = sum(seg in self._seen_values for seg in rest)
            if known >= KNOWN_VALUES_MIN and known * 2 >= len(rest):
                return rest
        if len(rest) < self.min_distinct:
            return []
        noun = _noun(segs, kinds)
        if noun is not None and is_plural(noun):
            return rest  # item position: /users/<name>, /merchants/<slug>
        plural = sum(child_kinds[seg] == "word" and is_plural(seg) for seg in rest)
        if plural >= PLURAL_SHARE * len(rest):
            return []  # plural nouns name collections: /orgs/{org}/<members|teams|…>
        with_kids = [seg for seg in rest if children[seg].children or children[seg].param is not None]
        if len(with_kids) < self.min_distinct:
            return []
        child_sets = [set(children[seg].children) for seg in with_kids]
        freq = Counter(name for s in child_sets for name in s)
        n = len(with_kids)
        share = sum(max(((freq[c] - 1) / (n - 1) for c in s), default=0.0) for s in child_sets) / n
        return rest if share >= SHARED_CHILDREN else []


def _is_collection(node: _Node, kinds: dict[str, str]) -> bool:
    """A literal with identifier-like children names a collection: keep it literal."""
    if node.param is not None:
        return True
    return any((kinds.get(seg) or classify(seg)) in ID_KINDS for seg in node.children)


def _noun(segs: list[str], kinds: dict[str, str]) -> str | None:
    """The literal that names what follows: the previous segment, skipping versions."""
    for seg in reversed(segs):
        if seg.startswith("{"):
            return None
        kind = kinds.get(seg) or classify(seg)
        if kind in ("version", "empty") or (kind == "date"):
            continue
        return seg
    return None


def _category(kind: str) -> str:
    return kind if kind in ("date", "email", "phone", "card") else "id"


def _dominant(counts: Counter[str]) -> str:
    if not counts:
        return "id"
    return max(_NAME_ORDER, key=lambda k: (counts.get(k, 0), -_NAME_ORDER.index(k)))
