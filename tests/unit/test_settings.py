"""A wrong setting stops the system at start with a message that names the setting."""

import pytest

from foundation.settings import SettingsError, load_settings


def test_defaults_come_from_config_settings_toml() -> None:
    settings = load_settings()
    assert settings.port == 8000 and settings.token_ttl_hours == 12


def test_an_environment_variable_overrides_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPERVISION_PORT", "9123")
    assert load_settings().port == 9123


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SUPERVISION_PORT", "eighty"),
        ("SUPERVISION_PORT", "70000"),
        ("SUPERVISION_DATABASE_URL", "mysql://localhost/db"),
        ("SUPERVISION_LOG_LEVEL", "LOUD"),
        ("SUPERVISION_TOKEN_TTL_HOURS", "0"),
    ],
)
def test_a_wrong_value_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_a_misspelt_setting_is_refused_by_name() -> None:
    with pytest.raises(SettingsError, match="SUPERVISION_PROT"):
        load_settings(prot=1)


def test_the_cli_exits_with_the_message(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from foundation.settings import get_settings
    from supervision import cli

    get_settings.cache_clear()
    monkeypatch.setenv("SUPERVISION_PORT", "eighty")
    try:
        assert cli.main(["migrate"]) == 2
    finally:
        get_settings.cache_clear()
    assert "SUPERVISION_PORT" in capsys.readouterr().err
