"""DLP thresholds over stored findings: bulk receipt raises one alert, once; normal use none."""

from __future__ import annotations

import orjson
from stdnum import luhn

from apisight.config import Settings
from apisight.pipeline import RunRequest, analyze
from apisight.store import Catalog
from apisight.store.alerts import load_alerts


def card(n: int) -> str:
    digits = f"453914{n:09d}"
    return digits + luhn.calc_check_digit(digits)


def entry(minute: int, second: int, client: str, pan: str) -> str:
    return orjson.dumps({
        "startedDateTime": f"2026-11-28T10:{minute:02d}:{second:02d}.000Z", "time": 5, "_clientIP": client,
        "request": {"method": "GET", "url": f"https://api.bank.example/v2/cards/{pan[-6:]}", "headers": [],
                    "bodySize": 0},
        "response": {"status": 200, "headers": [],
                     "content": {"size": 30, "mimeType": "application/json", "text": orjson.dumps({"pan": pan}).decode()},
                     "bodySize": 30},
    }).decode()


def run(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    settings = Settings.model_validate({"sensitive": {"dlp": [
        {"name": "bulk-cards", "types": ["card_number"], "distinct_values": 50, "window_minutes": 10},
    ]}})
    return analyze(RunRequest([str(path)], tmp_path / "d", settings))


def alerts(tmp_path):
    with Catalog(tmp_path / "d", read_only=True) as catalog:
        return load_alerts(catalog.db).to_dicts()


def test_a_scraper_is_alerted_once_and_normal_clients_never(tmp_path):
    scraper = [entry(2, s % 60, "203.0.113.66", card(i)) for i, s in enumerate(range(0, 120, 2))]  # 60 cards, 2 min
    normal = [entry(m, 0, f"198.51.100.{m}", card(1000 + m)) for m in range(40)]  # one card each
    summary = run(tmp_path, "a.harl", scraper + normal)
    assert summary["alerts"]["dlp"] == 1
    (alert,) = alerts(tmp_path)
    evidence = orjson.loads(alert["evidence"])
    assert alert["entity"] == "203.0.113.66" and alert["entity_kind"] == "ip" and alert["detector"] == "dlp"
    assert evidence["distinct_values"] == 60 and evidence["rule"] == "bulk-cards"
    assert card(0) not in str(alert)
    assert run(tmp_path, "b.harl", normal)["alerts"]["dlp"] == 0  # the same incident is not raised again
    assert len(alerts(tmp_path)) == 1


def test_a_burst_across_a_window_boundary_is_still_caught(tmp_path):
    # 60 cards between 10:07 and 10:12:55: 10-minute windows aligned at :00 see ~30 + ~30
    burst = [entry(7 + i // 12, (i % 12) * 5, "203.0.113.77", card(5000 + i)) for i in range(60)]
    assert run(tmp_path, "a.harl", burst)["alerts"]["dlp"] == 1


def test_below_the_threshold_nothing_is_raised(tmp_path):
    few = [entry(1, i, "203.0.113.88", card(9000 + i)) for i in range(50)]  # exactly the threshold
    assert run(tmp_path, "a.harl", few)["alerts"]["dlp"] == 0
