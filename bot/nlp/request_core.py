"""The request inside the words people wrap around it.

"I need assistance to see the withdrawal charges", "can you help me to check your payment options",
"i dont know how I can see the early termination penalties", "I'd like information about the return
window": customers who write to a service desk wrap the request in a polite or helpless frame. In the
sentence embedding that frame weighs as much as the request, so two messages with the same frame and
different requests look alike, and a request in a frame our examples never used looks far from its
intent. The classifier therefore embeds both the whole message and its core (the request without the
frame) and reads the mean of the two (bot/nlp/sentence_classifier.py): the frame still counts, but no
longer outweighs the request.

Only a frame at the very start is taken off, and only when at least MIN_WORDS words are left: "can you
help me" and "I need help" stay as they are (the frame is the request). Questions such as "where can I
find you" keep their opening, which carries the meaning (a place).
"""
from __future__ import annotations

import re
from typing import List

MIN_WORDS = 2

_GREETING = r"(?:(?:hi|hello|hey|good\s+(?:morning|afternoon|evening))\b[\s,!.]*)?"
_PLEASE = r"(?:(?:please|pls|plz)\s+)?"
_FOR = r"(?:(?:to|with|about|on|for|in)\s+)?"
_FRAME = rf"""(?:
    (?:can|could|would|will)\s+(?:you|u|ya)\s+{_PLEASE}
        (?:help\s+me\b\s*{_FOR}|assist\s+me\b\s*{_FOR}|tell\s+me\b\s*|show\s+me\b\s*|let\s+me\s+know\b\s*)?
  | i\s*(?:'d|’d|\s+would)\s+(?:like|love)\s+(?:to\s+)?(?:(?:some\s+)?(?:information|info|help)\s+{_FOR})?
  | i\s+(?:want|need|wanna|gotta|have\s+got\s+to|have\s+to|'ve\s+got\s+to)\s+(?:to\s+)?
        (?:(?:some\s+)?(?:help|assistance|information|info|support)\s*{_FOR})?
  | i(?:'m|\s+am)?\s+(?:try|trying|tried)\s+to\s+
  | (?:i\s+)?(?:need\s+|want\s+)?(?:help|assistance)\s+(?:me\s+)?{_FOR}
  | i\s+(?:do\s+not|don't|don’t|dont)\s+know\s+
        (?:how\s+(?:i\s+can\s+|to\s+)|what\s+to\s+do\s+to\s+|where\s+to\s+)
)"""
_LOOK = r"""(?:(?:check|checking|see|seeing|know|find\s+out|finding\s+out|look\s+up|looking\s+up
              |look\s+at|looking\s+at|get\s+information\s+(?:about|on)|information\s+(?:about|on))\s+)?"""
_OPENING = re.compile(rf"^\s*{_GREETING}{_PLEASE}{_FRAME}{_LOOK}", re.IGNORECASE | re.VERBOSE)
_WORD = re.compile(r"[^\W\d_]+")


def request_core(text: str) -> str:
    """``text`` without a polite or helpless opening frame; ``text`` itself when there is none, or when
    too little would be left."""
    core = _OPENING.sub("", text, count=1).strip()
    if core == text.strip() or len(_WORD.findall(core)) < MIN_WORDS:
        return text
    return core


_NUMBER = re.compile(r"#?\b[A-Za-z]{0,3}-?\d[\d-]{3,}\b")
NUMBER_STAND_IN = "#1234"


def for_meaning(text: str) -> str:
    """The text with every order-number-like run of digits (4 or more) written as one stand-in."""
    return _NUMBER.sub(NUMBER_STAND_IN, text)


def meaning_texts(text: str) -> List[str]:
    """Besides the message itself, the texts whose embeddings its meaning is read from (the classifier's
    meaning_vectors): the message with its numbers stood in, and its request core. The featurizer embeds
    them in the same batch as the message, which costs less than embedding them one by one later."""
    extra = [read] if (read := for_meaning(text)) != text else []
    if (core := request_core(text)) != text:
        extra.append(for_meaning(core))
    return extra
