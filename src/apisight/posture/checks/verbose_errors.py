"""Verbose errors: stack traces, SQL errors and framework debug pages in responses."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from apisight.posture.findings import Finding, findings_from_frame
from apisight.store import Catalog
from apisight.store import findings as queries

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


class VerboseErrorsCheck:
    """Error responses (status >= 400) whose body shows a stack trace, an SQL error or a framework
    debug page: internals (paths, versions, queries) an attacker uses to aim the next request.
    Markers are data (:data:`MARKERS`)."""

    name = "verbose_errors"
    owasp = "API8:2023 Security Misconfiguration"
    severity = "medium"
    remediation = (
        "Return a generic error body (a message and a correlation id) and log the details server-side; turn "
        "off debug mode and framework error pages in production, and map database errors to a generic 500."
    )
    markers = MARKERS

    def find(self, catalog: Catalog, since: datetime) -> list[Finding]:
        markers = pl.DataFrame(self.markers, schema=["kind", "pattern"], orient="row")
        return findings_from_frame(self, queries.verbose_errors(catalog.db, since, markers))
