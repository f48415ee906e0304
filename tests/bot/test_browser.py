"""The customer's view: the demo page at / with the widget, in Debian's Chromium (headless).

Screenshots go to results/screenshots/ for a person to look at.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.bot.servers import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SHOTS = ROOT / "results" / "screenshots"


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: `make browser` installs it")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def test_customer_chats_on_the_demo_page(servers, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(servers.base_url + "/")
    expect(page.locator("#visit")).to_contain_text("Mon–Thu 08:00–18:00")  # hours from shop.yml
    page.get_by_label("Open chat").click()
    log = page.get_by_role("log")
    expect(log).to_contain_text("welcome to Kettle & Crumb", timeout=20_000)

    page.get_by_role("button", name="Opening hours").click()
    expect(log).to_contain_text("Our hours: Mon–Thu 08:00–18:00", timeout=20_000)
    expect(page.get_by_role("button", name="Opening hours")).to_have_count(0)  # chosen chip is gone

    box = page.get_by_label("Type your message")
    box.fill("what delivery options do you have?")
    box.press("Enter")
    expect(log).to_contain_text("We deliver to United Kingdom", timeout=20_000)
    box.fill("<img src=x onerror=alert(1)>")
    box.press("Enter")
    expect(log).to_contain_text("<img src=x onerror=alert(1)>")  # shown as text
    expect(log).to_contain_text("not something I can help with", timeout=20_000)
    assert page.locator(".shopbot-log img").count() == 0
    page.screenshot(path=str(SHOTS / "demo-desktop.png"))

    session = page.evaluate("localStorage.getItem('shopbot.session')")
    page.reload()
    if not page.get_by_role("log").is_visible():
        page.get_by_label("Open chat").click()
    expect(page.get_by_role("log")).to_contain_text("We deliver to United Kingdom")
    assert page.evaluate("localStorage.getItem('shopbot.session')") == session
    page.get_by_label("Type your message").fill("where are you?")
    page.get_by_label("Type your message").press("Enter")
    expect(page.get_by_role("log")).to_contain_text("14 Quay Street", timeout=20_000)
    page.close()


def test_phone_sized_screen(servers, browser):
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    page.goto(servers.base_url + "/")
    page.get_by_label("Open chat").click()
    expect(page.get_by_role("log")).to_contain_text("welcome to Kettle & Crumb", timeout=20_000)
    box = page.get_by_role("dialog").bounding_box()
    assert box and box["width"] >= 385 and box["height"] >= 800
    page.screenshot(path=str(SHOTS / "demo-phone.png"))
    page.close()
