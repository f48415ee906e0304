"""Customers' contact details kept out of the repository: what a trainer writes into training data or
conversation tests carries made-up ones in their place."""
from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

from actions.services.log_privacy import EMAIL_PATTERN, PHONE_PATTERN

STAND_INS = {"email": "name@example.com", "phone": "+44 7700 900123"}


def anonymised(text: str, entities: Sequence[Dict[str, Any]]) -> Tuple[str, List[Dict[str, Any]]]:
    """``text`` with emails and phone numbers replaced by the stand-ins, and the entities moved with it."""
    matches = sorted([(m.start(), m.end(), STAND_INS["email"]) for m in EMAIL_PATTERN.finditer(text)]
                     + [(m.start(), m.end(), STAND_INS["phone"]) for m in PHONE_PATTERN.finditer(text)])
    pieces: List[str] = []
    moved: List[Tuple[int, int, int, int]] = []  # old start, old end -> new start, new end
    position = 0
    length = 0
    for start, end, stand_in in matches:
        if start < position:
            continue  # overlapping matches: the first one wins
        pieces.append(text[position:start])
        length += start - position
        moved.append((start, end, length, length + len(stand_in)))
        pieces.append(stand_in)
        length += len(stand_in)
        position = end
    pieces.append(text[position:])
    new_text = "".join(pieces)

    def shift(offset: int) -> int:
        return offset + sum((new_end - new_start) - (old_end - old_start)
                            for old_start, old_end, new_start, new_end in moved if old_end <= offset)

    new_entities = []
    for entity in entities:
        first, last = entity.get("start"), entity.get("end")
        if not isinstance(first, int) or not isinstance(last, int):
            continue
        replaced = next(((ns, ne) for os_, oe, ns, ne in moved if os_ <= first and last <= oe), None)
        new_start, new_end = replaced if replaced else (shift(first), shift(last))
        value = new_text[new_start:new_end] if replaced else plain(entity.get("value"))
        new_entities.append({**entity, "start": new_start, "end": new_end, "value": value})
    return new_text, new_entities


def plain(value: Any) -> Any:
    """A slot's or entity's value with emails and phone numbers replaced by the stand-ins."""
    if isinstance(value, str):
        return PHONE_PATTERN.sub(STAND_INS["phone"], EMAIL_PATTERN.sub(STAND_INS["email"], value))
    return value
