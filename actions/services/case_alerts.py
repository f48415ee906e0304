"""Telling the owner about a new case by email, after it is committed.

A mail that cannot be sent is logged and changes nothing else: the case is already stored, it is in the
console's Cases list and in the next daily digest.
"""
from __future__ import annotations

import logging
from typing import Mapping

from actions.services.cases import Case, CaseBook
from actions.services.mail import Mailer, MailError
from actions.services.shop_profile import ShopProfile

logger = logging.getLogger(__name__)


def console_url_from(env: Mapping[str, str]) -> str:
    """Where the owner reaches the console, read as the web server's settings read it (bot/settings.py):
    PUBLIC_URL, else http://BOT_HOST:BOT_PORT. The action server has no Settings of its own yet."""
    public = (env.get("PUBLIC_URL") or "").rstrip("/")
    host, port = env.get("BOT_HOST") or "127.0.0.1", env.get("BOT_PORT") or "5005"
    return f"{public or f'http://{host}:{port}'}/console"


def case_email(case: Case, console_url: str) -> tuple[str, str]:
    """Subject and body of the owner's email about ``case``."""
    order = f" on order {case.order_number}" if case.order_number else ""
    subject = f"New case {case.number}: {case.kind.lower()}{order}"
    who = " · ".join(x for x in (case.customer_name, case.email) if x) or "(no contact given)"
    remedy = {"replacement": "a replacement", "refund": "a refund",
              "person": "a person to contact them"}.get(case.remedy or "", "")
    lines = [f"{case.kind}{order}. Customer: {who}.", ""]
    if case.items:
        lines.append(f"Items: {case.items}")
    if case.description:
        lines.append(f"What they said: {case.description}" if case.category != "cancellation"
                     else case.description)
    if remedy and case.category != "cancellation":
        lines.append(f"They asked for {remedy}.")
    if case.photo_path:
        lines.append("They attached a photo; it is on the case page.")
    lines += ["", f"Open the case: {console_url.rstrip('/')}/cases/{case.id}",
              "Mark it replaced, refunded or closed there, or reply to the customer."]
    return subject, "\n".join(lines) + "\n"


def tell_owner_about_case(book: CaseBook, mailer: Mailer, shop: ShopProfile, number: str,
                          console_url: str) -> bool:
    """Email the shop's owner notification address about case ``number``; False when nothing was sent."""
    case = book.by_number(number)
    if case is None:
        logger.error("Case %s was not found, so the owner was not emailed about it", number)
        return False
    if not mailer.enabled:
        logger.warning("Case %s opened; SMTP_HOST is not set, so the owner gets no email (it is in the "
                       "console under Cases and in the daily digest)", number)
        return False
    subject, body = case_email(case, console_url)
    try:
        mailer.send(shop.owner_email, subject, body, reply_to=case.email)
    except MailError:
        logger.exception("Case %s is stored, but the email to the owner failed", number)
        return False
    book.record_owner_emailed(case, shop.owner_email)
    return True
