"""What customers who don't write like us get from the real servers and the trained model (issue 14).

Not a measure of accuracy (that is `make eval`): a few plain cases each kind of customer must get right,
end to end — two questions in one message, a question about a day, small talk, and a question no shop
handles.
"""
from __future__ import annotations

import uuid

import pytest

from tests.bot.test_e2e import say, texts

pytestmark = pytest.mark.e2e


def test_two_questions_in_one_message_get_both_answers(servers):
    reply = texts(say(servers, f"two-{uuid.uuid4().hex[:8]}",
                      "how much is shipping and how long does it take?"))
    assert "Standard" in reply and "£" in reply and "working days" in reply   # prices and days
    assert reply.count("Royal Mail") == 1                                     # listed once, not twice


def test_a_question_no_shop_handles_is_refused_plainly(servers):
    reply = texts(say(servers, f"oos-{uuid.uuid4().hex[:8]}",
                      "can you book me a flight to Lisbon for Friday"))
    assert "not something I can help with" in reply
    assert "Did you mean" not in reply


@pytest.mark.parametrize("text", ["asdf qwerty", "purple monkey dishwasher"])
def test_nonsense_gets_what_the_bot_can_do_or_a_question(servers, text):
    reply = texts(say(servers, f"nonsense-{uuid.uuid4().hex[:8]}", text))
    assert "not something I can help with" in reply or "Did you mean" in reply
