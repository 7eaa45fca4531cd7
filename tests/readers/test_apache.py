from datetime import UTC, datetime

import pytest

from apisight.errors import ConfigError
from apisight.readers.apache import ApacheReader, apache_to_nginx
from apisight.readers.base import ReaderOptions

from .helpers import lines_frame, one


@pytest.mark.parametrize(
    ("apache", "nginx"),
    [
        ('%h %l %u %t \\"%r\\" %>s %b', '$remote_addr $ident $remote_user [$time_local] "$request" $status $body_bytes_sent'),
        ('%h "%{User-Agent}i" %D %{Content-Type}o', '$remote_addr "$http_user_agent" $request_time_us $sent_http_content_type'),
    ],
)
def test_apache_log_format_translation(apache, nginx):
    assert apache_to_nginx(apache) == nginx


def test_unknown_apache_directive_names_it():
    with pytest.raises(ConfigError, match="%Z"):
        apache_to_nginx("%h %Z")


def test_apache_combined_with_microsecond_duration():
    fmt = '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D'
    line = '192.0.2.10 - - [10/Oct/2026:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "-" "Mozilla/4.08" 1500'
    record = one(ApacheReader(ReaderOptions(log_format=fmt)).parse(lines_frame([line])).records)
    assert record["latency_ms"] == pytest.approx(1.5)
    # Apache's %t is when the request was received: no latency is subtracted
    assert record["ts"] == datetime(2026, 10, 10, 20, 55, 36, tzinfo=UTC)
    assert record["user_agent"] == "Mozilla/4.08"
