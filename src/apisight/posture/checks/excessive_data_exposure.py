"""Responses with fields the spec does not document, above all sensitive ones."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from apisight.posture.findings import (
    BaseCheck,
    CheckOptions,
    Finding,
    NonEmpty,
    SensitiveTypes,
    findings_from_frame,
)
from apisight.store import Catalog
from apisight.store import evidence_exposure as queries


class ExcessiveDataExposureOptions(CheckOptions):
    spec_statuses: Annotated[tuple[Literal["documented", "zombie"], ...], NonEmpty] = Field(
        default=("documented", "zombie"), description="inventory statuses whose drift is judged")
    ignored_types: SensitiveTypes = Field(default=(), description="sensitive types that do not make it high")


class ExcessiveDataExposureCheck(BaseCheck[ExcessiveDataExposureOptions]):
    """A documented endpoint (``documented`` or ``zombie`` in the inventory) whose drift lists
    undocumented top-level response fields, and whose successful responses in the window carried
    them. Low; high when clear sensitive data sat in one of those fields. Needs a spec that
    documents the response schema and stored JSON response bodies; nested fields are compared
    by their top-level name only, as the drift is."""

    name = "excessive_data_exposure"
    owasp = "API3:2023 Broken Object Property Level Authorization"
    severity = "low"
    remediation = (
        "Return only the documented properties: serialise responses through an explicit response model or "
        "allowlist (e.g. a DTO, pydantic response_model, Jackson @JsonView) instead of the whole database "
        "object, and drop the fields evidence lists; if a field is meant to be there, document it in the spec "
        "so it is reviewed."
    )
    settings_model = ExcessiveDataExposureOptions

    def find(self, catalog: Catalog, since: datetime) -> list[Finding]:
        o = self.options
        frame = queries.undocumented_response_fields(catalog.db, since, list(o.spec_statuses), list(o.ignored_types))
        return findings_from_frame(self, frame)
