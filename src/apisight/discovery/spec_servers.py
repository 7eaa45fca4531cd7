"""OpenAPI ``servers`` -> (host or None, base path) pairs used to match requests.

- Variables with an ``enum`` expand to one server per value (at most
  :data:`MAX_EXPANSIONS`); without one, a variable in the host stays a ``{name}``
  placeholder that matches one DNS label, and a variable in the path takes its
  ``default`` (or stays ``{name}``, one path segment, when it has none).
- Hosts are lower case without port: traffic is matched on the host name alone.
- A loopback host (``localhost``, ``127.x``, ``::1``, ``0.0.0.0``) is a developer's
  placeholder, not where the API is served: it becomes "any host", with a warning.
- A relative URL (``/v1``) or no ``servers`` at all means any host.
"""

from __future__ import annotations

import itertools
import re
from typing import Any, NamedTuple

from apisight.discovery.spec_document import mapping

MAX_EXPANSIONS = 64
_VARIABLE = re.compile(r"\{([^{}]*)\}")
_LOOPBACK = re.compile(r"^(localhost|.*\.localhost|127\.\d+\.\d+\.\d+|::1|0\.0\.0\.0)$")


class Server(NamedTuple):
    """Where a spec's paths are served: ``host`` None means any host; base path has no trailing /."""

    host: str | None
    base_path: str


ANY_SERVER = Server(None, "")


def parse_servers(raw: Any, where: str, warnings: list[str]) -> tuple[Server, ...]:
    """The servers of a ``servers`` list (document, path item or operation level)."""
    if not isinstance(raw, list) or not raw:
        return (ANY_SERVER,)
    out: list[Server] = []
    for i, server in enumerate(raw):
        if not isinstance(server, dict) or not isinstance(server.get("url"), str):
            warnings.append(f"{where}/{i}: server without a url; skipped")
            continue
        variables = mapping(server.get("variables"))
        out.extend(_expand(server["url"], variables, f"{where}/{i}", warnings))
    return tuple(dict.fromkeys(out)) or (ANY_SERVER,)


def _expand(url: str, variables: dict[str, Any], where: str, warnings: list[str]) -> list[Server]:
    netloc: str | None = None
    path_part = url
    if "//" in url:
        before, rest = url.split("//", 1)
        if before == "" or before.endswith(":"):
            netloc, slash, tail = rest.partition("/")
            path_part = slash + tail
    path_part = re.split(r"[?#]", path_part, maxsplit=1)[0]
    choices: list[tuple[str, list[str]]] = []
    for name in dict.fromkeys(_VARIABLE.findall(url)):
        var = mapping(variables.get(name))
        enum = [str(v) for v in var.get("enum") or [] if v is not None]
        if enum:
            choices.append((name, enum))
        elif "default" in var and path_part and "{" + name + "}" in path_part:
            choices.append((name, [str(var["default"])]))
    servers: list[Server] = []
    for combo in itertools.product(*(values for _, values in choices)):
        if len(servers) >= MAX_EXPANSIONS:
            warnings.append(f"{where}: more than {MAX_EXPANSIONS} server variable combinations; rest ignored")
            break
        values = dict(zip((name for name, _ in choices), combo, strict=True))

        def fill(text: str, values: dict[str, str] = values) -> str:
            return _VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), text)

        host = _host(fill(netloc)) if netloc is not None else None
        if host is not None and _LOOPBACK.match(host.strip("[]")):
            warnings.append(f"{where}: server {url!r} is a loopback address; its paths match any host")
            host = None
        servers.append(Server(host, _base_path(fill(path_part))))
    return list(dict.fromkeys(servers))


def _host(netloc: str) -> str | None:
    host = netloc.rsplit("@", 1)[-1].lower()
    if host.startswith("["):
        host = host.split("]", 1)[0] + "]"
    else:
        host = host.split(":", 1)[0]
    return host or None


def _base_path(path: str) -> str:
    path = path.strip()
    if path.startswith("."):
        path = path.lstrip(".")
    if path and not path.startswith("/"):
        path = "/" + path
    return path.rstrip("/")
