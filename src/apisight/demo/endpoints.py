"""The DemoBank endpoint catalogue: paths, bodies, latencies and error rates.

Templates use ``{name}`` placeholders that :mod:`apisight.demo.render` fills from
value columns (see ``render.VALUE_COLUMNS``) in vectorised form.
"""

from __future__ import annotations

from dataclasses import dataclass

from apisight.demo.bank import INTERNAL_HOST, PARTNER_HOST, RETAIL_HOST


@dataclass(frozen=True)
class Endpoint:
    """One operation of the bank's APIs and how its traffic looks."""

    host: str
    method: str
    path: str  # template, e.g. /v2/accounts/{account_id}
    summary: str
    weight: float  # relative share of the host's baseline traffic (0: scenarios only)
    query: str | None = None
    request_body: str | None = None
    response_body: str | None = None
    rollout_body: str | None = None  # response after bank.ROLLOUT_US (new field for all)
    request_type: str = "application/json"
    response_type: str = "application/json"
    response_size: int = 0  # bytes when the response is not a templated body
    latency_ms: float = 45.0  # median
    error_rate: float = 0.02
    ok_status: int = 200
    auth: str = "bearer"  # bearer | api_key | none
    documented: bool = True
    deprecated: bool = False
    successor: str | None = None
    tag: str = "default"
    caller: str | None = None  # internal service that calls it
    #: Response headers (HAR and Kong record them): Cache-Control, and CORS for browser
    #: requests — "allowlist" answers the bank's web origin only, "*" any origin with
    #: credentials allowed (a misconfiguration), None no CORS headers.
    cache_control: str | None = "no-store"
    cors: str | None = "allowlist"
    #: ``Server`` and ``X-Powered-By`` response headers (HAR records them), None for none.
    server: str | None = None
    powered_by: str | None = None
    #: What the spec documents as the response, when it is not the response (excessive data exposure).
    spec_response_body: str | None = None
    #: Appended to the body of 5xx answers (a stack trace: verbose errors).
    trace: str | None = None
    #: Whether the gateway throttles it: when False its baseline errors are never 429.
    rate_limited: bool = True


_ACCOUNT = (
    '{"account_id":{account_id},"customer_id":{customer_id},"iban":"{iban}","currency":"GBP",'
    '"balance":{balance},"holder":"{name}","status":"open"'
)
_TXNS = (
    '{"account_id":{account_id},"page":{page},"limit":50,"items":['
    '{"id":"{payment_id}","amount":-{amount},"currency":"GBP","merchant":"{merchant_name}",'
    '"booked_at":"{date}"},{"id":"{payee_id}","amount":-{amount2},"currency":"GBP",'
    '"merchant":"{merchant_name2}","booked_at":"{date}"}],"next_page":{next_page}}'
)
_PROFILE = (
    '{"customer_id":{customer_id},"name":"{name}","email":"{email}","phone":"{phone}",'
    '"date_of_birth":"{dob}","address":"{address}","ssn":"{ssn}"}'
)
_PAYMENT_REQ = (
    '{"from_account":{account_id},"payee_id":"{payee_id}","amount":{amount},'
    '"currency":"GBP","reference":"{reference}"}'
)
_MERCHANT = '{"slug":"{merchant_slug}","name":"{merchant_name}","category":"retail","country":"GB"}'

R, P, I = RETAIL_HOST, PARTNER_HOST, INTERNAL_HOST
OB = "/open-banking/v3.1"

ENDPOINTS: tuple[Endpoint, ...] = (
    # --- retail API (mobile app and web front end, Bearer JWT) ---
    Endpoint(R, "POST", "/v1/auth/login", "Log in", 3, auth="none", tag="auth", latency_ms=180,
             error_rate=0.08, request_body='{"username":"{username}","password":"{password}"}',
             response_body='{"access_token":"{token}","token_type":"Bearer","expires_in":3600,"mfa_required":true}'),
    Endpoint(R, "POST", "/v1/auth/mfa/verify", "Verify a one-time code", 2.5, tag="auth", latency_ms=90,
             request_body='{"otp":"{otp}","method":"sms"}', response_body='{"verified":true}'),
    Endpoint(R, "POST", "/v1/auth/password-reset", "Request a password reset", 0.15, auth="none", tag="auth",
             request_body='{"email":"{email}"}', response_body='{"status":"sent"}', ok_status=202),
    Endpoint(R, "GET", "/v1/customers/me", "Profile (old version)", 0, tag="customers", deprecated=True,
             successor="/v2/customers/me", response_body=_PROFILE),
    Endpoint(R, "GET", "/v2/customers/me", "Profile", 5, tag="customers", response_body=_PROFILE),
    Endpoint(R, "PATCH", "/v2/customers/me", "Change profile", 0.2, tag="customers",
             request_body='{"email":"{email}","phone":"{phone}","address":"{address}"}', response_body=_PROFILE),
    Endpoint(R, "GET", "/v2/accounts", "List accounts", 12, tag="accounts",
             response_body='{"items":[' + _ACCOUNT + "}]}",
             rollout_body='{"items":[' + _ACCOUNT + ',"overdraft_limit":500}]}'),
    Endpoint(R, "GET", "/v2/accounts/{account_id}", "Get an account", 10, tag="accounts",
             response_body=_ACCOUNT + "}", rollout_body=_ACCOUNT + ',"overdraft_limit":500}'),
    Endpoint(R, "GET", "/v2/accounts/{account_id}/transactions", "List transactions", 14, tag="accounts",
             query="page={page}&limit=50", response_body=_TXNS, latency_ms=70),
    Endpoint(R, "GET", "/v2/accounts/{account_id}/statements/export", "Export a statement", 0.6,
             tag="accounts", query="format=pdf&month={month}", response_type="application/pdf",
             response_size=48_000, latency_ms=900),
    Endpoint(R, "GET", "/v2/cards", "List cards", 4, tag="cards",
             response_body='{"items":[{"card_id":"{card_id}","last4":"{last4}","brand":"{brand}","status":"active"}]}'),
    Endpoint(R, "GET", "/v2/cards/{card_id}", "Get a card", 2, tag="cards", cache_control="private, max-age=300",
             response_body='{"card_id":"{card_id}","pan":"{pan}","expiry":"{card_expiry}","brand":"{brand}",'
             '"holder":"{name}"}'),
    Endpoint(R, "POST", "/v2/cards/{card_id}/freeze", "Freeze a card", 0.1, tag="cards",
             request_body='{"reason":"lost"}', response_body='{"card_id":"{card_id}","status":"frozen"}'),
    Endpoint(R, "GET", "/v2/payees", "List payees", 3, tag="payments",
             response_body='{"items":[{"payee_id":"{payee_id}","name":"{payee_name}","iban":"{payee_iban}"}]}'),
    Endpoint(R, "POST", "/v2/payees", "Add a payee", 0.4, tag="payments", ok_status=201,
             request_body='{"name":"{payee_name}","iban":"{payee_iban}"}',
             response_body='{"payee_id":"{payee_id}","name":"{payee_name}","iban":"{payee_iban}"}'),
    Endpoint(R, "DELETE", "/v2/payees/{payee_id}", "Remove a payee", 0.1, tag="payments", ok_status=204),
    Endpoint(R, "POST", "/v2/payments", "Make a payment", 2, tag="payments", ok_status=201, latency_ms=240,
             request_body=_PAYMENT_REQ,
             response_body='{"payment_id":"{payment_id}","status":"accepted","amount":{amount},"currency":"GBP"}'),
    Endpoint(R, "GET", "/v2/payments/{payment_id}", "Get a payment", 2, tag="payments",
             response_body='{"payment_id":"{payment_id}","status":"settled","amount":{amount},'
             '"payee_iban":"{payee_iban}"}'),
    Endpoint(R, "GET", "/v2/merchants/{merchant_slug}", "Get a merchant", 3, tag="merchants",
             response_body=_MERCHANT),
    Endpoint(R, "GET", "/v2/notifications", "List notifications", 6, tag="notifications", cors="*",
             query="page={page}&limit=50",
             response_body='{"page":{page},"items":[{"id":"{payment_id}","text":"Payment to {merchant_name}"}]}'),
    Endpoint(R, "POST", "/v2/devices", "Register a device for push", 0.5, tag="notifications", ok_status=201,
             request_body='{"push_token":"{payee_id}","platform":"ios"}', response_body='{"registered":true}'),
    Endpoint(R, "GET", "/v2/beta/spending-insights/{account_id}", "Spending insights (beta)", 0,
             tag="insights", documented=False,
             response_body='{"account_id":{account_id},"month":"{month}","top_merchant":"{merchant_name}",'
             '"total":{amount}}'),
    # --- scenario-only: what a function-level authorization probe asks the retail host for.
    # None of it is part of the retail API (undocumented, never in the baseline); the
    # gateway refuses every one (403/404/405), so no response bodies are needed.
    Endpoint(R, "GET", "/admin/v1/users", "Back-office users (not exposed)", 0, tag="admin", documented=False,
             query="page={page}&limit=50"),
    Endpoint(R, "POST", "/admin/v1/feature-flags/{flag_slug}", "Toggle a flag (not exposed)", 0, tag="admin",
             documented=False, request_body='{"enabled":true}'),
    Endpoint(R, "GET", "/internal/v1/customers/{customer_id}", "Customer record (not exposed)", 0,
             tag="admin", documented=False),
    Endpoint(R, "GET", "/actuator/env", "Spring actuator (not exposed)", 0, tag="ops", documented=False),
    Endpoint(R, "GET", "/actuator/heapdump", "Spring actuator (not exposed)", 0, tag="ops", documented=False),
    Endpoint(R, "GET", "/debug/vars", "Go expvar (not exposed)", 0, tag="ops", documented=False),
    Endpoint(R, "DELETE", "/v2/accounts/{account_id}", "Close an account (no such operation)", 0,
             tag="accounts", documented=False),
    Endpoint(R, "PATCH", "/v2/accounts/{account_id}", "Change an account (no such operation)", 0,
             tag="accounts", documented=False, request_body='{"overdraft_limit":100000}'),
    Endpoint(R, "PUT", "/v2/cards/{card_id}", "Replace a card (no such operation)", 0, tag="cards",
             documented=False, request_body='{"status":"active","daily_limit":10000}'),
    # --- partner / open-banking API (one API key per partner) ---
    Endpoint(P, "POST", "/oauth/token", "Client-credentials token", 2, auth="api_key", tag="auth",
             request_type="application/x-www-form-urlencoded", latency_ms=60,
             request_body="grant_type=client_credentials&client_id={client_id}&client_secret={client_secret}"
             "&scope=accounts%20payments",
             response_body='{"access_token":"{token}","token_type":"Bearer","expires_in":3600}'),
    Endpoint(P, "POST", f"{OB}/consents", "Create a consent", 1, auth="api_key", tag="consents", ok_status=201,
             request_body='{"permissions":["ReadAccountsDetail","ReadTransactionsDetail"],"customer_id":{customer_id}}',
             response_body='{"consent_id":"{consent_id}","status":"AwaitingAuthorisation"}'),
    Endpoint(P, "GET", f"{OB}/consents/{{consent_id}}", "Get a consent", 1.5, auth="api_key", tag="consents",
             response_body='{"consent_id":"{consent_id}","status":"Authorised","customer_id":{customer_id}}'),
    Endpoint(P, "GET", f"{OB}/aisp/accounts", "List consented accounts", 8, auth="api_key", tag="aisp",
             response_body='{"Data":{"Account":[{"AccountId":"{account_id}","Currency":"GBP",'
             '"Account":{"SchemeName":"UK.OBIE.IBAN","Identification":"{iban}","Name":"{name}"}}]}}'),
    Endpoint(P, "GET", f"{OB}/aisp/accounts/{{account_id}}", "Get a consented account", 6, auth="api_key",
             tag="aisp", response_body='{"Data":{"Account":[{"AccountId":"{account_id}","Currency":"GBP",'
             '"Account":{"SchemeName":"UK.OBIE.IBAN","Identification":"{iban}","Name":"{name}"}}]}}'),
    Endpoint(P, "GET", f"{OB}/aisp/accounts/{{account_id}}/balances", "Balances", 9, auth="api_key", tag="aisp",
             response_body='{"Data":{"Balance":[{"AccountId":"{account_id}","Amount":{"Amount":"{balance}",'
             '"Currency":"GBP"},"Type":"InterimAvailable"}]}}'),
    Endpoint(P, "GET", f"{OB}/aisp/accounts/{{account_id}}/transactions", "Transactions", 10, auth="api_key",
             tag="aisp", query="page={page}&limit=50", response_body=_TXNS, latency_ms=85),
    Endpoint(P, "POST", f"{OB}/pisp/domestic-payments", "Initiate a payment", 2, auth="api_key", tag="pisp",
             ok_status=201, latency_ms=260,
             request_body='{"Data":{"Initiation":{"InstructedAmount":{"Amount":"{amount}","Currency":"GBP"},'
             '"CreditorAccount":{"SchemeName":"UK.OBIE.IBAN","Identification":"{payee_iban}",'
             '"Name":"{payee_name}"},"DebtorAccount":{"Identification":"{iban}"}}}}',
             response_body='{"Data":{"DomesticPaymentId":"{payment_id}","Status":"Pending"}}'),
    Endpoint(P, "GET", f"{OB}/pisp/domestic-payments/{{payment_id}}", "Payment status", 3, auth="api_key",
             tag="pisp", response_body='{"Data":{"DomesticPaymentId":"{payment_id}","Status":"AcceptedSettlementCompleted"}}'),
    Endpoint(P, "GET", "/partner/v1/merchants", "Merchant directory", 2, auth="api_key", tag="merchants",
             query="page={page}&limit=50", response_body='{"page":{page},"limit":50,"items":[' + _MERCHANT + "]}"),
    Endpoint(P, "GET", "/partner/v1/merchants/{merchant_slug}", "Get a merchant", 2, auth="api_key",
             tag="merchants", response_body=_MERCHANT),
    Endpoint(P, "GET", "/partner/v1/fx-rates", "FX rates", 3, auth="api_key", tag="fx", query="base=GBP",
             response_body='{"base":"GBP","rates":{"EUR":1.17,"USD":1.27},"as_of":"{date}"}', latency_ms=20),
    Endpoint(P, "POST", "/partner/v1/kyc/verify", "Verify an identity", 1, auth="api_key", tag="kyc",
             latency_ms=400, error_rate=0.04,
             request_body='{"name":"{name}","date_of_birth":"{dob}","ssn":"{ssn}","address":"{address}"}',
             response_body='{"match":true,"score":0.97,"reference":"{reference}"}'),
    # --- internal API (east-west, no end-user auth) ---
    Endpoint(I, "GET", "/internal/v1/customers/{customer_id}", "Customer record", 10, auth="none",
             tag="customers", caller="payments-svc", response_body=_PROFILE, latency_ms=12),
    Endpoint(I, "GET", "/internal/v1/accounts/{account_id}/ledger", "Ledger entries", 10, auth="none",
             tag="ledger", caller="statements-batch", query="page={page}&limit=50", response_body=_TXNS,
             latency_ms=25),
    Endpoint(I, "POST", "/internal/v1/ledger/postings", "Post to the ledger", 8, auth="none", tag="ledger",
             caller="payments-svc", ok_status=201, request_body=_PAYMENT_REQ,
             response_body='{"posting_id":"{payment_id}"}', latency_ms=18),
    Endpoint(I, "GET", "/internal/v1/fraud/score", "Fraud score", 8, auth="none", tag="fraud",
             caller="fraud-svc", query="payment_id={payment_id}", response_body='{"score":0.03}', latency_ms=9),
    Endpoint(I, "POST", "/internal/v1/notifications", "Send a notification", 4, auth="none", tag="notifications",
             caller="notifications-svc", ok_status=202, request_body='{"customer_id":{customer_id},"channel":"sms",'
             '"phone":"{phone}"}', response_body='{"queued":true}'),
    Endpoint(I, "GET", "/admin/v1/users", "List back-office users", 0.3, auth="none", tag="admin",
             caller="admin-console", query="page={page}&limit=50",
             response_body='{"page":{page},"items":[{"user":"{username}","role":"ops"}]}'),
    Endpoint(I, "POST", "/admin/v1/feature-flags/{flag_slug}", "Toggle a feature flag", 0.05, auth="none",
             tag="admin", caller="admin-console", request_body='{"enabled":true}',
             response_body='{"flag":"{flag_slug}","enabled":true}'),
    Endpoint(I, "GET", "/healthz", "Liveness", 6, auth="none", tag="ops", caller="kube-probe",
             response_body='{"status":"ok"}', latency_ms=1.5, error_rate=0.001),
    Endpoint(I, "GET", "/metrics", "Prometheus metrics", 3, auth="none", tag="ops", caller="prometheus",
             response_type="text/plain; version=0.0.4", response_size=38_000, latency_ms=6, error_rate=0.001),
    # --- scenario-only: posture weaknesses planted by ``demo.posture``, and their clean look-alikes.
    # Appended last so that the baseline draws (by weight) stay what they were.
    Endpoint(R, "GET", "/v2/receipts/{receipt_id}", "A shared payment receipt", 0, auth="none", tag="payments",
             response_body='{"receipt_id":"{receipt_id}","merchant":"{merchant_name}","amount":{amount},'
             '"currency":"GBP","card_number":"{pan}","email":"{email}","paid_at":"{date}"}'),
    Endpoint(R, "GET", "/v2/payment-links/{link_id}", "A paid payment link", 0, auth="none", tag="payments",
             response_body='{"link_id":"{link_id}","merchant":"{merchant_name}","amount":{amount},'
             '"currency":"GBP","card_number":"{masked_pan}","status":"paid"}'),
    Endpoint(R, "GET", "/healthz", "Load balancer health check", 0, auth="none", tag="ops", cors=None,
             response_body='{"status":"ok"}', latency_ms=1.5),
    Endpoint(R, "GET", "/v1/app-config", "App start-up configuration", 0, auth="none", tag="ops", cors=None,
             response_body='{"min_version":"5.0.0","maintenance":false,"features":["instant-payments",'
             '"card-controls"]}', latency_ms=8),
    Endpoint(R, "GET", "/v2/statements/{statement_id}/download", "Download a statement (link with token)", 0,
             tag="accounts", query="access_token={access_token}", response_type="application/pdf",
             response_size=48_000, latency_ms=900),
    Endpoint(R, "GET", "/v2/statements/{statement_id}/file", "Download a statement (pre-signed link)", 0,
             auth="none", tag="accounts", query="expires={expires}&signature={signature}",
             response_type="application/pdf", response_size=48_000, latency_ms=60),
    Endpoint(R, "GET", "/v2/payee-lookup", "Confirmation of payee by IBAN", 0, tag="payments",
             query="iban={payee_iban}", response_body='{"match":"exact","name":"{payee_name}"}'),
    Endpoint(R, "GET", "/v2/card-lookup", "Find a card by its masked number", 0, tag="cards",
             query="card_number={masked_pan}", response_body='{"card_id":"{card_id}","status":"active"}'),
    Endpoint(R, "POST", "/v2/standing-orders", "Set up a standing order", 0, tag="payments", ok_status=201,
             request_body='{"from_account":{account_id},"payee_id":"{payee_id}","amount":{amount},'
             '"frequency":"monthly"}', response_body='{"order_id":"{payment_id}","status":"active"}',
             trace=(',"detail":"Traceback (most recent call last):\\n  File \\"/srv/orders/service.py\\", line 142, '
                    'in create\\n    cur.execute(INSERT_ORDER, params)\\npsycopg2.errors.NotNullViolation: null '
                    'value in column \\"next_run_at\\" violates not-null constraint"')),
    Endpoint(R, "GET", "/v2/standing-orders", "List standing orders", 0, tag="payments",
             response_body='{"items":[{"order_id":"{payment_id}","payee_id":"{payee_id}","amount":{amount},'
             '"frequency":"monthly"}]}'),
    Endpoint(R, "GET", "/v2/rewards", "Rewards balance", 0, tag="rewards",
             response_body='{"customer_id":{customer_id},"points":1250,"tier":"silver"}'),
    Endpoint(R, "GET", "/v2/rewards/offers", "Cashback offers", 0, tag="rewards",
             response_body='{"items":[{"offer_id":"{payment_id}","merchant":"{merchant_name}","cashback_percent":5}]}'),
    Endpoint(R, "GET", "/v2/savings-goals", "Savings goals (new)", 0, tag="insights",
             response_body='{"items":[{"goal_id":"{payment_id}","name":"Holiday","target":1500,"saved":{amount}}]}'),
    Endpoint(R, "POST", "/v1/auth/token/refresh", "Refresh an access token", 0, auth="none", tag="auth",
             rate_limited=False, request_body='{"refresh_token":"{refresh_token}"}',
             response_body='{"access_token":"{token}","token_type":"Bearer","expires_in":3600}', latency_ms=40),
    Endpoint(R, "GET", "/v2/payees/{payee_id}", "Get a payee", 0, tag="payments",
             response_body='{"payee_id":"{payee_id}","name":"{payee_name}","iban_last4":"{payee_last4}",'
             '"iban":"{payee_iban}","risk_score":0.12,"created_by":"payments-svc"}',
             spec_response_body='{"payee_id":"{payee_id}","name":"{payee_name}","iban_last4":"{payee_last4}"}'),
    Endpoint(R, "GET", "/v1/accounts", "List accounts (v1, retired: answers 410)", 0, tag="accounts",
             documented=False),
    Endpoint(R, "GET", "/v2/direct-debits", "List direct debit mandates", 0, tag="payments",
             response_body='{"items":[{"mandate_id":"{payment_id}","merchant":"{merchant_name}",'
             '"last_amount":{amount},"status":"active"}]}'),
    Endpoint(R, "GET", "/v2/scheduled-payments", "List scheduled payments", 0, tag="payments",
             response_body='{"items":[{"payment_id":"{payment_id}","payee_id":"{payee_id}","amount":{amount},'
             '"due":"{date}"}]}'),
    Endpoint(R, "GET", "/v2/accounting/export", "Transactions export for accounting software", 0, tag="integrations",
             cors=None, query="from={date}", response_type="text/csv", response_size=12_000, latency_ms=300),
    Endpoint(R, "GET", "/v2/accounting/reconciliation", "Nightly reconciliation feed", 0, tag="integrations",
             cors=None, query="date={date}", response_type="text/csv", response_size=30_000, latency_ms=400),
    Endpoint(R, "GET", "/v2/branches", "Branch finder", 0, auth="none", tag="locations",
             response_body='{"items":[{"branch_id":"{merchant_slug}","city":"Leeds","open":true}]}',
             server="nginx/1.18.0 (Ubuntu)", powered_by="Express"),
    Endpoint(R, "GET", "/v2/atms", "ATM finder", 0, auth="none", tag="locations",
             response_body='{"items":[{"atm_id":"{merchant_slug}","city":"Leeds","deposits":false}]}', server="nginx"),
    Endpoint(P, "GET", "/partner/v1/customers/search", "Find a customer for KYC", 0, auth="api_key", tag="kyc",
             query="email={email}", response_body='{"items":[{"customer_id":{customer_id},"kyc_status":"verified"}]}'),
    Endpoint(P, "GET", "/actuator/env", "Spring actuator, routed by mistake", 0, auth="none", tag="ops",
             documented=False, response_body='{"activeProfiles":["prod"],"propertySources":[]}'),
)


def index_of(host: str, method: str, path: str) -> int:
    """The position of an endpoint in :data:`ENDPOINTS` (ValueError when absent)."""
    for i, ep in enumerate(ENDPOINTS):
        if (ep.host, ep.method, ep.path) == (host, method, path):
            return i
    raise ValueError(f"no endpoint {method} {host}{path}")


def for_host(host: str) -> list[int]:
    """Indexes of the endpoints served by ``host``."""
    return [i for i, ep in enumerate(ENDPOINTS) if ep.host == host]
