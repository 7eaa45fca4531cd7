"""Record identity: the keyed hash by which the store recognises a record it already holds.

A record read twice (a re-run, ``access.log`` beside an overlapping ``access.log.1``)
has the same identity both times: the hash of its raw bytes, which readers attach
(:func:`apisight.readers.base.with_record_hashes`), or, where the log names the request
(a request id), the id with the request's time and target, which survives a log
re-exported with its fields in another order. The time and target are part of it
because request ids may come from clients: a client repeating one id must not make
distinct requests look like copies.

The hash is keyed (seeded from the installation's fingerprint key), so a stored hash
cannot be used to test guesses of a line's content, a password in it say, without the key.
"""

from __future__ import annotations

import polars as pl
import polars_hash as plh

#: Separates the parts of a request-id identity (a byte no log field carries).
_SEP = "\x1f"


def record_hash(seed: int) -> pl.Expr:
    """The stored ``record_hash`` of each row of a raw frame after target splitting."""
    request_id = pl.col("request_id")
    named = request_id.is_not_null() & ~request_id.is_in(["", "-"])
    by_request = plh.concat_str(
        pl.lit("request"), request_id, pl.col("ts").cast(pl.String), pl.col("method"), pl.col("host"),
        pl.col("path"), pl.col("query"), separator=_SEP, ignore_nulls=True,
    ).nchash.xxh3_64(seed=seed)
    by_bytes = plh.col("record_hash").cast(pl.String).nchash.xxh3_64(seed=seed)  # type: ignore[attr-defined]
    return pl.when(named).then(by_request).otherwise(by_bytes).alias("record_hash")
