"""Reading a rating from what the customer tapped or typed: "4", "four stars", "it was great", "meh".

``read_rating(text, low, high)`` gives a score on the scale, a refusal ("no thanks"), a number outside the
scale (to ask again gently), or nothing understood. The same words serve CSAT (1-5) and NPS (0-10);
words without a number only mean something on the 1-5 scale.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Optional

NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10,
}
_NOT_BAD = re.compile(r"\bnot (too |that |so )?bad\b")  # before "bad": it means good
_BAD = re.compile(r"\b(not (so |that |very )?(good|great|happy|helpful)|disappoint\w*|poor|bad|rubbish|"
                  r"unhelpful)\b")  # before "good" and "great"
CSAT_WORDS = (
    (re.compile(r"\b(terrible|awful|horrible|useless|worst|dreadful|hopeless|hated? it)\b"), 1),
    (re.compile(r"\b(excellent|amazing|perfect|brilliant|fantastic|superb|outstanding|loved? it|the best|"
                r"great|wonderful|awesome)\b"), 5),
    (re.compile(r"\b(good|nice|helpful|happy|useful|quick)\b"), 4),
    (re.compile(r"\b(ok|okay|fine|alright|all right|average|meh|so-so|so so|mediocre|decent)\b"), 3),
)
DECLINE = re.compile(
    r"^\s*(no|nope|nah|no thanks?|no thank you|not now|skip|pass|rather not|i'?d rather not|never ?mind|"
    r"maybe later|later|don'?t want to|no rating|none)\b", re.I)
# Leaving with a word of acknowledgement ("ok bye", "alright thanks, that's all") is no rating: "ok" is
# only taken as "it was OK" when the customer is not saying goodbye with it.
_LEAVING = re.compile(r"\b(bye|goodbye|good bye|bye-bye|cya|see (you|ya)|got(ta| to) go|that'?s all|"
                      r"that'?s it|i'?m done)\b")
_LUKEWARM = 3  # the score of "ok", "fine", "alright"
_NUMBER = re.compile(r"(?<![\d.])(\d+(?:[.,]\d+)?)(?![\d.])")
_OUT_OF = re.compile(r"(?<![\d.])(\d+(?:[.,]\d+)?)\s*(?:/|out of|outta|of)\s*(\d+)\b")  # "9 out of 10", "4/5"
_STARS = re.compile(r"[★⭐🌟]")


_STAR_WORD = re.compile(r"\bstars?\b")
_OUT_OF_FIVE_OR_TEN = re.compile(r"(?<![\d.])\d+(?:[.,]\d+)?\s*(?:/|out of|outta)\s*(?:5|10)\b")
UNASKED_MAX_CHARS = 60  # "five stars, thanks Mara!"; a longer message says more than a rating


@dataclass(frozen=True)
class Rating:
    score: Optional[int] = None       # on the scale
    declined: bool = False            # "no thanks"
    outside: Optional[int] = None     # a number, but not on the scale: ask again
    understood: bool = True

    @property
    def answered(self) -> bool:
        return self.score is not None or self.declined


NOT_UNDERSTOOD = Rating(understood=False)


def read_rating(text: str, low: int, high: int) -> Rating:
    """What the customer meant on the scale low..high (CSAT 1-5, NPS 0-10)."""
    words = " ".join(str(text or "").lower().split())
    if not words:
        return NOT_UNDERSTOOD
    number = _on_scale(words, low, high)
    if number is None:
        number = _number_in(words)
    if number is None and DECLINE.match(words):
        return Rating(declined=True)
    if number is None and (stars := len(_STARS.findall(words))):
        number = stars
    if number is None and high == 5:
        number = _csat_from_words(words)
        if number == _LUKEWARM and _LEAVING.search(words):
            return Rating(declined=True)
    if number is None:
        return NOT_UNDERSTOOD
    return Rating(score=number) if low <= number <= high else Rating(outside=number)


def unasked_rating(text: str) -> Optional[int]:
    """A chat rated when no rating was asked ("five stars", "4 out of 5", "★★★★"): the 1-5 score, only
    from words that can mean nothing else (a bare "5" may be a quantity); None when it is no such rating."""
    words = " ".join(str(text or "").lower().split())
    if len(words) > UNASKED_MAX_CHARS or not (
            _STAR_WORD.search(words) or _STARS.search(words) or _OUT_OF_FIVE_OR_TEN.search(words)):
        return None
    return read_rating(words, 1, 5).score


def _on_scale(words: str, low: int, high: int) -> Optional[int]:
    """ "9 out of 10" on a 1-5 scale is 5 (4.5 rounded half up); "4/5" on 0-10 is 8."""
    match = _OUT_OF.search(words)
    if not match or int(match.group(2)) <= 0:
        return None
    given, top = Decimal(match.group(1).replace(",", ".")), Decimal(match.group(2))
    if given > top:
        return None
    scaled = given if top == high else given / top * high
    return max(low, int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP)))


def _number_in(words: str) -> Optional[int]:
    match = _NUMBER.search(words)
    if match:
        value = Decimal(match.group(1).replace(",", "."))
        return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    for word in re.findall(r"[a-z]+", words):
        if word in NUMBER_WORDS:
            return NUMBER_WORDS[word]
    return None


def _csat_from_words(words: str) -> Optional[int]:
    if _NOT_BAD.search(words):
        return 4
    if _BAD.search(words):
        return 2
    return next((score for pattern, score in CSAT_WORDS if pattern.search(words)), None)


def nps_band(score: int) -> str:
    """promoter (9-10), passive (7-8) or detractor (0-6), as NPS counts them."""
    if not 0 <= score <= 10:
        raise ValueError(f"an NPS answer is 0-10, not {score}")
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
