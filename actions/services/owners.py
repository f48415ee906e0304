"""Console accounts: created on the command line (``python -m bot owner add EMAIL``), used to sign in."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Tuple

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from actions.services import order_tables as t
from actions.services.email_address import parse_email
from actions.services.passwords import hash_password, needs_rehash, password_problem, verify_password

ONLINE_WINDOW = dt.timedelta(minutes=5)
# Verifying against this when the email is unknown takes as long as a real check: no timing hint.
_DUMMY_HASH = hash_password("not a real password, only for timing")


class AccountError(ValueError):
    """An account cannot be created as asked; the message says why, for the person at the console."""


class WrongPassword(AccountError):
    """The current password given to change it is not right."""


ROLES = ("owner", "trainer")
ROLE_CHOICES = {"owner": ("owner",), "trainer": ("trainer",), "both": ROLES}


@dataclass(frozen=True)
class Owner:
    """A console account. An owner handles cases, chats and figures; a trainer the missed messages,
    the training data and the models; an account may be both."""

    id: int
    email: str
    name: str
    roles: Tuple[str, ...] = ("owner",)

    @property
    def is_owner(self) -> bool:
        return "owner" in self.roles

    @property
    def is_trainer(self) -> bool:
        return "trainer" in self.roles


def _roles(stored: Optional[str]) -> Tuple[str, ...]:
    return tuple(role for role in ROLES if role in (stored or "owner").split(","))


def _account(row: Any) -> Owner:
    return Owner(row["id"], row["email"], row["name"], _roles(row["roles"]))


class OwnerAccounts:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, email: str, name: str, password: str, roles: Sequence[str] = ("owner",)) -> Owner:
        email = email.strip().lower()
        if not roles or set(roles) - set(ROLES):
            given = ", ".join(roles) or "none"
            raise AccountError(f"An account is an owner, a trainer or both (got {given}).")
        chosen = tuple(role for role in ROLES if role in roles)
        if parse_email(email) is None:
            raise AccountError(f"{email!r} is not an email address.")
        if not name.strip() or len(name) > 100:
            raise AccountError("The name customers see must be 1–100 characters.")
        problem = password_problem(password)
        if problem:
            raise AccountError(problem)
        with self.engine.begin() as connection:
            if connection.execute(select(t.owners.c.id).where(t.owners.c.email == email)).first():
                raise AccountError(f"There is already an account for {email}.")
            owner_id = connection.execute(t.owners.insert().values(
                email=email, name=name.strip(), password_hash=hash_password(password), roles=",".join(chosen),
                created_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))).inserted_primary_key[0]
        return Owner(owner_id, email, name.strip(), chosen)

    def get(self, owner_id: int) -> Optional[Owner]:
        with self.engine.connect() as connection:
            row = connection.execute(select(t.owners).where(t.owners.c.id == owner_id)).mappings().first()
        return _account(row) if row else None

    def seen(self, owner_id: int, at: Optional[dt.datetime] = None) -> None:
        """The owner used the console just now (each console request says so)."""
        moment = (at or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).replace(tzinfo=None)
        with self.engine.begin() as connection:
            connection.execute(update(t.owners).where(t.owners.c.id == owner_id).values(last_seen_at=moment))

    def anyone_online(self, now: dt.datetime, within: dt.timedelta = ONLINE_WINDOW) -> bool:
        """Whether somebody used the console recently enough to take a chat now."""
        since = (now - within).astimezone(dt.timezone.utc).replace(tzinfo=None)
        with self.engine.connect() as connection:
            return connection.execute(select(t.owners.c.id).where(t.owners.c.last_seen_at >= since)).first() \
                is not None

    def authenticate(self, email: str, password: str) -> Optional[Owner]:
        """The account if the password is right; None for a wrong password *or* an unknown email."""
        with self.engine.connect() as connection:
            row = connection.execute(select(t.owners).where(
                t.owners.c.email == email.strip().lower())).mappings().first()
        if row is None:
            verify_password(password, _DUMMY_HASH)
            return None
        if not verify_password(password, row["password_hash"]):
            return None
        changes = {"last_login_at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)}
        if needs_rehash(row["password_hash"]):
            changes["password_hash"] = hash_password(password)  # type: ignore[assignment]
        with self.engine.begin() as connection:
            connection.execute(update(t.owners).where(t.owners.c.id == row["id"]).values(**changes))
        return _account(row)

    def change_password(self, owner_id: int, current: str, new: str) -> None:
        """A new password, if the current one is right; AccountError says what was wrong (nothing changed).
        The caller ends the owner's other console sessions."""
        with self.engine.connect() as connection:
            stored = connection.execute(select(t.owners.c.password_hash).where(
                t.owners.c.id == owner_id)).scalar()
        if stored is None or not verify_password(current, stored):
            raise WrongPassword("The current password is not right; the password was not changed.")
        problem = password_problem(new)
        if problem:
            raise AccountError(problem)
        if new == current:
            raise AccountError("The new password is the same as the current one.")
        with self.engine.begin() as connection:
            connection.execute(update(t.owners).where(t.owners.c.id == owner_id)
                               .values(password_hash=hash_password(new)))
