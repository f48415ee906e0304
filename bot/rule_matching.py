"""The rule policy's rules looked up by the present state instead of tried one by one (issue 16).

Before every prediction Rasa's ``RulePolicy._get_possible_keys`` tries each of its rules (about 360 of
ours, and the loops' unhappy paths) against the conversation's states, newest first: a quarter of the
policies' time on a one-message conversation, for the handful of rules that could apply.

A rule whose newest state names a previous action (and a user intent) applies only to a conversation
whose present state names the same ones: ``RulePolicy._is_rule_applicable`` refuses a conversation start
against a rule that has a previous action, and ``_does_rule_match_state`` wants every value the rule sets
(other than "should not be set") equal in the conversation. So the rules are grouped by those two values
once, at load. A prediction tries the group of the present action and intent and the groups of rules that
leave either open, with Rasa's own test for each state, and finds the same keys as Rasa's walk.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET, USER
from rasa.shared.core.domain import State
from rasa.shared.nlu.constants import ACTION_NAME, INTENT

Group = Tuple[Optional[str], Optional[str]]  # (previous action, intent); None: any


def _required(state: State, part: str, key: str) -> Optional[str]:
    """The value ``state[part][key]`` must equal in a conversation, or None if it may be anything."""
    value = (state.get(part) or {}).get(key)
    if isinstance(value, str) and value and value != SHOULD_NOT_BE_SET:
        return value
    return None


def group_of(rule_states: List[State]) -> Group:
    """The present action and intent a conversation needs for this rule (its states, oldest first)."""
    newest = rule_states[-1] if rule_states else {}
    if not newest.get(PREVIOUS_ACTION):
        return None, None  # a conversation-start rule: Rasa does not compare the rest of the state
    return _required(newest, PREVIOUS_ACTION, ACTION_NAME), _required(newest, USER, INTENT)


def groups_for(present: State) -> List[Group]:
    """The groups whose rules may apply to a conversation whose newest state is ``present``."""
    action = _required(present, PREVIOUS_ACTION, ACTION_NAME) if present.get(PREVIOUS_ACTION) else None
    intent = _required(present, USER, INTENT)
    return list(dict.fromkeys([(action, intent), (action, None), (None, intent), (None, None)]))


class RuleTable:
    """One lookup table of a rule policy (its keys: rules as JSON lists of states), grouped."""

    def __init__(self, lookup: Dict[str, Any]) -> None:
        self.lookup = lookup
        self.size = len(lookup)
        self.groups: Dict[Group, List[Tuple[str, int]]] = defaultdict(list)
        for key in lookup:
            states = RulePolicy._rule_key_to_state(key)
            self.groups[group_of(states)].append((key, len(states)))

    def serves(self, lookup: Dict[str, Any]) -> bool:
        return lookup is self.lookup and len(lookup) == self.size

    def possible_keys(self, states: List[State],
                      applicable: Callable[[str, int, State], bool]) -> Set[str]:
        if not states:
            return set(self.lookup)  # Rasa's walk keeps every rule when there is no state to try
        newest_first = states[::-1]
        found = set()
        for group in groups_for(newest_first[0]):
            for key, length in self.groups.get(group, ()):
                if all(applicable(key, index, newest_first[index])
                       for index in range(min(length, len(newest_first)))):
                    found.add(key)
        return found


class IndexedRules:
    """Stands in for one RulePolicy's ``_get_possible_keys``; any other table goes to Rasa's own."""

    def __init__(self, policy: RulePolicy) -> None:
        self.policy = policy
        self.rasas_own = policy._get_possible_keys
        self.tables = [RuleTable(policy.lookup.get(name) or {})
                       for name in (RULES, RULES_FOR_LOOP_UNHAPPY_PATH)]

    def __call__(self, lookup: Dict[str, Any], states: List[State]) -> Set[str]:
        for table in self.tables:
            if table.serves(lookup):
                return table.possible_keys(states, self.policy._is_rule_applicable)
        return self.rasas_own(lookup, states)


def index_rules(policies: Iterable[Any]) -> int:
    """Give every loaded rule policy its grouped rules; the number of policies indexed."""
    indexed = 0
    for policy in policies:
        if isinstance(policy, RulePolicy) and not isinstance(policy.__dict__.get("_get_possible_keys"),
                                                             IndexedRules):
            policy._get_possible_keys = IndexedRules(policy)  # type: ignore[method-assign]
            indexed += 1
    return indexed
