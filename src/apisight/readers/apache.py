"""Apache httpd access logs: ``combined``/``common``, or an Apache ``LogFormat`` string.

An Apache format is translated directive by directive into the equivalent nginx
``log_format`` and parsed by the nginx reader, so both share one tested parser.
"""

from __future__ import annotations

import re
from typing import ClassVar

from apisight.errors import ConfigError
from apisight.readers.base import ReaderOptions
from apisight.readers.nginx import NginxReader

_DIRECTIVES = {
    "h": "$remote_addr",
    "a": "$remote_addr",
    "l": "$ident",
    "u": "$remote_user",
    "t": "[$time_local]",
    "r": "$request",
    "s": "$status",
    ">s": "$status",
    "b": "$body_bytes_sent",
    "B": "$body_bytes_sent",
    "O": "$bytes_sent",
    "I": "$request_length",
    "m": "$request_method",
    "U": "$uri",
    "q": "$args",
    "v": "$host",
    "V": "$host",
    "T": "$request_time",
    "D": "$request_time_us",
}
_DIRECTIVE = re.compile(r"%(?:\{([^}]+)\}([io])|(>?[a-zA-Z]))")


def apache_to_nginx(log_format: str) -> str:
    """Translate an Apache ``LogFormat`` string to an nginx ``log_format`` string."""

    def one(m: re.Match[str]) -> str:
        header, kind, letter = m.group(1), m.group(2), m.group(3)
        if header:
            prefix = "http_" if kind == "i" else "sent_http_"
            return "$" + prefix + header.lower().replace("-", "_")
        if letter not in _DIRECTIVES:
            raise ConfigError(f"Apache log format directive %{letter} is not supported; supported: "
                              + " ".join("%" + d for d in _DIRECTIVES))
        return _DIRECTIVES[letter]

    return _DIRECTIVE.sub(one, log_format.replace('\\"', '"'))


class ApacheReader(NginxReader):
    """Apache access log lines; ``--log-format`` takes an Apache ``LogFormat`` string."""

    name: ClassVar[str] = "apache"
    description: ClassVar[str] = "Apache httpd access log: combined, common, or a LogFormat string (--log-format)"
    logs_start_time: ClassVar[bool] = True

    def __init__(self, options: ReaderOptions | None = None) -> None:
        options = options or ReaderOptions()
        if options.log_format and "%" in options.log_format:
            options = ReaderOptions(**{**options.__dict__, "log_format": apache_to_nginx(options.log_format)})
        super().__init__(options)
