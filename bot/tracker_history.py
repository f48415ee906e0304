"""A tracker's applied events and its copies without walking the whole history each time (issue 16).

Rasa recomputes ``DialogueStateTracker.applied_events()`` (the session's events less what rewinds, undos
and re-runs of a form took back) from the first event on every call, and a turn calls it a dozen times:
the session check, the policies, the form. And before every action it copies the tracker by replaying
every event into a new one (``tracker.copy()``). At turn 300 of a chat these walks were a quarter of the
web process's time.

``keep_applied_events_up_to_date`` gives the tracker class an ``applied_events`` that remembers, on each
tracker object, where its walk stopped and goes on from there with the events appended since: Rasa's own
walk, step for step, is a fold over the events that depends only on the events before and on which
actions are forms (the names of every ``active_loop`` event). When a new form name appears, or the events
were replaced (a reset), it walks from the start as Rasa does. ``copy`` clones the state instead of
replaying: a tracker's state is what its events made it, so the clone is what the replay would give.
A form's check of the slots it was given builds a temporary tracker the same way (``_temporary_tracker``:
the conversation replayed from its first event, twice a turn while a form is open): now a copy with the
form's events added.

Every new tracker and every copy copies each slot with ``copy.copy``, whose generic reduce-and-rebuild
took 46 us for our 24 slots; ``Slot.__copy__`` makes the same shallow copy (a new object of the slot's
class with the same attributes) in 17 us.
"""
from __future__ import annotations

import copy
import dataclasses
from collections import deque
from typing import Any, Deque, List, Set

from rasa.core.actions.forms import FormAction
from rasa.shared.core.constants import REQUESTED_SLOT
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Event,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker

RASAS_APPLIED_EVENTS = DialogueStateTracker.applied_events
RASAS_COPY = DialogueStateTracker.copy
RASAS_TEMPORARY_TRACKER = FormAction._temporary_tracker
_ON_TRACKER = "_applied_walk"


@dataclasses.dataclass
class _Walk:
    events: Deque[Event]   # the tracker's events deque the walk went through
    seen: int              # how many of them
    loop_names: Set[str]
    applied: List[Event]


def applied_events(self: DialogueStateTracker) -> List[Event]:
    """DialogueStateTracker.applied_events, going on from where the last call on this tracker stopped."""
    events = self.events
    walk: Any = self.__dict__.get(_ON_TRACKER)
    if events.maxlen is not None:  # a bounded history forgets its first events: Rasa's walk
        return RASAS_APPLIED_EVENTS(self)
    if walk is None or walk.events is not events or walk.seen > len(events):
        walk = _Walk(events, 0, set(), [])
    new = [events[i] for i in range(walk.seen, len(events))] if walk.seen else list(events)
    names = {event.name for event in new if isinstance(event, ActiveLoop) and event.name}
    if not names <= walk.loop_names:  # a form seen for the first time may change how earlier runs count
        walk = _Walk(events, 0, walk.loop_names | names, [])
        new = list(events)
    for event in new:
        _step(self, event, walk)
    walk.seen = len(events)
    self.__dict__[_ON_TRACKER] = walk
    return list(walk.applied)


def _step(tracker: DialogueStateTracker, event: Event, walk: _Walk) -> None:
    """One step of Rasa's applied_events (rasa/shared/core/trackers.py), kept in step with it."""
    applied = walk.applied
    if isinstance(event, (Restarted, SessionStarted)):
        applied.clear()
    elif isinstance(event, ActionReverted):
        tracker._undo_till_previous(ActionExecuted, applied)
    elif isinstance(event, UserUtteranceReverted):
        tracker._undo_till_previous(UserUttered, applied)
        tracker._undo_till_previous(ActionExecuted, applied)
    elif (isinstance(event, ActionExecuted) and event.action_name in walk.loop_names
          and not tracker._first_loop_execution_or_unhappy_path(event.action_name, applied)):
        tracker._undo_till_previous_loop_execution(event.action_name, applied)
    else:
        applied.append(event)


def copy_without_replay(self: DialogueStateTracker) -> DialogueStateTracker:
    """DialogueStateTracker.copy: the same state and events, its own slots, loop and event list."""
    plain = type(self) is DialogueStateTracker and type(self.slots) is dict
    if not plain or self.events.maxlen is not None:
        return RASAS_COPY(self)  # a subclass, a bounded history or slots made up on the fly: Rasa's replay
    clone = copy.copy(self)
    clone.__dict__.pop(_ON_TRACKER, None)
    clone.__dict__.pop("_dialogue_states", None)  # bot/dialogue_states.py's replays stay with the original
    clone.events = deque(self.events)
    clone.slots = {name: copy.copy(slot) for name, slot in self.slots.items()}
    clone.active_loop = dataclasses.replace(self.active_loop) if self.active_loop else None
    clone.latest_action = dict(self.latest_action) if self.latest_action else self.latest_action
    return clone


def copy_slot(self: Slot) -> Slot:
    """copy.copy of a slot: Slot and its kinds keep their state in __dict__ and define no copy hooks."""
    clone = object.__new__(type(self))
    clone.__dict__.update(self.__dict__)
    return clone


def temporary_tracker(self: FormAction, current_tracker: DialogueStateTracker, additional_events: List[Event],
                      domain: Domain) -> DialogueStateTracker:
    """FormAction._temporary_tracker: the events after the latest restart, the form's slot request and run,
    and ``additional_events``, applied to a copy instead of replayed (Rasa's when there was a restart)."""
    if current_tracker.idx_after_latest_restart():
        return RASAS_TEMPORARY_TRACKER(self, current_tracker, additional_events, domain)
    tracker = current_tracker.copy()
    requested = SlotSet(REQUESTED_SLOT, self.get_slot_to_fill(current_tracker))
    for event in [requested, ActionExecuted(self.name()), *additional_events]:
        tracker.update(event)
    return tracker


def keep_applied_events_up_to_date() -> None:
    """Install the four above in Rasa's tracker class, forms and slots, for this process; idempotent."""
    DialogueStateTracker.applied_events = applied_events  # type: ignore[method-assign]
    DialogueStateTracker.copy = copy_without_replay  # type: ignore[method-assign]
    FormAction._temporary_tracker = temporary_tracker  # type: ignore[method-assign]
    Slot.__copy__ = copy_slot  # type: ignore[attr-defined]
