import orjson
import polars as pl
import pytest

from apisight.config import Settings
from apisight.normalize.redact import (
    MASK,
    drop_json_keys,
    redact_column,
    redact_params,
    redact_text,
    scrub_excerpt,
)

SECRET = "s3cr3t-Value"


def multipart(**fields: str) -> str:
    parts = (f'--b\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items())
    return "".join(parts) + "--b--"


def redact(text: str) -> str:
    return redact_column(pl.Series([text], dtype=pl.String))[0]


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("password", True),
        ("Password", True),
        ("newPassword", True),
        ("new_password", True),
        ("user-password", True),
        ("passwd", True),
        ("pass", True),
        ("user_pass", True),
        ("accessToken", True),
        ("access_token", True),
        ("refreshToken", True),
        ("csrf-token", True),
        ("clientSecret", True),
        ("client_secret", True),
        ("apiKey", True),
        ("api_key", True),
        ("x-api-key", True),
        ("APIKEY", True),
        ("privateKey", True),
        ("private_key", True),
        ("secretAccessKey", True),
        ("sessionId", True),
        ("session_id", True),
        ("JSESSIONID", True),
        ("cookie", True),
        ("authorization", True),
        ("signature", True),
        ("pin", True),
        ("card_pin", True),
        ("cardPin", True),
        ("cvv", True),
        ("cvc", True),
        ("otp", True),
        ("smsOTP", True),
        ("card_number", True),
        ("cardNumber", True),
        ("ssn", True),
        # innocent names
        ("passport_country", False),
        ("passport", False),
        ("bypass", False),
        ("compass", False),
        ("spin", False),
        ("shipping", False),
        ("company", False),
        ("span", False),
        ("token_type", False),
        ("tokens", False),
        ("max_tokens", False),
        ("keyboard", False),
        ("monkey", False),
        ("secretary_name", False),
        ("username", False),
        ("cookie_consent", False),
        ("options", False),
    ],
)
def test_secret_field_names(name, masked):
    body = orjson.dumps({name: SECRET, "other": "visible"}).decode()
    out = redact(body)
    assert (SECRET not in out) == masked, out
    assert "visible" in out
    form = redact(f"a=1&{name}={SECRET}&b=2")
    assert (SECRET not in form) == masked, form


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"password": "hunter2"}', '{"password": "[redacted]"}'),
        ('{"pin":1234,"n":5}', '{"pin":"[redacted]","n":5}'),
        ('{"a":"x","password":"SECRETTR', '{"a":"x","password":"[redacted]"'),  # cut off at the end
        ('{"password":"ab\\"cd","x":1}', '{"password":"[redacted]","x":1}'),  # escaped quote inside
        (
            '{"body":"{\\"password\\":\\"pw\\",\\"a\\":1}"}',
            '{"body":"{\\"password\\":\\"[redacted]\\",\\"a\\":1}"}',
        ),
        ("user=ann&password=pw&x=1", "user=ann&password=[redacted]&x=1"),
        ("https://app/cb#access_token=tok&x=1", "https://app/cb#access_token=[redacted]&x=1"),
        ("Authorization: Bearer abcdefgh12345", "Authorization: Bearer [redacted]"),
        ("card 4111 1111 1111 1111 ok", "card [redacted:number] ok"),
        ("mail ann@example.com", "mail [redacted]@example.com"),
        (
            "<login><user>ann</user><Password>pw</Password></login>",
            "<login><user>ann</user><Password>[redacted]</Password></login>",
        ),
        ('<s:apiKey type="x">k1</s:apiKey>', '<s:apiKey type="x">[redacted]</s:apiKey>'),
        (multipart(newPassword="pw1", user="ann"), multipart(newPassword=MASK, user="ann")),
        ("plain text without secrets", "plain text without secrets"),
    ],
)
def test_body_rules(text, expected):
    assert redact(text) == expected


def test_redact_text_is_redact_column_as_an_expression():
    values = pl.Series(['{"apiKey":"k1"}', "password=x", None, "nothing"], dtype=pl.String)
    via_expr = pl.DataFrame({"v": values}).select(redact_text(pl.col("v")))["v"]
    assert via_expr.to_list() == redact_column(values).to_list()
    assert redact_column(pl.Series([None, None], dtype=pl.String)).to_list() == [None, None]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ('{"cookie":"a","accept":"*/*"}', {"accept": "*/*"}),
        ('{"accept":"*/*","cookie":"a"}', {"accept": "*/*"}),
        ('{"accept": "*/*", "Cookie": "a", "x-api-key": "k"}', {"accept": "*/*"}),
        ('{ "X-API-KEY" : "k" , "accept" : "*/*" }', {"accept": "*/*"}),
        ('{"set-cookie":["a=1","b=2"],"accept":"*/*"}', {"accept": "*/*"}),
        ('{"cookie":null}', {}),
        ('{"accept":"cookie","x":"\\"cookie\\":\\"v\\""}', {"accept": "cookie", "x": '"cookie":"v"'}),
    ],
)
def test_drop_json_keys(headers, expected):
    frame = pl.DataFrame({"h": [headers]})
    out = frame.select(drop_json_keys(pl.col("h"), ["cookie", "set-cookie", "x-api-key"]))["h"][0]
    assert orjson.loads(out) == expected


def test_drop_json_keys_by_pattern():
    frame = pl.DataFrame({"h": ['{"x-session-token":"t","accept":"*/*"}']})
    out = frame.select(drop_json_keys(pl.col("h"), [], pattern="[a-z-]*token"))["h"][0]
    assert orjson.loads(out) == {"accept": "*/*"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("code=abc&state=xyz", "code=[redacted]&state=xyz"),
        ("https://a/cb?code=abc&state=xyz", "https://a/cb?code=[redacted]&state=xyz"),
        (
            "https://a/cb#access_token=t&token_type=bearer",
            "https://a/cb#access_token=[redacted]&token_type=bearer",
        ),
        ("https://a/?KEY=k1&page=2", "https://a/?KEY=[redacted]&page=2"),
        ("https://a/?user_password=p", "https://a/?user_password=[redacted]"),
        ("https://a/?barcode=1&zipcode=2", "https://a/?barcode=1&zipcode=2"),
    ],
)
def test_redact_params(url, expected):
    frame = pl.DataFrame({"u": [url]})
    assert frame.select(redact_params(pl.col("u"), ["code", "key", "access_token"]))["u"][0] == expected


KEY = "sk_live_51Hs8dKJl2k3j4h5g6f7d8s9a"


@pytest.mark.parametrize(
    ("excerpt", "secrets", "kept"),
    [
        # nginx with $http_x_api_key and $http_cookie logged bare
        (
            (
                f'1.2.3.4 - - [01/Jan/2025:00:00:00 +0000] "GET /v1/a HTTP/1.1" 200 5 "-" "curl/8" '
                f'"{KEY}" "sid=abc; th=dk"'
            ),
            [KEY, "sid=abc", "th=dk"],
            ["GET /v1/a HTTP/1.1", "curl/8"],
        ),
        # HAR headers, either order, any case
        (
            (
                '{"request":{"headers":[{"name":"X-Api-Key","value":"k-1"},{"value":"c-2","name":"Cookie"},'
                '{"name":"Accept","value":"*/*"}],"cookies":[{"name":"a","value":"c-3"}],'
                '"queryString":[{"name":"access_token","value":"q-4"}]'
            ),
            ["k-1", "c-2", "c-3", "q-4"],
            ['"value":"*/*"'],
        ),
        # flat header maps with configured secret headers
        (
            (
                '{"request_headers":{"x-goog-iap-jwt-assertion":"j-1",'
                '"ocp-apim-subscription-key":"o-2","accept":"x"}}'
            ),
            ["j-1", "o-2"],
            ['"accept":"x"'],
        ),
        # the same, JSON-encoded inside a string
        ('{"line":"{\\"x-api-key\\":\\"k-9\\",\\"password\\":\\"p-9\\"}"}', ["k-9", "p-9"], ['"line"']),
        # body rules still apply
        ('{"newPassword":"hunter2","note":"ok"}', ["hunter2"], ['"note":"ok"']),
        # token-like runs anywhere
        ("garbage aB3dE5gH7jK9mN1pQ3sT5 tail", ["aB3dE5gH7jK9mN1pQ3sT5"], ["garbage", "tail"]),
        # runs without a digit or a letter, or short ones, stay
        ("abcdefghijklmnopqrstuvwxyz 1234567890123 a1b2c3", [], ["abcdefghijklmnopqrstuvwxyz", "a1b2c3"]),
    ],
)
def test_scrub_excerpt(excerpt, secrets, kept):
    out = scrub_excerpt(pl.Series([excerpt, None], dtype=pl.String), Settings())
    assert out[1] is None
    for secret in secrets:
        assert secret not in out[0], out[0]
    for text in kept:
        assert text in out[0], out[0]
    assert MASK in out[0] or not secrets


def test_scrub_excerpt_uses_configured_header_names():
    settings = Settings.model_validate(
        {"auth": {"secret_headers": ["x-tenant-secret-thing"], "api_key_headers": ["x-k"]}}
    )
    line = '{"headers":[{"name":"X-Tenant-Secret-Thing","value":"v1"},{"name":"x-k","value":"v2"}]}'
    out = scrub_excerpt(pl.Series([line]), settings)[0]
    assert "v1" not in out and "v2" not in out


def test_scrub_excerpt_sees_the_whole_line():
    line = "x" * 5000 + f' "password":"hunter2" {KEY}'
    out = scrub_excerpt(pl.Series([line]), Settings())[0]
    assert "hunter2" not in out and KEY not in out
    assert out.startswith("x" * 5000)
