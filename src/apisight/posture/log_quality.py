"""How good are the logs? Field coverage, client-address reality, clocks, and maturity.

:func:`assess_logs` turns three aggregate queries (``store.log_quality``) into a
:class:`LogQualityReport`: per (source, host) stream, which fields are present and how
often, the timestamp precision, whether the client address is really a proxy, clock
problems, each gap with what it prevents and the setting that fixes it (the table of
gap kinds is :data:`apisight.posture.log_gaps.GAP_KINDS`), and a maturity level
(1 visibility of logs … 5 investigation) with the reasons.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apisight.posture.log_gaps import GAP_KINDS, Fix
from apisight.store import Catalog
from apisight.store import log_quality as queries

#: A field counts as logged when at least this share of the events carries it.
PRESENT = 0.5
#: Inventory needs method, path and status on nearly every event.
INVENTORY_FIELDS = 0.9
#: Timestamps further than this past "now" are in the future.
FUTURE_TOLERANCE = timedelta(days=1)
#: Sources of one host whose time ranges differ by more than this disagree.
SKEW_LIMIT = timedelta(days=1)
#: Calendar days of stored history that investigation needs (retention.days keeps this many).
INVESTIGATION_DAYS = 30
#: Streams smaller than this are too small to judge their client addresses.
MIN_EVENTS_FOR_ADDRESSES = 10

STAGES = {
    0: "no logs",
    1: "visibility of logs",
    2: "inventory",
    3: "risk audit",
    4: "detection & response",
    5: "investigation",
}

# (field name in the report, column of the coverage query, denominator column)
_FIELDS = (
    ("client_ip", "client_ip", "events"),
    ("principal", "principal", "maybe_authenticated"),
    ("api_key_id", "api_key_id", "maybe_authenticated"),
    ("identity", "identity", "maybe_authenticated"),
    ("latency", "latency", "events"),
    ("request_bytes", "request_bytes", "events"),
    ("response_bytes", "response_bytes", "events"),
    ("query", "query", "events"),
    ("request_headers", "request_headers", "events"),
    ("bodies", "bodies", "events"),
)


@dataclass(frozen=True)
class FieldCoverage:
    """How many of the relevant events carry a field (``of``: events that could)."""

    name: str
    present: int
    of: int
    rate: float


@dataclass(frozen=True)
class Gap:
    """One weakness of the logs: what it is, what it prevents, how to fix it."""

    id: str
    source: str
    host: str
    severity: str
    title: str
    evidence: str
    prevents: str
    fixes: tuple[Fix, ...]


@dataclass(frozen=True)
class ClientAddresses:
    """How concentrated and how private the client addresses of a stream are.

    ``verdict``: ``real`` (looks like real clients), ``proxy`` (few private or CDN
    addresses while X-Forwarded-For varies), ``suspected_proxy`` (few private addresses,
    no X-Forwarded-For logged), ``missing`` (no client address) or ``too_few_events``.
    """

    distinct_clients: int
    top_addresses: tuple[str, ...]
    top5_share: float
    private_share: float
    forwarded_for_share: float
    distinct_forwarded_for: int
    verdict: str


@dataclass(frozen=True)
class Maturity:
    """A level in the five stages, the stage's name, and why."""

    level: int
    stage: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class StreamQuality:
    """The quality of one (source, host) stream of events."""

    source: str
    host: str
    events: int
    fields: tuple[FieldCoverage, ...]
    timestamp_precision: str  # seconds | milliseconds | microseconds
    first_event: datetime | None
    last_event: datetime | None
    history_days: float
    future_events: int
    client_addresses: ClientAddresses
    gaps: tuple[Gap, ...]
    maturity: Maturity

    def field(self, name: str) -> FieldCoverage:
        return next(f for f in self.fields if f.name == name)


@dataclass(frozen=True)
class LogQualityReport:
    """Per-stream quality, cross-source clock findings and the overall maturity."""

    generated_at: datetime
    streams: tuple[StreamQuality, ...]
    clock: tuple[Gap, ...]  # findings that compare two sources of one host
    maturity: Maturity

    @property
    def gaps(self) -> tuple[Gap, ...]:
        """Every gap: per-stream ones first, then the cross-source clock findings."""
        return tuple(g for s in self.streams for g in s.gaps) + self.clock

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes as ISO 8601 strings, tuples as lists."""
        return _jsonable(dataclasses.asdict(self))  # type: ignore[no-any-return]


def assess_logs(catalog: Catalog, now: datetime | None = None) -> LogQualityReport:
    """Assess the stored events of ``catalog``; ``now`` (default: the wall clock) dates
    the report and is where "the future" starts (plus one day)."""
    now = now or datetime.now(UTC)
    coverage = queries.field_coverage(catalog.db)
    addresses = {(r["source"], r["host"]): r for r in queries.client_addresses(catalog.db)}
    clocks = {(r["source"], r["host"]): r for r in queries.clock_ranges(catalog.db, now + FUTURE_TOLERANCE)}
    streams = tuple(
        _stream(row, addresses.get((row["source"], row["host"])), clocks.get((row["source"], row["host"])))
        for row in coverage
    )
    clock = tuple(_compare_clocks(list(clocks.values())))
    return LogQualityReport(now, streams, clock, _overall(streams))


def _stream(row: dict[str, Any], addr: dict[str, Any] | None, clock: dict[str, Any] | None) -> StreamQuality:
    source, host, events = row["source"], row["host"], row["events"]
    fields = tuple(
        FieldCoverage(name, row[col], row[den], _rate(row[col], row[den])) for name, col, den in _FIELDS
    )
    precision = (
        "microseconds" if row["sub_millisecond"] else "milliseconds" if row["sub_second"] else "seconds"
    )
    profile = _client_profile(addr, events)
    first = _utc(clock["first_event"]) if clock else None
    last = _utc(clock["last_event"]) if clock else None
    history = (last - first).total_seconds() / 86400 if first and last else 0.0
    # calendar days, as retention counts them
    days = (last.date() - first.date()).days + 1 if first and last else 0
    cov = {f.name: f for f in fields}
    gaps: list[Gap] = []

    def gap(kind: str, evidence: str) -> None:
        gaps.append(_gap(kind, source, host, evidence))

    if profile.verdict == "missing":
        gap("no_client_ip", f"{_pct(cov['client_ip'].rate)} of {events} events carry a client address")
    elif profile.verdict == "proxy":
        gap(
            "client_ip_is_proxy",
            f"{_pct(profile.top5_share)} of events come from {profile.distinct_clients} address(es) "
            f"({', '.join(profile.top_addresses)}), {_pct(profile.private_share)} private, while "
            f"X-Forwarded-For takes {profile.distinct_forwarded_for} distinct values; set network.trusted_proxies "
            f"to these proxies' ranges",
        )
    elif profile.verdict == "suspected_proxy":
        gap(
            "client_ip_maybe_proxy",
            f"{_pct(profile.top5_share)} of events come from {profile.distinct_clients} private address(es) "
            f"({', '.join(profile.top_addresses)}) and no X-Forwarded-For is logged",
        )
    if cov["identity"].rate < PRESENT:
        what = "no principal or API key" if cov["identity"].present == 0 else "identity on few events"
        gap(
            "no_principal",
            f"{what}: {cov['principal'].present} of {cov['principal'].of} possibly authenticated "
            f"events name a principal, {cov['api_key_id'].present} an API key",
        )
    if precision == "seconds":
        gap("coarse_timestamps", f"none of {events} timestamps has a fractional second")
    for name, kind in (("latency", "no_latency"), ("request_headers", "no_headers"), ("bodies", "no_bodies")):
        if cov[name].rate < PRESENT:
            gap(kind, f"{_pct(cov[name].rate)} of {events} events carry {name.replace('_', ' ')}")
    sizes = [n for n in ("request_bytes", "response_bytes") if cov[n].rate < PRESENT]
    if sizes:
        gap(
            "no_sizes",
            f"missing or rare: {', '.join(sizes)} ({', '.join(_pct(cov[n].rate) for n in sizes)} of events)",
        )
    if cov["query"].present == 0 and events >= MIN_EVENTS_FOR_ADDRESSES:
        gap("no_query", f"none of {events} events has a query string")
    future = clock["future"] if clock else 0
    if future:
        gap(
            "future_timestamps",
            f"{future} of {events} events are more than a day after the report time "
            f"(latest {last.isoformat() if last else '?'})",
        )
    if clock and clock["before_2000"]:
        gap("implausible_past", f"{clock['before_2000']} of {events} events are dated before 2000")
    maturity = _maturity(row, cov, profile, precision, days)
    return StreamQuality(
        source,
        host,
        events,
        fields,
        precision,
        first,
        last,
        round(history, 3),
        future,
        profile,
        tuple(gaps),
        maturity,
    )


def _client_profile(addr: dict[str, Any] | None, events: int) -> ClientAddresses:
    if addr is None:
        return ClientAddresses(0, (), 0.0, 0.0, 0.0, 0, "missing")
    with_ip = addr["with_client_ip"]
    top5 = _rate(addr["top5_events"], with_ip)
    private = _rate(addr["private_events"], with_ip)
    xff_share = _rate(addr["with_forwarded_for"], events)
    distinct_clients, distinct_xff = addr["distinct_clients"], addr["distinct_forwarded_for"]
    few = top5 >= 0.8
    xff_varies = xff_share >= PRESENT and distinct_xff >= max(3, 2 * distinct_clients)
    if _rate(with_ip, events) < PRESENT:
        verdict = "missing"
    elif events < MIN_EVENTS_FOR_ADDRESSES:
        verdict = "too_few_events"
    elif few and xff_varies:  # private LB or public CDN: either way the header holds the clients
        verdict = "proxy"
    elif few and private >= 0.8 and addr["with_forwarded_for"] == 0:
        verdict = "suspected_proxy"
    else:
        verdict = "real"
    return ClientAddresses(
        distinct_clients, tuple(addr["top_addresses"]), top5, private, xff_share, distinct_xff, verdict
    )


def _maturity(
    row: dict[str, Any], cov: dict[str, FieldCoverage], profile: ClientAddresses, precision: str, days: int
) -> Maturity:
    events = row["events"]
    inventory = min(_rate(row["method"], events), _rate(row["path"], events), _rate(row["status"], events))
    bodies = cov["bodies"].rate >= PRESENT
    identity = cov["identity"].rate >= PRESENT
    clients = profile.verdict in ("real", "too_few_events")
    fine_time = precision != "seconds"
    long_history = days >= INVESTIGATION_DAYS
    reasons = [f"{events} events logged"]
    if inventory < INVENTORY_FIELDS:
        reasons.append(
            f"method, path or status missing on {_pct(1 - inventory)} of events: no reliable inventory"
        )
        return Maturity(1, STAGES[1], tuple(reasons))
    reasons.append("method, path and status on nearly every event: endpoints can be inventoried")
    if not (bodies or identity):
        reasons.append(
            "no bodies and no principal/API key: risk audit (sensitive data, per-user access) not possible"
        )
        return Maturity(2, STAGES[2], tuple(reasons))
    reasons.append(
        "bodies present: sensitive data and exposure can be audited"
        if bodies
        else "principal/API key present: access can be audited per identity"
    )
    missing = [
        what
        for ok, what in (
            (identity, "principal/API key"),
            (clients, "real client IP"),
            (fine_time, "sub-second timestamps"),
        )
        if not ok
    ]
    if missing:
        reasons.append(f"detection & response needs {', '.join(missing)}")
        return Maturity(3, STAGES[3], tuple(reasons))
    reasons.append("identity, real client IP and sub-second timestamps: per-client detection works")
    missing = [
        what
        for ok, what in (
            (bodies, "bodies"),
            (long_history, f"≥ {INVESTIGATION_DAYS} days of history (have {days})"),
        )
        if not ok
    ]
    if missing:
        reasons.append(f"investigation needs {', '.join(missing)}")
        return Maturity(4, STAGES[4], tuple(reasons))
    reasons.append(f"bodies and {days} days of history: incidents can be reconstructed")
    return Maturity(5, STAGES[5], tuple(reasons))


def _overall(streams: tuple[StreamQuality, ...]) -> Maturity:
    """The highest level that streams carrying at least half of all events reach."""
    total = sum(s.events for s in streams)
    if not total:
        return Maturity(0, STAGES[0], ("no events stored: run `apisight analyze` first",))
    level = max(
        lv for lv in range(1, 6) if sum(s.events for s in streams if s.maturity.level >= lv) * 2 >= total
    )
    covered = sum(s.events for s in streams if s.maturity.level >= level)
    reasons = [f"{covered} of {total} events come from streams at level {level} or above"]
    below = [s for s in streams if s.maturity.level == level]
    if below:
        biggest = max(below, key=lambda s: s.events)
        reasons.append(
            f"largest such stream ({biggest.source} {biggest.host or '(no host)'}): "
            + "; ".join(biggest.maturity.reasons[1:])
        )
    return Maturity(level, STAGES[level], tuple(reasons))


def _compare_clocks(clocks: list[dict[str, Any]]) -> list[Gap]:
    """Findings for pairs of sources of one host whose clocks disagree."""
    gaps = []
    for i, a in enumerate(clocks):
        for b in clocks[i + 1 :]:
            if a["host"] != b["host"] or a["source"] == b["source"]:
                continue
            offsets = [
                (_utc(b[k]) - _utc(a[k])).total_seconds()
                for k in ("first_event", "median_event", "last_event")
            ]
            median = offsets[1]
            pair = f"{a['source']}, {b['source']}"
            hours = round(median / 3600)
            consistent = max(offsets) - min(offsets) <= 600
            if abs(median) > SKEW_LIMIT.total_seconds():
                gaps.append(
                    _gap(
                        "clock_skew",
                        pair,
                        a["host"],
                        f"{b['source']} events are {median / 86400:+.1f} days from {a['source']} events "
                        f"(median to median) for the same host",
                    )
                )
            elif consistent and 1 <= abs(hours) <= 14 and abs(median - hours * 3600) <= 300:
                gaps.append(
                    _gap(
                        "timezone_offset",
                        pair,
                        a["host"],
                        f"{b['source']} first, median and last events are all {hours:+d} h from "
                        f"{a['source']}'s: one source probably logs local time as UTC",
                    )
                )
    return gaps


def _gap(kind: str, source: str, host: str, evidence: str) -> Gap:
    spec = GAP_KINDS[kind]
    own = [f for f in spec.fixes if f.where == source]  # the stream's own gateway first
    fixes = tuple(Fix(f.where, f.setting) for f in own + [f for f in spec.fixes if f.where != source])
    return Gap(kind, source, host, spec.severity, spec.title, evidence, spec.prevents, fixes)


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _pct(rate: float) -> str:
    return f"{rate:.0%}"


def _utc(ts: datetime) -> datetime:
    return ts.astimezone(UTC)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
