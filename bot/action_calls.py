"""Calls to the action server, with every failure logged by action and conversation.

Rasa's RemoteAction turns a failed call into "the action's events are lost" and the bot says nothing; its
own line did not name the conversation. ``ActionEndpoint`` is the action endpoint Rasa calls through: it
logs each failure with the action and the conversation id, and notes it in ``ActionFailures`` so the
SilenceGuard (bot/never_silent.py) can tell the customer: an apology when the call failed on the way, and
503 action_server_unavailable when nothing listens at the action server's address.

``check_action_responses_with_a_compiled_schema``: Rasa checks every action server response against its
JSON schema with ``jsonschema.validate``, which first checks the schema itself against the draft's
meta-schema, on every call: a fifth of a turn's time in the web process (py-spy, one customer). The
schema never changes, so it is checked once and its validators kept; each event is checked against its
own kind of event instead of all 23 (``ResponseCheck``), with the same verdicts and errors.

``send_recent_events_to_actions``: Rasa sends the whole session's events with every action call (a form's
validation, its question, the action itself), serialised afresh each time: at turn 300 of a chat a
quarter of the web process's time went into turning 3,000 events into JSON, and the action server parsed
them again. An action gets the slots, the latest message and the active form as before, and the events
of the customer's last RECENT_TURNS turns: what our actions look back for (the message that asked for a
person, how often the order number was asked, the last topic, the last product questions) lies within
them, and rasa-sdk's forms read only the events of the current turn.

The domain goes only to the actions that need it (Rasa's selective domain, on in ``ActionEndpoint``): the
forms' validations, which rasa-sdk gives the form's slots from it. Our other actions never read it, and
it was 13 of the 15 kB of every call.
"""
from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Optional

import aiohttp
import rasa
from jsonschema import exceptions
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.core.actions.constants import SELECTIVE_DOMAIN
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, Event, UserUttered
from rasa.shared.core.trackers import EventVerbosity
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

from bot.channels.messages import Rejection

if TYPE_CHECKING:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)
ACTION_SERVER_UNAVAILABLE = Rejection("action_server_unavailable",
                                      "The assistant cannot answer right now; please try again shortly.", 503)


@dataclass(frozen=True)
class ActionFailure:
    action: str
    reason: str
    unreachable: bool  # nothing listens at the address: the action server is down, not failing
    timed_out: bool = False  # no answer in time: the action may still have done its work


class ActionFailures:
    """The failed action call of each turn in progress, by conversation. Rasa's lock store runs one turn
    per conversation at a time, so an entry belongs to the turn running now."""

    def __init__(self) -> None:
        self._latest: Dict[str, ActionFailure] = {}

    def note(self, conversation_id: str, failure: ActionFailure) -> None:
        self._latest[conversation_id] = failure

    def take(self, conversation_id: str) -> Optional[ActionFailure]:
        return self._latest.pop(conversation_id, None)


class _Open:
    """``async with`` an open session that stays open afterwards."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(self, *_: Any) -> None:
        return None


class ActionEndpoint(EndpointConfig):
    """Rasa opened a new HTTP session and connection to the action server for every call (a form's turn
    makes three); here one session keeps its connections open between calls. The action server keeps an
    idle connection for 75 s (actions/server.py), longer than the session does (15 s), so a kept connection
    is never one the server has just closed."""

    def __init__(self, url: str, headers: Dict[str, Any], failures: ActionFailures,
                 timeout_seconds: float = 30) -> None:
        # Only the actions that need the domain get it: the forms' validations (Rasa counts every validate_*
        # action among them) and any domain.yml marks with send_domain. It was 13 of the 15 kB of every call,
        # turned into JSON here and parsed again by the action server.
        super().__init__(url=url, headers=headers, **{SELECTIVE_DOMAIN: True})
        self.failures = failures
        self.timeout_seconds = timeout_seconds
        self._session: Optional[aiohttp.ClientSession] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    def session(self) -> Any:  # Rasa's request() enters it with ``async with``
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            self._session = aiohttp.ClientSession(
                headers=self.headers, timeout=aiohttp.ClientTimeout(total=self.timeout_seconds),
                connector=aiohttp.TCPConnector(keepalive_timeout=15))
            self._loop = loop
        return _Open(self._session)

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def request(self, method: str = "post", subpath: Optional[str] = None,
                      content_type: Optional[str] = "application/json", compress: bool = False,
                      **kwargs: Any) -> Optional[Any]:
        body = kwargs.get("json")
        call: Dict[str, Any] = body if isinstance(body, dict) else {}
        # Rasa asks to wait 5 minutes for an action; a customer should not: past ACTION_TIMEOUT_SECONDS the
        # turn gets the apology (which says the step may still have gone through).
        kwargs["timeout"] = aiohttp.ClientTimeout(total=self.timeout_seconds)
        try:
            return await super().request(method, subpath, content_type, compress, **kwargs)
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            rejected = isinstance(error, ClientResponseError) and error.status == 400
            if rejected or not call.get("next_action"):
                raise  # 400: a form's validation rejected the slot, Rasa's protocol and no failure
            conversation, action = str(call.get("sender_id") or "?"), str(call["next_action"])
            failure = ActionFailure(action, f"{type(error).__name__}: {error}",
                                    isinstance(error, aiohttp.ClientConnectorError),
                                    isinstance(error, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)))
            logger.error("Action %s failed in conversation %s: the call to the action server failed (%s)",
                         action, conversation, failure.reason)
            self.failures.note(conversation, failure)
            raise


RASAS_OWN_CHECK = RemoteAction._validate_action_result  # kept for the tests' comparison


class ResponseCheck:
    """Whether an action server response is valid under Rasa's schema, decided event by event.

    Rasa's schema lets each event be one of 23 kinds (``oneOf``), and jsonschema tries every kind on
    every event: 0.55 ms for a response of two slots. Each kind is told by its ``event`` name (a
    ``const``, different for every kind), so an event named for a kind that it satisfies fails every
    other kind on its name alone: it is valid under the whole schema exactly when it satisfies its own
    kind. Here each event is checked against its own kind only (0.1 ms for the same response); a response
    that is not valid this way is checked by the whole schema, which gives Rasa's error."""

    def __init__(self, schema: Dict[str, Any]) -> None:
        kind = validator_for(schema)
        kind.check_schema(schema)  # once, not on every response
        self.whole: Validator = kind(schema)
        events = schema["properties"]["events"]
        item = events["items"]
        common = {key: value for key, value in item.items() if key != "oneOf"}
        names = [branch["properties"]["event"]["const"] for branch in item["oneOf"]]
        if len(set(names)) != len(names):  # a schema of another Rasa version this reading would not fit
            raise ValueError("Rasa's action response schema no longer tells each event kind by its name")
        self.by_event: Dict[str, Validator] = {
            name: kind({"allOf": [common, branch]})
            for name, branch in zip(names, item["oneOf"], strict=True)}
        any_events = {key: value for key, value in events.items() if key != "items"}
        self.outside = kind({**schema, "properties": {**schema["properties"], "events": any_events}})

    def is_valid(self, result: Any) -> bool:
        if not self.outside.is_valid(result):
            return False
        for event in result.get("events") or []:
            name = event.get("event") if isinstance(event, dict) else None
            check = self.by_event.get(name) if isinstance(name, str) else None
            if check is None or not check.is_valid(event):
                return False
        return True


@functools.lru_cache(maxsize=1)
def _response_check() -> ResponseCheck:
    return ResponseCheck(RemoteAction.action_response_format_spec())


def _validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    """RemoteAction._validate_action_result with the schema checked once and each event against its own
    kind: the same verdicts, and for a bad response the same error and message."""
    check = _response_check()
    if check.is_valid(result):
        return True
    error = exceptions.best_match(check.whole.iter_errors(result))
    if error is None:  # valid after all (ResponseCheck is never stricter; kept safe all the same)
        return True
    error.message += (". Failed to validate Action server response from API, make sure your response from "
                      f"the Action endpoint is valid. For more information about the format visit "
                      f"{DOCS_BASE_URL}/custom-actions")
    raise error


def check_action_responses_with_a_compiled_schema() -> None:
    """Install the validator above in Rasa's RemoteAction (forms call it too); idempotent."""
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


RECENT_TURNS = 10  # the customer's turns whose events an action call carries


def recent_events(tracker: "DialogueStateTracker", turns: int = RECENT_TURNS) -> List[Event]:
    """The events from the listen before the customer's ``turns``-th latest message on (all when fewer)."""
    events = list(tracker.events)
    seen = 0
    for index in range(len(events) - 1, -1, -1):
        if isinstance(events[index], UserUttered):
            seen += 1
            if seen == turns:
                before = events[index - 1] if index else None
                listened = isinstance(before, ActionExecuted) and before.action_name == ACTION_LISTEN_NAME
                return events[index - 1 if listened else index:]
    return events


def _action_call_format(self: RemoteAction, tracker: "DialogueStateTracker",
                        domain: "Domain") -> Dict[str, Any]:
    """RemoteAction._action_call_format with the recent events only (the rest of the state as Rasa's)."""
    state = tracker.current_state(EventVerbosity.NONE)
    state["events"] = [event.as_dict() for event in recent_events(tracker)]
    call: Dict[str, Any] = {"next_action": self._name, "sender_id": tracker.sender_id, "tracker": state,
                            "version": rasa.__version__}
    needs_domain = domain.does_custom_action_explicitly_need_domain(self.name())
    if not self._is_selective_domain_enabled() or needs_domain:
        call["domain"] = domain.as_dict()
    return call


RASAS_OWN_CALL_FORMAT = RemoteAction._action_call_format  # kept for the tests' comparison


def send_recent_events_to_actions() -> None:
    """Install the call format above in Rasa's RemoteAction (forms' calls go through it too); idempotent."""
    RemoteAction._action_call_format = _action_call_format  # type: ignore[method-assign]
