"""Posture weaknesses in the demo bank, each with a close look-alike that must stay clean.

:func:`plant` returns the labels (``labels/posture.jsonl``: one line per expected finding
and per clean look-alike) and the skeletons of the requests that carry the planted
weaknesses. Some weaknesses come from traffic the demo has anyway — the behavioural
scenarios (an enumeration of sequential account ids, a stolen token, the beta and legacy
app builds) and the baseline (partners read accounts by sequential id); :data:`EXISTING`
labels those.
"""

from __future__ import annotations

import zlib

import numpy as np
import polars as pl

from apisight.demo import bank
from apisight.demo.endpoints import ENDPOINTS
from apisight.demo.population import Population
from apisight.demo.posture import partner, retail
from apisight.demo.posture.labels import ANY, CLEAN, FINDING, PostureLabel, read_labels, write_labels
from apisight.demo.scenarios.probing import BFLA_PROBES

__all__ = ["BUILDERS", "EXISTING", "PostureLabel", "plant", "read_labels", "write_labels"]

R, P, I = bank.RETAIL_HOST, bank.PARTNER_HOST, bank.INTERNAL_HOST
OB = "/open-banking/v3.1"

#: Each builder draws from its own generator, keyed by its name: adding one changes no other.
BUILDERS = (*retail.BUILDERS, *partner.BUILDERS)

EXISTING: tuple[PostureLabel, ...] = (
    PostureLabel("bola_prone_ids", R, "GET", "/v2/accounts/{account_id}", FINDING,
                 "sequential account ids; one customer reads 400 of them (bola_enumeration scenario)"),
    PostureLabel("bola_prone_ids", R, "GET", "/v2/accounts/{account_id}/transactions", FINDING,
                 "sequential account ids; the business customer reads the transactions of 20+ accounts"),
    *(PostureLabel("bola_prone_ids", P, "GET", f"{OB}/aisp/accounts/{{account_id}}{tail}", FINDING,
                   "sequential account ids; each partner key reads many of them")
      for tail in ("", "/balances", "/transactions")),
    PostureLabel("bola_prone_ids", R, "GET", "/v2/accounts/{account_id}/statements/export", CLEAN,
                 "sequential account ids, but every customer exports only their own account"),
    PostureLabel("bola_prone_ids", P, "GET", f"{OB}/pisp/domestic-payments/{{payment_id}}", CLEAN,
                 "read in bulk by partner keys, but the ids are random UUIDs"),
    PostureLabel("bola_prone_ids", I, "GET", "/internal/v1/customers/{customer_id}", CLEAN,
                 "sequential ids read in bulk by internal services, east-west; no end user's credential"),
    PostureLabel("bola_prone_ids", I, "GET", "/internal/v1/accounts/{account_id}/ledger", CLEAN,
                 "sequential ids read in bulk by the statements batch, east-west; no end user's credential"),
    PostureLabel("shadow_endpoint", R, "GET", "/v2/beta/spending-insights/{account_id}", FINDING,
                 "a beta app build calls it and no spec documents it (shadow_endpoint scenario)"),
    *(PostureLabel("shadow_endpoint", R, method, path, CLEAN,
                   f"only the BFLA probe asks for it, and it is answered {status} every time: "
                   f"no such {'endpoint' if status == 404 else 'operation'}")
      for method, path, status, *_ in BFLA_PROBES if status in (404, 405)),
    PostureLabel("zombie_endpoint", R, "GET", "/v1/customers/me", FINDING,
                 "deprecated for /v2/customers/me, still called by app builds 4.2.1"),
    PostureLabel("zombie_endpoint", R, "GET", "/v2/customers/me", CLEAN, "the documented successor"),
    PostureLabel("zombie_endpoint", R, "POST", "/v1/auth/login", CLEAN, "a v1 path without any successor"),
    PostureLabel("token_shared_by_many_clients", R, ANY, ANY, FINDING,
                 "a customer's session token replayed from 25 addresses (token_theft scenario)"),
    PostureLabel("missing_security_headers", R, "GET", "/v2/cards/{card_id}", FINDING,
                 "full card numbers sent with Cache-Control: private, max-age=300"),
    PostureLabel("missing_security_headers", R, "GET", "/v2/notifications", FINDING,
                 "Access-Control-Allow-Origin: * with Access-Control-Allow-Credentials: true"),
    PostureLabel("missing_security_headers", R, "GET", "/v2/customers/me", CLEAN,
                 "personal data sent with Cache-Control: no-store"),
    PostureLabel("missing_security_headers", R, "GET", "/v2/accounts", CLEAN,
                 "credentials allowed for the bank's own web origin only, no-store"),
)


def plant(pop: Population, seed: int) -> tuple[list[PostureLabel], dict[str, pl.DataFrame]]:
    """Every posture label, and the planted requests' skeletons by host (not yet rendered)."""
    labels = list(EXISTING)
    by_host: dict[str, list[pl.DataFrame]] = {}
    hosts = pl.Series([e.host for e in ENDPOINTS])
    for build in BUILDERS:
        found, skeleton = build(pop, np.random.default_rng([seed, 300, zlib.crc32(build.__name__.encode())]))
        labels += found
        skeleton = skeleton.with_columns(_host=hosts[skeleton["ep"].cast(pl.Int64)])
        for (host,), part in skeleton.partition_by("_host", as_dict=True).items():
            by_host.setdefault(str(host), []).append(part.drop("_host"))
    skeletons = {h: pl.concat(parts, how="diagonal_relaxed").sort("ts", maintain_order=True)
                 for h, parts in by_host.items()}
    return sorted(labels, key=lambda x: (x.check, x.expected, x.host, x.template, x.method)), skeletons
