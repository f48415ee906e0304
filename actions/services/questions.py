"""Is a message a question? Where a form waits for words ("what's the new address?", "what went wrong?"),
a statement that happens to look like a shop topic ("5 Park Street, Bath" looks like store_location, "it
came too late" like delivery_time) is the answer, and only a real question is answered as a digression."""
from __future__ import annotations

import re

_QUESTION = re.compile(r"\?|^\s*(where|when|what|which|who|how|why|can|could|would|will|do|does|did|is|are|"
                       r"have|has|may|should|i want|i'd like|i need|please)\b", re.I)


def looks_like_question(text: str) -> bool:
    return bool(_QUESTION.search(text or ""))
