"""A wrong setting stops the system at start with a message that names the setting."""

import os

import pytest

from foundation.settings import SettingsError, load_settings


def test_defaults_come_from_config_settings_toml() -> None:
    settings = load_settings()
    assert settings.port == 8000 and settings.token_ttl_hours == 12


def test_an_environment_variable_overrides_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPERVISION_PORT", "9123")
    assert load_settings().port == 9123


def test_documents_point_to_the_port_the_system_listens_on_unless_an_address_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPERVISION_PORT", "9123")
    assert load_settings().resolved_public_base_url() == "http://127.0.0.1:9123"
    monkeypatch.setenv("SUPERVISION_HOST", "0.0.0.0")
    assert load_settings().resolved_public_base_url() == "http://127.0.0.1:9123"  # listening everywhere: this machine
    monkeypatch.setenv("SUPERVISION_PUBLIC_BASE_URL", "https://supervision.example/")
    assert load_settings().resolved_public_base_url() == "https://supervision.example"


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


def _secret_of(var_dir: str) -> str:
    return load_settings(var_dir=var_dir, secret_key="").resolved_secret_key()


def test_web_workers_starting_together_agree_on_the_generated_secret_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Several `supervision serve` workers may make var/secret.key at the same moment; every one must sign with the
    # same key, or a CSRF cookie made by one worker is refused by the next.
    from concurrent.futures import ProcessPoolExecutor

    for attempt in range(5):
        var_dir = tmp_path / f"var{attempt}"
        with ProcessPoolExecutor(8) as pool:
            keys = set(pool.map(_secret_of, [str(var_dir)] * 16))
        assert len(keys) == 1 and len(keys.pop()) >= 40
        assert sorted(p.name for p in var_dir.iterdir()) == ["secret.key"]


def test_the_number_of_web_workers_defaults_to_the_cores_and_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(web_workers=0).resolved_web_workers() == len(os.sched_getaffinity(0))
    assert load_settings(web_workers=3).resolved_web_workers() == 3
    monkeypatch.setenv("SUPERVISION_WEB_WORKERS", "-1")
    with pytest.raises(SettingsError, match="SUPERVISION_WEB_WORKERS"):
        load_settings()


def test_the_sqlite_database_is_kept_in_var_dir_unless_a_database_url_is_set(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SUPERVISION_DATABASE_URL", raising=False)
    monkeypatch.delenv("SUPERVISION_VAR_DIR", raising=False)
    assert load_settings().database_url == "sqlite+aiosqlite:///var/supervision.db"  # a default install finds its file
    monkeypatch.setenv("SUPERVISION_VAR_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path}/supervision.db"
    assert settings.var_dir == tmp_path  # with the attachments and the secret key
    monkeypatch.setenv("SUPERVISION_DATABASE_URL", "sqlite+aiosqlite:///elsewhere/supervision.db")
    assert load_settings().database_url == "sqlite+aiosqlite:///elsewhere/supervision.db"
