"""``python -m bot run-cluster``: several web processes and action servers behind nginx on one port.

``make run-cluster`` calls it; ``python -m bot run`` does too when WEB_WORKERS or ACTION_WORKERS is above 1.
Needs REDIS_URL (the conversations' locks, socket.io between processes) and, for a real shop,
DATABASE_URL on PostgreSQL (README, "Several processes").
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from actions.services.shared_secret import load_or_create_secret
from bot.cli.configuration import fail, read_settings, read_shop
from bot.cli.orders import seed
from bot.cluster.processes import Cluster
from bot.settings import Settings

STATE_DIR = Path("var/cluster")


def add_commands(commands: Any) -> None:
    p = commands.add_parser("run-cluster", help="start several web processes and action servers behind nginx")
    p.add_argument("--port", type=int, help="the one public port (default BOT_PORT, 5005)")
    p.add_argument("--web", type=int, help="web processes (default WEB_WORKERS, else 2)")
    p.add_argument("--actions", type=int, help="action servers (default ACTION_WORKERS, else 2)")
    p.set_defaults(func=run_cluster)


def run_cluster(args: argparse.Namespace) -> None:
    settings = read_settings(port=args.port)
    webs = args.web or (settings.web_workers if settings.web_workers > 1 else 2)
    actions = args.actions or (settings.action_workers if settings.action_workers > 1 else 2)
    supervise(settings, webs, actions)


def supervise(settings: Settings, webs: int, actions: int) -> None:
    if webs < 1 or actions < 1:
        raise fail("a cluster needs at least one web process and one action server")
    if webs > 1 and not settings.redis_url:
        raise fail("several web processes need REDIS_URL (e.g. REDIS_URL=redis://127.0.0.1:6379/0): they "
                   "share each conversation's lock and the widgets' messages through Redis")
    shop = read_shop(settings.shop_file)
    if settings.database_url.startswith("sqlite"):
        print("  Note: DATABASE_URL is SQLite. Several processes on one machine can share it, but a shop "
              "that needs a cluster should use PostgreSQL (README, \"Several processes\").", flush=True)
    if seed(settings, shop):
        print("  First start: added the demo orders (README.md, \"Try the order flows\").", flush=True)
    load_or_create_secret(settings.action_secret, settings.action_secret_file)
    env = {k: v for k, v in os.environ.items() if k not in ("WEB_WORKERS", "ACTION_WORKERS")}
    cluster = Cluster(settings.port, webs, actions, env, STATE_DIR, public_host=settings.host)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(f"\n  Starting the {shop.name} assistant: {webs} web processes, {actions} action servers, nginx "
          f"(logs in {STATE_DIR}/)…\n", flush=True)
    try:
        cluster.start()
        print(f"\n  Ready: open {cluster.url}/ (Ctrl-C stops it)\n", flush=True)
        while not stopping:
            for name in cluster.restart_the_dead():
                print(f"  {name} stopped; started it again (its log: {STATE_DIR}/{name}.log)",
                      file=sys.stderr, flush=True)
            if cluster.nginx is not None and cluster.nginx.poll() is not None:
                raise fail(f"nginx stopped (exit {cluster.nginx.returncode}); "
                           f"see {STATE_DIR}/nginx-error.log")
            time.sleep(0.5)
    except (RuntimeError, TimeoutError, FileNotFoundError) as error:
        raise fail(str(error)) from None
    finally:
        cluster.stop()
