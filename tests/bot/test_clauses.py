"""Where one message may hold two requests, and where it is one."""
from __future__ import annotations

import pytest

from bot.nlp.clauses import request_parts


@pytest.mark.parametrize("text, parts", [
    ("how much is shipping and how long does it take",
     ["how much is shipping", "how long does it take"]),
    ("Do you ship to Leeds? And how long does it take?",
     ["Do you ship to Leeds?", "And how long does it take?"]),
    ("what payment methods do you accept, also can I get an invoice",
     ["what payment methods do you accept", "can I get an invoice"]),
    ("black and white mug", []),                           # too short to be two requests
    ("I ordered a mug and a grinder and the mug is broken", []),
    ("Thanks! Also, are you open on Sunday?", []),          # "Thanks!" asks nothing
    ("where is my order KC-10003", []),
    ("", []),
])
def test_parts(text, parts):
    assert request_parts(text) == parts
