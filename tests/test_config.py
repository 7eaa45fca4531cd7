import pytest

from apisight.config import STARTER_CONFIG, Settings, load_settings
from apisight.errors import ConfigError


def write(tmp_path, text):
    path = tmp_path / "apisight.yaml"
    path.write_text(text)
    return path


def test_starter_config_is_valid_and_equals_the_defaults(tmp_path):
    assert load_settings(write(tmp_path, STARTER_CONFIG)) == Settings()


def test_config_in_the_data_dir_is_picked_up(tmp_path):
    write(tmp_path, "retention: {days: 7}\n")
    assert load_settings(None, tmp_path).retention.days == 7


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("network: {trusted_proxies: [10.0.0.300/8]}", ["network.trusted_proxies", "10.0.0.300/8"]),
        ("capture: {body_policy: shred}", ["capture.body_policy", "redact"]),
        ("retention: {days: 0}", ["retention.days"]),
        ("retension: {days: 3}", ["retension", "unknown setting"]),
        ("partners: [{api_key_ids: [x]}]", ["partners.0.name"]),
        ("- just\n- a list", ["mapping"]),
        ("network: [unclosed", ["not valid YAML"]),
    ],
)
def test_bad_settings_name_the_key(tmp_path, text, names):
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    for name in names:
        assert name in str(info.value)


def test_missing_config_file_says_how_to_make_one(tmp_path):
    with pytest.raises(ConfigError, match="apisight init"):
        load_settings(tmp_path / "nope.yaml")


# --- posture.checks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("posture: {checks: {no_rate_limiting: {max_requests: 0}}}",
         "posture.checks.no_rate_limiting: max_requests: Input should be greater than or equal to 2"),
        ("posture: {checks: {jwt_weaknesses: {max_lifetime_s: soon}}}",
         "posture.checks.jwt_weaknesses: max_lifetime_s: Input should be a valid integer"),
        ("posture: {checks: {bola_prone_ids: {min_numeric_share: 1.5}}}",
         "posture.checks.bola_prone_ids: min_numeric_share: Input should be less than or equal to 1"),
        ("posture: {checks: {jwt_weaknesses: {max_lifetime: 60}}}",
         "posture.checks.jwt_weaknesses: max_lifetime: unknown setting"),
        ("posture: {checks: {plaintext_http: {severity: urgent}}}",
         "posture.checks.plaintext_http: severity: Input should be 'critical', 'high', 'medium', 'low' or 'info'"),
        ("posture: {checks: {token_shared_by_many_clients: {min_client_ips: 150}}}",
         "posture.checks.token_shared_by_many_clients: public_client_ips (100) must be at least min_client_ips (150)"),
        ("posture: {checks: {no_rate_limiting: {template_pattern: '(login'}}}",
         "posture.checks.no_rate_limiting: template_pattern: regular expression '(login' does not compile"),
        ("posture: {checks: {shadow_endpoint: {ignored_types: [ip_adress]}}}",
         "posture.checks.shadow_endpoint: ignored_types: unknown sensitive-data type(s) ip_adress (known: card_number"),
        ("posture: {checks: {missing_security_headers: {complete_header_sources: [pcap]}}}",
         "posture.checks.missing_security_headers: complete_header_sources: unknown format(s) pcap (installed:"),
        ("posture: {checks: {verbose_errors: {markers: [{kind: x}]}}}",
         "posture.checks.verbose_errors: markers.0.pattern: Field required"),
        ("posture: {checks: {no_rate_limitting: {max_requests: 10}}}",
         "posture.checks: unknown check(s) no_rate_limitting (installed: "),
    ],
)
def test_bad_check_settings_name_the_check_and_field(tmp_path, text, message):
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    assert message in str(info.value)


def test_an_unknown_check_lists_every_installed_one(tmp_path):
    from apisight.posture.checks import names

    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, "posture: {checks: {rate_limit: {}}}"))
    assert str(info.value).endswith(f"(installed: {', '.join(names())})") and len(names()) >= 14


def test_good_check_settings_are_kept_as_written(tmp_path):
    text = """
posture:
  checks:
    no_rate_limiting: {max_requests: 10, per_seconds: 10, methods: [post, put]}
    shadow_endpoint: {enabled: false}
    verbose_errors:
      markers: [{kind: our_error_page, pattern: "Oops! Error id [0-9a-f]{8}"}]
"""
    settings = load_settings(write(tmp_path, text))
    assert settings.posture.checks["no_rate_limiting"] == {"max_requests": 10, "per_seconds": 10,
                                                           "methods": ["post", "put"]}
    assert settings.posture.checks["shadow_endpoint"] == {"enabled": False}


def test_the_starter_configs_commented_check_examples_are_valid(tmp_path):
    lines = STARTER_CONFIG.splitlines()
    start = lines.index("  checks: {}")
    examples = []
    for line in lines[start + 1:]:
        if not line.startswith("#    "):
            break
        examples.append(line.removeprefix("#").rstrip())
    assert len(examples) >= 5
    settings = load_settings(write(tmp_path, "posture:\n  checks:\n" + "\n".join(examples) + "\n"))
    assert settings.posture.checks["jwt_weaknesses"] == {"max_lifetime_s": 86400, "expiry_leeway_s": 300}


def test_detector_settings_are_checked_when_the_config_is_read(tmp_path):
    path = tmp_path / "apisight.yaml"
    path.write_text("detect:\n  detectors:\n    bola: {min_objects: 1}\n")
    with pytest.raises(ConfigError, match=r"detect\.detectors\.bola: min_objects: Input should be greater"):
        load_settings(path)
    path.write_text("detect:\n  detectors:\n    bolla: {}\n")
    with pytest.raises(ConfigError, match=r"unknown detector\(s\) bolla \(installed: .*bola"):
        load_settings(path)
    path.write_text("detect:\n  detectors:\n    bola: {min_objects: 40, roles: [object_read]}\n")
    assert load_settings(path).detect.detectors["bola"]["min_objects"] == 40
