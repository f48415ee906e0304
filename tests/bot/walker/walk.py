"""The walk: run every route once to find the questions it reaches, then, for every question, start
fresh conversations that reach it and answer it in every way (tests/bot/walker/answers.py), each
followed by a shop question that must still be answered. Every turn is checked (checks.py); the
buttons the bot offers outside a question are pressed too, once each.
"""
from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import socketio
from sqlalchemy.engine import Engine

from tests.bot.walker import checks
from tests.bot.walker.answers import NEVER_MIND, UNRELATED, Answer, answers_for, share_out, typed_variants
from tests.bot.walker.chat import Chat, Turn
from tests.bot.walker.questions import Question, answer_type, form_slots
from tests.bot.walker.routes import OPENINGS, ROUTES, Context, OrderCopies, Route

PROBE = UNRELATED  # after every answer: the chat must go on


@dataclass
class Problem:
    kind: str  # reply, log, goes_on, database, flow, route
    turn: int
    text: str


@dataclass
class Path:
    """One fresh conversation: a route's first ``prefix`` steps, then an answer, then the probe."""

    route: Route
    prefix: int
    answer: Optional[Answer] = None  # None: the route walked as it is written
    question: Optional[Question] = None
    channel: str = "rest"
    sender: str = ""
    turns: List[Turn] = field(default_factory=list)
    problems: List[Problem] = field(default_factory=list)

    @property
    def title(self) -> str:
        what = f"{self.question.label} ← {self.answer.kind} {self.answer.shown!r}" if self.answer and \
            self.question else f"{self.answer.kind} {self.answer.shown!r}" if self.answer else "as written"
        return f"[{self.channel}] {self.route.name}: {what} (conversation {self.sender})"

    def report(self) -> str:
        lines = [self.title, *(f"  turn {p.turn + 1}: {p.kind}: {p.text}" for p in self.problems)]
        for number, turn in enumerate(self.turns, 1):
            lines += [f" {number}.", *turn.report()]
        return "\n".join(lines)


ChatFactory = Callable[[Context], Chat]


class Walker:
    def __init__(self, engine: Engine, copies: OrderCopies, domain: Dict[str, Any],
                 chats: Dict[str, ChatFactory], full: bool = False) -> None:
        self.engine, self.copies, self.domain, self.chats, self.full = engine, copies, domain, chats, full
        self.forms = form_slots(domain)  # other loops (the two-stage fallback) ask no slot's question
        self.paths: List[Path] = []
        # question key -> (question, route, the messages that reach it); first seen wins
        self.questions: Dict[Tuple[Any, ...], Tuple[Question, Route, Tuple[str, ...]]] = {}
        self.reached: Dict[str, List[str]] = {}  # form.slot -> routes whose own walk reached it
        self.offers: Dict[str, Tuple[Route, Tuple[str, ...]]] = {}  # payload -> shortest way to see it
        self.pressed: set = set()
        self.walked: set = set()  # the questions answered in every way
        self.confirmations: Counter = Counter()  # confirmations checked against the database, by words
        self.started = time.monotonic()

    # ---- walking one conversation ----
    def walk(self, path: Path, templates: Sequence[str], answer_at: Optional[int] = None) -> Path:
        context = self.copies.context(path.route)
        chat = self.chats[path.channel](context)
        path.sender = chat.sender
        sent: List[str] = []
        try:
            for index, template in enumerate(templates):
                if index == answer_at and path.question:
                    self._check_reached(path, index)
                try:
                    turn = chat.say(context.fill(template))
                except (OSError, ValueError, TimeoutError, socketio.exceptions.SocketIOError) as error:
                    # a hung or dead server: this conversation ends here, the walk goes on
                    path.problems.append(Problem("reply", index, f"no answer at all: {error!r}"))
                    break
                path.turns.append(turn)
                sent.append(template)
                self._check_turn(path, index, turn, chat.sender)
                self._remember(path.route, context, tuple(sent), turn)
                self._check_asked(path, index, turn, context)
                if index == answer_at and path.answer:
                    self._check_answer(path, index, turn, chat.sender)
        finally:
            chat.close()
        last = len(path.turns) - 1
        if not path.turns:
            self.paths.append(path)
            return path
        if last != answer_at and not checks.answers_hours(path.turns[-1]):
            path.problems.append(Problem("goes_on", last, f"{PROBE!r} got no opening hours"))
        for text in {PROBE, NEVER_MIND}:
            where = checks.stored_as_answer(self.engine, chat.sender, text)
            if where:
                path.problems.append(Problem("flow", last, f"{text!r} was stored as an answer in {where}"))
        self.paths.append(path)
        return path

    def _check_reached(self, path: Path, index: int) -> None:
        before = path.turns[index - 1] if index else None
        assert path.question is not None
        if before is None or (before.form, before.slot) != (path.question.form, path.question.slot):
            asked = f"{before.form}.{before.slot}" if before and before.form else "no question"
            path.problems.append(Problem("route", index, f"expected {path.question.label} to be asked; "
                                                         f"the bot asked {asked}"))

    def _check_turn(self, path: Path, index: int, turn: Turn, sender: str) -> None:
        for kind, found in (("reply", checks.reply_problems(turn, self.engine, sender)),
                            ("log", checks.log_problems(turn)),
                            ("database", checks.database_problems(turn, self.engine, sender,
                                                                  self.confirmations))):
            path.problems += [Problem(kind, index, text) for text in found]

    def _check_answer(self, path: Path, index: int, turn: Turn, sender: str) -> None:
        assert path.answer is not None
        if path.answer.kind == "unrelated" and not checks.answers_hours(turn):
            path.problems.append(Problem("goes_on", index, "the shop question was not answered"))
        moved_on = path.question and (turn.form, turn.slot) != (path.question.form, path.question.slot)
        stored = checks.tapped_rating_problem(self.engine, sender, path.answer.template) if moved_on else None
        if stored:
            path.problems.append(Problem("database", index, stored))
        if path.answer.kind in ("nonsense", "emoji") and path.answer.template in turn.text:
            path.problems.append(Problem("flow", index, f"took {path.answer.template!r} as a real answer and "
                                                        f"said it back: {turn.text[:120]!r}"))
        if path.answer.kind == "never_mind" and path.question and turn.form == path.question.form:
            path.problems.append(Problem("flow", index, f"after 'never mind' {turn.form} still runs "
                                                        f"(asking {turn.slot})"))

    def _check_asked(self, path: Path, index: int, turn: Turn, context: Context) -> None:
        """A form's question while no form waits for the answer: the customer's answer would go nowhere."""
        if turn.form in self.forms or not turn.messages:
            return
        last = context.template_of(turn.messages[-1].get("text") or "")
        asked = next((q.label for q, _, _ in self.questions.values() if q.text == last), None)
        if asked:
            path.problems.append(Problem("flow", index, f"the bot asks {asked} ({last[:60]!r}) but no form "
                                                        f"waits for the answer"))

    def _remember(self, route: Route, context: Context, sent: Tuple[str, ...], turn: Turn) -> None:
        """The question this reply asks, and the buttons it offers besides a question's own."""
        question_buttons: Tuple[Tuple[str, str], ...] = ()
        form, slot = turn.form or "", turn.slot or ""
        if slot in self.forms.get(form, ()):
            question_buttons = tuple((context.template_of(title), context.template_of(payload))
                                     for title, payload in turn.last_buttons())
            last = turn.messages[-1].get("text") or "" if turn.messages else ""
            question = Question(form, slot, context.template_of(last), question_buttons)
            if question.key not in self.questions:
                self.questions[question.key] = (question, route, sent)
        for _, payload in turn.buttons:
            template = context.template_of(payload)
            if any(template == p for _, p in question_buttons):
                continue
            known = self.offers.get(template)
            if known is None or len(sent) < len(known[1]):
                self.offers[template] = (route, sent)

    # ---- the whole walk ----
    def run(self, socket_subset: bool = True) -> None:
        routes = [*((None, r) for r in OPENINGS), *((f, r) for f, rs in ROUTES.items() for r in rs)]
        for form, route in routes:
            path = self.walk(Path(route, len(route.steps)), [*route.steps, PROBE])
            self._check_route(path, form)
        discovered = list(self.questions.values())
        plan = self.planned(discovered)
        self.walked = {question.key for question, _, _, _ in plan}
        for question, route, sent, answer in plan:
            self.answer(question, route, sent, answer, "rest")
        if self.full:  # one level further: questions first seen while answering
            found_later = list(self.questions.values())[len(discovered):]
            for question, route, sent, answer in self.planned(found_later):
                self.answer(question, route, sent, answer, "rest")
        if socket_subset and "socketio" in self.chats:
            for question, route, sent, answer in self.socket_plan(plan):
                self.answer(question, route, sent, answer, "socketio")
        for payload, (route, sent) in sorted(self.offers.items()):
            if payload not in self.pressed:
                offer = Path(route, len(sent), Answer("offer", payload))
                self.walk(offer, [*sent, payload, PROBE], len(sent))

    def _check_route(self, path: Path, form: Optional[str]) -> None:
        """A route goes through its form to the end, as a customer who answers everything would."""
        route_turns = path.turns[:len(path.route.steps)]
        for turn in route_turns:
            if turn.slot in self.forms.get(turn.form or "", ()):
                routes = self.reached.setdefault(f"{turn.form}.{turn.slot}", [])
                if path.route.name not in routes:
                    routes.append(path.route.name)
        last = len(route_turns) - 1
        if form and not any(turn.form == form for turn in route_turns):
            path.problems.append(Problem("route", last, f"the route never reached {form}"))
        elif route_turns and route_turns[-1].form:
            stuck = f"{route_turns[-1].form}.{route_turns[-1].slot}"
            path.problems.append(Problem("route", last, f"after the route's last answer the bot still asks "
                                                        f"{stuck}: stuck"))

    def answer(self, question: Question, route: Route, sent: Tuple[str, ...], answer: Answer,
               channel: str) -> None:
        path = Path(route, len(sent), answer, question, channel)
        probe = [] if answer.template == PROBE else [PROBE]  # the answer is the probe already
        self.walk(path, [*sent, answer.template, *probe], len(sent))
        if answer.kind == "button":
            self.pressed.add(answer.template)

    def planned(self, found: List[Tuple[Question, Route, Tuple[str, ...]]]
                ) -> List[Tuple[Question, Route, Tuple[str, ...], Answer]]:
        """Every question found, with every answer. The quick walk takes questions of one slot with the same
        buttons as one (whatever the words), and shares each kind of question's typed variants out between
        the questions of that kind (each variant used at least once); WALKER_FULL=1 walks every question
        with every variant."""
        if not self.full:
            alike: Dict[Tuple[Any, ...], Tuple[Question, Route, Tuple[str, ...]]] = {}
            for question, route, sent in found:
                alike.setdefault((question.form, question.slot, question.buttons), (question, route, sent))
            found = list(alike.values())
        kinds = Counter(answer_type(self.domain, q.slot) for q, _, _ in found)
        position: Counter = Counter()
        plan = []
        for question, route, sent in found:
            kind = answer_type(self.domain, question.slot)
            variants = typed_variants(kind, question.slot)
            if not self.full:
                variants = tuple(share_out(variants, position[kind], kinds[kind]))
            position[kind] += 1
            plan += [(question, route, sent, a) for a in answers_for(question.buttons, variants)]
        return plan

    @staticmethod
    def socket_plan(plan: List[Tuple[Question, Route, Tuple[str, ...], Answer]]
                    ) -> List[Tuple[Question, Route, Tuple[str, ...], Answer]]:
        """Over socket.io: the first question of each form, once per kind of answer."""
        first: Dict[str, Question] = {}
        for question, _, _, _ in plan:
            first.setdefault(question.form, question)
        chosen: Dict[Tuple[str, str], Tuple[Question, Route, Tuple[str, ...], Answer]] = {}
        for question, route, sent, answer in plan:
            if first[question.form] is question:
                chosen.setdefault((question.form, answer.kind), (question, route, sent, answer))
        return list(chosen.values())

    # ---- what the walk found ----
    def summary(self) -> Dict[str, Any]:
        kinds = Counter(p.answer.kind for p in self.paths if p.answer)
        return {
            "paths": len(self.paths),
            "paths_by_channel": dict(Counter(p.channel for p in self.paths)),
            "turns": sum(len(p.turns) for p in self.paths),
            "seconds": round(time.monotonic() - self.started, 1),
            "seconds_waiting_for_answers": round(sum(t.seconds for p in self.paths for t in p.turns), 1),
            "median_turn_seconds": round(statistics.median(t.seconds for p in self.paths
                                                           for t in p.turns), 2),
            "questions_reached": sorted({q.label for q, _, _ in self.questions.values()}),
            "distinct_questions": len(self.questions),
            "questions_walked": len(self.walked),
            "questions": [{"question": q.label, "route": r.name, "words": q.text,
                           "buttons": [title for title, _ in q.buttons]}
                          for q, r, _ in self.questions.values()],
            "answers_by_kind": dict(kinds),
            "routes_reaching": self.reached,
            "full": self.full,
            "confirmations_checked": dict(self.confirmations),
            "failed_paths": sum(1 for p in self.paths if p.problems),
        }

    def answered(self) -> List[Dict[str, Any]]:
        """Each answer and what the bot said to it, for reading the walk (results/walker-answers.json)."""
        return [{"question": p.question.label if p.question else p.route.name, "answer": p.answer.shown,
                 "kind": p.answer.kind, "channel": p.channel, "reply": p.turns[p.prefix].text,
                 "seconds": round(p.turns[p.prefix].seconds, 2),
                 "asking_after": f"{p.turns[p.prefix].form}.{p.turns[p.prefix].slot}"
                 if p.turns[p.prefix].form else None}
                for p in self.paths if p.answer and len(p.turns) > p.prefix]

    def failures(self, *kinds: str) -> List[Path]:
        return [p for p in self.paths if any(problem.kind in kinds for problem in p.problems)]
