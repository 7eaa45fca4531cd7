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
