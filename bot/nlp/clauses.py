"""Where one message may hold two requests: "how much is shipping and how long does it take?".

Only the cut is decided here (no model): at a question mark or full stop followed by more words, at
"also", and at "and" / "plus" / "as well as" when both sides are long enough to be a request of their
own. The classifier then judges each part; a part too short to mean anything alone is not offered.
"""
from __future__ import annotations

import re
from typing import List

MIN_WORDS = 3  # "black and white mug" is one request; "how much is shipping" can stand alone
_SENTENCE_END = re.compile(r"(?<=[?!.])\s+(?=\S)")
_JOINS = re.compile(r"\s*(?:,\s*)?\b(?:and\s+also|and\s+then|and|also|plus|as\s+well\s+as)\b\s*",
                    re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")


def request_parts(text: str) -> List[str]:
    """The parts of ``text`` that may each be a request; [] when it reads as one."""
    parts: List[str] = []
    for sentence in _SENTENCE_END.split(text.strip()):
        pieces = [piece.strip(" ,;") for piece in _JOINS.split(sentence)]
        pieces = [piece for piece in pieces if piece]
        if len(pieces) > 1 and all(_words(piece) >= MIN_WORDS for piece in pieces):
            parts += pieces
        elif _words(sentence) >= MIN_WORDS:
            parts.append(sentence.strip())
    return parts if len(parts) > 1 else []


def _words(text: str) -> int:
    return len(_WORD.findall(text))
