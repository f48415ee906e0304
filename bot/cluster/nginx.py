"""The load balancer in front of the web processes and the action servers: a configuration for Debian's nginx.

One public port for customers, owners and trainers, spread over the web processes:
- **Sticky by cookie.** The first answer sets ``shop_node`` to the process that gave it; later requests with
  it go to the same process, so socket.io's long-polling (several requests that must meet one process)
  works. nginx's free edition has no ``sticky`` directive, so each process has an upstream of its own where
  the others are ``backup``: when a process dies its customers move to another, and the cookie follows.
- **Websockets** pass through (``Upgrade``); a websocket needs no stickiness at all.
- **The client's address** goes on in X-Forwarded-For, which the web processes believe from 127.0.0.1
  (TRUSTED_PROXIES), so the order flow's limits count per customer, not per load balancer.

A second, loopback-only port spreads the web processes' action calls over the action servers. A call that
finds its server gone (refused, or the connection lost before an answer) is passed to the next one, so an
action server that dies costs the customer nothing. The price: an action killed after it committed and
before it answered runs again on the other server (a second case row, say); a window of microseconds,
against an apology in every turn that was in flight.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence

from bot.web.uploads import MAX_PHOTO_BYTES

NODE_COOKIE = "shop_node"


@dataclass(frozen=True)
class Backend:
    name: str  # web1, web2, ... (the cookie's value) or actions1, ...
    port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def _servers(backends: Sequence[Backend], first: Backend | None = None) -> List[str]:
    lines = []
    for backend in backends:
        backup = " backup" if first is not None and backend is not first else ""
        lines.append(f"        server {backend.address} max_fails=2 fail_timeout=5s{backup};")
    return lines


# Sanic (the web processes, rasa-sdk's action servers) closes an idle kept-alive connection after 5 s. nginx
# must let go of its idle ones first: a request sent down a connection as Sanic closes it is reset, and a
# POST that was sent is not retried (502, seen in the load run). So nginx keeps idle upstream ones 3 s.
KEEPALIVE = ["        keepalive 32;", "        keepalive_timeout 3s;"]


def nginx_config(public_host: str, public_port: int, webs: Sequence[Backend], action_port: int,
                 actions: Sequence[Backend], state_dir: Path, run_as_root: bool) -> str:
    """The whole nginx.conf; ``state_dir`` holds its pid, logs and temporary files."""
    body_limit_kb = (MAX_PHOTO_BYTES + 64 * 1024) // 1024 + 1
    lines = [
        "# Written by `python -m bot run-cluster` (bot/cluster/nginx.py); rewritten at every start.",
        *(["user root;"] if run_as_root else []),
        "worker_processes 1;",
        f"pid {state_dir / 'nginx.pid'};",
        f"error_log {state_dir / 'nginx-error.log'} warn;",
        "events { worker_connections 4096; }",
        "http {",
        "    access_log off;",
        *(f"    {kind}_temp_path {state_dir / (kind + '_temp')};"
          for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")),
        f"    client_max_body_size {body_limit_kb}k;",
        "    client_body_buffer_size 256k;  # an action call (tracker and all) stays in memory",
        "    map $http_upgrade $connection_upgrade { default upgrade; '' ''; }",
        "",
        "    # Every web process, for a request without the cookie.",
        "    upstream web {",
        *_servers(webs),
        *KEEPALIVE,
        "    }",
    ]
    for web in webs:
        lines += [f"    upstream {web.name} {{", *_servers(webs, first=web), *KEEPALIVE, "    }"]
    lines += [
        f"    map $cookie_{NODE_COOKIE} $web_pool {{",
        "        default web;",
        *(f"        {web.name} {web.name};" for web in webs),
        "    }",
        "    # The process that answered (the last address tried): the cookie's next value.",
        "    map $upstream_addr $answered_by {",
        "        default '';",
        *(f"        ~{web.address.replace('.', '[.]')}$ {web.name};" for web in webs),
        "    }",
        "    server {",
        f"        listen {public_host}:{public_port};",
        "        location / {",
        "            proxy_pass http://$web_pool;",
        "            proxy_http_version 1.1;",
        "            proxy_set_header Upgrade $http_upgrade;",
        "            proxy_set_header Connection $connection_upgrade;",
        "            proxy_set_header Host $http_host;",
        "            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "            proxy_set_header X-Forwarded-Proto $scheme;",
        "            proxy_read_timeout 120s;",
        "            proxy_next_upstream error timeout;",
        "            proxy_buffering off;",
        f"            add_header Set-Cookie \"{NODE_COOKIE}=$answered_by; Path=/; HttpOnly; SameSite=Lax\""
        " always;",
        "        }",
        "    }",
        "",
        "    upstream actions {",
        *_servers(actions),
        *KEEPALIVE,
        "    }",
        "    server {",
        f"        listen 127.0.0.1:{action_port};",
        "        location / {",
        "            proxy_pass http://actions;",
        "            proxy_http_version 1.1;",
        "            proxy_set_header Connection '';",
        "            proxy_read_timeout 120s;",
        "            proxy_next_upstream error timeout non_idempotent;",
        "        }",
        "    }",
        "}",
    ]
    return "\n".join(lines) + "\n"
