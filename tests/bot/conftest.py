from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright
from sanic import Sanic
from sanic_testing import TestManager

from bot.app import create_app
from bot.channels.rest import ValidatingRestInput
from bot.settings import Settings
from tests.bot.fakes import RecordingAgent
from tests.bot.servers import ROOT, free_port, running_servers
from tests.bot.shop_site import start_shop_site
from tests.smtp_inbox import start_smtp

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SHOTS = ROOT / "results" / "screenshots"


@pytest.fixture(scope="session")
def shop_site_port():
    """The port of the shop's own website, known before the bot starts so CORS_ORIGINS can list it."""
    return free_port()


@pytest.fixture(scope="session")
def servers(tmp_path_factory, shop_site_port):
    """One action server and one web server with the trained model and the demo orders, shared by the
    e2e tests (each uses its own conversation ids and orders)."""
    smtp, mail = start_smtp()  # a real SMTP server on loopback
    env = {"CORS_ORIGINS": f"http://127.0.0.1:{shop_site_port}", "SMTP_HOST": "127.0.0.1",
           "SMTP_PORT": str(smtp.port), "SMTP_STARTTLS": "0", "SMTP_FROM": "assistant@kettleandcrumb.example"}
    with running_servers(tmp_path_factory.mktemp("servers"), env, demo_orders=True) as running:
        running.mail = mail  # what the servers emailed
        yield running
    smtp.stop()


@pytest.fixture(scope="session")
def shop_site(servers, shop_site_port):
    """The shop's own site on a second origin, embedding the widget (on the left, by data-position)."""
    site = start_shop_site(shop_site_port, servers.base_url, 'data-position="left"')
    yield site
    site.stop()


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium, headless, driven by Playwright; screenshots go to results/screenshots/.

    One per test module: Playwright's sync API keeps an event loop running while it is open, which
    would break the asyncio tests of other modules (sanic-testing, actions) if it stayed open.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: `make browser` installs it")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser(chromium):
    """A fresh browser context per test: its own localStorage, so conversations don't leak."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    yield context
    context.close()


@pytest.fixture
def make_app(shop, tmp_path):
    """An app around a stand-in agent, with its own database in tmp_path."""
    Sanic.test_mode = True

    def make(agent: RecordingAgent, **settings: Any) -> Sanic:
        settings.setdefault("database_url", f"sqlite:///{tmp_path}/app.db")
        settings.setdefault("console_secret", "a test secret, never used elsewhere")
        app = create_app(Settings(**settings), shop, agent=agent, channels=[ValidatingRestInput()])
        TestManager(app)
        return app

    return make
