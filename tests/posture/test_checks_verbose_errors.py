"""verbose_errors: stack traces, SQL errors and debug pages in error responses."""

import pytest

from apisight.posture.checks.verbose_errors import VerboseErrorsCheck
from tests.posture.test_findings import analyze_lines, findings_of, harl

H = "https://api.bank.example"
PY = 'Traceback (most recent call last):\n  File "/app/api/views.py", line 42, in get\nKeyError: "id"'
JAVA = ("java.lang.NullPointerException\n\tat com.bank.api.AccountController.get(AccountController.java:57)\n"
        "\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:897)")
SQL = '{"error": "SQLSTATE[42000]: Syntax error: 1064 You have an error in your SQL syntax near \'\'\'"}'
GO = "panic: runtime error: index out of range [3] with length 3\n\ngoroutine 17 [running]:\nmain.handler()"


@pytest.mark.parametrize(
    ("body", "status", "marker"),
    [
        (PY, 500, "python_traceback"),
        (JAVA, 500, "java_stack_trace"),
        (SQL, 400, "sql_error"),
        (GO, 502, "go_panic"),
        ("<html><title>Werkzeug Debugger</title></html>", 500, "framework_debug_page"),
    ],
)
def test_fires_on_planted_markers(tmp_path, body, status, marker):
    analyze_lines(tmp_path, [harl(f"{H}/v1/accounts/1", status=status, body=body, content_type="text/plain")])
    (finding,) = findings_of(tmp_path, VerboseErrorsCheck()).values()
    assert finding.evidence["markers"] == [marker] and finding.path == "/v1/accounts/{account_id}"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ('{"error": "internal error", "request_id": "c0ffee"}', 500),  # a generic error
        (PY, 200),  # a success response that documents a traceback (not an error page)
        ('{"message": "select a valid account"}', 400),  # "select" is not an SQL error
    ],
)
def test_near_misses_do_not_fire(tmp_path, body, status):
    analyze_lines(tmp_path, [harl(f"{H}/v1/accounts/1", status=status, body=body, content_type="text/plain")])
    assert findings_of(tmp_path, VerboseErrorsCheck()) == {}


def test_an_error_showing_several_markers_counts_once(tmp_path):
    jdbc = ("java.sql.SQLException: ORA-00942: table or view does not exist\n"
            "\tat com.bank.api.AccountDao.find(AccountDao.java:31)")
    analyze_lines(tmp_path, [harl(f"{H}/v1/accounts/1", status=500, body=jdbc, content_type="text/plain"),
                             harl(f"{H}/v1/accounts/2", status=500, body=PY, content_type="text/plain")])
    (finding,) = findings_of(tmp_path, VerboseErrorsCheck()).values()
    assert finding.evidence["markers"] == ["java_stack_trace", "python_traceback", "sql_error"]
    assert finding.evidence["statuses"] == {"500": 2} and finding.evidence["events"] == 2
