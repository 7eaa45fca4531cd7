"""The canonical API event: one schema that every reader maps onto.

Readers produce a *raw* frame (any subset of :data:`RAW_COLUMNS`); ``normalize``
turns it into a frame with exactly :data:`EVENT_SCHEMA`. Everything downstream of
normalisation reads only the canonical columns.
"""

from __future__ import annotations

import polars as pl

TIMESTAMP = pl.Datetime("us", "UTC")

#: The canonical event schema, in storage order.
EVENT_SCHEMA: dict[str, pl.DataType] = {
    "event_id": pl.String(),  # unique per stored event: "<run id>-<sequence>"
    # keyed hash of the record as read (its bytes, or its request id with time and target):
    # copies of one record share it, so a record read twice is stored once (store.dedup)
    "record_hash": pl.UInt64(),
    "ts": TIMESTAMP,  # request start, UTC, microseconds
    "source": pl.String(),  # reader name: nginx, harl, alb, ...
    "source_file": pl.String(),
    "host": pl.String(),
    "scheme": pl.String(),  # http | https | None when the source does not say
    "method": pl.String(),
    "path": pl.String(),  # raw path, without the query string
    "query": pl.String(),  # query string, secret values replaced by fingerprints
    "status": pl.Int16(),
    "latency_ms": pl.Float64(),
    "request_bytes": pl.Int64(),
    "response_bytes": pl.Int64(),
    "client_ip": pl.String(),  # the real client, after trusted-proxy resolution
    "client_zone": pl.String(),  # internal | external (network.internal_networks) | None if unknown
    "peer_ip": pl.String(),  # the address that connected to the logging component
    "forwarded_for": pl.String(),  # X-Forwarded-For / Forwarded as received
    "user_agent": pl.String(),
    "referer": pl.String(),
    "request_id": pl.String(),
    "auth_scheme": pl.String(),  # none | basic | bearer | api_key | other | unknown
    "principal": pl.String(),  # JWT sub, Basic user, or the remote_user of the log
    "credential_fp": pl.String(),  # keyed fingerprint of the token/key/password
    "api_key_id": pl.String(),  # "key_" + fingerprint prefix
    "login_fp": pl.String(),  # keyed fingerprint of the account name sent to a login/token endpoint
    "session_fp": pl.String(),  # keyed fingerprint of the session cookie (JSESSIONID, session, sid, ...)
    "jwt_alg": pl.String(),
    "jwt_iss": pl.String(),
    "jwt_client_id": pl.String(),
    "jwt_exp": TIMESTAMP,
    "partner": pl.String(),
    "request_content_type": pl.String(),
    "response_content_type": pl.String(),
    "request_headers": pl.String(),  # JSON object of selected headers, secrets removed
    "response_headers": pl.String(),
    "request_body": pl.String(),  # stored per the body policy (redacted by default)
    "response_body": pl.String(),
}

#: A sensitive value found in an event: where, what, and a masked preview and keyed
#: fingerprint — never the value itself.
FINDING_SCHEMA: dict[str, pl.DataType] = {
    "direction": pl.String(),  # request | response | query | path (a header counts as its message's)
    "type": pl.String(),  # card_number, iban, us_ssn, email, phone, jwt, ...
    "field": pl.String(),  # $.accounts[0].iban, or header:x-user-email for a header
    "masked": pl.String(),
    "fingerprint": pl.String(),
    "confidence": pl.Float64(),
    "exposure": pl.String(),  # clear | masked (already masked at the source, e.g. a masked PAN)
    "severity": pl.String(),
    **{c: EVENT_SCHEMA[c] for c in ("event_id", "ts", "host", "method", "path", "status", "client_ip", "client_zone",
                                    "principal", "api_key_id", "partner", "scheme", "auth_scheme")},
}

#: Columns a reader may produce. Secrets (``authorization``, ``api_key``,
#: ``cookie``) are transient: normalisation fingerprints and drops them.
RAW_COLUMNS: dict[str, pl.DataType] = {
    "line_no": pl.Int64(),  # 1-based line (or entry) number in the source file
    "record_hash": pl.UInt64(),  # unkeyed hash of the raw line (readers.base.with_record_hashes)
    "ts": TIMESTAMP,
    "host": pl.String(),
    "scheme": pl.String(),
    "method": pl.String(),
    "target": pl.String(),  # path with optional ?query, or an absolute URL
    "path": pl.String(),
    "query": pl.String(),
    "status": pl.Int64(),
    "latency_ms": pl.Float64(),
    "request_bytes": pl.Int64(),
    "response_bytes": pl.Int64(),
    "peer_ip": pl.String(),
    "forwarded_for": pl.String(),
    "forwarded": pl.String(),  # RFC 7239 Forwarded header
    "user_agent": pl.String(),
    "referer": pl.String(),
    "request_id": pl.String(),
    "remote_user": pl.String(),
    "authorization": pl.String(),
    "api_key": pl.String(),
    "principal": pl.String(),  # when the source names the consumer (e.g. Kong)
    "request_content_type": pl.String(),
    "response_content_type": pl.String(),
    "request_headers": pl.String(),  # JSON object {lower-case name: value}
    "response_headers": pl.String(),
    "request_body": pl.String(),
    "response_body": pl.String(),
}


def empty_events() -> pl.DataFrame:
    """An empty frame with the canonical schema."""
    return pl.DataFrame(schema=EVENT_SCHEMA)


def conform(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Select ``schema``'s columns in order, adding missing ones as nulls and casting."""
    exprs = []
    for name, dtype in schema.items():
        if name in frame.columns:
            exprs.append(pl.col(name).cast(dtype, strict=False))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    return frame.select(exprs)
