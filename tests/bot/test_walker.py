"""The conversation walker (issue 12): every question the bot can ask — each required slot of each form in
domain.yml, and every button it offers — answered in every way a customer might, against the real
servers over REST (all paths) and socket.io (a subset), each answer followed by a shop question.

After every turn: a non-empty reply, no error in either server's log, and what the bot confirmed is in
the database; after every answer the chat goes on. The walk runs once per module (fixture ``walk``);
each test below asserts one of these over all paths and shows the failing conversations in full.
results/walker.json has the figures (paths, turns, questions reached, answers by kind) and every failure.
WALKER_FULL=1 walks every typed variant on every question, and the questions found on the way.
"""
from __future__ import annotations

import json
import os
import re
from collections import OrderedDict
from typing import Dict, List

import pytest

from actions.services.orders import OrderService
from actions.shop import current_shop_profile
from tests.bot.servers import ROOT, running_servers
from tests.bot.walker.chat import LogWatch, RestChat, SocketChat
from tests.bot.walker.questions import all_questions, form_slots, load_domain, question_action
from tests.bot.walker.routes import ROUTES, OrderCopies
from tests.bot.walker.walk import Path, Walker
from tests.smtp_inbox import start_smtp

FULL = os.environ.get("WALKER_FULL") == "1"
RESULTS = ROOT / "results" / "walker.json"
SHOWN = 25  # distinct failures shown in an assertion message; results/walker.json has them all


def test_every_form_has_a_route():
    """A new form (or a renamed one) must be walked, not skipped: a route to it is needed here."""
    forms = form_slots(load_domain())
    missing = [f"{form} (slots: {', '.join(slots)})" for form, slots in forms.items() if form not in ROUTES]
    assert not missing, ("The walker has no route to these forms; add opening messages for them to ROUTES in "
                         "tests/bot/walker/routes.py: " + "; ".join(missing))
    assert not [form for form in ROUTES if form not in forms], "ROUTES names forms domain.yml does not have"


def test_every_form_slot_has_a_question():
    domain = load_domain()
    silent = [f"{form}.{slot}" for form, slot in all_questions(domain)
              if not question_action(domain, form, slot)]
    assert not silent, f"no action_ask_… or utter_ask_… for {silent}"


@pytest.fixture(scope="module")
def walker_servers(tmp_path_factory):
    """Servers of its own, so their logs hold only the walk: nobody has a console account (a person means
    a ticket, whatever the time), a real SMTP server takes the owner's mail, the demo orders are seeded."""
    smtp, _ = start_smtp()
    env = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port), "SMTP_STARTTLS": "0",
           "SMTP_FROM": "assistant@kettleandcrumb.example",
           "PYTHONUNBUFFERED": "1"}  # log lines land as they happen
    with running_servers(tmp_path_factory.mktemp("walker"), env, demo_orders=True) as running:
        yield running, running.engine
    smtp.stop()


@pytest.fixture(scope="module")
def walk(walker_servers):
    servers, engine = walker_servers
    logs = LogWatch({name: servers.logs / f"{name}.log" for name in ("web", "actions")})
    chats = {"rest": lambda context: RestChat(servers.base_url, servers.database, logs, context.sender),
             "socketio": lambda context: SocketChat(servers.base_url, servers.database, logs)}
    walker = Walker(engine, OrderCopies(OrderService(engine, current_shop_profile())), load_domain(), chats,
                    full=FULL)
    walker.run()
    summary = walker.summary()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({**summary, "failures": [p.report() for p in walker.paths if p.problems]},
                                  indent=2, ensure_ascii=False))
    (RESULTS.parent / "walker-answers.json").write_text(json.dumps(walker.answered(), indent=1,
                                                                   ensure_ascii=False))
    print(f"\nwalker: {summary['paths']} paths ({summary['paths_by_channel']}), {summary['turns']} turns, "
          f"{len(summary['questions_reached'])} of {len(all_questions(walker.domain))} form questions "
          f"reached "
          f"({summary['questions_walked']} answered in every way), answers {summary['answers_by_kind']}, "
          f"{summary['seconds']} s, {summary['failed_paths']} paths with problems")
    return walker


def shown(paths: List[Path], kind: str) -> str:
    """The failing conversations, one per distinct problem (same question, answer kind and words)."""
    groups: Dict[str, List[Path]] = OrderedDict()
    for path in paths:
        for problem in path.problems:
            if problem.kind == kind:
                label = path.question.label if path.question else path.route.name
                answer = path.answer.kind if path.answer else "route"
                words = re.sub(r"\b(C|KC)-\d+|\d+|\S+@\S+", "#", problem.text)
                groups.setdefault(f"{label} ← {answer}: {words}", []).append(path)
    parts = [f"{len(groups)} distinct {kind} problems in {len(paths)} paths (all in {RESULTS}):"]
    for title, members in list(groups.items())[:SHOWN]:
        parts.append(f"\n== {title} ({len(members)} paths)\n{members[0].report()}")
    return "\n".join(parts)


@pytest.mark.e2e
def test_every_required_slot_of_every_form_is_asked(walk):
    reached = set(walk.summary()["questions_reached"])
    missing = [f"{form}.{slot}" for form, slot in all_questions(walk.domain)
               if f"{form}.{slot}" not in reached]
    assert not missing, (f"no route reached {missing}; add a route to tests/bot/walker/routes.py. "
                         f"Reached, by route: {json.dumps(walk.reached, indent=1)}")
    assert len(reached) == len(all_questions(walk.domain))


@pytest.mark.e2e
def test_every_route_still_reaches_its_questions(walk):
    failing = walk.failures("route")
    assert not failing, shown(failing, "route")


@pytest.mark.e2e
def test_every_turn_gets_an_answer(walk):
    failing = walk.failures("reply")
    assert not failing, shown(failing, "reply")


@pytest.mark.e2e
def test_no_error_in_either_servers_log(walk):
    failing = walk.failures("log")
    assert not failing, shown(failing, "log")


@pytest.mark.e2e
def test_the_chat_goes_on_after_every_answer(walk):
    failing = walk.failures("goes_on")
    assert not failing, shown(failing, "goes_on")


@pytest.mark.e2e
def test_never_mind_leaves_and_no_question_or_nonsense_is_taken_as_an_answer(walk):
    failing = walk.failures("flow")
    assert not failing, shown(failing, "flow")


@pytest.mark.e2e
def test_what_the_bot_confirmed_is_in_the_database(walk):
    failing = walk.failures("database")
    assert not failing, shown(failing, "database")


@pytest.mark.e2e
def test_both_channels_were_walked(walk):
    channels = walk.summary()["paths_by_channel"]
    assert channels.get("rest", 0) > channels.get("socketio", 0) > 0
