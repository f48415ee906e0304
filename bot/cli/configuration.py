"""What every command runs with: the settings (environment variables, command-line overrides win), the shop
profile, and how a command stops on bad input (a message on stderr, exit status 2)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from actions.services.shop_profile import ShopProfile, ShopProfileError, load_shop_profile
from bot.settings import Settings, SettingsError


def fail(message: str) -> "SystemExit":
    print(f"error: {message}", file=sys.stderr)
    return SystemExit(2)


def read_settings(**overrides: object) -> Settings:
    try:
        return Settings.from_env(os.environ, **overrides)
    except SettingsError as error:
        raise fail(str(error)) from None


def read_shop(path: Path) -> ShopProfile:
    try:
        return load_shop_profile(path)
    except ShopProfileError as error:
        raise fail(str(error)) from None
