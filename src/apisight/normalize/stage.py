"""The normalisation stage: one reader batch in, canonical events out."""

from __future__ import annotations

import polars as pl

from apisight.config import AuthSettings, Settings
from apisight.events import EVENT_SCHEMA, FINDING_SCHEMA, RAW_COLUMNS, conform
from apisight.fingerprints import Fingerprinter
from apisight.normalize.auth import (
    AUTH_COLUMNS,
    CredentialMemo,
    authorization_columns,
    fingerprint_values,
    looks_like_key,
)
from apisight.normalize.clientip import ClientResolver, strip_port
from apisight.normalize.identity import record_hash
from apisight.normalize.login import login_fingerprints, session_fingerprints
from apisight.normalize.networks import client_zone
from apisight.normalize.partners import partner_column
from apisight.normalize.redact import SECRET_NAME, drop_json_keys, escape_name, redact_column, redact_params
from apisight.normalize.target import split_target
from apisight.sensitive.stage import SensitiveStage

#: Characters redacted before bodies are cut to ``max_body_bytes``, beyond that limit:
#: enough that a secret reaching past the cut is seen whole (or cut off at the end of
#: the text, which the rules also mask) without scanning megabytes that are dropped.
REDACT_MARGIN = 16 * 1024


class Normalizer:
    """Maps raw reader frames onto :data:`apisight.events.EVENT_SCHEMA`.

    Secrets are fingerprinted and dropped here, so nothing after this stage (and
    nothing on disk) ever holds a token, API key or password in clear: credential
    headers are fingerprinted; the headers in ``auth.dropped_headers()`` and those
    whose names say secret (:data:`~apisight.normalize.redact.SECRET_NAME`) are not
    stored; secret parameters are masked in the query, path, referer and URLs in
    header values; bodies are redacted before they are cut.
    """

    def __init__(
        self, settings: Settings, fingerprint: Fingerprinter, sensitive: SensitiveStage | None = None
    ) -> None:
        self.settings = settings
        self.fingerprint = fingerprint
        self.clients = ClientResolver(settings.network.trusted_proxies, settings.network.forwarded_header)
        self.sensitive = sensitive
        self.credentials = CredentialMemo()  # Authorization values already inspected, across batches
        self.record_seed = fingerprint.seed("record_hash")

    def __call__(self, raw: pl.DataFrame, *, source: str, source_file: str, first_id: str) -> pl.DataFrame:
        """Normalise ``raw``; event ids are ``first_id`` followed by a row number."""
        return self.normalize(raw, source=source, source_file=source_file, first_id=first_id)[0]

    def normalize(
        self, raw: pl.DataFrame, *, source: str, source_file: str, first_id: str
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Canonical events, and the sensitive values found in them (empty without a scanner).

        Findings carry the event's id, time, endpoint and client, never the value.
        """
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
            pl.coalesce(pl.lit(None, pl.String), *_headers(headers, CLIENT_CERT_HEADERS)).alias("_client_cert"),
        )
        frame = frame.with_columns(self.clients.client_ips(frame))
        frame = frame.with_columns(client_zone(frame["client_ip"], self.settings.network.internal_networks))
        frame = frame.with_columns(
            authorization_columns(frame["authorization"], self.fingerprint, self.credentials)
            .rename(lambda c: "_" + c)
        )
        key_fp = fingerprint_values(frame["api_key"], self.fingerprint)
        # nginx/Apache $remote_user is the Basic user, which some services fill with the key
        user_is_key = _key_like(frame["remote_user"])
        key_users = frame.select(pl.when(user_is_key).then(pl.col("remote_user"))).to_series()
        user_fp = fingerprint_values(key_users, self.fingerprint)
        remote_user = pl.when(~user_is_key).then(pl.col("remote_user"))
        saw_headers = pl.col("request_headers").is_not_null() | pl.col("authorization").is_not_null()
        frame = frame.with_columns(
            pl.when(pl.col("_auth_scheme").is_not_null())
            .then(pl.col("_auth_scheme"))
            .when(pl.col("api_key").is_not_null())
            .then(pl.lit("api_key"))
            .when(pl.col("_client_cert").is_not_null())
            .then(pl.lit("mtls"))
            .when(pl.col("remote_user").is_not_null())
            .then(pl.lit("basic"))
            .when(saw_headers)
            .then(pl.lit("none"))
            .otherwise(pl.lit("unknown"))
            .alias("auth_scheme"),
            pl.coalesce(pl.col("principal"), pl.col("_principal"), _certificate_cn(pl.col("_client_cert")), remote_user)
            .alias("principal"),
            pl.coalesce(pl.col("_credential_fp"), key_fp, user_fp).alias("credential_fp"),
            pl.when(key_fp.is_not_null()).then(pl.lit("key_") + key_fp.str.slice(0, 12)).alias("api_key_id"),
            *[pl.col("_" + c).alias(c) for c in AUTH_COLUMNS if c not in ("auth_scheme", "principal", "credential_fp")],
        )
        cookie = _headers(headers, ["cookie"])
        cookies = frame.select(cookie[0]).to_series() if cookie else pl.Series([None] * frame.height, dtype=pl.String)
        frame = frame.with_columns(
            partner_column(frame, self.settings.partners), login_fingerprints(frame, self.fingerprint),
            session_fingerprints(cookies, self.fingerprint),
        )
        frame = frame.with_columns(
            (pl.lit(first_id + "-") + pl.int_range(pl.len()).cast(pl.String)).alias("event_id"),
            record_hash(self.record_seed),
        )
        findings = None
        dropped = auth.dropped_headers()
        if self.sensitive is not None:  # on raw values, before anything below masks or cuts them
            # except headers never stored: they carry credentials by design (fingerprinted
            # above), and scanning them would only find every token again
            frame = frame.with_columns(drop_json_keys(pl.col(c), dropped) for c in HEADER_MAPS)
            dropped = []
            frame, findings = self.sensitive(frame)
        params = auth.secret_params()
        frame = frame.with_columns(
            redact_params(pl.col("query"), params),
            redact_params(pl.col("path"), params, stop=";/?#&"),  # matrix params: ;jsessionid=
            redact_params(pl.col("referer"), params),
            # URLs in header values: Location (OAuth code, implicit-flow #access_token), Referer
            *[
                redact_params(drop_json_keys(pl.col(c), dropped, pattern=SECRET_NAME), params, stop='&;#"\\')
                for c in HEADER_MAPS
            ],
            *self._bodies(),
            pl.lit(source).alias("source"),
            pl.lit(source_file).alias("source_file"),
        )
        events = conform(frame, EVENT_SCHEMA)
        return events, _with_context(findings, events)

    def _bodies(self) -> list[pl.Expr]:
        capture = self.settings.capture
        out = []
        for column in ("request_body", "response_body"):
            body = pl.col(column)
            if capture.body_policy == "drop":
                body = pl.lit(None, dtype=pl.String)
            elif capture.body_policy == "redact":
                # redact, then cut: a secret split by the cut would be half-stored otherwise
                body = body.str.slice(0, capture.max_body_bytes + REDACT_MARGIN)
                body = body.map_batches(redact_column, return_dtype=pl.String)
                body = body.str.slice(0, capture.max_body_bytes)
            else:
                body = body.str.slice(0, capture.max_body_bytes)
            out.append(body.alias(column))
        return out


HEADER_MAPS = ("request_headers", "response_headers")

#: Headers in which TLS-terminating proxies pass the verified client certificate on.
CLIENT_CERT_HEADERS = [
    "x-forwarded-client-cert",  # Envoy XFCC: By=...;Hash=...;Subject="CN=partner-a,O=Acme"
    "x-ssl-client-s-dn",  # nginx $ssl_client_s_dn forwarded by convention
    "ssl-client-subject-dn",
    "x-client-cert-subject",
    "x-ssl-client-cert",
    "x-client-cert",
    "x-arr-clientcert",  # Azure App Service
    "x-amzn-mtls-clientcert",  # AWS ALB mTLS passthrough
]


def credential_headers(auth: AuthSettings) -> list[str]:
    """Headers that carry credentials by design, so the sensitive stage reports nothing in
    them: those never stored (``auth.dropped_headers()``: authorization, cookies, API-key and
    secret headers), ``proxy-authorization``, and the client-certificate headers."""
    return list(dict.fromkeys([*auth.dropped_headers(), "proxy-authorization", *CLIENT_CERT_HEADERS]))


#: Event columns each sensitive finding carries, for the data map and the flows view.
FINDING_CONTEXT = ["event_id", "ts", "host", "method", "path", "status", "client_ip", "client_zone", "principal",
                   "api_key_id", "partner", "scheme", "auth_scheme"]


def _with_context(findings: pl.DataFrame | None, events: pl.DataFrame) -> pl.DataFrame:
    if findings is None or findings.height == 0:
        return pl.DataFrame()
    context = events.select(FINDING_CONTEXT).with_row_index("row").with_columns(pl.col("row").cast(pl.Int64))
    return conform(findings.join(context, on="row", how="left"), FINDING_SCHEMA)


def _certificate_cn(cert: pl.Expr) -> pl.Expr:
    """The subject's common name, when the header carries a subject DN (not a whole PEM)."""
    return cert.str.extract(r"(?i)(?:^|[\s,;/\"=])CN=([^,;/\"]+)")


def _headers(headers: pl.Series, names: list[str]) -> list[pl.Expr]:
    """Extractors for the request headers in ``names`` that occur in this batch at all.

    A cheap substring test over the batch skips a JSON parse per row for every header
    that is configured but absent, which is most of them.
    """
    present = [n for n in names if headers.str.contains(f'"{n}":', literal=True).any()]
    return [pl.col("request_headers").str.json_path_match(f"$['{n}']") for n in present]


def _query_param(name: str) -> pl.Expr:
    return pl.col("query").str.extract(rf"(?i)(?:^|&){escape_name(name)}=([^&]*)")


def _key_like(users: pl.Series) -> pl.Series:
    """Whether each user name looks like an API key (false where there is none)."""
    unique = users.drop_nulls().unique()
    lookup = {u: looks_like_key(u) for u in unique}
    return users.replace_strict(lookup, default=False, return_dtype=pl.Boolean)


def _strip_ports(peers: pl.Series) -> pl.Series:
    """Peers without ports; only distinct values that carry one are touched."""
    has_port = peers.str.contains(r"^\[|^[^:]+:\d+$")
    if not has_port.any():
        return peers
    fixed = {p: strip_port(p) for p in peers.filter(has_port).unique()}
    return peers.replace(fixed)
