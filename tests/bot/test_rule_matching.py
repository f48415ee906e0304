"""bot/rule_matching.py finds the rules Rasa's walk finds, and the rule policy predicts what it predicted.

A RulePolicy is trained on our own rules and stories (data/), then every conversation test of tests/stories
is replayed event by event; before each of the bot's actions the grouped lookup and Rasa's walk are asked
for the possible rules of both tables (rules, loops' unhappy paths), and the policy predicts with and
without the groups.
"""
from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.generator import TrainingDataGenerator
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.importers.importer import TrainingDataImporter

from bot.rule_matching import IndexedRules, groups_for, index_rules
from bot.trained_models.switch import loaded_components

ROOT = Path(__file__).resolve().parents[2]
POLICY_SETTINGS = {"core_fallback_threshold": 0.3, "core_fallback_action_name": "action_default_fallback",
                   "enable_fallback_prediction": True}  # as in config.yml


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture(scope="module")
def policy(domain: Domain) -> Iterator[RulePolicy]:
    importer = TrainingDataImporter.load_from_dict(training_data_paths=[str(ROOT / "data")],
                                                   domain_path=str(ROOT / "domain.yml"))
    trackers = TrainingDataGenerator(importer.get_stories(), domain, augmentation_factor=0).generate()
    with tempfile.TemporaryDirectory() as storage:
        trained = RulePolicy.create({**RulePolicy.get_default_config(), **POLICY_SETTINGS},
                                    LocalModelStorage(Path(storage)), Resource("rules"),
                                    ExecutionContext(GraphSchema({}), "test"))
        trained.train(trackers, domain)
        assert len(trained.lookup[RULES]) > 100  # our rules, not an empty policy
        yield trained


@pytest.fixture(scope="module")
def moments(domain: Domain) -> List[DialogueStateTracker]:
    """A tracker at each point of every conversation test where the bot is about to act."""
    importer = TrainingDataImporter.load_from_dict(training_data_paths=[str(ROOT / "tests/stories")],
                                                   domain_path=str(ROOT / "domain.yml"))
    generator = TrainingDataGenerator(importer.get_conversation_tests(), domain, augmentation_factor=0,
                                      use_story_concatenation=False, remove_duplicates=False)
    found = []
    for story in generator.generate_story_trackers():
        events: List[Event] = list(story.events)
        for index, event in enumerate(events):
            if isinstance(event, ActionExecuted) and index > 0:
                found.append(DialogueStateTracker.from_events("c", events[:index], domain.slots))
    assert len(found) > 300
    return found


def states_seen(policy: RulePolicy, domain: Domain, tracker: DialogueStateTracker,
                text: bool) -> List[Dict[str, Any]]:
    return policy._prediction_states(tracker, domain, text, rule_only_data=policy._get_rule_only_data())


def test_the_groups_find_the_rules_rasas_walk_finds(policy: RulePolicy, domain: Domain,
                                                    moments: List[DialogueStateTracker]) -> None:
    indexed = IndexedRules(policy)
    compared = found = 0
    for tracker in moments:
        for text in (False, True):
            states = states_seen(policy, domain, tracker, text)
            for table in (RULES, RULES_FOR_LOOP_UNHAPPY_PATH):
                lookup = policy.lookup[table]
                expected = policy._get_possible_keys(lookup, states)
                assert indexed(lookup, states) == expected, (table, states)
                compared += 1
                found += bool(expected)
    assert compared > 1000 and found > compared // 4  # many moments where some rule applies


def test_a_prediction_is_the_same_with_the_groups(policy: RulePolicy, domain: Domain,
                                                  moments: List[DialogueStateTracker]) -> None:
    plain = [policy.predict_action_probabilities(tracker, domain) for tracker in moments]
    assert index_rules([policy, object()]) == 1
    assert index_rules([policy]) == 0  # indexed once
    try:
        for tracker, before in zip(moments, plain, strict=True):
            after = policy.predict_action_probabilities(tracker, domain)
            assert (after.probabilities, after.events, after.is_end_to_end_prediction) == (
                before.probabilities, before.events, before.is_end_to_end_prediction)
    finally:
        del policy._get_possible_keys  # back to Rasa's for the other tests


def test_a_prediction_tries_a_few_rules_not_all(policy: RulePolicy, domain: Domain,
                                                moments: List[DialogueStateTracker]) -> None:
    indexed = IndexedRules(policy)
    table = indexed.tables[0]
    tried: List[Tuple[int, int]] = []
    for tracker in moments:
        present = states_seen(policy, domain, tracker, False)[-1]
        tried.append((sum(len(table.groups.get(group, ())) for group in groups_for(present)), table.size))
    average = sum(count for count, _ in tried) / len(tried)
    assert average < table.size / 5, (average, table.size)


def test_a_table_it_was_not_built_for_goes_to_rasas_walk(policy: RulePolicy) -> None:
    indexed = IndexedRules(policy)
    other = dict(policy.lookup[RULES])
    assert indexed(other, []) == set(other)
    grown = policy.lookup[RULES]
    grown["[]"] = "action_listen"
    try:
        assert not indexed.tables[0].serves(grown)  # a table changed since: Rasa's walk
    finally:
        del grown["[]"]


def test_the_loaded_models_rule_policy_is_indexed() -> None:
    class Node:
        def __init__(self, component: Any) -> None:
            self._component = component

    class Runner:
        def __init__(self, *components: Any) -> None:
            self._instantiated_nodes = {str(i): Node(c) for i, c in enumerate(components)}

    class Processor:
        def __init__(self, runner: Runner) -> None:
            self.graph_runner = runner

    rules = RulePolicy.__new__(RulePolicy)
    rules.lookup = {RULES: {}, RULES_FOR_LOOP_UNHAPPY_PATH: {}}
    assert index_rules(loaded_components(Processor(Runner(object(), rules)))) == 1
    assert isinstance(rules.__dict__["_get_possible_keys"], IndexedRules)
    assert loaded_components(object()) == [] and index_rules(loaded_components(object())) == 0


def test_rules_of_every_shape_are_found_as_rasas_walk_finds_them() -> None:
    """Shapes our rules lack today: conversation starts, a bot text, "should not be set", no intent."""
    listen = {"action_name": "action_listen"}
    rule_states = [
        [{"user": {"intent": "greet"}}],  # conversation_start: true
        [{"user": {"intent": "greet"}, "prev_action": listen}],
        [{"prev_action": {"action_text": "Hello!"}, "user": {"intent": "greet"}}],
        [{"prev_action": {"action_name": "utter_greet"}}],
        [{"prev_action": {"action_name": "should_not_be_set"}, "user": {"intent": "greet"}}],
        [{"prev_action": listen, "user": {"intent": "should_not_be_set"}}],
        [{"prev_action": listen, "active_loop": {"name": "order_form"}}],
        [{"prev_action": listen, "user": {"intent": "deny"}},
         {"prev_action": {"action_name": "utter_ask"}, "user": {"intent": "deny"}}],
    ]
    rules = RulePolicy.__new__(RulePolicy)
    lookup = {json.dumps(states): "action_x" for states in rule_states}
    rules.lookup = {RULES: lookup, RULES_FOR_LOOP_UNHAPPY_PATH: {}}
    indexed = IndexedRules(rules)
    present = [{}, {"user": {"intent": "greet"}},
               *({"prev_action": action, "user": {"intent": intent}, "active_loop": loop}
                 for action, intent, loop in itertools.product(
                     [listen, {"action_text": "Hello!"}, {"action_name": "utter_greet"},
                      {"action_name": "utter_ask"}],
                     ["greet", "deny", "should_not_be_set"], [{}, {"name": "order_form"}]))]
    compared = found = 0
    for before, now in itertools.product([[], *([state] for state in present)], present):
        states: List[Dict[str, Any]] = [*before, now]
        expected = RulePolicy._get_possible_keys(rules, lookup, states)
        assert indexed(lookup, states) == expected, states
        compared += 1
        found += len(expected)
    assert compared > 500 and found > compared // 2
