"""API traffic over plain HTTP from outside networks."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from apisight.posture.findings import BaseCheck, CheckOptions, Finding, findings_from_frame
from apisight.store import Catalog
from apisight.store import evidence_auth as queries


class PlaintextHttpCheck(BaseCheck[CheckOptions]):
    """External clients called the endpoint over ``http``; credentials sent that way make it high."""

    name = "plaintext_http"
    owasp = "API8:2023 Security Misconfiguration"
    severity = "medium"
    remediation = (
        "Serve the API over HTTPS only: close port 80 for API hosts or answer it with an error rather than "
        "a redirect (a redirect still lets the credentials travel in clear first), send "
        "Strict-Transport-Security, and rotate any credential seen over HTTP."
    )

    def find(self, catalog: Catalog, since: datetime) -> list[Finding]:
        frame = queries.plaintext_http(catalog.db, since)
        frame = frame.with_columns(
            pl.when(pl.col("with_credentials") > 0).then(pl.lit("high")).otherwise(pl.lit(self.severity))
            .alias("severity")
        )
        return findings_from_frame(self, frame)
