"""The action server: rasa-sdk's executor behind our own small app factory.

rasa-sdk answers an exception inside an action with HTTP 500; Rasa then logs it and the customer hears
nothing, and an open form stays open, so every later message can fail the same way. Here an exception
becomes an apology with a way on (a person, the shop's contact): the open form is left, the bot waits for
the customer's next message, and the error is logged with the conversation id and stored for the owner
(console, /health). Start with ``python -m actions.server --port 5055``.

Only the web server may call it: it listens on loopback unless told otherwise, and /webhook and /actions
answer 401 to a call without the shared secret (ACTION_SERVER_SECRET, or the one generated into
var/action.secret) in the X-Action-Secret header. Whoever calls the webhook chooses the slots, so order
actions also re-check in the database that the conversation proved the order (OrderService).
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import zlib
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from rasa_sdk import utils
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.services.bot_errors import BotErrorLog
from actions.services.clock import utc_now
from actions.services.database import DATABASE_UNAVAILABLE
from actions.services.log_privacy import install_contact_masking, parse_log_level
from actions.services.recovery import BUSY_APOLOGY, PLAIN_APOLOGY, recovery_message
from actions.services.shared_secret import ACTION_SECRET_HEADER, load_or_create_secret, secret_matches
from actions.shop import current_order_service, current_shop_profile

logger = logging.getLogger(__name__)
ErrorLogFactory = Callable[[], BotErrorLog]


def leave_everything(tracker: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Events that leave an open form and wait for the customer, whatever the policies would predict."""
    events: List[Dict[str, Any]] = []
    if (tracker.get("active_loop") or {}).get("name"):
        events.append({"event": "active_loop", "name": None})
    requested = (tracker.get("slots") or {}).get("requested_slot")
    if requested:  # the answer that may have caused it is not kept
        events.append({"event": "slot", "name": requested, "value": None})
    events.append({"event": "slot", "name": "requested_slot", "value": None})
    events.append({"event": "followup", "name": "action_listen"})
    return events


def _default_error_log() -> BotErrorLog:
    return BotErrorLog(current_order_service().engine)


class ApologisingExecutor(ActionExecutor):
    """Runs actions like rasa-sdk's executor; an exception inside one becomes an apology."""

    def __init__(self, error_log: ErrorLogFactory = _default_error_log) -> None:
        super().__init__()
        self.error_log = error_log

    async def run(self, action_call: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        try:
            return await super().run(action_call)
        except (ActionExecutionRejection, ActionNotFoundException):
            raise  # Rasa's own protocol: the form did not get its slot / no such action
        except Exception as error:  # noqa: BLE001 - whatever it is, the customer gets an answer
            return self.apologise(action_call, error)

    def apologise(self, action_call: Dict[str, Any], error: Exception) -> Dict[str, Any]:
        tracker = action_call.get("tracker") or {}
        conversation = str(tracker.get("sender_id") or "?")
        action = str(action_call.get("next_action") or "?")
        logger.error("Action %s failed in conversation %s; the customer got an apology", action,
                     conversation, exc_info=error)
        if isinstance(error, DATABASE_UNAVAILABLE):  # recording it would wait for the same lock, and fail
            # Not "nothing was saved": an earlier write of the same action (a case) may have gone through.
            return self._apology(tracker, BUSY_APOLOGY)
        try:
            self.error_log().record(conversation, "action_failed", action, f"{type(error).__name__}: {error}")
            message = recovery_message(current_shop_profile(), utc_now())
        except Exception:  # noqa: BLE001 - the apology must not depend on the database or shop.yml
            logger.exception("Could not record the failure of %s in conversation %s", action, conversation)
            message = PLAIN_APOLOGY
        return self._apology(tracker, message)

    @staticmethod
    def _apology(tracker: Dict[str, Any], message: Dict[str, Any]) -> Dict[str, Any]:
        return {"events": leave_everything(tracker),
                "responses": [{**message, "elements": [], "custom": {}, "image": None, "attachment": None,
                               "template": None, "response": None}]}


DEFAULT_SECRET_FILE = Path("var/action.secret")
_GUARDED = ("/webhook", "/actions")


def action_secret(env: Dict[str, str]) -> bytes:
    """The secret the web server sends: ACTION_SERVER_SECRET, or the file both processes share."""
    return load_or_create_secret(env.get("ACTION_SERVER_SECRET"),
                                 Path(env.get("ACTION_SECRET_FILE") or DEFAULT_SECRET_FILE))


def create_action_app(secret: bytes, package: str = "actions",
                      executor: Optional[ActionExecutor] = None) -> Sanic:
    """The webhook Rasa calls (as rasa-sdk's, with the apologising executor), /health and /actions.

    /health tells nothing and stays open (the web server's health check); the rest needs ``secret``."""
    if not secret:
        raise ValueError("The action server needs a secret shared with the web server")
    app = Sanic("shop_actions", configure_logging=False)
    # Sanic closes a new connection that sends nothing for KEEP_ALIVE_TIMEOUT (5 s). A web server busy with
    # many turns can take longer between connecting and writing its call; the closed connection was
    # "Cannot write to closing transport" and a silent turn (issue 13). Only the web server connects here.
    app.config.KEEP_ALIVE_TIMEOUT = 75
    executor = executor or ApologisingExecutor()
    executor.register_package(package)

    @app.on_request
    async def only_the_web_server(request: Request) -> Optional[HTTPResponse]:
        if request.path not in _GUARDED or secret_matches(request.headers.get(ACTION_SECRET_HEADER), secret):
            return None
        logger.warning("Refused %s %s from %s: no valid %s header", request.method, request.path,
                       request.ip, ACTION_SECRET_HEADER)
        return response.json({"error": f"Only the shop's web server may call this ({ACTION_SECRET_HEADER} "
                                       "missing or wrong)."}, status=401)

    @app.get("/health")
    async def health(_: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    @app.get("/actions")
    async def actions(_: Request) -> HTTPResponse:
        return response.json([{"name": name} for name in executor.actions])

    @app.post("/webhook")
    async def webhook(request: Request) -> HTTPResponse:
        try:
            body = zlib.decompress(request.body) if request.headers.get("Content-Encoding") == "deflate" \
                else request.body
            action_call = json.loads(body or b"null")
        except (ValueError, zlib.error):
            return response.json({"error": "The request body is not valid JSON."}, status=400)
        if not isinstance(action_call, dict) or not action_call.get("next_action"):
            return response.json({"error": "Expected an action call with next_action."}, status=400)
        utils.check_version_compatibility(action_call.get("version"))
        try:
            return response.json(await executor.run(action_call))
        except ActionExecutionRejection as rejection:
            return response.json({"error": rejection.message, "action_name": rejection.action_name},
                                 status=400)
        except ActionNotFoundException as missing:
            logger.error(missing)
            return response.json({"error": missing.message, "action_name": missing.action_name}, status=404)

    return app


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The shop assistant's action server")
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--host", default="127.0.0.1",
                        help="where to listen; keep loopback unless the web server runs on another machine")
    parser.add_argument("--actions", default="actions", help="the package of actions")
    args = parser.parse_args(argv)
    try:
        level = parse_log_level(os.environ.get("LOG_LEVEL"))
    except ValueError as error:
        parser.error(str(error))
    utils.configure_colored_logging(level)
    install_contact_masking()  # emails and phone numbers in slots and tracebacks never reach the log
    if not _loopback(args.host):
        logger.warning("The action server listens on %s, reachable from other machines; only calls with "
                       "the shared secret are served", args.host)
    app = create_action_app(action_secret(dict(os.environ)), args.actions)
    app.run(args.host, args.port, access_log=False)


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


if __name__ == "__main__":
    main()
