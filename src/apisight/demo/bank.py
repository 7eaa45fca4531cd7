"""DemoBank: hosts, clients and the fixed time window of the demo traffic.

Everything here is constant data; the endpoint catalogue lives in
:mod:`apisight.demo.endpoints`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

RETAIL_HOST = "api.demobank.example"
PARTNER_HOST = "openbanking.demobank.example"
INTERNAL_HOST = "core.internal.demobank.example"
HOSTS = (RETAIL_HOST, PARTNER_HOST, INTERNAL_HOST)

#: The demo covers three whole days ending at this fixed instant (UTC).
END = datetime(2026, 11, 28, tzinfo=UTC)
DAYS = 3
START = END - timedelta(days=DAYS)
US = 1_000_000
DAY_US = 86_400 * US
HOUR_US = 3_600 * US
START_US = int(START.timestamp()) * US
END_US = int(END.timestamp()) * US

#: The moment the retail API rolls out a new response field for every client at once.
ROLLOUT_US = START_US + DAY_US + 9 * HOUR_US + 30 * 60 * US

#: Seed of the demo identity provider's Ed25519 signing key. Not a secret: it is published here.
JWT_KEY_SEED = "demobank-demo-signing-key-not-for-production"
JWT_ISSUER = "https://id.demobank.example/"

#: Relative traffic per hour of day (UTC) for each host: quiet nights, busy days.
DIURNAL = {
    RETAIL_HOST: (2, 1.2, 0.8, 0.6, 0.6, 1, 2.5, 5, 7, 8, 8.5, 9, 10, 9.5, 8.5, 8, 8, 8.5, 9, 9.5, 9, 7, 5, 3),
    PARTNER_HOST: (3, 3, 4, 3, 2, 2, 3, 5, 7, 9, 10, 10, 9, 9, 10, 10, 9, 7, 5, 4, 4, 3, 3, 3),
    INTERNAL_HOST: (5, 5, 9, 9, 5, 4, 4, 5, 7, 8, 9, 9, 9, 9, 9, 9, 8, 8, 8, 8, 7, 6, 6, 5),
}

#: Baseline records of the demo at scale 1 (the demo writes about this many x scale).
BASE_RECORDS = 100_000

#: Share of the baseline records that each host gets.
HOST_SHARE = {RETAIL_HOST: 0.6, PARTNER_HOST: 0.25, INTERNAL_HOST: 0.15}

IOS_UAS = (
    "DemoBank/5.14.0 (iPhone; iOS 17.6.1; Scale/3.00)",
    "DemoBank/5.14.0 (iPhone; iOS 18.1; Scale/3.00)",
    "DemoBank/5.13.2 (iPhone; iOS 17.5; Scale/2.00)",
)
ANDROID_UAS = (
    "DemoBank/5.14.0 (Android 14; Pixel 8) okhttp/4.12.0",
    "DemoBank/5.14.0 (Android 13; SM-S911B) okhttp/4.12.0",
    "DemoBank/5.13.2 (Android 12; Redmi Note 11) okhttp/4.11.0",
)
WEB_UAS = (
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15"),
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
)
#: Old app builds that still call the deprecated v1 profile endpoint.
LEGACY_APP_UAS = (
    "DemoBank/4.2.1 (iPhone; iOS 15.7; Scale/2.00)",
    "DemoBank/4.2.1 (Android 10; SM-G960F) okhttp/3.14.9",
)
#: The beta build that calls the undocumented insights endpoint.
BETA_APP_UA = "DemoBank/5.15.0-beta.3 (iPhone; iOS 18.2; Scale/3.00)"
PARTNER_UAS = (
    "DemoBankOpenBankingSDK/2.3.1 (Java 17)",
    "DemoBankOpenBankingSDK/2.3.1 (Node 20.11.0)",
    "python-requests/2.32.3",
    "okhttp/4.12.0",
    "axios/1.7.7",
    "Go-http-client/2.0",
)
WEB_ORIGIN = "https://www.demobank.example"

#: The edge load balancers in front of the partner gateway (they add X-Forwarded-For).
PARTNER_EDGE_IPS = ("10.20.0.11", "10.20.0.12", "10.20.0.13", "10.20.0.14")
PARTNER_EDGE_NETWORK = "10.20.0.0/24"

#: Internal callers: (service name, user agent, subnet prefix).
SERVICES = (
    ("payments-svc", "Go-http-client/1.1", "10.2.1."),
    ("ledger-svc", "Java-http-client/17.0.9", "10.2.2."),
    ("fraud-svc", "python-httpx/0.27.2", "10.2.3."),
    ("notifications-svc", "Go-http-client/1.1", "10.2.4."),
    ("statements-batch", "curl/8.5.0", "10.2.5."),
    ("admin-console", "curl/8.5.0", "10.2.6."),
    ("kube-probe", "kube-probe/1.30", "10.2.7."),
    ("prometheus", "Prometheus/2.54.1", "10.2.8."),
)

PARTNER_WORDS_A = (
    "Bright", "Clear", "Nova", "Atlas", "Pixel", "Harbor", "Summit", "Blue", "Lumen", "Orbit", "Cedar", "Quartz",
)
PARTNER_WORDS_B = ("Pay", "Ledger", "Fin", "Wallet", "Budget", "Lend")
