from pathlib import Path

import pytest

from portal import create_app
from portal.config import ConfigError, normalise_database_url, read_settings


def test_settings_come_from_portal_env_file_and_environment_wins(tmp_path: Path):
    (tmp_path / "portal.env").write_text("PORTAL_BRAND_NAME=Aus Datei\nPORTAL_DEFAULT_LOCALE=en\nOTHER=ignored\n")
    settings = read_settings(tmp_path, {"PORTAL_BRAND_NAME": "Aus Umgebung"})
    assert settings["BRAND_NAME"] == "Aus Umgebung"
    assert settings["DEFAULT_LOCALE"] == "en"
    assert "OTHER" not in settings


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="PORTAL_SECRET_KEY"):
        create_app({"PORTAL_ENV": "production", "PORTAL_SECRET_KEY": "", "INSTANCE_PATH": str(tmp_path)})


def test_development_generates_and_keeps_a_secret_key(tmp_path):
    first = create_app({"PORTAL_SECRET_KEY": "", "INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    second = create_app({"PORTAL_SECRET_KEY": "", "INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("PORTAL_DEFAULT_LOCALE", "fr", "PORTAL_DEFAULT_LOCALE"),
        ("PORTAL_BRAND_COLOR", "red", "PORTAL_BRAND_COLOR"),
        ("PORTAL_IDLE_TIMEOUT_MINUTES", "soon", "PORTAL_IDLE_TIMEOUT_MINUTES"),
    ],
)
def test_invalid_settings_name_the_variable(tmp_path, key, value, message):
    with pytest.raises(ConfigError, match=message):
        create_app({key: value, "PORTAL_SECRET_KEY": "k", "INSTANCE_PATH": str(tmp_path)})


def test_postgres_urls_use_psycopg3():
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_https_base_url_makes_cookies_secure(tmp_path):
    app = create_app({"PORTAL_BASE_URL": "https://portal.example", "PORTAL_SECRET_KEY": "k", "INSTANCE_PATH": str(tmp_path)})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["PREFERRED_URL_SCHEME"] == "https"
