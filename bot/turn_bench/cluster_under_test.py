"""The benchmark's third column: our bot as a cluster (bot/cluster/), two web processes and two action
servers behind nginx, on a PostgreSQL and a Redis of the run's own (bot/cluster/services.py).

Same loads as the other two, sent to nginx's one port. Start time is from spawning the processes to the
first message answered through nginx; memory is per process (the largest web process and action server,
as a shop sizes each machine by them) and the web processes together.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List

from bot.cluster.processes import Cluster
from bot.cluster.services import PrivatePostgres, PrivateRedis, prepare_shop_database
from bot.turn_bench.bots_under_test import (
    ROOT,
    START_TIMEOUT_SECONDS,
    _answered,
    free_port,
    server_env,
    tree_memory_mb,
)

CLUSTER = "cluster"
WEB_PROCESSES, ACTION_SERVERS = 2, 2


@dataclass
class RunningCluster:
    """What bench_bot needs of a running bot: base_url, start_seconds, logs, memory(), stop()."""

    cluster: Cluster
    redis: PrivateRedis
    postgres: PrivatePostgres
    logs: Path
    name: str = CLUSTER
    start_seconds: float = 0.0
    stopped: List[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return self.cluster.url

    def memory(self) -> Dict[str, Any]:
        def largest(members: List[Any]) -> Dict[str, float]:
            figures = [tree_memory_mb(m.process.pid) for m in members if m.process is not None]
            return max(figures, key=lambda f: f["resident_mb"]) if figures else {}

        webs = [tree_memory_mb(m.process.pid) for m in self.cluster.webs if m.process is not None]
        return {"web": largest(self.cluster.webs), "actions": largest(self.cluster.actions),
                "web_processes_together": {"resident_mb": round(sum(w["resident_mb"] for w in webs), 1)}}

    def stop(self) -> None:
        try:
            self.cluster.stop()
        finally:
            self.redis.stop()
            self.postgres.stop()


def start_cluster(model: Path, scratch: Path) -> RunningCluster:
    scratch.mkdir(parents=True, exist_ok=True)
    scratch.chmod(0o755)  # PostgreSQL's own user must reach its folder inside
    redis, postgres = PrivateRedis(scratch / "redis"), PrivatePostgres(scratch / "postgres")
    env = server_env({"ACTION_SERVER_SECRET": secrets.token_hex(16), "MODEL_PATH": str(model.resolve()),
                      "SHOP_FILE": str(ROOT / "shop.yml"), "VENDOR_DIR": str(ROOT / "node_modules"),
                      "UPLOAD_DIR": str(scratch / "uploads"), "REDIS_URL": redis.url,
                      "DATABASE_URL": postgres.url})
    running = RunningCluster(Cluster(free_port(), WEB_PROCESSES, ACTION_SERVERS, env, scratch / "logs"),
                             redis, postgres, scratch / "logs")
    try:
        redis.start()
        postgres.start()
        prepare_shop_database(postgres.url)
        began = time.monotonic()
        running.cluster.start(timeout=START_TIMEOUT_SECONDS)
        attempt = 0
        while not _answered(running.base_url, f"bench-start-cluster-{attempt}"):
            if time.monotonic() - began > START_TIMEOUT_SECONDS:
                raise TimeoutError(f"the cluster did not answer within {START_TIMEOUT_SECONDS:.0f} s "
                                   f"(logs in {running.logs})")
            attempt += 1
            time.sleep(0.2)
        running.start_seconds = time.monotonic() - began
    except BaseException:
        running.stop()
        raise
    return running
