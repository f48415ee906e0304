"""The answers the walker gives to every question: (a) each button, (b) typed in several natural ways,
(c) an unrelated shop question, (d) "never mind", (e) nonsense, emoji only and a 2,000-character message.

Answers are templates: ``{order}``, ``{digits}``, ``{order_loose}`` and ``{email}`` are filled with the
conversation's own order and address (tests/bot/walker/routes.py makes a fresh order per conversation).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

UNRELATED = "what are your opening hours"
NEVER_MIND = "never mind"
NONSENSE = "asdf qwer"
EMOJI = "👍🙂"
_LONG_SENTENCE = ("I have a question about my order and the delivery, and also about the coffee I bought "
                  "last week, which tasted a bit different from the bag before. ")
LONG = (_LONG_SENTENCE * (2000 // len(_LONG_SENTENCE) + 1))[:2000]  # exactly the channel's limit

# Several natural ways to type an answer, per kind of question (tests/bot/walker/questions.answer_type).
TYPED: Dict[str, Tuple[str, ...]] = {
    "rating": ("four stars", "4/5", "no thanks", "meh", "it was great", "prob a 6", "nope",
               "i'd say 9 out of 10"),
    "yes_no": ("yep", "nah", "sure thing"),
    "order_number": ("{order}", "{order_loose}", "it's #{digits}"),
    "email": ("{email}", "it's {email}", "you can reach me at {email}, thanks"),
    "free_text": ("the handle of the mug snapped off when I opened the box",
                  "honestly it took ages and nobody told me why"),
}
# Words some free-text questions would hear from a real customer, beside the generic sentences.
TYPED_FOR_SLOT: Dict[str, Tuple[str, ...]] = {
    "order_details": ("the mug please", "5 Park Street, Bath BA1 2AB"),
    "order_remedy": ("could you send a new one", "i'd rather have my money back"),
    "complaint_order": ("no it's not about an order",),
    "order_id": ("could you look up {order} for me",),
    "order_contact": ("wrong.person@example.com",),  # a failed check: the number must not be forgotten
}
OTHER_KINDS: Tuple[Tuple[str, str], ...] = (
    ("unrelated", UNRELATED), ("never_mind", NEVER_MIND), ("nonsense", NONSENSE), ("emoji", EMOJI),
    ("long", LONG),
)
KINDS = ("button", "typed", *(kind for kind, _ in OTHER_KINDS))


@dataclass(frozen=True)
class Answer:
    kind: str  # one of KINDS
    template: str

    @property
    def shown(self) -> str:
        """The answer as a report shows it (the long message shortened)."""
        return self.template if len(self.template) <= 80 else f"{self.template[:60]}… ({len(LONG)} chars)"


def typed_variants(answer_type: str, slot: str) -> Tuple[str, ...]:
    return TYPED_FOR_SLOT.get(slot, ()) + TYPED[answer_type]


def share_out(variants: Sequence[str], position: int, of: int) -> List[str]:
    """The variants the ``position``-th of ``of`` questions of one kind gets in the quick walk: together
    they use every variant at least once, and each question gets at least one."""
    if of <= 0 or not variants:
        return list(variants)
    mine = [v for i, v in enumerate(variants) if i % of == position % of]
    return mine or [variants[position % len(variants)]]


def answers_for(buttons: Sequence[Tuple[str, str]], typed: Sequence[str]) -> List[Answer]:
    """Every button's payload (as the widget sends it), the typed variants, and the other kinds."""
    return [*(Answer("button", payload) for _, payload in buttons),
            *(Answer("typed", text) for text in typed),
            *(Answer(kind, text) for kind, text in OTHER_KINDS)]
