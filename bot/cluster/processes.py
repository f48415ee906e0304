"""Several web processes and action servers behind nginx on one machine: started, watched, restarted, stopped.

``python -m bot run-cluster`` (``make run-cluster``) and the cluster tests and load runs use this. Each
process is the same one ``make run`` starts, on a loopback port of its own; they share the database
(DATABASE_URL), Redis (REDIS_URL: the conversations' locks and socket.io's messages between processes) and
the action secret. A process that dies is started again on its port (at most once every few seconds),
while nginx sends its customers to the others.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional

from bot.cluster.nginx import Backend, nginx_config

ROOT = Path(__file__).resolve().parents[2]
RESTART_AFTER_SECONDS = 3.0  # a process that died is started again no sooner than this after its start


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def find_nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise FileNotFoundError("nginx is not installed: `make nginx` installs Debian's nginx-light")
    return found


def stop_processes(*processes: subprocess.Popen) -> None:
    """Ctrl-C to each server still running, then wait for it (killed after 20 s); the tests' servers too."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def process_tree(pid: int) -> List[int]:
    """``pid`` and its descendants, from /proc."""
    found, waiting = [], [pid]
    while waiting:
        current = waiting.pop()
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                waiting += [int(child) for child in children.read_text().split()]
            except OSError:  # the thread or process ended meanwhile
                continue
    return found


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by ``pid`` and its living descendants."""
    ticks = 0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


@dataclass
class Member:
    """One process of the cluster and how to start it again."""

    backend: Backend
    command: List[str]
    env: Dict[str, str]
    log: Path
    process: Optional[subprocess.Popen] = None
    started_at: float = 0.0

    def start(self) -> None:
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        self.started_at = time.monotonic()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def health_url(self) -> str:
        return f"http://{self.backend.address}/health"


@dataclass
class Cluster:
    """``env``: what every process gets (DATABASE_URL, REDIS_URL, ...); ``state_dir``: nginx's config and
    every process's log."""

    public_port: int
    web_count: int
    action_count: int
    env: Mapping[str, str]
    state_dir: Path
    public_host: str = "127.0.0.1"
    webs: List[Member] = field(default_factory=list)
    actions: List[Member] = field(default_factory=list)
    nginx: Optional[subprocess.Popen] = None
    action_port: int = 0

    @property
    def url(self) -> str:
        return f"http://{self.public_host}:{self.public_port}"

    def plan(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.action_port = free_port()
        python = sys.executable
        common = dict(self.env)
        common.setdefault("PUBLIC_URL", self.url)
        common.setdefault("TRUSTED_PROXIES", "127.0.0.1")  # nginx, which passes on the client's address
        common["ACTION_SERVER_URL"] = f"http://127.0.0.1:{self.action_port}/webhook"
        for number in range(1, self.action_count + 1):
            port = free_port()
            self.actions.append(Member(Backend(f"actions{number}", port),
                                       [python, "-m", "actions.server", "--port", str(port)],
                                       {**common, "ACTION_PORT": str(port)},
                                       self.state_dir / f"actions{number}.log"))
        for number in range(1, self.web_count + 1):
            port = free_port()
            self.webs.append(Member(Backend(f"web{number}", port), [python, "-m", "bot", "serve"],
                                    {**common, "BOT_HOST": "127.0.0.1", "BOT_PORT": str(port)},
                                    self.state_dir / f"web{number}.log"))
        config = nginx_config(self.public_host, self.public_port, [w.backend for w in self.webs],
                              self.action_port, [a.backend for a in self.actions], self.state_dir.resolve(),
                              run_as_root=os.geteuid() == 0)
        (self.state_dir / "nginx.conf").write_text(config)

    def start(self, timeout: float = 240) -> None:
        """Start everything and wait until every web process answers /health through its own port."""
        self.plan()
        nginx = find_nginx()
        conf = str((self.state_dir / "nginx.conf").resolve())
        check = subprocess.run([nginx, "-t", "-q", "-c", conf], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx refused its configuration: {check.stderr.strip()}")
        with open(self.state_dir / "nginx.log", "a") as log:
            self.nginx = subprocess.Popen([nginx, "-c", conf, "-g", "daemon off;"], stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True)
        for member in self.actions + self.webs:
            member.start()
        self.wait_until_healthy(timeout)

    def wait_until_healthy(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        waiting = list(self.actions + self.webs)
        while waiting:
            if time.monotonic() > deadline:
                raise TimeoutError(f"not healthy after {timeout:.0f} s: {[m.backend.name for m in waiting]} "
                                   f"(logs in {self.state_dir})")
            for member in list(waiting):
                if member.process is None or member.process.poll() is not None:
                    code = member.process.returncode if member.process else "nothing (never started)"
                    raise RuntimeError(f"{member.backend.name} exited with {code} (log: {member.log})")
                if healthy(member.health_url()):
                    waiting.remove(member)
            if self.nginx is not None and self.nginx.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.nginx.returncode} "
                                   f"(log: {self.state_dir / 'nginx-error.log'})")
            time.sleep(0.5)

    def restart_the_dead(self) -> List[str]:
        """Start again any process that died (not more often than RESTART_AFTER_SECONDS); their names."""
        restarted = []
        for member in self.webs + self.actions:
            if not member.running and time.monotonic() - member.started_at >= RESTART_AFTER_SECONDS:
                member.start()
                restarted.append(member.backend.name)
        return restarted

    def kill(self, name: str) -> None:
        """SIGKILL one process (the fault tests): no goodbye, as when a machine fails."""
        member = next(m for m in self.webs + self.actions if m.backend.name == name)
        if member.process is not None:
            member.process.kill()
            member.process.wait(timeout=10)

    def stop(self) -> None:
        stop_processes(*(m.process for m in self.webs + self.actions if m.process is not None))
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)  # nginx's graceful stop
            try:
                self.nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait(timeout=10)
