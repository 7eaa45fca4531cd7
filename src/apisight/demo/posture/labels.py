"""Ground truth for the posture checks: which endpoint should carry which finding, and which
close look-alike should stay clean (``labels/posture.jsonl``)."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import polars as pl

FINDING = "finding"
CLEAN = "clean"
#: Method and path of a label about a whole host (token_shared_by_many_clients).
ANY = "*"
_PARAM = re.compile(r"\{[^}]*\}")


@dataclass(frozen=True)
class PostureLabel:
    """One expectation: ``check`` should (``expected="finding"``) or should not (``"clean"``)
    report the endpoint ``method`` ``template`` of ``host``; ``why`` says what was planted there."""

    check: str
    host: str
    method: str
    template: str
    expected: str  # finding | clean
    why: str

    def key(self) -> tuple[str, str, str, str]:
        """(check, host, method, template with parameter names dropped): how findings are matched."""
        return self.check, self.host, self.method, endpoint_shape(self.template)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


#: What a plant builder returns: its labels and the skeleton of the requests it adds.
Plant = tuple[list[PostureLabel], pl.DataFrame]


def endpoint_shape(template: str) -> str:
    """A template with its parameter names dropped (``/v2/accounts/{}``): discovery names
    parameters from the traffic, which need not be the catalogue's names."""
    return _PARAM.sub("{}", template)


def write_labels(path: Path, labels: list[PostureLabel]) -> Path:
    """Write ``labels`` as JSON lines, one per label."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(label.as_dict(), ensure_ascii=False) + "\n" for label in labels),
                    encoding="utf-8")
    return path


def read_labels(path: Path) -> list[PostureLabel]:
    """The labels :func:`write_labels` wrote."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [PostureLabel(**json.loads(line)) for line in lines if line.strip()]
