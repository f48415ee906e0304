"""The kept replays of bot/tracker_history.py and bot/dialogue_states.py give what Rasa's own walks give.

Every conversation test of tests/stories (forms filled, interrupted and re-run, order flows, handoffs) is
fed event by event into one tracker, as a conversation grows turn by turn, and after every event the
applied events, the policies' states (both kinds the policies ask for) and a copy are compared with what
Rasa computes from scratch. A rewind, an undo, a restart and a new session are spliced in as well.
"""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any, Dict, List

import pytest
from rasa.core.actions.forms import FormAction
from rasa.shared.core.constants import RULE_ONLY_LOOPS, RULE_ONLY_SLOTS
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    Event,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.generator import TrainingDataGenerator
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.shared.core.training_data.structures import RuleStep
from rasa.shared.importers.importer import TrainingDataImporter

from bot import dialogue_states, tracker_history
from bot.dialogue_states import RECENT_STATES, longest_rule_of, rule_lengths

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture(scope="module")
def conversations(domain: Domain) -> List[List[Event]]:
    importer = TrainingDataImporter.load_from_dict(training_data_paths=[str(ROOT / "tests/stories")],
                                                   domain_path=str(ROOT / "domain.yml"))
    generator = TrainingDataGenerator(importer.get_conversation_tests(), domain, augmentation_factor=0,
                                      use_story_concatenation=False, remove_duplicates=False)
    trackers = generator.generate_story_trackers()
    assert len(trackers) >= 40  # the conversation tests, one tracker each
    return [list(tracker.events) for tracker in trackers]


def with_reversals(events: List[Event]) -> List[Event]:
    """The conversation with a rewind, an undo, a restart and a new session spliced in."""
    third = max(1, len(events) // 3)
    return (events[:third] + [UserUttered("hmm", {"name": "affirm"}), UserUtteranceReverted()]
            + events[third:2 * third] + [ActionExecuted("utter_greet"), ActionReverted()]
            + events[2 * third:] + [Restarted(), ActionExecuted("action_listen")] + events[:third]
            + [SessionStarted(), ActionExecuted("action_listen")] + events[third:])


@pytest.fixture()
def kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DialogueStateTracker, "applied_events", tracker_history.applied_events)
    monkeypatch.setattr(DialogueStateTracker, "copy", tracker_history.copy_without_replay)
    monkeypatch.setattr(Slot, "__copy__", tracker_history.copy_slot, raising=False)


def rule_only_data(domain: Domain) -> Dict[str, Any]:
    return {RULE_ONLY_SLOTS: ["requested_slot", *(slot.name for slot in domain.slots[:3])],
            RULE_ONLY_LOOPS: domain.form_names[:1]}


def rasas_states(domain: Domain, tracker: DialogueStateTracker, **kwargs: Any) -> List[Any]:
    applied = tracker_history.RASAS_APPLIED_EVENTS(tracker)
    assert tracker.applied_events() == applied
    return dialogue_states.RASAS_OWN(domain, tracker, **kwargs)[-(RECENT_STATES + 1):]


@pytest.mark.parametrize("reversed_too", [False, True], ids=["as told", "with reversals"])
def test_every_conversation_test_gives_rasas_applied_events_states_and_copies(
        domain: Domain, conversations: List[List[Event]], kept: None, reversed_too: bool) -> None:
    kinds = [{}, {"ignore_rule_only_turns": True, "rule_only_data": rule_only_data(domain)},
             {"omit_unset_slots": True}]
    compared = 0
    for events in conversations:
        tracker = DialogueStateTracker("c", domain.slots)
        for event in with_reversals(events) if reversed_too else events:
            tracker.update(event)
            assert tracker.applied_events() == tracker_history.RASAS_APPLIED_EVENTS(tracker)
            if isinstance(event, ActionExecuted) or event is events[-1]:
                for kind in kinds:
                    ours = dialogue_states.states_for_tracker_history(domain, tracker, **kind)
                    assert ours == rasas_states(domain, tracker, **kind)
                    compared += 1
        copied, replayed = tracker.copy(), tracker_history.RASAS_COPY(tracker)
        assert copied.current_state(EventVerbosity.ALL) == replayed.current_state(EventVerbosity.ALL)
        assert copied.current_slot_values() == replayed.current_slot_values()
        assert copied.active_loop == replayed.active_loop and copied.latest_action == replayed.latest_action
    assert compared > 1000


def test_a_long_conversation_is_cut_to_the_recent_states(domain: Domain, conversations: List[List[Event]],
                                                         kept: None) -> None:
    tracker = DialogueStateTracker("long", domain.slots)
    for events in conversations[:20]:  # one conversation after another, in one session
        for event in events:
            tracker.update(event)
    whole = dialogue_states.RASAS_OWN(domain, tracker)
    ours = dialogue_states.states_for_tracker_history(domain, tracker)
    assert len(whole) > 3 * RECENT_STATES and len(ours) == RECENT_STATES + 1
    assert ours == whole[-(RECENT_STATES + 1):]


def test_the_states_given_are_copies_the_policies_may_edit(domain: Domain,
                                                            conversations: List[List[Event]]) -> None:
    tracker = DialogueStateTracker("c", domain.slots)
    for event in conversations[0]:
        tracker.update(event)
    first = dialogue_states.states_for_tracker_history(domain, tracker)
    for state in first:  # as Rasa's featurizers do: drop the text where there is an intent
        state.get("user", {}).pop("text", None)
        state.pop("slots", None)
    assert dialogue_states.states_for_tracker_history(domain, tracker) == rasas_states(domain, tracker)


def test_a_copy_is_its_own(domain: Domain, conversations: List[List[Event]], kept: None) -> None:
    tracker = DialogueStateTracker("c", domain.slots)
    for event in conversations[0]:
        tracker.update(event)
    copied = tracker.copy()
    copied.update(UserUttered("another", {"name": "greet"}))
    name = domain.slots[0].name
    copied.slots[name].value = "changed"
    assert len(copied.events) == len(tracker.events) + 1
    assert tracker.slots[name].value != "changed"
    assert tracker.applied_events() == tracker_history.RASAS_APPLIED_EVENTS(tracker)


def test_a_slots_copy_is_the_one_copy_makes() -> None:
    slots = Domain.load(str(ROOT / "domain.yml")).slots  # its own: the values are changed here
    filled = {"text": "KC-10003", "bool": True, "float": 4.0, "list": ["a"], "any": {"x": 1}}
    for slot in slots:
        slot.value = filled.get(slot.type_name, slot.value)
        theirs, ours = copy.copy(slot), tracker_history.copy_slot(slot)
        assert type(ours) is type(theirs) and ours is not slot
        assert vars(ours) == vars(theirs) and ours.as_feature() == slot.as_feature()
        ours.value = "changed in the copy"
        assert slot.value == theirs.value != "changed in the copy"
    assert {slot.type_name for slot in slots} >= {"text", "bool"}


def test_rules_longer_than_the_states_given_keep_rasas_own_method(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Domain, "states_for_tracker_history", dialogue_states.RASAS_OWN)
    assert rule_lengths(['[{"prev_action": {"action_name": "action_listen"}}, {}]']) == 2

    @dataclasses.dataclass
    class Policy:
        lookup: Dict[str, Dict[str, str]]

    short = Policy({"rules": {'[{}, {}, {}]': "utter_greet"}, "rules_for_loop_unhappy_path": {}})
    long = Policy({"rules": {"[" + ", ".join(["{}"] * (RECENT_STATES + 1)) + "]": "utter_greet"}})
    assert longest_rule_of([short, object()]) == 3
    assert dialogue_states.keep_dialogue_states_up_to_date(longest_rule_of([short])) is True
    assert Domain.states_for_tracker_history is dialogue_states.states_for_tracker_history
    assert dialogue_states.keep_dialogue_states_up_to_date(longest_rule_of([short, long])) is False
    assert Domain.states_for_tracker_history is dialogue_states.RASAS_OWN


def test_the_trained_models_rules_fit(domain: Domain) -> None:
    """Our rules (data/rules) are far shorter than the states the policies are given (a rule's states are
    fewer than its events)."""
    importer = TrainingDataImporter.load_from_dict(training_data_paths=[str(ROOT / "data")],
                                                   domain_path=str(ROOT / "domain.yml"))
    rules = [step for step in importer.get_stories().story_steps if isinstance(step, RuleStep)]
    longest = max(len(rule.events) for rule in rules)
    assert longest < RECENT_STATES // 2


def untimed(tracker: DialogueStateTracker) -> Dict[str, Any]:
    state = tracker.current_state(EventVerbosity.ALL)
    state.pop("latest_event_time")
    state["events"] = [{k: v for k, v in event.items() if k != "timestamp"} for event in state["events"]]
    return state


def test_a_forms_temporary_tracker_is_the_one_rasa_replays(domain: Domain, conversations: List[List[Event]],
                                                           kept: None) -> None:
    """While a form is open Rasa checks the slots it was given on a tracker replayed from the first event;
    ours is a copy with the same events added: the same events, slots and loop."""
    checked = 0
    for events in conversations:
        tracker = DialogueStateTracker("c", domain.slots)
        for event in events:
            tracker.update(event)
            if tracker.active_loop_name:
                form = FormAction(tracker.active_loop_name, None)
                extra = [SlotSet("order_id", "KC-10003"), ActionExecuted("action_listen")]
                ours = tracker_history.temporary_tracker(form, tracker, extra, domain)
                rasas = tracker_history.RASAS_TEMPORARY_TRACKER(form, tracker, extra, domain)
                assert untimed(ours) == untimed(rasas)  # the form's two events are made at different times
                assert [type(e) for e in ours.applied_events()] == [type(e) for e in rasas.applied_events()]
                checked += 1
    assert checked > 50


def test_a_long_conversation_with_reversals_gives_rasas_states_all_along(
        domain: Domain, conversations: List[List[Event]], kept: None) -> None:
    """Past the states let go (twice RECENT_STATES), forms re-run and rewinds still go back right."""
    events = with_reversals([event for conversation in conversations[:12] for event in conversation])
    kind = {"ignore_rule_only_turns": True, "rule_only_data": rule_only_data(domain)}
    tracker = DialogueStateTracker("long", domain.slots)
    compared = 0
    for event in events:
        tracker.update(event)
        if isinstance(event, ActionExecuted):
            assert dialogue_states.states_for_tracker_history(domain, tracker, **kind) == rasas_states(
                domain, tracker, **kind)
            compared += 1
    replay = tracker.__dict__["_dialogue_states"][0]
    assert replay.dropped > 0 and compared > 4 * RECENT_STATES
