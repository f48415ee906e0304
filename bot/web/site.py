"""Demo shop page at /, the widget script and its assets, socket.io's browser client, /health, and the
description of every route (bot/web/openapi.yml) at /openapi.json."""
from __future__ import annotations

import html
from pathlib import Path
from string import Template
from typing import Any, Dict

import yaml
from sanic import Blueprint, Sanic, response
from sanic.exceptions import NotFound
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.services.clock import utc_now
from actions.services.opening_hours import describe_status, header_status, opening_status, weekly_schedule
from actions.services.shop_profile import ShopProfile
from bot.health import health_report

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
OPENAPI_FILE = WEB_DIR / "openapi.yml"
# socket.io's browser client, installed from the npm registry by `make` (package-lock.json).
SOCKET_IO_CLIENT = Path("socket.io-client/dist/socket.io.min.js")
_ASSET_TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".svg": "image/svg+xml", ".png": "image/png"}


def _asset(path: Path) -> HTTPResponse:
    if path.suffix not in _ASSET_TYPES or not path.is_file():
        raise NotFound("No such file")
    return response.raw(path.read_bytes(), content_type=_ASSET_TYPES[path.suffix],
                        headers={"Cache-Control": "public, max-age=300"})


def widget_config(shop: ShopProfile, max_message_chars: int) -> Dict[str, Any]:
    """What the widget shows before the first message: look from shop.yml, open now, reply time."""
    status = opening_status(shop, utc_now())
    open_now = status.open_until is not None
    look = shop.widget
    return {
        "shop_name": shop.name,
        "accent_colour": look.accent_colour,
        "avatar": bool(look.avatar),
        "privacy_url": look.privacy_url or None,
        "open_now": open_now,
        "status": header_status(shop, status),
        "reply_time": f"A person replies {look.live_reply_time if open_now else shop.reply_time}",
        "max_message_chars": max_message_chars,
    }


def openapi_description() -> Dict[str, Any]:
    """bot/web/openapi.yml, read when asked for (nothing is read at import)."""
    return yaml.safe_load(OPENAPI_FILE.read_text(encoding="utf-8"))


def site_blueprint() -> Blueprint:
    site = Blueprint("site")

    @site.get("/")
    async def demo_page(request: Request) -> HTTPResponse:
        shop = request.app.ctx.shop
        page = Template((WEB_DIR / "templates" / "demo.html").read_text(encoding="utf-8"))
        status = describe_status(shop, opening_status(shop, utc_now()))
        free = f"Free standard delivery on orders over {shop.money(shop.free_shipping_over)}. " \
            if shop.free_shipping_over else ""
        values = {
            "shop_name": shop.name, "greeting_hint": status, "address": shop.address,
            "weekly_schedule": weekly_schedule(shop),
            "shipping_note": f"{free}Returns within {shop.return_window_days} days of delivery.",
        }
        return response.html(page.safe_substitute({k: html.escape(v) for k, v in values.items()}))

    @site.get("/widget/config")
    async def config(request: Request) -> HTTPResponse:
        return response.json(widget_config(request.app.ctx.shop, request.app.ctx.settings.max_message_chars),
                             headers={"Cache-Control": "no-store"})

    @site.get("/widget/avatar")
    async def avatar(request: Request) -> HTTPResponse:
        look = request.app.ctx.shop.widget
        if look.avatar is None:
            raise NotFound("This shop has no avatar")
        # An SVG opened on its own must not run script in our origin.
        return response.raw(look.avatar.read_bytes(), content_type=look.avatar_type, headers={
            "Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox"})

    @site.get("/widget.js")
    async def widget(_: Request) -> HTTPResponse:
        return _asset(STATIC_DIR / "widget.js")

    @site.get("/static/<name:str>")
    async def static(_: Request, name: str) -> HTTPResponse:
        # One flat folder; names with a path separator or dot-dot never match a file in it.
        if "/" in name or name.startswith("."):
            raise NotFound("No such file")
        return _asset(STATIC_DIR / name)

    @site.get("/vendor/socket.io.min.js")
    async def socket_io_client(request: Request) -> HTTPResponse:
        return _asset(request.app.ctx.settings.vendor_dir / SOCKET_IO_CLIENT)

    @site.get("/openapi.json")
    async def openapi(_: Request) -> HTTPResponse:
        return response.json(openapi_description(), headers={"Cache-Control": "public, max-age=300"})

    @site.get("/health")
    async def health(request: Request) -> HTTPResponse:
        report = await health_report(request.app)
        return response.json(report, status=200 if report["status"] == "ok" else 503)

    return site


def register_site(app: Sanic) -> None:
    app.blueprint(site_blueprint())
