"""How the web server logs: one root handler (time, level, logger, message), contact details masked.

``python -m bot serve`` is not ``rasa run``, so Rasa's structlog was never configured and printed every
debug event (message text, entities, all slots) for every turn. Here structlog goes through the standard
loggers at ``LOG_LEVEL`` (default INFO), and the root handler masks emails and phone numbers
(``actions.services.log_privacy``) in whatever reaches it.
"""
from __future__ import annotations

import logging
import sys

import structlog

from actions.services.log_privacy import install_contact_masking

FORMAT = "%(asctime)s %(levelname)-8s %(name)s  - %(message)s"  # as the action server's lines


def configure_server_logging(level: int) -> None:
    """Call once, before Rasa is imported for serving."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    root.setLevel(level)
    from rasa.utils.common import configure_logging_and_warnings

    configure_logging_and_warnings(level)  # the "rasa" logger, TensorFlow and friends, repeated-line filter
    for name in ("sanic.root", "sanic.error", "sanic.access"):
        logging.getLogger(name).setLevel(level)
    # python-socketio and Engine.IO give a logger without a level a handler of its own, past the masking;
    # with their usual level set here they log through the root handler instead.
    for name in ("socketio.server", "engineio.server"):
        logging.getLogger(name).setLevel(logging.ERROR)
    structlog.configure(
        processors=[structlog.dev.ConsoleRenderer(colors=False,
                                                  exception_formatter=structlog.dev.plain_traceback)],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    install_contact_masking()
