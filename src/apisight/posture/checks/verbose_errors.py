"""Verbose errors: stack traces, SQL errors and framework debug pages in responses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from apisight.posture.findings import BaseCheck, CheckOptions, Finding, NonEmpty, Regex, findings_from_frame
from apisight.store import Catalog
from apisight.store import evidence_exposure as queries

#: (kind, regex over the stored response body of an error response).
MARKERS: list[tuple[str, str]] = [
    ("python_traceback", r"Traceback \(most recent call last\)"),
    ("java_stack_trace", r"(\bat [\w$.]+\([\w$]+\.(java|kt|scala):\d+\))|(\b(java|javax|org\.springframework)\.[\w.]+(Exception|Error)\b)"),
    ("dotnet_stack_trace", r"\bat [\w.`<>]+\(.*\) in .+:line \d+|System\.[\w.]+Exception"),
    ("node_stack_trace", r"\bat .+ \(.+\.(js|ts|mjs):\d+:\d+\)"),
    ("go_panic", r"goroutine \d+ \[running\]|panic: runtime error"),
    ("php_error", r"(Fatal error|Parse error|Warning): .+ in .+\.php on line \d+"),
    ("ruby_backtrace", r"\.rb:\d+:in `"),
    ("sql_error", (r"(?i)SQLSTATE\[|You have an error in your SQL syntax|ORA-\d{5}|PG::\w+Error|psycopg2?\.errors|"
                  r"SQLException|sqlite3\.OperationalError|unterminated quoted string|syntax error at or near")),
    ("framework_debug_page", (r"Werkzeug Debugger|DEBUG = True|Whoops! There was an error|"
                             r"<title>Action Controller: Exception caught</title>|Server Error in '/' Application|"
                             r"Django Version:|Whitelabel Error Page")),
]


class ErrorMarker(BaseModel):
    """An error body matching ``pattern`` shows ``kind`` (python_traceback, sql_error, …)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(min_length=1)
    pattern: Regex


class VerboseErrorsOptions(CheckOptions):
    markers: Annotated[tuple[ErrorMarker, ...], NonEmpty] = Field(
        default=tuple(ErrorMarker(kind=k, pattern=p) for k, p in MARKERS),
        description="replaces the built-in markers")


class VerboseErrorsCheck(BaseCheck[VerboseErrorsOptions]):
    """Error responses (status >= 400) whose body shows a stack trace, an SQL error or a framework
    debug page: internals (paths, versions, queries) an attacker uses to aim the next request.
    Markers are data (``markers``, by default :data:`MARKERS`)."""

    name = "verbose_errors"
    owasp = "API8:2023 Security Misconfiguration"
    severity = "medium"
    remediation = (
        "Return a generic error body (a message and a correlation id) and log the details server-side; turn "
        "off debug mode and framework error pages in production, and map database errors to a generic 500."
    )
    settings_model = VerboseErrorsOptions

    def find(self, catalog: Catalog, since: datetime) -> list[Finding]:
        markers = pl.DataFrame([m.model_dump() for m in self.options.markers],
                               schema={"kind": pl.String, "pattern": pl.String})
        return findings_from_frame(self, queries.verbose_errors(catalog.db, since, markers))
