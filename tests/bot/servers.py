"""Start the real action server and web server as processes on free loopback ports."""
from __future__ import annotations

import queue
import secrets
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Set, Tuple

import pytest
import socketio
from sqlalchemy.engine import Engine

from actions.services.database import create_database_engine
from actions.services.demo_orders import seed_demo_orders
from actions.services.migrations import migrate
from actions.services.orders import OrderService
from actions.shop import current_shop_profile
from bot.turn_bench.bots_under_test import server_env, stop_processes
from tests.smtp_inbox import free_port

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "shop.tar.gz"


def wait_until_healthy(url: str, processes: List[subprocess.Popen], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args} exited with {process.returncode} before becoming healthy")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} not healthy after {timeout} s")


def stop(process: subprocess.Popen) -> None:
    stop_processes(process)


bot_env = server_env  # the servers' environment: the shell's less its RASA_/BOT_/CORS_ settings


@dataclass
class Servers:
    base_url: str
    database: Path
    actions: subprocess.Popen
    web: subprocess.Popen
    logs: Path
    web_command: List[str]
    env: Dict[str, str]
    engine: Optional[Engine] = None  # set by running_servers: the servers' database, for the checks

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop_web(self) -> None:
        stop(self.web)

    def start_web(self) -> None:
        """Start the web server again on the same port and database (after stop_web)."""
        with open(self.logs / "web.log", "a") as log:
            self.web = subprocess.Popen(self.web_command, cwd=ROOT, env=self.env, stdout=log,
                                        stderr=subprocess.STDOUT)
        wait_until_healthy(f"{self.base_url}/health", [self.actions, self.web])

    def stop(self) -> None:
        stop(self.web)
        stop(self.actions)


def start_servers(workdir: Path, extra_env: Optional[Mapping[str, str]] = None,
                  web_args: Optional[List[str]] = None, actions_package: str = "actions") -> Servers:
    action_port, web_port = free_port(), free_port()
    database = workdir / "tracker.db"
    env = bot_env({"ACTION_PORT": str(action_port), "BOT_PORT": str(web_port),
                   "ACTION_SERVER_SECRET": secrets.token_hex(16),
                   "DATABASE_URL": f"sqlite:///{database}", "MODEL_PATH": str(MODEL),
                   "SHOP_FILE": str(ROOT / "shop.yml"), "VENDOR_DIR": str(ROOT / "node_modules"),
                   "UPLOAD_DIR": str(workdir / "uploads"), **(extra_env or {})})
    logs = workdir / "logs"
    logs.mkdir(exist_ok=True)
    actions = subprocess.Popen(
        [sys.executable, "-m", "actions.server", "--port", str(action_port), "--actions", actions_package],
        cwd=ROOT, env=env, stdout=open(logs / "actions.log", "w"), stderr=subprocess.STDOUT)
    web_command = [sys.executable, "-m", "bot", "serve", *(web_args or [])]
    web = subprocess.Popen(web_command, cwd=ROOT, env=env, stdout=open(logs / "web.log", "w"),
                           stderr=subprocess.STDOUT)
    servers = Servers(f"http://127.0.0.1:{web_port}", database, actions, web, logs, web_command, env)
    try:
        wait_until_healthy(f"{servers.base_url}/health", [actions, web])
    except BaseException:
        servers.stop()
        print((logs / "web.log").read_text()[-3000:], file=sys.stderr)
        raise
    return servers


@contextmanager
def running_servers(workdir: Path, extra_env: Optional[Mapping[str, str]] = None,
                    actions_package: str = "actions", demo_orders: bool = False) -> Iterator[Servers]:
    """Real servers on a database of their own in ``workdir`` (migrated first; with the demo orders if
    asked), stopped afterwards; ``servers.engine`` reads what they wrote."""
    if not MODEL.is_file():
        pytest.fail(f"{MODEL} is missing: `make test` trains it first")
    engine = create_database_engine(f"sqlite:///{workdir / 'tracker.db'}")
    migrate(engine)
    if demo_orders:
        seed_demo_orders(OrderService(engine, current_shop_profile()))
    running = start_servers(workdir, extra_env, actions_package=actions_package)
    running.engine = engine
    try:
        yield running
    finally:
        running.stop()
        engine.dispose()


@contextmanager
def socket_customer(base_url: str, requested: Optional[str] = None
                    ) -> Iterator[Tuple[socketio.Client, str, "queue.Queue[Any]"]]:
    """A customer on socket.io: (client, session id the server confirmed, queue of bot_uttered payloads).

    ``requested`` is the session id the customer asks to continue (none: a fresh session)."""
    client = socketio.Client(reconnection=False)
    confirmed: "queue.Queue[Any]" = queue.Queue()
    inbox: "queue.Queue[Any]" = queue.Queue()
    shown: Set[int] = set()

    def uttered(payload: Any) -> None:
        """As the widget does: a person's message it has already (by delivery id) is not shown twice. Every
        process's pump resends what no widget acknowledged, so in a cluster one may come twice."""
        delivery_id = payload.get("delivery_id") if isinstance(payload, dict) else None
        if isinstance(delivery_id, int):
            if delivery_id in shown:
                return
            shown.add(delivery_id)
        inbox.put(payload)

    client.on("session_confirm", confirmed.put)
    client.on("bot_uttered", uttered)
    client.connect(base_url, socketio_path="/socket.io", transports=["websocket"])
    try:
        client.emit("session_request", {"session_id": requested})
        yield client, confirmed.get(timeout=10), inbox
    finally:
        client.disconnect()
