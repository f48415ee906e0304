"""Settings come from an injected mapping; unsafe combinations refuse to start."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError


def test_defaults_are_embedded_and_local():
    settings = Settings.from_env({})
    assert (settings.host, settings.port) == ("127.0.0.1", 5005)
    assert settings.database_url == "sqlite:///var/bot.db"
    assert settings.action_server_url == "http://127.0.0.1:5055/webhook"
    assert settings.model_path == Path("models/shop.tar.gz")
    assert not settings.enable_api and settings.cors_origins == ()


def test_environment_and_overrides():
    settings = Settings.from_env(
        {"BOT_PORT": "6000", "ACTION_PORT": "6001", "CORS_ORIGINS": "https://shop.example/, http://a.test",
         "DATABASE_URL": "postgresql://bot@127.0.0.1/test"}, port=7000)
    assert settings.port == 7000
    assert settings.action_server_url == "http://127.0.0.1:6001/webhook"
    assert settings.cors_origins == ("https://shop.example", "http://a.test")


def test_api_without_auth_is_refused():
    with pytest.raises(SettingsError, match="RASA_API_TOKEN"):
        Settings.from_env({"RASA_ENABLE_API": "true"})
    with pytest.raises(SettingsError, match="without authentication"):
        Settings.from_env({}, enable_api=True)
    assert Settings.from_env({"RASA_ENABLE_API": "1", "RASA_API_TOKEN": "s3cret"}).enable_api


@pytest.mark.parametrize("env,name", [
    ({"BOT_PORT": "http"}, "BOT_PORT"),
    ({"BOT_PORT": "70000"}, "BOT_PORT"),
    ({"RASA_ENABLE_API": "maybe"}, "RASA_ENABLE_API"),
    ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
    ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
    ({"TRUSTED_PROXIES": "10.0.0.1, proxy.example"}, "TRUSTED_PROXIES"),
])
def test_malformed_settings_name_the_variable(env, name):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(env)


def test_trusted_proxies_are_addresses_or_networks():
    assert Settings.from_env({}).trusted_proxies == ()
    assert Settings.from_env({"TRUSTED_PROXIES": " 10.0.0.1, 172.16.0.0/12,,::1 "}).trusted_proxies == (
        "10.0.0.1/32", "172.16.0.0/12", "::1/128")


def test_log_level_is_info_unless_a_developer_asks_for_debug():
    assert Settings.from_env({}).log_level == logging.INFO  # no message text or slots in the log
    assert Settings.from_env({"LOG_LEVEL": "debug"}).log_level == logging.DEBUG
    with pytest.raises(SettingsError, match="LOG_LEVEL='loud' must be one of DEBUG, INFO, WARNING, ERROR"):
        Settings.from_env({"LOG_LEVEL": "loud"})


def test_rasas_api_app_leaves_the_root_route_to_the_demo_page():
    import rasa.server

    from bot.app import _base_app

    before = rasa.server.add_root_route
    app = _base_app(Settings.from_env({"RASA_ENABLE_API": "1", "RASA_API_TOKEN": "s3cret"}))
    paths = {route.path for route in app.router.routes}
    assert "model/parse" in paths and "" not in paths  # the API, without Rasa's hello at "/"
    assert rasa.server.add_root_route is before  # Rasa's module as it was
