"""App factory for the web server: the Rasa agent, our channels, the demo page and /health.

No module-level app: ``create_app(settings, shop)`` builds one; the agent is loaded in a
``before_server_start`` listener and hung on ``app.ctx``.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from pathlib import Path
from typing import List, Optional
from urllib.parse import urljoin

import rasa.server
from rasa.core.agent import Agent, load_agent
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.tracker_store import SQLTrackerStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.engine import Engine, make_url

from actions.services.bot_errors import BotErrorLog
from actions.services.canned_replies import CannedReplies
from actions.services.channels.conversations import ChannelConversations
from actions.services.channels.inbox import ChannelInbox
from actions.services.channels.outbox import ChannelOutbox
from actions.services.chat_delivery import ChatPresence, OutboundMessages
from actions.services.console_sessions import ConsoleSessions
from actions.services.customers.old_conversations import run_daily_sweep, sweep_old_conversations
from actions.services.database import create_database_engine
from actions.services.digest import DigestRun, run_digest_schedule, send_daily_digest
from actions.services.handoffs import HandoffQueue
from actions.services.mail import Mailer
from actions.services.migrations import migrate, one_migrator
from actions.services.owners import OwnerAccounts
from actions.services.shared_secret import ACTION_SECRET_HEADER, load_or_create_secret
from actions.services.shop_profile import ShopProfile
from bot.action_calls import (
    ActionEndpoint,
    ActionFailures,
    check_action_responses_with_a_compiled_schema,
    send_recent_events_to_actions,
)
from bot.admission import BUSY, TurnLimit
from bot.channels.channel_sender import ChannelSender, ChannelWorker
from bot.channels.channel_turns import ChannelTurns
from bot.channels.client_keys import ClientKeys
from bot.channels.delivery import ChatCourier
from bot.channels.messages import TrackerLookup
from bot.channels.messaging import MessagingInput, messaging_channels
from bot.channels.providers import clients_for
from bot.channels.rest import ValidatingRestInput
from bot.channels.socketio import ValidatingSocketIOInput
from bot.console.access import Console
from bot.console.auth import SessionCookies
from bot.console.login_limit import LoginLimiter
from bot.console.routes import console_blueprint
from bot.console.row_ids import register_row_ids
from bot.lock_store import AtomicRedisLockStore
from bot.never_silent import SilenceGuard
from bot.person_gate import PersonGate
from bot.process_memory import release_freed_memory
from bot.rasa_channels import channels_from_credentials
from bot.settings import Settings
from bot.tracker_history import keep_applied_events_up_to_date
from bot.tracker_store import use_tracker_store
from bot.trained_models.registry import ModelRegistry
from bot.trained_models.switch import ModelSwitcher, prepare_for_turns
from bot.web.cors import install_origin_policy
from bot.web.errors import tolerate_bad_accept
from bot.web.site import register_site
from bot.web.thumbs import thumbs_blueprint
from bot.web.uploads import MAX_PHOTO_BYTES, uploads_blueprint

logger = logging.getLogger(__name__)
CREDENTIALS_FILE = Path("credentials.yml")
REQUEST_MAX_BYTES = 64 * 1024  # far above a 2,000-character message; bigger bodies get 413
UPLOAD_PATH = "/uploads"  # photos: up to MAX_PHOTO_BYTES, the only route with bodies above 64 KB


TRACKER_STORE = "bot.tracker_store.ThreadedSQLTrackerStore"  # Rasa's SQL store, off the event loop
LOCK_STORE = "bot.lock_store.AtomicRedisLockStore"


def tracker_store_config(database_url: str) -> EndpointConfig:
    """Rasa's SQL tracker store on the same database the project uses (SQLite file by default)."""
    url = make_url(database_url)
    if url.drivername == "sqlite":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        return EndpointConfig(type=TRACKER_STORE, dialect="sqlite", db=url.database)
    # Rasa passes the endpoint's url to SQLTrackerStore as the host.
    return EndpointConfig(url=url.host, type=TRACKER_STORE, dialect=url.drivername, port=url.port,
                          db=url.database, username=url.username, password=url.password)


def endpoints_for(settings: Settings, failures: ActionFailures | None = None) -> AvailableEndpoints:
    """``failures``: where failed action calls are noted for the SilenceGuard (none: a fresh one)."""
    # Several web processes share one lock per conversation in Redis; Rasa's own Redis store is not atomic
    # (bot/lock_store.py). Without REDIS_URL: Rasa's in-memory lock, right for one process.
    lock_store = EndpointConfig(type=LOCK_STORE, url=settings.redis_url) if settings.redis_url else None
    secret = load_or_create_secret(settings.action_secret, settings.action_secret_file)
    return AvailableEndpoints(
        action=ActionEndpoint(settings.action_server_url,
                              {ACTION_SECRET_HEADER: secret.decode("utf-8", "surrogateescape")},
                              failures if failures is not None else ActionFailures(),
                              settings.action_timeout_seconds),
        tracker_store=tracker_store_config(settings.database_url),
        lock_store=lock_store,
    )


def input_channels(settings: Settings, credentials_file: Path = CREDENTIALS_FILE) -> List[InputChannel]:
    """The channels listed in credentials.yml, with limits and origins from the settings."""
    channels = channels_from_credentials(credentials_file)
    for channel in channels:
        if isinstance(channel, (ValidatingRestInput, ValidatingSocketIOInput)):
            channel.max_message_chars = settings.max_message_chars
        if isinstance(channel, ValidatingSocketIOInput):
            channel.cors_origins = settings.cors_origins
            channel.redis_url = settings.redis_url
    # WhatsApp, Messenger, Instagram, Telegram: on when their settings are set (environment only).
    return channels + messaging_channels(settings.channels)


def register_channels(channels: List[InputChannel], app: Sanic, route: str = "/webhooks/") -> None:
    """Like Rasa's ``register``, but every message passes the TurnLimit (beyond MAX_TURNS_IN_FLIGHT: a short
    wait, then refused), the PersonGate (the bot is silent while a person owns the conversation) and the
    SilenceGuard (otherwise it never is: no answer → an apology).

    The handler returns None when the bot handled the message, WITH_PERSON when it was only recorded, BUSY
    when it was refused untouched, ACTION_SERVER_DOWN when the bot could not answer for that reason.
    """
    async def handler(message: UserMessage) -> Optional[str]:
        turns: TurnLimit = app.ctx.turns
        if not await turns.enter():
            return BUSY
        try:
            return await app.ctx.silence.answer_or_apologise(app.ctx.gate.handle, app.ctx.agent, message)
        finally:
            turns.leave()

    for channel in channels:
        app.blueprint(channel.blueprint(handler), url_prefix=urljoin(route, channel.url_prefix()))
    app.ctx.input_channels = channels


def start_messaging_channels(app: Sanic, engine: Engine, client_keys: ClientKeys,
                             find_tracker: TrackerLookup) -> Optional[ChannelWorker]:
    """The inbox, the outbox and the worker of the messaging channels that are on (None: none is)."""
    inputs = [c for c in app.ctx.input_channels if isinstance(c, MessagingInput)]
    if not inputs:
        return None
    settings: Settings = app.ctx.settings
    inbox, conversations = ChannelInbox(engine), ChannelConversations(engine)
    clients = clients_for(settings.channels, [c.channel for c in inputs])
    handlers = {c.channel: c.on_new_message for c in inputs if c.on_new_message is not None}
    turns = ChannelTurns(inbox, conversations, clients, handlers, app.ctx.shop, settings.upload_dir,
                         settings.max_message_chars, find_tracker, client_keys,
                         HandoffQueue(engine).is_owned_by_person)
    sender = ChannelSender(ChannelOutbox(engine), conversations, clients, settings.public_url,
                           BotErrorLog(engine), settings.channels.late_replies)
    worker = ChannelWorker(inbox, turns, sender)
    for channel in inputs:
        channel.inbox, channel.wake, channel.on_failure = inbox, worker.wake, sender.failed_later
    app.ctx.courier.on_queued = worker.wake_sender  # a person's reply on a channel goes out at once
    logger.info("Messaging channels on: %s", ", ".join(c.channel for c in inputs))
    return worker


def schedule_daily_digest(app: Sanic, settings: Settings, shop: ShopProfile) -> None:
    """The owner's daily digest at owner.digest_at, while the server runs (a task, started after the start-up
    listeners made the engine and the mailer); not when SMTP_HOST is unset or digest_at is off."""

    async def start(app: Sanic, _loop: object) -> None:
        if shop.digest_at is None or not app.ctx.mailer.enabled:
            logger.info("No daily digest email: %s", "SMTP_HOST is not set" if shop.digest_at
                        else "owner.digest_at is off in shop.yml")
            return
        engine, mailer = app.ctx.engine, app.ctx.mailer

        def send(now: dt.datetime) -> DigestRun:
            return send_daily_digest(engine, mailer, shop, settings.console_url, now)

        app.ctx.digest_task = asyncio.create_task(run_digest_schedule(send, shop.digest_at, shop.timezone))

    app.register_listener(start, "after_server_start")
    _cancel_on_stop(app, "digest_task")


def schedule_retention_sweep(app: Sanic, settings: Settings) -> None:
    """With RETENTION_DAYS set, conversations older than that are deleted at start and then daily."""
    if not settings.retention_days:
        return

    async def start(app: Sanic, _loop: object) -> None:
        engine, days = app.ctx.engine, settings.retention_days
        app.ctx.retention_task = asyncio.create_task(run_daily_sweep(
            lambda: sweep_old_conversations(engine, settings.upload_dir, days)))

    app.register_listener(start, "after_server_start")
    _cancel_on_stop(app, "retention_task")


def _cancel_on_stop(app: Sanic, task_name: str) -> None:
    async def stop(app: Sanic, _loop: object) -> None:
        task = getattr(app.ctx, task_name, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.register_listener(stop, "before_server_stop")


def _base_app(settings: Settings) -> Sanic:
    if not settings.enable_api:
        return Sanic("shop_bot", configure_logging=False)
    # Rasa's API app claims "/" for a hello text; the demo page lives there instead.
    adds_root_route = rasa.server.add_root_route
    rasa.server.add_root_route = lambda app: None
    try:
        return rasa.server.create_app(
            cors_origins=[],  # origins are checked by install_origin_policy, for every route
            auth_token=settings.api_token,
            jwt_secret=settings.jwt_secret,
            jwt_method="HS256",
            response_timeout=settings.response_timeout,
            endpoints=endpoints_for(settings),  # the API's own /model/parse etc., outside the channels
        )
    finally:
        rasa.server.add_root_route = adds_root_route


def create_app(
    settings: Settings,
    shop: ShopProfile,
    agent: Agent | None = None,
    channels: List[InputChannel] | None = None,
) -> Sanic:
    settings.check()
    check_action_responses_with_a_compiled_schema()
    send_recent_events_to_actions()
    keep_applied_events_up_to_date()
    app = _base_app(settings)
    app.config.FALLBACK_ERROR_FORMAT = "json"
    tolerate_bad_accept(app)  # else a 404 with "Accept: a" is a 500
    # Sanic refuses anything above the photo limit before reading it; the rest may not exceed 64 KB.
    app.config.REQUEST_MAX_SIZE = MAX_PHOTO_BYTES + 64 * 1024

    @app.on_request
    async def limit_body(request: Request) -> HTTPResponse | None:
        if request.path != UPLOAD_PATH and len(request.body or b"") > REQUEST_MAX_BYTES:
            return response.json({"error": "body_too_large",
                                  "detail": f"Request bodies are limited to {REQUEST_MAX_BYTES // 1024} KB."},
                                 status=413)
        return None

    app.ctx.settings = settings
    app.ctx.shop = shop
    app.ctx.turns = TurnLimit(settings.max_turns_in_flight, settings.turn_queue_seconds)
    failures = app.ctx.action_failures = ActionFailures()
    channels = channels if channels is not None else input_channels(settings)
    register_channels(channels, app)
    register_site(app)
    app.blueprint(uploads_blueprint(settings.upload_dir))
    app.blueprint(thumbs_blueprint())
    register_row_ids(app)  # the console's routes take <id:row_id>
    app.blueprint(console_blueprint())
    install_origin_policy(app, settings.cors_origins)

    async def find_tracker(session_id: str) -> DialogueStateTracker | None:
        return await app.ctx.agent.tracker_store.retrieve(session_id)

    for channel in channels:
        if isinstance(channel, (ValidatingRestInput, ValidatingSocketIOInput)):
            channel.find_tracker = find_tracker

    async def open_database(app: Sanic, _loop: object) -> None:
        engine = create_database_engine(settings.database_url)
        migrate(engine)
        with one_migrator(engine):  # Rasa's events table, made once although every web process starts at once
            await asyncio.to_thread(SQLTrackerStore.Base.metadata.create_all, engine)
        app.ctx.engine = engine
        app.ctx.mailer = Mailer(settings.smtp)
        handoffs = HandoffQueue(engine)
        app.ctx.gate = PersonGate(handoffs)
        app.ctx.silence = SilenceGuard(shop, BotErrorLog(engine), failures)
        # A person's messages: stored, then sent to the widget now or when it comes back.
        sockets = [c for c in channels if isinstance(c, ValidatingSocketIOInput)]
        app.ctx.courier = ChatCourier(OutboundMessages(engine), ChatPresence(engine),
                                      sockets[0].sio if sockets else None)
        for channel in sockets:
            channel.courier = app.ctx.courier
        # CONSOLE_SECRET, or one generated once into var/ (so restarts keep sessions)
        secret = load_or_create_secret(settings.console_secret, settings.console_secret_file)
        app.ctx.channel_worker = start_messaging_channels(app, engine, ClientKeys(secret), find_tracker)
        sessions = SessionCookies(secret, ConsoleSessions(engine))
        # The key the order flow counts failed order checks by, per client address (never the address itself).
        for channel in channels:
            if isinstance(channel, (ValidatingRestInput, ValidatingSocketIOInput)):
                channel.client_keys = ClientKeys(secret)
        limiter = LoginLimiter(engine, secret)  # counts in the database, shared by every web process
        app.ctx.console = Console(OwnerAccounts(engine), handoffs, sessions, limiter, CannedReplies(engine),
                                  app.ctx.mailer)

    async def load_model(app: Sanic, _loop: object) -> None:
        if agent is not None:
            app.ctx.agent = agent
            return
        if not settings.model_path.is_file():
            raise SystemExit(f"No model at {settings.model_path}; run `make train`.")
        # The model the trainer activated last, unless MODEL_PATH holds a new one
        # (bot/trained_models/registry.py).
        registry = ModelRegistry(app.ctx.engine)
        chosen = await asyncio.to_thread(registry.deployed, settings.model_path)
        app.ctx.agent = await load_agent(model_path=str(chosen.file),
                                         endpoints=endpoints_for(settings, failures))
        if not app.ctx.agent.is_ready():
            raise SystemExit(f"Could not load the model {chosen.file}; run `make train`.")
        app.ctx.models = ModelSwitcher(app.ctx.agent, registry, chosen, settings.model_check_seconds)
        prepare_for_turns(app.ctx.agent.processor)
        use_tracker_store(app.ctx.agent)  # a failed save is a 503 for the customer, not a silent loss
        # One parse at start loads and verifies the embedding model (sha256 of its files) now,
        # so a corrupt install stops the server instead of failing the first customer's message.
        await app.ctx.agent.parse_message("hello")
        release_freed_memory()
        logger.info("Model %s loaded; serving on http://%s:%s/", app.ctx.agent.model_id,
                    settings.host, settings.port)

    async def close(app: Sanic, _loop: object) -> None:
        endpoint = getattr(getattr(app.ctx, "agent", None), "action_endpoint", None)
        if isinstance(endpoint, ActionEndpoint):
            await endpoint.close()
        lock_store = getattr(getattr(app.ctx, "agent", None), "lock_store", None)
        if isinstance(lock_store, AtomicRedisLockStore):
            await lock_store.close()
        store = getattr(getattr(app.ctx, "agent", None), "tracker_store", None)
        broker = getattr(store, "event_broker", None)
        if broker:
            await broker.close()
        if getattr(app.ctx, "engine", None) is not None:
            app.ctx.engine.dispose()

    app.register_listener(open_database, "before_server_start")
    app.register_listener(load_model, "before_server_start")
    app.register_listener(close, "after_server_stop")

    async def start_courier(app: Sanic, _loop: object) -> None:
        app.ctx.courier.start()
        if app.ctx.channel_worker is not None:
            app.ctx.channel_worker.start()
        if getattr(app.ctx, "models", None) is not None:
            app.ctx.models.start()

    async def stop_courier(app: Sanic, _loop: object) -> None:
        await app.ctx.courier.stop()
        if app.ctx.channel_worker is not None:
            await app.ctx.channel_worker.stop()
        if getattr(app.ctx, "models", None) is not None:
            await app.ctx.models.stop()

    app.register_listener(start_courier, "after_server_start")
    app.register_listener(stop_courier, "before_server_stop")
    schedule_daily_digest(app, settings, shop)
    schedule_retention_sweep(app, settings)
    return app
