"""An order problem reported in the widget, with a photo, ends as a case with the photo stored."""

from __future__ import annotations

import struct
import zlib

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from actions.services import order_tables as t
from tests.bot.conftest import SHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def tiny_png() -> bytes:
    """A real 2×2 PNG, built here so no image file has to be checked in."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes([200, 40, 40]) * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_damaged_item_with_a_photo(servers, shop_site, browser):
    page = browser.new_page()
    page.goto(shop_site.url + "/")
    page.get_by_role("button", name="Open chat").click()
    log = page.get_by_role("log")
    expect(log).to_contain_text("welcome to Kettle & Crumb")
    box = page.get_by_label("Type your message")
    box.fill("the mug from order KC-10004 arrived broken")
    box.press("Enter")
    expect(log).to_contain_text("email address or phone number on that order")
    box.fill("chris.evans@example.com")
    box.press("Enter")
    expect(log).to_contain_text("Which item arrived damaged?")
    page.get_by_role("button", name="Ceramic Mug").click()
    expect(log).to_contain_text("attach a photo with the paperclip button")

    page.locator(".shopbot-root input[type=file]").set_input_files(
        files=[{"name": "mug.png", "mimeType": "image/png", "buffer": tiny_png()}]
    )
    expect(log).to_contain_text("Photo attached: mug.png")
    expect(log).to_contain_text("Thank you, I've got the photo.")
    box.fill("the handle snapped off in the box")
    box.press("Enter")
    expect(log).to_contain_text("What would you prefer?")
    page.get_by_role("button", name="Send a replacement").click()
    expect(log).to_contain_text("I've opened case C-")
    page.screenshot(path=str(SHOTS / "embed-damaged-case.png"))

    session = page.evaluate("localStorage.getItem('shopbot.session')")
    with servers.engine.connect() as connection:
        case = (
            connection.execute(select(t.cases).where(t.cases.c.conversation_id == session)).mappings().one()
        )
    assert f"I've opened case {case['number']} for order KC-10004." in log.inner_text()
    assert (case["items"], case["description"], case["remedy"]) == (
        "Ceramic Mug",
        "the handle snapped off in the box",
        "replacement",
    )
    stored = servers.database.parent / "uploads" / case["photo_path"]
    assert case["photo_path"].startswith(session + "/") and stored.read_bytes() == tiny_png()


def test_the_attach_button_refuses_what_is_not_a_photo(servers, shop_site, browser):
    page = browser.new_page()
    page.goto(shop_site.url + "/")
    page.get_by_role("button", name="Open chat").click()
    expect(page.get_by_role("log")).to_contain_text("welcome to Kettle & Crumb")
    page.locator(".shopbot-root input[type=file]").set_input_files(
        files=[{"name": "notes.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7"}]
    )
    expect(page.get_by_role("log")).to_contain_text("Please choose a photo (JPEG, PNG, WebP or GIF).")
    expect(page.get_by_role("log").locator(".shopbot-msg--user")).to_have_count(0)
