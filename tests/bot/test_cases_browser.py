"""A damaged item reported in the widget with a photo reaches the owner: an email, the console's Cases page
with the photo's thumbnail, a status change, and a reply that appears in the customer's open widget."""

from __future__ import annotations

import re
import struct
import zlib

import pytest
from playwright.sync_api import expect

from actions.services.owners import OwnerAccounts
from tests.bot.conftest import SHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
PASSWORD = "correct horse battery"


def mug_png(width: int = 160, height: int = 120) -> bytes:
    """A PNG big enough to see in a thumbnail (a brown mug shape on cream), built here: no binary in git."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    def pixel(x: int, y: int) -> bytes:
        body = 40 <= x <= 105 and 25 <= y <= 100
        handle = 105 < x <= 130 and 45 <= y <= 80 and not (112 < x <= 123 and 53 <= y <= 72)
        crack = body and abs((x - 50) - (y - 25) // 2) <= 1
        if crack:
            return bytes([30, 20, 10])
        return bytes([150, 85, 40]) if body or handle else bytes([245, 238, 220])

    rows = b"".join(b"\x00" + b"".join(pixel(x, y) for x in range(width)) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_a_damaged_item_with_a_photo_reaches_the_owner_who_answers_it(servers, shop_site, browser):
    customer = browser.new_page()
    customer.goto(shop_site.url + "/")
    customer.get_by_role("button", name="Open chat").click()
    log = customer.get_by_role("log")
    expect(log).to_contain_text("welcome to Kettle & Crumb")
    box = customer.get_by_label("Type your message")
    box.fill("the mug from order KC-10004 arrived broken")
    box.press("Enter")
    expect(log).to_contain_text("email address or phone number on that order")
    box.fill("chris.evans@example.com")
    box.press("Enter")
    expect(log).to_contain_text("Which item arrived damaged?")
    customer.get_by_role("button", name="Ceramic Mug").click()
    expect(log).to_contain_text("attach a photo with the paperclip button")
    customer.locator(".shopbot-root input[type=file]").set_input_files(
        files=[{"name": "mug.png", "mimeType": "image/png", "buffer": mug_png()}])
    expect(log).to_contain_text("Thank you, I've got the photo.")
    box.fill("the handle snapped off in the box")
    box.press("Enter")
    expect(log).to_contain_text("What would you prefer?")
    customer.get_by_role("button", name="Send a replacement").click()
    expect(log).to_contain_text("I've opened case C-")
    number = re.search(r"I've opened case (C-\d+)", log.inner_text()).group(1)

    # the owner was emailed (the servers run with SMTP on loopback)
    subjects = [m["Subject"] for m in servers.mail.messages]
    assert f"New case {number}: damaged item on order KC-10004" in subjects

    OwnerAccounts(servers.engine).add("owner-cases@example.com", "Mara", PASSWORD)
    owner = browser.new_page()
    owner.goto(servers.base_url + "/console/login")
    owner.get_by_label("Email").fill("owner-cases@example.com")
    owner.get_by_label("Password").fill(PASSWORD)
    owner.get_by_role("button", name="Sign in").click()
    owner.get_by_role("link", name="Cases").click()
    row = owner.get_by_role("row").filter(has_text=number)
    expect(row).to_contain_text("Damaged item")
    expect(row).to_contain_text("KC-10004")
    expect(row).to_contain_text("Chris Evans")
    expect(row).to_contain_text("the handle snapped off in the box")
    thumb = row.get_by_role("img")
    expect(thumb).to_be_visible()
    assert thumb.evaluate("img => img.naturalWidth") == 160  # the photo itself, served to the signed-in owner
    owner.screenshot(path=str(SHOTS / "console-cases.png"), full_page=True)

    row.get_by_role("link", name=number, exact=True).click()
    expect(owner.get_by_role("heading", level=1)).to_contain_text(f"{number} · Damaged item")
    owner.get_by_role("textbox", name="Reply to the customer").fill(
        "So sorry about the mug, Chris. A new one goes out today.")
    owner.get_by_role("button", name="Send reply").click()
    expect(owner.get_by_role("status")).to_contain_text("Your reply is stored in the customer's conversation")
    owner.get_by_role("button", name="Mark replaced").click()
    expect(owner.get_by_role("status")).to_contain_text("The case is now replaced.")
    expect(owner.locator("ul.notes")).to_contain_text("Marked replaced by Mara")
    owner.screenshot(path=str(SHOTS / "console-case.png"), full_page=True)

    # live, in the widget
    expect(log).to_contain_text("So sorry about the mug, Chris. A new one goes out today.")
