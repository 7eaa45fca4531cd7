"""The recognizer catalogue: sensitive-data types declared as data, validated on load.

A recognizer (``recognizers.yaml``) names a type, the Hyperscan-compatible patterns that
find candidates, the validator that confirms them (a function in
:mod:`apisight.sensitive.validators`), the field names that hint at it, and how its
values are masked. Two kinds of pattern exist:

* **value patterns** match the value itself anywhere in a text (``4111-1111-…``);
* **field patterns** (``context_required: true``) only count next to a hinting field:
  the scanner's Hyperscan expression matches the *field name* (``"dob":``,
  ``password=``, ``<iban>``), the value is read right after it and must fully match
  the pattern's ``regex`` (a Python regex).

A recognizer's ``context_required`` is the default for its patterns.
"""

from __future__ import annotations

import re
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from apisight.errors import ConfigError

#: The safe YAML loader, LibYAML's where PyYAML was built with it (several times faster).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
from apisight.sensitive import masking, validators

Severity = Literal["critical", "high", "medium", "low"]


class PatternSpec(BaseModel):
    """One way a recognizer's values look."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    regex: str
    score: float = Field(0.5, ge=0.0, le=1.0)
    context_required: bool | None = None  # None: the recognizer's setting
    validator: str | None = None  # overrides the recognizer's validator for this pattern
    caseless: bool = False

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as e:
            raise ValueError(f"regex does not compile: {e}") from e
        return value


class Recognizer(BaseModel):
    """A sensitive-data type: patterns plus validation, hints, masking and severity."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    patterns: tuple[PatternSpec, ...] = Field(min_length=1)
    validator: str | None = None
    field_hints: tuple[str, ...] = ()
    context_required: bool = False
    severity: Severity = "medium"
    mask: str = "partial"
    category: Literal["payment", "banking", "identity", "contact", "secret", "network"] = "identity"

    @field_validator("field_hints")
    @classmethod
    def _hint_words(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for hint in value:
            if not re.fullmatch(r"[a-z0-9]+(?:_[a-z0-9]+)*", hint):
                raise ValueError(f"field hint {hint!r} must be snake_case words (a_b_c)")
        return value

    @model_validator(mode="after")
    def _names_resolve(self) -> Recognizer:
        for name in {self.validator, *(p.validator for p in self.patterns)} - {None}:
            if name not in validators.VALIDATORS:
                known = ", ".join(sorted(validators.VALIDATORS))
                raise ValueError(f"unknown validator {name!r} (known: {known})")
        if self.mask not in masking.MASKS:
            raise ValueError(f"unknown mask {self.mask!r} (known: {', '.join(sorted(masking.MASKS))})")
        if any(self.needs_context(p) for p in self.patterns) and not self.field_hints:
            raise ValueError("patterns with context_required need field_hints")
        return self

    def needs_context(self, pattern: PatternSpec) -> bool:
        return self.context_required if pattern.context_required is None else pattern.context_required

    def validator_for(self, pattern: PatternSpec) -> str | None:
        return pattern.validator or self.validator

    @cached_property
    def _hint_re(self) -> re.Pattern[str]:
        words = "|".join(sorted(self.field_hints, key=len, reverse=True)) or "(?!)"
        return re.compile(rf"(?:.*_)?(?:{words})")

    def hinted_by(self, key: str | None) -> bool:
        """Whether a field name hints at this type: the hint is the name or its last words.

        ``card_number``, ``cardNumber``, ``CARD-NUMBER``, ``payee_card_number`` and
        ``cardnumber`` all match the hint ``card_number``; ``span`` does not match ``pan``.
        """
        if not key or not self.field_hints:
            return False
        norm = normalise_key(key)
        if self._hint_re.fullmatch(norm):
            return True
        return norm.replace("_", "") in {h.replace("_", "") for h in self.field_hints}

    def key_expression(self) -> str:
        """The Hyperscan expression finding a hinting field name and its separator.

        It matches JSON (``"dob": "``), form/query (``dob=``), ``key: value`` text and
        XML (``<dob>``); the exact hint rule is checked afterwards with :meth:`hinted_by`.
        """
        words = "|".join(
            "[_-]?".join(re.escape(part) for part in hint.split("_")) for hint in self.field_hints
        )
        # only the end is needed (the value starts there); the whole name is read back in Python
        return rf"""(?:(?:{words})["']?[ \t]*[:=][ \t]*|<[A-Za-z0-9_:.-]*(?:{words})(?:[ \t][^>]*)?>)"""


class Catalog(BaseModel):
    """The ordered recognizers; order breaks ties between overlapping findings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recognizers: tuple[Recognizer, ...]

    @model_validator(mode="after")
    def _unique(self) -> Catalog:
        seen: set[str] = set()
        for rec in self.recognizers:
            if rec.name in seen:
                raise ValueError(f"recognizer {rec.name!r} is declared twice")
            seen.add(rec.name)
        return self

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.recognizers]

    def select(self, names: list[str] | None) -> Catalog:
        """Only the named recognizers; an unknown name is an error listing the known ones."""
        if names is None:
            return self
        unknown = sorted(set(names) - set(self.names))
        if unknown:
            raise ConfigError(
                f"unknown sensitive-data type(s) {', '.join(unknown)} (known: {', '.join(self.names)})"
            )
        return Catalog(recognizers=tuple(r for r in self.recognizers if r.name in names))


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def normalise_key(key: str) -> str:
    """``cardNumber`` / ``Card-Number`` / ``card.number`` -> ``card_number``."""
    return re.sub(r"[^a-z0-9]+", "_", _CAMEL.sub("_", key).lower()).strip("_")


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load and validate a recognizer file (the built-in ``recognizers.yaml`` by default)."""
    if path is None:
        text = resources.files("apisight.sensitive").joinpath("recognizers.yaml").read_text("utf-8")
        where = "built-in recognizers.yaml"
    else:
        try:
            text = Path(path).read_text("utf-8")
        except OSError as e:
            raise ConfigError(f"cannot read recognizer file {path}: {e.strerror}") from e
        where = str(path)
    try:
        raw = yaml.load(text, Loader=_LOADER)  # a safe loader, the C one where built
    except yaml.YAMLError as e:
        raise ConfigError(f"{where} is not valid YAML: {e}") from e
    if not isinstance(raw, dict) or not isinstance(raw.get("recognizers"), list):
        raise ConfigError(f"{where} must be a mapping with a 'recognizers' list")
    recognizers = []
    for i, entry in enumerate(raw["recognizers"]):
        label = entry.get("name", f"#{i}") if isinstance(entry, dict) else f"#{i}"
        try:
            recognizers.append(Recognizer.model_validate(entry))
        except ValidationError as e:
            problems = "; ".join(
                f"{'.'.join(map(str, err['loc'])) or 'entry'}: {err['msg']}" for err in e.errors()
            )
            raise ConfigError(f"{where}: recognizer {label}: {problems}") from e
    try:
        return Catalog(recognizers=tuple(recognizers))
    except ValidationError as e:
        raise ConfigError(f"{where}: {e.errors()[0]['msg']}") from e
