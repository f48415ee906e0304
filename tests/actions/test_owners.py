"""Console accounts: scrypt hashes, one answer for a wrong password and an unknown email, the CLI."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from sqlalchemy import select, text

from actions.services import order_tables as t
from actions.services.database import create_database_engine
from actions.services.migrations import MIGRATIONS, migrate
from actions.services.owners import AccountError, OwnerAccounts
from actions.services.passwords import hash_password, needs_rehash, verify_password
from tests.conftest import ROOT

PASSWORD = "correct horse battery"


@pytest.fixture
def accounts(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path}/console.db")
    migrate(engine)
    yield OwnerAccounts(engine)
    engine.dispose()


def test_hashes_are_salted_scrypt_and_verify():
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first.startswith("scrypt$32768$8$1$") and first != second
    assert verify_password(PASSWORD, first) and verify_password(PASSWORD, second)
    assert not verify_password("correct horse batterY", first)
    assert not verify_password(PASSWORD, "md5$abc") and not verify_password(PASSWORD, "garbage")
    assert not needs_rehash(first) and needs_rehash("scrypt$16384$8$1$00$00")


def test_sign_in_with_the_right_password_only(accounts):
    owner = accounts.add("Mara@KettleAndCrumb.example", "Mara", PASSWORD)
    assert owner.email == "mara@kettleandcrumb.example"
    assert accounts.authenticate("mara@kettleandcrumb.example", PASSWORD) == owner
    assert accounts.authenticate("MARA@kettleandcrumb.example ", PASSWORD) == owner
    assert accounts.authenticate("mara@kettleandcrumb.example", "wrong password!") is None
    assert accounts.authenticate("nobody@kettleandcrumb.example", PASSWORD) is None  # same answer
    with accounts.engine.connect() as connection:
        row = connection.execute(select(t.owners)).mappings().one()
    assert row["last_login_at"] is not None and PASSWORD not in row["password_hash"]


@pytest.mark.parametrize(
    "email,name,password,problem",
    [
        ("not-an-email", "Mara", PASSWORD, "not an email address"),
        ("mara@example.com", "", PASSWORD, "1–100 characters"),
        ("mara@example.com", "Mara", "short", "at least 12 characters"),
        ("mara@example.com", "Mara", " leading space pw", "must not start or end with spaces"),
    ],
)
def test_bad_accounts_are_refused(accounts, email, name, password, problem):
    with pytest.raises(AccountError, match=problem):
        accounts.add(email, name, password)


def test_one_account_per_email(accounts):
    accounts.add("mara@example.com", "Mara", PASSWORD)
    with pytest.raises(AccountError, match="already an account"):
        accounts.add("MARA@example.com", "Mara again", PASSWORD)


def test_an_older_database_gets_the_new_table(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path}/old.db")
    assert migrate(engine, MIGRATIONS[:1]) == [1]  # a database from before the console
    assert migrate(engine) == [m.version for m in MIGRATIONS[1:]]
    OwnerAccounts(engine).add("mara@example.com", "Mara", PASSWORD)


def test_owner_add_on_the_command_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path}/cli.db"}
    command = [
        sys.executable,
        "-m",
        "bot",
        "owner",
        "add",
        "mara@example.com",
        "--name",
        "Mara",
        "--password-stdin",
    ]
    made = subprocess.run(
        command, input=PASSWORD + "\n", capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
    )
    assert made.returncode == 0, made.stderr
    assert "Created the owner console account mara@example.com (shown to customers as Mara)." in made.stdout
    again = subprocess.run(
        command, input=PASSWORD + "\n", capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
    )
    assert again.returncode == 2 and "already an account" in again.stderr
    weak = subprocess.run(
        [*command[:5], "sam@example.com", "--password-stdin"],
        input="short\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert weak.returncode == 2 and "at least 12 characters" in weak.stderr


def test_presence_tells_whether_somebody_can_take_a_chat(accounts):
    owner = accounts.add("mara@example.com", "Mara", PASSWORD)
    now = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.timezone.utc)
    assert not accounts.anyone_online(now)
    accounts.seen(owner.id, now - dt.timedelta(minutes=3))
    assert accounts.anyone_online(now)
    assert not accounts.anyone_online(now + dt.timedelta(minutes=3))  # 6 minutes without a request


def test_presence_column_reaches_a_database_from_before_it(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path}/older.db")
    migrate(engine, MIGRATIONS[:3])
    with engine.begin() as connection:  # as step 2 made the table before the column existed
        connection.execute(text("ALTER TABLE owners DROP COLUMN last_seen_at"))
    assert migrate(engine) == [m.version for m in MIGRATIONS[3:]]
    owner = OwnerAccounts(engine).add("mara@example.com", "Mara", PASSWORD)
    OwnerAccounts(engine).seen(owner.id)


def test_a_new_shop_starts_with_canned_replies_it_can_change(tmp_path):
    from actions.services.canned_replies import CannedReplies, CannedReplyError

    engine = create_database_engine(f"sqlite:///{tmp_path}/canned.db")
    migrate(engine)
    canned = CannedReplies(engine)
    hello = next(r for r in canned.all() if r.title == "Hello")
    assert hello.for_person("Mara").startswith("Hello, this is Mara from the team.")
    assert canned.change(hello.id, "Hi", "Hi there!") and canned.get(hello.id).text == "Hi there!"
    with pytest.raises(CannedReplyError):
        canned.add("", "no title")
    assert canned.remove(hello.id) and not canned.remove(hello.id)
    assert migrate(engine) == []  # run again at the next start: the defaults are not added twice
    assert canned.get(hello.id) is None


@pytest.mark.parametrize("roles, owner, trainer", [(("owner",), True, False), (("trainer",), False, True),
                                                   (("trainer", "owner"), True, True)])
def test_an_account_is_an_owner_a_trainer_or_both(accounts, roles, owner, trainer):
    made = accounts.add("tess@example.com", "Tess", PASSWORD, roles)
    for account in (made, accounts.get(made.id), accounts.authenticate("tess@example.com", PASSWORD)):
        assert account is not None and (account.is_owner, account.is_trainer) == (owner, trainer)


@pytest.mark.parametrize("roles", [(), ("admin",), ("owner", "root")])
def test_unknown_roles_are_refused(accounts, roles):
    with pytest.raises(AccountError, match="an owner, a trainer or both"):
        accounts.add("tess@example.com", "Tess", PASSWORD, roles)


def test_accounts_from_before_roles_are_owners(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path}/before-roles.db")
    migrate(engine, MIGRATIONS[:14])
    with engine.begin() as connection:  # as step 2 made the table before the column existed
        connection.execute(text("ALTER TABLE owners DROP COLUMN roles"))
        connection.execute(text("INSERT INTO owners (email, name, password_hash, created_at) "
                                "VALUES ('old@example.com', 'Old', 'x', '2026-01-01 00:00:00')"))
    assert migrate(engine) == [m.version for m in MIGRATIONS[14:]]
    account = OwnerAccounts(engine).get(1)
    assert account is not None and account.roles == ("owner",)
