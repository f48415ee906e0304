"""The web server's settings: one frozen object built from an injected mapping (``os.environ``).

Tests pass a dict; nothing reads the environment anywhere else in ``bot``.
"""
from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Dict, Mapping, Tuple

from actions.services.log_privacy import parse_log_level
from actions.services.mail import SmtpSettings
from bot.channels.channel_settings import ChannelSettings, ChannelSettingsError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    """A setting is malformed or a combination is unsafe; the message names the variable."""


def _int(env: Mapping[str, str], name: str, default: int, low: int = 1, high: int = 65535) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={value} must be between {low} and {high}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SettingsError(f"{name}={raw!r} must be one of 1/0, true/false, yes/no, on/off")


def _addresses(env: Mapping[str, str], name: str) -> Tuple[str, ...]:
    """Comma-separated IP addresses or networks (10.0.0.0/8), each checked; empty: none."""
    found = []
    for item in (part.strip() for part in env.get(name, "").split(",")):
        if not item:
            continue
        try:
            found.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise SettingsError(f"{name}: {item!r} is not an IP address or network") from None
    return tuple(found)


def _log_level(env: Mapping[str, str]) -> int:
    try:
        return parse_log_level(env.get("LOG_LEVEL"))
    except ValueError as error:
        raise SettingsError(str(error)) from None


def _channels(env: Mapping[str, str]) -> ChannelSettings:
    try:
        return ChannelSettings.from_env(env)
    except ChannelSettingsError as error:
        raise SettingsError(str(error)) from None


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 5005
    action_port: int = 5055
    action_server_url: str = "http://127.0.0.1:5055/webhook"
    action_secret: str | None = None  # sent to the action server; unset: one is generated into var/
    action_secret_file: Path = Path("var/action.secret")
    database_url: str = "sqlite:///var/bot.db"
    redis_url: str | None = None
    # `python -m bot run` with more than one web process or action server starts the cluster instead
    # (bot/cluster/): nginx in front, REDIS_URL needed for several web processes.
    web_workers: int = 1
    action_workers: int = 1
    model_path: Path = Path("models/shop.tar.gz")
    shop_file: Path = Path("shop.yml")
    vendor_dir: Path = Path("node_modules")
    upload_dir: Path = Path("var/uploads")
    retention_days: int = 0  # conversations older than this are deleted daily (issue 18); 0: kept
    training_data_dir: Path = Path("data/nlu")  # where the trainer's labelled examples are written
    # Training from the console or `python -m bot train` (bot/trained_models/training.py): the pipeline,
    # where the models and the jobs' logs go, the text by other people the new model is also measured on.
    training_config: Path = Path("config.yml")
    models_dir: Path = Path("models/trained")
    training_log_dir: Path = Path("var/training")
    nlu_dev_dir: Path = Path("../shared/nlu-dev")
    test_stories_dir: Path = Path("tests/stories")  # conversation tests: the trainer's saved ones go here
    model_check_seconds: float = 3.0  # how often each web process looks for a newly activated model; 0: never
    console_secret: str | None = None  # signs console sessions; unset: one is generated into var/
    console_secret_file: Path = Path("var/console.secret")
    enable_api: bool = False
    api_token: str | None = None
    jwt_secret: str | None = None
    cors_origins: Tuple[str, ...] = ()
    # Reverse proxies whose X-Forwarded-Proto / X-Forwarded-For the console believes (TLS ended there).
    trusted_proxies: Tuple[str, ...] = ()
    max_message_chars: int = 2000
    response_timeout: int = 60
    # Customer turns in progress at once; more wait up to turn_queue_seconds, then get 503 + Retry-After
    # (bot/admission.py). Turns share one event loop: 6 keeps a turn on 2 cores within a few seconds.
    max_turns_in_flight: int = 6
    action_timeout_seconds: int = 30  # an action not answered by then: the customer gets the apology
    turn_queue_seconds: int = 10
    public_url: str = ""  # where the owner reaches this server, for links in emails; default http://host:port
    smtp: SmtpSettings = SmtpSettings()
    channels: ChannelSettings = ChannelSettings()  # WhatsApp, Messenger, Instagram, Telegram (issue 19)
    log_level: int = logging.INFO  # DEBUG logs what customers type (contact details masked): developers only

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: Any) -> "Settings":
        """Build from environment variables; keyword overrides (from the command line) win."""
        action_port = _int(env, "ACTION_PORT", 5055)
        values: Dict[str, Any] = dict(
            host=env.get("BOT_HOST") or "127.0.0.1",
            port=_int(env, "BOT_PORT", 5005),
            action_port=action_port,
            action_server_url=env.get("ACTION_SERVER_URL") or f"http://127.0.0.1:{action_port}/webhook",
            action_secret=env.get("ACTION_SERVER_SECRET") or None,
            action_secret_file=Path(env.get("ACTION_SECRET_FILE") or "var/action.secret"),
            database_url=env.get("DATABASE_URL") or "sqlite:///var/bot.db",
            redis_url=env.get("REDIS_URL") or None,
            web_workers=_int(env, "WEB_WORKERS", 1, high=32),
            action_workers=_int(env, "ACTION_WORKERS", 1, high=32),
            model_path=Path(env.get("MODEL_PATH") or "models/shop.tar.gz"),
            shop_file=Path(env.get("SHOP_FILE") or "shop.yml"),
            vendor_dir=Path(env.get("VENDOR_DIR") or "node_modules"),
            upload_dir=Path(env.get("UPLOAD_DIR") or "var/uploads"),
            retention_days=_int(env, "RETENTION_DAYS", 0, low=0, high=36500),
            training_data_dir=Path(env.get("TRAINING_DATA_DIR") or "data/nlu"),
            training_config=Path(env.get("TRAINING_CONFIG") or "config.yml"),
            models_dir=Path(env.get("MODELS_DIR") or "models/trained"),
            training_log_dir=Path(env.get("TRAINING_LOG_DIR") or "var/training"),
            nlu_dev_dir=Path(env.get("NLU_DEV_DIR") or "../shared/nlu-dev"),
            test_stories_dir=Path(env.get("TEST_STORIES_DIR") or "tests/stories"),
            model_check_seconds=_int(env, "MODEL_CHECK_SECONDS", 3, low=0, high=3600),
            console_secret=env.get("CONSOLE_SECRET") or None,
            enable_api=_flag(env, "RASA_ENABLE_API"),
            api_token=env.get("RASA_API_TOKEN") or None,
            jwt_secret=env.get("RASA_JWT_SECRET") or None,
            cors_origins=tuple(o.strip().rstrip("/") for o in env.get("CORS_ORIGINS", "").split(",")
                               if o.strip()),
            trusted_proxies=_addresses(env, "TRUSTED_PROXIES"),
            max_message_chars=_int(env, "MAX_MESSAGE_CHARS", 2000, high=100_000),
            max_turns_in_flight=_int(env, "MAX_TURNS_IN_FLIGHT", 6, high=1000),
            action_timeout_seconds=_int(env, "ACTION_TIMEOUT_SECONDS", 30, high=600),
            turn_queue_seconds=_int(env, "TURN_QUEUE_SECONDS", 10, low=0, high=120),
            public_url=(env.get("PUBLIC_URL") or "").rstrip("/"),
            smtp=SmtpSettings.from_env(env),
            channels=_channels(env),
            log_level=_log_level(env),
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        if self.enable_api and not (self.api_token or self.jwt_secret):
            raise SettingsError(
                "The Rasa HTTP API is enabled (--enable-api / RASA_ENABLE_API) but neither "
                "RASA_API_TOKEN nor RASA_JWT_SECRET is set; refusing to expose it without authentication."
            )
        if not self.database_url.startswith(("sqlite:///", "postgresql://", "postgresql+psycopg2://")):
            raise SettingsError(
                f"DATABASE_URL={self.database_url!r}: use sqlite:///path or postgresql://user@host/db"
            )
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://")):
            raise SettingsError(f"REDIS_URL={self.redis_url!r} must start with redis://")
        if self.web_workers > 1 and not self.redis_url:
            raise SettingsError(
                f"WEB_WORKERS={self.web_workers} needs REDIS_URL: the web processes share each "
                "conversation's lock and the widgets' messages through Redis (e.g. REDIS_URL=redis://127.0.0.1:6379/0)")

    @property
    def console_url(self) -> str:
        return f"{self.public_url or f'http://{self.host}:{self.port}'}/console"

    def but(self, **changes: Any) -> "Settings":
        changed = replace(self, **changes)
        changed.check()
        return changed
