"""The ratings, comments and thumbs of a range as a CSV file for a spreadsheet (the console's download and
``python -m bot report --csv``)."""

from __future__ import annotations

import csv
import io
from typing import Iterable

from actions.services.figures import FeedbackAnswer

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula
CSV_COLUMNS = (
    "date",
    "time",
    "conversation",
    "kind",
    "score",
    "comment",
    "declined",
    "intent",
    "with_person",
    "rated_answer",
)


def _cell(text: str) -> str:
    """Customer text as a spreadsheet shows it, never run as a formula (OWASP "CSV injection")."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def feedback_csv(answers: Iterable[FeedbackAnswer]) -> str:
    """The answers as CSV, times in the shop's zone; starts with a BOM so Excel reads it as UTF-8."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for a in answers:
        writer.writerow(
            [
                a.at.strftime("%Y-%m-%d"),
                a.at.strftime("%H:%M"),
                _cell(a.conversation_id),
                a.kind,
                "" if a.score is None else a.score,
                _cell(a.comment),
                "yes" if a.declined else "no",
                _cell(a.intent),
                "yes" if a.with_person else "no",
                _cell(a.message_text),
            ]
        )
    return out.getvalue()
