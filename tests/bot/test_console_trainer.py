"""Roles in the console, and the trainer's Missed messages page: what a trainer sees, decides and writes."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain

from actions.services.database import create_database_engine
from actions.services.owners import OwnerAccounts
from tests.bot.fakes import RecordingAgent
from tests.bot.test_console import PASSWORD, csrf_of, sign_in
from tests.bot.test_trainer_inbox import CONVERSATIONS, add_conversations, said

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def console(make_app, tmp_path):
    yield from trainer_console(make_app, tmp_path)


def trainer_console(make_app, tmp_path):
    """An app with a copy of data/nlu, three accounts (owner Mara, trainer Tess, both Sam) and the inbox's
    conversations: (app, the copy's folder)."""
    data = tmp_path / "nlu"
    shutil.copytree(ROOT / "data" / "nlu", data)
    agent = RecordingAgent(memory=True)
    agent.domain = Domain.load(str(ROOT / "domain.yml"))
    app = make_app(agent, training_data_dir=data)
    app.test_client.get("/health")  # starts the app once: migrations, console state
    engine = create_database_engine(f"sqlite:///{tmp_path}/app.db")
    accounts = OwnerAccounts(engine)
    accounts.add("mara@example.com", "Mara", PASSWORD, ("owner",))
    accounts.add("tess@example.com", "Tess", PASSWORD, ("trainer",))
    accounts.add("sam@example.com", "Sam", PASSWORD, ("owner", "trainer"))
    add_conversations(engine, {**CONVERSATIONS, "c-script": [
        said(200, "<script>alert(1)</script> beans when", "nlu_fallback", 0.1)]})
    yield app, data
    engine.dispose()


def cookies_of(app, email):
    reply = sign_in(app, email=email)
    assert reply.status == 303
    return {"shopbot_console": reply.cookies["shopbot_console"]}


def get(app, path, cookies):
    _, reply = app.test_client.get(path, cookies=cookies, allow_redirects=False)
    return reply


def test_a_trainer_sees_the_missed_messages_not_the_owners_pages(console):
    app, _ = console
    tess = cookies_of(app, "tess@example.com")
    front = get(app, "/console", tess)
    assert front.status == 303 and front.headers["location"] == "/console/missed"
    for path in ("/console/cases", "/console/figures", "/console/replies", "/console/problems",
                 "/console/handoffs/1"):
        refused = get(app, path, tess)
        assert refused.status == 403, path
        assert "Missed messages" in refused.text and "Cases</a>" not in refused.text
    page = get(app, "/console/missed", tess)
    assert page.status == 200
    assert "how quick do the beans turn up at mine" in page.text
    assert "The model suggests: delivery_time 0.40, order_status 0.30, shipping_options 0.10" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>alert" not in page.text
    assert 'href="/console/cases"' not in page.text


def test_an_owner_is_not_a_trainer_unless_both(console):
    app, _ = console
    mara = cookies_of(app, "mara@example.com")
    assert get(app, "/console/missed", mara).status == 403
    assert 'href="/console/missed"' not in get(app, "/console", mara).text
    sam = cookies_of(app, "sam@example.com")
    both = get(app, "/console", sam)
    assert both.status == 200
    assert 'href="/console/missed"' in both.text and 'href="/console/cases"' in both.text
    assert get(app, "/console/missed", sam).status == 200
    assert get(app, "/console/missed", {}).status == 303  # anonymous: to the sign-in


def group_id(page_text, text):
    start = page_text.index(text)
    return page_text[start:].split('action="/console/missed/')[1].split("/")[0]


def decide(app, cookies, event_id, action, **form):
    page = get(app, "/console/missed", cookies)
    _, reply = app.test_client.post(f"/console/missed/{event_id}/{action}", cookies=cookies,
                                    data={"csrf": csrf_of(page.text), **form}, allow_redirects=False)
    return reply


def test_labelling_a_group_writes_the_examples_and_empties_the_group(console):
    app, data = console
    tess = cookies_of(app, "tess@example.com")
    page = get(app, "/console/missed", tess)
    event_id = group_id(page.text, "how quick do the beans turn up at mine")
    _, forged = app.test_client.post(f"/console/missed/{event_id}/label", cookies=tess,
                                     data={"csrf": "forged", "intent": "delivery_time"},
                                     allow_redirects=False)
    assert forged.status == 403
    done = decide(app, tess, event_id, "label", intent="delivery_time")
    assert done.status == 303 and "Added+2+examples+of+delivery_time" in done.headers["location"]
    shipping = (data / "shipping.yml").read_text()
    assert "    - how quick do the beans turn up at mine\n" in shipping
    assert "    - how quickly will the beans turn up at my house\n" in shipping
    after = get(app, done.headers["location"], tess)
    assert "Added 2 examples of delivery_time" in after.text and "how quick do the beans" not in after.text


def test_a_refused_decision_says_why_and_writes_nothing(console):
    app, data = console
    tess = cookies_of(app, "tess@example.com")
    before = {p.name: p.read_bytes() for p in data.glob("*.yml")}
    event_id = group_id(get(app, "/console/missed", tess).text, "got a receipt for the grinder?")
    unknown = decide(app, tess, event_id, "label", intent="not_an_intent")
    assert unknown.status == 400 and "not an intent of domain.yml" in unknown.text
    assert decide(app, tess, event_id, "dismiss", **{"as": "whatever"}).status == 400
    assert decide(app, tess, 999999, "dismiss", **{"as": "noise"}).status == 404
    assert decide(app, tess, event_id, "rename", intent="greet").status == 404
    assert {p.name: p.read_bytes() for p in data.glob("*.yml")} == before
    noise = decide(app, tess, event_id, "dismiss", **{"as": "noise"})
    assert noise.status == 303
    assert "got a receipt for the grinder?" not in get(app, "/console/missed", tess).text
    assert {p.name: p.read_bytes() for p in data.glob("*.yml")} == before


def test_an_example_of_another_intent_is_a_conflict(console):
    app, data = console
    tess = cookies_of(app, "tess@example.com")
    event_id = group_id(get(app, "/console/missed", tess).text, "what time do you shut today")
    from bot.trainer.nlu_files import NluFiles

    domain = Domain.load(str(ROOT / "domain.yml"))
    NluFiles(data, domain.intents, domain.entities).add("opening_hours", ["what time do you shut today"])
    before = {p.name: p.read_bytes() for p in data.glob("*.yml")}
    conflict = decide(app, tess, event_id, "label", intent="contact_info")
    assert conflict.status == 409 and "already an example of opening_hours" in conflict.text
    assert {p.name: p.read_bytes() for p in data.glob("*.yml")} == before


def test_entities_marked_on_the_page_are_written_and_changed_words_refused(console):
    app, data = console
    tess = cookies_of(app, "tess@example.com")
    page = get(app, "/console/missed", tess).text
    event_id = group_id(page, "how quick do the beans turn up at mine")
    section = page[page.index("how quick do the beans turn up at mine"):].split("</section>")[0]
    first = re.search(r'name="example-(\d+)" maxlength="500" value="how quick do the beans turn up at mine"',
                      section).group(1)
    before = (data / "shipping.yml").read_bytes()
    refused = decide(app, tess, event_id, "label", intent="delivery_time",
                     **{f"example-{first}": "when do [beans](product) arrive"})
    assert refused.status == 400 and "changes the customer&#x27;s words" in refused.text
    assert (data / "shipping.yml").read_bytes() == before
    done = decide(app, tess, event_id, "label", intent="delivery_time",
                  **{f"example-{first}": "how quick do the [beans](product) turn up at mine"})
    assert done.status == 303
    assert "    - how quick do the [beans](product) turn up at mine\n" in (data / "shipping.yml").read_text()


def test_a_trainer_changes_their_own_password(console):
    app, _ = console
    tess = cookies_of(app, "tess@example.com")
    form = get(app, "/console/password", tess)
    assert form.status == 200 and "Tess" in form.text  # was a redirect to the sign-in page
    new = "a much longer new passphrase"
    _, done = app.test_client.post("/console/password", cookies=tess, allow_redirects=False, data={
        "csrf": csrf_of(form.text), "current": PASSWORD, "new": new, "again": new})
    assert done.status == 200
    assert sign_in(app, email="tess@example.com", password=new).status == 303
