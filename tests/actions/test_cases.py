"""The owner's cases (CaseBook): what the bot opened, with order, customer, photo and history; status
changes audited with who did it; refusals that change nothing; new cases for the digest; photo paths."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from actions.services import order_tables as t
from actions.services.cases import CaseBook
from actions.services.demo_orders import seed_demo_orders
from actions.services.orders import OrderService
from tests.conftest import fixed_clock, migrated_engine, prove, shop_time

CONVERSATION = "0123456789abcdef0123456789abcdef"
PHOTO = f"{CONVERSATION}/{'a' * 32}.jpg"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    yield from migrated_engine(request, tmp_path)


@pytest.fixture
def now(shop):
    return shop_time(shop, "2026-11-23 10:00")


@pytest.fixture
def orders(engine, shop, now):
    service = OrderService(engine, shop, fixed_clock(now))
    seed_demo_orders(service)
    return service


def opened_at(engine, shop, moment, *args, **kwargs) -> str:
    return OrderService(engine, shop, fixed_clock(moment)).open_case(*args, **kwargs)


def audit(engine, action: str):
    with engine.connect() as connection:
        return [json.loads(d) for d in connection.execute(
            select(t.audit_log.c.details).where(t.audit_log.c.action == action).order_by(t.audit_log.c.id))
            .scalars()]


def test_a_damaged_item_case_comes_with_its_order_customer_photo_and_history(engine, shop, orders, now):
    number = orders.open_case("damaged", "KC-10004", "Ceramic Mug", "handle snapped off", CONVERSATION,
                              remedy="replacement", photo_path=PHOTO, contact="chris.evans@example.com")
    case = CaseBook(engine).by_number(number)
    assert case is not None and case.is_open and case.kind == "Damaged item"
    assert (case.order_number, case.order_status, case.customer_name, case.email) == (
        "KC-10004", "delivered", "Chris Evans", "chris.evans@example.com")
    assert case.lines and all(" × " in line for line in case.lines)
    assert (case.items, case.description, case.remedy, case.photo_path, case.conversation_id) == (
        "Ceramic Mug", "handle snapped off", "replacement", PHOTO, CONVERSATION)
    assert [h.what for h in case.history] == ["Opened by the assistant"]
    assert case.created_at == now.astimezone(dt.timezone.utc)


def test_a_cancellation_by_the_bot_is_an_open_case_with_the_refund_due(engine, shop, orders):
    prove(orders, "conv-cancel", "KC-10001")
    result = orders.cancel("KC-10001", "conv-cancel")
    assert result.done and result.reference.startswith("C-")
    case = CaseBook(engine).by_number(result.reference)
    assert (case.category, case.status, case.remedy, case.conversation_id) == (
        "cancellation", "open", "refund", "conv-cancel")
    assert case.kind == "Cancelled by the assistant" and case.order_status == "cancelled"
    assert "Refund due: £34.95." in case.description and case.email == "alex.morgan@example.com"
    assert not orders.cancel("KC-10001", "conv-cancel").done  # a second try opens no second case
    assert len(CaseBook(engine).list("all")) == 1


def test_open_cases_first_newest_first_then_the_rest(engine, shop, orders, now):
    old = opened_at(engine, shop, now - dt.timedelta(days=2), "wrong", "KC-10009", "Tea", "", "c1")
    new = opened_at(engine, shop, now - dt.timedelta(hours=1), "missing", "KC-10004", "Mug", "", "c2")
    done = opened_at(engine, shop, now, "damaged", "KC-10005", "Beans", "", "c3")
    book = CaseBook(engine)
    assert book.set_status(book.by_number(done).id, "closed", 1, "Mara").done
    assert [c.number for c in book.list("open")] == [new, old]
    assert [c.number for c in book.list("all")] == [new, old, done]
    assert book.count_open() == 2 and book.counts() == {"open": 2, "all": 3}
    with pytest.raises(ValueError):
        book.list("everything")


def test_status_changes_are_stored_and_audited_with_who_did_them(engine, shop, orders):
    number = orders.open_case("damaged", "KC-10004", "Mug", "cracked", "conv-1", remedy="replacement")
    book = CaseBook(engine)
    case_id = book.by_number(number).id
    change = book.set_status(case_id, "replaced", 7, "Mara")
    assert change.done and change.case.status == "replaced"
    assert audit(engine, "case_status") == [
        {"case": number, "from": "open", "to": "replaced", "by": "Mara", "owner_id": 7}]
    assert [(h.what, h.by) for h in book.get(case_id).history][-1] == ("Marked replaced", "Mara")
    # settled: it can be closed, not settled another way
    refused = book.set_status(case_id, "refunded", 7, "Mara")
    assert (refused.done, refused.reason) == (False, "not_allowed")
    assert book.set_status(case_id, "closed", 8, "Sam").done
    assert (book.get(case_id).status, book.get(case_id).next_statuses) == ("closed", ())


@pytest.mark.parametrize("status", ["reopened", "", "open", "resolved", "CLOSED"])
def test_unknown_statuses_change_nothing(engine, shop, orders, status):
    number = orders.open_case("wrong", "KC-10004", "Mug", "blue not green", "conv-1")
    book = CaseBook(engine)
    change = book.set_status(book.by_number(number).id, status, 7, "Mara")
    assert (change.done, change.reason) == (False, "unknown_status")
    assert book.by_number(number).status == "open" and audit(engine, "case_status") == []


def test_a_closed_case_and_an_unknown_case_are_refused(engine, shop, orders):
    number = orders.open_case("wrong", "KC-10004", "Mug", "", "conv-1")
    book = CaseBook(engine)
    case_id = book.by_number(number).id
    assert book.set_status(case_id, "closed", 7, "Mara").done
    again = book.set_status(case_id, "closed", 7, "Mara")
    assert (again.done, again.reason, again.case.status) == (False, "not_allowed", "closed")
    assert book.set_status(case_id + 100, "closed", 7, "Mara").reason == "no_such_case"
    assert len(audit(engine, "case_status")) == 1


def test_a_reply_is_in_the_history_with_its_words(engine, shop, orders):
    number = orders.open_case("missing", "KC-10004", "Mug", "", "conv-1")
    book = CaseBook(engine)
    book.record_reply(book.by_number(number), 7, "Mara", "A new mug is on its way.", "chris@example.com")
    entry = book.by_number(number).history[-1]
    assert (entry.what, entry.by, entry.text, entry.detail) == (
        "Replied to the customer", "Mara", "A new mug is on its way.", "also emailed to chris@example.com")


def test_history_of_one_case_is_not_mixed_with_a_case_whose_number_starts_the_same(engine, shop, orders):
    numbers = [orders.open_case("wrong", "KC-10004", "x", "", f"conv-{i}") for i in range(12)]
    book = CaseBook(engine)
    first = book.by_number(numbers[0])  # C-1001; C-1010 and C-1011 start with the same digits
    book.set_status(book.by_number(numbers[9]).id, "closed", 7, "Mara")
    assert [h.what for h in book.get(first.id).history] == ["Opened by the assistant"]


def test_new_since_lists_the_cases_of_the_window_oldest_first(engine, shop, orders, now):
    before = opened_at(engine, shop, now - dt.timedelta(hours=30), "damaged", "KC-10004", "a", "", "c1")
    inside = opened_at(engine, shop, now - dt.timedelta(hours=3), "late", "KC-10008", "b", "", "c2")
    complaint = opened_at(engine, shop, now - dt.timedelta(hours=2), "complaint", None, "", "rude", "c3")
    prove(orders, "c4", "KC-10001")
    orders.cancel("KC-10001", "c4")  # at ``now``
    book = CaseBook(engine)
    since = now - dt.timedelta(hours=24)
    assert [c.number for c in book.new_since(since, now)][:2] == [inside, complaint]
    found = book.new_since(since, now, ("late", "cancellation"))
    assert [c.category for c in found] == ["late", "cancellation"] and before not in [c.number for c in found]


def test_a_photo_is_served_only_from_inside_the_upload_folder(engine, shop, orders, tmp_path):
    uploads = tmp_path / "uploads"
    (uploads / CONVERSATION).mkdir(parents=True)
    (uploads / PHOTO).write_bytes(b"\xff\xd8\xff photo")
    (tmp_path / "secret.jpg").write_bytes(b"not yours")
    book = CaseBook(engine)
    good = book.by_number(orders.open_case("damaged", "KC-10004", "Mug", "", CONVERSATION, photo_path=PHOTO))
    assert book.photo_file(good, uploads) == (uploads / PHOTO).resolve()
    for path in ("../secret.jpg", f"{CONVERSATION}/../../secret.jpg", "/etc/passwd",
                 f"{'b' * 32}/{'c' * 32}.jpg"):
        bad = book.by_number(orders.open_case("damaged", "KC-10004", "Mug", "", "c", photo_path=path))
        assert book.photo_file(bad, uploads) is None, path


def test_the_cases_of_a_conversation_and_the_handoff_made_for_one(engine, shop, orders):
    from actions.services.handoffs import HandoffQueue

    number = orders.open_case("damaged", "KC-10004", "Mug", "", "conv-9", remedy="person")
    book = CaseBook(engine)
    case_id = book.by_number(number).id
    handoff = HandoffQueue(engine).request("conv-9", "order_case", {"case": number}, case_id=case_id)
    assert book.get(case_id).handoff_id == handoff.id
    assert [c.handoff_id for c in book.list()] == [handoff.id]
    assert [c.number for c in book.for_conversation("conv-9")] == [number]
