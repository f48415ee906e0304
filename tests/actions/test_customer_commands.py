"""``python -m bot customer export|delete|sweep`` on a real database, and the RETENTION_DAYS sweep."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from rasa.shared.core.events import UserUttered
from sqlalchemy import select

from actions.services import order_tables as t
from actions.services.customers.old_conversations import sweep_old_conversations
from actions.services.demo_orders import demo_orders
from actions.services.orders import OrderService
from tests.actions.test_figures import add_conversations

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)


def cli(tmp_path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "SHOP_FILE", "BOT_", "UPLOAD_DIR", "RETENTION_DAYS"))
    }
    clean.update(
        DATABASE_URL=f"sqlite:///{tmp_path}/actions.db",
        SHOP_FILE=str(ROOT / "shop.yml"),
        UPLOAD_DIR=str(tmp_path / "uploads"),
        PYTHONPATH=str(ROOT),
        **env,
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", "customer", *args],
        cwd=tmp_path,
        env=clean,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def a_customer_with_a_chat(
    engine, shop, tmp_path, conversation: str = "conv-jo", days_ago: float = 0
) -> None:
    orders = OrderService(engine, shop, clock=lambda: NOW)
    if not orders.count_orders():
        orders.upsert_orders(demo_orders(NOW), source="demo")
    orders.verify("KC-10003", "jo.baker@example.com", conversation)
    when = (NOW - dt.timedelta(days=days_ago)).timestamp()
    add_conversations(
        engine, {conversation: [UserUttered("where is KC-10003? jo.baker@example.com", timestamp=when)]}
    )
    (tmp_path / "uploads" / conversation).mkdir(parents=True)
    (tmp_path / "uploads" / conversation / "mug.jpg").write_bytes(b"\xff\xd8\xff")


def test_export_writes_the_zip_and_delete_asks_for_the_email_again(sqlite_engine, shop, tmp_path):
    a_customer_with_a_chat(sqlite_engine, shop, tmp_path)

    run = cli(tmp_path, "export", "Jo.Baker@example.com", "--out", str(tmp_path / "jo.zip"))
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "jo.zip").stat().st_mode & 0o777 == 0o600  # one person's data: the owner's eyes only
    archive = zipfile.ZipFile(io.BytesIO((tmp_path / "jo.zip").read_bytes()))
    assert "photos/conv-jo/mug.jpg" in archive.namelist()
    assert json.loads(archive.read("orders.json"))[0]["number"] == "KC-10003"

    refused = cli(tmp_path, "delete", "jo.baker@example.com", stdin="someone@example.com\n")
    assert refused.returncode != 0 and "nothing was deleted" in refused.stderr
    no_answer = cli(tmp_path, "delete", "jo.baker@example.com")  # stdin at its end: no confirmation
    assert no_answer.returncode == 2 and "nothing was deleted" in no_answer.stderr
    with sqlite_engine.connect() as connection:
        assert connection.execute(select(t.customers)).all()

    run = cli(tmp_path, "delete", "jo.baker@example.com", stdin="jo.baker@example.com\n")
    assert run.returncode == 0, run.stderr
    assert "1 conversation, 0 cases, 1 photo; 1 order kept" in run.stdout
    with sqlite_engine.connect() as connection:
        assert connection.execute(select(t.customers)).all() == []
        assert (
            connection.execute(select(t.orders.c.email).where(t.orders.c.number == "KC-10003")).scalar() == ""
        )
    assert not (tmp_path / "uploads" / "conv-jo").exists()


def test_unknown_or_malformed_emails_are_refused_and_change_nothing(sqlite_engine, tmp_path):
    for args in (
        ("export", "nobody@example.com"),
        ("delete", "nobody@example.com", "--yes"),
        ("delete", "not-an-email", "--yes"),
    ):
        run = cli(tmp_path, *args)
        assert run.returncode == 2 and ("nothing is held" in run.stderr or "not an email" in run.stderr), args
    assert not list(tmp_path.glob("*.zip"))


def test_retention_days_deletes_old_conversations_only(sqlite_engine, shop, tmp_path):
    a_customer_with_a_chat(sqlite_engine, shop, tmp_path, "conv-old", days_ago=40)
    a_customer_with_a_chat(sqlite_engine, shop, tmp_path, "conv-recent", days_ago=5)

    done = sweep_old_conversations(sqlite_engine, tmp_path / "uploads", 30, clock=lambda: NOW)

    assert (done.conversations, done.files) == (1, 1)
    with sqlite_engine.connect() as connection:
        senders = set(connection.execute(select(t.customer_conversations.c.conversation_id)).scalars())
        verified = set(connection.execute(select(t.order_verifications.c.conversation_id)).scalars())
        audit = (
            connection.execute(select(t.audit_log.c.details).where(t.audit_log.c.action == "retention_sweep"))
            .scalars()
            .all()
        )
    assert senders == verified == {"conv-recent"}
    assert [json.loads(a) for a in audit] == [{"retention_days": 30, "conversations": 1, "files": 1}]
    assert (
        not (tmp_path / "uploads" / "conv-old").exists() and (tmp_path / "uploads" / "conv-recent").exists()
    )
    again = sweep_old_conversations(sqlite_engine, tmp_path / "uploads", 30, clock=lambda: NOW)
    assert again.conversations == 0


def test_the_sweep_command_needs_retention_days(sqlite_engine, tmp_path):
    assert cli(tmp_path, "sweep").returncode != 0
    run = cli(tmp_path, "sweep", RETENTION_DAYS="30")
    assert run.returncode == 0 and "Deleted 0 conversations older than 30 days" in run.stdout, run.stderr
