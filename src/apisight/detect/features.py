"""The columns detectors read, derived once per micro-batch from canonical events.

Everything here is a Polars expression or a join on distinct values (templates,
addresses): no per-event Python. The frame carries, per event, every entity it
belongs to — address, its /24 (IPv4) or /64 (IPv6) network, country and AS, API key,
principal, bearer token and session cookie (fingerprints), the account name tried at a
login (fingerprint),
user agent, partner — plus the endpoint's template and role, the object id in the
path, the page asked for, and whether a login failed.

The address's network, country and AS are looked up once per distinct address
(:func:`apisight.detect.geo.lookup`).
"""

from __future__ import annotations

import polars as pl

from apisight.detect import geo
from apisight.detect.roles import id_position

#: Event columns detection reads from the store.
EVENT_COLUMNS = ["event_id", "ts", "source_file", "host", "method", "path", "query", "status", "response_bytes", "client_ip",
                 "client_zone", "user_agent", "request_id", "auth_scheme", "principal", "credential_fp",
                 "api_key_id", "partner", "login_fp", "session_fp"]

#: What template, role and object id depend on: worked out once per distinct value.
_PATH_KEY = ["host", "method", "path"]

#: Query parameters that page through a collection (not dates: ``from=2024-01-01`` filters).
_PAGE = r"(?i)(?:^|&)(?:page|page%5Bnumber%5D|page\[number\]|offset|start|skip|cursor|from|after|starting_after)=([^&]*)"
_DATE = r"^\d{4}-\d{2}-\d{2}"

#: Injection and traversal payloads in a path or query (URL-encoded or not). A quote
#: followed by ``or``/``and`` counts only when a tautology, quote, paren or function
#: follows (``' or 1=1``, ``" or ""="``, ``' and sleep(``): filter languages (OData,
#: SCIM) join quoted values with ``and`` too.
_SP = r"(?:\s|\+|%20)"
_QUOTE = r"(?:'|%27|\"|%22)"
PAYLOAD = (rf"(?i){_QUOTE}{_SP}*(?:or|and|\|\||&&){_SP}+(?:\d|{_QUOTE}|true\b|false\b|\(|%28|not\b|sleep|"
           r"benchmark|exists|select)|union(?:\s|\+|%20)+(?:all(?:\s|\+|%20)+)?select|<script|%3cscript|"
           r"\.\./|%2e%2e|\.\.%2f|\$\{jndi|%24%7bjndi|sleep\(|benchmark\(|/etc/passwd|%00|"
           rf"\bor{_SP}*1=1|--(?:{_SP}|$)|\{{\{{.*\}}\}}|%7b%7b|;{_SP}*(?:ls|cat|id|whoami)\b")


def client_columns() -> list[pl.Expr]:
    """``client_kind`` and ``client``: the most specific identity of the caller."""
    return [
        pl.when(pl.col("principal").is_not_null()).then(pl.lit("principal"))
        .when(pl.col("api_key").is_not_null()).then(pl.lit("api_key"))
        .when(pl.col("client_ip").is_not_null()).then(pl.lit("ip"))
        .alias("client_kind"),
        pl.coalesce("principal", "api_key", "client_ip").alias("client"),
    ]


def build(events: pl.DataFrame, templates: pl.DataFrame, roles: pl.DataFrame) -> pl.DataFrame:
    """The detection frame of ``events`` (sorted by time).

    ``templates`` maps (host, method, path) to template; ``roles`` (host, method,
    template → role) come from :func:`apisight.detect.roles.endpoint_roles`. What
    depends on the path alone (template, role, object id, payload in the path) is
    worked out once per distinct path, and lookups join only their key columns: the
    event columns are never copied by a join.
    """
    frame = events.sort("ts", maintain_order=True).with_columns(pl.col("host").fill_null(""))
    frame = _attach(frame, _paths(frame.select(_PATH_KEY).unique(), templates, roles), _PATH_KEY)
    frame = _attach(frame, geo.lookup(frame["client_ip"]), ["client_ip"])
    status = pl.col("status").cast(pl.Int32)
    frame = frame.with_columns(
        pl.col("role").fill_null("other"),
        pl.col("query").str.extract(_PAGE).alias("page"),
        pl.when(pl.col("auth_scheme") == "bearer").then(pl.col("credential_fp")).alias("token"),
        pl.col("api_key_id").alias("api_key"),
        pl.col("login_fp").alias("username"),
        pl.col("session_fp").alias("session"),
        ((status >= 400) & (status < 500) & (status != 429)).alias("fail"),
        (status < 400).alias("ok"),
        (status == 429).alias("throttled"),
        ((status >= 400) & (status < 500)).alias("client_error"),
        (status >= 500).alias("server_error"),
        (pl.col("_path_payload") | pl.col("query").str.contains(PAYLOAD).fill_null(False)).alias("payload"),
    )
    frame = frame.with_columns(*client_columns(), pl.when(~pl.col("page").str.contains(_DATE)).then(pl.col("page"))
                               .alias("page"))
    return frame.drop("_path_payload", "api_key_id", "login_fp", "session_fp", "credential_fp")


def _paths(paths: pl.DataFrame, templates: pl.DataFrame, roles: pl.DataFrame) -> pl.DataFrame:
    """Per distinct (host, method, path): ``template``, ``role``, ``object_id`` and ``_path_payload``."""
    paths = paths.join(templates.select(*_PATH_KEY, "template").unique(_PATH_KEY, keep="first", maintain_order=True),
                       on=_PATH_KEY, how="left").with_columns(pl.coalesce("template", "path").alias("template"))
    paths = paths.join(roles.select("host", "method", pl.col("path").alias("template"), "role"),
                       on=["host", "method", "template"], how="left")
    positions = paths.select(pl.col("template").unique()).with_columns(
        pl.col("template").map_elements(id_position, return_dtype=pl.Int32).alias("_id_pos"))
    paths = paths.join(positions, on="template", how="left")
    return paths.select(
        *_PATH_KEY, "template", "role",
        pl.when(pl.col("_id_pos").is_not_null())
        .then(pl.col("path").str.split("/").list.get(pl.col("_id_pos"), null_on_oob=True)).alias("object_id"),
        pl.col("path").str.contains(PAYLOAD).fill_null(False).alias("_path_payload"),
    )


def _attach(frame: pl.DataFrame, table: pl.DataFrame, on: list[str]) -> pl.DataFrame:
    """``frame`` with ``table``'s other columns, matched on ``on`` (one ``table`` row per key at most).

    Only the key columns go through the join; the frame's own columns are kept as they are.
    A null key matches a null key: ``table`` may be made from the frame's own distinct keys.
    """
    found = frame.select(on).join(table, on=on, how="left", nulls_equal=True, maintain_order="left")
    return frame.hstack(found.drop(on).get_columns())
