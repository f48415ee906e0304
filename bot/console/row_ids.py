"""Ids in console addresses (/console/handoffs/<id>, /console/events?handoff=<id>): numbers a row can have.

A number past 2**63 - 1 names no row, but SQLite and PostgreSQL raise on it instead of finding nothing, so
routes take ids as ``<name:row_id>``, a parameter type the app registers: such an address is a 404.
"""
from __future__ import annotations

from typing import Optional

from sanic import Sanic

LARGEST_ROW_ID = 2**63 - 1  # SQLite's INTEGER, PostgreSQL's BIGINT


def row_id(text: str) -> int:
    """The id in ``text``; ValueError (the route does not match) for anything no row can have."""
    value = int(text) if text.isascii() and text.isdigit() else 0
    if not 0 < value <= LARGEST_ROW_ID:
        raise ValueError(f"{text!r} is not a row id")
    return value


def parse_row_id(text: Optional[str]) -> Optional[int]:
    try:
        return row_id(text) if text is not None else None
    except ValueError:
        return None


def register_row_ids(app: Sanic) -> None:
    """Before the console's routes are added: they use the type."""
    app.router.register_pattern("row_id", row_id, r"^\d{1,19}$")
