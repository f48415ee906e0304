"""A Redis and a PostgreSQL of the load run's own, on free loopback ports, that it may stop and start again.

The fault runs restart Redis and PostgreSQL under load. They do it to servers they started themselves in a
scratch folder, never to the machine's own (other programs, the tests, CI use those). Both come from
Debian's packages (redis-server; PostgreSQL's initdb and pg_ctl under /usr/lib/postgresql/<version>/bin).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

import redis

from bot.cluster.processes import ROOT, free_port


def _postgres_bin(name: str) -> str:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    for folder in reversed(versions):
        if (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"PostgreSQL's {name} not found (Debian: apt install postgresql)")
    return found


def _as_postgres_user() -> List[str]:
    """PostgreSQL will not run as root: as root, its commands run as the postgres user."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@dataclass
class PrivateRedis:
    folder: Path
    port: int = field(default_factory=free_port)
    process: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        log = open(self.folder / "redis.log", "a")
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=1).ping()
                return
            except redis.RedisError:
                time.sleep(0.1)
        raise TimeoutError(f"redis-server on port {self.port} did not start ({self.folder / 'redis.log'})")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@dataclass
class PrivatePostgres:
    folder: Path
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run([*_as_postgres_user(), _postgres_bin("pg_ctl"), "-D", str(self.folder / "data"),
                        "-l", str(self.folder / "postgres.log"), "-w", "-t", "60", *args],
                       check=True, capture_output=True)

    def start(self) -> None:
        data = self.folder / "data"
        if not data.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(self.folder, "postgres", "postgres")
            subprocess.run([*_as_postgres_user(), _postgres_bin("initdb"), "-D", str(data), "-U", "postgres",
                            "--auth=trust", "--no-sync"], check=True, capture_output=True)
        self._pg_ctl("-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                           "-c max_connections=200", "start")

    def stop(self) -> None:
        if (self.folder / "data" / "postmaster.pid").exists():
            self._pg_ctl("-m", "fast", "stop")


def prepare_shop_database(url: str) -> None:
    """Migrated, with the demo orders, so the order flows of the conversation tests can be verified."""
    from actions.services.database import create_database_engine
    from actions.services.demo_orders import seed_demo_orders
    from actions.services.migrations import migrate
    from actions.services.orders import OrderService
    from actions.services.shop_profile import load_shop_profile

    engine = create_database_engine(url)
    try:
        migrate(engine)
        seed_demo_orders(OrderService(engine, load_shop_profile(ROOT / "shop.yml")))
    finally:
        engine.dispose()
