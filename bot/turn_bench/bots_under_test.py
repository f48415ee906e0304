"""Serve a bot under test, ours or stock Rasa, as processes on free loopback ports; measure and stop it.

Both get the same stores and the same kind of action server (ours, a fresh process per bot) on a scratch
database that is migrated and holds the demo orders, so order flows can be verified. Ours is started the
way ``python -m bot run`` starts it; stock is ``rasa run`` with Rasa's own SQL tracker store (SQLite) and
an action endpoint that sends our action server's shared-secret header.
Start time is from spawning the processes to the first answered message. Memory is the resident set
(VmRSS, and the peak VmHWM) of each process with its children, read from /proc.
"""
from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional

import yaml

from actions.services.database import create_database_engine
from actions.services.demo_orders import seed_demo_orders
from actions.services.migrations import migrate
from actions.services.orders import OrderService
from actions.services.shared_secret import ACTION_SECRET_HEADER
from actions.services.shop_profile import load_shop_profile
from bot.cluster.processes import process_tree, stop_processes

ROOT = Path(__file__).resolve().parents[2]
OURS, STOCK = "ours", "stock"
START_TIMEOUT_SECONDS = 300.0
FIRST_MESSAGE = "hello"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def status_field_kb(status: str, field: str) -> Optional[int]:
    """A kB field of /proc/<pid>/status (``VmRSS:    12345 kB``); None when absent (a zombie has none)."""
    for line in status.splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0])
    return None


def tree_memory_mb(pid: int) -> Dict[str, float]:
    """Resident and peak-resident MB of ``pid`` and its descendants (each process's peak, summed)."""
    rss = peak = 0
    for member in process_tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        rss += status_field_kb(status, "VmRSS") or 0
        peak += status_field_kb(status, "VmHWM") or 0
    return {"resident_mb": round(rss / 1024, 1), "peak_mb": round(peak / 1024, 1)}


def server_env(extra: Mapping[str, str]) -> Dict[str, str]:
    """The inherited environment less any RASA_/BOT_/CORS_ setting of the shell that ran the bench (or the
    tests: tests/bot/servers.py starts its servers with it too)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RASA_", "BOT_", "CORS_"))}
    env.update({"PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"})
    env.update(extra)
    return env


def prepare_database(database: Path) -> None:
    """A migrated scratch database with the demo orders, for the action server."""
    engine = create_database_engine(f"sqlite:///{database}")
    try:
        migrate(engine)
        seed_demo_orders(OrderService(engine, load_shop_profile(ROOT / "shop.yml")))
    finally:
        engine.dispose()


def write_stock_settings(scratch: Path, action_port: int, secret: str) -> List[str]:
    """endpoints.yml and credentials.yml for ``rasa run``; returns the arguments naming them."""
    endpoints = {
        "tracker_store": {"type": "SQL", "dialect": "sqlite", "db": str(scratch / "stock-tracker.db")},
        "action_endpoint": {"url": f"http://127.0.0.1:{action_port}/webhook",
                            "headers": {ACTION_SECRET_HEADER: secret}},
    }
    (scratch / "endpoints.yml").write_text(yaml.safe_dump(endpoints))
    (scratch / "credentials.yml").write_text(yaml.safe_dump({"rest": None}))
    return ["--endpoints", str(scratch / "endpoints.yml"), "--credentials", str(scratch / "credentials.yml")]


@dataclass
class RunningBot:
    name: str
    base_url: str
    web: subprocess.Popen
    actions: subprocess.Popen
    logs: Path
    start_seconds: float = 0.0

    def memory(self) -> Dict[str, Dict[str, float]]:
        return {"web": tree_memory_mb(self.web.pid), "actions": tree_memory_mb(self.actions.pid)}

    def log_tail(self, chars: int = 3000) -> str:
        return (self.logs / "web.log").read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        stop_processes(self.web, self.actions)


def _answered(base_url: str, sender: str) -> bool:
    request = urllib.request.Request(
        base_url + "/webhooks/rest/webhook", method="POST", headers={"Content-Type": "application/json"},
        data=json.dumps({"sender": sender, "message": FIRST_MESSAGE}).encode())
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status == 200 and bool(json.loads(reply.read() or b"[]"))
    except (OSError, ValueError):  # not listening yet, an HTTP error status, or no JSON
        return False


def wait_for_first_answer(bot: RunningBot, began: float, timeout: float = START_TIMEOUT_SECONDS) -> float:
    """Seconds from ``began`` until the bot answered a message; raises if a process died or it took long."""
    attempt = 0
    while time.monotonic() - began < timeout:
        for process in (bot.web, bot.actions):
            if process.poll() is not None:
                raise RuntimeError(f"{bot.name}: {process.args!r} exited with {process.returncode} before "
                                   f"answering:\n{bot.log_tail()}")
        if _answered(bot.base_url, f"bench-start-{bot.name}-{attempt}"):
            return time.monotonic() - began
        attempt += 1
        time.sleep(0.2)
    raise TimeoutError(f"{bot.name} did not answer within {timeout:.0f} s:\n{bot.log_tail()}")


def start_bot(name: str, model: Path, scratch: Path) -> RunningBot:
    """Start ``name`` (OURS or STOCK) with ``model`` on a fresh database in ``scratch``; wait for it."""
    scratch.mkdir(parents=True, exist_ok=True)
    logs = scratch / "logs"
    logs.mkdir(exist_ok=True)
    database = scratch / "tracker.db"
    prepare_database(database)
    action_port, web_port = free_port(), free_port()
    secret = secrets.token_hex(16)
    env = server_env({
        "ACTION_PORT": str(action_port), "BOT_PORT": str(web_port), "ACTION_SERVER_SECRET": secret,
        "DATABASE_URL": f"sqlite:///{database}", "MODEL_PATH": str(model.resolve()),
        "SHOP_FILE": str(ROOT / "shop.yml"), "VENDOR_DIR": str(ROOT / "node_modules"),
        "UPLOAD_DIR": str(scratch / "uploads")})
    if name == OURS:
        web_command = [sys.executable, "-m", "bot", "serve"]
    else:
        rasa = str(Path(sys.executable).with_name("rasa"))
        web_command = [rasa, "run", "--model", str(model.resolve()), "--port", str(web_port),
                       *write_stock_settings(scratch, action_port, secret)]
    began = time.monotonic()
    with open(logs / "actions.log", "w") as actions_log, open(logs / "web.log", "w") as web_log:
        actions = subprocess.Popen([sys.executable, "-m", "actions.server", "--port", str(action_port)],
                                   cwd=ROOT, env=env, stdout=actions_log, stderr=subprocess.STDOUT)
        web = subprocess.Popen(web_command, cwd=ROOT, env=env, stdout=web_log, stderr=subprocess.STDOUT)
    bot = RunningBot(name, f"http://127.0.0.1:{web_port}", web, actions, logs)
    try:
        bot.start_seconds = wait_for_first_answer(bot, began)
    except BaseException:
        bot.stop()
        raise
    return bot
