"""Labelled scenarios injected into the DemoBank traffic: attacks, and benign look-alikes.

Each builder returns a :class:`Scenario` (which detector — its ``kind`` — should or
should not alert about which entity) and a skeleton of the scenario's requests, every
row labelled with the scenario name. Benign look-alikes (``kind="benign"``,
``expected="no_alert"``) are deliberately close to an attack, to measure false alerts.
"""

from __future__ import annotations

from apisight.demo.scenarios.access import bola_enumeration, business_customer, token_theft
from apisight.demo.scenarios.apps import ROLLOUT, deprecated_endpoint, mobile_retry_storm, shadow_endpoint
from apisight.demo.scenarios.base import Builder, Scenario
from apisight.demo.scenarios.logins import (
    account_takeover,
    brute_force,
    credential_stuffing,
    distributed_stuffing,
    forgetful_user,
    marketing_spike,
)
from apisight.demo.scenarios.partners import partner_nightly_batch, scraping, volume_abuse
from apisight.demo.scenarios.probing import bfla_probing, error_probing

__all__ = ["BUILDERS", "ROLLOUT", "Builder", "Scenario"]

#: Every scenario the demo injects. Builder ``i`` draws from ``default_rng([seed, 100 + i])``,
#: so new builders go at the end: reordering would change every scenario after it.
BUILDERS: tuple[Builder, ...] = (
    credential_stuffing, distributed_stuffing, brute_force, account_takeover, bola_enumeration, scraping,
    shadow_endpoint, deprecated_endpoint,
    # attacks
    bfla_probing, error_probing, volume_abuse, token_theft,
    # benign look-alikes
    partner_nightly_batch, mobile_retry_storm, marketing_spike, business_customer, forgetful_user,
)
