"""Parameter names from context: ``accounts/{account_id}``, ``users/{user}``, ``{date}``.

Names depend only on the template's literal segments and the dominant kind of the
values seen at the position, never on the order paths arrive in, so they are stable
across runs.
"""

from __future__ import annotations

import re

_IRREGULAR = {
    "people": "person",
    "children": "child",
    "men": "man",
    "women": "woman",
    "data": "data",
    "media": "media",
    "news": "news",
    "series": "series",
    "species": "species",
    "indices": "index",
    "matrices": "matrix",
    "analyses": "analysis",
    "statuses": "status",
    "aliases": "alias",
}
# singular words that end in "s" and must not lose it
_KEEP_S = ("ss", "us", "is")


def snake(word: str) -> str:
    """``direct-debits`` / ``DirectDebits`` / ``direct.debits`` -> ``direct_debits``."""
    word = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", word)
    word = re.sub(r"[^A-Za-z0-9]+", "_", word).strip("_").lower()
    return word or "id"


def is_plural(word: str) -> bool:
    """True for words that name collections (``accounts``, ``categories``, ``people``)."""
    w = snake(word).rsplit("_", 1)[-1]
    if w in _IRREGULAR:
        return _IRREGULAR[w] != w
    return len(w) > 2 and w.endswith("s") and not w.endswith(_KEEP_S)


def singular(word: str) -> str:
    """English singular of the last word of a snake-cased name (good enough for paths)."""
    w = snake(word)
    head, _, last = w.rpartition("_")
    if last in _IRREGULAR:
        last = _IRREGULAR[last]
    elif last.endswith("ies") and len(last) > 4:
        last = last[:-3] + "y"
    elif last.endswith(("sses", "shes", "ches", "xes", "zes")):
        last = last[:-2]
    elif last.endswith("s") and not last.endswith(_KEEP_S) and len(last) > 2:
        last = last[:-1]
    return f"{head}_{last}" if head else last


#: parameter names that do not depend on context
KIND_NAMES = {"date": "date", "email": "email", "phone": "phone", "card": "card_number"}


def param_name(noun: str | None, kind: str) -> str:
    """Name for a parameter after the literal ``noun`` whose values are mostly ``kind``.

    ``kind`` is a segment kind or ``"slug"`` (a literal learned to vary by cardinality).
    """
    if kind in KIND_NAMES:
        return KIND_NAMES[kind]
    if noun is None:
        return "id"
    base = singular(noun)
    if kind == "slug":
        return base
    return base if base.endswith("_id") or base == "id" else f"{base}_id"


def dedupe(names: list[str]) -> list[str]:
    """``[id, id, user]`` -> ``[id, id_2, user]`` (first occurrence keeps the plain name)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        n = seen.get(name, 0) + 1
        seen[name] = n
        out.append(name if n == 1 else f"{name}_{n}")
    return out
