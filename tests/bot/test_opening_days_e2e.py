"""End to end: a question about a day, typed as customers type it, is answered for that day by the real
servers with the trained model (the model picks opening_hours, the action reads the day)."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
import requests

from actions.shop import current_shop_profile

pytestmark = pytest.mark.e2e


def ask(servers, text: str) -> str:
    reply = requests.post(f"{servers.base_url}/webhooks/rest/webhook",
                          json={"sender": f"days-{uuid.uuid4().hex[:8]}", "message": text}, timeout=30)
    assert reply.status_code == 200, reply.text
    return "\n".join(m.get("text", "") for m in reply.json())


def test_questions_about_a_day_are_answered_for_that_day(servers):
    zone = current_shop_profile().timezone
    before = dt.datetime.now(zone).date()
    tomorrow = ask(servers, "what time do u open tomorow")
    monday = ask(servers, "are you open next monday")
    after = dt.datetime.now(zone).date()
    christmas_eve = ask(servers, "are you open on christmas eve?")
    boxing_day = ask(servers, "open boxing day?")
    print("\n".join([tomorrow, monday, christmas_eve, boxing_day]))

    def named(day: dt.date) -> str:
        return f"{day:%A} {day.day} {day:%B}"

    assert any(tomorrow.startswith(f"Tomorrow ({named(today + dt.timedelta(days=1))}")
               for today in {before, after}), tomorrow
    coming_monday = {today + dt.timedelta(days=(7 - today.weekday()) or 7) for today in {before, after}}
    assert any(named(day) in monday for day in coming_monday), monday
    assert christmas_eve.startswith("On Christmas Eve (") and "December" in christmas_eve, christmas_eve
    assert boxing_day.startswith("On Boxing Day (") and "December" in boxing_day, boxing_day
    assert "Our hours:" not in tomorrow + monday + christmas_eve + boxing_day  # the day, not the week


def test_a_question_without_a_day_still_says_whether_we_are_open_now(servers):
    answer = ask(servers, "what are your opening hours?")
    assert ("open now" in answer or "closed right now" in answer) and "Our hours: Mon–Thu" in answer
