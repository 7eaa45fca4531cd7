"""The normalisation stage: one reader batch in, canonical events out."""

from __future__ import annotations

import polars as pl

from apisight.config import Settings
from apisight.events import EVENT_SCHEMA, RAW_COLUMNS, conform
from apisight.fingerprints import Fingerprinter
from apisight.normalize.auth import AUTH_COLUMNS, authorization_columns, fingerprint_values
from apisight.normalize.clientip import ClientResolver, strip_port
from apisight.normalize.partners import partner_column
from apisight.normalize.redact import MASK, drop_json_keys, redact_column
from apisight.normalize.target import split_target

#: Headers that are never stored, whatever the configuration.
SECRET_HEADERS = ["authorization", "proxy-authorization", "cookie", "set-cookie", "x-amz-security-token"]


class Normalizer:
    """Maps raw reader frames onto :data:`apisight.events.EVENT_SCHEMA`.

    Secrets are fingerprinted and dropped here, so nothing after this stage (and
    nothing on disk) ever holds a token, API key or password in clear.
    """

    def __init__(self, settings: Settings, fingerprint: Fingerprinter) -> None:
        self.settings = settings
        self.fingerprint = fingerprint
        self.clients = ClientResolver(settings.network.trusted_proxies, settings.network.forwarded_header)

    def __call__(self, raw: pl.DataFrame, *, source: str, source_file: str, first_id: str) -> pl.DataFrame:
        """Normalise ``raw``; event ids are ``first_id`` followed by a row number."""
        auth = self.settings.auth
        frame = conform(raw, RAW_COLUMNS)
        frame = split_target(frame)
        headers = frame["request_headers"]
        frame = frame.with_columns(
            pl.col("method").str.to_uppercase(),
            pl.col("peer_ip").map_batches(_strip_ports, return_dtype=pl.String),
            pl.coalesce(pl.col("authorization"), *_headers(headers, ["authorization"])).alias("authorization"),
            pl.coalesce(
                pl.col("api_key"),
                *_headers(headers, auth.api_key_headers),
                *[_query_param(p) for p in auth.api_key_query_params],
            ).alias("api_key"),
        )
        frame = frame.with_columns(self.clients.client_ips(frame))
        frame = frame.with_columns(
            authorization_columns(frame["authorization"], self.fingerprint).rename(lambda c: "_" + c)
        )
        key_fp = fingerprint_values(frame["api_key"], self.fingerprint)
        saw_headers = pl.col("request_headers").is_not_null() | pl.col("authorization").is_not_null()
        frame = frame.with_columns(
            pl.when(pl.col("_auth_scheme").is_not_null())
            .then(pl.col("_auth_scheme"))
            .when(pl.col("api_key").is_not_null())
            .then(pl.lit("api_key"))
            .when(pl.col("remote_user").is_not_null())
            .then(pl.lit("basic"))
            .when(saw_headers)
            .then(pl.lit("none"))
            .otherwise(pl.lit("unknown"))
            .alias("auth_scheme"),
            pl.coalesce(pl.col("principal"), pl.col("_principal"), pl.col("remote_user")).alias("principal"),
            pl.coalesce(pl.col("_credential_fp"), key_fp).alias("credential_fp"),
            pl.when(key_fp.is_not_null()).then(pl.lit("key_") + key_fp.str.slice(0, 12)).alias("api_key_id"),
            *[pl.col("_" + c).alias(c) for c in AUTH_COLUMNS if c not in ("auth_scheme", "principal", "credential_fp")],
        )
        frame = frame.with_columns(partner_column(frame, self.settings.partners))
        frame = frame.with_columns(
            _redact_query(auth.api_key_query_params + auth.secret_query_params),
            drop_json_keys(pl.col("request_headers"), SECRET_HEADERS + auth.api_key_headers),
            drop_json_keys(pl.col("response_headers"), ["set-cookie"]),
            *self._bodies(),
            pl.lit(source).alias("source"),
            pl.lit(source_file).alias("source_file"),
            (pl.lit(first_id + "-") + pl.int_range(pl.len()).cast(pl.String)).alias("event_id"),
        )
        return conform(frame, EVENT_SCHEMA)

    def _bodies(self) -> list[pl.Expr]:
        capture = self.settings.capture
        out = []
        for column in ("request_body", "response_body"):
            body = pl.col(column)
            if capture.body_policy == "drop":
                body = pl.lit(None, dtype=pl.String)
            else:
                body = body.str.slice(0, capture.max_body_bytes)
                if capture.body_policy == "redact":
                    body = body.map_batches(redact_column, return_dtype=pl.String)
            out.append(body.alias(column))
        return out


def _headers(headers: pl.Series, names: list[str]) -> list[pl.Expr]:
    """Extractors for the request headers in ``names`` that occur in this batch at all.

    A cheap substring test over the batch skips a JSON parse per row for every header
    that is configured but absent, which is most of them.
    """
    present = [n for n in names if headers.str.contains(f'"{n}":', literal=True).any()]
    return [pl.col("request_headers").str.json_path_match(f"$['{n}']") for n in present]


def _query_param(name: str) -> pl.Expr:
    return pl.col("query").str.extract(rf"(?i)(?:^|&){_escape(name)}=([^&]*)")


def _redact_query(names: list[str]) -> pl.Expr:
    alternatives = "|".join(_escape(n) for n in names)
    return pl.col("query").str.replace_all(rf"(?i)(^|&)({alternatives})=[^&]*", rf"${{1}}${{2}}={MASK}")


def _escape(name: str) -> str:
    return "".join("\\" + c if not c.isalnum() and c != "_" else c for c in name)


def _strip_ports(peers: pl.Series) -> pl.Series:
    """Peers without ports; only distinct values that carry one are touched."""
    has_port = peers.str.contains(r"^\[|^[^:]+:\d+$")
    if not has_port.any():
        return peers
    fixed = {p: strip_port(p) for p in peers.filter(has_port).unique()}
    return peers.replace(fixed)
