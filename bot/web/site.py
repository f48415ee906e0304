"""Demo shop page at /, the widget script and its assets, socket.io's browser client, and /health."""
from __future__ import annotations

import html
from pathlib import Path
from string import Template

from sanic import Blueprint, Sanic, response
from sanic.exceptions import NotFound
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.services.opening_hours import describe_status, opening_status, weekly_schedule
from actions.shop import utc_now
from bot.health import health_report

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
# socket.io's browser client, installed from the npm registry by `make` (package-lock.json).
SOCKET_IO_CLIENT = Path("socket.io-client/dist/socket.io.min.js")
_ASSET_TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".svg": "image/svg+xml", ".png": "image/png"}


def _asset(path: Path) -> HTTPResponse:
    if path.suffix not in _ASSET_TYPES or not path.is_file():
        raise NotFound("No such file")
    return response.raw(path.read_bytes(), content_type=_ASSET_TYPES[path.suffix],
                        headers={"Cache-Control": "public, max-age=300"})


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
            "shop_name": shop.name, "greeting_hint": status, "accent_colour": shop.accent_colour,
            "address": shop.address, "weekly_schedule": weekly_schedule(shop),
            "shipping_note": f"{free}Returns within {shop.return_window_days} days of delivery.",
        }
        return response.html(page.safe_substitute({k: html.escape(v) for k, v in values.items()}))

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

    @site.get("/health")
    async def health(request: Request) -> HTTPResponse:
        report = await health_report(request.app)
        return response.json(report, status=200 if report["status"] == "ok" else 503)

    return site


def register_site(app: Sanic) -> None:
    app.blueprint(site_blueprint())
