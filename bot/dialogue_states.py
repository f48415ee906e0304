"""The policies' view of a conversation, kept up to date turn by turn instead of rebuilt (issue 16).

Before every prediction each policy asks for the conversation's states (``Domain.states_for_tracker_history``)
and Rasa rebuilds them all: a new tracker replays every event of the session and records a state before
each action. The rule policy then formats every state into a debug line and walks them all against its
rules. At turn 300 a third of the web process's time went there, and a turn cost four times turn 10.

``keep_dialogue_states_up_to_date`` replaces that method in the web process with one that keeps the replay
on the tracker object (the tracker store keeps recent trackers between turns) and feeds it only the events
applied since. Rasa's applied events are not append-only: a form that runs again drops the turns since
its last run, a rewind drops a message. So the replay keeps a checkpoint at each of its recent listens and,
when the applied events part from what it fed, goes back to the last checkpoint before the parting (or
starts again when there is none).

It returns the last RECENT_STATES states and the present one, not all of them: the memoization and TED
policies look at 5 and 4 states, and a rule matches states from the end, no further back than its own
length (``RulePolicy._is_rule_applicable``: a state past a rule's length always applies), so any rule
shorter than RECENT_STATES is matched exactly as on the whole history. ``longest_rule`` measures the
loaded model's rules; the web server logs an error and keeps Rasa's own method for a model whose rules
are longer. The states are copies: Rasa's featurizers edit the states they are given.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import logging
import operator
from collections import deque
from typing import Any, Deque, Dict, Iterable, List, Optional

from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

RECENT_STATES = 24  # states returned before the present one; our longest rule spans 4
CHECKPOINTS = 3     # listens the replay can go back to (a form's re-run goes back one turn)
_ON_TRACKER = "_dialogue_states"  # the replays, kept in the tracker object's own attributes

RASAS_OWN = Domain.states_for_tracker_history


@dataclasses.dataclass
class _Point:
    """Where the replay stood: events fed, states recorded, the hidden-turn bookkeeping, the tracker."""
    fed: int
    recorded: int
    last_ml_action: Optional[Dict[str, Any]]
    turn_was_hidden: bool
    tracker: "_Saved"


class _Replay:
    """Rasa's ``states_for_tracker_history`` loop, stopped after the events fed so far and resumable."""

    def __init__(self, tracker: DialogueStateTracker, domain: Domain, omit_unset_slots: bool,
                 ignore_rule_only_turns: bool, rule_only_data: Optional[Dict[str, Any]]) -> None:
        self.domain = domain
        self.omit_unset_slots = omit_unset_slots
        self.ignore_rule_only_turns = ignore_rule_only_turns
        self.rule_only_data = copy.deepcopy(rule_only_data)
        self.fed: List[Event] = []
        self.states: List[State] = []  # the latest ones: ``dropped`` older ones were let go
        self.dropped = 0
        self.last_ml_action: Optional[Dict[str, Any]] = None
        self.turn_was_hidden = False
        self.tracker = tracker.init_copy()
        self.tracker.events = deque(maxlen=1)  # no state reads the replay's own events: keep none
        self.checkpoints: Deque[_Point] = deque(maxlen=CHECKPOINTS)

    def serves(self, domain: Domain, omit_unset_slots: bool, ignore_rule_only_turns: bool,
               rule_only_data: Optional[Dict[str, Any]]) -> bool:
        return (self.domain is domain and self.omit_unset_slots == omit_unset_slots
                and self.ignore_rule_only_turns == ignore_rule_only_turns
                and self.rule_only_data == rule_only_data)

    def catch_up(self, applied: List[Event]) -> None:
        """Feed the applied events not fed yet, first going back to where they part from those fed."""
        same = _common_prefix(self.fed, applied)
        if same < len(self.fed):
            self._go_back_to(same)
        for event in applied[len(self.fed):]:
            self._feed(event)

    def present(self) -> List[State]:
        """The recent states and the state now, as copies."""
        now = self._state(self.tracker, hide_rule_turn=False, commit=False)
        recent = self.states[-RECENT_STATES:] + ([now] if now is not None else [])
        return [_copy_state(state) for state in recent]

    def _feed(self, event: Event) -> None:
        if isinstance(event, ActionExecuted):
            self._state(self.tracker, event.hide_rule_turn, commit=True)
            if len(self.states) > 2 * RECENT_STATES:  # older states are never given again
                del self.states[:RECENT_STATES]
                self.dropped += RECENT_STATES
        self.tracker.update(event)
        self.fed.append(event)
        if isinstance(event, ActionExecuted) and event.action_name == "action_listen":
            self.checkpoints.append(_Point(len(self.fed), self.dropped + len(self.states),
                                           self.last_ml_action, self.turn_was_hidden, _Saved(self.tracker)))

    def _go_back_to(self, same: int) -> None:
        # A checkpoint is of use if it is before the parting and its states are still kept (at least the one
        # before it: the next state may take its user input from it).
        while self.checkpoints and (self.checkpoints[-1].fed > same
                                    or (self.dropped and self.checkpoints[-1].recorded <= self.dropped)):
            self.checkpoints.pop()
        if not self.checkpoints:  # parted before every checkpoint: from the start
            fresh = _Replay(self.tracker, self.domain, self.omit_unset_slots, self.ignore_rule_only_turns,
                            self.rule_only_data)
            self.__dict__.update(fresh.__dict__)
            return
        point = self.checkpoints[-1]
        del self.fed[point.fed:]
        del self.states[point.recorded - self.dropped:]
        self.last_ml_action, self.turn_was_hidden = point.last_ml_action, point.turn_was_hidden
        self.tracker = point.tracker.restored(self.tracker)

    def _state(self, tracker: DialogueStateTracker, hide_rule_turn: bool, commit: bool) -> Optional[State]:
        """One step of Rasa's loop (rasa/shared/core/domain.py, states_for_tracker_history), kept in step."""
        domain = self.domain
        last_ml_action, turn_was_hidden = self.last_ml_action, self.turn_was_hidden
        if self.ignore_rule_only_turns:
            if not turn_was_hidden:
                last_ml_action = domain._get_prev_action_sub_state(tracker)
            if not tracker.followup_action and not tracker.latest_action_name == tracker.active_loop_name:
                turn_was_hidden = hide_rule_turn
        if commit:
            self.last_ml_action, self.turn_was_hidden = last_ml_action, turn_was_hidden
        if self.ignore_rule_only_turns and turn_was_hidden:
            return None
        state = domain.get_active_state(tracker, omit_unset_slots=self.omit_unset_slots)
        if self.ignore_rule_only_turns:
            domain._remove_rule_only_features(state, self.rule_only_data)
            if self.states:
                domain._substitute_rule_only_user_input(state, self.states[-1])
            if last_ml_action:
                state["prev_action"] = last_ml_action  # type: ignore[typeddict-item]
        state = domain._clean_state(state)
        if commit:
            self.states.append(state)
        return state


def _common_prefix(fed: List[Event], applied: List[Event]) -> int:
    """How many leading events the two lists share (the same event objects)."""
    if len(applied) >= len(fed) and all(map(operator.is_, fed, applied)):
        return len(fed)  # the usual case, only appended to (compared in C)
    return next((i for i, (known, given) in enumerate(zip(fed, applied, strict=False)) if known is not given),
                min(len(fed), len(applied)))


class _Saved:
    """What later events change in the replay tracker: slot values, the loop, the latest action and its other
    attributes (the slot objects are large and change only in their values)."""

    def __init__(self, tracker: DialogueStateTracker) -> None:
        self.attributes = {name: value for name, value in tracker.__dict__.items() if name != "slots"}
        loop = tracker.active_loop
        self.attributes["active_loop"] = dataclasses.replace(loop) if loop else None
        latest_action = tracker.latest_action
        self.attributes["latest_action"] = dict(latest_action) if latest_action else latest_action
        self.slots = {name: (slot._value, slot._has_been_set) for name, slot in tracker.slots.items()}

    def restored(self, like: DialogueStateTracker) -> DialogueStateTracker:
        """A tracker in the saved state, built from ``like`` (the same slots), which it leaves unchanged."""
        tracker = copy.copy(like)
        tracker.__dict__.update(self.attributes)
        tracker.active_loop = dataclasses.replace(tracker.active_loop) if tracker.active_loop else None
        if tracker.latest_action:
            tracker.latest_action = dict(tracker.latest_action)
        tracker.events = deque(maxlen=1)
        tracker.slots = {name: copy.copy(slot) for name, slot in like.slots.items()}
        for name, (value, has_been_set) in self.slots.items():
            tracker.slots[name]._value, tracker.slots[name]._has_been_set = value, has_been_set
        return tracker


def _copy_state(state: State) -> State:
    return {kind: dict(sub) if isinstance(sub, dict) else sub  # type: ignore[misc]
            for kind, sub in state.items()}


def states_for_tracker_history(self: Domain, tracker: DialogueStateTracker, omit_unset_slots: bool = False,
                               ignore_rule_only_turns: bool = False,
                               rule_only_data: Optional[Dict[str, Any]] = None) -> List[State]:
    """Domain.states_for_tracker_history from the tracker's kept replay: the recent states and the present."""
    replays: List[_Replay] = tracker.__dict__.setdefault(_ON_TRACKER, [])
    replay = next((r for r in replays if r.serves(self, omit_unset_slots, ignore_rule_only_turns,
                                                   rule_only_data)), None)
    if replay is None:
        replay = _Replay(tracker, self, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
        replays.append(replay)
        del replays[:-4]  # a model switch leaves the old domain's replays behind
    replay.catch_up(tracker.applied_events())
    return replay.present()


def rule_lengths(rule_keys: Iterable[str]) -> int:
    """The most states any of the rule policy's rules (its lookup keys, JSON lists of states) spans."""
    return max((len(json.loads(key)) for key in rule_keys), default=0)


def keep_dialogue_states_up_to_date(longest_rule: int) -> bool:
    """Install the kept replay for this process if every rule fits in what it returns; else keep Rasa's."""
    if longest_rule > RECENT_STATES:
        logger.error("A rule spans %d states, more than the %d the policies are given: the states are "
                     "rebuilt on every prediction as Rasa does (slower)", longest_rule, RECENT_STATES)
        Domain.states_for_tracker_history = RASAS_OWN  # type: ignore[method-assign]
        return False
    Domain.states_for_tracker_history = states_for_tracker_history  # type: ignore[method-assign]
    return True


def longest_rule_of(policies: Iterable[Any]) -> int:
    """The longest rule among the loaded rule policies' lookups (rules and loops' unhappy paths)."""
    lengths: List[int] = [0]
    for policy in policies:
        lookup: Dict[str, Dict[str, Any]] = getattr(policy, "lookup", None) or {}
        for table in ("rules", "rules_for_loop_unhappy_path"):
            lengths.append(rule_lengths((lookup.get(table) or {}).keys()))
    return max(lengths)
