"""The chat widget's look from shop.yml's ``widget:`` section: colour, avatar, privacy link, reply time.

The accent colour carries white text (header, launcher, the customer's bubbles) and is itself the
colour of links and chips on white, so it must reach WCAG AA's 4.5:1 against white; a shop that picks
a pale colour is told so when the server starts, not by a customer who cannot read the header.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

AA_TEXT_CONTRAST = 4.5
AVATAR_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                ".webp": "image/webp"}
AVATAR_MAX_BYTES = 100 * 1024
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


class WidgetLookError(ValueError):
    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem)
        self.field = f"widget.{key}"
        self.problem = problem


def relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a #rrggbb colour."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@dataclass(frozen=True)
class WidgetLook:
    accent_colour: str = "#2f6f4e"
    avatar: Path | None = None       # an image file shown in the widget's header
    privacy_url: str = ""            # linked under the message box
    live_reply_time: str = "in a few minutes"  # how soon a person answers while the shop is open

    @property
    def avatar_type(self) -> str | None:
        return AVATAR_TYPES[self.avatar.suffix.lower()] if self.avatar else None


def _text(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise WidgetLookError(key, "must be a non-empty text")
    return " ".join(value.split())


def parse_widget_look(raw: Any, base_dir: Path) -> WidgetLook:
    """Validate ``widget:``; a relative avatar path is read from ``base_dir`` (shop.yml's folder)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise WidgetLookError("", "must be a mapping of fields")
    defaults = WidgetLook()
    accent = _text(raw, "accent_colour") or defaults.accent_colour
    if not _COLOUR.match(accent):
        raise WidgetLookError("accent_colour", f"{accent!r} is not a colour like #2f6f4e")
    ratio = contrast_ratio(accent, "#ffffff")
    if ratio < AA_TEXT_CONTRAST:
        raise WidgetLookError("accent_colour", f"{accent} has a contrast of {ratio:.1f}:1 with white; "
                              f"text needs {AA_TEXT_CONTRAST}:1 (WCAG AA), choose a darker colour")
    privacy = _text(raw, "privacy_url") or ""
    if privacy and not privacy.startswith(("https://", "http://")):
        raise WidgetLookError("privacy_url", f"{privacy!r} must start with https:// or http://")
    avatar = None
    avatar_text = _text(raw, "avatar")
    if avatar_text:
        avatar = (base_dir / avatar_text).resolve()
        if avatar.suffix.lower() not in AVATAR_TYPES:
            raise WidgetLookError("avatar", f"{avatar_text!r} must be an image: {', '.join(AVATAR_TYPES)}")
        if not avatar.is_file():
            raise WidgetLookError("avatar", f"{avatar_text!r} does not exist beside shop.yml")
        if avatar.stat().st_size > AVATAR_MAX_BYTES:
            raise WidgetLookError("avatar", f"{avatar_text!r} is larger than {AVATAR_MAX_BYTES // 1024} KB")
    return WidgetLook(accent_colour=accent.lower(), avatar=avatar, privacy_url=privacy,
                      live_reply_time=_text(raw, "live_reply_time") or defaults.live_reply_time)
