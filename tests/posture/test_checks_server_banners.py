"""server_banners: response headers naming the server or framework (low) or its version (medium);
a bare ``Server: nginx`` is clean, and only recorded headers are seen."""

import orjson
import pytest

from apisight.posture.checks.server_banners import ServerBannersCheck
from tests.posture.test_findings import DAY, analyze_lines, configured, findings_of, harl

H = "https://api.bank.example"


def answered(path: str, *headers: tuple[str, str], n: int = 2) -> list[str]:
    return [harl(f"{H}{path}", response_headers=list(headers)) for _ in range(n)]


def access_log(path: str) -> str:
    """An application log line without response headers: nothing can be seen."""
    return orjson.dumps({"timestamp": DAY.isoformat(), "method": "GET", "host": "api.bank.example", "url": path,
                         "status": 200, "client_ip": "198.51.100.7"}).decode()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("banners")
    lines = (
        answered("/v2/branches", ("Server", "nginx/1.18.0 (Ubuntu)"), ("X-Powered-By", "Express"))  # medium
        + answered("/v2/legacy", ("X-Powered-By", "PHP/7.4.3"))  # medium
        + answered("/v2/aspnet", ("X-AspNet-Version", "4.0.30319"), ("X-AspNetMvc-Version", "5.2"))  # medium
        + answered("/v2/express", ("X-Powered-By", "Express"))  # low: product, no version
        + answered("/v2/rails", ("X-Runtime", "0.012345"))  # low: a duration is no version
        + answered("/v2/atms", ("Server", "nginx"))  # clean: bare product name
        + answered("/v2/accounts")  # clean: no banner
    )
    analyze_lines(tmp_path, lines)
    analyze_lines(tmp_path, [access_log("/v2/logs")], name="app.log")
    return tmp_path


@pytest.fixture(scope="module")
def found(data):
    return findings_of(data, ServerBannersCheck())


@pytest.mark.parametrize(
    ("path", "severity", "headers"),
    [
        ("/v2/branches", "medium", ["server", "x-powered-by"]),
        ("/v2/legacy", "medium", ["x-powered-by"]),
        ("/v2/aspnet", "medium", ["x-aspnet-version", "x-aspnetmvc-version"]),
        ("/v2/express", "low", ["x-powered-by"]),
        ("/v2/rails", "low", ["x-runtime"]),
    ],
)
def test_banners(found, path, severity, headers):
    f = found["GET", path]
    assert f.severity == severity and f.evidence["headers"] == headers and f.owasp.startswith("API8:2023")


def test_clean_look_alikes(found):
    assert {p for _, p in found} == {"/v2/branches", "/v2/legacy", "/v2/aspnet", "/v2/express", "/v2/rails"}


def test_evidence_shows_cut_values_and_counts(found):
    f = found["GET", "/v2/branches"]
    assert f.evidence["banners"] == ["server: nginx/1.18.0 (Ubuntu)", "x-powered-by: Express"]
    assert f.evidence["header_events"] == {"server": 2, "x-powered-by": 2}
    assert f.evidence["versioned_events"] == 2 and f.evidence["events"] == 2 and f.evidence["sources"] == ["harl"]


@pytest.mark.parametrize(
    ("options", "added", "removed"),
    [
        ({"bare_product_headers": []}, {"/v2/atms"}, set()),
        ({"headers": ["Server"]}, set(), {"/v2/legacy", "/v2/aspnet", "/v2/express", "/v2/rails"}),
        ({"timing_headers": []}, set(), set()),
    ],
)
def test_settings(data, found, options, added, removed):
    again = findings_of(data, configured("server_banners", **options))
    assert {p for _, p in again} == ({p for _, p in found} | added) - removed


def test_values_are_cut(data):
    again = findings_of(data, configured("server_banners", max_value_chars=8))
    assert again["GET", "/v2/branches"].evidence["banners"] == ["server: nginx/1.", "x-powered-by: Express"]
