"""Reading an OpenAPI/Swagger document: parse, check and resolve local ``$ref``s, validate.

Everything here works on plain dicts and lists; :mod:`apisight.discovery.spec` turns
the result into :class:`~apisight.discovery.spec.Spec`. Errors that make a document
unusable are :class:`~apisight.errors.SpecError` naming the file and the location
(``file:line:column`` for syntax errors, a JSON pointer for ``$ref`` problems);
validation findings are returned as warnings because real-world specs are often
slightly invalid and still perfectly useful.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote

import yaml

from apisight.errors import SpecError

_MAX_HOPS = 32

#: A YAML document whose aliases expand past this many nodes is refused (billion laughs).
MAX_EXPANDED_NODES = 2_000_000

#: Validation findings kept per document; the rest are counted in one last warning.
MAX_VALIDATION_WARNINGS = 50

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """Safe YAML without timestamp resolution: ``version: 2023-10-16`` stays a string."""

    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()  # type: ignore[attr-defined]
    }


def read_document(path: Path) -> dict[str, Any]:
    """The document at ``path`` as a dict with string keys (``.json`` as JSON, else YAML)."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise SpecError(f"{path}: cannot read the spec: {e.strerror or e}") from e
    try:
        doc = _parse(raw, path)
    except RecursionError as e:
        raise SpecError(f"{path}: the document is nested too deeply to read") from e
    if not isinstance(doc, dict):
        kind = "empty" if doc is None else f"a {type(doc).__name__}"
        raise SpecError(f"{path}: an OpenAPI document must be a mapping at the top level, got {kind}")
    return doc


def _parse(raw: bytes, path: Path) -> Any:
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(raw)
        except json.JSONDecodeError as e:
            raise SpecError(f"{path}:{e.lineno}:{e.colno}: JSON syntax error: {e.msg}") from e
        except UnicodeDecodeError as e:
            raise SpecError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    else:
        try:
            doc = yaml.load(raw, Loader=_Loader)
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
            what = " ".join(p for p in (e.context, e.problem) if p)
            raise SpecError(f"{where}: YAML syntax error: {what}") from e
        except yaml.YAMLError as e:
            raise SpecError(f"{path}: YAML error: {e}") from e
        sizes: dict[int, int] = {}
        doc = _plain(doc, {}, set(), path)
        if _expanded_size(doc, sizes) > MAX_EXPANDED_NODES:
            raise SpecError(
                f"{path}: YAML aliases expand the document past {MAX_EXPANDED_NODES:,} nodes; refusing to read it"
            )
    return doc


def _expanded_size(node: Any, sizes: dict[int, int]) -> int:
    """Node count with every alias expanded, as the validator would walk it (memoised)."""
    if not isinstance(node, dict | list):
        return 1
    key = id(node)
    if key not in sizes:
        children = node.values() if isinstance(node, dict) else node
        sizes[key] = 1 + sum(_expanded_size(c, sizes) for c in children)
    return sizes[key]


def _plain(node: Any, memo: dict[int, Any], active: set[int], path: Path) -> Any:
    """YAML data with string keys; shared alias nodes stay shared (no billion-laughs blow-up)."""
    if not isinstance(node, dict | list):
        return node
    key = id(node)
    if key in memo:
        return memo[key]
    if key in active:
        raise SpecError(f"{path}: a YAML alias refers to itself; recursive documents are not supported")
    active.add(key)
    if isinstance(node, dict):
        out: Any = {_key_text(k): _plain(v, memo, active, path) for k, v in node.items()}
    else:
        out = [_plain(v, memo, active, path) for v in node]
    active.discard(key)
    memo[key] = out
    return out


def _key_text(key: Any) -> str:
    # YAML reads `200:` as an int and `true:` as a bool; OpenAPI keys are always strings.
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)


def mapping(value: Any) -> dict[str, Any]:
    """``value`` if it is a mapping, else ``{}``: documents are read defensively."""
    return value if isinstance(value, dict) else {}


def sequence(value: Any) -> list[Any]:
    """``value`` if it is a list, else ``[]``."""
    return value if isinstance(value, list) else []


# --- JSON pointers and $ref ------------------------------------------------------------


def pointer(parts: tuple[str | int, ...]) -> str:
    """The JSON pointer (``#/a/b~1c``) of a location given as keys and indexes."""
    return "#" + "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def lookup(doc: Any, ref: str, hops: int = _MAX_HOPS) -> tuple[bool, Any]:
    """``(found, value)`` for a local ref such as ``#/components/schemas/Account``.

    Lenient like most tools: a pointer that passes through a ``$ref`` object
    (``#/paths/~1a/get/responses/200/content`` where ``200`` is a ref) follows it.
    """
    text = unquote(ref[1:])
    if text == "":
        return True, doc
    if not text.startswith("/"):
        return False, None  # "#Foo": a plain-name anchor, not a pointer
    node = doc
    for raw in text[1:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        for _ in range(_MAX_HOPS):  # a pointer through a $ref object goes on in its target
            via = node.get("$ref") if isinstance(node, dict) and part not in node else None
            if not (isinstance(via, str) and via.startswith("#/")):
                break
            found, node = lookup(doc, via, hops - 1) if hops > 0 else (False, None)
            if not found:
                return False, None
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def iter_refs(doc: Any) -> Iterator[tuple[str, str]]:
    """Every ``$ref`` string in ``doc`` with the JSON pointer of the object holding it."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(doc, ())]
    seen: set[int] = set()
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            if id(node) in seen:
                continue
            seen.add(id(node))
            ref = node.get("$ref")
            if isinstance(ref, str):
                yield ref, pointer(where)
            stack.extend((v, (*where, k)) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.extend((v, (*where, i)) for i, v in reversed(list(enumerate(node))))


def check_refs(doc: dict[str, Any], path: Path) -> list[str]:
    """Raise for a local ``$ref`` to nowhere; return the external refs (not resolved)."""
    dangling: list[tuple[str, str]] = []
    external: list[str] = []
    for ref, where in iter_refs(doc):
        if not ref.startswith("#"):
            external.append(ref)
        elif not lookup(doc, ref)[0]:
            dangling.append((ref, where))
    if dangling:
        ref, where = dangling[0]
        more = f" (and {len(dangling) - 1} more)" if len(dangling) > 1 else ""
        raise SpecError(f"{path}: $ref {ref!r} at {where} points to nothing{more}")
    return sorted(set(external))


class RefResolver:
    """Inlines local ``$ref``s; a ref met again while it is being resolved stays a ``$ref``.

    Each ref is resolved once and the result shared, so a schema used in a hundred
    places costs one copy. Siblings of a ``$ref`` (``description``, or ``nullable`` that
    3.0 authors write anyway) are merged over the target. ``cycles`` lists the refs left
    in place to break a cycle.
    """

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.cycles: set[str] = set()
        self._done: dict[str, Any] = {}
        self._active: set[str] = set()
        self._memo: dict[int, Any] = {}

    def resolve(self, node: Any) -> Any:
        """``node`` with every local ``$ref`` below it replaced by its target."""
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#"):
                target = self._ref(ref)
                siblings = {k: self.resolve(v) for k, v in node.items() if k != "$ref"}
                return {**target, **siblings} if siblings and isinstance(target, dict) else target
        elif not isinstance(node, list):
            return node
        key = id(node)
        if key in self._memo:
            return self._memo[key]
        if isinstance(node, dict):
            out: Any = {k: self.resolve(v) for k, v in node.items()}
        else:
            out = [self.resolve(v) for v in node]
        self._memo[key] = out
        return out

    def _ref(self, ref: str) -> Any:
        if ref in self._done:
            return self._done[ref]
        if ref in self._active:
            self.cycles.add(ref)
            return {"$ref": ref}
        self._active.add(ref)
        try:
            result = self.resolve(lookup(self.doc, ref)[1])
        finally:
            self._active.discard(ref)
        self._done[ref] = result
        return result


def resolve_refs(doc: dict[str, Any], path: Path) -> tuple[dict[str, Any], set[str]]:
    """``doc`` with local refs inlined, and the refs left in place to break cycles."""
    resolver = RefResolver(doc)
    try:
        resolved = resolver.resolve(doc)
    except RecursionError as e:
        raise SpecError(f"{path}: the document is nested too deeply to resolve its $refs") from e
    return resolved, resolver.cycles


# --- validation -------------------------------------------------------------------------


def validation_warnings(doc: dict[str, Any], version: str) -> list[str]:
    """openapi-spec-validator's findings as ``"<json path>: <message>"`` lines.

    ``version`` is ``"2.0"``, ``"3.0"`` or ``"3.1"``. A validator crash (it happens on
    odd documents) becomes one warning: validation informs, it never blocks loading.
    """
    from openapi_spec_validator import (
        OpenAPIV2SpecValidator,
        OpenAPIV30SpecValidator,
        OpenAPIV31SpecValidator,
    )

    validator_cls = {
        "2.0": OpenAPIV2SpecValidator,
        "3.0": OpenAPIV30SpecValidator,
        "3.1": OpenAPIV31SpecValidator,
    }[version]
    found: list[str] = []
    extra = 0
    try:
        for error in validator_cls(doc).iter_errors():
            if len(found) >= MAX_VALIDATION_WARNINGS:
                extra += 1
                continue
            where = getattr(error, "json_path", "$")
            message = str(getattr(error, "message", error))
            if len(message) > 300:
                message = message[:297] + "..."
            found.append(f"invalid at {where}: {message}")
    except RecursionError:
        found.append("validation skipped: the document is nested too deeply for the validator")
    except Exception as e:  # noqa: BLE001 - third-party validator; its failure is not ours
        found.append(f"validation stopped early: {type(e).__name__}: {str(e)[:200]}")
    if extra:
        found.append(f"... and {extra} more validation findings")
    return found
